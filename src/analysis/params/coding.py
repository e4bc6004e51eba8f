"""params/coding.yaml as CodingParams: minimum positives, classifier settings, coding-sheet seed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.params.loader import YamlModel
from analysis.params.rules import SEED_MAX, Real, Whole, check
from analysis.paths import ProjectError

RULES = {
    "min_positives": Whole(1, 1_000),
    "ngram_max": Whole(1, 6),
    "c": Real(0.001, 1_000, "a number between 0.001 and 1000"),
    "sheet_seed": Whole(0, SEED_MAX),
}


@dataclass(frozen=True)
class CodingParams(YamlModel):
    """The validated contents of params/coding.yaml."""

    min_positives: int  # fewer positive items: 样本过少, no precision/recall/F1/κ shown
    ngram_max: int  # the classifier's character n-grams are 1..ngram_max long
    c: float  # the logistic regression's inverse regularisation strength
    sheet_seed: int  # default seed of a coding sheet's item order and plan sample

    @classmethod
    def from_data(cls, path: Path, data: dict[str, Any]) -> CodingParams:
        """Every out-of-range value is one ProjectError line naming the file."""
        if problems := check(path, data, RULES):
            raise ProjectError(*problems)
        return cls(**data)

    def estimable(self, positives: int) -> bool:
        """Whether a category with `positives` positive reference items gets agreement figures."""
        return positives >= self.min_positives
