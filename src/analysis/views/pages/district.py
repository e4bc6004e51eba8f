"""The sections of a district page (notebook 10), each a list of objects to display."""

from __future__ import annotations

from IPython.display import HTML

from analysis.views import district, policy_tools
from analysis.views.comparison import evidence_html
from analysis.views.data import ReportData
from analysis.views.fragments import as_tables, safe_html, table
from analysis.views.similarity import (
    cluster_mix_vs_others,
    cluster_verdict_html,
    clusters_pass,
    neighbour_verdict_html,
    scope_html,
    similar_plans,
    within_set,
)


@as_tables
def header(data: ReportData, doc_id: str, doc_ids: list[str]) -> list:
    """The plan's title, its facts and warnings, and the plans it is compared with."""
    title = data.documents.set_index("doc_id").loc[doc_id, "title"]
    return [safe_html("<h2>{title}</h2>", title=title), HTML(district.header_html(data.documents, doc_id)),
            district.compared_with_html(data, doc_id, doc_ids)]


@as_tables
def structure(data: ReportData, doc_id: str) -> list:
    """The plan's sections with their item numbers and counts."""
    return [table(district.structure_table(data.items, doc_id))]


@as_tables
def themes(data: ReportData, doc_id: str, doc_ids: list[str]) -> list:
    """The theme profile against the other plans of the set."""
    return [district.theme_profile_table(data, doc_id, doc_ids)]


@as_tables
def terms(data: ReportData, doc_id: str, doc_ids: list[str]) -> list:
    """The plan's distinctive terms against the other plans of the set."""
    return [district.distinctive_terms_table(data, doc_id, doc_ids)]


@as_tables
def clusters(data: ReportData, doc_id: str, doc_ids: list[str]) -> list:
    """Which plans it is computed on, the clustering's verdict, then (when it passes) the plan's
    cluster mix beside the others'; within the set when the plan is in it (within_set)."""
    within = within_set(data, doc_id, doc_ids)
    mix = [table(cluster_mix_vs_others(data, doc_id, doc_ids))] if clusters_pass(data, within) else []
    return [scope_html(data, doc_id, doc_ids), cluster_verdict_html(data, within), *mix]


@as_tables
def similar(data: ReportData, doc_id: str, doc_ids: list[str]) -> list:
    """Which plans it is computed on, whether the nearest plan is robust, and the candidates."""
    within = within_set(data, doc_id, doc_ids)
    return [scope_html(data, doc_id, doc_ids), neighbour_verdict_html(data, doc_id, within),
            table(similar_plans(data, doc_id, within))]


@as_tables
def changes(data: ReportData, doc_id: str) -> list:
    """Against the district's previous plan (what is compared, then the tables), or one line saying
    there is no earlier plan."""
    found = district.year_over_year(data, doc_id)
    if found is None:
        return [NO_EARLIER]
    return [safe_html("<p>与同一区县上一份计划相比：主题升降、新出现和不再出现的主题词、条目数变化。 Against the "
                      "district's previous plan: themes up and down, terms new and dropped, sizes.</p>"),
            *found.values()]


NO_EARLIER = safe_html("<p class='meta'>无更早的计划 No earlier plan of this district: nothing to compare with.</p>")


@as_tables
def tools(data: ReportData, doc_id: str, doc_ids: list[str]) -> list:
    """Policy-tool findings, shares against the others and evidence; tool shares by year when the
    district has plans of several years."""
    shown = [policy_tools.plan_findings_html(data, doc_id, doc_ids),
             policy_tools.plan_vs_others_table(data, doc_id, doc_ids), policy_tools.plan_evidence_html(data, doc_id)]
    trend = policy_tools.trend_table(data, policy_tools.district_plans(data, doc_id))
    if trend.empty:
        return shown
    return [*shown,
            safe_html("<h3>历年工具占比 Tool shares by year</h3><p>各年计划的类型占比与各自的 95% 条目自助法区间；"
                      "区间重叠时不宜说占比有变化。</p>"),
            policy_tools.plot_type_trends(trend), table(trend.drop(columns="district"))]


@as_tables
def evidence(data: ReportData, doc_id: str) -> list:
    """Every KWIC line behind the plan's counts."""
    return [HTML(evidence_html(data, [doc_id]))]
