"""Declarative constraints for params keys (type, range or choices), checked into one-line problems.

In the spirit of scikit-learn's `validate_params`: each params model declares a table
key → constraint, and `check` returns one line per key that breaks its constraint, naming the file,
the key and what is allowed. A value below the lower bound (or of the wrong type) is described as
the project always has ("an integer >= 2"); a value above the upper bound names both bounds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

SEED_MAX = 2**32 - 1  # numpy and scikit-learn random states


def is_whole(value: Any) -> bool:
    """An int that is not a bool (YAML reads `true` as a bool, and bool is an int in Python)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Constraint(Protocol):
    def problem(self, value: Any) -> str | None:
        """What `value` must be when it breaks the constraint, else None."""


@dataclass(frozen=True)
class Whole:
    """A whole number in [low, high]; `what` describes the lower bound, `above` is added past `high`."""

    low: int
    high: int
    what: str = "a whole number of at least {low}"
    above: str = " and at most {high}"

    def problem(self, value: Any) -> str | None:
        if not is_whole(value) or value < self.low:
            return self.what.format(low=self.low, high=self.high)
        if value > self.high:
            return (self.what + self.above).format(low=self.low, high=self.high)
        return None


def integer(low: int, high: int) -> Whole:
    """clusters.yaml style: "an integer >= 2"."""
    return Whole(low, high, "an integer >= {low}", " and <= {high}")


@dataclass(frozen=True)
class Real:
    """A number (int or float, not bool) in a range; `what` describes the whole range."""

    low: float
    high: float
    what: str
    low_open: bool = False
    high_open: bool = False

    def problem(self, value: Any) -> str | None:
        if not is_number(value):
            return self.what
        low_ok = value > self.low if self.low_open else value >= self.low
        high_ok = value < self.high if self.high_open else value <= self.high
        return None if low_ok and high_ok else self.what


SHARE = Real(0, 1, "a share in (0, 1]", low_open=True)  # clusters.yaml
OPEN_SHARE = Real(0, 1, "a number between 0 and 1 (both excluded)", low_open=True, high_open=True)


@dataclass(frozen=True)
class CountOrShare:
    """A document-frequency bound: a count in [1, high] (int) or a share in (0, 1] (float)."""

    high: int
    noun: str = "an item count"

    def problem(self, value: Any) -> str | None:
        if is_whole(value) and value > self.high:
            return f"{self.noun} >= 1 and <= {self.high} or a share in (0, 1]"
        if (is_whole(value) and value >= 1) or (isinstance(value, float) and 0 < value <= 1):
            return None
        return f"{self.noun} >= 1 or a share in (0, 1]"


@dataclass(frozen=True)
class WholeRange:
    """Two whole numbers [low, high] with 1 <= low <= high <= most (an n-gram range)."""

    most: int

    def problem(self, value: Any) -> str | None:
        what = "two integers [low, high] with 1 <= low <= high"
        if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(is_whole(v) and v >= 1 for v in value)
                and value[0] <= value[1]):
            return what
        return f"{what} <= {self.most}" if value[1] > self.most else None


@dataclass(frozen=True)
class OneOf:
    """One of a few texts."""

    choices: tuple[str, ...]

    def problem(self, value: Any) -> str | None:
        return None if isinstance(value, str) and value in self.choices else f"one of {', '.join(self.choices)}"


@dataclass(frozen=True)
class Texts:
    """A list of non-empty texts (optionally non-empty itself)."""

    what: str
    nonempty: bool = False

    def problem(self, value: Any) -> str | None:
        ok = (isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
              and (value or not self.nonempty))
        return None if ok else self.what


def regex_problem(value: Any) -> str | None:
    """Why `value` is not a Python regular expression, or None."""
    if not isinstance(value, str):
        return f"{value!r} is not text; write the pattern in quotes"
    try:
        re.compile(value)
    except re.error as exc:
        return f"{value!r} is not a valid regular expression ({exc}); fix it"
    return None


Message = Callable[[Path, str, Any, str], str]


def equals_style(path: Path, key: str, value: Any, what: str) -> str:
    """clusters.yaml, statistics.yaml, explore.yaml: "key = value must be …; fix it"."""
    return f"{path}: {key} = {value!r} must be {what}; fix it"


def not_style(path: Path, key: str, value: Any, what: str) -> str:
    """report.yaml, themes.yaml: "key must be …, not value"."""
    return f"{path}: {key} must be {what}, not {value!r}"


def check(path: Path, data: Mapping[str, Any], table: Mapping[str, Constraint], message: Message = equals_style
          ) -> list[str]:
    """One line per key of `table` whose value in `data` breaks its constraint (keys missing from
    `data` are left to the loader's missing-key check)."""
    return [
        message(path, key, data[key], what)
        for key, constraint in table.items()
        if key in data and (what := constraint.problem(data[key])) is not None
    ]

