"""environment.yml (conda route) must install exactly what pyproject.toml declares."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from analysis.paths import Paths

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")


def normalise(requirement: str) -> str:
    """One spelling per requirement: canonical name, sorted extras and specifiers, marker."""
    req = Requirement(requirement)
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    specifier = ",".join(sorted(str(s) for s in req.specifier))
    marker = f"; {req.marker}" if req.marker else ""
    return f"{canonicalize_name(req.name)}{extras}{specifier}{marker}"


def pyproject_requirements(pyproject: dict[str, Any]) -> set[str]:
    project = pyproject["project"]
    return {normalise(r) for r in [*project["dependencies"], *project["optional-dependencies"]["dev"]]}


def pip_list(environment: dict[str, Any]) -> list[str]:
    """The one `pip:` list under environment.yml's dependencies."""
    pip_lists = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, "environment.yml needs exactly one `pip:` list"
    return pip_lists[0]


def conda_pip_requirements(environment: dict[str, Any]) -> set[str]:
    """The pip requirements of environment.yml, minus the editable install of the project itself."""
    return {normalise(r) for r in pip_list(environment) if not r.startswith("-e ")}


def requirement_drift(pyproject: dict[str, Any], environment: dict[str, Any]) -> list[str]:
    """Requirements present in only one of the two files, labelled with where they are."""
    ours, conda = pyproject_requirements(pyproject), conda_pip_requirements(environment)
    return [f"only in pyproject.toml: {r}" for r in sorted(ours - conda)] + [
        f"only in environment.yml: {r}" for r in sorted(conda - ours)
    ]


@pytest.fixture(scope="module")
def pyproject(paths: Paths) -> dict[str, Any]:
    return tomllib.loads((paths.root / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def environment(paths: Paths) -> dict[str, Any]:
    return yaml.safe_load((paths.root / "environment.yml").read_text(encoding="utf-8"))


def test_environment_yml_matches_pyproject(pyproject: dict, environment: dict) -> None:
    assert requirement_drift(pyproject, environment) == []


def test_environment_yml_has_python_pip_and_the_project(pyproject: dict, environment: dict) -> None:
    conda = [d for d in environment["dependencies"] if isinstance(d, str)]
    assert "pip" in conda
    python = [d for d in conda if d.startswith("python")]
    assert python == [f"python{pyproject['project']['requires-python']}"]
    assert "-e ." in pip_list(environment)


def test_normalise_ignores_spelling_only() -> None:
    assert normalise("PyYAML >= 6.0") == normalise("pyyaml>=6.0")
    assert normalise("charset_normalizer>=3.3,<4") == normalise("charset-normalizer<4,>=3.3")
    assert normalise("pandas>=2.1") != normalise("pandas>=2.2")


def test_drift_is_detected(pyproject: dict, environment: dict) -> None:
    bumped = copy.deepcopy(environment)
    pip_list(bumped)[:] = [r.replace("pandas>=2.1", "pandas>=2.2") for r in pip_list(bumped)]
    assert requirement_drift(pyproject, bumped) == [
        "only in pyproject.toml: pandas>=2.1",
        "only in environment.yml: pandas>=2.2",
    ]

    missing = copy.deepcopy(environment)
    pip_list(missing).remove("ruff>=0.5")
    assert requirement_drift(pyproject, missing) == ["only in pyproject.toml: ruff>=0.5"]

    extra = copy.deepcopy(pyproject)
    extra["project"]["dependencies"].append("requests>=2")
    assert requirement_drift(extra, environment) == ["only in pyproject.toml: requests>=2"]
