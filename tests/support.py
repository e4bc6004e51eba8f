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
