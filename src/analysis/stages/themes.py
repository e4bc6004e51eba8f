"""Themes: policy-lexicon mentions per plan, the sentences behind them (KWIC), and keyness.

Counting matches the terms of `params/themes.yaml` as substrings of each cleaned plan, longest
term first and without overlap, so counts do not depend on word segmentation. The whole cleaned
text counts (title, preamble, section headings, items): `mentions` and `per_10k_chars` use it,
`items_with_theme` counts numbered items only, and a KWIC row outside any item has empty
`item_seq` and `section_no`. Intervals and tests of the theme figures take the numbered item as
the unit (`analysis.text.stats`). Keyness compares segmented tokens (stopwords removed) of each plan
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
from scipy.stats import false_discovery_control

from analysis.corpus.manifest import YEAR_RANGE
from analysis.corpus.structure import Item
from analysis.files import write_tables, write_text_atomic
from analysis.params.loader import load_yaml
from analysis.paths import Paths, ProjectError
from analysis.stages.dataset import CorpusTables, StructuredPlan, plan_labels
from analysis.text.stats import (
    INTERVAL_COLUMNS,
    NOT_APPLICABLE,
    StatisticsParams,
    item_intervals,
    item_presence_tests,
    log_likelihood,
    significant,
)
from analysis.text.tokenize import Segmenter, load_segmenter, stat_segmentation

PLAN_COLUMNS = ["doc_id", "district", "year"]
KWIC_COLUMNS = [*PLAN_COLUMNS, "theme", "term", "where", "item_seq", "section_no", "left", "match", "right", "start"]
COUNT_COLUMNS = ["mentions", "per_10k_chars", "items_with_theme", "n_items", "item_share", "first_section"]
KEYNESS_COLUMNS = [
    *PLAN_COLUMNS, "kind", "theme", "term", "count", "expected", "count_other", "total", "total_other",
    "g2", "p", "q", "log_ratio",
]
ZERO_SMOOTHING = 0.5  # added in place of a zero count in the log ratio (Hardie 2014)

# What a theme name and a term may contain (documented in params/themes.yaml). A theme name becomes
# a table column, a plot label (matplotlib reads $…$ as math) and a report heading; a term is
# matched as a substring of cleaned text, where cleaning has made letters and digits half-width.
CJK = "\u3400-\u9fff"
THEME_NAME = re.compile(rf"[{CJK}A-Za-z0-9_·-]{{1,20}}")
THEME_NAME_RULE = (
    "1–20 characters: Chinese characters, ASCII letters and digits, _ - ·, at least one Chinese character "
    "or letter, not a number (no spaces, quotes, $ ; < > & / \\)"
)
TERM = re.compile(rf"[{CJK}A-Za-z0-9+·-]*[{CJK}A-Za-z0-9][{CJK}A-Za-z0-9+·-]*")
TERM_RULE = (
    "a word without spaces: Chinese characters, half-width ASCII letters and digits, and + - · inside a "
    "word (互联网+, 5G)"
)


def longest_first(words: set[str]) -> re.Pattern:
    """One alternation of `words`, longest first (ties by text): the leftmost, longest match wins."""
    return re.compile("|".join(map(re.escape, sorted(words, key=lambda word: (-len(word), word)))))


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
    years: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)  # theme → (since, until)

    def applies(self, theme: str, year: int) -> bool:
        """Whether `theme` applies to a plan of `year`: within its `since`/`until` years (inclusive)."""
        since, until = self.years.get(theme, (None, None))
        return (since is None or year >= since) and (until is None or year <= until)

    @cached_property
    def theme_of(self) -> dict[str, str]:
        return {term: theme for theme, terms in self.terms.items() for term in terms}

    @cached_property
    def pattern(self) -> re.Pattern:
        """Terms and excluded phrases as one alternation, longest first: the leftmost, longest wins."""
        return longest_first({*self.theme_of, *(phrase for group in self.exclude.values() for phrase in group)})


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


def _year(path: Path, where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not YEAR_RANGE[0] <= value <= YEAR_RANGE[1]:
        raise ProjectError(
            f"{path}: {where} must be a year between {YEAR_RANGE[0]} and {YEAR_RANGE[1]}, written as a number "
            f"without quotes (since: 2021), not {value!r}"
        )
    return value


def _years(path: Path, theme: str, entry: dict) -> tuple[int | None, int | None]:
    """A theme's optional `since` and `until` years, checked and in order."""
    since, until = (_year(path, f"theme {theme} {key}", entry[key]) if key in entry else None
                    for key in ("since", "until"))
    if since is not None and until is not None and since > until:
        raise ProjectError(f"{path}: theme {theme} since {since} is after until {until}; swap or fix them")
    return since, until


def _is_theme_name(name: str) -> bool:
    """Whether `name` follows THEME_NAME_RULE."""
    return bool(THEME_NAME.fullmatch(name) and re.search(f"[{CJK}A-Za-z]", name)) and not _is_number(name)


def _is_number(text: str) -> bool:
    """Whether Python (and so pandas) reads `text` as a number: 2024, 1e5, nan, inf."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _term_problem(term: Any) -> str | None:
    """Why `term` cannot be a term (or an excluded phrase), or None."""
    if not isinstance(term, str):
        return f"{term!r} is not text (YAML reads unquoted numbers, yes/no and null as such); quote it"
    if not TERM.fullmatch(term):
        return f"{term!r} is not a term; a term is {TERM_RULE}"
    return None


def _terms(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ProjectError(f"{path}: {where} must be a non-empty list of terms")
    if bad := [f"{path}: {where}: {problem}" for term in value if (problem := _term_problem(term))]:
        raise ProjectError(*bad)
    if repeated := sorted(t for t, n in Counter(value).items() if n > 1):
        raise ProjectError(f"{path}: {where} lists {', '.join(repeated)} twice; keep one")
    return tuple(value)


def load_lexicon(path: Path) -> Lexicon:
    """Read and validate a theme lexicon; every mistake is one ProjectError naming the file.

    Theme names and terms are checked against THEME_NAME_RULE and TERM_RULE; one-character terms
    are allowed (see `lexicon_warnings`). A theme's optional `since`/`until` are years (inclusive)
    outside which the theme does not apply: such plan × theme pairs are counted but marked not
    `applicable`, and left out of intervals, tests, rankings and validation."""
    path = Path(path)
    raw = load_yaml(path, required=("themes", "keyness", "kwic", "userdict"))
    if not isinstance(raw["themes"], dict) or not raw["themes"]:
        raise ProjectError(f"{path}: themes must map each theme name to its description and terms")
    if bad := [theme for theme in raw["themes"] if not _is_theme_name(theme)]:
        raise ProjectError(*(
            f"{path}: theme name {theme!r} is not allowed; a theme name is {THEME_NAME_RULE}; rename it"
            for theme in bad
        ))
    terms: dict[str, tuple[str, ...]] = {}
    descriptions: dict[str, str] = {}
    exclude: dict[str, tuple[str, ...]] = {}
    years: dict[str, tuple[int | None, int | None]] = {}
    seen: dict[str, str] = {}
    for theme, entry in raw["themes"].items():
        entry = _keys(path, f"theme {theme}", entry, ("description", "terms"), ("exclude", "since", "until"))
        terms[theme] = _terms(path, f"theme {theme} terms", entry["terms"])
        descriptions[theme] = str(entry["description"] or "")
        for term in terms[theme]:
            if term in seen:
                raise ProjectError(
                    f"{path}: term {term} is in themes {seen[term]} and {theme}; keep it in one theme"
                )
            seen[term] = theme
        if "exclude" in entry:
            phrases = _terms(path, f"theme {theme} exclude", entry["exclude"])
            if useless := [p for p in phrases if not any(t in p and t != p for t in terms[theme])]:
                raise ProjectError(
                    f"{path}: theme {theme} exclude {', '.join(useless)} contains none of its terms "
                    "(or equals one); an excluded phrase must be longer than a term it contains"
                )
            exclude[theme] = phrases
        if {"since", "until"} & set(entry):
            years[theme] = _years(path, theme, entry)
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
        years=years,
    )


def lexicon_warnings(lexicon: Lexicon, path: Path) -> list[str]:
    """One line per one-character term: allowed, but it matches inside unrelated words."""
    return [
        f"{path}: theme {theme} term {term} is one character long; it will match inside unrelated words "
        "— use a longer term"
        for theme, terms in lexicon.terms.items() for term in terms if len(term) == 1
    ]


def lexicon_table(lexicon: Lexicon) -> pd.DataFrame:
    """One row per theme: description, years it applies to ("2021–"; empty: always), terms and
    excluded phrases, for display."""
    return pd.DataFrame(
        [{"theme": theme, "description": lexicon.descriptions[theme],
          "years": "–".join("" if year is None else str(year) for year in lexicon.years[theme])
          if theme in lexicon.years else "",
          "terms": "、".join(terms), "exclude": "、".join(lexicon.exclude.get(theme, ()))}
         for theme, terms in lexicon.terms.items()],
        columns=["theme", "description", "years", "terms", "exclude"],
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
    """One row per mention in one plan, with ±`kwic_width` characters of cleaned text and where it
    stands: in an item (`item_seq`, `section_no`), the title, the preamble or a section heading
    (`section_no` of that heading, no `item_seq`)."""
    text, width = done.cleaned.text, lexicon.kwic_width
    rows = []
    for start, term in find_mentions(text, lexicon):
        item = _item_at(done.structure.items, start)
        where, section = ("item", item.section_no) if item else done.structure.locate(start)
        rows.append({
            "doc_id": done.plan.doc_id, "district": done.plan.district, "year": done.plan.year,
            "theme": lexicon.theme_of[term], "term": term, "where": where,
            "item_seq": item.item_seq if item else None, "section_no": section,
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


def _with_interval(theme_counts: pd.DataFrame, measure: str, fmt: str) -> pd.Series:
    """`measure` and its interval as text: "19.27 [0.00, 58.66]"; "n/a" where not applicable."""
    low, high = (theme_counts[column].map(fmt.format) for column in INTERVAL_COLUMNS[measure])
    shown = theme_counts[measure].map(fmt.format) + " [" + low + ", " + high + "]"
    return shown.where(theme_counts["applicable"], NOT_APPLICABLE)


def theme_overview(theme_counts: pd.DataFrame) -> pd.DataFrame:
    """District × theme: mentions, then per 10,000 characters and item share each with its
    bootstrap interval ("19.27 [0.00, 58.66]", "3% [0%, 10%]"; "n/a" for a theme that does not
    apply to the plan's year), side by side (lexicon order)."""
    order = pd.unique(theme_counts["theme"])
    formats = {"per_10k_chars": "{:.2f}", "item_share": "{:.0%}"}
    shown = theme_counts.assign(**{
        f"{measure} [interval]": _with_interval(theme_counts, measure, fmt) for measure, fmt in formats.items()
    })
    return pd.concat({
        measure: shown.pivot(index=["district", "year"], columns="theme", values=measure)[order]
        for measure in ("mentions", *(f"{m} [interval]" for m in formats))
    }, axis=1)


def term_matrix(term_counts: pd.DataFrame) -> pd.DataFrame:
    """(theme, term) × plan ("杨浦 2024") mentions, for terms found at least once."""
    matrix = term_counts.assign(plan=plan_labels(term_counts)).pivot(
        index=["theme", "term"], columns="plan", values="mentions"
    )
    return matrix[matrix.sum(axis=1) > 0]


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

    `counts`: long table doc_id, term, count; `totals`: doc_id → size of that document in
    tokens. Per row: observed `count` and its `expected` value under equal
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
    g2, p, expected = log_likelihood(a, b, size_a, size_b)
    frame = frame.assign(
        expected=expected.round(3), count_other=b.astype(int), total=size_a.astype(int),
        total_other=size_b.astype(int), g2=g2.round(4), p=significant(p),
        log_ratio=np.log2((np.where(a > 0, a, ZERO_SMOOTHING) / size_a)
                          / (np.where(b > 0, b, ZERO_SMOOTHING) / size_b)).round(4),
    )
    frame["q"] = significant(frame.groupby("doc_id")["p"].transform(
        lambda ps: false_discovery_control(ps.to_numpy(), method="bh")).to_numpy())
    return frame[columns]


def token_counts(tables: CorpusTables, segmenter: Segmenter) -> pd.DataFrame:
    """Content tokens (stopwords removed) per plan: long table doc_id, term, count."""
    rows = [
        {"doc_id": done.plan.doc_id, "term": term, "count": count}
        for done in tables.plans
        for term, count in Counter(segmenter.tokens(done.cleaned.text)).items()
    ]
    return pd.DataFrame(rows, columns=["doc_id", "term", "count"])


def keyness_table(tables: CorpusTables, lexicon: Lexicon, segmenter: Segmenter) -> pd.DataFrame:
    """Keyness of tokens (those with at least `min_count` occurrences), each plan against the
    others, q per plan (over every tested token, used or not); `kind` is always "token" (themes are
    tested by item: `theme_tests`). Only the tokens a plan uses are kept: a zero count follows from
    their absence, and plans × vocabulary would be millions of rows for a large corpus."""
    documents = tables.documents.set_index("doc_id")
    tokens = token_counts(tables, segmenter)
    token_totals = tokens.groupby("doc_id")["count"].sum().reindex(documents.index, fill_value=0)
    frame = (
        stat_keyness(tokens, token_totals, lexicon.min_count)
        .assign(kind="token", theme=lambda f: f["term"].map(lexicon.theme_of).fillna(""))
        .join(documents[["district", "year"]], on="doc_id")
    )
    used = frame[frame["count"] > 0]
    return used.sort_values(["doc_id", "g2", "theme", "term"], ascending=[True, False, True, True])[
        KEYNESS_COLUMNS].reset_index(drop=True)


# --- the stage -----------------------------------------------------------------------------------


@dataclass
class ThemeTables:
    """Everything the theme stage produces, one DataFrame per CSV in data/processed/."""

    theme_counts: pd.DataFrame
    term_counts: pd.DataFrame
    kwic: pd.DataFrame
    keyness: pd.DataFrame
    theme_tests: pd.DataFrame
    segmentation: pd.DataFrame


THEME_TABLE_NAMES = tuple(f.name for f in fields(ThemeTables))


def build_themes(tables: CorpusTables, params_dir: Path, lexicon_path: Path | None = None) -> ThemeTables:
    """Count, locate and test the lexicon's themes in the structured plans: theme_counts with
    item-bootstrap intervals, and theme_tests (every plan against the other complete ones). A plan ×
    theme outside the theme's since/until years keeps its counts but gets no interval or test."""
    lexicon = load_lexicon(Path(lexicon_path) if lexicon_path else Path(params_dir) / "themes.yaml")
    statistics = StatisticsParams.from_yaml(Path(params_dir) / "statistics.yaml")
    segmenter = load_segmenter(params_dir)
    kwic = stat_kwic(tables, lexicon)
    segmentation = stat_segmentation([d.cleaned.text for d in tables.plans], lexicon.theme_of, segmenter)
    segmentation.insert(0, "theme", segmentation["term"].map(lexicon.theme_of))
    theme_counts = stat_counts(kwic, tables.documents, lexicon, by="theme").merge(
        item_intervals(kwic, tables.items, tables.documents, list(lexicon.terms), statistics), on=["doc_id", "theme"]
    )
    intervals = [column for pair in INTERVAL_COLUMNS.values() for column in pair]
    theme_counts[intervals] = theme_counts[intervals].where(theme_counts["applicable"])  # n/a: no interval
    return ThemeTables(
        theme_counts=theme_counts,
        term_counts=stat_counts(kwic, tables.documents, lexicon, by="term"),
        kwic=kwic,
        keyness=keyness_table(tables, lexicon, segmenter),
        theme_tests=item_presence_tests(
            theme_counts, tables.documents, tables.documents["doc_id"], max_q=statistics.max_q
        ),
        segmentation=segmentation,
    )


def write_themes(tables: ThemeTables, processed_dir: Path) -> list[Path]:
    """Write the six theme tables as CSV under `processed_dir`, each atomically."""
    return write_tables(processed_dir, {f"{name}.csv": getattr(tables, name) for name in THEME_TABLE_NAMES})


def run_stage(tables: CorpusTables, paths: Paths, out: Path) -> list[str]:
    """The pipeline's themes stage (analysis.stages.registry): write the tables, warn about split terms."""
    themes = build_themes(tables, paths.params)
    write_themes(themes, out)
    return split_term_warnings(themes.segmentation, paths.params / "themes.yaml")


# --- display helpers for the notebooks (they read the processed snapshot, never process) ---------


def top_keyness(keyness: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """Per plan, the `n` tokens of keyness.csv with the largest G² among those it uses more than the
    other plans (log ratio > 0), for reading."""
    used_more = keyness[keyness["log_ratio"] > 0].sort_values(["doc_id", "g2", "term"], ascending=[True, False, True])
    return used_more.groupby("doc_id").head(n)[
        ["district", "year", "term", "theme", "count", "expected", "g2", "q", "log_ratio"]
    ].reset_index(drop=True)
