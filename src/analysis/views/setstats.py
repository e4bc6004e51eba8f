"""Set-wide statistics a report needs per plan set (item-level keyness, item tests), cached per kernel."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pandas as pd

from analysis.views.data import ReportData, plan_names

T = TypeVar("T")


def per_set(cache: dict, data: ReportData, doc_ids: list[str], compute: Callable[[ReportData, list[str]], T]) -> T:
    """`compute(data, sorted doc_ids)`, kept in `cache` for the snapshot: every district page of a
    set needs the same set-wide result, and a warm kernel renders many of them."""
    key = (data.snapshot, tuple(sorted(doc_ids)))
    if key not in cache:
        if any(k[0] != data.snapshot for k in cache):
            cache.clear()
        cache[key] = compute(data, list(key[1]))
    return cache[key]


_set_keyness: dict[tuple[str, tuple[str, ...]], pd.DataFrame] = {}  # per snapshot and set, for a warm kernel


def set_keyness(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """Item-level keyness within a plan set (keyness.csv's definition): each plan against the other
    complete plans of the set pooled. A set that is a scope of keyness.csv (all plans, a plan set of
    params/report.yaml) reads its rows; any other set is computed the same way
    (`stages.keyness.scope_keyness`) from item_tokens.csv, once per set in a kernel."""
    return per_set(_set_keyness, data, doc_ids, _compute_set_keyness)


def _compute_set_keyness(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    from analysis.stages.keyness import KEYNESS_COLUMNS, keyness_scopes, scope_keyness

    for scope, ids in keyness_scopes(data.documents, data.params.report).items():
        if sorted(ids) == doc_ids:
            return data.keyness[data.keyness["scope"] == scope][KEYNESS_COLUMNS[1:]].reset_index(drop=True)
    params = data.params
    return scope_keyness(data.item_tokens, data.documents, doc_ids, params.report.rank_exclude, params.exploratory,
                         params.report.max_q, params.themes.theme_of)


def plan_keyness(data: ReportData, doc_id: str, doc_ids: list[str]) -> pd.DataFrame:
    """One plan's rows of `set_keyness(data, doc_ids + [doc_id])`: against the other complete plans
    of the set."""
    found = set_keyness(data, sorted({*doc_ids, doc_id}))
    return found[found["doc_id"] == doc_id].reset_index(drop=True)


def distinctive_terms(data: ReportData, doc_id: str, doc_ids: list[str]) -> pd.DataFrame:
    """Plan terms this plan uses in significantly more items than the other complete plans of the
    set (`key`: BH q below max_q and in at least keyness_min_items of its items; place names and
    numerals are never plan terms), largest G² first, at most top_terms."""
    keyness = plan_keyness(data, doc_id, doc_ids)
    rows = keyness[keyness["key"].astype(bool) & (keyness["log_ratio"] > 0)]
    rows = rows.sort_values(["g2", "term"], ascending=[False, True]).head(data.params.report.top_terms)
    return keyness_rows(rows)


def keyness_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """keyness.csv rows for reading: term, items of the plan, of the other complete plans, expected
    items, occurrences, G², q, log ratio."""
    return pd.DataFrame({
        "词 term": rows["term"],
        "本计划条目 items": rows["n_items"].astype(str) + "/" + rows["items"].astype(str),
        "其他完整计划条目 others": rows["n_items_other"].astype(str) + "/" + rows["items_other"].astype(str),
        "期望条目 expected": rows["expected"].round(1), "出现次数 count": rows["count"],
        "G²": rows["g2"].round(2), "q": rows["q"].map("{:.2g}".format), "log₂ ratio": rows["log_ratio"].round(2),
    }).reset_index(drop=True)


_set_tests: dict[tuple[str, tuple[str, ...]], pd.DataFrame] = {}


def set_tests(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """Item-presence tests of a plan set: each plan × theme against the set's other complete plans
    (Fisher's exact test, BH q over the set; `stats.item_presence_tests`, params/statistics.yaml)."""
    return per_set(_set_tests, data, doc_ids, _compute_set_tests)


def _compute_set_tests(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    from analysis.text.stats import item_presence_tests

    max_q = data.params.statistics.max_q
    return item_presence_tests(data.theme_counts, data.documents, doc_ids, max_q=max_q)


DIRECTION = {"more": "显著偏多 more", "less": "显著偏少 less", "n.s.": "无显著差异 n.s."}


def theme_significance(data: ReportData, doc_id: str, doc_ids: list[str]) -> dict[str, str]:
    """Per theme: 显著偏多 / 显著偏少 / 无显著差异 — this plan's share of items with the theme
    against the other complete plans of `doc_ids` (`set_tests`). Themes without a pool are absent."""
    tests = set_tests(data, sorted({*doc_ids, doc_id}))
    return {
        row.theme: f"{DIRECTION[row.direction]} ({row.items_with_theme}/{row.n_items} vs "
                   f"{row.pool_items_with_theme}/{row.pool_n_items} items, OR={row.odds_ratio:.2g}, q={row.q:.2g})"
        for row in tests[tests["doc_id"] == doc_id].itertuples()
    }


def set_tests_table(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """`set_tests` for reading: plan, theme, items, pool, odds ratio, q and the verdict."""
    tests = set_tests(data, doc_ids)
    names = plan_names(data.documents)
    return pd.DataFrame({
        "计划 plan": tests["doc_id"].map(names), "主题 theme": tests["theme"],
        "含主题条目 items": tests["items_with_theme"].astype(str) + "/" + tests["n_items"].astype(str),
        "其他完整计划 pool": tests["pool_items_with_theme"].astype(str) + "/" + tests["pool_n_items"].astype(str),
        "OR": tests["odds_ratio"].map("{:.2g}".format), "q": tests["q"].map("{:.2g}".format),
        "结论 verdict": tests["direction"].map(DIRECTION),
    })
