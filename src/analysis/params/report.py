"""params/report.yaml: plan sets, page limits and kernel settings, validated."""

from __future__ import annotations

from pathlib import Path

from analysis.params.loader import load_yaml
from analysis.paths import ProjectError

DEFAULT_SET = "default"  # the latest plan of every district; never a name in `sets`
WHOLE_NUMBERS = {"cell_timeout": "seconds", "detail_max_plans": "plans", "kernel_memory_mb": "megabytes",
                 "workbook_max_rows": "rows"}


def load_report_params(path: Path) -> dict:
    params = load_yaml(path, required=("sets", "rank_exclude", "analysis_notebooks", "top_terms", "max_q",
                                       *WHOLE_NUMBERS))
    for key, unit in WHOLE_NUMBERS.items():
        if isinstance(value := params[key], bool) or not isinstance(value, int) or value < 1:
            raise ProjectError(f"{path}: {key} must be a whole number of {unit} of at least 1, not {value!r}")
    for name, spec in (params["sets"] or {}).items():
        if not isinstance(spec, dict) or not ({"years", "doc_ids"} & spec.keys()) or spec.keys() - {
            "title", "years", "doc_ids"
        }:
            raise ProjectError(f"{path}: set {name!r} needs `years` or `doc_ids` (and an optional `title`)")
        if name == DEFAULT_SET or not str(name).isidentifier():
            raise ProjectError(f"{path}: set name {name!r} must be a simple word other than {DEFAULT_SET!r}")
    return params
