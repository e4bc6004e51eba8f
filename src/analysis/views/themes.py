"""Theme views for the notebooks: the lexicon, counts with intervals, term matrix and top keyness, from the snapshot."""

from __future__ import annotations

import pandas as pd

from analysis.stages.dataset import plan_labels
from analysis.text.dictionary import Dictionary
from analysis.text.stats import INTERVAL_COLUMNS, NOT_APPLICABLE


def lexicon_table(lexicon: Dictionary) -> pd.DataFrame:
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


def top_keyness(keyness: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """Per plan, at most `n` key terms (`key`: significant and dispersed over items) it uses in more
    items than the other complete plans of the set, largest G² first (keyness rows of one set)."""
    used_more = keyness[keyness["key"].astype(bool) & (keyness["log_ratio"] > 0)]
    used_more = used_more.sort_values(["doc_id", "g2", "term"], ascending=[True, False, True])
    return used_more.groupby("doc_id").head(n)[
        ["district", "year", "term", "theme", "n_items", "items", "n_items_other", "items_other", "count", "expected",
         "g2", "q", "log_ratio"]
    ].reset_index(drop=True)
