"""Hierarchical clustering: linkage of distances, cophenetic correlation, which merges survive resampling."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.cluster.hierarchy import cophenet, linkage
from scipy.spatial.distance import squareform


def tree(distances: np.ndarray, method: str) -> np.ndarray:
    """scipy linkage of a square distance matrix (`method`: average, complete, single, or ward —
    applied to these distances as Lance–Williams updates, as R's hclust does)."""
    condensed = squareform(np.clip(distances, 0, None), checks=False)
    return linkage(condensed, method=method)


def cophenetic_correlation(merges: np.ndarray, distances: np.ndarray) -> float:
    """Correlation of the tree's cophenetic distances with the input distances (1: the tree keeps
    every distance)."""
    condensed = squareform(np.clip(distances, 0, None), checks=False)
    if np.ptp(condensed) == 0:
        return float("nan")
    return float(cophenet(merges, condensed)[0])


def clusters_of(merges: np.ndarray) -> list[frozenset[int]]:
    """The leaves under each merge of a linkage matrix, in merge order."""
    n = len(merges) + 1
    members: list[frozenset[int]] = [frozenset([i]) for i in range(n)]
    for left, right, *_ in merges:
        members.append(members[int(left)] | members[int(right)])
    return members[n:]


def merge_support(merges: np.ndarray, replicate_merges: list[np.ndarray]) -> np.ndarray:
    """Per merge: the share of replicate trees holding exactly the same cluster of leaves."""
    found = [set(clusters_of(other)) for other in replicate_merges]
    if not found:
        return np.full(len(merges), np.nan)
    return np.array([sum(cluster in other for other in found) / len(found) for cluster in clusters_of(merges)])


def jaccard_distances(incidence: np.ndarray) -> np.ndarray:
    """1 − Jaccard between the columns of a 0/1 units × terms matrix (items using both / either)."""
    x = (np.asarray(incidence) > 0).astype(float)
    both = x.T @ x
    counts = np.diag(both)
    either = counts[:, None] + counts[None, :] - both
    with np.errstate(invalid="ignore", divide="ignore"):
        similarity = np.where(either > 0, both / either, 0.0)
    np.fill_diagonal(similarity, 1.0)
    return 1.0 - similarity


def unit_rows(x: sparse.spmatrix) -> sparse.csr_matrix:
    """The rows of `x` scaled to unit length (l2); a zero row stays zero."""
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    return sparse.diags(1 / np.where(norms > 0, norms, 1)) @ x


def cosine_distances(rows: np.ndarray | sparse.spmatrix) -> np.ndarray:
    """1 − cosine between the rows of a (dense or sparse) matrix (a zero row is at distance 1 from
    every other); dense result."""
    unit = unit_rows(sparse.csr_matrix(rows, dtype=float))
    distances = 1.0 - (unit @ unit.T).toarray()
    np.fill_diagonal(distances, 0.0)
    return np.clip(distances, 0, 2)
