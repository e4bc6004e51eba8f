"""The pages of a run: one job per notebook execution, and the check that every notebook can run."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.params.report import DEFAULT_SET, ReportParams
from analysis.paths import Paths, ProjectError
from analysis.stages.plansets import plan_set
from analysis.views.data import set_title

DISTRICT_NOTEBOOK = "10_district_report.ipynb"
COMPARISON_NOTEBOOK = "20_comparison_report.ipynb"


@dataclass(frozen=True)
class Job:
    """One notebook execution that becomes one HTML page under reports/."""

    notebook: str
    parameters: dict
    page: str  # path under reports/, e.g. districts/yangpu_2024.html
    title: str
    plans: tuple[str, ...]  # doc_ids it covers

    @property
    def executed(self) -> str:
        return f"notebooks/{Path(self.page).with_suffix('.ipynb').as_posix().replace('/', '__')}"


def build_jobs(paths: Paths, documents: pd.DataFrame, snapshot: str, report: ReportParams, run: str = "") -> list[Job]:
    """Every page of a run over the plans of the snapshot (`documents`): analysis notebooks, one
    district report per plan, the comparisons; each notebook gets the project root and snapshot id,
    the comparisons also the run digest (`run`) they cite."""
    base = {"root": str(paths.root), "snapshot": snapshot}
    all_ids = tuple(sorted(documents["doc_id"]))
    jobs = [
        Job(name, base, f"analysis/{Path(name).stem}.html", _notebook_title(paths, name), all_ids)
        for name in report.analysis_notebooks
    ]
    jobs += [
        Job(DISTRICT_NOTEBOOK, base | {"doc_id": p.doc_id}, f"districts/{p.doc_id}.html",
            f"{p.title}（{p.district} {p.year}）", (p.doc_id,))
        for p in documents.sort_values("doc_id").itertuples()
    ]
    for name in [DEFAULT_SET, *sorted(report.sets)]:
        page = "comparison.html" if name == DEFAULT_SET else f"comparison_{name}.html"
        if ids := tuple(plan_set(documents, name, report)):
            jobs.append(Job(COMPARISON_NOTEBOOK, base | {"plan_set": name, "run": run}, page, set_title(report, name),
                            ids))
    return jobs


def _notebook_title(paths: Paths, name: str) -> str:
    cells = json.loads((paths.notebooks / name).read_text(encoding="utf-8"))["cells"]
    first = "".join(cells[0]["source"]).splitlines()[0] if cells else name
    return first.lstrip("# ").strip()


def check_notebooks(paths: Paths, report: ReportParams) -> None:
    """Every notebook a run executes can be run by papermill; else one line per broken notebook."""
    names = [DISTRICT_NOTEBOOK, COMPARISON_NOTEBOOK,
             *report.analysis_notebooks]
    problems = [
        f"{path}: {problem}; restore it from git"
        for path in (paths.notebooks / name for name in dict.fromkeys(names))
        if (problem := _notebook_problem(path))
    ]
    if problems:
        raise ProjectError(*problems)


def _notebook_problem(path: Path) -> str | None:
    """Why papermill cannot run `path` (missing, not JSON, invalid, no parameters cell), or None."""
    import nbformat

    try:
        text = path.read_text(encoding="utf-8")
        json.loads(text)
    except FileNotFoundError:
        return "report notebook not found"
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot be read as UTF-8 text ({exc.__class__.__name__})"
    except json.JSONDecodeError as exc:
        return f"not JSON, truncated or damaged (line {exc.lineno}, column {exc.colno}: {exc.msg})"
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except Exception as exc:  # mostly ValidationError; nbformat raises others on odd JSON
        return f"not a valid notebook ({textwrap.shorten(getattr(exc, 'message', str(exc)), 100, placeholder='…')})"
    metadata = notebook.metadata
    if not (metadata.get("kernelspec", {}).get("language") or metadata.get("language_info", {}).get("name")):
        return "no kernel language in its metadata"
    if not any("parameters" in cell.metadata.get("tags", []) for cell in notebook.cells):
        return "no cell tagged `parameters` (papermill puts the report's parameters after it)"
    return None
