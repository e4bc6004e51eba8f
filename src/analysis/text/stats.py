"""Uncertainty and tests of theme figures, with the numbered item as the unit.

Mentions of a theme cluster in the items that are about it, so characters are not independent
trials: rate intervals (per 10,000 characters) resample a plan's items (the text outside items,
title, preamble and headings, is one fixed unit kept in every replicate); a proportion of items
(item share: k of n items mention the theme) gets the exact Clopper–Pearson interval, which stays
honest at 0/n and 1/n where a percentile bootstrap collapses; tests compare how many items mention
a theme. Both intervals generalise to items like these of the same plan (other drafts of the same
plan), not to other plans or years. Settings come from params/statistics.yaml.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binomtest, false_discovery_control, fisher_exact

from analysis.params.statistics import StatisticsParams

INTERVAL_COLUMNS = {  # theme_counts estimate → its interval columns
    "per_10k_chars": ("per_10k_low", "per_10k_high"),
    "item_share": ("item_share_low", "item_share_high"),
}
TEST_COLUMNS = [
    "doc_id", "district", "year", "completeness", "theme", "items_with_theme", "n_items", "pool_plans",
    "pool_items_with_theme", "pool_n_items", "odds_ratio", "p", "q", "direction",
]
NOT_APPLICABLE = "n/a"  # shown for a plan × theme outside the theme's since/until years: no interval, no test
HALDANE = 0.5  # added to every cell of a 2×2 table for the displayed odds ratio


def significant(values: Iterable[float], digits: int = 6) -> np.ndarray:
    """Round to `digits` significant digits (p-values span many orders of magnitude)."""
    return np.array([float(f"{v:.{digits}g}") for v in values], dtype=float)


# --- item bootstrap ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanUnits:
    """One plan as bootstrap units: its numbered items, and the rest of its text as one fixed unit."""

    doc_id: str
    item_mentions: np.ndarray  # items × themes
    item_chars: np.ndarray  # non-whitespace characters per item
    fixed_mentions: np.ndarray  # per theme, outside items (title, preamble, headings)
    fixed_chars: float

    @property
    def item_present(self) -> np.ndarray:
        """items × themes: 1 where the item mentions the theme."""
        return (self.item_mentions > 0).astype(float)


def _tally(rows: np.ndarray, columns: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`shape` array counting each (row, column) pair."""
    flat = np.bincount(rows * shape[1] + columns, minlength=shape[0] * shape[1])
    return flat.reshape(shape).astype(float)


def plan_units(kwic: pd.DataFrame, items: pd.DataFrame, documents: pd.DataFrame, themes: list[str]) -> list[PlanUnits]:
    """Every plan of `documents` (in order) as bootstrap units.

    `kwic`: one row per mention (doc_id, theme, item_seq empty outside items); `items`: doc_id,
    item_seq, text; `documents`: doc_id, n_chars (non-whitespace characters of the cleaned plan)."""
    plans = pd.Index(documents["doc_id"])
    kwic, items = kwic[kwic["doc_id"].isin(plans)], items[items["doc_id"].isin(plans)]
    theme = pd.Categorical(kwic["theme"], categories=themes).codes
    totals = _tally(plans.get_indexer(kwic["doc_id"]), theme, (len(plans), len(themes)))
    located = kwic["item_seq"].notna().to_numpy()
    item_row = pd.MultiIndex.from_arrays([items["doc_id"], items["item_seq"]]).get_indexer(
        pd.MultiIndex.from_arrays([kwic["doc_id"][located], kwic["item_seq"][located].astype(int)])
    )
    mentions = _tally(item_row, theme[located], (len(items), len(themes)))
    chars = (items["text"].str.len() - items["text"].str.count(r"\s")).to_numpy(float)  # dataset.n_chars, vectorised
    owner = plans.get_indexer(items["doc_id"])
    rows_of = np.split(np.argsort(owner, kind="stable"), np.cumsum(np.bincount(owner, minlength=len(plans)))[:-1])
    units = []
    for doc_id, total, plan_chars, rows in zip(plans, totals, documents["n_chars"], rows_of, strict=True):
        item_mentions, item_chars = mentions[rows], chars[rows]
        units.append(PlanUnits(doc_id, item_mentions, item_chars, total - item_mentions.sum(axis=0),
                               plan_chars - item_chars.sum()))
    return units


def plan_rng(seed: int, doc_id: str) -> np.random.Generator:
    """The random numbers of one plan: fixed by `seed` and the doc_id, whatever other plans exist."""
    return np.random.default_rng([seed, *doc_id.encode("utf-8")])


def resample_counts(n_items: int, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """(replicates, n_items): how often each item is drawn when `n_items` items are drawn with
    replacement, once per replicate."""
    draws = rng.integers(max(n_items, 1), size=(replicates, n_items))
    offsets = np.arange(replicates)[:, None] * n_items
    return np.bincount((draws + offsets).ravel(), minlength=replicates * n_items).reshape(replicates, n_items)


def pooled_rate(counts: np.ndarray, plan: PlanUnits) -> np.ndarray:
    """(replicates, themes) mentions per 10,000 characters of the fixed text plus each item drawn
    `counts` times; counts of all 1 give the plan's per_10k_chars."""
    mentions = plan.fixed_mentions + counts @ plan.item_mentions
    return mentions * 10_000 / (plan.fixed_chars + counts @ plan.item_chars)[:, None]


def percentile_interval(values: np.ndarray, level: float) -> np.ndarray:
    """(2, …) lower and upper bounds of the central `level` share of `values` along axis 0."""
    return np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)


def proportion_interval(successes: int, trials: int, level: float) -> tuple[float, float]:
    """The exact (Clopper–Pearson) interval of `successes` of `trials` (scipy's binomtest): 0/17 is
    [0, 0.195], 1/29 [0.00087, 0.178]; (NaN, NaN) without trials."""
    if trials == 0:
        return float("nan"), float("nan")
    found = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=level, method="exact")
    return float(found.low), float(found.high)


def plan_intervals(plan: PlanUnits, params: StatisticsParams) -> np.ndarray:
    """(4, themes): per-10k low, high (percentile bootstrap over the plan's items, random numbers
    from `plan_rng`; one item or none: both bounds are the estimate) and item-share low, high (the
    exact interval of items with the theme of all items, `proportion_interval`)."""
    counts = resample_counts(len(plan.item_chars), params.replicates, plan_rng(params.seed, plan.doc_id))
    present, n_items = plan.item_present.sum(axis=0), len(plan.item_chars)
    shares = np.array([proportion_interval(k, n_items, params.level) for k in present]).reshape(-1, 2).T
    return np.concatenate([percentile_interval(pooled_rate(counts, plan), params.level), shares])


def item_intervals(
    kwic: pd.DataFrame, items: pd.DataFrame, documents: pd.DataFrame, themes: list[str], params: StatisticsParams,
) -> pd.DataFrame:
    """doc_id × theme (documents' order, then `themes`' order): bootstrap intervals of
    per_10k_chars and item_share, rounded like them (2 and 4 decimals). Inputs as `plan_units`."""
    bounds = [plan_intervals(plan, params).T for plan in plan_units(kwic, items, documents, themes)]
    columns = [*INTERVAL_COLUMNS["per_10k_chars"], *INTERVAL_COLUMNS["item_share"]]
    frame = pd.DataFrame(np.concatenate(bounds) if bounds else np.empty((0, 4)), columns=columns)
    frame.insert(0, "doc_id", np.repeat(documents["doc_id"].to_numpy(), len(themes)))
    frame.insert(1, "theme", np.tile(themes, len(documents)))
    return frame.round(dict(zip(columns, (2, 2, 4, 4), strict=True)))


def rank_bounds(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The best and worst rank (1 = highest) each estimate can take given the intervals [low, high]
    of all of them: ranked above only by the plans whose interval lies wholly above its own, below
    only by those wholly below. Equal bounds: the rank is certain; else the plans are tied in between."""
    low, high = np.asarray(low, float), np.asarray(high, float)
    above = (low[None, :] > high[:, None]).sum(axis=1)
    below = (high[None, :] < low[:, None]).sum(axis=1)
    return above + 1, len(low) - below


# --- item-presence tests -------------------------------------------------------------------------


def item_presence_tests(
    theme_counts: pd.DataFrame, documents: pd.DataFrame, doc_ids: Iterable[str], *, max_q: float,
) -> pd.DataFrame:
    """Each plan of `doc_ids` × theme: are the theme's items more or less common than in the other
    complete plans of `doc_ids` pooled?

    Fisher's exact test (two-sided) of (items with the theme, items without) in the plan against the
    pool; plans whose completeness is not "complete" are tested but never pooled, a plan × theme
    that is not `applicable` (outside the theme's since/until years) is neither tested nor pooled,
    and a plan without a pool is left out. q: Benjamini–Hochberg over all tests of the table;
    odds_ratio with 0.5 added to every cell; direction more/less when q < `max_q`, else n.s."""
    chosen = theme_counts[theme_counts["doc_id"].isin(list(doc_ids)) & theme_counts["applicable"]].merge(
        documents[["doc_id", "completeness"]], on="doc_id", how="left"
    )
    complete = chosen["completeness"].eq("complete")
    own = chosen[["items_with_theme", "n_items"]].mul(complete, axis=0)
    pool = own.groupby(chosen["theme"]).transform("sum") - own
    frame = chosen.assign(
        pool_plans=complete.groupby(chosen["theme"]).transform("sum") - complete,
        pool_items_with_theme=pool["items_with_theme"], pool_n_items=pool["n_items"],
    )
    frame = frame[frame["pool_plans"] > 0].reset_index(drop=True)
    a, n = frame["items_with_theme"].to_numpy(), frame["n_items"].to_numpy()
    c, m = frame["pool_items_with_theme"].to_numpy(), frame["pool_n_items"].to_numpy()
    tables = np.column_stack([a, n - a, c, m - c])  # plan with, without; pool with, without
    distinct, which = np.unique(tables, axis=0, return_inverse=True)  # plans of equal counts share a table
    p = np.array([fisher_exact(table.reshape(2, 2)).pvalue for table in distinct], dtype=float)[which.reshape(-1)]
    q = false_discovery_control(p, method="bh") if len(p) else p
    odds = (a + HALDANE) * (m - c + HALDANE) / ((n - a + HALDANE) * (c + HALDANE))
    return frame.assign(
        odds_ratio=odds.round(4), p=significant(p), q=significant(q),
        direction=np.select([q >= max_q, a * m > c * n], ["n.s.", "more"], "less"),
    )[TEST_COLUMNS]
