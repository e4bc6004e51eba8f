"""Topic models on item documents: NMF and LDA fits, NPMI coherence, stability by Hungarian matching of top terms."""

from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import NMF, LatentDirichletAllocation
from sklearn.feature_extraction.text import TfidfTransformer

MODELS = ("nmf", "lda")


def fit_topics(counts: sparse.csr_matrix, model: str, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(topics × terms weights, items × topics weights, rows summing to 1) of one fit: NMF on
    TF-IDF (nndsvda start) or LDA (batch variational Bayes) on counts."""
    if model == "nmf":
        tfidf = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
        fitted = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=400)
        weights = fitted.fit_transform(tfidf)
        components = fitted.components_
    else:
        fitted = LatentDirichletAllocation(n_components=k, learning_method="batch", max_iter=10, random_state=seed)
        weights = fitted.fit_transform(counts)
        components = fitted.components_
    totals = weights.sum(axis=1, keepdims=True)
    return components, np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)


def top_terms(components: np.ndarray, n: int) -> list[list[int]]:
    """The indices of each topic's `n` heaviest terms (ties: lower index)."""
    return [list(np.lexsort((np.arange(len(row)), -row))[:n]) for row in components]


def npmi_coherence(tops: list[list[int]], incidence: sparse.csr_matrix) -> float:
    """Mean normalised PMI of every pair of top terms within each topic, from the items they share
    (Bouma 2009; −1 for a pair never together, 1 for always together)."""
    x = (incidence > 0).astype(float).tocsc()
    n = x.shape[0]
    scores = []
    for terms in tops:
        for a, b in combinations(terms, 2):
            pa, pb = x[:, a].sum() / n, x[:, b].sum() / n
            pab = x[:, a].multiply(x[:, b]).sum() / n
            if pab == 0:
                scores.append(-1.0)
            elif pab == 1:
                scores.append(1.0)
            else:
                scores.append(float(np.log(pab / (pa * pb)) / -np.log(pab)))
    return float(np.mean(scores)) if scores else float("nan")


def jaccard(a: list[int], b: list[int]) -> float:
    return len(set(a) & set(b)) / len(set(a) | set(b))


def matched_similarity(reference: list[list[int]], other: list[list[int]]) -> float:
    """Mean Jaccard of top terms between the topics of two fits, topics paired by the Hungarian
    assignment that maximises the total (scipy linear_sum_assignment)."""
    similarity = np.array([[jaccard(a, b) for b in other] for a in reference])
    rows, cols = linear_sum_assignment(-similarity)
    return float(similarity[rows, cols].mean())


def topic_stability(counts: sparse.csr_matrix, model: str, k: int, n_terms: int, seeds: int,
                    seed: int) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Fit on all items (seed `seed`), then `seeds` refits, each with its own seed on a bootstrap
    resample of the items; stability = the mean matched Jaccard of their top terms with the full
    fit's. Returns (stability, NPMI coherence of the full fit, its components, its item weights)."""
    components, weights = fit_topics(counts, model, k, seed)
    reference = top_terms(components, n_terms)
    rng = np.random.default_rng(seed)
    scores = []
    for run in range(seeds):
        rows = rng.integers(0, counts.shape[0], counts.shape[0])
        refit, _ = fit_topics(counts[rows], model, k, seed + run + 1)
        scores.append(matched_similarity(reference, top_terms(refit, n_terms)))
    return float(np.mean(scores)), npmi_coherence(reference, counts), components, weights
