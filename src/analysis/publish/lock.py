"""The locked environment: requirements.lock (`make lock`) read as pins, compared with what is
installed, and written out as the conda route's environment.yml. Standard library only."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)
LOCK_PYTHON = "3.11"  # the Python the lock is resolved for (`make lock`), on Linux x86_64
ENVIRONMENT_HEADER = """\
# Conda route: the same environment as requirements.lock (written by `make lock`; a test keeps them equal).
#   conda env create -f environment.yml && conda activate edu-plans
"""


def canonical(name: str) -> str:
    """A package name as PyPI compares it (PEP 503): lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(text: str) -> dict[str, str]:
    """The pins of a lock file: canonical package name → version."""
    return {canonical(name): pinned for name, pinned in PIN.findall(text)}


def installed_versions(names: list[str]) -> dict[str, str]:
    """The version of each package installed in this interpreter ("not installed" when absent)."""
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def lock_differences(pins: dict[str, str], installed: dict[str, str]) -> list[str]:
    """`name installed X, locked Y` for every pin the environment does not satisfy exactly."""
    return [f"{name} installed {installed.get(name, 'not installed')}, locked {pinned}"
            for name, pinned in sorted(pins.items()) if installed.get(name) != pinned]


def environment_status(lock: Path) -> dict:
    """What the manifest records about the environment: the lock's SHA-256, the installed version of
    every locked package, and whether they all equal the lock's pins."""
    import hashlib

    if not lock.is_file():
        return {"lock": lock.name, "lock_sha256": "missing", "installed": {}, "differs_from_lock": [],
                "matches_lock": False}
    data = lock.read_bytes()
    pins = read_lock(data.decode("utf-8"))
    installed = installed_versions(sorted(pins))
    differences = lock_differences(pins, installed)
    return {"lock": lock.name, "lock_sha256": hashlib.sha256(data).hexdigest(), "installed": installed,
            "differs_from_lock": differences, "matches_lock": not differences}


def environment_yml(lock_text: str) -> str:
    """environment.yml for conda: Python of the lock, pip, and every pin of the lock, then the project."""
    pins = "".join(f"      - {name}=={pinned}\n" for name, pinned in sorted(read_lock(lock_text).items()))
    return (f"{ENVIRONMENT_HEADER}name: edu-plans\nchannels:\n  - conda-forge\ndependencies:\n"
            f"  - python={LOCK_PYTHON}\n  - pip\n  - pip:\n{pins}      - -e .\n")


def write_environment_yml(lock: Path, target: Path) -> None:
    """`make lock`: rewrite environment.yml from the lock."""
    target.write_text(environment_yml(lock.read_text(encoding="utf-8")), encoding="utf-8")
