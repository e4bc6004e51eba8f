"""The sections of analysis notebook 02 (theme frequencies), each a list of objects to display."""

from __future__ import annotations

import pandas as pd
from IPython.display import HTML, Markdown

from analysis.text.dictionary import theme_lexicon
from analysis.views import coding, summaries
from analysis.views.data import ReportData, applicable_rows, plan_names, themes_of
from analysis.views.explore import coword_edges, district_changes, set_trajectories
from analysis.views.fragments import as_tables, safe_html, table
from analysis.views.overview import (
    TOP_N,
    VALUES,
    distributions_html,
    is_large,
    item_test_counts,
    plan_rows,
    top_bottom_html,
)
from analysis.views.plots import (
    plot_coword_network,
    plot_dispersion,
    plot_district_trajectories,
    plot_theme_distribution,
    plot_theme_heatmap,
    plot_theme_intervals,
)
from analysis.views.setstats import set_keyness
from analysis.views.themes import lexicon_table, term_matrix, theme_overview, top_keyness


def _rows(frame: pd.DataFrame, doc_ids: list[str]) -> pd.DataFrame:
    return frame[frame["doc_id"].isin(doc_ids)]


def _counted(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """The KWIC rows of `doc_ids` whose theme applies to the plan's year (the others are n/a)."""
    return applicable_rows(data, _rows(data.kwic, doc_ids))


@as_tables
def lexicon(data: ReportData) -> list:
    """The theme lexicon of params/themes.yaml."""
    return [lexicon_table(theme_lexicon(data.params.themes))]


@as_tables
def counts(data: ReportData, doc_ids: list[str]) -> list:
    """Plan × theme counts with intervals, or per theme totals."""
    theme_counts = _rows(data.theme_counts, doc_ids)
    if not is_large(data, doc_ids):
        return [theme_overview(theme_counts)]
    what = "本节给出每个主题的适用计划数、有提及的计划数、提及合计与含主题的条目数"
    return [summaries.summarised_html(data, doc_ids, what, "data/processed/theme_counts.csv"),
            table(summaries.theme_summary(theme_counts))]


@as_tables
def heatmaps(data: ReportData, doc_ids: list[str]) -> list:
    """Per 10k characters, then item share: heatmaps, or box plots and distribution tables."""
    theme_counts = _rows(data.theme_counts, doc_ids)
    if not is_large(data, doc_ids):
        documents = _rows(data.documents, doc_ids)
        return [plot_theme_heatmap(theme_counts, value, documents=documents) for value in VALUES]
    shown = [summaries.summarised_html(
        data, doc_ids, "本节以按地区的箱线图和按地区、级别、年份的分布表（中位数与四分位，只计完整计划）代替热力图",
        "data/processed/theme_counts.csv")]
    for value in VALUES:
        shown += [safe_html("<h4>{value}</h4>", value=VALUES[value][0]),
                  plot_theme_distribution(plan_rows(data, doc_ids), value, by="region"),
                  HTML(distributions_html(data, doc_ids, value))]
    return shown


@as_tables
def intervals(data: ReportData, doc_ids: list[str]) -> list:
    """Per 10k characters, then item share: interval plots, or the top and bottom plans."""
    if not is_large(data, doc_ids):
        theme_counts, documents = _rows(data.theme_counts, doc_ids), _rows(data.documents, doc_ids)
        return [plot_theme_intervals(theme_counts, documents, value) for value in VALUES]
    return [summaries.summarised_html(
        data, doc_ids, f"本节只列出每个主题最高与最低的 {TOP_N} 份完整计划及其区间",
        "data/processed/theme_counts.csv"),
        *(HTML(top_bottom_html(data, doc_ids, value)) for value in VALUES)]


@as_tables
def terms(data: ReportData, doc_ids: list[str]) -> list:
    """Term × plan mentions, or per term totals."""
    term_counts = _rows(data.term_counts, doc_ids)
    if not is_large(data, doc_ids):
        return [term_matrix(term_counts)]
    return [summaries.summarised_html(data, doc_ids, "本节给出每个词语的提及合计、提及它的计划数和单份计划中的最多提及",
                                      "data/processed/term_counts.csv"),
            table(summaries.term_summary(term_counts))]


@as_tables
def segmentation(data: ReportData) -> list:
    """The flagged rows of the segmentation check (or a line saying none), then the whole table."""
    rows = data.segmentation
    return [rows[rows["flagged"]] if rows["flagged"].any() else Markdown("没有被切开的词语。"), rows]


@as_tables
def tests(data: ReportData, doc_ids: list[str]) -> list:
    """The item-presence tests of the plans, or counts of their results per theme."""
    rows = _rows(data.theme_tests, doc_ids)
    if not is_large(data, doc_ids):
        return [rows]
    return [summaries.summarised_html(data, doc_ids, "本节给出每个主题检验的计划数与显著偏多、偏少、无显著差异的计划数",
                                      "data/processed/theme_tests.csv"),
            table(item_test_counts(rows, plan_names(data.documents), themes_of(data)))]


@as_tables
def keyness(data: ReportData, doc_ids: list[str], top_n: int) -> list:
    """Each plan's top key terms (item-level keyness within the plans shown), or the terms most
    often on top and a sample of plans."""
    found = set_keyness(data, sorted(doc_ids))
    if not is_large(data, doc_ids):
        return [top_keyness(found, top_n)]
    sample = summaries.sample_ids(doc_ids)
    return [
        summaries.summarised_html(
            data, doc_ids, f"本节给出最常进入各计划前 {top_n} 位的 {summaries.TOP_KEY_TERMS} 个词，"
            f"以及 {len(sample)} 份抽样计划的前 {top_n} 个词", "data/processed/keyness.csv"),
        table(summaries.keyness_terms(found, top_n)),
        summaries.sample_html(data.documents, sample, len(doc_ids)),
        top_keyness(_rows(found, sample), top_n),
    ]


@as_tables
def dispersion(data: ReportData, doc_ids: list[str]) -> list:
    """Where in each plan the themes are mentioned, or a line saying there are too many plans."""
    if is_large(data, doc_ids):
        return [safe_html("<p class='meta'>{n} 份计划过多，不画分布图；位置见 data/processed/kwic.csv 的 item_seq。"
                          "Too many plans for a dispersion plot.</p>", n=len(doc_ids))]
    return [plot_dispersion(_counted(data, doc_ids), _rows(data.items, doc_ids), themes_of(data))]


@as_tables
def trends(data: ReportData, doc_ids: list[str]) -> list:
    """Change within each district only: each plan against the district's previous plan (values with
    intervals, overlapping or not) and the districts' trajectories figure; or one line saying no
    district has plans of two years. A median over other districts' plans is never a trend."""
    trajectories = set_trajectories(data, doc_ids)
    found = district_changes(trajectories)
    if found.empty:
        return [safe_html("<p class='meta'>所选计划中没有地区有两个以上年份的计划，没有可比较的趋势（不同地区的计划"
                          "不连成趋势）。 No district has plans of two or more years: no trend (plans of different "
                          "districts are never joined into one).</p>")]
    figure = plot_district_trajectories(trajectories, "每万字提及 per 10k chars", data.params.report.rank_exclude)
    return [figure, found.assign(overlap=found["overlap"].map({True: "区间重叠，不能说有变化 overlapping",
                                                       False: "区间不重叠 not overlapping"}))
            .rename(columns={"from_year": "前一年 from_year", "to_year": "后一年 to_year",
                             "before": "前 每万字 [95% CI] before", "after": "后 每万字 [95% CI] after",
                             "change": "变化 change", "overlap": "区间 intervals"})]


@as_tables
def network(data: ReportData, doc_ids: list[str]) -> list:
    """The co-word network of lexicon terms and its strongest edges."""
    nodes, edges = coword_edges(_counted(data, doc_ids))
    columns = {"source": "词 A term", "target": "词 B term", "items": "共同条目 items"}
    return [plot_coword_network(nodes, edges), table(edges.head(15).rename(columns=columns))]


@as_tables
def kwic(data: ReportData, doc_ids: list[str], per_plan: int) -> list:
    """Per theme, its count and the first KWIC lines of each plan (of a sample of plans for a large set)."""
    lines = _counted(data, doc_ids)
    listed, shown = doc_ids, []
    if is_large(data, doc_ids):
        listed = summaries.sample_ids(doc_ids)
        shown += [summaries.summarised_html(
            data, doc_ids, f"本节的次数是全部计划的合计，原文只列出 {len(listed)} 份抽样计划的前 {per_plan} 条",
            "data/processed/kwic.csv"), summaries.sample_html(data.documents, listed, len(doc_ids))]
    for theme, rows in lines.groupby("theme", sort=False):
        shown += [safe_html("<h3>{theme}（{n} 次）</h3>", theme=theme, n=len(rows)),
                  rows[rows["doc_id"].isin(listed)].groupby("doc_id").head(per_plan)[
                      ["district", "item_seq", "section_no", "left", "match", "right"]]]
    return shown


@as_tables
def validation(data: ReportData) -> list:
    """The lexicon against the reference coding: who coded, in-sample and held-out agreement (or a
    line saying there is no reference coding)."""
    return coding.validation_views(data.paths, data.lexicon_validation, "themes")


@as_tables
def disagreements(data: ReportData, doc_ids: list[str]) -> list:
    """Per theme, the items where the lexicon and the reference coding differ."""
    rows = _rows(data.lexicon_disagreements, doc_ids)
    shown = []
    for theme, group in rows.groupby("theme", sort=False):
        shown += [safe_html("<h4>{theme}（{n} 条 items）</h4>", theme=theme, n=len(group)), group.drop(columns="theme")]
    return shown if not rows.empty else [Markdown("没有不一致的条目。")]
