"""Correspondence analysis by SVD of the standardised residuals, with contributions, cos² and Procrustes alignment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import orthogonal_procrustes


@dataclass(frozen=True)
class CorrespondenceAnalysis:
    """Principal coordinates, masses, contributions and cos² of rows and columns (Greenacre 2007)."""

    eigenvalues: np.ndarray  # principal inertias, per dimension
    row_coords: np.ndarray  # rows × dims
    col_coords: np.ndarray
    row_masses: np.ndarray
    col_masses: np.ndarray
    row_contrib: np.ndarray  # share of each dimension's inertia, rows × dims (columns sum to 1)
    col_contrib: np.ndarray
    row_cos2: np.ndarray  # share of each row's inertia on each dimension
    col_cos2: np.ndarray

    @property
    def inertia_share(self) -> np.ndarray:
        return self.eigenvalues / self.eigenvalues.sum()


def correspondence_analysis(table: np.ndarray) -> CorrespondenceAnalysis:
    """CA of a two-way table of counts without empty rows or columns: S = D_r^-½ (P − r cᵀ) D_c^-½ = U Σ Vᵀ,
    principal coordinates F = D_r^-½ U Σ and G = D_c^-½ V Σ, eigenvalues Σ² (signs fixed so that the
    largest absolute row coordinate of each dimension is positive, for reproducible figures)."""
    p = np.asarray(table, dtype=float) / np.sum(table)
    r, c = p.sum(axis=1), p.sum(axis=0)
    s = (p - np.outer(r, c)) / np.sqrt(np.outer(r, c))
    u, sigma, vt = np.linalg.svd(s, full_matrices=False)
    dims = max(min(p.shape) - 1, 1)
    u, sigma, v = u[:, :dims], sigma[:dims], vt[:dims].T
    sign = np.sign(u[np.abs(u).argmax(axis=0), np.arange(dims)])
    sign[sign == 0] = 1
    u, v = u * sign, v * sign
    rows, cols = u * sigma / np.sqrt(r)[:, None], v * sigma / np.sqrt(c)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        row_cos2 = rows**2 / (rows**2).sum(axis=1, keepdims=True)
        col_cos2 = cols**2 / (cols**2).sum(axis=1, keepdims=True)
    return CorrespondenceAnalysis(
        eigenvalues=sigma**2, row_coords=rows, col_coords=cols, row_masses=r, col_masses=c,
        row_contrib=u**2, col_contrib=v**2, row_cos2=np.nan_to_num(row_cos2), col_cos2=np.nan_to_num(col_cos2),
    )


def procrustes_align(points: np.ndarray, target: np.ndarray) -> np.ndarray:
    """`points` rotated/reflected (orthogonal Procrustes, no scaling) onto `target` about the origin."""
    rotation, _ = orthogonal_procrustes(points, target)
    return points @ rotation
