"""Atomic writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
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


def publish(staging: Path, target: Path) -> list[str]:
    """Move every file of `staging` into `target` as one unit.

    A journal listing the moves is written first; if the process dies half-way, `recover` (run at
    the start of the next run) finishes the moves, so readers end up with all new files, never a mix.
    """
    files = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
    journal = target / JOURNAL
    write_text_atomic(journal, json.dumps({"staging": staging.name, "files": files}, ensure_ascii=False))
    _move(staging, target, files)
    journal.unlink()
    return files


def recover(target: Path) -> bool:
    """Finish a publish interrupted by a crash, and drop staging folders of runs that died earlier."""
    journal = target / JOURNAL
    finished = journal.is_file()
    if finished:
        entry = json.loads(journal.read_text(encoding="utf-8"))
        _move(target / entry["staging"], target, entry["files"])
        journal.unlink()
    for leftover in target.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    return finished


def _move(staging: Path, target: Path, files: list[str]) -> None:
    for rel in files:
        source = staging / rel
        if source.is_file():  # already moved before an interruption
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target / rel)
