"""Clusters and plan similarity as report tables and verdicts: stability, cluster mix, nearest plans."""

from __future__ import annotations

import pandas as pd

from analysis.views import clusters
from analysis.views.data import ReportData, plan_names, set_ids
from analysis.views.fragments import safe_html
from analysis.views.tableformat import percent


def neighbour_min_share(data: ReportData) -> float:
    """The share of item resamples a nearest plan must win to be called robust (params/clusters.yaml)."""
    return data.params.clusters.neighbour_min_share


SET_TABLES = ("clusters", "cluster_summary", "cluster_k_selection", "cluster_solution", "nearest_neighbours")


def page_set(data: ReportData, doc_ids: list[str] | None) -> str | None:
    """The plan set with a comparison page (`default` or a set of report.yaml) whose plans are
    exactly `doc_ids`; None for all plans of the run or another selection."""
    if doc_ids is None:
        return None
    found = set(data.set_cluster_solution["set"])
    return next((name for name in sorted(found) if set_ids(data, name) == sorted(doc_ids)), None)


def cluster_tables(data: ReportData, doc_ids: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """SET_TABLES computed on the plans of `doc_ids` only when they are a page set (the set_clusters
    stage: its own TF-IDF, k choice and item resampling), else the run's tables over all plans."""
    name = page_set(data, doc_ids)
    if name is None:
        return {table: getattr(data, table) for table in SET_TABLES}
    rows = {table: getattr(data, f"set_{table}") for table in SET_TABLES}
    return {table: frame[frame["set"] == name].drop(columns="set").reset_index(drop=True)
            for table, frame in rows.items()}


def clusters_pass(data: ReportData, doc_ids: list[str] | None = None) -> bool:
    """Whether the clustering (of the set `doc_ids`, see cluster_tables) is stable enough to be read
    as findings (cluster_solution.csv)."""
    return clusters.solution_passes(cluster_tables(data, doc_ids)["cluster_solution"])


def cluster_verdict_html(data: ReportData, doc_ids: list[str] | None = None):
    """The clustering's stability verdict with its numbers and how k was chosen, on the items it was
    computed on (the set `doc_ids`, see cluster_tables); a warning when it does not pass."""
    found = cluster_tables(data, doc_ids)
    n_items = int(found["clusters"].shape[0])
    text = clusters.cluster_verdict(found["cluster_solution"], found["cluster_k_selection"])
    return safe_html("<p class='{kind}'>在 {n} 个条目上聚类 Clustered on {n} items: {text}</p>",
                     kind="meta" if clusters_pass(data, doc_ids) else "warning", text=text, n=n_items)


def stable_clusters(data: ReportData, doc_ids: list[str] | None = None) -> pd.DataFrame:
    """The clusters (of the set `doc_ids`, see cluster_tables) with size, label, theme and stability
    (mean Jaccard), stable ones first."""
    summary = cluster_tables(data, doc_ids)["cluster_summary"]
    summary = summary.sort_values(["stable", "cluster"], ascending=[False, True])
    return summary.assign(stable=summary["stable"].map({True: "稳定 stable", False: "不稳定 unstable"}))


def cluster_matrix(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """Plans × clusters (of the set, see cluster_tables): share of each plan's items in each cluster,
    columns labelled."""
    found = cluster_tables(data, doc_ids)
    assigned = found["clusters"][found["clusters"]["doc_id"].isin(doc_ids)]
    share = pd.crosstab(assigned["doc_id"], assigned["cluster"], normalize="index")
    labels = found["cluster_summary"].set_index("cluster")["label"]
    return share.rename(index=plan_names(data.documents), columns=lambda c: f"{c} {labels.get(c, '')}")


def within_set(data: ReportData, doc_id: str, doc_ids: list[str]) -> list[str] | None:
    """The plans a district page's clusters and nearest plans are computed on: its set `doc_ids`
    when the plan belongs to it and it is a page set (cluster_tables), else None (all plans of the run)."""
    return doc_ids if doc_id in doc_ids and page_set(data, doc_ids) is not None else None


def scope_html(data: ReportData, doc_id: str, doc_ids: list[str]):
    """One line saying which plans a district page's clusters and nearest plans are computed on."""
    within = within_set(data, doc_id, doc_ids)
    if within is None:
        return safe_html("<p class='meta'>本计划不在比较集中：聚类与最相似计划在本次运行的全部 {n} 份计划之间计算。 "
                         "This plan is not in the set: clusters and nearest plans are computed on all {n} plans of "
                         "the run.</p>", n=len(data.documents))
    return safe_html("<p class='meta'>聚类与最相似计划只在比较集（{name}）的 {n} 份计划之间计算：TF-IDF、k 的选择与"
                     "条目重抽样都只用这些计划。 Clusters and nearest plans are computed within the set ({name}, "
                     "{n} plans) only.</p>", name=page_set(data, doc_ids), n=len(within))


def cluster_mix_vs_others(data: ReportData, doc_id: str, doc_ids: list[str]) -> pd.DataFrame:
    """Share of this plan's items in each cluster beside the mean share in the other plans of the set
    (clusters of the set when the plan is in it, see within_set)."""
    found = cluster_tables(data, within_set(data, doc_id, doc_ids))
    assigned = found["clusters"][found["clusters"]["doc_id"].isin([*doc_ids, doc_id])]
    share = pd.crosstab(assigned["doc_id"], assigned["cluster"], normalize="index")
    others = share.drop(index=doc_id, errors="ignore")
    summary = found["cluster_summary"].set_index("cluster")
    frame = pd.DataFrame({
        "聚类 cluster": share.columns,
        "标签 label": summary["label"].reindex(share.columns).to_numpy(),
        "稳定 stable": summary["stable"].reindex(share.columns).map({True: "是 yes", False: "否 no"}).to_numpy(),
        "本计划占比 this plan": share.loc[doc_id].to_numpy(),
        "其他计划平均 others (mean)": (others.mean() if len(others) else share.loc[doc_id] * 0).to_numpy(),
    })
    frame = frame.sort_values(["本计划占比 this plan", "聚类 cluster"], ascending=[False, True])
    return frame.assign(**{c: frame[c].map(percent) for c in frame.columns[3:]})


def similarity_matrix(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """Plans × plans cosine similarity, labelled with year."""
    sim = data.doc_similarity[data.doc_similarity["doc_a"].isin(doc_ids) & data.doc_similarity["doc_b"].isin(doc_ids)]
    labels = plan_names(data.documents)
    return sim.pivot(index="doc_a", columns="doc_b", values="similarity").rename(index=labels, columns=labels)


def similar_plans(data: ReportData, doc_id: str, doc_ids: list[str] | None = None) -> pd.DataFrame:
    """The plan's nearest candidates by whole-plan TF-IDF cosine, with the share of item resamples
    in which each is the nearest one, among the plans of `doc_ids` when they are a page set
    (cluster_tables), else among all plans of the run (nearest_neighbours.csv)."""
    table = clusters.similar_plans_with_uncertainty(cluster_tables(data, doc_ids)["nearest_neighbours"], doc_id)
    return pd.DataFrame({
        "计划 plan": table["neighbour"].map(plan_names(data.documents)),
        "相似度 cosine": table["similarity"].round(3),
        "最相似的重抽样占比 nearest in resamples": table["share_nearest"].map(percent),
    })


def neighbour_verdict_html(data: ReportData, doc_id: str, doc_ids: list[str] | None = None):
    """Whether the most similar plan (among `doc_ids`, as similar_plans) is robustly the nearest (a
    warning when it is not)."""
    min_share, nearest = neighbour_min_share(data), cluster_tables(data, doc_ids)["nearest_neighbours"]
    table = clusters.similar_plans_with_uncertainty(nearest, doc_id)
    robust = not table.empty and table["share_nearest"].iloc[0] >= min_share
    text = clusters.neighbour_verdict(nearest, doc_id, min_share, plan_names(data.documents))
    return safe_html("<p class='{kind}'>{text}</p>", kind="meta" if robust else "warning", text=text)


def nearest_plans(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """Per plan of the set, its most similar plan, the cosine and how often it stays the nearest
    when items are resampled, among the plans of the set only (cluster_tables); "不确定 uncertain"
    below params/clusters.yaml neighbour_min_share."""
    min_share, names = neighbour_min_share(data), plan_names(data.documents)
    nearest = cluster_tables(data, doc_ids)["nearest_neighbours"]
    top = nearest[(nearest["rank"] == 1) & nearest["doc_id"].isin(doc_ids)]
    return pd.DataFrame({
        "计划 plan": top["doc_id"].map(names), "最相似 nearest": top["neighbour"].map(names),
        "相似度 cosine": top["similarity"].round(3),
        "最相似的重抽样占比 nearest in resamples": top["share_nearest"].map(percent),
        "判断 verdict": (top["share_nearest"] >= min_share).map({True: "稳健 robust", False: "不确定 uncertain"}),
    })
