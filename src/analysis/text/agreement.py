"""Agreement of two 0/1 codings of the same items: percent, Cohen's κ, Krippendorff's α, F1, bootstrap intervals."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Statistic = Callable[[np.ndarray, np.ndarray], float]


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=int), np.asarray(b, dtype=int)
    if a.shape != b.shape:
        raise ValueError("two codings of the same items must have the same length")
    return a, b


def percent_agreement(a, b) -> float:
    """Share of items both codings give the same code (NaN for no items)."""
    a, b = _pair(a, b)
    return float((a == b).mean()) if len(a) else float("nan")


def cohen_kappa(a, b) -> float:
    """Cohen's κ = (p_o − p_e) / (1 − p_e), p_e from each coding's own marginals; NaN when p_e = 1
    (both codings constant and equal) or there are no items."""
    a, b = _pair(a, b)
    if not len(a):
        return float("nan")
    observed = (a == b).mean()
    expected = a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean())
    return float((observed - expected) / (1 - expected)) if expected < 1 else float("nan")


def krippendorff_alpha(a, b) -> float:
    """Krippendorff's α for two coders, nominal 0/1 codes, no missing values:
    α = 1 − (n − 1) · d / (n₀ · n₁), n = 2 × items pairable values, d disagreeing items, n₀ and n₁ the
    values 0 and 1 over both codings; NaN when only one value occurs."""
    a, b = _pair(a, b)
    values = np.concatenate([a, b])
    ones = int(values.sum())
    zeros = len(values) - ones
    if not ones or not zeros:
        return float("nan")
    return float(1 - (len(values) - 1) * int((a != b).sum()) / (zeros * ones))


def f1_score(truth, predicted) -> float:
    """F1 = 2·tp / (2·tp + fp + fn) of `predicted` against `truth`; NaN when both are all 0."""
    truth, predicted = _pair(truth, predicted)
    tp = int((truth & predicted).sum())
    wrong = int((truth != predicted).sum())
    return 2 * tp / (2 * tp + wrong) if 2 * tp + wrong else float("nan")


def bootstrap_interval(statistic: Statistic, a, b, replicates: int, level: float, seed: int) -> tuple[float, float]:
    """Percentile interval (central `level`) of `statistic` over `replicates` resamples of the items
    with replacement (numpy Generator seeded with `seed`); replicates where it is undefined are left
    out; (NaN, NaN) when every one is."""
    a, b = _pair(a, b)
    if not len(a):
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(a), size=(replicates, len(a)))
    values = np.array([statistic(a[rows], b[rows]) for rows in draws])
    values = values[~np.isnan(values)]
    if not len(values):
        return float("nan"), float("nan")
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)
