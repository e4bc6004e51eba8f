"""A run that cannot finish says why in one line and leaves published reports alone; a run that
finishes is reproducible.

- A broken report notebook (missing, truncated, not JSON, not a valid notebook, no kernel
  language, no `parameters` cell) is reported by `check`, and stops `run` before any stage or
  notebook runs, with nothing written.
- A kernel that dies or a cell that outlives `cell_timeout` (params/report.yaml) ends the run with
  exit status 2 and one error line naming notebook, page and cell: no traceback, no kernel left
  running, the executed notebook kept under reports/failed/, published reports byte-identical.
- Two forced runs write byte-identical pages and executed notebooks (the build time only lives
  in reports/run_manifest.json); the stability figure of notebook 03 draws no random jitter.

The project is the two-plan copy of test_determinism (no plan sets, no analysis notebooks): one
run executes three notebooks.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import numpy as np
import pytest

from analysis.cli import main
from analysis.files import read_csv
from analysis.params.clusters import ClusterParams
from analysis.params.report import ReportParams
from analysis.paths import Paths, ProjectError
from analysis.views.plots import plot_stability
from test_determinism import kernels_of, state

DISTRICT = "10_district_report.ipynb"
COMPARISON = "20_comparison_report.ipynb"
FIRST_PAGE = "districts/yangpu_2024.html"  # the first job of a run: a bad district notebook fails there


def copy_of(project: Paths, tmp_path: Path) -> Paths:
    copy = Paths(tmp_path / "copy")
    shutil.copytree(project.root, copy.root)
    return copy


def outputs(project: Paths) -> dict[str, str]:
    """sha256 of every page and executed notebook under reports/."""
    return {name: sha for name, sha in state(project.reports).items() if name.endswith((".html", ".ipynb"))}


def published_files(project: Paths) -> dict[str, str]:
    """sha256 of every file under reports/ except reports/failed/."""
    return {name: sha for name, sha in state(project.reports).items() if not name.startswith("failed/")}


def error_lines(stderr: str) -> list[str]:
    """stderr without the progress bar (tqdm's `\\r`-separated updates all hold a `|`)."""
    return [line for line in stderr.splitlines() if line.strip() and "|" not in line]


def insert_first_cell(notebook: Path, source: str) -> None:
    node = nbformat.read(notebook, as_version=4)
    node.cells.insert(0, nbformat.v4.new_code_cell(source))
    nbformat.write(node, notebook)


def set_cell_timeout(report: Path, value: int | str) -> None:
    text = report.read_text(encoding="utf-8")
    assert "cell_timeout: 300" in text
    report.write_text(text.replace("cell_timeout: 300", f"cell_timeout: {value}"), encoding="utf-8")


# --- broken notebooks ----------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    """Cut the notebook in half, at a character boundary (half its bytes may split a Chinese character)."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")


def _edit(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        change(notebook)
        path.write_text(json.dumps(notebook, ensure_ascii=False), encoding="utf-8")

    return damage


def _untag_parameters(notebook: dict) -> None:
    for cell in notebook["cells"]:
        cell["metadata"].pop("tags", None)


def _drop_kernel(notebook: dict) -> None:
    notebook["metadata"].pop("kernelspec")
    notebook["metadata"].pop("language_info")


BROKEN = {
    "missing": (DISTRICT, Path.unlink, "report notebook not found"),
    "truncated": (COMPARISON, _truncate, r"not JSON, truncated or damaged \(line \d+, column \d+: .+\)"),
    "not JSON": (DISTRICT, lambda p: p.write_text("<html>这不是笔记本</html>", encoding="utf-8"),
                 r"not JSON, truncated or damaged \(line 1, column 1: Expecting value\)"),
    "invalid": (COMPARISON, _edit(lambda nb: nb["cells"][1].pop("outputs")),
                r"not a valid notebook \('outputs' is a required property\)"),
    "no parameters cell": (DISTRICT, _edit(_untag_parameters), r"no cell tagged `parameters` .*"),
    "analysis notebook without kernel": ("03_tfidf_clusters.ipynb", _edit(_drop_kernel),
                                         "no kernel language in its metadata"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_notebook_is_reported_by_check_and_stops_run_before_any_work(
    project: Paths, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    name, damage, problem = BROKEN[case]
    notebook = project.notebooks / name
    damage(notebook)
    line = re.compile(rf"error: {re.escape(str(notebook))}: {problem}; restore it from git")
    for command in ("check", "run"):
        assert main(["--root", str(project.root), command]) == 2
        out, err = capsys.readouterr()
        assert len(err.splitlines()) == 1 and line.fullmatch(err.splitlines()[0]), (command, err)
        assert not out.strip(), (command, out)  # not a single stage ran
    assert state(project.processed) == {} and state(project.reports) == {}  # lock files only


def test_every_broken_notebook_gets_its_own_line(project: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    for name in (DISTRICT, COMPARISON):
        (project.notebooks / name).write_text("{", encoding="utf-8")
    assert main(["--root", str(project.root), "check"]) == 2
    assert [line.split(": ")[1] for line in capsys.readouterr().err.splitlines()] == [
        str(project.notebooks / DISTRICT), str(project.notebooks / COMPARISON)
    ]


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "'300'", "true", "null"])
def test_cell_timeout_is_a_positive_whole_number(paths: Paths, tmp_path: Path, value: str) -> None:
    report = tmp_path / "report.yaml"
    shutil.copy(paths.params / "report.yaml", report)
    set_cell_timeout(report, value)
    with pytest.raises(ProjectError, match=r"cell_timeout must be a whole number of seconds of at least 1"):
        ReportParams.from_yaml(report)


# --- failures while notebooks run ---------------------------------------------------------------


def test_dead_kernel_is_one_line_and_leaves_published_reports(
    published: Paths, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = copy_of(published, tmp_path)
    before = published_files(project)
    notebook = project.notebooks / DISTRICT
    insert_first_cell(notebook, "import os; os._exit(1)")

    assert main(["--root", str(project.root), "run", "--jobs", "1"]) == 2
    failed = project.reports / "failed" / "districts__yangpu_2024.ipynb"
    assert error_lines(capfd.readouterr().err) == [
        f"error: {notebook} ({FIRST_PAGE}): cell 1: kernel died (crashed or ran out of memory); "
        f"executed notebook kept at {failed}"
    ]
    assert not kernels_of(os.getpid())
    assert "os._exit(1)" in failed.read_text(encoding="utf-8")
    assert published_files(project) == before


def test_hanging_cell_times_out_with_one_line_and_no_kernel_left(published: Paths, tmp_path: Path) -> None:
    """Through the real command line: its whole stderr is checked (logging, kernel output)."""
    project = copy_of(published, tmp_path)
    set_cell_timeout(project.params / "report.yaml", 3)
    before = published_files(project)
    notebook = project.notebooks / DISTRICT
    insert_first_cell(notebook, "import time; time.sleep(10**6)")

    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis", "--root", str(project.root), "run", "--jobs", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
    )
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, err
    failed = project.reports / "failed" / "districts__yangpu_2024.ipynb"
    assert error_lines(err) == [
        f"error: {notebook} ({FIRST_PAGE}): cell 1 timed out after 3 s (cell_timeout in params/report.yaml); "
        f"executed notebook kept at {failed}"
    ]
    assert not kernels_of(proc.pid)
    assert "time.sleep(10**6)" in failed.read_text(encoding="utf-8")
    assert published_files(project) == before


# --- reproducible pages --------------------------------------------------------------------------


def test_forced_rerun_writes_byte_identical_pages_and_notebooks(published: Paths) -> None:
    """In place: a copy elsewhere would differ by its root folder, a notebook parameter."""
    first = outputs(published)
    assert {"index.html", "comparison.html", FIRST_PAGE, "notebooks/comparison.ipynb"} <= set(first)
    built_at = json.loads((published.reports / "run_manifest.json").read_text(encoding="utf-8"))["built_at"]
    for page in published.reports.rglob("*.html"):
        assert built_at not in page.read_text(encoding="utf-8"), page

    assert main(["--root", str(published.root), "run", "--force", "--jobs", "2"]) == 0
    assert outputs(published) == first


def test_stability_figure_does_not_depend_on_the_global_random_state(published: Paths) -> None:
    """seaborn's stripplot jittered the ARI points with numpy's global generator, so this figure of
    notebook 03 changed on every run."""
    stability = read_csv(published.processed / "cluster_stability.csv")
    summary = read_csv(published.processed / "cluster_summary.csv")
    jaccard_min = ClusterParams.from_yaml(published.params / "clusters.yaml").jaccard_min

    def png(seed: int) -> bytes:
        np.random.seed(seed)
        buffer = io.BytesIO()
        plot_stability(stability, summary, jaccard_min).savefig(buffer, format="png")
        return buffer.getvalue()

    assert png(1) == png(2)
