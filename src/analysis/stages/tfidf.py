"""TF-IDF for the cluster stage: n-grams, term counts, idf weights, and rounding to stable bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from analysis.paths import ProjectError

DECIMALS = 6  # floats are rounded so reruns on other machines write the same bytes
DENSE_CELLS = 10_000_000  # matrices up to this many cells (80 MB) are multiplied or clustered dense


def rounded(value: float) -> float:
    """Round to DECIMALS, and turn -0.0 into 0.0 (platform jitter must not change the bytes)."""
    return float(np.round(value, DECIMALS)) + 0.0


def rounded_all(values: np.ndarray) -> np.ndarray:
    """`rounded` for a whole array at once."""
    return np.round(np.asarray(values, dtype=np.float64), DECIMALS) + 0.0


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
