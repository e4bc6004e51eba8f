"""Shared fixtures: the real project, and throw-away copies of it for tests that write."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from filelock import FileLock

from analysis.params import load_params
from analysis.params.clean import CleanParams, StructureParams
from analysis.paths import Paths
from analysis.stages.dataset import CorpusTables, structure_corpus

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def paths() -> Paths:
    return Paths(ROOT)


@pytest.fixture(scope="session")
def clean_rules(paths: Paths) -> CleanParams:
    return CleanParams.from_yaml(paths.params / "clean.yaml")


@pytest.fixture(scope="session")
def structure_rules(paths: Paths) -> StructureParams:
    return StructureParams.from_yaml(paths.params / "structure.yaml")


@pytest.fixture(scope="session")
def corpus(paths: Paths) -> CorpusTables:
    """The five real plans, cleaned and structured in memory (nothing written)."""
    return structure_corpus(paths.raw, load_params(paths.params))


@pytest.fixture
def project(tmp_path: Path, paths: Paths) -> Paths:
    """A private copy of the project (code excluded) that a test may run and damage."""
    return paths.copy_inputs(tmp_path)


@pytest.fixture(scope="session")
def seeds_processed(paths: Paths, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """data/processed of the five plans after the stages (no notebooks), built once per test session
    and shared by the xdist workers (a lock and a marker in the common temporary folder). Read only:
    use support.seeds_project for a project that holds it."""
    from analysis.pipeline import ensure_processed

    base = tmp_path_factory.getbasetemp()  # under xdist: one folder per worker in the session's folder
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "seeds_processed"
    with FileLock(str(shared) + ".lock"):
        if not (shared / "DONE").is_file():
            shutil.rmtree(shared, ignore_errors=True)
            project = paths.copy_inputs(shared)
            ensure_processed(project, log=lambda line: None)
            (shared / "DONE").touch()
    return shared / "data" / "processed"


@pytest.fixture(scope="session")
def published(paths: Paths, tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """The small project (two plans, district pages and the comparison) after one successful run.
    Tests that change it work on a copy."""
    from support import cli, small_project

    project = small_project(paths, tmp_path_factory.mktemp("published"))
    result = cli("--root", str(project.root), "run", "--jobs", "2")
    assert result.returncode == 0, result.stderr
    return project
