"""Comparison pages for large plan sets (more plans than `detail_max_plans` in params/report.yaml):
aggregate views that stay readable and small at 1,000 plans.

Distributions of the theme figures by region, administrative level and year; the top and bottom
plans per theme with their 95 % intervals; counts of item-test results. Every function works on
the plan × theme rows of theme_counts.csv (one row per plan and theme), so memory grows with the
number of plans, never with its square: no plan × plan or item × item matrix is built.
"""

from __future__ import annotations

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from analysis.stages.plansets import ranked_ids
from analysis.text.stats import INTERVAL_COLUMNS, NOT_APPLICABLE
from analysis.views import report
from analysis.views.evidence import esc
from analysis.views.plots import GROUP_LABELS, use_cjk_font
from analysis.views.report import ReportData

GROUPINGS = GROUP_LABELS
ALL = "全部 all"  # the group of every plan of the set
VALUES = {  # theme_counts column → (heading, number format)
    "per_10k_chars": ("每万字 per 10k chars", "{:.1f}"),
    "item_share": ("条目占比 item share", "{:.0%}"),
}
TOP_N = 10  # plans shown at each end of a theme's ranking
MAX_LISTED = 10  # plans named in the item-test summary; more are only counted


def is_large(data: ReportData, doc_ids: list[str]) -> bool:
    """Whether a set has more plans than `detail_max_plans`: its page shows aggregate views."""
    return len(doc_ids) > data.params["detail_max_plans"]


def plan_rows(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """theme_counts rows of the set with each plan's region, admin_level, completeness, label
    (`plan`) and `complete` (True unless its completeness is in rank_exclude)."""
    counts = report.set_counts(data, doc_ids)
    documents = data.documents[["doc_id", "region", "admin_level", "completeness"]]
    frame = counts.merge(documents, on="doc_id", how="left", validate="many_to_one")
    complete = set(ranked_ids(data.documents, doc_ids, data.params))
    return frame.assign(plan=frame["doc_id"].map(report.plan_names(data.documents)),
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
    themes, groups = report.themes_of(data), sorted(frame["_group"].unique())
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
    wide = cells.pivot(index="group", columns="theme", values="cell")[report.themes_of(data)]
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
             report.table(distribution_table(data, doc_ids, None, value)).data]
    for by, heading in GROUPINGS.items():
        zh, en = heading.split(" ", 1)
        parts.append(f"<h4>按{esc(zh)} By {esc(en)}</h4>")
        parts.append(report.table(distribution_table(data, doc_ids, by, value)).data)
    return "\n".join(parts)


def top_bottom(data: ReportData, doc_ids: list[str], theme: str, value: str = "per_10k_chars",
               n: int = TOP_N) -> pd.DataFrame:
    """The `n` highest and `n` lowest plans of one theme by `value`, among the complete plans the
    theme applies to (n/a and incomplete plans are never ranked); ties by doc_id. Columns: end
    (top/bottom), rank, of (plans ranked), doc_id, plan, region, value, low, high (95 % interval).
    A ranking of at most 2n plans is shown whole, each plan once."""
    frame = plan_rows(data, doc_ids)
    pool = frame[(frame["theme"] == theme) & frame["complete"] & frame["applicable"]]
    pool = pool.sort_values([value, "doc_id"], ascending=[False, True]).reset_index(drop=True)
    low, high = INTERVAL_COLUMNS[value]
    ranked = pd.DataFrame({
        "rank": pool.index + 1, "of": len(pool), "doc_id": pool["doc_id"], "plan": pool["plan"],
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
        "排名 rank": rows["rank"].astype(str) + "/" + rows["of"].astype(str),
        "计划 plan": rows["plan"], "地区 region": rows["region"],
        f"{VALUES[value][0]} [95% CI]": [f"{fmt.format(v)} [{fmt.format(lo)}, {fmt.format(hi)}]"
                                        for v, lo, hi in zip(rows["value"], rows["low"], rows["high"], strict=True)],
    })


def top_bottom_html(data: ReportData, doc_ids: list[str], value: str = "per_10k_chars", n: int = TOP_N) -> str:
    """A heading, then per theme its `top_bottom_table` (or a line when no plan can be ranked)."""
    parts = [f"<h3>最高与最低的 {n} 份计划 Top and bottom {n} plans</h3>"
             "<p>只排完整计划；主题在该年份不适用的计划不排名。区间重叠的计划不能据此排出高下。 Complete plans only; "
             "plans whose year the theme does not apply to are not ranked.</p>"]
    for theme in report.themes_of(data):
        rows = top_bottom_table(data, doc_ids, theme, value, n)
        body = report.table(rows).data if len(rows) else "<p>没有可排名的完整计划。 No complete plan to rank.</p>"
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
    plans pooled, `report.set_tests`: the reference the small-set page uses)."""
    return item_test_counts(report.set_tests(data, doc_ids), report.plan_names(data.documents), report.themes_of(data),
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
    return nearest_counts(data.nearest_neighbours, doc_ids, report.neighbour_min_share(data))


def plan_counts(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """The plans of a set counted by region (rows, sorted) and year (columns, in order), with the
    region's level(s), total and incomplete plans; a last row for the whole set."""
    docs = data.documents[data.documents["doc_id"].isin(doc_ids)]
    incomplete = ~docs["doc_id"].isin(ranked_ids(data.documents, doc_ids, data.params))
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
    return report.safe_html(
        "<p class='meta'>本比较集有 {n} 份计划，多于 {most} 份（params/report.yaml 的 detail_max_plans）："
        "本页给出分布、排名两端和检验计数；逐份的热力图、相似度、特色词和证据见各区县报告（<a href='index.html'>"
        "报告索引</a>）。 A set of more than {most} plans gets aggregate views; the per-plan detail is on the "
        "district pages.</p>",
        n=len(doc_ids), most=data.params["detail_max_plans"],
    )


def skipped_html(data: ReportData, what: str):
    """One line saying that a per-plan section (`what`) is on the district pages for a large set."""
    return report.safe_html(
        "<p class='meta'>计划多于 {most} 份：{what}见各区县报告。 With more than {most} plans, this per-plan "
        "view is on the district pages.</p>",
        most=data.params["detail_max_plans"], what=what,
    )


# --- analysis notebooks 01–03 (reports/analysis/) for large sets ----------------------------------
# Above `detail_max_plans` plans the analysis pages show these aggregates and bounded samples instead
# of one row, box, heatmap row or table per plan; no function here reads a plan × plan table.

SAMPLE_PLANS = 5  # plans whose rows (keyness, KWIC) an analysis page lists for a large set
SAMPLE_LINES = 10  # removed lines listed per cleaning rule for a large set
MAX_POINTS = 5000  # items drawn in the 2-D projection; more are sampled (fixed seed)
TOP_KEY_TERMS = 30  # tokens listed in the keyness overview of a large set
ANALYSIS_INDEX = "../index.html"  # reports/index.html as seen from reports/analysis/


def summarised_html(data: ReportData, doc_ids: list[str], what: str, source: str, district_pages: bool = True):
    """One line for a section of an analysis page (reports/analysis/) of a large set: what it shows
    instead of per-plan listings (`what`, a clause), and where the per-plan detail is: the district
    pages (unless `district_pages` is False), the processed table(s) `source`, or the notebook run
    with at most detail_max_plans doc_ids."""
    link = "各区县报告（<a href='" + ANALYSIS_INDEX + "'>报告索引</a>）与 "
    pages = (link, "the district pages, ") if district_pages else ("", "")
    return report.safe_html(
        "<p class='meta'>共 {n} 份计划，多于 {most} 份（params/report.yaml 的 detail_max_plans）：{what}。逐份的明细见"
        + pages[0] + "{source}，或以不多于 {most} 份计划的 <code>doc_ids</code> 运行本笔记本。 {n} plans, more than "
        "{most}: this section is summarised. Per-plan detail: " + pages[1] + "{source}, or this notebook run with "
        "fewer doc_ids.</p>",
        n=len(doc_ids), most=data.params["detail_max_plans"], what=what, source=source,
    )


def points_html(shown: int, total: int):
    """A line over the 2-D projection of a large set: every item, or a fixed sample of `shown`."""
    if shown < total:
        return report.safe_html(
            "<p class='meta'>图中为固定种子随机抽取的 {shown}/{total} 个条目，颜色为簇；计划太多，不再以形状区分计划。 "
            "{shown} of {total} items drawn with a fixed seed, coloured by cluster; no marker per plan.</p>",
            shown=shown, total=total)
    return report.safe_html(
        "<p class='meta'>图中为全部 {total} 个条目，颜色为簇；计划太多，不再以形状区分计划。 All {total} items, "
        "coloured by cluster; no marker per plan.</p>", total=total)


def section_summary(items: pd.DataFrame) -> pd.DataFrame:
    """`describe_values` of the sections per plan and the items per section (items.csv rows)."""
    per_section = items.groupby(["doc_id", "section_no"]).size()
    return describe_values({
        "每份计划的部分数 sections per plan": per_section.groupby(level="doc_id").size(),
        "每部分条目数 items per section": per_section,
    })


def more_html(shown: int, total: int, unit: str):
    """A line under a capped listing: `shown` of `total` `unit` listed, how many are left out."""
    return report.safe_html(
        "<p class='meta'>列出 {shown}/{total} {unit}，其余 {more} 未列出。 {shown} of {total} listed, {more} "
        "more not shown.</p>",
        shown=shown, total=total, unit=unit, more=total - shown,
    )


def listing_html(shown: pd.DataFrame, total: int, unit: str, empty: str):
    """A capped listing: the rows `shown` as a table, then `more_html` when `total` is larger; the
    sentence `empty` when nothing is listed (everything escaped)."""
    from IPython.display import HTML

    if shown.empty:
        return report.safe_html("<p>{empty}</p>", empty=empty)
    more = more_html(len(shown), total, unit).data if total > len(shown) else ""
    return HTML(report.table(shown).data + more)


def sample_ids(doc_ids: list[str], n: int = SAMPLE_PLANS) -> list[str]:
    """`n` plans spread evenly over the doc_id order (first and last included; all when at most
    `n`): a fixed, reproducible sample whose per-plan rows a large set's page lists."""
    ordered = sorted(doc_ids)
    if len(ordered) <= n:
        return ordered
    if n <= 1:
        return ordered[:n]
    return [ordered[round(at * (len(ordered) - 1) / (n - 1))] for at in range(n)]


def sample_html(documents: pd.DataFrame, sample: list[str], total: int):
    """A line naming the sampled plans (`sample_ids`) whose rows follow, out of `total` plans."""
    names = report.plan_names(documents)
    return report.safe_html(
        "<p class='meta'>下面只列出按 doc_id 等距抽取的 {shown}/{total} 份计划：{plans}。 Rows of {shown} of "
        "{total} plans, evenly spaced in doc_id order.</p>",
        shown=len(sample), total=total, plans="、".join(names.get(d, d) for d in sample),
    )


def _number(value: float) -> str:
    return "—" if pd.isna(value) else f"{value:.1f}".removesuffix(".0")


def describe_values(values: dict[str, pd.Series]) -> pd.DataFrame:
    """One row per measure (label → values): n, mean, min, quartiles, max, one decimal at most."""
    rows = []
    for label, series in values.items():
        stats = series.astype(float).describe()
        rows.append({"": label, "n": int(stats["count"]), **{
            heading: _number(stats[key]) for key, heading in (
                ("mean", "平均 mean"), ("min", "最小 min"), ("25%", "下四分位 q1"), ("50%", "中位数 median"),
                ("75%", "上四分位 q3"), ("max", "最大 max"))
        }})
    return pd.DataFrame(rows)


def corpus_summary(documents: pd.DataFrame) -> pd.DataFrame:
    """`describe_values` of the plans' characters, sections and items (documents.csv)."""
    return describe_values({
        "字数 characters": documents["n_chars"], "部分数 sections": documents["n_sections"],
        "条目数 items": documents["n_items"],
    })


def removal_summary(removed: pd.DataFrame) -> pd.DataFrame:
    """Per cleaning rule (most lines first, then by name): lines removed, plans with any, the most
    lines one plan lost to it (removed.csv rows)."""
    per_plan = removed.groupby(["rule", "doc_id"]).size()
    grouped = per_plan.groupby(level="rule")
    frame = pd.DataFrame({
        "规则 rule": grouped.sum().index, "删除行数 lines": grouped.sum().to_numpy(),
        "涉及计划 plans": grouped.size().to_numpy(), "单份最多 most in one plan": grouped.max().to_numpy(),
    })
    return frame.sort_values(["删除行数 lines", "规则 rule"], ascending=[False, True]).reset_index(drop=True)


def removed_sample(removed: pd.DataFrame, n: int = SAMPLE_LINES) -> pd.DataFrame:
    """The first `n` removed lines of each rule (rules by name; lines in removed.csv order)."""
    return removed.sort_values("rule", kind="stable").groupby("rule").head(n)[["doc_id", "rule", "text"]]


def structure_counts(structure: pd.DataFrame) -> pd.DataFrame:
    """How the plans were structured (`dataset.plan_structure` rows): plans per item numbering
    (continuous, per-section, none) and plans without section headings (n_sections 0)."""
    kinds = ["continuous", "per-section", "none"]
    counts = structure["numbering"].value_counts().reindex(kinds, fill_value=0)
    return pd.DataFrame({
        "": [f"条目编号 numbering: {kind}" for kind in kinds] + ["没有部分标题 no section headings"],
        "计划数 plans": [*counts.to_numpy(), int((structure["n_sections"] == 0).sum())],
    })


def plans_to_check(structure: pd.DataFrame) -> pd.DataFrame:
    """The `plan_structure` rows whose structure was not recognised: no section headings or no item
    numbers (each processed as one section or item per section), in doc_id order."""
    flagged = structure[(structure["n_sections"] == 0) | (structure["numbering"] == "none")]
    return flagged.sort_values("doc_id").reset_index(drop=True)


def length_summary(items: pd.DataFrame) -> pd.DataFrame:
    """`describe_values` of item length (characters) over all items, and of each plan's median."""
    lengths = items["text"].str.len()
    return describe_values({
        "条目长度 item length": lengths,
        "每份计划的中位长度 median per plan": lengths.groupby(items["doc_id"]).median(),
    })


def plot_item_length_histogram(items: pd.DataFrame, bins: int = 40) -> Figure:
    """Histograms of item length (characters) over all items and of items per plan (one figure,
    whatever the number of plans)."""
    use_cjk_font()
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.hist(items["text"].str.len(), bins=bins, color="#9ecae1", edgecolor="white")
    left.set_xlabel("条目长度（字）item length, characters")
    per_plan = items.groupby("doc_id").size()
    edges = [n - 0.5 for n in range(int(per_plan.min()), int(per_plan.max()) + 2)] if len(per_plan) else bins
    right.hist(per_plan, bins=edges, color="#9ecae1", edgecolor="white")
    right.set_xlabel("每份计划的条目数 items per plan")
    for ax in (left, right):
        ax.set_ylabel("频数 count")
        ax.grid(axis="y", alpha=0.3)
    return fig


def theme_summary(theme_counts: pd.DataFrame) -> pd.DataFrame:
    """Per theme (lexicon order) over theme_counts rows: plans, plans the theme applies to, plans
    with a mention, mentions in all, and items with the theme / items among the applicable plans."""
    rows = []
    for theme, group in theme_counts.groupby("theme", sort=False):
        applicable = group[group["applicable"].astype(bool)]
        rows.append({
            "主题 theme": theme, "计划 plans": len(group), "适用 applicable": len(applicable),
            "有提及 with mentions": int((group["mentions"] > 0).sum()),
            "提及合计 mentions": int(group["mentions"].sum()),
            "含主题条目（适用计划）items with theme": f"{int(applicable['items_with_theme'].sum())}/"
                                                  f"{int(applicable['n_items'].sum())}",
        })
    return pd.DataFrame(rows)


def term_summary(term_counts: pd.DataFrame) -> pd.DataFrame:
    """Per lexicon term found at least once (themes in lexicon order, then most mentions first):
    mentions in all, plans mentioning it, the most mentions in one plan (term_counts rows)."""
    grouped = term_counts.groupby(["theme", "term"], sort=False)["mentions"]
    frame = pd.DataFrame({"mentions": grouped.sum(), "plans": grouped.apply(lambda m: int((m > 0).sum())),
                          "most": grouped.max()}).reset_index()
    order = {theme: at for at, theme in enumerate(pd.unique(term_counts["theme"]))}
    frame = frame[frame["mentions"] > 0].assign(_order=lambda f: f["theme"].map(order))
    frame = frame.sort_values(["_order", "mentions", "term"], ascending=[True, False, True])
    return pd.DataFrame({
        "主题 theme": frame["theme"], "词语 term": frame["term"], "提及合计 mentions": frame["mentions"],
        "提及的计划 plans": frame["plans"], "单份最多 most in one plan": frame["most"],
    }).reset_index(drop=True)


def keyness_terms(keyness: pd.DataFrame, doc_ids: list[str], per_plan: int = 10,
                  n: int = TOP_KEY_TERMS) -> pd.DataFrame:
    """The `n` tokens that are most often among a plan's `per_plan` key tokens (the selection of
    themes.top_keyness: used more than the other plans, largest G²), over the plans `doc_ids`:
    plans, median and largest G² among them; ties by largest G², then token."""
    used_more = keyness.loc[keyness["doc_id"].isin(doc_ids) & (keyness["log_ratio"] > 0),
                            ["doc_id", "term", "theme", "g2"]]
    ranked = used_more.sort_values(["doc_id", "g2", "term"], ascending=[True, False, True])
    top = ranked.groupby("doc_id").head(per_plan)
    grouped = top.groupby("term")
    frame = pd.DataFrame({"theme": grouped["theme"].first(), "plans": grouped.size(),
                          "median": grouped["g2"].median(), "max": grouped["g2"].max()}).reset_index()
    frame = frame.sort_values(["plans", "max", "term"], ascending=[False, False, True]).head(n)
    return pd.DataFrame({
        "词 term": frame["term"], "主题 theme": frame["theme"].fillna(""),
        f"前 {per_plan} 位的计划数 plans": frame["plans"], "G² 中位数 median": frame["median"].round(2),
        "G² 最大 max": frame["max"].round(2),
    }).reset_index(drop=True)


def cluster_share_summary(clusters: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Per cluster (cluster_summary order): label, stable, items of the plans in `clusters`, plans
    with at least one item in it, and the distribution over those plans of the share of a plan's
    items in the cluster (median [quartiles], largest; plans without items in it count as 0 %)."""
    share = pd.crosstab(clusters["doc_id"], clusters["cluster"], normalize="index")
    share = share.reindex(columns=summary["cluster"], fill_value=0.0)
    items = clusters["cluster"].value_counts().reindex(summary["cluster"], fill_value=0)
    quartiles = share.quantile([0.25, 0.5, 0.75])
    return pd.DataFrame({
        "簇 cluster": summary["cluster"].to_numpy(), "标签 label": summary["label"].to_numpy(),
        "稳定 stable": summary["stable"].map({True: "是 yes", False: "否 no"}).to_numpy(),
        "条目 items": items.to_numpy(), "有条目的计划 plans": (share > 0).sum().to_numpy(),
        "计划内占比 中位数 [四分位] share of a plan's items, median [IQR]": [
            f"{quartiles.loc[0.5, c]:.0%} [{quartiles.loc[0.25, c]:.0%}–{quartiles.loc[0.75, c]:.0%}]"
            for c in share.columns],
        "最大 max": [f"{value:.0%}" for value in share.max()],
    })


def point_sample(clusters: pd.DataFrame, max_points: int = MAX_POINTS, seed: int = 0) -> pd.DataFrame:
    """All rows when at most `max_points`, else `max_points` rows drawn without replacement with a
    fixed seed (the same rows every run), in their original order."""
    if len(clusters) <= max_points:
        return clusters
    return clusters.sample(n=max_points, random_state=seed).sort_index()


def plot_cluster_points(points: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """Items in the 2-D projection coloured by cluster (legend: cluster id and label), small dots,
    no marker per plan: readable for any number of plans."""
    use_cjk_font()
    fig = Figure(figsize=(10, 6), layout="constrained")
    ax = fig.subplots()
    colours = matplotlib.colormaps["tab20"]
    for at, row in enumerate(summary.itertuples()):
        shown = points[points["cluster"] == row.cluster]
        ax.scatter(shown["x"], shown["y"], s=6, alpha=0.6, color=colours(at % 20), label=f"{row.cluster} {row.label}",
                   linewidths=0)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False, markerscale=2)
    ax.set_xlabel("SVD 1")
    ax.set_ylabel("SVD 2")
    return fig
