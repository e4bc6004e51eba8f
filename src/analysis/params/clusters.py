"""params/clusters.yaml as ClusterParams: TF-IDF, k range, stability and neighbour settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from analysis.params.loader import load_yaml
from analysis.params.rules import SEED_MAX, SHARE, Constraint, CountOrShare, WholeRange, check, integer
from analysis.paths import ProjectError

MAX_ROWS = 10_000_000  # items or plans: a document-frequency count, a sample, a budget

RULES: dict[str, Constraint] = {
    "ngram_range": WholeRange(5),
    "min_df": CountOrShare(MAX_ROWS, "an item count"),
    "max_df": CountOrShare(MAX_ROWS, "an item count"),
    "doc_min_df": CountOrShare(MAX_ROWS, "a plan count"),
    "doc_max_df": CountOrShare(MAX_ROWS, "a plan count"),
    "k_min": integer(2, 200),
    "k_max": integer(2, 200),
    "seed": integer(0, SEED_MAX),
    "n_init": integer(1, 100),
    "silhouette_sample": integer(10, 1_000_000),
    "minibatch_above": integer(1, MAX_ROWS),
    "n_init_large": integer(1, 100),
    "stability_seeds": integer(0, 200),
    "stability_subsamples": integer(2, 500),
    "stability_runs_large": integer(1, 100),
    "stability_item_budget": integer(1, MAX_ROWS),
    "subsample_share": SHARE,
    "ari_min": SHARE,
    "jaccard_min": SHARE,
    "n_top_terms": integer(1, 1_000),
    "label_terms": integer(1, 100),
    "n_examples": integer(1, 1_000),
    "theme_min_share": SHARE,
    "neighbour_candidates": integer(1, 1_000),
    "neighbour_resamples": integer(1, 10_000),
    "neighbour_min_share": SHARE,
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
        return cls.from_data(path, load_yaml(path, required=[f.name for f in fields(cls)]), overrides)

    @classmethod
    def from_data(cls, path: Path, data: dict[str, Any], overrides: Mapping[str, Any] | None = None
                  ) -> ClusterParams:
        """Check the mapping read from `path`, with `overrides` applied; problems name `path`."""
        names = [f.name for f in fields(cls)]
        given = {key: value for key, value in (overrides or {}).items() if value is not None}
        if unknown := sorted(given.keys() - set(names)):
            raise ProjectError(f"{path}: unknown override(s) {', '.join(unknown)}; allowed: {', '.join(names)}")
        data = {**data, **given}
        if problems := check(path, data, RULES):
            raise ProjectError(*problems)
        if data["k_max"] < data["k_min"]:
            raise ProjectError(f"{path}: k_max must be >= k_min; fix the k range")
        if data["label_terms"] > data["n_top_terms"]:
            raise ProjectError(f"{path}: label_terms must be <= n_top_terms; fix one of them")
        return cls(**{**data, "ngram_range": tuple(data["ngram_range"])})

    def with_overrides(self, path: Path, overrides: Mapping[str, Any] | None) -> ClusterParams:
        """These settings with `overrides` (None values ignored) checked and applied; `path` names
        the file in any problem."""
        return self if not overrides else self.from_data(path, asdict(self), overrides)
