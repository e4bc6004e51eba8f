"""The environment is locked: requirements.lock pins every package (with hashes) at versions that
pyproject.toml allows, and environment.yml (conda route) installs exactly the same pins."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from analysis.paths import Paths
from analysis.publish.lock import LOCK_PYTHON, environment_yml, lock_differences, read_lock

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")


def normalise(requirement: str) -> str:
    """One spelling per requirement: canonical name, sorted extras and specifiers, marker."""
    req = Requirement(requirement)
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    specifier = ",".join(sorted(str(s) for s in req.specifier))
    marker = f"; {req.marker}" if req.marker else ""
    return f"{canonicalize_name(req.name)}{extras}{specifier}{marker}"


def pyproject_requirements(pyproject: dict[str, Any]) -> list[str]:
    project = pyproject["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["dev"]]


def lock_drift(pyproject: dict[str, Any], pins: dict[str, str]) -> list[str]:
    """Requirements of pyproject.toml that the lock leaves out or pins outside their range."""
    drift = []
    for text in pyproject_requirements(pyproject):
        req = Requirement(text)
        pinned = pins.get(canonicalize_name(req.name))
        if pinned is None:
            drift.append(f"not in requirements.lock: {normalise(text)}")
        elif not req.specifier.contains(pinned, prereleases=True):
            drift.append(f"requirements.lock pins {req.name}=={pinned}, pyproject.toml wants {normalise(text)}")
    return drift


def pip_list(environment: dict[str, Any]) -> list[str]:
    """The one `pip:` list under environment.yml's dependencies."""
    pip_lists = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, "environment.yml needs exactly one `pip:` list"
    return pip_lists[0]


def conda_pins(environment: dict[str, Any]) -> dict[str, str]:
    """The `name==version` pins of environment.yml's pip list (the editable project left out)."""
    pins = {}
    for text in pip_list(environment):
        if not text.startswith("-e "):
            req = Requirement(text)
            assert [s.operator for s in req.specifier] == ["=="], f"environment.yml: {text} is not a pin"
            pins[canonicalize_name(req.name)] = next(iter(req.specifier)).version
    return pins


def pin_drift(lock: dict[str, str], conda: dict[str, str]) -> list[str]:
    """Pins present or different in only one of requirements.lock and environment.yml."""
    return [f"only in requirements.lock: {n}=={v}" for n, v in sorted(lock.items()) if conda.get(n) != v] + [
        f"only in environment.yml: {n}=={v}" for n, v in sorted(conda.items()) if lock.get(n) != v
    ]


@pytest.fixture(scope="module")
def pyproject(paths: Paths) -> dict[str, Any]:
    return tomllib.loads((paths.root / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def lock_text(paths: Paths) -> str:
    return paths.lock.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def environment(paths: Paths) -> dict[str, Any]:
    return yaml.safe_load((paths.root / "environment.yml").read_text(encoding="utf-8"))


def test_lock_pins_every_requirement_of_pyproject_in_range(pyproject: dict, lock_text: str) -> None:
    assert lock_drift(pyproject, read_lock(lock_text)) == []


def test_every_pin_of_the_lock_is_hash_checked(lock_text: str) -> None:
    """`pip install --require-hashes -r requirements.lock` refuses a pin without a hash."""
    blocks = re.split(r"\n(?=\S)", lock_text)
    pinned = [b for b in blocks if re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*==", b)]
    assert len(pinned) == len(read_lock(lock_text)) > 20
    assert [b.split(" ")[0] for b in pinned if "--hash=sha256:" not in b] == []


def test_environment_yml_pins_exactly_the_lock(lock_text: str, environment: dict, paths: Paths) -> None:
    assert pin_drift(read_lock(lock_text), conda_pins(environment)) == []
    assert (paths.root / "environment.yml").read_text(encoding="utf-8") == environment_yml(lock_text)


def test_environment_yml_has_the_lock_python_pip_and_the_project(pyproject: dict, environment: dict) -> None:
    conda = [d for d in environment["dependencies"] if isinstance(d, str)]
    assert "pip" in conda
    assert [d for d in conda if d.startswith("python")] == [f"python={LOCK_PYTHON}"]
    assert Requirement(f"python{pyproject['project']['requires-python']}").specifier.contains(f"{LOCK_PYTHON}.0")
    assert "-e ." in pip_list(environment)


def test_normalise_ignores_spelling_only() -> None:
    assert normalise("PyYAML >= 6.0") == normalise("pyyaml>=6.0")
    assert normalise("charset_normalizer>=3.3,<4") == normalise("charset-normalizer<4,>=3.3")
    assert normalise("pandas>=2.1") != normalise("pandas>=2.2")


def test_drift_is_detected(pyproject: dict, lock_text: str, environment: dict) -> None:
    pins = read_lock(lock_text)
    no_ruff = {n: v for n, v in pins.items() if n != "ruff"}
    assert lock_drift(pyproject, no_ruff) == ["not in requirements.lock: ruff>=0.5"]
    assert lock_drift(pyproject, pins | {"pandas": "2.0.3"}) == [
        "requirements.lock pins pandas==2.0.3, pyproject.toml wants pandas>=2.1"
    ]
    extra = copy.deepcopy(pyproject)
    extra["project"]["dependencies"].append("requests-oauthlib>=2")
    assert lock_drift(extra, pins) == ["not in requirements.lock: requests-oauthlib>=2"]

    bumped = copy.deepcopy(environment)
    pip_list(bumped)[:] = [r.replace(f"pandas=={pins['pandas']}", "pandas==2.1.0") for r in pip_list(bumped)]
    assert pin_drift(pins, conda_pins(bumped)) == [f"only in requirements.lock: pandas=={pins['pandas']}",
                                                   "only in environment.yml: pandas==2.1.0"]


def test_installed_versions_are_compared_with_the_pins() -> None:
    assert read_lock("Foo_Bar==1.0 \\\n    --hash=sha256:ab\nbaz==2.0rc1 ; python_version >= '3'\n") == {
        "foo-bar": "1.0", "baz": "2.0rc1"}
    assert lock_differences({"foo-bar": "1.0", "baz": "2.0"}, {"foo-bar": "1.0", "baz": "2.1"}) == [
        "baz installed 2.1, locked 2.0"]
    assert lock_differences({"qux": "1"}, {}) == ["qux installed not installed, locked 1"]
