"""Helpers that test modules import (conftest.py holds the fixtures)."""

from __future__ import annotations

import io
import shutil
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace
from pathlib import Path

import yaml

from analysis.cli import main
from analysis.corpus.manifest import read_manifest, write_manifest
from analysis.params import Params, load_params
from analysis.params.ingest import IngestParams
from analysis.paths import Paths

FIXTURES = Path(__file__).parent / "fixtures"
PARAMS_DIR = Path(__file__).resolve().parents[1] / "params"
LIMITS = IngestParams.from_yaml(PARAMS_DIR / "ingest.yaml")  # the shipped limits


def project_params(**report: object) -> Params:
    """The project's params (params/), with report.yaml settings replaced by `report`."""
    params = load_params(PARAMS_DIR)
    return replace(params, report=replace(params.report, **report))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m analysis ARGS` run in this process: the same exit code, stdout and stderr, without
    an interpreter start and imports per call (use a subprocess only where that is the point)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(["python", "-m", "analysis", *args], code, out.getvalue(), err.getvalue())


def small_project(paths: Paths, root: Path) -> Paths:
    """Two plans, district pages and the comparison only: three notebooks per full run."""
    project = paths.copy_inputs(root)
    keep = {"yangpu_2024", "zhoushan_2024"}
    plans = read_manifest(project.raw)
    write_manifest(project.raw, [p for p in plans if p.doc_id in keep])
    for plan in plans:
        if plan.doc_id not in keep:
            (project.raw / plan.file).unlink()
    report = project.params / "report.yaml"
    params = yaml.safe_load(report.read_text(encoding="utf-8"))
    report.write_text(yaml.safe_dump({**params, "sets": {}, "analysis_notebooks": []}, allow_unicode=True),
                      encoding="utf-8")
    return project


def seeds_project(paths: Paths, seeds_processed: Path, target: Path) -> Paths:
    """A private project at `target`: the five plans' inputs and their processed snapshot (up to date,
    so a run goes straight to the reports)."""
    project = paths.copy_inputs(target)
    shutil.rmtree(project.processed)
    shutil.copytree(seeds_processed, project.processed, ignore=shutil.ignore_patterns(".lock"))
    return project


class InProcessKernel:
    """Stands for a report kernel: runs the page export's code in this process."""

    def run_code(self, code: str, timeout: int) -> None:
        exec(code, {})


def unexecuted_notebooks(paths: Paths, todo: list, staging: Path, workers: int, timeout: int, finish,
                         memory_mb: int | None = None) -> None:
    """A cheap `runner.execute_all` for tests of publish mechanics (not of notebooks): each job's
    notebook copied as its "executed" notebook, then exported to its page as a run does (real page,
    run digest included), without a kernel."""
    for job in todo:
        executed = staging / job.executed
        executed.parent.mkdir(parents=True, exist_ok=True)
        executed.write_bytes((paths.notebooks / job.notebook).read_bytes())
        finish(job, executed, InProcessKernel())
