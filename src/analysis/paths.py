"""The one module that knows where things live: every path derives from the project root."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT_MARKER = "pyproject.toml"
LOCK, CITATION = "requirements.lock", "CITATION.cff"
INPUTS = (ROOT_MARKER, LOCK, CITATION, "params", "notebooks", "data/raw", "data/annotations")  # the rest is derived


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """`text` on one terminal line: control characters (newlines, ANSI escapes) shown as escapes."""
    return CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class ProjectError(Exception):
    """A user-facing error: one line per problem, each naming the file and what to do.

    Each problem is made printable, so a newline or escape sequence from user input (a file
    name, a title) never splits a problem into two lines or reaches the terminal raw.
    """

    def __init__(self, *problems: str) -> None:
        self.problems = [printable(str(p)) for p in problems]
        super().__init__("\n".join(self.problems))


def is_project(folder: Path) -> bool:
    return (folder / ROOT_MARKER).is_file() and (folder / "params").is_dir()


def find_root(start: Path | None = None) -> Path:
    """Walk up from `start` (default: cwd, or $ANALYSIS_ROOT) to the folder holding pyproject.toml."""
    start = Path(start or os.environ.get("ANALYSIS_ROOT") or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if is_project(folder):
            return folder
    raise ProjectError(
        f"{start}: not inside an analysis project (no {ROOT_MARKER} with params/ above it); "
        "cd into the project or pass --root"
    )


@dataclass(frozen=True)
class Paths:
    """All project folders, derived from the root."""

    root: Path

    @classmethod
    def from_root(cls, root: Path | str | None = None) -> Paths:
        """The project at `root` exactly (never a parent of it), or found upward from the cwd."""
        if not root:
            return cls(find_root())
        folder = Path(root).resolve()
        if not folder.is_dir():
            raise ProjectError(f"{folder}: no such folder; pass the project folder (the one with {ROOT_MARKER})")
        if not is_project(folder):
            raise ProjectError(
                f"{folder}: not an analysis project (no {ROOT_MARKER} and params/ here); pass the project folder"
            )
        return cls(folder)

    def copy_inputs(self, target: Path) -> Paths:
        """A new project at `target` holding this one's inputs (those it has: data/annotations is
        optional) and nothing derived (tests, benchmarks)."""
        target.mkdir(parents=True, exist_ok=True)
        for name in INPUTS:
            source = self.root / name
            if source.is_dir():
                shutil.copytree(source, target / name)
            elif source.is_file():
                shutil.copy(source, target / name)
        copy = Paths(target)
        copy.processed.mkdir(parents=True)
        copy.reports.mkdir()
        return copy

    @property
    def lock(self) -> Path:
        """requirements.lock: the pinned environment (`make lock`)."""
        return self.root / LOCK

    @property
    def citation(self) -> Path:
        return self.root / CITATION

    @property
    def raw(self) -> Path:
        return self.root / "data" / "raw"

    @property
    def manifest(self) -> Path:
        return self.raw / "manifest.csv"

    @property
    def annotations(self) -> Path:
        """The hand coding of items × themes that the lexicon is validated against (optional)."""
        return self.root / "data" / "annotations" / "item_themes.csv"

    @property
    def policy_tool_annotations(self) -> Path:
        """The hand coding of items × policy sub-tools that the cues are validated against (optional)."""
        return self.root / "data" / "annotations" / "policy_tools.csv"

    @property
    def codings(self) -> Path:
        """Who made each coding under data/annotations (codings.yaml, analysis.params.annotations)."""
        return self.root / "data" / "annotations" / "codings.yaml"

    @property
    def coders(self) -> Path:
        """The codings imported with `python -m analysis coding import`, one file per coder."""
        return self.root / "data" / "annotations" / "coders"

    @property
    def processed(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def clean(self) -> Path:
        return self.processed / "clean"

    @property
    def params(self) -> Path:
        return self.root / "params"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def reports(self) -> Path:
        return self.root / "reports"
