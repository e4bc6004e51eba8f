"""Atomic writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.paths import ProjectError

if TYPE_CHECKING:  # pandas is imported where tables are read or written: an unchanged run needs none
    import pandas as pd

CSV_ENCODING = "utf-8-sig"  # BOM so Excel opens Chinese text correctly
# Always text, even when every value looks like a number (a theme named 2024年 is fine, 1e5 is refused).
TEXT_COLUMNS = {"doc_id": str, "theme": str, "term": str, "label": str, "cluster_label": str, "item_no": str}
# CSV injection (OWASP): a spreadsheet runs a cell starting with one of these as a formula. Such a
# text cell is written with a leading apostrophe (shown as text, never run); a text cell that
# already starts with an apostrophe gets one more, so reading removes exactly one and every value
# comes back as it was.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
CSV_FIELD_LIMIT = 2**31 - 1  # the csv module's own limit (128 KB) would make one long value crash every reader


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


def safe_cell(value):
    """A value as written to a CSV meant for people: a text starting like a formula (or with the
    apostrophe that marks one) gets a leading apostrophe; numbers and other values are unchanged."""
    if isinstance(value, str) and value.startswith((*FORMULA_START, QUOTE)):
        return QUOTE + value
    return value


def text_cell(value):
    """A cell as read back: exactly what `safe_cell` wrote it from."""
    if isinstance(value, str) and value.startswith(QUOTE) and value[1:].startswith((*FORMULA_START, QUOTE)):
        return value[1:]
    return value


def csv_records(lines: Iterable[str], path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows (as dicts) of a CSV read with the csv module, fields of any length; a
    malformed file is one ProjectError line naming the file and the line."""
    csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.DictReader(lines)
    try:
        return list(reader.fieldnames or []), list(reader)
    except csv.Error as exc:
        raise ProjectError(f"{path}:{reader.line_num}: not a readable CSV ({exc}); fix that line") from None


def safe_column(column: pd.Series) -> pd.Series:
    """`safe_cell` of every value of a text column, decided once per distinct value (a 1,000-plan
    table repeats a few thousand values over a million rows)."""
    changed = {value: safe for value in column.unique() if (safe := safe_cell(value)) is not value}
    return column.mask(column.isin(list(changed)), column.map(changed)) if changed else column


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The exact bytes this project writes for a table: UTF-8 with BOM, `\\n` line ends, no index;
    text cells that a spreadsheet would run as formulas are neutralised (`safe_cell`)."""
    text = frame.select_dtypes(include=["object", "string"]).columns
    frame = frame.assign(**{column: safe_column(frame[column]) for column in text}) if len(text) else frame
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

    try:
        frame = pd.read_csv(path, encoding=CSV_ENCODING, dtype=TEXT_COLUMNS, keep_default_na=False)
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' ParserError and EmptyDataError are ValueErrors
        raise ProjectError(f"{path}: not a readable CSV table ({type(exc).__name__}); run again with --force") from None
    for column in frame.select_dtypes(include=["object", "string"]).columns:
        frame[column] = frame[column].map(text_cell)
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
