"""Cross-tab statistics: χ², df, p, Cramér's V, adjusted residuals, exact/Monte-Carlo p for small counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import MonteCarloMethod, chi2_contingency, fisher_exact

RESIDUAL_MARK = 1.96  # |adjusted residual| at or above this is marked (two-sided 5 %)


@dataclass(frozen=True)
class CrosstabTest:
    """The test of one r × c table of counts."""

    n: int
    chi2: float
    df: int
    p_chi2: float  # asymptotic χ² p
    p: float  # the p to read: p_chi2, or Fisher / Monte-Carlo when expected counts are small
    method: str  # chi2, fisher (2×2) or monte_carlo
    cramers_v: float
    min_expected: float
    low_expected: int  # cells with an expected count below the threshold


def expected_counts(table: np.ndarray) -> np.ndarray:
    """Row total × column total / n for every cell."""
    return np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()


def adjusted_residuals(table: np.ndarray) -> np.ndarray:
    """Haberman's adjusted standardised residuals (O − E) / √(E (1 − row/n)(1 − col/n)), ~N(0, 1)
    under independence; 0 where a margin is the whole table."""
    n = table.sum()
    expected = expected_counts(table)
    scale = expected * np.outer(1 - table.sum(axis=1) / n, 1 - table.sum(axis=0) / n)
    with np.errstate(invalid="ignore", divide="ignore"):
        residuals = (table - expected) / np.sqrt(scale)
    return np.nan_to_num(residuals, nan=0.0, posinf=0.0, neginf=0.0)


def drop_empty(table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The table without all-zero rows and columns, and the kept row and column indices."""
    rows, cols = np.flatnonzero(table.sum(axis=1) > 0), np.flatnonzero(table.sum(axis=0) > 0)
    return table[np.ix_(rows, cols)], rows, cols


def crosstab_test(table: np.ndarray, min_expected: float, replicates: int, seed: int) -> CrosstabTest | None:
    """χ² test of independence of `table` (empty rows and columns left out; None when fewer than two
    remain either way). Cramér's V = √(χ² / (n (min(r, c) − 1))). When any expected count is below
    `min_expected`, p comes from Fisher's exact test (2×2) or from `replicates` Monte-Carlo tables
    with the same margins (scipy, `seed`)."""
    kept, _, _ = drop_empty(np.asarray(table, dtype=float))
    if min(kept.shape) < 2:
        return None
    result = chi2_contingency(kept, correction=False)
    expected, n = result.expected_freq, int(kept.sum())
    low = int((expected < min_expected).sum())
    p, method = float(result.pvalue), "chi2"
    if low and kept.shape == (2, 2):
        p, method = float(fisher_exact(kept.astype(int)).pvalue), "fisher"
    elif low:
        mc = MonteCarloMethod(n_resamples=replicates, rng=np.random.default_rng(seed))
        p, method = float(chi2_contingency(kept.astype(int), correction=False, method=mc).pvalue), "monte_carlo"
    return CrosstabTest(n=n, chi2=float(result.statistic), df=int(result.dof), p_chi2=float(result.pvalue), p=p,
                        method=method, cramers_v=float(np.sqrt(result.statistic / (n * (min(kept.shape) - 1)))),
                        min_expected=float(expected.min()), low_expected=low)
