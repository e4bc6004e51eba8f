"""Choosing k by stability: KMeans fits and refits, subsample ARI, clusterwise Jaccard, renumbered ids.

k is chosen by stability (Hennig 2007; Lange et al. 2004), not by silhouette alone, because on short
items the silhouette keeps rising with k. Every k in range is fitted on all items and refitted on
the same fixed-seed subsamples (`subsample_share` of the items, without replacement); each refit is
compared with the full fit on its items. The most stable k has the largest mean adjusted Rand index
(ARI) of its refits; every k within one standard error of that mean counts as tied (the refits are
a random sample), and ties go to the larger cosine silhouette, then the smaller k.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.metrics.cluster import contingency_matrix
from threadpoolctl import ThreadpoolController

from analysis.params.clusters import ClusterParams
from analysis.paths import ProjectError
from analysis.stages.tfidf import dense_if_small, indicator, rounded

K_COLUMNS = ["k", "silhouette", "inertia", "ari", "ari_se", "jaccard", "n_stable", "passes", "chosen"]
STABILITY_DTYPES = {"k": "int64", "kind": "object", "run": "int64", "random_state": "int64", "n_items": "int64",
                    "ari": "float64", "cluster": "int64", "jaccard": "float64"}

Run = tuple[str, int, np.ndarray]  # kind ("subsample" or "seed"), run number, the rows refitted
Fit = tuple[int, int, np.ndarray]  # k, KMeans random_state, the rows fitted


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
    """Labels of independent fits (k, random_state, rows), one thread per core. Each fit is
    single-threaded, so the labels do not depend on the number of cores. On Ctrl-C the fits not yet
    started are cancelled and the running ones end before the interrupt leaves (joblib's thread pool
    left them running native code while the interpreter exited)."""
    executor = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
    try:
        return list(executor.map(lambda fit: fit_kmeans(matrix[fit[2]], fit[0], fit[1], params), fits))
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


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
        ari = rounded(adjusted_rand_score(reference, labels))
        rows += [
            {"k": k, "kind": kind, "run": run, "random_state": params.seed + run, "n_items": len(used),
             "ari": ari, "cluster": cluster, "jaccard": rounded(jaccard)}
            for cluster, jaccard in best_jaccard(reference, labels).items()
        ]
    return pd.DataFrame(rows, columns=list(STABILITY_DTYPES)).astype(STABILITY_DTYPES)


def cluster_jaccard(runs: pd.DataFrame) -> pd.Series:
    """Mean best-match Jaccard per reference cluster over the given refit rows (rounded)."""
    return runs.groupby("cluster")["jaccard"].mean().map(rounded)


def stability_scores(runs: pd.DataFrame, params: ClusterParams) -> dict[str, Any]:
    """One k's subsample refits in numbers: mean ARI and its standard error over the runs, mean
    per-cluster Jaccard, the number of stable clusters, and whether the solution passes."""
    ari = runs.drop_duplicates("run")["ari"]
    jaccard = cluster_jaccard(runs)
    mean_ari = rounded(ari.mean())
    return {
        "ari": mean_ari, "ari_se": rounded(ari.std() / np.sqrt(len(ari))), "jaccard": rounded(jaccard.mean()),
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
        rows.append({"k": k, "inertia": rounded(_inertia(matrix, labels))})
        if k in distinct:
            rows[-1] |= stability_scores(refits[refits["k"] == k], params) | {"silhouette": rounded(
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
