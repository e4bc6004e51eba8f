"""The sections of a comparison page (notebook 20), each a list of objects to display."""

from __future__ import annotations

from IPython.display import HTML

from analysis.views import coding, overview, policy_tools
from analysis.views.comparison import (
    caveats_html,
    disagreements_table,
    evidence_html,
    mentions_table,
    plans_overview,
)
from analysis.views.data import ReportData, plan_names, set_counts, set_title
from analysis.views.district import distinctive_terms_table
from analysis.views.explore import set_trajectories
from analysis.views.fragments import as_tables, safe_html, table
from analysis.views.overview import is_large, skipped_html
from analysis.views.pages import structure
from analysis.views.plots import (
    plot_district_trajectories,
    plot_heatmap,
    plot_similarity,
    plot_theme_distribution,
    plot_theme_heatmap,
    plot_theme_intervals,
)
from analysis.views.setstats import set_tests_table
from analysis.views.similarity import (
    cluster_matrix,
    cluster_verdict_html,
    clusters_pass,
    nearest_plans,
    similarity_matrix,
    stable_clusters,
)


@as_tables
def header(data: ReportData, doc_ids: list[str], name: str) -> list:
    """The set's title and size, and for a large set why the page shows aggregates."""
    title = safe_html("<h1>{title}</h1><p>比较计划 Plans compared: {n}（plan set <code>{name}</code>）</p>",
                      title=set_title(data.params.report, name), n=len(doc_ids), name=name)
    return [title, overview.large_set_html(data, doc_ids)] if is_large(data, doc_ids) else [title]


@as_tables
def plans(data: ReportData, doc_ids: list[str]) -> list:
    """The plans of the set, or their counts by region and year."""
    return [table(overview.plan_counts(data, doc_ids) if is_large(data, doc_ids) else plans_overview(data, doc_ids))]


@as_tables
def themes(data: ReportData, doc_ids: list[str], value: str) -> list:
    """A theme_counts value (per_10k_chars, item_share) per plan: heatmap and intervals, or its
    distribution by region and the top and bottom plans."""
    if is_large(data, doc_ids):
        return [plot_theme_distribution(overview.plan_rows(data, doc_ids), value, by="region"),
                HTML(overview.distributions_html(data, doc_ids, value)),
                HTML(overview.top_bottom_html(data, doc_ids, value))]
    counts = set_counts(data, doc_ids)
    return [plot_theme_heatmap(counts, value, documents=data.documents),
            plot_theme_intervals(counts, data.documents, value)]


@as_tables
def mentions(data: ReportData, doc_ids: list[str]) -> list:
    """Plans × themes mention counts linked to the evidence, or a line saying they are on the district pages."""
    return [skipped_html(data, "逐份的提及次数") if is_large(data, doc_ids) else mentions_table(data, doc_ids)]


@as_tables
def tests(data: ReportData, doc_ids: list[str]) -> list:
    """The item-level tests per plan, or counts of their results per theme."""
    large = is_large(data, doc_ids)
    return [table(overview.item_test_summary(data, doc_ids) if large else set_tests_table(data, doc_ids))]


@as_tables
def trajectories(data: ReportData, doc_ids: list[str]) -> list:
    """Each district's plans year by year with intervals, or a line saying no district has two years."""
    found = set_trajectories(data, doc_ids)
    if found.empty:
        return [safe_html("<p class='meta'>无更早的计划：本比较中没有地区有两个以上年份的计划。 No earlier plan: "
                          "no district of this comparison has plans of two or more years.</p>")]
    figure = plot_district_trajectories(found, "每万字提及 per 10k chars", data.params.report.rank_exclude)
    intro = safe_html("<p>本比较中有两个以上年份计划的地区，逐年给出每个主题的每万字提及及其 95% 区间（条目自助法）；"
                      "区间重叠时不宜说有变化。截断或节选的计划以空心点标出。</p>")
    return [intro, figure, table(found)]


@as_tables
def terms(data: ReportData, doc_ids: list[str]) -> list:
    """Each plan's distinctive terms against the rest of the set, or a line for a large set."""
    if is_large(data, doc_ids):
        return [skipped_html(data, "每份计划的特色词")]
    names, shown = plan_names(data.documents), []
    for doc_id in doc_ids:
        shown += [safe_html("<h3>{plan}</h3>", plan=names[doc_id]), distinctive_terms_table(data, doc_id, doc_ids)]
    return shown


@as_tables
def clusters(data: ReportData, doc_ids: list[str]) -> list:
    """The clustering's verdict; when it passes, the plans × clusters heatmap (small set) and the clusters."""
    if not clusters_pass(data, doc_ids):
        return [cluster_verdict_html(data, doc_ids)]
    if is_large(data, doc_ids):
        mix = skipped_html(data, "各计划的聚类构成")
    else:
        mix = plot_heatmap(cluster_matrix(data, doc_ids), "条目聚类占比 share of items per cluster", fmt=".0%",
                           cmap="Greens")
    return [cluster_verdict_html(data, doc_ids), mix, table(stable_clusters(data, doc_ids))]


@as_tables
def similarity(data: ReportData, doc_ids: list[str]) -> list:
    """The similarity heatmap and each plan's nearest plan, or counts of robust and uncertain nearest plans."""
    if is_large(data, doc_ids):
        return [skipped_html(data, "相似度热力图和每份计划最相似的计划"),
                table(overview.nearest_summary(data, doc_ids))]
    return [plot_similarity(similarity_matrix(data, doc_ids)), table(nearest_plans(data, doc_ids))]


@as_tables
def tools(data: ReportData, doc_ids: list[str]) -> list:
    """Policy-tool findings, type shares per plan (pooled only for a large set) and the tool × theme
    matrix; pooled figures over the plans that may be pooled (policy_tools.pool_ids)."""
    large, pool = is_large(data, doc_ids), policy_tools.pool_ids(data, doc_ids)
    shares = policy_tools.pooled_shares(data, pool) if large else policy_tools.interval_table(data, doc_ids)
    intervals = policy_tools.type_intervals(data, doc_ids)
    if large:
        intervals = intervals[intervals["plan"] == policy_tools.POOLED]
    return [policy_tools.findings_html(data, doc_ids), table(shares), policy_tools.plot_type_shares(intervals),
            table(policy_tools.xy_table(data, pool, "theme"))]


def crosstabs(data: ReportData, doc_ids: list[str], name: str) -> list:
    """The set's cross-tabs with χ², Cramér's V and adjusted residuals (views.pages.structure)."""
    return structure.crosstabs(data, doc_ids, name)


def tool_theme(data: ReportData, doc_ids: list[str], name: str) -> list:
    """The tool type × theme cross-tab with row % and residuals, and the cues shared with theme terms."""
    return structure.tool_theme(data, doc_ids, name)


@as_tables
def validation(data: ReportData) -> list:
    """The lexicon against the reference coding: who coded, in-sample and held-out agreement."""
    return coding.validation_views(data.paths, data.lexicon_validation, "themes")


@as_tables
def disagreements(data: ReportData) -> list:
    """The items where the lexicon and the reference coding differ."""
    return [table(disagreements_table(data))]


@as_tables
def tool_validation(data: ReportData) -> list:
    """The policy-tool coding against the reference coding."""
    return coding.validation_views(data.paths, data.policy_tool_validation, "policy_tools")


@as_tables
def caveats(data: ReportData, doc_ids: list[str]) -> list:
    """What a reader must keep in mind about the set."""
    return [HTML(caveats_html(data, doc_ids))]


@as_tables
def evidence(data: ReportData, doc_ids: list[str]) -> list:
    """Every KWIC line behind the counts, or a line saying it is on the district pages."""
    if is_large(data, doc_ids):
        return [skipped_html(data, "证据附录（每个计数的全部原文句段）")]
    return [HTML(evidence_html(data, doc_ids))]
