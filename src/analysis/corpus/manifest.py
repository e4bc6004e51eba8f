"""The manifest of data/raw (manifest.csv): its rows as Plans, and validation against the files.

data/raw is immutable and holds real files (no symbolic links). Only `analysis.corpus.add` creates
a file there (plus its manifest row) and only `accept_checksum` changes a row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path

from analysis.chars import CJK
from analysis.corpus.ingest import ACCEPTED
from analysis.corpus.reader import PlanReader, project_reader
from analysis.corpus.vocab import ADMIN_LEVELS, COMPLETENESS, MANIFEST_COLUMNS
from analysis.files import JOURNAL, csv_records, recover, safe_cell, text_cell, write_bytes_atomic
from analysis.paths import ProjectError

YEAR_RANGE = (1990, 2100)
YEAR_TEXT = re.compile(r"[0-9]{4}")  # ASCII only: str.isdigit and \d accept ２０２４ and 202²
DOC_ID_RE = re.compile(r"[a-z][a-z0-9]*_[0-9]{4}")
# The longest value each column may hold (characters): far above any real plan's, so that one
# pasted page or a hostile metadata file cannot make manifest.csv unreadable or a report unusable
# (the year is a number, checked by its range).
FIELD_MAX_CHARS = {
    "doc_id": 45, "district": 10, "region": 200, "admin_level": 1,
    "title": 200, "source": 2000, "file": 50, "completeness": 9, "sha256": 64,
}
# Characters no field may hold: controls (line breaks, escapes), format characters (bidirectional
# overrides that reorder what a reader sees, zero-width marks), line/paragraph separators, private use.
HIDDEN_CATEGORIES = ("Cc", "Cf", "Zl", "Zp", "Co", "Cs")
DISTRICT_RE = re.compile(rf"[{CJK}]{{1,10}}")


@dataclass(frozen=True)
class Plan:
    """One manifest row; `year` as int."""

    doc_id: str
    district: str
    region: str
    admin_level: str
    year: int
    title: str
    source: str
    file: str
    completeness: str
    sha256: str

    def as_row(self) -> dict[str, str | int]:
        return {column: getattr(self, column) for column in MANIFEST_COLUMNS}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- manifest ---------------------------------------------------------------------------------


def year_problem(text: str) -> str | None:
    """Why `text` is not a year as the manifest and `add --year` write it (four ASCII digits)."""
    if YEAR_TEXT.fullmatch(text):
        return None
    text = text if len(text) <= 12 else text[:12] + "…"  # a hostile value is not repeated whole
    return f"year {text!r} is not a four-digit year in ASCII digits 0-9; write e.g. 2025"


def parse_year(text: str) -> int:
    """A year given as text (e.g. `add --year`): four ASCII digits, else ProjectError."""
    if (problem := year_problem(text.strip())) is not None:
        raise ProjectError(problem)
    return int(text)


def symlink_problem(path: Path) -> str | None:
    """A problem when `path`, in data/raw, is a symbolic link rather than the file itself."""
    if not path.is_symlink():
        return None
    return (
        f"{path}: is a symbolic link; data/raw holds real, immutable files — "
        "replace the link with a copy of the file it points to"
    )


def read_manifest(raw_dir: Path) -> list[Plan]:
    """Parse manifest.csv into Plans; structural problems raise ProjectError."""
    path = raw_dir / "manifest.csv"
    if (link := symlink_problem(path)) is not None:
        raise ProjectError(link)
    if not path.is_file():
        raise ProjectError(f"{path}: manifest not found; create it or run `python -m analysis add`")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header, rows = csv_records(handle, path)
    except UnicodeDecodeError as exc:
        raise ProjectError(
            f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 (in Excel: CSV UTF-8)"
        ) from None
    if header != MANIFEST_COLUMNS:
        raise ProjectError(f"{path}: header must be exactly {','.join(MANIFEST_COLUMNS)}")
    plans = []
    for line, row in enumerate(rows, start=2):
        if None in row or any(value is None for value in row.values()):
            raise ProjectError(f"{path}:{line}: wrong number of fields; quote values that contain commas")
        year = row["year"].strip()
        if (problem := year_problem(year)) is not None:
            raise ProjectError(f"{path}:{line}: {problem}")
        plans.append(Plan(**{**{k: text_cell(v).strip() for k, v in row.items()}, "year": int(year)}))
    return plans


def manifest_bytes(plans: list[Plan]) -> bytes:
    """manifest.csv as written, rows in the given order (so an added row is a one-line diff)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    writer.writerows([safe_cell(value) for value in plan.as_row().values()] for plan in plans)
    return buffer.getvalue().encode("utf-8")


def write_manifest(raw_dir: Path, plans: list[Plan]) -> None:
    """Rewrite manifest.csv atomically."""
    write_bytes_atomic(raw_dir / "manifest.csv", manifest_bytes(plans))


# --- validation -------------------------------------------------------------------------------


def _check_doc_id(plan: Plan) -> str | None:
    if not DOC_ID_RE.fullmatch(plan.doc_id):
        return f"doc_id {plan.doc_id!r} must look like <pinyin>_<year>, e.g. yangpu_2024"
    if not plan.doc_id.endswith(f"_{plan.year}"):
        return f"doc_id {plan.doc_id!r} does not end with its year {plan.year}"
    return None


def _check_district(plan: Plan) -> str | None:
    if DISTRICT_RE.fullmatch(plan.district):
        return None
    return f"district {plan.district!r} must be a short Chinese name such as 杨浦 (no /, \\, .., spaces)"


def _check_year(plan: Plan) -> str | None:
    if YEAR_RANGE[0] <= plan.year <= YEAR_RANGE[1]:
        return None
    return f"year {plan.year} is outside {YEAR_RANGE[0]}–{YEAR_RANGE[1]}; write the plan's four-digit year, e.g. 2024"


def _check_choice(column: str, allowed: tuple[str, ...]) -> Callable[[Plan], str | None]:
    def check(plan: Plan) -> str | None:
        value = getattr(plan, column)
        return None if value in allowed else f"{column} {value!r} must be one of {', '.join(allowed)}"

    return check


def _check_text(column: str, required: bool = True) -> Callable[[Plan], str | None]:
    """A free-text column: one line without hidden characters (HIDDEN_CATEGORIES: newline, tab,
    escape, bidirectional override, zero-width), and not empty when `required`."""

    def check(plan: Plan) -> str | None:
        value = getattr(plan, column)
        if required and not value:
            return f"{column} must not be empty"
        if any(unicodedata.category(c) in HIDDEN_CATEGORIES for c in value):
            return f"{column} {value!r} contains a line break or control character; write it on one line"
        return None

    return check


def _check_file(plan: Plan) -> str | None:
    if plan.file in {f"{plan.doc_id}{ext}" for ext in ACCEPTED[1:]}:
        return None
    return None if plan.file == f"{plan.doc_id}.txt" else f"file {plan.file!r} should be {plan.doc_id}.txt"


ROW_CHECKS: dict[str, Callable[[Plan], str | None]] = {
    "doc_id": _check_doc_id,
    "district": _check_district,
    "year": _check_year,
    "completeness": _check_choice("completeness", COMPLETENESS),
    "admin_level": _check_choice("admin_level", ADMIN_LEVELS),
    "file": _check_file,
    "title": _check_text("title"),
    "region": _check_text("region"),
    "source": _check_text("source", required=False),
}


def names_safe_file(plan: Plan) -> bool:
    """True when the row's file is `<doc_id>.txt` (or .pdf, .docx, .html, .htm) with a well-formed
    doc_id: a plain name in data/raw."""
    return DOC_ID_RE.fullmatch(plan.doc_id) is not None and plan.file in {
        f"{plan.doc_id}{ext}" for ext in ACCEPTED
    }


def length_problem(column: str, value: str) -> str | None:
    """Why a value is too long for its column (FIELD_MAX_CHARS), without repeating the value."""
    if len(value) <= FIELD_MAX_CHARS[column]:
        return None
    return f"{column} is {len(value):,} characters long; at most {FIELD_MAX_CHARS[column]:,} are allowed — shorten it"


def row_problems(plan: Plan, skip: Collection[str] = ()) -> list[str]:
    """Problems with one row's values, independent of the files; `skip` names columns not to check.
    A value over its length limit is reported as such (and not quoted by the other checks)."""
    long = {column: problem for column in FIELD_MAX_CHARS
            if (problem := length_problem(column, str(getattr(plan, column)))) is not None}
    if long:
        return [problem for column, problem in long.items() if column not in skip]
    return [
        problem
        for column, check in ROW_CHECKS.items()
        if column not in skip and (problem := check(plan)) is not None
    ]


def duplicate_problems(plan: Plan, earlier: list[Plan]) -> list[str]:
    """Ways `plan` repeats a row of `earlier`: the same doc_id, or the same district and year."""
    problems = []
    for other in earlier:
        if other.doc_id == plan.doc_id:
            problems.append(f"duplicate doc_id {plan.doc_id}; each plan appears once")
        elif (other.district, other.year) == (plan.district, plan.year):
            problems.append(
                f"duplicate district+year {plan.district} {plan.year}, already row {other.doc_id}; "
                "each plan appears once"
            )
    return problems


def file_problems(raw_dir: Path, plan: Plan, reader: PlanReader) -> list[str]:
    """Problems with the file a (well-formed) row points at: a link, missing, checksum drift,
    undecodable or past a limit (read through `reader`, so an unchanged file is extracted once)."""
    path = raw_dir / plan.file
    if (link := symlink_problem(path)) is not None:
        return [link]
    if not path.is_file():
        return [f"{path}: file missing for manifest row {plan.doc_id}; restore it or delete the row"]
    if (actual := sha256_of(path)) != plan.sha256:
        return [
            f"{path}: sha256 {actual[:12]}… differs from the manifest's {plan.sha256[:12]}…; raw files "
            f"are immutable — restore it, or accept the change with `python -m analysis check --accept {plan.doc_id}`"
        ]
    try:
        reader.read(path)
    except ProjectError as exc:
        return [str(exc)]
    return []


def validate(raw_dir: Path, reader: PlanReader | None = None) -> list[Plan]:
    """Check manifest against files; raise one ProjectError listing every problem, one per line.
    Files are read with `reader` (default: the project's params and extraction cache)."""
    if (raw_dir / JOURNAL).is_file():  # an `add` killed while moving its files into place
        recover(raw_dir)
    plans = read_manifest(raw_dir)
    reader = reader or project_reader(raw_dir)
    manifest = raw_dir / "manifest.csv"
    problems: list[str] = []
    for index, plan in enumerate(plans):
        where = f"{manifest}:{index + 2} ({plan.doc_id})"
        row = row_problems(plan) + duplicate_problems(plan, plans[:index])
        problems += [f"{where}: {p}" for p in row]
        if names_safe_file(plan):
            problems += file_problems(raw_dir, plan, reader)
    listed = {plan.file for plan in plans}
    files = (p.name for p in raw_dir.iterdir() if p.suffix.lower() in ACCEPTED and not p.name.startswith("."))
    for orphan in sorted(name for name in files if name not in listed):
        problems.append(f"{raw_dir / orphan}: no manifest row; register it with `python -m analysis add` or remove it")
    if not plans:
        problems.append(f"{manifest}: lists no plans; add one with `python -m analysis add FILE --district … --year …`")
    if problems:
        raise ProjectError(*problems)
    return plans


def accept_checksum(raw_dir: Path, doc_id: str) -> None:
    """Record the current sha256 of one plan's file in the manifest (after a deliberate edit)."""
    plans = read_manifest(raw_dir)
    manifest = raw_dir / "manifest.csv"
    matches = [p for p in plans if p.doc_id == doc_id]
    if not matches:
        raise ProjectError(f"{manifest}: no row with doc_id {doc_id!r}; see the doc_id column for the names")
    path = raw_dir / matches[0].file
    if not names_safe_file(matches[0]) or not (path.is_file() or path.is_symlink()):
        raise ProjectError(f"{manifest} ({doc_id}): file {path} is missing; restore it before accepting")
    if (link := symlink_problem(path)) is not None:
        raise ProjectError(link)
    checksum = sha256_of(path)
    write_manifest(raw_dir, [replace(p, sha256=checksum) if p.doc_id == doc_id else p for p in plans])
