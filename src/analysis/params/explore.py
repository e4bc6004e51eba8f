"""params/explore.yaml as ExploreParams: co-word networks, place names and collocates."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from analysis.params.loader import load_yaml
from analysis.params.rules import SEED_MAX, OneOf, Texts, Whole, check
from analysis.paths import ProjectError

MEASURES = ("jaccard", "pmi")
KWIC_WINDOW_MAX = 500  # characters of context each side of `analysis kwic --window`: a paragraph


def _whole(low: int, high: int) -> Whole:
    return Whole(low, high, "a whole number >= {low}", " and <= {high}")


RULES = {
    "top_n": _whole(2, 10_000),
    "min_count": _whole(1, 1_000_000),
    "seed": _whole(0, SEED_MAX),
    "graph_files_max_plans": _whole(0, 100_000),
    "collocate_window": _whole(1, 1_000),
    "collocate_min_count": _whole(1, 1_000_000),
    "measure": OneOf(MEASURES),
    "place_names": Texts("a list of non-empty names"),
}


@dataclass(frozen=True)
class ExploreParams:
    """The validated contents of params/explore.yaml (see the comments there)."""

    top_n: int
    min_count: int
    measure: str
    seed: int
    graph_files_max_plans: int
    place_names: tuple[str, ...]
    collocate_window: int
    collocate_min_count: int

    @classmethod
    def from_yaml(cls, path: Path) -> ExploreParams:
        """Load and check the file; one line naming the key on any problem."""
        return cls.from_data(path, load_yaml(path, required=[f.name for f in fields(cls)]))

    @classmethod
    def from_data(cls, path: Path, data: dict[str, Any]) -> ExploreParams:
        if problems := check(path, data, RULES):
            raise ProjectError(*problems)
        return cls(**{**data, "place_names": tuple(p.strip() for p in data["place_names"])})
