"""Cluster and similarity tables and verdicts for readers, from the snapshot's cluster tables."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from analysis.stages.clusters import ITEM_KEY
from analysis.stages.dataset import plan_labels
from analysis.views.tableformat import percent


def cluster_mix(clusters: pd.DataFrame) -> pd.DataFrame:
    """Share of each plan's items in each cluster: rows plans ("闵行 2017"), columns cluster ids."""
    plans = plan_labels(clusters)
    return pd.crosstab(plans, clusters["cluster"], normalize="index").rename_axis(index="plan")


def examples_table(examples: pd.DataFrame, summary: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """The central items of each cluster with label, plan and item text, from the snapshot's
    cluster_examples.csv, cluster_summary.csv and items.csv."""
    frame = examples.merge(summary[["cluster", "label"]], on="cluster").merge(
        items[[*ITEM_KEY, "district", "year", "text"]], on=ITEM_KEY)
    return frame.assign(plan=plan_labels(frame))[
        ["cluster", "label", "rank", "plan", "item_seq", "centrality", "text"]
    ].sort_values(["cluster", "rank"]).reset_index(drop=True)


def top_terms_table(cluster_terms: pd.DataFrame) -> pd.DataFrame:
    """cluster_terms.csv as rank × cluster: the centroid's highest-weighted terms, one column per cluster."""
    return cluster_terms.pivot(index="rank", columns="cluster", values="term")


def similarity_matrix(similarity: pd.DataFrame) -> pd.DataFrame:
    """The long `doc_similarity` table as a square plan × plan matrix with plan labels."""
    frame = similarity.assign(
        plan_a=plan_labels(similarity, "district_a", "year_a"),
        plan_b=plan_labels(similarity, "district_b", "year_b"),
    )
    return frame.pivot(index="plan_a", columns="plan_b", values="similarity")


def solution_passes(solution: pd.DataFrame) -> bool:
    """Whether the chosen clustering passes (the one-row cluster_solution table)."""
    return bool(solution["passes"].iloc[0])


def k_choice(k_selection: pd.DataFrame) -> tuple[str, str]:
    """How k was chosen, in Chinese and English, from cluster_k_selection.csv: the k with the
    highest mean subsample ARI, the k tied with it (within one standard error) and the tie-break
    (larger silhouette, then smaller k; analysis.stages.cluster_select.choose_k)."""
    valid = k_selection.dropna(subset=["ari"])
    best = valid.loc[valid["ari"].idxmax()]
    tied = valid[valid["ari"] >= best["ari"] - (0 if pd.isna(best["ari_se"]) else best["ari_se"])]
    chosen = valid[valid["chosen"].astype(bool)].iloc[0]
    top = f"k = {int(best['k'])}（平均 ARI {best['ari']:.3f} ± {best['ari_se']:.3f}）"
    top_en = f"k = {int(best['k'])} (mean ARI {best['ari']:.3f} ± SE {best['ari_se']:.3f})"
    if len(tied) == 1:
        return f"稳定性最高的是 {top}，即所选的 k。", f"The most stable k is {top_en}, the k chosen."
    ks = "、".join(str(int(k)) for k in tied["k"])
    return (f"稳定性（子样本平均 ARI）最高的是 {top}；与它相差不超过一个标准误的 k = {ks} 视为并列，"
            f"并列时取轮廓系数最大者（再并列取较小的 k），即 k = {int(chosen['k'])}"
            f"（平均 ARI {chosen['ari']:.3f}，轮廓系数 {chosen['silhouette']:.3f}）。",
            f"The most stable k is {top_en}; k = {', '.join(str(int(k)) for k in tied['k'])} lie within one "
            f"standard error of it and count as tied; ties go to the largest silhouette (then the smaller k): "
            f"k = {int(chosen['k'])} (mean ARI {chosen['ari']:.3f}, silhouette {chosen['silhouette']:.3f}).")


def cluster_verdict(solution: pd.DataFrame, k_selection: pd.DataFrame) -> str:
    """One Chinese and one English sentence on the chosen clustering, with its numbers and how its
    k was chosen (`k_choice`)."""
    s = solution.iloc[0]
    k, stable = int(s["k"]), int(s["n_stable"])
    how = k_choice(k_selection)
    ari = f"ARI {s['ari']:.2f} {'≥' if solution_passes(solution) else '<'} {s['ari_min']:.2f}"
    covered = percent(s["stable_share"])  # as the solution table shows it
    counted = (f"{stable}/{k} 个簇稳定（平均 Jaccard ≥ {s['jaccard_min']:.2f}，覆盖 {covered} 的条目）",
               f"{stable} of {k} clusters are stable (mean Jaccard ≥ {s['jaccard_min']:.2f}, {covered} of items)")
    if not solution_passes(solution):
        return (f"没有稳定的聚类：所选 k = {k} 的子样本重拟合与全样本聚类的平均 {ari}，{counted[0]}。{how[0]}"
                "这些簇只是条目的一种分法，不是可靠的类型，不宜据此比较计划。"
                f" No stable clustering: the chosen k = {k} reaches a mean subsample {ari}; {counted[1]}. {how[1]} "
                "The clusters are one way of grouping the items, not reliable types; do not compare plans by them.")
    caveat = ("", "") if stable == k else ("其余簇在扰动下会变，不宜解读。", " Read only the stable clusters.")
    return (f"聚类稳定：k = {k}，子样本重拟合与全样本聚类的平均 {ari}，{counted[0]}。{how[0]}{caveat[0]}"
            f" Stable clustering: k = {k}, mean subsample {ari}; {counted[1]}. {how[1]}{caveat[1]}")


def similar_plans_with_uncertainty(nearest: pd.DataFrame, doc_id: str) -> pd.DataFrame:
    """A plan's candidate neighbours, most similar first: `neighbour` (doc_id), `similarity` (cosine)
    and `share_nearest` (share of item resamples in which it is the nearest of them)."""
    rows = nearest[nearest["doc_id"] == doc_id].sort_values("rank")
    return rows[["neighbour", "similarity", "share_nearest"]].reset_index(drop=True)


def neighbour_verdict(
    nearest: pd.DataFrame, doc_id: str, min_share: float, names: Mapping[str, str] | None = None
) -> str:
    """One Chinese and one English sentence: is the most similar plan robustly the nearest one?

    It is when it is nearest in at least `min_share` of the item resamples (params
    `neighbour_min_share`); `names` maps doc_id to the plan name shown (default: the doc_id).
    """
    table = similar_plans_with_uncertainty(nearest, doc_id)
    if table.empty:
        return "没有可比较的计划。 No other plan to compare with."
    name = (names or {}).get
    top = table.iloc[0]
    top_name, share = name(top["neighbour"], top["neighbour"]), top["share_nearest"]
    shown, threshold = percent(share), percent(min_share)  # as the candidates table shows them
    if share >= min_share:
        return (f"最相似的计划是 {top_name}（余弦 {top['similarity']:.3f}），在 {shown} 的条目重抽样中最相似。"
                f" The most similar plan is {top_name} (cosine {top['similarity']:.3f}), "
                f"nearest in {shown} of item resamples.")
    rival = table.iloc[1:].sort_values("share_nearest", ascending=False, kind="stable").iloc[0]
    rival_name = name(rival["neighbour"], rival["neighbour"])
    rival_share = percent(rival["share_nearest"])
    return (f"最相似的计划不确定：{top_name}（余弦 {top['similarity']:.3f}）只在 {shown} 的条目重抽样中最相似，"
            f"{rival_name}（余弦 {rival['similarity']:.3f}）占 {rival_share}；"
            f"相似度之差在条目抽样的波动之内（门槛 {threshold}）。"
            f" The most similar plan is uncertain: {top_name} (cosine {top['similarity']:.3f}) is nearest in only "
            f"{shown} of item resamples, {rival_name} (cosine {rival['similarity']:.3f}) in "
            f"{rival_share}; the difference is within item-sampling noise (threshold {threshold}).")
