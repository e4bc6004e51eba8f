"""params/report.yaml as ReportParams: plan sets, page limits and kernel settings, validated."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.params.loader import YamlModel
from analysis.params.rules import OPEN_SHARE, Texts, Whole, check, not_style
from analysis.params.themes import YEAR_RANGE
from analysis.paths import ProjectError

DEFAULT_SET = "default"  # the latest plan of every district; never a name in `sets`
WHOLE_NUMBERS = {"cell_timeout": "seconds", "detail_max_plans": "plans", "kernel_memory_mb": "megabytes",
                 "workbook_max_rows": "rows"}
REPORT_KEYS = ("sets", "rank_exclude", "analysis_notebooks", "top_terms", "max_q", *WHOLE_NUMBERS)
SET_KEYS = ("title", "years", "doc_ids")
EXCEL_ROWS = 1_048_576  # rows of one worksheet, the header included

RULES = {
    "cell_timeout": Whole(1, 86_400, "a whole number of seconds of at least {low}"),  # a day
    "detail_max_plans": Whole(1, 100_000, "a whole number of plans of at least {low}"),
    "kernel_memory_mb": Whole(1, 1_048_576, "a whole number of megabytes of at least {low}"),  # 1 TB
    "workbook_max_rows": Whole(1, EXCEL_ROWS - 1, "a whole number of rows of at least {low}"),
    "top_terms": Whole(1, 1_000, "a whole number of terms of at least {low}"),
    "max_q": OPEN_SHARE,
    "rank_exclude": Texts("a list of completeness values (truncated, partial)"),
    "analysis_notebooks": Texts("a list of notebook file names"),
}


@dataclass(frozen=True)
class PlanSet:
    """One named plan set: every plan of `years`, and exactly the plans of `doc_ids`."""

    name: str
    title: str | None  # None: the page is titled by the name
    years: tuple[int, ...] = ()
    doc_ids: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The set's title, or its name when it has none."""
        return self.name if self.title is None else self.title


@dataclass(frozen=True)
class ReportParams(YamlModel):
    """The validated contents of params/report.yaml (see the comments there)."""

    REQUIRED = REPORT_KEYS

    sets: dict[str, PlanSet]  # name → set, in file order (`sets:` left empty: none)
    rank_exclude: tuple[str, ...]  # completeness values shown but left out of rankings
    analysis_notebooks: tuple[str, ...]  # notebooks also published as pages
    top_terms: int
    max_q: float
    cell_timeout: int
    detail_max_plans: int
    kernel_memory_mb: int
    workbook_max_rows: int

    @classmethod
    def from_data(cls, path: Path, params: dict[str, Any]) -> ReportParams:
        """Check the mapping read from `path`; every problem is one ProjectError line naming the file."""
        if problems := check(path, params, RULES, not_style):
            raise ProjectError(*problems)
        sets = params["sets"] or {}
        if not isinstance(sets, dict):
            raise ProjectError(f"{path}: sets must map each set name to its `years` or `doc_ids`")
        return cls(
            sets={str(name): _plan_set(path, name, spec) for name, spec in sets.items()},
            rank_exclude=tuple(params["rank_exclude"]),
            analysis_notebooks=tuple(params["analysis_notebooks"]),
            **{key: params[key] for key in ("top_terms", "max_q", *WHOLE_NUMBERS)},
        )


def _plan_set(path: Path, name: Any, spec: Any) -> PlanSet:
    if not isinstance(spec, dict) or not ({"years", "doc_ids"} & spec.keys()) or spec.keys() - set(SET_KEYS):
        raise ProjectError(f"{path}: set {name!r} needs `years` or `doc_ids` (and an optional `title`)")
    if name == DEFAULT_SET or not str(name).isidentifier():
        raise ProjectError(f"{path}: set name {name!r} must be a simple word other than {DEFAULT_SET!r}")
    years, doc_ids = spec.get("years", []), spec.get("doc_ids", [])
    low, high = YEAR_RANGE
    if not isinstance(years, list) or not all(Whole(low, high).problem(y) is None for y in years):
        raise ProjectError(f"{path}: set {name} years must be a list of years from {low} to {high}, not {years!r}")
    if not isinstance(doc_ids, list) or not all(isinstance(d, str) for d in doc_ids):
        raise ProjectError(f"{path}: set {name} doc_ids must be a list of plan ids in quotes, not {doc_ids!r}")
    title = spec.get("title")
    return PlanSet(str(name), None if title is None else str(title), tuple(years), tuple(doc_ids))
