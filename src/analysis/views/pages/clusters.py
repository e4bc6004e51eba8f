"""The sections of analysis notebook 03 (TF-IDF clusters and plan similarity), each a list of objects to display."""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from analysis.views import summaries
from analysis.views.clusters import cluster_mix, examples_table, top_terms_table
from analysis.views.data import ReportData, plan_names
from analysis.views.fragments import as_tables, safe_html, table
from analysis.views.overview import is_large, nearest_summary
from analysis.views.plots import (
    plot_cluster_mix,
    plot_cluster_scatter,
    plot_k_selection,
    plot_similarity,
    plot_stability,
)
from analysis.views.similarity import (
    cluster_verdict_html,
    clusters_pass,
    nearest_plans,
    neighbour_verdict_html,
    similar_plans,
    similarity_matrix,
)


def _clusters(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    return data.clusters[data.clusters["doc_id"].isin(doc_ids)]


@as_tables
def settings(data: ReportData) -> list:
    """The settings of params/clusters.yaml, one row each."""
    return [pd.DataFrame([vars(data.params.clusters)]).T.rename(columns={0: "value"})]


@as_tables
def verdict(data: ReportData) -> list:
    """The stability verdict and the chosen solution (cluster_solution.csv)."""
    return [cluster_verdict_html(data), data.cluster_solution]


@as_tables
def k_selection(data: ReportData) -> list:
    """Mean subsample ARI and silhouette per k: the table and its plot."""
    found = data.cluster_k_selection
    # astype: ari_se is empty with one stability refit (stability_runs_large) and then reads as pandas' NA
    return [found, plot_k_selection(found.astype({"ari_se": float}), data.cluster_solution.iloc[0]["ari_min"])]


@as_tables
def stability(data: ReportData) -> list:
    """Per cluster of the chosen k: its stability table and plot."""
    summary = data.cluster_summary
    return [summary[["cluster", "label", "n_items", "n_plans", "stability", "seed_stability", "stable"]],
            plot_stability(data.cluster_stability, summary, data.cluster_solution.iloc[0]["jaccard_min"])]


@as_tables
def summary(data: ReportData) -> list:
    """The clusters with label, size and theme, under a note when the solution does not pass."""
    note = [] if clusters_pass(data) else [Markdown(
        "**注意 Note**：聚类未通过稳定性检验，以下各簇只是本次拟合的一种分法，不是可复现的类型。"
        " The solution does not pass: the clusters below are one fit's grouping, not reproducible types.")]
    return [*note, data.cluster_summary]


@as_tables
def examples(data: ReportData) -> list:
    """The items nearest each cluster's centre."""
    return [examples_table(data.cluster_examples, data.cluster_summary, data.items)]


@as_tables
def terms(data: ReportData) -> list:
    """The highest-weighted centroid terms per cluster."""
    return [top_terms_table(data.cluster_terms)]


@as_tables
def mix(data: ReportData, doc_ids: list[str]) -> list:
    """Share of each plan's items per cluster (plot), or its distribution over the plans."""
    clusters = _clusters(data, doc_ids)
    if not is_large(data, doc_ids):
        return [plot_cluster_mix(cluster_mix(clusters), data.cluster_summary)]
    return [summaries.summarised_html(
        data, doc_ids, "本节给出每个簇在各计划条目中所占比例的分布（中位数、四分位、最大）与涉及的计划数",
        "data/processed/clusters.csv"), table(summaries.cluster_share_summary(clusters, data.cluster_summary))]


@as_tables
def projection(data: ReportData, doc_ids: list[str]) -> list:
    """The items in the 2-D projection by cluster and plan, or a bounded sample by cluster only."""
    clusters = _clusters(data, doc_ids)
    if not is_large(data, doc_ids):
        return [plot_cluster_scatter(clusters, data.cluster_summary)]
    points = summaries.point_sample(clusters)
    return [summaries.points_html(len(points), len(clusters)),
            summaries.plot_cluster_points(points, data.cluster_summary)]


@as_tables
def similarity(data: ReportData, doc_ids: list[str]) -> list:
    """The plan × plan similarity heatmap, or a line saying it is not drawn."""
    if not is_large(data, doc_ids):
        return [plot_similarity(similarity_matrix(data, doc_ids))]
    return [summaries.summarised_html(data, doc_ids, "本节不画计划 × 计划的相似度热力图；下一节给出最相似计划的汇总",
                                      "data/processed/doc_similarity.csv")]


@as_tables
def nearest(data: ReportData, doc_ids: list[str]) -> list:
    """Each plan's nearest plan, then per plan its verdict and candidates; counts only for a large set."""
    if is_large(data, doc_ids):
        return [summaries.summarised_html(data, doc_ids, "本节只数最相似的计划稳健、不确定或没有的计划数",
                                          "data/processed/nearest_neighbours.csv"),
                table(nearest_summary(data, doc_ids))]
    shown, names = [table(nearest_plans(data, doc_ids))], plan_names(data.documents)
    for doc_id in doc_ids:
        shown += [safe_html("<p><strong>{plan}</strong></p>", plan=names[doc_id]),
                  neighbour_verdict_html(data, doc_id, doc_ids), table(similar_plans(data, doc_id, doc_ids))]
    return shown
