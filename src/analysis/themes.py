"""Themes: policy-lexicon mentions per plan, the sentences behind them (KWIC), and keyness.

Counting matches the terms of `params/themes.yaml` as substrings of each cleaned plan, longest
term first and without overlap, so counts do not depend on word segmentation. The whole cleaned
text counts (title, preamble, section headings, items): `mentions` and `per_10k_chars` use it,
`items_with_theme` counts numbered items only, and a KWIC row outside any item has empty
`item_seq` and `section_no`. Keyness compares segmented tokens (stopwords removed) of each plan
with all other plans pooled.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control, power_divergence

from analysis.dataset import CorpusTables, StructuredPlan, plan_labels
from analysis.files import write_tables, write_text_atomic
from analysis.params import load_yaml
from analysis.paths import ProjectError
from analysis.structure import Item
from analysis.tokenize import Segmenter, load_segmenter, stat_segmentation

PLAN_COLUMNS = ["doc_id", "district", "year"]
KWIC_COLUMNS = [*PLAN_COLUMNS, "theme", "term", "item_seq", "section_no", "left", "match", "right", "start"]
COUNT_COLUMNS = ["mentions", "per_10k_chars", "items_with_theme", "n_items", "item_share", "first_section"]
KEYNESS_COLUMNS = [
    *PLAN_COLUMNS, "kind", "theme", "term", "count", "expected", "count_other", "total", "total_other",
    "g2", "p", "q", "log_ratio",
]
ZERO_SMOOTHING = 0.5  # added in place of a zero count in the log ratio (Hardie 2014)


@dataclass(frozen=True)
class Lexicon:
    """The validated contents of params/themes.yaml."""

    terms: dict[str, tuple[str, ...]]  # theme → its terms, in file order
    descriptions: dict[str, str]
    min_count: int  # keyness: minimum corpus frequency of a tested token
    kwic_width: int  # KWIC: characters of context on each side
    userdict_freq: int
    extra_terms: tuple[str, ...]  # userdict words that belong to no theme
    exclude: dict[str, tuple[str, ...]] = field(default_factory=dict)  # theme → phrases never counted

    @cached_property
    def theme_of(self) -> dict[str, str]:
        return {term: theme for theme, terms in self.terms.items() for term in terms}

    @cached_property
    def pattern(self) -> re.Pattern:
        """Terms and excluded phrases as one alternation, longest first: the leftmost, longest wins."""
        phrases = {phrase for group in self.exclude.values() for phrase in group}
        ordered = sorted({*self.theme_of, *phrases}, key=lambda term: (-len(term), term))
        return re.compile("|".join(map(re.escape, ordered)))


def _keys(path: Path, where: str, value: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    """`value` must be a mapping with the `required` keys and no others but `optional` ones."""
    allowed = (*required, *optional)
    if not isinstance(value, dict):
        raise ProjectError(f"{path}: {where} must be a mapping with keys {', '.join(allowed)}")
    if wrong := sorted((set(required) - set(value)) | (set(value) - set(allowed)), key=str):
        raise ProjectError(
            f"{path}: {where} has missing or unknown key(s) {', '.join(map(str, wrong))}; "
            f"allowed: {', '.join(allowed)}"
        )
    return value


def _positive_int(path: Path, where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProjectError(f"{path}: {where} must be a whole number of at least 1, not {value!r}")
    return value


def _terms(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ProjectError(f"{path}: {where} must be a non-empty list of terms")
    bad = [t for t in value if not isinstance(t, str) or not t.strip() or any(c.isspace() for c in t)]
    if bad:
        raise ProjectError(f"{path}: {where} has invalid term(s) {bad!r}; a term is a word without spaces")
    if repeated := sorted(t for t, n in Counter(value).items() if n > 1):
        raise ProjectError(f"{path}: {where} lists {', '.join(repeated)} twice; keep one")
    return tuple(value)


def load_lexicon(path: Path) -> Lexicon:
    """Read and validate a theme lexicon; every mistake is one ProjectError naming the file."""
    path = Path(path)
    raw = load_yaml(path, required=("themes", "keyness", "kwic", "userdict"))
    if not isinstance(raw["themes"], dict) or not raw["themes"]:
        raise ProjectError(f"{path}: themes must map each theme name to its description and terms")
    terms: dict[str, tuple[str, ...]] = {}
    descriptions: dict[str, str] = {}
    exclude: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for theme, entry in raw["themes"].items():
        entry = _keys(path, f"theme {theme}", entry, ("description", "terms"), ("exclude",))
        terms[str(theme)] = _terms(path, f"theme {theme} terms", entry["terms"])
        descriptions[str(theme)] = str(entry["description"] or "")
        for term in terms[str(theme)]:
            if term in seen:
                raise ProjectError(
                    f"{path}: term {term} is in themes {seen[term]} and {theme}; keep it in one theme"
                )
            seen[term] = str(theme)
        if "exclude" in entry:
            phrases = _terms(path, f"theme {theme} exclude", entry["exclude"])
            if useless := [p for p in phrases if not any(t in p and t != p for t in terms[str(theme)])]:
                raise ProjectError(
                    f"{path}: theme {theme} exclude {', '.join(useless)} contains none of its terms "
                    "(or equals one); an excluded phrase must be longer than a term it contains"
                )
            exclude[str(theme)] = phrases
    keyness = _keys(path, "keyness", raw["keyness"], ("min_count",))
    kwic = _keys(path, "kwic", raw["kwic"], ("width",))
    userdict = _keys(path, "userdict", raw["userdict"], ("freq", "extra_terms"))
    return Lexicon(
        terms=terms,
        descriptions=descriptions,
        min_count=_positive_int(path, "keyness.min_count", keyness["min_count"]),
        kwic_width=_positive_int(path, "kwic.width", kwic["width"]),
        userdict_freq=_positive_int(path, "userdict.freq", userdict["freq"]),
        extra_terms=_terms(path, "userdict.extra_terms", userdict["extra_terms"]),
        exclude=exclude,
    )


def lexicon_table(lexicon: Lexicon) -> pd.DataFrame:
    """One row per theme: description, terms and excluded phrases, for display."""
    return pd.DataFrame(
        [{"theme": theme, "description": lexicon.descriptions[theme], "terms": "、".join(terms),
          "exclude": "、".join(lexicon.exclude.get(theme, ()))} for theme, terms in lexicon.terms.items()],
        columns=["theme", "description", "terms", "exclude"],
    )


# --- the user dictionary, generated from the lexicon ------------------------------------------


def userdict_text(lexicon: Lexicon) -> str:
    """params/userdict.txt as jieba reads it: `word freq n` lines, sorted, no comments."""
    words = sorted({*lexicon.theme_of, *lexicon.extra_terms})
    return "".join(f"{word} {lexicon.userdict_freq} n\n" for word in words)


def sync_userdict(params_dir: Path) -> bool:
    """Rewrite params/userdict.txt from params/themes.yaml when it differs; True if rewritten.

    Call before the first `load_segmenter(params_dir)` of a process (segmenters are cached).
    """
    path = Path(params_dir) / "userdict.txt"
    text = userdict_text(load_lexicon(Path(params_dir) / "themes.yaml"))
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    write_text_atomic(path, text)
    return True


# --- mentions ----------------------------------------------------------------------------------


def find_mentions(text: str, lexicon: Lexicon) -> list[tuple[int, str]]:
    """(offset, term) of every mention in `text`: longest term first, no overlaps; a match of an
    excluded phrase hides the terms inside it."""
    return [
        (match.start(), match.group()) for match in lexicon.pattern.finditer(text)
        if match.group() in lexicon.theme_of
    ]


def theme_hits(text: str, lexicon: Lexicon) -> dict[str, int]:
    """Mentions of each theme in `text` (every theme present, zeros included)."""
    counts = Counter(lexicon.theme_of[term] for _, term in find_mentions(text, lexicon))
    return {theme: counts[theme] for theme in lexicon.terms}


def _item_at(items: list[Item], offset: int) -> Item | None:
    """The item whose span holds `offset` (items are in text order), or None."""
    at = bisect_right([item.start for item in items], offset) - 1
    return items[at] if at >= 0 and offset < items[at].end else None


def _context(text: str, start: int, end: int) -> str:
    return text[max(start, 0):end].replace("\n", " ")


def plan_kwic(done: StructuredPlan, lexicon: Lexicon) -> pd.DataFrame:
    """One row per mention in one plan, with ±`kwic_width` characters of cleaned text."""
    text, width = done.cleaned.text, lexicon.kwic_width
    rows = []
    for start, term in find_mentions(text, lexicon):
        item = _item_at(done.structure.items, start)
        rows.append({
            "doc_id": done.plan.doc_id, "district": done.plan.district, "year": done.plan.year,
            "theme": lexicon.theme_of[term], "term": term,
            "item_seq": item.item_seq if item else None, "section_no": item.section_no if item else None,
            "left": _context(text, start - width, start), "match": term,
            "right": _context(text, start + len(term), start + len(term) + width), "start": start,
        })
    return pd.DataFrame(rows, columns=KWIC_COLUMNS)


def stat_kwic(tables: CorpusTables, lexicon: Lexicon) -> pd.DataFrame:
    """Every counted mention in every plan, sorted by plan, theme (lexicon order) and position."""
    frame = pd.concat([plan_kwic(done, lexicon) for done in tables.plans], ignore_index=True)
    frame = frame.astype({"item_seq": "Int64", "section_no": "Int64", "start": int})
    order = {theme: i for i, theme in enumerate(lexicon.terms)}
    return frame.sort_values(
        ["doc_id", "theme", "start"], key=lambda col: col.map(order) if col.name == "theme" else col
    ).reset_index(drop=True)


def stat_counts(kwic: pd.DataFrame, documents: pd.DataFrame, lexicon: Lexicon, by: str = "theme") -> pd.DataFrame:
    """Per plan × theme (`by="theme"`) or × term (`by="term"`): mentions, mentions per 10,000
    characters, items mentioning it, their share of the plan's items, and the section of the
    first such item. Every combination is listed, zeros included."""
    keys = ["theme"] if by == "theme" else ["theme", "term"]
    entries = (
        [{"theme": theme} for theme in lexicon.terms] if by == "theme"
        else [{"theme": theme, "term": term} for theme, terms in lexicon.terms.items() for term in terms]
    )
    grid = documents[[*PLAN_COLUMNS, "n_chars", "n_items"]].merge(pd.DataFrame(entries), how="cross")
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
    columns = [*PLAN_COLUMNS, *keys, *COUNT_COLUMNS]
    if by == "term":
        frame = frame.rename(columns={"items_with_theme": "items_with_term"})
        columns[columns.index("items_with_theme")] = "items_with_term"
    return frame.sort_values("doc_id", kind="stable")[columns].reset_index(drop=True)


def theme_overview(theme_counts: pd.DataFrame) -> pd.DataFrame:
    """District × theme: mentions, per 10,000 characters and item share side by side (lexicon order)."""
    order = pd.unique(theme_counts["theme"])
    return pd.concat({
        measure: theme_counts.pivot(index=["district", "year"], columns="theme", values=measure)[order]
        for measure in ("mentions", "per_10k_chars", "item_share")
    }, axis=1)


def term_matrix(term_counts: pd.DataFrame) -> pd.DataFrame:
    """(theme, term) × plan ("杨浦 2024") mentions, for terms found at least once."""
    matrix = term_counts.assign(plan=plan_labels(term_counts)).pivot(
        index=["theme", "term"], columns="plan", values="mentions"
    )
    return matrix[matrix.sum(axis=1) > 0]


def theme_keyness_matrix(keyness: pd.DataFrame) -> pd.DataFrame:
    """Plan × theme log ratio and q of the theme-level keyness rows."""
    rows = keyness[keyness["kind"] == "theme"]
    return rows.assign(plan=plan_labels(rows)).pivot(index="plan", columns="theme", values=["log_ratio", "q"]).round(3)


def split_term_warnings(segmentation: pd.DataFrame, lexicon_path: Path) -> list[str]:
    """One line per lexicon term that segmentation cuts apart (the segmentation check's flags)."""
    return [
        f"{lexicon_path}: term {row.term} is split by segmentation ({row.example or row.alone}); counts are "
        "unaffected, but keyness and clusters never see it whole: add the longer phrase to "
        "userdict.extra_terms, or drop the term"
        for row in segmentation[segmentation["flagged"]].itertuples()
    ]


# --- keyness -------------------------------------------------------------------------------------


def stat_keyness(counts: pd.DataFrame, totals: pd.Series, min_count: int = 1) -> pd.DataFrame:
    """Each document against all others pooled, for every term with at least `min_count`
    occurrences overall.

    `counts`: long table doc_id, term, count; `totals`: doc_id → size of that document (tokens,
    or characters for themes). Per row: observed `count` and its `expected` value under equal
    rates, the other documents' `count_other`, both `total`s; G² (log-likelihood, 2×2 table, 1 dof)
    with its p; the Benjamini–Hochberg q over the terms of that document; and the log ratio
    log2((count/total)/(count_other/total_other)), a zero count replaced by 0.5.
    """
    columns = ["doc_id", "term", "count", "expected", "count_other", "total", "total_other",
               "g2", "p", "q", "log_ratio"]
    overall = counts.groupby("term")["count"].sum()
    tested = overall[overall >= min_count].index
    if len(totals) < 2 or tested.empty:
        return pd.DataFrame(columns=columns)
    grid = pd.MultiIndex.from_product([totals.index, tested], names=["doc_id", "term"])
    frame = counts.groupby(["doc_id", "term"])["count"].sum().reindex(grid, fill_value=0).reset_index()
    a = frame["count"].to_numpy(float)
    b = frame["term"].map(overall).to_numpy(float) - a
    size_a = frame["doc_id"].map(totals).to_numpy(float)
    size_b = float(totals.sum()) - size_a
    n = size_a + size_b
    observed = np.column_stack([a, b, size_a - a, size_b - b])
    term_total, rest = a + b, n - a - b  # the term; every other token (or character)
    expected = np.column_stack([size_a * term_total, size_b * term_total, size_a * rest, size_b * rest]) / n[:, None]
    g2, p = power_divergence(observed, expected, ddof=2, axis=1, lambda_="log-likelihood")
    frame = frame.assign(
        expected=expected[:, 0].round(3), count_other=b.astype(int), total=size_a.astype(int),
        total_other=size_b.astype(int), g2=g2.round(4), p=_significant(p),
        log_ratio=np.log2((np.where(a > 0, a, ZERO_SMOOTHING) / size_a)
                          / (np.where(b > 0, b, ZERO_SMOOTHING) / size_b)).round(4),
    )
    frame["q"] = _significant(frame.groupby("doc_id")["p"].transform(
        lambda ps: false_discovery_control(ps.to_numpy(), method="bh")).to_numpy())
    return frame[columns]


def _significant(values: np.ndarray, digits: int = 6) -> np.ndarray:
    """Round to `digits` significant digits (p-values span many orders of magnitude)."""
    return np.array([float(f"{v:.{digits}g}") for v in values])


def token_counts(tables: CorpusTables, segmenter: Segmenter) -> pd.DataFrame:
    """Content tokens (stopwords removed) per plan: long table doc_id, term, count."""
    rows = [
        {"doc_id": done.plan.doc_id, "term": term, "count": count}
        for done in tables.plans
        for term, count in Counter(segmenter.tokens(done.cleaned.text)).items()
    ]
    return pd.DataFrame(rows, columns=["doc_id", "term", "count"])


def keyness_table(tables: CorpusTables, kwic: pd.DataFrame, lexicon: Lexicon, segmenter: Segmenter) -> pd.DataFrame:
    """Keyness of themes (mentions per characters, every theme) and of tokens (per tokens, those
    with at least `min_count` occurrences), each plan against the others; q per plan and kind."""
    documents = tables.documents.set_index("doc_id")
    themes = kwic.groupby(["doc_id", "theme"]).size().rename("count").reset_index()
    tokens = token_counts(tables, segmenter)
    token_totals = tokens.groupby("doc_id")["count"].sum().reindex(documents.index, fill_value=0)
    frame = pd.concat([
        stat_keyness(themes.rename(columns={"theme": "term"}), documents["n_chars"], 1)
        .assign(kind="theme", theme=lambda f: f["term"], term=""),
        stat_keyness(tokens, token_totals, lexicon.min_count)
        .assign(kind="token", theme=lambda f: f["term"].map(lexicon.theme_of).fillna("")),
    ], ignore_index=True).join(documents[["district", "year"]], on="doc_id")
    return frame.sort_values(["doc_id", "kind", "g2", "theme", "term"], ascending=[True, True, False, True, True])[
        KEYNESS_COLUMNS].reset_index(drop=True)


# --- the stage -----------------------------------------------------------------------------------


@dataclass
class ThemeTables:
    """Everything the theme stage produces, one DataFrame per CSV in data/processed/."""

    theme_counts: pd.DataFrame
    term_counts: pd.DataFrame
    kwic: pd.DataFrame
    keyness: pd.DataFrame
    segmentation: pd.DataFrame


THEME_TABLE_NAMES = tuple(f.name for f in fields(ThemeTables))


def build_themes(tables: CorpusTables, params_dir: Path, lexicon_path: Path | None = None) -> ThemeTables:
    """Count, locate and test the lexicon's themes in the structured plans."""
    lexicon = load_lexicon(Path(lexicon_path) if lexicon_path else Path(params_dir) / "themes.yaml")
    segmenter = load_segmenter(params_dir)
    kwic = stat_kwic(tables, lexicon)
    segmentation = stat_segmentation([d.cleaned.text for d in tables.plans], lexicon.theme_of, segmenter)
    segmentation.insert(0, "theme", segmentation["term"].map(lexicon.theme_of))
    return ThemeTables(
        theme_counts=stat_counts(kwic, tables.documents, lexicon, by="theme"),
        term_counts=stat_counts(kwic, tables.documents, lexicon, by="term"),
        kwic=kwic,
        keyness=keyness_table(tables, kwic, lexicon, segmenter),
        segmentation=segmentation,
    )


def write_themes(tables: ThemeTables, processed_dir: Path) -> list[Path]:
    """Write the five theme tables as CSV under `processed_dir`, each atomically."""
    return write_tables(processed_dir, {f"{name}.csv": getattr(tables, name) for name in THEME_TABLE_NAMES})
