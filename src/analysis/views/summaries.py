"""Aggregates and bounded samples the analysis pages (notebooks 01–03) show for a large plan set."""

from __future__ import annotations

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from analysis.views.data import ReportData, plan_names
from analysis.views.fragments import safe_html, table
from analysis.views.plots import use_cjk_font

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
    return safe_html(
        "<p class='meta'>共 {n} 份计划，多于 {most} 份（params/report.yaml 的 detail_max_plans）：{what}。逐份的明细见"
        + pages[0] + "{source}，或以不多于 {most} 份计划的 <code>doc_ids</code> 运行本笔记本。 {n} plans, more than "
        "{most}: this section is summarised. Per-plan detail: " + pages[1] + "{source}, or this notebook run with "
        "fewer doc_ids.</p>",
        n=len(doc_ids), most=data.params.report.detail_max_plans, what=what, source=source,
    )


def points_html(shown: int, total: int):
    """A line over the 2-D projection of a large set: every item, or a fixed sample of `shown`."""
    if shown < total:
        return safe_html(
            "<p class='meta'>图中为固定种子随机抽取的 {shown}/{total} 个条目，颜色为簇；计划太多，不再以形状区分计划。 "
            "{shown} of {total} items drawn with a fixed seed, coloured by cluster; no marker per plan.</p>",
            shown=shown, total=total)
    return safe_html(
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
    return safe_html(
        "<p class='meta'>列出 {shown}/{total} {unit}，其余 {more} 未列出。 {shown} of {total} listed, {more} "
        "more not shown.</p>",
        shown=shown, total=total, unit=unit, more=total - shown,
    )


def listing_html(shown: pd.DataFrame, total: int, unit: str, empty: str):
    """A capped listing: the rows `shown` as a table, then `more_html` when `total` is larger; the
    sentence `empty` when nothing is listed (everything escaped)."""
    from IPython.display import HTML

    if shown.empty:
        return safe_html("<p>{empty}</p>", empty=empty)
    more = more_html(len(shown), total, unit).data if total > len(shown) else ""
    return HTML(table(shown).data + more)


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
    names = plan_names(documents)
    return safe_html(
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


def keyness_terms(keyness: pd.DataFrame, per_plan: int = 10, n: int = TOP_KEY_TERMS) -> pd.DataFrame:
    """The `n` terms that are most often among a plan's `per_plan` key terms (the selection of
    views.themes.top_keyness) over the keyness rows of one set: plans, median and largest G² among
    them; ties by largest G², then term."""
    used_more = keyness.loc[keyness["key"].astype(bool) & (keyness["log_ratio"] > 0), ["doc_id", "term", "theme", "g2"]]
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
            f"{quartiles.loc[0.5, c]:.1%} [{quartiles.loc[0.25, c]:.1%}–{quartiles.loc[0.75, c]:.1%}]"
            for c in share.columns],
        "最大 max": [f"{value:.1%}" for value in share.max()],
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
