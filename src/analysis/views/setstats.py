"""Set-wide statistics a report needs per plan set (keyness, item tests), cached per kernel."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pandas as pd

from analysis.stages.plansets import ranked_ids
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
    """Token keyness within a plan set: each plan against the other complete plans of the set
    pooled (an incomplete plan is tested but never pooled). Rebuilt from the per-plan token counts
    of keyness.csv, so each set — not the whole corpus — is the reference. Computed once per set in
    a kernel (every district page of a set needs it)."""
    return per_set(_set_keyness, data, doc_ids, _compute_set_keyness)


def _compute_set_keyness(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    from analysis.text.textstats import stat_keyness

    tokens = data.keyness[data.keyness["doc_id"].isin(doc_ids)]
    min_count = data.params.themes.min_count
    complete = ranked_ids(data.documents, doc_ids, data.params.report)

    def against(pool: list[str], shown: set[str]) -> pd.DataFrame:
        rows = tokens[tokens["doc_id"].isin(pool)]
        result = stat_keyness(rows[["doc_id", "term", "count"]], rows.groupby("doc_id")["total"].first(), min_count)
        return result[result["doc_id"].isin(shown)]

    parts = [against(complete, set(complete))]
    parts += [against([*complete, d], {d}) for d in doc_ids if d not in complete]
    return pd.concat(parts, ignore_index=True)


_pools: dict[tuple[str, tuple[str, ...]], tuple[pd.Series, int]] = {}  # per snapshot and pool, for a warm kernel


OTHERS = "\0others"  # the pooled reference in plan_keyness (never a doc_id)


def _pool(data: ReportData, complete: list[str]) -> tuple[pd.Series, int]:
    """Token counts summed over the plans `complete` and their total tokens, once per kernel."""
    return per_set(_pools, data, complete, _compute_pool)


def _compute_pool(data: ReportData, complete: list[str]) -> tuple[pd.Series, int]:
    rows = data.keyness[data.keyness["doc_id"].isin(complete)]
    return rows.groupby("term")["count"].sum(), int(rows.groupby("doc_id")["total"].first().sum())


def plan_keyness(data: ReportData, doc_id: str, doc_ids: list[str]) -> pd.DataFrame:
    """One plan's rows of `set_keyness(data, doc_ids + [doc_id])` — against the other complete plans
    of the set pooled — at the cost of one plan: a district page of a 1,000-plan set does not test
    all 1,000 plans."""
    from analysis.text.textstats import stat_keyness

    complete = ranked_ids(data.documents, sorted({*doc_ids, doc_id}), data.params.report)
    own = data.keyness[data.keyness["doc_id"] == doc_id]
    if own.empty:
        return stat_keyness(own[["doc_id", "term", "count"]], pd.Series(dtype=float))  # no tokens: no rows
    counts, total = _pool(data, complete)
    own_total = int(own["total"].iloc[0])
    if doc_id in complete:
        counts, total = counts.sub(own.set_index("term")["count"], fill_value=0), total - own_total
    others = counts[counts > 0]
    frame = pd.concat([own[["doc_id", "term", "count"]],
                       pd.DataFrame({"doc_id": OTHERS, "term": others.index, "count": others.to_numpy()})])
    result = stat_keyness(frame, pd.Series({doc_id: own_total, OTHERS: total}),
                          data.params.themes.min_count)
    return result[result["doc_id"] == doc_id].reset_index(drop=True)


def distinctive_terms(data: ReportData, doc_id: str, doc_ids: list[str]) -> pd.DataFrame:
    """Tokens this plan uses significantly more than the other complete plans of the set (G², BH
    q, log ratio). Left out: place names and numerals (jieba word classes ns, m: 上海市, the 十三 of
    十三五) and terms containing a plan's district or region (every plan names itself)."""
    from analysis.stages.coword import place_names, place_pattern, plan_term
    from analysis.text.tokenize import word_classes

    keyness = plan_keyness(data, doc_id, doc_ids)
    places, classes = place_pattern(place_names(data.documents)), word_classes()
    report = data.params.report
    rows = keyness[(keyness["doc_id"] == doc_id) & (keyness["q"] < report.max_q) & (keyness["log_ratio"] > 0)]
    kept = rows["term"].map(lambda t: plan_term(t, places, classes))
    rows = rows[kept.astype(bool)]  # bool even when empty: an empty object mask would select columns
    rows = rows.sort_values(["g2", "term"], ascending=[False, True]).head(report.top_terms)
    return pd.DataFrame({
        "词 term": rows["term"], "本计划 count": rows["count"], "期望 expected": rows["expected"].round(1),
        "其他计划 others": rows["count_other"], "G²": rows["g2"].round(2), "q": rows["q"].map("{:.2g}".format),
        "log₂ ratio": rows["log_ratio"].round(2),
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
