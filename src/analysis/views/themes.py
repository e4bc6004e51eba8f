"""Theme views for the notebooks: the lexicon, counts with intervals, term matrix and top keyness, from the snapshot."""

from __future__ import annotations

import pandas as pd

from analysis.stages.dataset import plan_labels
from analysis.text.dictionary import Dictionary
from analysis.text.stats import INTERVAL_COLUMNS, NOT_APPLICABLE
from analysis.views.tableformat import interval


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


MEASURES = {  # theme_counts column → its heading, and whether it is a share
    "mentions": ("提及 mentions", False),
    "per_10k_chars": ("每万字 per 10k chars [95% CI]", False),
    "item_share": ("条目占比 item share [95% CI]", True),
}


def _with_interval(theme_counts: pd.DataFrame, measure: str) -> pd.Series:
    """`measure` as shown ("19.3 [0.0, 58.7]", "3.4% [0.1%, 17.8%]", mentions as a count); "n/a"
    where the theme does not apply to the plan's year."""
    if measure not in INTERVAL_COLUMNS:
        shown = theme_counts[measure].astype(int).astype(str)
    else:
        low, high = INTERVAL_COLUMNS[measure]
        shown = pd.Series([interval(v, lo, hi, as_percent=MEASURES[measure][1]) for v, lo, hi in
                           zip(theme_counts[measure], theme_counts[low], theme_counts[high], strict=True)],
                          index=theme_counts.index)
    return shown.where(theme_counts["applicable"].astype(bool), NOT_APPLICABLE)


def theme_overview(theme_counts: pd.DataFrame) -> pd.DataFrame:
    """District × theme: mentions, then per 10,000 characters (item-bootstrap interval) and item
    share (exact interval), side by side (lexicon order); "n/a" in every column for a theme that
    does not apply to the plan's year."""
    order = pd.unique(theme_counts["theme"])
    shown = theme_counts.assign(**{measure: _with_interval(theme_counts, measure) for measure in MEASURES})
    return pd.concat({
        heading: shown.pivot(index=["district", "year"], columns="theme", values=measure)[order]
        for measure, (heading, _) in MEASURES.items()
    }, axis=1)


def term_matrix(term_counts: pd.DataFrame) -> pd.DataFrame:
    """(theme, term) × plan ("杨浦 2024") mentions, for terms found at least once; "n/a" for a plan
    the term's theme does not apply to."""
    labelled = term_counts.assign(plan=plan_labels(term_counts))
    matrix = labelled.pivot(index=["theme", "term"], columns="plan", values="mentions")
    applies = labelled.pivot(index=["theme", "term"], columns="plan", values="applicable").astype(bool)
    kept = matrix.where(applies, 0).sum(axis=1) > 0
    return matrix.astype(object).where(applies, NOT_APPLICABLE)[kept]


def top_keyness(keyness: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """Per plan, at most `n` key terms (`key`: significant and dispersed over items) it uses in more
    items than the other complete plans of the set, largest G² first (keyness rows of one set)."""
    used_more = keyness[keyness["key"].astype(bool) & (keyness["log_ratio"] > 0)]
    used_more = used_more.sort_values(["doc_id", "g2", "term"], ascending=[True, False, True])
    return used_more.groupby("doc_id").head(n)[
        ["district", "year", "term", "theme", "n_items", "items", "n_items_other", "items_other", "count", "expected",
         "g2", "q", "log_ratio"]
    ].reset_index(drop=True)
