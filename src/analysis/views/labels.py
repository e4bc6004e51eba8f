"""Deterministic label placement for figures: text boxes pushed apart until they no longer overlap."""

from __future__ import annotations

import numpy as np


def overlaps(centres: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """(n, n) True where the boxes (centre x, y; width, height) of two labels overlap."""
    gap = np.abs(centres[:, None, :] - centres[None, :, :]) < (sizes[:, None, :] + sizes[None, :, :]) / 2
    found = gap.all(axis=2)
    np.fill_diagonal(found, False)
    return found


def repel(centres: np.ndarray, sizes: np.ndarray, iterations: int = 300, step: float = 0.5) -> np.ndarray:
    """Label centres moved apart (same order) until no two boxes overlap, or `iterations` passes.

    Each pass moves every overlapping pair apart along the axis where the overlap is smaller (half
    each); labels at the same place are split by their order. No randomness: the same input gives
    the same placement."""
    placed = np.asarray(centres, dtype=float).copy()
    sizes = np.asarray(sizes, dtype=float)
    for _ in range(iterations):
        pairs = np.argwhere(np.triu(overlaps(placed, sizes)))
        if not len(pairs):
            break
        for a, b in pairs:
            delta = placed[b] - placed[a]
            need = (sizes[a] + sizes[b]) / 2 - np.abs(delta)
            axis = int(np.argmin(need / np.maximum(sizes[a] + sizes[b], 1e-12)))
            direction = np.sign(delta[axis]) or 1.0
            shift = direction * (need[axis] * step + 1e-9 + 1e-6 * sizes[a, axis])
            placed[a, axis] -= shift
            placed[b, axis] += shift
    return placed
