"""params/statistics.yaml as StatisticsParams: bootstrap replicates, level, seed, q threshold, min items."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.params.loader import YamlModel
from analysis.params.rules import OPEN_SHARE, SEED_MAX, Whole, check
from analysis.paths import ProjectError

RULES = {
    "replicates": Whole(1, 100_000),
    "level": OPEN_SHARE,
    "seed": Whole(0, SEED_MAX),
    "max_q": OPEN_SHARE,
    "min_items": Whole(2, 10_000),
}


@dataclass(frozen=True)
class StatisticsParams(YamlModel):
    """The validated contents of params/statistics.yaml."""

    replicates: int  # bootstrap replicates per plan
    level: float  # interval coverage, in (0, 1)
    seed: int  # with each doc_id, the source of the bootstrap's random numbers
    max_q: float  # BH q below which a test is reported as more/less
    min_items: int  # fewer items than this: no policy-tool share interval and no 主导/稀缺 verdict

    @classmethod
    def from_data(cls, path: Path, data: dict[str, Any]) -> StatisticsParams:
        if problems := check(path, data, RULES):
            raise ProjectError(*problems)
        return cls(**data)

    def enough_items(self, n_items: int) -> bool:
        """Whether `n_items` items (one plan's, or several plans' pooled) are enough for a
        percentile-bootstrap interval (`min_items`)."""
        return n_items >= self.min_items
