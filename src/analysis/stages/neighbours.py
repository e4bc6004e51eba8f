"""Plan similarity: whole-plan TF-IDF cosine, and each plan's nearest plans with item-resampling shares.

Plan similarity is the cosine of whole-plan TF-IDF vectors; `nearest_neighbours` adds how often each
of a plan's most similar plans is its nearest one when every plan's items are resampled with
replacement (analysis.views.clusters.neighbour_verdict flags a nearest plan that is not robust).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.preprocessing import normalize

from analysis.params.clusters import ClusterParams
from analysis.stages.tfidf import dense_if_small, idf_weights, indicator, rounded_all, weigh

NEIGHBOUR_COLUMNS = ["doc_id", "neighbour", "rank", "similarity", "share_nearest"]


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
        "district_b": district[b], "year_b": year[b], "similarity": rounded_all(cosine.ravel()),
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
        "similarity": rounded_all(np.take_along_axis(cosine, partners, axis=1).ravel()),
        "share_nearest": rounded_all(share.ravel()),
    })
