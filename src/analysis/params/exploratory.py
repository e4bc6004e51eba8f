"""params/exploratory.yaml as ExploratoryParams: keyness dispersion, cross-tabs, CA, dendrograms, topic models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.params.loader import YamlModel
from analysis.params.rules import OPEN_SHARE, SEED_MAX, OneOf, Whole, check
from analysis.paths import ProjectError

LINKAGES = ("average", "ward", "complete", "single")


def _whole(low: int, high: int) -> Whole:
    return Whole(low, high, "a whole number >= {low}", " and <= {high}")


RULES = {
    "keyness_min_items": _whole(2, 1_000),
    "crosstab_min_expected": _whole(1, 100),
    "crosstab_replicates": _whole(100, 100_000),
    "ca_top_terms": _whole(3, 500),
    "ca_replicates": _whole(0, 1_000),
    "tree_top_terms": _whole(3, 200),
    "tree_method": OneOf(LINKAGES),
    "tree_replicates": _whole(1, 1_000),
    "tree_keep_share": OPEN_SHARE,
    "tree_resample_max_plans": _whole(3, 100_000),
    "topic_k_min": _whole(2, 50),
    "topic_k_max": _whole(2, 50),
    "topic_top_terms": _whole(3, 50),
    "topic_seeds": _whole(2, 50),
    "topic_min_stability": OPEN_SHARE,
    "topic_max_items": _whole(10, 100_000),
    "topic_max_features": _whole(10, 10_000),
    "topic_replicates": _whole(10, 10_000),
    "seed": _whole(0, SEED_MAX),
}


@dataclass(frozen=True)
class ExploratoryParams(YamlModel):
    """The validated contents of params/exploratory.yaml (see the comments there)."""

    keyness_min_items: int
    crosstab_min_expected: int
    crosstab_replicates: int
    ca_top_terms: int
    ca_replicates: int
    tree_top_terms: int
    tree_method: str
    tree_replicates: int
    tree_keep_share: float
    tree_resample_max_plans: int
    topic_k_min: int
    topic_k_max: int
    topic_top_terms: int
    topic_seeds: int
    topic_min_stability: float
    topic_max_items: int
    topic_max_features: int
    topic_replicates: int
    seed: int

    @classmethod
    def from_data(cls, path: Path, data: dict[str, Any]) -> ExploratoryParams:
        problems = check(path, data, RULES)
        if not problems and data["topic_k_max"] < data["topic_k_min"]:
            problems = [f"{path}: topic_k_max = {data['topic_k_max']} must be >= topic_k_min; fix it"]
        if problems:
            raise ProjectError(*problems)
        return cls(**data)

    @property
    def topic_ks(self) -> range:
        """The k tried by the topic models."""
        return range(self.topic_k_min, self.topic_k_max + 1)
