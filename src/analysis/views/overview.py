"""Comparison pages for large plan sets (more plans than `detail_max_plans` in params/report.yaml):
aggregate views that stay readable and small at 1,000 plans.

Distributions of the theme figures by region, administrative level and year; the top and bottom
plans per theme with their 95 % intervals; counts of item-test results. Every function works on
the plan × theme rows of theme_counts.csv (one row per plan and theme), so memory grows with the
number of plans, never with its square: no plan × plan or item × item matrix is built.
"""

from __future__ import annotations

import pandas as pd

from analysis.stages.plansets import ranked_ids
from analysis.text.stats import INTERVAL_COLUMNS, NOT_APPLICABLE, rank_bounds
from analysis.views.data import ReportData, plan_names, set_counts, themes_of
from analysis.views.evidence import esc
from analysis.views.fragments import safe_html, table
from analysis.views.plots import GROUP_LABELS
from analysis.views.setstats import set_tests
from analysis.views.similarity import neighbour_min_share
from analysis.views.tableformat import rank

GROUPINGS = GROUP_LABELS
ALL = "全部 all"  # the group of every plan of the set
VALUES = {  # theme_counts column → (heading, number format)
    "per_10k_chars": ("每万字 per 10k chars", "{:.1f}"),
    "item_share": ("条目占比 item share", "{:.1%}"),
}
TOP_N = 10  # plans shown at each end of a theme's ranking
MAX_LISTED = 10  # plans named in the item-test summary; more are only counted


def is_large(data: ReportData, doc_ids: list[str]) -> bool:
    """Whether a set has more plans than `detail_max_plans`: its page shows aggregate views."""
    return len(doc_ids) > data.params.report.detail_max_plans


def plan_rows(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """theme_counts rows of the set with each plan's region, admin_level, completeness, label
    (`plan`) and `complete` (True unless its completeness is in rank_exclude)."""
    counts = set_counts(data, doc_ids)
    documents = data.documents[["doc_id", "region", "admin_level", "completeness"]]
    frame = counts.merge(documents, on="doc_id", how="left", validate="many_to_one")
    complete = set(ranked_ids(data.documents, doc_ids, data.params.report))
    return frame.assign(plan=frame["doc_id"].map(plan_names(data.documents)),
                        complete=frame["doc_id"].isin(complete))


def _groups(frame: pd.DataFrame, by: str | None) -> pd.Series:
    return pd.Series(ALL, index=frame.index) if by is None else frame[by]


def group_distribution(data: ReportData, doc_ids: list[str], by: str | None,
                       value: str = "per_10k_chars") -> pd.DataFrame:
    """Per theme (lexicon order) and group of `by` (region, admin_level or year, in sorted order;
    None: the whole set): n complete plans where the theme applies, median and quartiles of `value`
    among them (pandas' linear interpolation), `not_applicable`: complete plans of a year outside
    the theme's since/until, `incomplete`: plans left out because they are incomplete."""
    frame = plan_rows(data, doc_ids)
    frame = frame.assign(_group=_groups(frame, by))
    themes, groups = themes_of(data), sorted(frame["_group"].unique())
    index = pd.MultiIndex.from_product([themes, groups], names=["theme", "group"])
    counted = frame[frame["complete"] & frame["applicable"]].groupby(["theme", "_group"])[value]
    quartiles = counted.quantile([0.25, 0.5, 0.75]).unstack()

    def tally(rows: pd.DataFrame) -> pd.Series:
        return rows.groupby(["theme", "_group"]).size().reindex(index, fill_value=0)

    result = pd.DataFrame({
        "n": counted.size().reindex(index, fill_value=0),
        "median": quartiles.get(0.5, pd.Series(dtype=float)).reindex(index),
        "q1": quartiles.get(0.25, pd.Series(dtype=float)).reindex(index),
        "q3": quartiles.get(0.75, pd.Series(dtype=float)).reindex(index),
        "not_applicable": tally(frame[frame["complete"] & ~frame["applicable"]]),
        "incomplete": tally(frame[~frame["complete"]]),
    }, index=index)
    return result.reset_index()


def distribution_table(data: ReportData, doc_ids: list[str], by: str | None,
                       value: str = "per_10k_chars") -> pd.DataFrame:
    """`group_distribution` for reading: one row per group, per theme "median [q1–q3]" of the
    complete plans (their number added where some are n/a), n/a where the theme applies to none."""
    long = group_distribution(data, doc_ids, by, value)
    fmt = VALUES[value][1]
    long = long.assign(complete=long["n"] + long["not_applicable"])

    def cell(row) -> str:
        if row.n == 0:
            return NOT_APPLICABLE if row.not_applicable else "—"
        text = f"{fmt.format(row.median)} [{fmt.format(row.q1)}–{fmt.format(row.q3)}]"
        return text + (f"（n={row.n}）" if row.not_applicable else "")

    cells = long.assign(cell=[cell(row) for row in long.itertuples()])
    wide = cells.pivot(index="group", columns="theme", values="cell")[themes_of(data)]
    first = long.drop_duplicates("group").set_index("group")
    label = GROUPINGS.get(by, "") if by else ""
    return pd.DataFrame({
        label or "计划 plans": wide.index.astype(str),
        "完整计划 complete plans": first["complete"].reindex(wide.index).to_numpy(),
        "不完整（未计入）incomplete, not counted": first["incomplete"].reindex(wide.index).to_numpy(),
        **{f"{theme} 中位数 [四分位] median [IQR]": wide[theme].to_numpy() for theme in wide.columns},
    })


def distributions_html(data: ReportData, doc_ids: list[str], value: str = "per_10k_chars") -> str:
    """A heading, the whole set's `distribution_table`, then one by region, level and year."""
    parts = [f"<h3>分布 Distribution of {esc(VALUES[value][0])}</h3>",
             table(distribution_table(data, doc_ids, None, value)).data]
    for by, heading in GROUPINGS.items():
        zh, en = heading.split(" ", 1)
        parts.append(f"<h4>按{esc(zh)} By {esc(en)}</h4>")
        parts.append(table(distribution_table(data, doc_ids, by, value)).data)
    return "\n".join(parts)


def top_bottom(data: ReportData, doc_ids: list[str], theme: str, value: str = "per_10k_chars",
               n: int = TOP_N) -> pd.DataFrame:
    """The `n` highest and `n` lowest plans of one theme by `value`, among the complete plans the
    theme applies to (n/a and incomplete plans are never ranked); ties by doc_id. Columns: end
    (top/bottom), rank, best and worst rank the intervals allow (text.stats.rank_bounds), of (plans
    ranked), doc_id, plan, region, value, low, high (95 % interval).
    A ranking of at most 2n plans is shown whole, each plan once."""
    frame = plan_rows(data, doc_ids)
    pool = frame[(frame["theme"] == theme) & frame["complete"] & frame["applicable"]]
    pool = pool.sort_values([value, "doc_id"], ascending=[False, True]).reset_index(drop=True)
    low, high = INTERVAL_COLUMNS[value]
    best, worst = rank_bounds(pool[low], pool[high])
    ranked = pd.DataFrame({
        "rank": pool.index + 1, "best": best, "worst": worst, "of": len(pool), "doc_id": pool["doc_id"],
        "plan": pool["plan"],
        "region": pool["region"], "value": pool[value], "low": pool[low], "high": pool[high],
    })
    top = ranked.head(n).assign(end="top")
    bottom = ranked.iloc[len(top):].tail(n).assign(end="bottom")
    return pd.concat([top, bottom], ignore_index=True)[["end", *ranked.columns]]


def top_bottom_table(data: ReportData, doc_ids: list[str], theme: str, value: str = "per_10k_chars",
                     n: int = TOP_N) -> pd.DataFrame:
    """`top_bottom` for reading: end, rank among the ranked plans, plan, region, value [95 % CI]."""
    rows = top_bottom(data, doc_ids, theme, value, n)
    fmt = VALUES[value][1]
    return pd.DataFrame({
        "": rows["end"].map({"top": "最高 top", "bottom": "最低 bottom"}),
        "排名 rank": [rank(b, w, n) for b, w, n in zip(rows["best"], rows["worst"], rows["of"], strict=True)],
        "计划 plan": rows["plan"], "地区 region": rows["region"],
        f"{VALUES[value][0]} [95% CI]": [f"{fmt.format(v)} [{fmt.format(lo)}, {fmt.format(hi)}]"
                                        for v, lo, hi in zip(rows["value"], rows["low"], rows["high"], strict=True)],
    })


def top_bottom_html(data: ReportData, doc_ids: list[str], value: str = "per_10k_chars", n: int = TOP_N) -> str:
    """A heading, then per theme its `top_bottom_table` (or a line when no plan can be ranked)."""
    parts = [f"<h3>最高与最低的 {n} 份计划 Top and bottom {n} plans</h3>"
             "<p>只排完整计划；主题在该年份不适用的计划不排名。区间重叠的计划不能据此排出高下。 Complete plans only; "
             "plans whose year the theme does not apply to are not ranked.</p>"]
    for theme in themes_of(data):
        rows = top_bottom_table(data, doc_ids, theme, value, n)
        body = table(rows).data if len(rows) else "<p>没有可排名的完整计划。 No complete plan to rank.</p>"
        parts.append(f"<h4>{esc(theme)}</h4>{body}")
    return "\n".join(parts)


def _listed(doc_ids: list[str], names: dict[str, str], max_listed: int) -> str:
    """Plans named (in doc_id order) when at most `max_listed`, else counted."""
    if not doc_ids:
        return "—"
    if len(doc_ids) > max_listed:
        return f"{len(doc_ids)} 份，见各区县报告 see the district pages"
    return "、".join(names.get(d, d) for d in sorted(doc_ids))


def item_test_counts(tests: pd.DataFrame, names: dict[str, str], themes: list[str],
                     max_listed: int = MAX_LISTED) -> pd.DataFrame:
    """Per theme: plans tested, significantly more, less, n.s. (`direction` of item-presence tests,
    TEST_COLUMNS); the plans more/less are named when at most `max_listed`, else only counted."""
    rows = []
    for theme in themes:
        tested = tests[tests["theme"] == theme]
        more, less = (list(tested.loc[tested["direction"] == d, "doc_id"]) for d in ("more", "less"))
        rows.append({
            "主题 theme": theme, "检验 tested": len(tested), "显著偏多 more": len(more), "显著偏少 less": len(less),
            "无显著差异 n.s.": int((tested["direction"] == "n.s.").sum()),
            "偏多的计划 plans more": _listed(more, names, max_listed),
            "偏少的计划 plans less": _listed(less, names, max_listed),
        })
    return pd.DataFrame(rows)


def item_test_summary(data: ReportData, doc_ids: list[str], max_listed: int = MAX_LISTED) -> pd.DataFrame:
    """`item_test_counts` of the set's item-presence tests (each plan against the set's other complete
    plans pooled, `set_tests`: the reference the small-set page uses)."""
    return item_test_counts(set_tests(data, doc_ids), plan_names(data.documents), themes_of(data),
                        max_listed)


def nearest_counts(nearest: pd.DataFrame, doc_ids: list[str], min_share: float) -> pd.DataFrame:
    """How many plans of the set have a robust nearest plan (it stays the nearest in at least
    `min_share` of item resamples), an uncertain one, or none (nearest_neighbours.csv, rank 1)."""
    top = nearest[(nearest["rank"] == 1) & nearest["doc_id"].isin(doc_ids)]
    robust = int((top["share_nearest"] >= min_share).sum())
    return pd.DataFrame({
        "判断 verdict": ["稳健 robust", "不确定 uncertain", "无 none"],
        "计划数 plans": [robust, len(top) - robust, len(set(doc_ids) - set(top["doc_id"]))],
    })


def nearest_summary(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """`nearest_counts` with the threshold of params/clusters.yaml (neighbour_min_share)."""
    return nearest_counts(data.nearest_neighbours, doc_ids, neighbour_min_share(data))


def plan_counts(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """The plans of a set counted by region (rows, sorted) and year (columns, in order), with the
    region's level(s), total and incomplete plans; a last row for the whole set."""
    docs = data.documents[data.documents["doc_id"].isin(doc_ids)]
    incomplete = ~docs["doc_id"].isin(ranked_ids(data.documents, doc_ids, data.params.report))
    table = pd.crosstab(docs["region"], docs["year"]).sort_index()
    table.loc[ALL] = table.sum()
    levels = docs.groupby("region")["admin_level"].agg(lambda s: "、".join(sorted(s.unique())))
    frame = pd.DataFrame({
        "地区 region": table.index.astype(str),
        "级别 level": levels.reindex(table.index).fillna("").to_numpy(),
        **{str(year): table[year].to_numpy() for year in table.columns},
        "合计 total": table.sum(axis=1).to_numpy(),
        "不完整 incomplete": [*incomplete.groupby(docs["region"]).sum().reindex(table.index[:-1]), incomplete.sum()],
    })
    return frame.astype({"不完整 incomplete": int})


def large_set_html(data: ReportData, doc_ids: list[str]):
    """The line under a large set's title: why the page shows aggregate views."""
    return safe_html(
        "<p class='meta'>本比较集有 {n} 份计划，多于 {most} 份（params/report.yaml 的 detail_max_plans）："
        "本页给出分布、排名两端和检验计数；逐份的热力图、相似度、特色词和证据见各区县报告（<a href='index.html'>"
        "报告索引</a>）。 A set of more than {most} plans gets aggregate views; the per-plan detail is on the "
        "district pages.</p>",
        n=len(doc_ids), most=data.params.report.detail_max_plans,
    )


def skipped_html(data: ReportData, what: str):
    """One line saying that a per-plan section (`what`) is on the district pages for a large set."""
    return safe_html(
        "<p class='meta'>计划多于 {most} 份：{what}见各区县报告。 With more than {most} plans, this per-plan "
        "view is on the district pages.</p>",
        most=data.params.report.detail_max_plans, what=what,
    )
