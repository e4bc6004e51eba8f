"""Read-only access to the processed snapshot (data/processed) that notebooks and reports read.

Notebooks never process data: they read the tables the last run published. Run by the pipeline, a
notebook is given the run's snapshot id and refuses a snapshot that changed under it; opened by
hand, it refuses a snapshot that is out of date with data/raw, params or the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from analysis.paths import Paths, ProjectError
from analysis.stages.registry import read_stamps, snapshot_id, stage_keys

if TYPE_CHECKING:
    import pandas as pd

_tables: dict[tuple[Path, str, str], pd.DataFrame] = {}  # one snapshot's tables, shared by the notebooks of a kernel


def check_snapshot(paths: Paths, snapshot: str = "") -> str:
    """The id of the published snapshot after checking it is the one expected: `snapshot` when given
    (the run's), otherwise one that matches the current raw data, params and code."""
    hint = "run `make reports` (or `python -m analysis run`)"
    stamps = read_stamps(paths.processed)
    if not stamps:
        raise ProjectError(f"{paths.processed}: no processed data yet; {hint} first")
    current = snapshot_id(paths.processed)
    if snapshot and snapshot != current:
        raise ProjectError(f"{paths.processed} changed while this report was being built; {hint} again")
    if not snapshot and stamps["keys"] != stage_keys(paths):
        raise ProjectError(
            f"{paths.processed} is out of date with data/raw, params/ or the code; {hint} to bring it up to date"
        )
    return current


def read_table(paths: Paths, name: str, snapshot: str) -> pd.DataFrame:
    """Table `name` (data/processed/<name>.csv) of a checked snapshot, read once per kernel."""
    from analysis.files import read_csv

    key = (paths.processed, snapshot, name)
    if key not in _tables:
        if any(k[:2] != key[:2] for k in _tables):
            _tables.clear()  # a new snapshot: forget the old one
        path = paths.processed / f"{name}.csv"
        if not path.is_file():
            raise ProjectError(f"{path}: missing from the processed snapshot; run `make reports` again")
        _tables[key] = read_csv(path)
    return _tables[key]
