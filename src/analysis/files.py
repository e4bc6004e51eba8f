"""Atomic writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported where tables are read or written: an unchanged run needs none
    import pandas as pd

CSV_ENCODING = "utf-8-sig"  # BOM so Excel opens Chinese text correctly
# Always text, even when every value looks like a number (a theme named 2024年 is fine, 1e5 is refused).
TEXT_COLUMNS = {"doc_id": str, "theme": str, "term": str, "label": str, "cluster_label": str, "item_no": str}


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temp file beside `path`, fsync it, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The exact bytes this project writes for a table: UTF-8 with BOM, `\\n` line ends, no index."""
    return frame.to_csv(index=False, lineterminator="\n").encode(CSV_ENCODING)


def write_csv_atomic(path: Path, frame: pd.DataFrame) -> None:
    write_bytes_atomic(path, csv_bytes(frame))


def write_tables(folder: Path, tables: dict[str, pd.DataFrame]) -> list[Path]:
    """Write each table to `folder / file name` with `write_csv_atomic`; return the paths."""
    written = []
    for name, frame in tables.items():
        write_csv_atomic(Path(folder) / name, frame)
        written.append(Path(folder) / name)
    return written


def read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV written by `write_csv_atomic` (or a plain UTF-8 one). Empty text stays "", but a
    column of numbers with empty cells (an interval that does not apply) is numeric with NaN."""
    import pandas as pd

    frame = pd.read_csv(path, encoding=CSV_ENCODING, dtype=TEXT_COLUMNS, keep_default_na=False)
    for column in frame.columns.difference(list(TEXT_COLUMNS)):
        if pd.api.types.is_string_dtype(frame[column]) and (frame[column] == "").any():
            numbers = pd.to_numeric(frame[column].replace("", None), errors="coerce")
            if numbers.notna().sum() == (frame[column] != "").sum():
                whole = numbers.notna().any() and numbers.dropna().mod(1).eq(0).all()  # all empty: float NaN
                frame[column] = numbers.astype("Int64") if whole else numbers
    return frame


JOURNAL = ".publish.json"
STAGING_PREFIX = ".staging-"


@contextmanager
def staging_folder(target: Path) -> Iterator[Path]:
    """A scratch folder inside `target` for one publish. Removed on leaving, unless a publish into
    `target` was interrupted after its journal named it: then `recover` needs its files."""
    staging = Path(tempfile.mkdtemp(dir=target, prefix=STAGING_PREFIX))
    try:
        yield staging
    finally:
        if _journal_entry(target).get("staging") != staging.name:
            shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, target: Path, remove: Iterable[str] = (), stamp: str | None = None) -> list[str]:
    """Move every file of `staging` into `target` and delete `remove` (relative paths) as one unit.

    A journal listing the steps is written first: the moves, the deletions, and last the `stamp`
    file (what says the publish is complete). If the process dies half-way, `recover` (run at the
    start of the next run) replays the journal, so readers end up with all new files, never a mix.
    """
    files = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
    if stamp in files:
        files = [*(f for f in files if f != stamp), stamp]
    entry = {"staging": staging.name, "files": files, "remove": sorted(set(remove) - set(files))}
    journal = target / JOURNAL
    write_text_atomic(journal, json.dumps(entry, ensure_ascii=False))
    _replay(target, entry)
    journal.unlink()
    return files


def recover(target: Path) -> bool:
    """Finish a publish interrupted by a crash, and drop staging folders of runs that died earlier."""
    journal = target / JOURNAL
    entry = _journal_entry(target)
    if entry:
        _replay(target, entry)
    journal.unlink(missing_ok=True)  # an unreadable journal: its publish never began to move files
    for leftover in target.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    return bool(entry)


def _journal_entry(target: Path) -> dict:
    """The journal of an unfinished publish into `target`, or {} (none, or written only in part)."""
    try:
        entry = json.loads((target / JOURNAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return entry if isinstance(entry, dict) and isinstance(entry.get("files"), list) else {}


def _replay(target: Path, entry: dict) -> None:
    """The steps of a journal, in order; each may already be done (a replay after a crash)."""
    staging = target / entry["staging"]
    *files, last = entry["files"] or [None]
    _move(staging, target, files)
    for rel in entry.get("remove", []):
        inside(target, rel).unlink(missing_ok=True)
    if last is not None:
        _move(staging, target, [last])


def inside(folder: Path, rel: str) -> Path:
    """`folder / rel`, refusing (ValueError) a path that is absolute, climbs out with `..` or resolves
    (through symlinks) outside `folder`."""
    path = folder / rel
    if not rel or Path(rel).is_absolute() or ".." in Path(rel).parts or not path.resolve().is_relative_to(
            folder.resolve()):
        raise ValueError(f"{rel!r} lies outside {folder}")
    return path


def _move(staging: Path, target: Path, files: list[str]) -> None:
    for rel in files:
        source = staging / rel
        if source.is_file():  # already moved before an interruption
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target / rel)
