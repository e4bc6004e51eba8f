"""Cluster stage: TF-IDF clusters of plan items, whether they are stable, and plan similarity with
its uncertainty.

Items are the unit (five plans are too few to cluster). Each item is tokenised once with the
project segmenter; the n-grams of those tokens are counted once, and both TF-IDF matrices (items,
whole plans) are weighted from those counts. KMeans runs on the L2-normalised item rows (so
Euclidean KMeans follows cosine similarity).

k is chosen by stability (Hennig 2007; Lange et al. 2004), not by silhouette alone, because on short
items the silhouette keeps rising with k. Every k in range is fitted on all items and refitted on
the same fixed-seed subsamples (`subsample_share` of the items, without replacement); each refit is
compared with the full fit on its items. The most stable k has the largest mean adjusted Rand index
(ARI) of its refits; every k within one standard error of that mean counts as tied (the refits are
a random sample), and ties go to the larger cosine silhouette, then the smaller k.

A solution *passes* when its mean subsample ARI is at least `ari_min` (0.65: Steinley 2004 calls
agreement below it poor recovery); a cluster is *stable* when its mean best-match Jaccard over the
refits is at least `jaccard_min` (0.75: Hennig's guideline for a valid, stable cluster). Only the
stable clusters of a passing solution are findings; `cluster_verdict` says which case holds, with
the numbers.

Plan similarity is the cosine of whole-plan TF-IDF vectors; `nearest_neighbours` adds how often each
of a plan's most similar plans is its nearest one when every plan's items are resampled with
replacement, and `neighbour_verdict` flags a nearest plan that is not robust.

Cluster ids are renumbered deterministically (largest cluster first, ties by the first item in
(doc_id, item_seq) order), so the same input always gives the same ids and labels, on any number
of cores (see `build_clusters`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.metrics.cluster import contingency_matrix
from sklearn.preprocessing import normalize
from threadpoolctl import ThreadpoolController

from analysis.files import write_tables
from analysis.params.loader import load_yaml
from analysis.paths import Paths, ProjectError
from analysis.stages.dataset import CorpusTables, plan_labels
from analysis.stages.themes import load_lexicon, theme_hits
from analysis.text.tokenize import load_segmenter

ITEM_KEY = ["doc_id", "item_seq"]
DECIMALS = 6  # floats are rounded so reruns on other machines write the same bytes
LABEL_SEPARATOR = "·"
DENSE_CELLS = 10_000_000  # matrices up to this many cells (80 MB) are multiplied or clustered dense
K_COLUMNS = ["k", "silhouette", "inertia", "ari", "ari_se", "jaccard", "n_stable", "passes", "chosen"]
STABILITY_DTYPES = {"k": "int64", "kind": "object", "run": "int64", "random_state": "int64", "n_items": "int64",
                    "ari": "float64", "cluster": "int64", "jaccard": "float64"}
NEIGHBOUR_COLUMNS = ["doc_id", "neighbour", "rank", "similarity", "share_nearest"]

ThemeCounter = Callable[[str], Mapping[str, int]]
Run = tuple[str, int, np.ndarray]  # kind ("subsample" or "seed"), run number, the rows refitted
Fit = tuple[int, int, np.ndarray]  # k, KMeans random_state, the rows fitted


def _is_int(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_df(value: Any) -> bool:
    """A document-frequency bound: a count (int >= 1) or a share (float in (0, 1])."""
    return _is_int(value, 1) or (isinstance(value, float) and 0 < value <= 1)


def _is_share(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1


def _is_ngram_range(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple)) and len(value) == 2
        and all(_is_int(v, 1) for v in value) and value[0] <= value[1]
    )


RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "ngram_range": (_is_ngram_range, "two integers [low, high] with 1 <= low <= high"),
    "min_df": (_is_df, "an item count >= 1 or a share in (0, 1]"),
    "max_df": (_is_df, "an item count >= 1 or a share in (0, 1]"),
    "doc_min_df": (_is_df, "a plan count >= 1 or a share in (0, 1]"),
    "doc_max_df": (_is_df, "a plan count >= 1 or a share in (0, 1]"),
    "k_min": (lambda v: _is_int(v, 2), "an integer >= 2"),
    "k_max": (lambda v: _is_int(v, 2), "an integer >= 2"),
    "seed": (lambda v: _is_int(v, 0), "an integer >= 0"),
    "n_init": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "silhouette_sample": (lambda v: _is_int(v, 10), "an integer >= 10"),
    "minibatch_above": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "n_init_large": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "stability_seeds": (lambda v: _is_int(v, 0), "an integer >= 0"),
    "stability_subsamples": (lambda v: _is_int(v, 2), "an integer >= 2"),
    "stability_runs_large": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "stability_item_budget": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "subsample_share": (_is_share, "a share in (0, 1]"),
    "ari_min": (_is_share, "a share in (0, 1]"),
    "jaccard_min": (_is_share, "a share in (0, 1]"),
    "n_top_terms": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "label_terms": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "n_examples": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "theme_min_share": (_is_share, "a share in (0, 1]"),
    "neighbour_candidates": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "neighbour_resamples": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "neighbour_min_share": (_is_share, "a share in (0, 1]"),
}


@dataclass(frozen=True)
class ClusterParams:
    """Settings from params/clusters.yaml (see the comments there)."""

    ngram_range: tuple[int, int]
    min_df: int | float
    max_df: int | float
    doc_min_df: int | float
    doc_max_df: int | float
    k_min: int
    k_max: int
    seed: int
    n_init: int
    silhouette_sample: int
    minibatch_above: int
    n_init_large: int
    stability_seeds: int
    stability_subsamples: int
    stability_runs_large: int
    stability_item_budget: int
    subsample_share: float
    ari_min: float
    jaccard_min: float
    n_top_terms: int
    label_terms: int
    n_examples: int
    theme_min_share: float
    neighbour_candidates: int
    neighbour_resamples: int
    neighbour_min_share: float

    @classmethod
    def from_yaml(cls, path: Path, overrides: Mapping[str, Any] | None = None) -> ClusterParams:
        """Load and check the file; `overrides` (None values ignored) replace its keys."""
        names = [f.name for f in fields(cls)]
        data = load_yaml(path, required=names)
        given = {key: value for key, value in (overrides or {}).items() if value is not None}
        if unknown := sorted(given.keys() - set(names)):
            raise ProjectError(
                f"{path}: unknown override(s) {', '.join(unknown)}; allowed: {', '.join(names)}"
            )
        data |= given
        for key, (valid, what) in RULES.items():
            if not valid(data[key]):
                raise ProjectError(f"{path}: {key} = {data[key]!r} must be {what}; fix it")
        if data["k_max"] < data["k_min"]:
            raise ProjectError(f"{path}: k_max must be >= k_min; fix the k range")
        if data["label_terms"] > data["n_top_terms"]:
            raise ProjectError(f"{path}: label_terms must be <= n_top_terms; fix one of them")
        return cls(**{**data, "ngram_range": tuple(data["ngram_range"])})


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


# --- features ---------------------------------------------------------------------------------


def word_ngrams(tokens: list[str], ngram_range: tuple[int, int]) -> list[str]:
    """All n-grams of consecutive tokens (joined by a space) for n in `ngram_range`."""
    low, high = ngram_range
    shifted = [tokens[i:] for i in range(high)]  # zip stops at the shortest: n-grams never overrun
    return [" ".join(gram) for n in range(low, high + 1) for gram in zip(*shifted[:n], strict=False)]


def _as_is(terms: list[str]) -> list[str]:
    """Analyzer for pre-computed term lists (a named function, so vectorizers pickle)."""
    return terms


def term_counts(term_lists: list[list[str]], source: Path) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Count matrix (one row per term list) and its sorted vocabulary; `source` names the params file."""
    vectorizer = CountVectorizer(analyzer=_as_is, dtype=np.float64)
    try:
        counts = vectorizer.fit_transform(term_lists)
    except ValueError as exc:
        raise ProjectError(f"{source}: the items have no terms ({exc}); check params/stopwords.txt") from None
    return counts.tocsr(), vectorizer.get_feature_names_out()


def idf_weights(
    counts: sparse.csr_matrix, min_df: int | float, max_df: int | float, source: Path
) -> tuple[np.ndarray, np.ndarray]:
    """The columns whose document frequency lies in [min_df, max_df] (a row count when int, a share
    of the rows when float) and their smoothed idf ln((1 + n) / (1 + df)) + 1, as TfidfVectorizer."""
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    low, high = (bound if isinstance(bound, int) else bound * n for bound in (min_df, max_df))
    kept = np.flatnonzero((df >= low) & (df <= high))
    if not kept.size:
        raise ProjectError(f"{source}: TF-IDF kept no terms (document frequency within [{min_df}, {max_df}]); "
                           "lower min_df or raise max_df")
    return kept, np.log((1 + n) / (1 + df[kept])) + 1


def weigh(counts: sparse.csr_matrix, kept: np.ndarray, idf: np.ndarray) -> sparse.csr_matrix:
    """The kept columns of `counts` times their idf (rows not normalised)."""
    return (counts[:, kept] @ sparse.diags(idf)).tocsr()


def dense_if_small(matrix: sparse.csr_matrix) -> sparse.csr_matrix | np.ndarray:
    """A dense copy of `matrix` when it has at most DENSE_CELLS cells, else `matrix` itself."""
    return matrix.toarray() if matrix.shape[0] * matrix.shape[1] <= DENSE_CELLS else matrix


def indicator(groups: np.ndarray) -> sparse.csr_matrix:
    """Groups × rows 0/1 matrix for group codes 0..g-1: row g marks the rows of group g."""
    n = len(groups)
    return sparse.csr_matrix((np.ones(n), (groups, np.arange(n))), shape=(groups.max() + 1, n))


# --- clustering -------------------------------------------------------------------------------


@cache
def _threadpools() -> ThreadpoolController:
    """The BLAS and OpenMP pools of this process, found once (limiting through them is then cheap)."""
    return ThreadpoolController()


def one_thread() -> AbstractContextManager:
    """Limit BLAS and OpenMP to one thread. OpenMP limits hold per thread: enter it in each thread."""
    return _threadpools().limit(limits=1)


def fit_kmeans(matrix: sparse.csr_matrix, k: int, random_state: int, params: ClusterParams) -> np.ndarray:
    """Cluster labels from KMeans (on a dense copy of a small matrix: k-means++ is slow on sparse
    rows), or MiniBatchKMeans above `params.minibatch_above` rows; single-threaded."""
    with one_thread():
        if matrix.shape[0] > params.minibatch_above:
            model = MiniBatchKMeans(n_clusters=k, n_init=params.n_init_large, random_state=random_state)
            return model.fit(matrix).labels_
        return KMeans(n_clusters=k, n_init=params.n_init, random_state=random_state).fit(dense_if_small(matrix)).labels_


def fit_all(matrix: sparse.csr_matrix, fits: list[Fit], params: ClusterParams) -> list[np.ndarray]:
    """Labels of independent fits (k, random_state, rows), one joblib thread per core. Each fit is
    single-threaded, so the labels do not depend on the number of cores."""
    return Parallel(n_jobs=-1, prefer="threads")(
        delayed(fit_kmeans)(matrix[rows], k, random_state, params) for k, random_state, rows in fits
    )


def best_jaccard(reference: np.ndarray, labels: np.ndarray) -> dict[int, float]:
    """For each reference cluster C: max over clusters D of `labels` of |C ∩ D| / |C ∪ D|."""
    ref_ids, ref_index = np.unique(reference, return_inverse=True)
    table = contingency_matrix(reference, labels)
    ref_sizes, run_sizes = np.bincount(ref_index), table.sum(axis=0)
    jaccard = table / (ref_sizes[:, None] + run_sizes[None, :] - table)
    return dict(zip(ref_ids.tolist(), jaccard.max(axis=1).tolist(), strict=True))


def subsample_runs(n: int, params: ClusterParams) -> list[Run]:
    """The subsample refits, the same draws for every k: fixed-seed draws of `subsample_share` of the
    rows, without replacement and never fewer than k_max + 1 rows. As many draws as
    `stability_item_budget` rows allow per k, between `stability_runs_large` and
    `stability_subsamples` (`stability_runs_large` above `minibatch_above` rows)."""
    size = min(n, max(params.k_max + 1, round(params.subsample_share * n)))
    count = params.stability_runs_large if n > params.minibatch_above else max(
        params.stability_runs_large, min(params.stability_subsamples, params.stability_item_budget // size))
    rng = np.random.default_rng(params.seed)
    return [("subsample", run, np.sort(rng.choice(n, size=size, replace=False))) for run in range(1, count + 1)]


def seed_runs(n: int, first: int, params: ClusterParams) -> list[Run]:
    """Up to `stability_seeds` refits of all rows with other KMeans seeds (as many as
    `stability_item_budget` rows allow), numbered from `first`; none above `minibatch_above` rows
    (time budget; the subsample refits there use other seeds too)."""
    count = 0 if n > params.minibatch_above else min(params.stability_seeds, params.stability_item_budget // n)
    return [("seed", run, np.arange(n)) for run in range(first, first + count)]


def refit(
    matrix: sparse.csr_matrix, references: Mapping[int, np.ndarray], runs: list[Run], params: ClusterParams
) -> pd.DataFrame:
    """Refit every k of `references` (k → labels of all rows) on each run's rows (random_state =
    seed + run) and compare with the reference on those rows: the adjusted Rand index (ARI) of the
    run and, per reference cluster, the Jaccard index of its best-matching run cluster (Hennig's
    clusterwise stability)."""
    jobs = [(k, run) for k in references for run in runs]
    found = fit_all(matrix, [(k, params.seed + run, used) for k, (_, run, used) in jobs], params)
    rows = []
    for (k, (kind, run, used)), labels in zip(jobs, found, strict=True):
        reference = references[k][used]
        ari = _round(adjusted_rand_score(reference, labels))
        rows += [
            {"k": k, "kind": kind, "run": run, "random_state": params.seed + run, "n_items": len(used),
             "ari": ari, "cluster": cluster, "jaccard": _round(jaccard)}
            for cluster, jaccard in best_jaccard(reference, labels).items()
        ]
    return pd.DataFrame(rows, columns=list(STABILITY_DTYPES)).astype(STABILITY_DTYPES)


def cluster_jaccard(runs: pd.DataFrame) -> pd.Series:
    """Mean best-match Jaccard per reference cluster over the given refit rows (rounded)."""
    return runs.groupby("cluster")["jaccard"].mean().map(_round)


def stability_scores(runs: pd.DataFrame, params: ClusterParams) -> dict[str, Any]:
    """One k's subsample refits in numbers: mean ARI and its standard error over the runs, mean
    per-cluster Jaccard, the number of stable clusters, and whether the solution passes."""
    ari = runs.drop_duplicates("run")["ari"]
    jaccard = cluster_jaccard(runs)
    mean_ari = _round(ari.mean())
    return {
        "ari": mean_ari, "ari_se": _round(ari.std() / np.sqrt(len(ari))), "jaccard": _round(jaccard.mean()),
        "n_stable": int((jaccard >= params.jaccard_min).sum()), "passes": bool(mean_ari >= params.ari_min),
    }


def choose_k(table: pd.DataFrame) -> int:
    """The most stable k: the largest mean subsample ARI, every k within one standard error of it
    counting as tied; among ties the largest silhouette, then the smallest k."""
    valid = table.dropna(subset=["ari"])
    best = valid.loc[valid["ari"].idxmax()]
    tied = valid[valid["ari"] >= best["ari"] - np.nan_to_num(best["ari_se"])]
    return int(tied.sort_values(["silhouette", "k"], ascending=[False, True])["k"].iloc[0])


def select_k(
    matrix: sparse.csr_matrix, params: ClusterParams, source: Path
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Fit every k in range on all rows and on the subsamples of `subsample_runs`; keep `choose_k`,
    and refit it on all rows with other seeds (`seed_runs`).

    Silhouette (cosine) runs on a fixed-seed sample of `silhouette_sample` rows when there are more.
    A k whose fit yields fewer than k distinct clusters (duplicate items) is not refitted and cannot
    be chosen. Returns the k table (K_COLUMNS), every refit (STABILITY_DTYPES columns) and the
    renumbered labels of the chosen k.
    """
    n = matrix.shape[0]
    ks = range(params.k_min, min(params.k_max, n - 1) + 1)
    if not ks:
        raise ProjectError(f"{source}: {n} items are too few for k_min = {params.k_min}; lower k_min")
    every_row = np.arange(n)
    fits = {k: renumber(labels) for k, labels in
            zip(ks, fit_all(matrix, [(k, params.seed, every_row) for k in ks], params), strict=True)}
    distinct = {k: labels for k, labels in fits.items() if labels.max() == k}
    if not distinct:
        raise ProjectError(f"{source}: no k in [{params.k_min}, {params.k_max}] gives distinct clusters")
    runs = subsample_runs(n, params)
    refits = refit(matrix, distinct, runs, params)
    sample = params.silhouette_sample if n > params.silhouette_sample else None
    rows = []
    for k, labels in fits.items():
        rows.append({"k": k, "inertia": _round(_inertia(matrix, labels))})
        if k in distinct:
            rows[-1] |= stability_scores(refits[refits["k"] == k], params) | {"silhouette": _round(
                silhouette_score(matrix, labels, metric="cosine", sample_size=sample, random_state=params.seed))}
    table = pd.DataFrame(rows).reindex(columns=K_COLUMNS)
    chosen = choose_k(table)
    table = table.astype({"n_stable": "Int64", "passes": "boolean"}).assign(chosen=table["k"] == chosen)
    seeds = refit(matrix, {chosen: fits[chosen]}, seed_runs(n, len(runs) + 1, params), params)
    return table, pd.concat([refits, seeds], ignore_index=True), fits[chosen]


def _inertia(matrix: sparse.csr_matrix, labels: np.ndarray) -> float:
    """Within-cluster sum of squared distances to the centroids: sum |x|² - sum_c n_c |mean_c|²."""
    centroids, index = centroids_of(matrix, labels)
    sizes = np.bincount(index)
    return float(matrix.data @ matrix.data - (sizes * (centroids**2).sum(axis=1)).sum())


def centroids_of(matrix: sparse.csr_matrix, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean row per cluster (dense, clusters in ascending id order) and each row's centroid index."""
    _, index = np.unique(labels, return_inverse=True)
    sizes = np.bincount(index)
    return np.asarray((indicator(index) @ matrix).todense()) / sizes[:, None], index


def renumber(labels: np.ndarray) -> np.ndarray:
    """Cluster ids 1..k: largest cluster first, ties by the earliest row (rows in item-key order)."""
    ids, first, sizes = np.unique(labels, return_index=True, return_counts=True)
    order = sorted(range(len(ids)), key=lambda i: (-sizes[i], first[i]))
    mapping = {ids[i]: rank for rank, i in enumerate(order, start=1)}
    return np.array([mapping[label] for label in labels])


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


# --- verdicts for readers ---------------------------------------------------------------------


def solution_passes(solution: pd.DataFrame) -> bool:
    """Whether the chosen clustering passes (the one-row cluster_solution table)."""
    return bool(solution["passes"].iloc[0])


def cluster_verdict(solution: pd.DataFrame) -> str:
    """One Chinese and one English sentence on the chosen clustering, with its numbers."""
    s = solution.iloc[0]
    k, stable = int(s["k"]), int(s["n_stable"])
    ari = f"ARI {s['ari']:.2f} {'≥' if solution_passes(solution) else '<'} {s['ari_min']:.2f}"
    counted = (f"{stable}/{k} 个簇稳定（平均 Jaccard ≥ {s['jaccard_min']:.2f}，覆盖 {s['stable_share']:.0%} 的条目）",
               f"{stable} of {k} clusters are stable (mean Jaccard ≥ {s['jaccard_min']:.2f}, "
               f"{s['stable_share']:.0%} of items)")
    if not solution_passes(solution):
        return (f"没有稳定的聚类：最稳定的 k = {k}，子样本重拟合与全样本聚类的平均 {ari}，{counted[0]}。"
                "这些簇只是条目的一种分法，不是可靠的类型，不宜据此比较计划。"
                f" No stable clustering: the most stable k = {k} reaches a mean subsample {ari}; {counted[1]}. "
                "The clusters are one way of grouping the items, not reliable types; do not compare plans by them.")
    caveat = ("", "") if stable == k else ("其余簇在扰动下会变，不宜解读。", " Read only the stable clusters.")
    return (f"聚类稳定：k = {k}，子样本重拟合与全样本聚类的平均 {ari}，{counted[0]}。{caveat[0]}"
            f" Stable clustering: k = {k}, mean subsample {ari}; {counted[1]}.{caveat[1]}")


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
    if share >= min_share:
        return (f"最相似的计划是 {top_name}（余弦 {top['similarity']:.3f}），在 {share:.0%} 的条目重抽样中最相似。"
                f" The most similar plan is {top_name} (cosine {top['similarity']:.3f}), "
                f"nearest in {share:.0%} of item resamples.")
    rival = table.iloc[1:].sort_values("share_nearest", ascending=False, kind="stable").iloc[0]
    rival_name = name(rival["neighbour"], rival["neighbour"])
    return (f"最相似的计划不确定：{top_name}（余弦 {top['similarity']:.3f}）只在 {share:.0%} 的条目重抽样中最相似，"
            f"{rival_name}（余弦 {rival['similarity']:.3f}）占 {rival['share_nearest']:.0%}；"
            f"相似度之差在条目抽样的波动之内（门槛 {min_share:.0%}）。"
            f" The most similar plan is uncertain: {top_name} (cosine {top['similarity']:.3f}) is nearest in only "
            f"{share:.0%} of item resamples, {rival_name} (cosine {rival['similarity']:.3f}) in "
            f"{rival['share_nearest']:.0%}; the difference is within item-sampling noise (threshold {min_share:.0%}).")


# --- themes and similarity --------------------------------------------------------------------


def lexicon_counter(params_dir: Path) -> ThemeCounter:
    """Theme hits of a text by the lexicon in params/themes.yaml."""
    return partial(theme_hits, lexicon=load_lexicon(Path(params_dir) / "themes.yaml"))


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
    return pd.DataFrame({"theme": theme, "theme_share": share.max(axis=1).map(_round)})


def plan_item_weights(
    counts: sparse.csr_matrix, plan_of: np.ndarray, params: ClusterParams, source: Path
) -> sparse.csr_matrix:
    """Item rows weighted for whole-plan TF-IDF: counts times the idf of plan-level document
    frequencies (doc_min_df, doc_max_df). A plan's TF-IDF vector is the sum of its items' rows,
    L2-normalised, which is what TfidfVectorizer gives for the plan's concatenated n-grams."""
    kept, idf = idf_weights(indicator(plan_of) @ counts, params.doc_min_df, params.doc_max_df, source)
    return weigh(counts, kept, idf)


def plan_cosine(item_weights: sparse.csr_matrix, plan_of: np.ndarray) -> np.ndarray:
    """Plan × plan cosine similarity of whole-plan TF-IDF (dense, symmetric). Plans share much of
    their vocabulary, so a small plan matrix is multiplied dense (BLAS)."""
    plans = dense_if_small(normalize(indicator(plan_of) @ item_weights))
    product = plans @ plans.T
    cosine = product.toarray() if sparse.issparse(product) else product
    return (cosine + cosine.T) / 2


def doc_similarity(plans: pd.DataFrame, cosine: np.ndarray) -> pd.DataFrame:
    """Long format of `cosine` for `plans` (doc_id, district, year in matrix order), every ordered
    pair including the diagonal: doc_a, doc_b, district_a, year_a, district_b, year_b, similarity."""
    n = len(plans)
    a, b = np.repeat(np.arange(n), n), np.tile(np.arange(n), n)
    doc, district, year = (plans[column].to_numpy() for column in ("doc_id", "district", "year"))
    return pd.DataFrame({
        "doc_a": doc[a], "doc_b": doc[b], "district_a": district[a], "year_a": year[a],
        "district_b": district[b], "year_b": year[b], "similarity": _round_all(cosine.ravel()),
    })


def resample_weights(plan_of: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Resamples × items: how often each item is drawn when every plan's items are drawn with
    replacement as many times as the plan has items (rows grouped by plan, plan codes 0..p-1)."""
    sizes = np.bincount(plan_of)
    starts = np.cumsum(sizes) - sizes
    n = len(plan_of)
    uniform = np.random.default_rng(seed).random((n_resamples, n))
    draws = starts[plan_of] + (uniform * sizes[plan_of]).astype(np.int64)  # uniform in [0, size)
    flat = (draws + n * np.arange(n_resamples)[:, None]).ravel()
    return np.bincount(flat, minlength=n_resamples * n).reshape(n_resamples, n).astype(np.float64)


def partner_cosines(
    item_weights: sparse.csr_matrix, plan_of: np.ndarray, partners: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Cosine of each plan with each of its partner plans (plans × m codes) in every resample
    (`weights`: resamples × items): an array plans × m × resamples.

    A resampled plan vector is sum_i w_i y_i over its items, so the dot product of plans a and c is
    w_a' (Y_a Y_c') w_c: one small sparse Gram block per plan, then one dense product for all
    resamples at once. Cost ~ plans × resamples × (m + 1) × items per plan² flops.
    """
    sizes = np.bincount(plan_of)
    starts = np.cumsum(sizes) - sizes
    items_of = [np.arange(start, start + size) for start, size in zip(starts, sizes, strict=True)]
    by_item = np.ascontiguousarray(weights.T)  # items × resamples
    groups = np.column_stack([np.arange(len(sizes)), partners])  # the plan itself first: its norm
    dots = np.empty((len(sizes), groups.shape[1], weights.shape[0]))
    for plan, group in enumerate(groups):
        own, columns = items_of[plan], np.concatenate([items_of[p] for p in group])
        gram = (item_weights[own] @ item_weights[columns].T).toarray()
        products = (by_item[own].T @ gram) * by_item[columns].T  # resamples × columns
        dots[plan] = np.add.reduceat(products, np.cumsum(sizes[group]) - sizes[group], axis=1).T
    norms = np.sqrt(dots[:, 0])  # plans × resamples
    scale = norms[:, None, :] * norms[partners]
    return np.divide(dots[:, 1:], scale, out=np.zeros_like(scale), where=scale > 0)


def nearest_neighbours(
    plans: pd.DataFrame, item_weights: sparse.csr_matrix, plan_of: np.ndarray, cosine: np.ndarray,
    params: ClusterParams,
) -> pd.DataFrame:
    """Per plan, its `neighbour_candidates` most similar plans (rank 1 = most similar; ties by
    doc_id) and the share of `neighbour_resamples` item resamples in which each is the nearest of
    them (a tie splits the resample). All plans are resampled together (fixed seed); idf stays that
    of the full data. The shares of a plan sum to 1; they are exact when every other plan is a
    candidate, and otherwise ignore resamples in which a plan outside the candidates is nearest."""
    m = min(params.neighbour_candidates, len(plans) - 1)
    if m == 0:
        return pd.DataFrame(columns=NEIGHBOUR_COLUMNS)
    others = np.where(np.eye(len(plans), dtype=bool), -np.inf, cosine)
    partners = np.argsort(-others, axis=1, kind="stable")[:, :m]
    weights = resample_weights(plan_of, params.neighbour_resamples, params.seed)
    resampled = partner_cosines(item_weights, plan_of, partners, weights)  # plans × m × resamples
    nearest = resampled == resampled.max(axis=1, keepdims=True)
    share = (nearest / nearest.sum(axis=1, keepdims=True)).mean(axis=2)  # a tie splits the resample
    doc = plans["doc_id"].to_numpy()
    return pd.DataFrame({
        "doc_id": np.repeat(doc, m), "neighbour": doc[partners].ravel(), "rank": np.tile(np.arange(1, m + 1), len(doc)),
        "similarity": _round_all(np.take_along_axis(cosine, partners, axis=1).ravel()),
        "share_nearest": _round_all(share.ravel()),
    })


def cluster_mix(clusters: pd.DataFrame) -> pd.DataFrame:
    """Share of each plan's items in each cluster: rows plans ("闵行 2017"), columns cluster ids."""
    plans = plan_labels(clusters)
    return pd.crosstab(plans, clusters["cluster"], normalize="index").rename_axis(index="plan")


def example_texts(tables: ClusterTables, items: pd.DataFrame) -> pd.DataFrame:
    """The central items of each cluster with label, plan and item text (for reading)."""
    labels = tables.cluster_summary[["cluster", "label"]]
    texts = items[[*ITEM_KEY, "district", "year", "text"]]
    frame = tables.examples.merge(labels, on="cluster").merge(texts, on=ITEM_KEY)
    return frame.assign(plan=plan_labels(frame))[
        ["cluster", "label", "rank", "plan", "item_seq", "centrality", "text"]
    ].sort_values(["cluster", "rank"]).reset_index(drop=True)


def similarity_matrix(similarity: pd.DataFrame) -> pd.DataFrame:
    """The long `doc_similarity` table as a square plan × plan matrix with plan labels."""
    frame = similarity.assign(
        plan_a=plan_labels(similarity, "district_a", "year_a"),
        plan_b=plan_labels(similarity, "district_b", "year_b"),
    )
    return frame.pivot(index="plan_a", columns="plan_b", values="similarity")


# --- the stage --------------------------------------------------------------------------------


def _round(value: float) -> float:
    """Round to DECIMALS, and turn -0.0 into 0.0 (platform jitter must not change the bytes)."""
    return float(np.round(value, DECIMALS)) + 0.0


def _round_all(values: np.ndarray) -> np.ndarray:
    """`_round` for a whole array at once."""
    return np.round(np.asarray(values, dtype=np.float64), DECIMALS) + 0.0


def build_clusters(
    items: pd.DataFrame,
    params_dir: Path,
    overrides: Mapping[str, Any] | None = None,
    count_hits: ThemeCounter | None = None,
    tokens: list[list[str]] | None = None,
) -> ClusterTables:
    """Cluster the plan items (items.csv columns) with params/clusters.yaml (+ `overrides`).

    `count_hits(text) -> {theme: hits}` maps clusters to themes; by default the lexicon of
    params/themes.yaml (longest match, no double counting). `tokens` are the items' content
    tokens in the order of `items`, when the tokenize stage already made them (for instance in
    parallel with `analysis.batch`); by default every item is segmented here.

    BLAS and OpenMP run single-threaded: KMeans on a few hundred rows gains nothing from threads,
    OpenMP threads spinning on a busy machine slowed the fits 5-20 times, and a fixed thread count
    keeps floating-point sums, hence labels, the same on every machine. The cores are used by
    running independent KMeans fits side by side instead (`fit_all`).
    """
    source = Path(params_dir) / "clusters.yaml"
    params = ClusterParams.from_yaml(source, overrides)
    if tokens is None:
        segmenter = load_segmenter(params_dir)
        tokens = [segmenter(text) for text in items["text"]]
    items = items.reset_index(drop=True)
    order = items.sort_values(ITEM_KEY, kind="stable").index.to_numpy()
    items = items.iloc[order].reset_index(drop=True)
    counts, vocabulary = term_counts([word_ngrams(tokens[i], params.ngram_range) for i in order], source)
    with one_thread():
        return _build(items, counts, vocabulary, params, source, count_hits or lexicon_counter(params_dir))


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
        x=_round_all(coords[:, 0]),
        y=_round_all(coords[:, 1]),
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
    frame = clusters[["cluster", "doc_id", "item_seq"]].assign(centrality=_round_all(central))
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
        "stable_share": _round(summary.loc[summary["stable"], "n_items"].sum() / summary["n_items"].sum()),
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


def run_stage(tables: CorpusTables, paths: Paths, out: Path) -> list[str]:
    """The pipeline's clusters stage (analysis.stages.registry): build and write the cluster tables."""
    write_clusters(build_clusters(tables.items, paths.params), out)
    return []


def write_clusters(tables: ClusterTables, processed_dir: Path) -> list[Path]:
    """Write every cluster table under `processed_dir` atomically (rows already in stable order)."""
    return write_tables(processed_dir, {name: getattr(tables, field) for field, name in CLUSTER_FILES.items()})


# --- display helpers for the notebooks (they read the processed snapshot, never process) ---------


def examples_table(examples: pd.DataFrame, summary: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """`example_texts` from the snapshot's tables (cluster_examples.csv, cluster_summary.csv,
    items.csv): the central items of each cluster with label, plan and item text."""
    frame = examples.merge(summary[["cluster", "label"]], on="cluster").merge(
        items[[*ITEM_KEY, "district", "year", "text"]], on=ITEM_KEY)
    return frame.assign(plan=plan_labels(frame))[
        ["cluster", "label", "rank", "plan", "item_seq", "centrality", "text"]
    ].sort_values(["cluster", "rank"]).reset_index(drop=True)


def top_terms_table(cluster_terms: pd.DataFrame) -> pd.DataFrame:
    """cluster_terms.csv as rank × cluster: the centroid's highest-weighted terms, one column per cluster."""
    return cluster_terms.pivot(index="rank", columns="cluster", values="term")
