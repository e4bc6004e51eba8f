"""Cluster stage: TF-IDF clusters of plan items, their stability, and plan similarity, as tables.

Items are the unit (five plans are too few to cluster). Each item is tokenised once with the
project segmenter; the n-grams of those tokens are counted once, and both TF-IDF matrices (items,
whole plans) are weighted from those counts (analysis.stages.tfidf). KMeans runs on the
L2-normalised item rows (so Euclidean KMeans follows cosine similarity); k is chosen by stability
(analysis.stages.cluster_select), and plan similarity with its uncertainty comes from
analysis.stages.neighbours.

A solution *passes* when its mean subsample ARI is at least `ari_min` (0.65: Steinley 2004 calls
agreement below it poor recovery); a cluster is *stable* when its mean best-match Jaccard over the
refits is at least `jaccard_min` (0.75: Hennig's guideline for a valid, stable cluster). Only the
stable clusters of a passing solution are findings; analysis.views.clusters.cluster_verdict says
which case holds, with the numbers.

Cluster ids are renumbered deterministically (largest cluster first, ties by the first item in
(doc_id, item_seq) order), so the same input always gives the same ids and labels, on any number
of cores (see `build_clusters`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.decomposition import TruncatedSVD
from sklearn.preprocessing import normalize

from analysis.files import write_tables
from analysis.params import Params
from analysis.params.clusters import ClusterParams
from analysis.paths import Paths
from analysis.stages.cluster_select import centroids_of, cluster_jaccard, one_thread, select_k
from analysis.stages.dataset import CorpusTables
from analysis.stages.neighbours import doc_similarity, nearest_neighbours, plan_cosine, plan_item_weights
from analysis.stages.tfidf import DECIMALS, idf_weights, rounded, rounded_all, term_counts, weigh, word_ngrams
from analysis.text.dictionary import theme_lexicon
from analysis.text.tokenize import load_segmenter

ITEM_KEY = ["doc_id", "item_seq"]
LABEL_SEPARATOR = "·"

ThemeCounter = Callable[[str], Mapping[str, int]]


@dataclass
class ClusterTables:
    """Everything the cluster stage produces, as tables (see `write_clusters` for file names)."""

    clusters: pd.DataFrame  # one row per item: cluster id and label, 2-D projection x, y
    cluster_terms: pd.DataFrame  # top centroid terms per cluster
    cluster_summary: pd.DataFrame  # one row per cluster: label, size, theme, stability, stable
    examples: pd.DataFrame  # the items closest to each centroid
    k_selection: pd.DataFrame  # per k: silhouette, inertia, subsample stability; chosen k flagged
    stability: pd.DataFrame  # one row per k, refit run and reference cluster: ARI and Jaccard
    solution: pd.DataFrame  # one row: the chosen k, its stability, the thresholds, passes or not
    doc_similarity: pd.DataFrame  # plan × plan cosine similarity, long format
    nearest_neighbours: pd.DataFrame  # per plan, its most similar plans and how often each is nearest


def top_terms(centroids: np.ndarray, vocabulary: np.ndarray, n_top: int) -> pd.DataFrame:
    """The `n_top` heaviest centroid terms per cluster (ties: alphabetical); cluster ids from 1."""
    rows = []
    for cluster, weights in enumerate(np.round(centroids, DECIMALS), start=1):
        order = np.argsort(-weights, kind="stable")[:n_top]  # vocabulary is sorted: ties alphabetical
        rows += [
            {"cluster": cluster, "term": vocabulary[j], "weight": weights[j], "rank": rank}
            for rank, j in enumerate(order, start=1) if weights[j] > 0
        ]
    return pd.DataFrame(rows, columns=["cluster", "term", "weight", "rank"])


def labels_from_terms(terms: pd.DataFrame, n_label: int) -> dict[int, str]:
    """A cluster's label: its first `n_label` terms (by rank) joined with "·", skipping a term
    that shares a word with one already taken (so not "家庭教育·家庭教育 指导")."""
    labels = {}
    for cluster, group in terms.sort_values(["cluster", "rank"]).groupby("cluster"):
        taken: list[str] = []
        for term in group["term"]:
            if len(taken) < n_label and not set(term.split(" ")) & {w for t in taken for w in t.split(" ")}:
                taken.append(term)
        labels[cluster] = LABEL_SEPARATOR.join(taken)
    return labels


def centrality(matrix: sparse.csr_matrix, centroids: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row with its cluster centroid (rows are unit length)."""
    norms = np.linalg.norm(centroids, axis=1)
    projections = np.asarray(matrix @ centroids.T)[np.arange(len(index)), index]
    return np.divide(projections, norms[index], out=np.zeros_like(projections), where=norms[index] > 0)


def project_2d(matrix: sparse.csr_matrix, seed: int) -> np.ndarray:
    """A 2-D TruncatedSVD projection of the TF-IDF rows (for the scatter plot only)."""
    n_components = min(2, matrix.shape[1] - 1)
    coords = TruncatedSVD(n_components=n_components, random_state=seed).fit_transform(matrix)
    return np.pad(coords, ((0, 0), (0, 2 - n_components)))


def cluster_themes(
    cluster_ids: np.ndarray, texts: list[str], count_hits: ThemeCounter, min_share: float
) -> pd.DataFrame:
    """Per cluster, the theme hit by most of its items (ties: lexicon order) and that share.

    `theme` is empty when fewer than `min_share` of the cluster's items hit any one theme.
    """
    hits = pd.DataFrame([count_hits(text) for text in texts], index=cluster_ids) > 0
    if hits.shape[1] == 0:
        return pd.DataFrame({"theme": "", "theme_share": 0.0}, index=np.unique(cluster_ids))
    share = hits.groupby(level=0).mean()
    theme = share.idxmax(axis=1).where(share.max(axis=1) >= min_share, "")
    return pd.DataFrame({"theme": theme, "theme_share": share.max(axis=1).map(rounded)})


def build_clusters(
    items: pd.DataFrame,
    params: Params,
    overrides: Mapping[str, Any] | None = None,
    count_hits: ThemeCounter | None = None,
    tokens: list[list[str]] | None = None,
) -> ClusterTables:
    """Cluster the plan items (items.csv columns) with `params.clusters` (+ `overrides`).

    `count_hits(text) -> {theme: hits}` maps clusters to themes; by default the theme lexicon of
    `params.themes` (longest match, no double counting). `tokens` are the items' content tokens in
    the order of `items`, when a caller already made them; by default every item is segmented here.

    BLAS and OpenMP run single-threaded: KMeans on a few hundred rows gains nothing from threads,
    OpenMP threads spinning on a busy machine slowed the fits 5-20 times, and a fixed thread count
    keeps floating-point sums, hence labels, the same on every machine. The cores are used by
    running independent KMeans fits side by side instead (`cluster_select.fit_all`).
    """
    source = params.path("clusters")
    settings = params.clusters.with_overrides(source, overrides)
    if tokens is None:
        segmenter = load_segmenter(params.folder)
        tokens = [segmenter(text) for text in items["text"]]
    items = items.reset_index(drop=True)
    order = items.sort_values(ITEM_KEY, kind="stable").index.to_numpy()
    items = items.iloc[order].reset_index(drop=True)
    counts, vocabulary = term_counts([word_ngrams(tokens[i], settings.ngram_range) for i in order], source)
    with one_thread():
        return _build(items, counts, vocabulary, settings, source, count_hits or theme_lexicon(params.themes).count)


def _build(
    items: pd.DataFrame, counts: sparse.csr_matrix, vocabulary: np.ndarray, params: ClusterParams, source: Path,
    count_hits: ThemeCounter,
) -> ClusterTables:
    """`build_clusters` after tokenising: items in item-key order, `counts` their n-gram counts."""
    kept, idf = idf_weights(counts, params.min_df, params.max_df, source)
    matrix = normalize(weigh(counts, kept, idf))
    k_selection, stability, cluster_ids = select_k(matrix, params, source)
    centroids, index = centroids_of(matrix, cluster_ids)
    terms = top_terms(centroids, vocabulary[kept], params.n_top_terms)
    names = labels_from_terms(terms, params.label_terms)
    coords = project_2d(matrix, params.seed)
    clusters = items[["doc_id", "district", "year", "item_seq"]].assign(
        cluster=cluster_ids,
        cluster_label=[names.get(c, "") for c in cluster_ids],
        x=rounded_all(coords[:, 0]),
        y=rounded_all(coords[:, 1]),
    )
    themes = cluster_themes(cluster_ids, list(items["text"]), count_hits, params.theme_min_share)
    summary = _summary(clusters, themes, stability[stability["k"] == cluster_ids.max()], params)

    plan_of = pd.factorize(items["doc_id"])[0]  # items are in doc_id order: codes follow it
    plans = items[["doc_id", "district", "year"]].drop_duplicates("doc_id").reset_index(drop=True)
    item_weights = plan_item_weights(counts, plan_of, params, source)
    cosine = plan_cosine(item_weights, plan_of)
    return ClusterTables(
        clusters=clusters, cluster_terms=terms, cluster_summary=summary,
        examples=_examples(clusters, centrality(matrix, centroids, index), params.n_examples),
        k_selection=k_selection, stability=stability, solution=_solution(k_selection, summary, params),
        doc_similarity=doc_similarity(plans, cosine),
        nearest_neighbours=nearest_neighbours(plans, item_weights, plan_of, cosine, params),
    )


def _examples(clusters: pd.DataFrame, central: np.ndarray, n: int) -> pd.DataFrame:
    """The `n` items closest to each centroid (ties: item-key order)."""
    frame = clusters[["cluster", "doc_id", "item_seq"]].assign(centrality=rounded_all(central))
    frame = frame.sort_values(["cluster", "centrality", *ITEM_KEY], ascending=[True, False, True, True])
    frame = frame.groupby("cluster").head(n)
    return frame.assign(rank=frame.groupby("cluster").cumcount() + 1)[
        ["cluster", "rank", "doc_id", "item_seq", "centrality"]
    ].reset_index(drop=True)


def _summary(
    clusters: pd.DataFrame, themes: pd.DataFrame, stability: pd.DataFrame, params: ClusterParams
) -> pd.DataFrame:
    """One row per cluster: label, size, plans, theme, mean Jaccard per kind of refit (the chosen
    k's rows of `stability`), and `stable` (mean subsample Jaccard >= jaccard_min)."""
    grouped = clusters.groupby("cluster")
    summary = pd.DataFrame({
        "label": grouped["cluster_label"].first(),
        "n_items": grouped.size(),
        "n_plans": grouped["doc_id"].nunique(),
    }).join(themes)
    for column, kind in (("stability", "subsample"), ("seed_stability", "seed")):
        summary[column] = cluster_jaccard(stability[stability["kind"] == kind]).reindex(summary.index)
    summary["stable"] = summary["stability"] >= params.jaccard_min
    return summary.rename_axis("cluster").reset_index()


def _solution(k_selection: pd.DataFrame, summary: pd.DataFrame, params: ClusterParams) -> pd.DataFrame:
    """The one-row cluster_solution table: chosen k, silhouette, mean subsample ARI, the thresholds,
    stable clusters and the share of items in them, and whether the solution passes."""
    chosen = k_selection[k_selection["chosen"]].iloc[0]
    return pd.DataFrame([{
        "k": int(chosen["k"]), "silhouette": chosen["silhouette"], "ari": chosen["ari"], "ari_min": params.ari_min,
        "jaccard_min": params.jaccard_min, "n_stable": int(summary["stable"].sum()),
        "stable_share": rounded(summary.loc[summary["stable"], "n_items"].sum() / summary["n_items"].sum()),
        "passes": bool(chosen["passes"]),
    }])


CLUSTER_FILES = {
    "clusters": "clusters.csv",
    "cluster_terms": "cluster_terms.csv",
    "cluster_summary": "cluster_summary.csv",
    "examples": "cluster_examples.csv",
    "k_selection": "cluster_k_selection.csv",
    "stability": "cluster_stability.csv",
    "solution": "cluster_solution.csv",
    "doc_similarity": "doc_similarity.csv",
    "nearest_neighbours": "nearest_neighbours.csv",
}


def run_stage(tables: CorpusTables, params: Params, paths: Paths, out: Path) -> list[str]:
    """The pipeline's clusters stage (analysis.stages.registry): build and write the cluster tables."""
    write_clusters(build_clusters(tables.items, params), out)
    return []


def write_clusters(tables: ClusterTables, processed_dir: Path) -> list[Path]:
    """Write every cluster table under `processed_dir` atomically (rows already in stable order)."""
    return write_tables(processed_dir, {name: getattr(tables, field) for field, name in CLUSTER_FILES.items()})
