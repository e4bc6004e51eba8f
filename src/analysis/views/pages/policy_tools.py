"""The sections of analysis notebook 04 (policy tools), each a list of objects to display."""

from __future__ import annotations

from analysis.text.dictionary import tool_codebook
from analysis.views import coding, policy_tools, summaries
from analysis.views.data import ReportData
from analysis.views.fragments import as_tables, safe_html, table
from analysis.views.overview import is_large

SOURCE = "data/processed/policy_tool_summary.csv"


def _xy_sampled(data: ReportData, doc_ids: list[str], dimension: str) -> bool:
    """Whether the X–Y matrix shows a sample of the plans: by section, for a large set."""
    return dimension == "section" and is_large(data, doc_ids)


@as_tables
def toolbook(data: ReportData) -> list:
    """The policy-tool codebook: types, sub-tools, definitions, cues and exclusions."""
    book = tool_codebook(data.params.policy_tools)
    return [table(policy_tools.toolbook_table(book))]


@as_tables
def findings(data: ReportData, doc_ids: list[str]) -> list:
    """The verdicts on dominant and scarce types."""
    return [policy_tools.findings_html(data, doc_ids)]


@as_tables
def shares(data: ReportData, doc_ids: list[str]) -> list:
    """Type shares per plan with intervals, or the pooled shares of a large set."""
    if not is_large(data, doc_ids):
        return [table(policy_tools.interval_table(data, doc_ids))]
    what = "本节给出各类型的合并占比（含区间，只合并完整计划）与各完整计划占比的中位数和范围"
    return [summaries.summarised_html(data, doc_ids, what, SOURCE),
            table(policy_tools.pooled_shares(data, policy_tools.pool_ids(data, doc_ids)))]


@as_tables
def intervals(data: ReportData, doc_ids: list[str]) -> list:
    """The type shares with their intervals per plan (pooled only for a large set)."""
    found = policy_tools.type_intervals(data, doc_ids)
    if is_large(data, doc_ids):
        found = found[found["plan"] == policy_tools.POOLED]
    return [policy_tools.plot_type_shares(found)]


@as_tables
def sub_tools(data: ReportData, doc_ids: list[str]) -> list:
    """Sub-tool shares per plan (of a sample of plans for a large set)."""
    if not is_large(data, doc_ids):
        return [table(policy_tools.share_table(data, doc_ids, level="sub_tool"))]
    return [summaries.summarised_html(data, doc_ids, "本节只列出抽样计划的子工具占比", SOURCE),
            table(policy_tools.share_table(data, summaries.sample_ids(doc_ids), level="sub_tool"))]


@as_tables
def sentences(data: ReportData, doc_ids: list[str]) -> list:
    """Items and sentence codes per plan (of a sample for a large set), then items mixing types."""
    listed = summaries.sample_ids(doc_ids) if is_large(data, doc_ids) else doc_ids
    return [table(policy_tools.sentence_overview(data, listed)), table(policy_tools.mixed_examples(data, doc_ids))]


@as_tables
def matrix(data: ReportData, doc_ids: list[str], dimension: str) -> list:
    """The X–Y matrix of types by theme or section (by section: a sample of a large set)."""
    if not _xy_sampled(data, doc_ids, dimension):
        return [table(policy_tools.xy_table(data, doc_ids, dimension))]
    source = "data/processed/policy_tool_matrix.csv"
    return [summaries.summarised_html(data, doc_ids, "按部分的矩阵只列出抽样计划", source),
            table(policy_tools.xy_table(data, summaries.sample_ids(doc_ids), dimension))]


@as_tables
def matrix_plot(data: ReportData, doc_ids: list[str], dimension: str) -> list:
    """The X–Y matrix as a heatmap."""
    listed = summaries.sample_ids(doc_ids) if _xy_sampled(data, doc_ids, dimension) else doc_ids
    return [policy_tools.plot_xy(data, listed, dimension)]


@as_tables
def trends(data: ReportData, doc_ids: list[str]) -> list:
    """Type shares year by year for districts with several years; a line for a large set or no such district."""
    if is_large(data, doc_ids):
        return [summaries.summarised_html(data, doc_ids, "本节不逐年列出趋势（有多个年份的地区见其区县报告）", SOURCE)]
    trend = policy_tools.trend_table(data, doc_ids)
    if trend.empty:
        return [safe_html("<p class='meta'>所选计划中没有地区有两个以上年份，没有趋势。 "
                          "No district has two years: no trend.</p>")]
    return [policy_tools.plot_type_trends(trend), table(trend)]


@as_tables
def validation(data: ReportData) -> list:
    """The cues against the reference coding: who coded, in-sample and held-out agreement."""
    return coding.validation_views(data.paths, data.policy_tool_validation, "policy_tools")


def _disagreements(data: ReportData, doc_ids: list[str]):
    rows = data.policy_tool_disagreements
    return rows[rows["doc_id"].isin(doc_ids)]


@as_tables
def disagreement_count(data: ReportData, doc_ids: list[str]) -> list:
    """How many item × sub-tool codes differ from the reference coding."""
    return [safe_html("<p>共 {n} 处不一致。</p>", n=len(_disagreements(data, doc_ids)))]


@as_tables
def disagreements(data: ReportData, doc_ids: list[str]) -> list:
    """Every item × sub-tool code that differs from the reference coding."""
    return [table(_disagreements(data, doc_ids).drop(columns=["doc_id", "item_seq"]))]
