"""Themes stage: policy-lexicon mentions per plan, the sentences behind them (KWIC), and item tests.

Counting matches the terms of `params/themes.yaml` as substrings of each cleaned plan, longest
term first and without overlap (`Dictionary.find`), so counts do not depend on word segmentation.
The whole cleaned text counts (title, preamble, section headings, items): `mentions` and
`per_10k_chars` use it, `items_with_theme` counts numbered items only, and a KWIC row outside any
item has empty `item_seq` and `section_no`. Intervals and tests of the theme figures take the
numbered item as the unit (`analysis.text.stats`). Keyness is the keyness stage's (items, not tokens).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd

from analysis.files import write_tables, write_text_atomic
from analysis.params import Params
from analysis.params.themes import ThemesParams
from analysis.paths import Paths
from analysis.stages.dataset import CorpusTables, StructuredPlan
from analysis.text.dictionary import Dictionary, theme_lexicon
from analysis.text.stats import INTERVAL_COLUMNS, item_intervals, item_presence_tests
from analysis.text.textstats import kwic_lines
from analysis.text.tokenize import load_segmenter, stat_segmentation

PLAN_COLUMNS = ["doc_id", "district", "year"]
KWIC_COLUMNS = [*PLAN_COLUMNS, "theme", "term", "where", "item_seq", "section_no", "left", "match", "right", "start"]
COUNT_COLUMNS = ["mentions", "per_10k_chars", "items_with_theme", "n_items", "item_share", "first_section"]


# --- the user dictionary, generated from the lexicon ------------------------------------------


def userdict_text(themes: ThemesParams) -> str:
    """params/userdict.txt as jieba reads it: `word freq n` lines, sorted, no comments."""
    words = sorted({*themes.theme_of, *themes.extra_terms})
    return "".join(f"{word} {themes.userdict_freq} n\n" for word in words)


def sync_userdict(params: Params) -> bool:
    """Rewrite params/userdict.txt from the theme lexicon when it differs; True if rewritten.

    Call before the first `load_segmenter` of a process (segmenters are cached).
    """
    path = params.path("userdict")
    text = userdict_text(params.themes)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    write_text_atomic(path, text)
    return True


# --- mentions ----------------------------------------------------------------------------------


def plan_kwic(done: StructuredPlan, lexicon: Dictionary, width: int) -> pd.DataFrame:
    """One row per mention in one plan, with ±`width` characters of cleaned text and where it
    stands: in an item (`item_seq`, `section_no`), the title, the preamble or a section heading
    (`section_no` of that heading, no `item_seq`)."""
    plan = {"doc_id": done.plan.doc_id, "district": done.plan.district, "year": done.plan.year}
    rows = [{**plan, "theme": lexicon.key_of[line["match"]], "term": line["match"], **line}
            for line in kwic_lines(done.cleaned.text, done.structure, lexicon.find(done.cleaned.text), width)]
    return pd.DataFrame(rows, columns=KWIC_COLUMNS)


def stat_kwic(tables: CorpusTables, themes: ThemesParams) -> pd.DataFrame:
    """Every counted mention in every plan (kwic.csv), sorted by plan, theme (lexicon order) and
    position; ±`kwic_width` characters of context."""
    lexicon = theme_lexicon(themes)
    frame = pd.concat([plan_kwic(done, lexicon, themes.kwic_width) for done in tables.plans], ignore_index=True)
    frame = frame.astype({"item_seq": "Int64", "section_no": "Int64", "start": int})
    order = {theme: i for i, theme in enumerate(lexicon.terms)}
    return frame.sort_values(
        ["doc_id", "theme", "start"], key=lambda col: col.map(order) if col.name == "theme" else col
    ).reset_index(drop=True)


def stat_counts(kwic: pd.DataFrame, documents: pd.DataFrame, lexicon: Dictionary, by: str = "theme") -> pd.DataFrame:
    """Per plan × theme (`by="theme"`) or × term (`by="term"`): mentions, mentions per 10,000
    characters, items mentioning it, their share of the plan's items, and the section of the
    first such item. Every combination is listed, zeros included; `applicable` is False where the
    plan's year is outside the theme's since/until (its counts are kept as evidence)."""
    keys = ["theme"] if by == "theme" else ["theme", "term"]
    entries = (
        [{"theme": theme} for theme in lexicon.terms] if by == "theme"
        else [{"theme": theme, "term": term} for theme, terms in lexicon.terms.items() for term in terms]
    )
    grid = documents[[*PLAN_COLUMNS, "n_chars", "n_items"]].merge(pd.DataFrame(entries), how="cross")
    grid["applicable"] = [lexicon.applies(theme, year) for theme, year in zip(grid["theme"], grid["year"], strict=True)]
    in_items = kwic.dropna(subset=["item_seq"]).sort_values(["doc_id", "item_seq"])
    grouped = in_items.groupby(["doc_id", *keys])
    found = pd.concat([
        kwic.groupby(["doc_id", *keys]).size().rename("mentions"),
        grouped["item_seq"].nunique().rename("items_with_theme"),
        grouped["section_no"].first().rename("first_section"),
    ], axis=1).reset_index()
    frame = grid.merge(found, on=["doc_id", *keys], how="left")
    frame[["mentions", "items_with_theme"]] = frame[["mentions", "items_with_theme"]].fillna(0).astype(int)
    frame["first_section"] = frame["first_section"].astype("Int64")
    frame["per_10k_chars"] = (frame["mentions"] * 10_000 / frame["n_chars"]).round(2)
    frame["item_share"] = (frame["items_with_theme"] / frame["n_items"]).round(4)
    columns = [*PLAN_COLUMNS, *keys, "applicable", *COUNT_COLUMNS]
    if by == "term":
        frame = frame.rename(columns={"items_with_theme": "items_with_term"})
        columns[columns.index("items_with_theme")] = "items_with_term"
    return frame.sort_values("doc_id", kind="stable")[columns].reset_index(drop=True)


def split_term_warnings(segmentation: pd.DataFrame, lexicon_path: Path) -> list[str]:
    """One line per lexicon term that segmentation cuts apart (the segmentation check's flags)."""
    return [
        f"{lexicon_path}: term {row.term} is split by segmentation ({row.example or row.alone}); counts are "
        "unaffected, but keyness and clusters never see it whole: add the longer phrase to "
        "userdict.extra_terms, or drop the term"
        for row in segmentation[segmentation["flagged"]].itertuples()
    ]


# --- the stage -----------------------------------------------------------------------------------


@dataclass
class ThemeTables:
    """Everything the theme stage produces, one DataFrame per CSV in data/processed/."""

    theme_counts: pd.DataFrame
    term_counts: pd.DataFrame
    kwic: pd.DataFrame
    theme_tests: pd.DataFrame
    segmentation: pd.DataFrame


THEME_TABLE_NAMES = tuple(f.name for f in fields(ThemeTables))


def build_themes(tables: CorpusTables, params: Params) -> ThemeTables:
    """Count, locate and test the lexicon's themes in the structured plans: theme_counts with
    item-bootstrap intervals, and theme_tests (every plan against the other complete ones). A plan ×
    theme outside the theme's since/until years keeps its counts but gets no interval or test."""
    themes, statistics = params.themes, params.statistics
    lexicon, segmenter = theme_lexicon(themes), load_segmenter(params.folder)
    kwic = stat_kwic(tables, themes)
    segmentation = stat_segmentation([d.cleaned.text for d in tables.plans], lexicon.key_of, segmenter)
    segmentation.insert(0, "theme", segmentation["term"].map(lexicon.key_of))
    theme_counts = stat_counts(kwic, tables.documents, lexicon, by="theme").merge(
        item_intervals(kwic, tables.items, tables.documents, list(lexicon.terms), statistics), on=["doc_id", "theme"]
    )
    intervals = [column for pair in INTERVAL_COLUMNS.values() for column in pair]
    theme_counts[intervals] = theme_counts[intervals].where(theme_counts["applicable"])  # n/a: no interval
    return ThemeTables(
        theme_counts=theme_counts,
        term_counts=stat_counts(kwic, tables.documents, lexicon, by="term"),
        kwic=kwic,
        theme_tests=item_presence_tests(
            theme_counts, tables.documents, tables.documents["doc_id"], max_q=statistics.max_q
        ),
        segmentation=segmentation,
    )


def write_themes(tables: ThemeTables, processed_dir: Path) -> list[Path]:
    """Write the five theme tables as CSV under `processed_dir`, each atomically."""
    return write_tables(processed_dir, {f"{name}.csv": getattr(tables, name) for name in THEME_TABLE_NAMES})


def run_stage(tables: CorpusTables, params: Params, paths: Paths, out: Path) -> list[str]:
    """The pipeline's themes stage (analysis.stages.registry): write the tables, warn about split terms."""
    themes = build_themes(tables, params)
    write_themes(themes, out)
    return split_term_warnings(themes.segmentation, params.path("themes"))
