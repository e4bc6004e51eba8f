"""`add`: register new plans in data/raw (file copied byte for byte, manifest row appended), one
or many at once from a metadata file, all or nothing."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from analysis.corpus import ingest
from analysis.corpus.decode import ENCODING_LABELS, decode_with_encoding
from analysis.corpus.manifest import (
    ADMIN_LEVELS,
    ROW_CHECKS,
    Plan,
    duplicate_problems,
    length_problem,
    manifest_bytes,
    names_safe_file,
    read_manifest,
    row_problems,
    year_problem,
)
from analysis.corpus.reader import PlanReader, project_reader
from analysis.files import STAGING_PREFIX, csv_records, publish, recover, write_bytes_atomic
from analysis.params.loader import ALIAS_RULE, AliasRefused, parse_yaml
from analysis.paths import ProjectError, printable

FLAG_EXAMPLES = {
    "doc_id": "<pinyin>_<year>, e.g. yangpu_2025",
    "region": "e.g. 上海市",
    "admin_level": f"one of {', '.join(ADMIN_LEVELS)}",
    "title": "e.g. 2025年杨浦区教育局工作要点",
}
# What each identity value of a new plan is derived from when it is not given.
DERIVED_FROM = {
    "doc_id": ("district", "year"),
    "region": ("district",),
    "admin_level": ("district",),
    "title": ("district", "year"),
}


def _prefix(doc_id: str) -> str:
    return doc_id.rsplit("_", 1)[0]


def _previous_title(previous: Plan, year: int) -> str | None:
    """The previous plan's title with its year replaced, when it names that year."""
    old = str(previous.year)
    return previous.title.replace(old, str(year)) if old in previous.title else None


def _identity(
    plans: list[Plan], district: str, year: int, given: dict[str, str | None]
) -> tuple[dict[str, str], str]:
    """doc_id, region, admin_level and title of a new plan: as given, else from the district's
    latest plan in the manifest, else "". Also returns why a missing value cannot be derived."""
    earlier = [p for p in plans if p.district == district]
    latest = max(earlier, key=lambda p: p.year) if earlier else None
    inherited = {
        "doc_id": f"{_prefix(latest.doc_id)}_{year}" if latest else None,
        "region": latest.region if latest else None,
        "admin_level": latest.admin_level if latest else None,
        "title": _previous_title(latest, year) if latest else None,
    }
    values = {key: (given[key] or inherited[key] or "").strip() for key in DERIVED_FROM}
    why = f"cannot derive it from {latest.doc_id}" if latest else f"no earlier plan of {district!r}"
    return values, why


def _new_row_problems(plan: Plan, given: dict[str, str | None], why: str) -> list[str]:
    """Problems with a new plan's row values. A value derived from an invalid district or year is
    neither checked nor asked for: the district's or year's own problem is the one to fix."""
    invalid = {column for column in ("district", "year") if ROW_CHECKS[column](plan) is not None}
    moot = {key for key, basis in DERIVED_FROM.items() if not given[key] and invalid.intersection(basis)}
    unknown = {key for key in DERIVED_FROM if not getattr(plan, key)}
    hints = [
        f"{key} unknown ({why}); pass --{key.replace('_', '-')} ({FLAG_EXAMPLES[key]})"
        for key in DERIVED_FROM
        if key in unknown - moot
    ]
    skip = unknown | moot | ({"file"} if "doc_id" in unknown | moot else set())
    return hints + row_problems(plan, skip=skip)


def _prefix_problems(plans: list[Plan], plan: Plan) -> list[str]:
    """A doc_id's pinyin must be the one its district already uses, and no other district's."""
    prefix = _prefix(plan.doc_id)
    own = {_prefix(p.doc_id) for p in plans if p.district == plan.district}
    others = sorted({p.district for p in plans if _prefix(p.doc_id) == prefix} - {plan.district})
    if own and prefix not in own:
        return [f"doc_id {plan.doc_id!r}: {plan.district} plans use {', '.join(sorted(own))}; omit --doc-id"]
    if others:
        return [f"doc_id {plan.doc_id!r}: {prefix} already names {', '.join(others)}; choose another"]
    return []


def _source_problem(path: Path) -> str | None:
    """Why `path` is not a plan file to add; decided without opening it (a FIFO would block)."""
    if path.is_symlink():  # before is_file and is_dir, which follow links
        return f"{path}: is a symbolic link; give the file itself"
    if path.is_dir():
        return f"{path}: is a folder; give the plan's file"
    if not path.exists():
        return f"{path}: no such file; give the path of the plan's text file"
    if not path.is_file():
        return f"{path}: is not a regular file (a pipe, socket or device); give the plan's text file"
    return None


def _read_source(source_file: Path, reader: PlanReader) -> tuple[bytes, str, list[str]]:
    """The original bytes of the file to add, their encoding ("" for an extracted PDF, DOCX or
    HTML file), and any problems; the file is read (extracted, bounded) through `reader`."""
    if (problem := _source_problem(source_file)) is not None:
        return b"", "", [problem]
    if source_file.suffix.lower() == ".doc":
        return b"", "", [ingest.extension_problem(source_file)]
    data = source_file.read_bytes()
    try:
        reader.read(source_file, data)
        if ingest.kind_of(source_file) is not None:
            return data, "", []
        return data, decode_with_encoding(data, source_file)[1], []
    except ProjectError as exc:
        return b"", "", exc.problems


def _raw_name(doc_id: str, source_file: Path) -> str:
    """`<doc_id>` with the source's extension when it is extracted (.pdf, .docx, .html, .htm),
    else `.txt` (a text file, whatever it was called)."""
    suffix = source_file.suffix.lower()
    return f"{doc_id}{suffix if ingest.kind_of(source_file) is not None else '.txt'}"


@dataclass(frozen=True)
class AddRequest:
    """One plan to add: its file and the metadata `add` takes (None: derive or default)."""

    file: Path
    district: str
    year: int
    title: str | None = None
    source: str | None = None
    completeness: str | None = None
    region: str | None = None
    admin_level: str | None = None
    doc_id: str | None = None


def _prepare(
    raw_dir: Path, plans: list[Plan], request: AddRequest, reader: PlanReader
) -> tuple[Plan, bytes, list[str]]:
    """The manifest row for one request, the bytes to store, and every problem (nothing written)."""
    source_file, district, year = Path(request.file), request.district.strip(), request.year
    given = {"doc_id": request.doc_id, "region": request.region, "admin_level": request.admin_level,
             "title": request.title}
    values, why = _identity(plans, district, year, given)
    data, encoding, read_problems = _read_source(source_file, reader)
    note = f" (encoding {ENCODING_LABELS[encoding]})" if encoding in ENCODING_LABELS else ""
    plan = Plan(
        **values, district=district, year=year, completeness=(request.completeness or "complete").strip(),
        source=(request.source or f"added from {printable(source_file.name)}").strip() + note,
        file=_raw_name(values["doc_id"], source_file), sha256=hashlib.sha256(data).hexdigest(),
    )
    problems = _new_row_problems(plan, given, why) + duplicate_problems(plan, plans)
    if plan.doc_id:
        problems += _prefix_problems(plans, plan)
    where = f"{raw_dir / 'manifest.csv'} (new row {district} {year})"
    problems = [f"{where}: {p}" for p in problems] + read_problems
    target = raw_dir / plan.file
    if names_safe_file(plan) and (
        target.is_symlink() or (target.exists() and target.resolve() != source_file.resolve())
    ):
        problems.append(f"{target}: exists without a manifest row; remove it, or add that file itself")
    for other in (f"{plan.doc_id}{ext}" for ext in ingest.ACCEPTED):
        if other != plan.file and names_safe_file(plan) and (raw_dir / other).exists():
            problems.append(f"{raw_dir / other}: exists without a manifest row; remove it before adding {plan.file}")
    return plan, data, problems


def prepare_plans(
    raw_dir: Path, requests: list[AddRequest], reader: PlanReader, problems: Collection[str] = ()
) -> tuple[list[Plan], list[tuple[Plan, bytes]]]:
    """The manifest's rows and, per request, its new row and the bytes to store, after every file is
    read (PDF/DOCX/HTML extracted, within params/ingest.yaml) and every row checked; any problem →
    one ProjectError listing them all. Nothing is written but the extraction cache."""
    plans = read_manifest(raw_dir)
    prepared: list[tuple[Plan, bytes]] = []
    problems = list(problems)
    for request in requests:
        plan, data, found = _prepare(raw_dir, [*plans, *(p for p, _ in prepared)], request, reader)
        problems += found
        targets = {p.file for p, _ in prepared}
        if plan.doc_id and plan.file in targets:
            problems.append(f"{raw_dir / plan.file}: named twice in this batch; each plan appears once")
        prepared.append((plan, data))
    if problems:
        raise ProjectError(*problems)
    return plans, prepared


def add_plans(
    raw_dir: Path, requests: list[AddRequest], problems: Collection[str] = (), reader: PlanReader | None = None
) -> list[Plan]:
    """Add several plans at once, all or nothing: `prepare_plans` first (any problem → one
    ProjectError, nothing written), then the files and the new manifest are written into a staging
    folder of data/raw and moved into place as one unit (analysis.files.publish): an `add` killed
    while copying leaves only the hidden staging folder, one killed while moving is finished by the
    next `add` or `check`. `reader` defaults to the project's (params and extraction cache).

    Each request sees the rows before it, so a batch may hold a new district's plans of several
    years (the later ones inherit from the earlier) and repeats within the batch are refused.
    `problems` found earlier (e.g. in a metadata file) are listed first and also stop the batch."""
    recover(raw_dir)
    plans, prepared = prepare_plans(raw_dir, requests, reader or project_reader(raw_dir), problems)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=raw_dir))
    try:
        for plan, data in prepared:
            write_bytes_atomic(staging / plan.file, data)
        write_bytes_atomic(staging / "manifest.csv", manifest_bytes([*plans, *(p for p, _ in prepared)]))
        publish(staging, raw_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [plan for plan, _ in prepared]


def add_plan(
    raw_dir: Path,
    source_file: Path,
    district: str,
    year: int,
    *,
    title: str | None = None,
    source: str | None = None,
    completeness: str = "complete",
    region: str | None = None,
    admin_level: str | None = None,
    doc_id: str | None = None,
    reader: PlanReader | None = None,
) -> Plan:
    """Copy a plan into data/raw as `<doc_id>.txt` (a PDF, DOCX or HTML page keeps its extension:
    `<doc_id>.pdf`), append its manifest row, and return the row.

    doc_id, region, admin_level and title default to those of the district's latest plan (the
    title with its year replaced); a new district must give them. The file's bytes are stored
    as they are, whatever the encoding; a non-UTF-8 one is noted in `source`, e.g. "(encoding
    GB18030)". All problems are reported at once as a ProjectError, and then nothing is written.
    """
    request = AddRequest(Path(source_file), district, year, title=title, source=source,
                         completeness=completeness, region=region, admin_level=admin_level, doc_id=doc_id)
    return add_plans(raw_dir, [request], reader=reader)[0]


# --- metadata files (`add FOLDER`, `add FILE… --metadata`) -----------------------------------

METADATA_NAMES = ("metadata.csv", "metadata.yaml", "metadata.yml")
METADATA_REQUIRED = ("file", "district", "year")
METADATA_OPTIONAL = ("title", "source", "completeness", "region", "admin_level", "doc_id")
METADATA_MAX_BYTES = 5_000_000
FILE_NAME_MAX = 255  # the longest file name of common file systems


def metadata_in(folder: Path) -> Path | None:
    """The metadata file inside a batch folder, if it has one."""
    return next((folder / name for name in METADATA_NAMES if (folder / name).is_file()), None)


def _metadata_rows(path: Path) -> list[tuple[str, dict]]:
    """(where, row) pairs of a metadata CSV (header row) or YAML (a list of mappings, or `plans:`;
    read by the params loader, so anchors and aliases are refused before anything is expanded)."""
    if (size := path.stat().st_size) > METADATA_MAX_BYTES:
        raise ProjectError(f"{path}: {size:,} bytes; a metadata file holds at most {METADATA_MAX_BYTES:,} "
                           "(one short row per plan) — check that it is the metadata file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProjectError(
            f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 (in Excel: CSV UTF-8)"
        ) from None
    if path.suffix.lower() == ".csv":
        fieldnames, rows = csv_records(text.splitlines(), path)
        if None in (fieldnames or [None]):
            raise ProjectError(f"{path}: no header row; the first line names the columns, e.g. file,district,year")
        problems = [f"{path}:{n}: wrong number of fields; quote values that contain commas"
                    for n, row in enumerate(rows, start=2) if None in row or None in row.values()]
        if problems:
            raise ProjectError(*problems)
        return [(f"{path}:{n}", row) for n, row in enumerate(rows, start=2)]
    try:
        data, problems = parse_yaml(text, aliases=False)
    except AliasRefused as exc:
        raise ProjectError(f"{path}: line {exc.line}: {ALIAS_RULE}") from None
    except Exception as exc:
        raise ProjectError(f"{path}: is not valid YAML ({exc.__class__.__name__}); fix the syntax") from None
    if problems:
        raise ProjectError(*(f"{path}: {problem}" for problem in problems))
    if isinstance(data, dict) and set(data) == {"plans"}:
        data = data["plans"]
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise ProjectError(f"{path}: expected a list of plans, each a mapping with file, district, year")
    return [(f"{path} (plan {n})", {k: "" if v is None else str(v) for k, v in row.items()})
            for n, row in enumerate(data, start=1)]


def read_metadata(path: Path, files: list[Path] | None = None) -> tuple[list[AddRequest], list[str]]:
    """Add requests from a metadata file, and the problems found (one line each).

    Each row's `file` is found in the metadata file's folder, or, when `files` are given, among
    them by name. Every given file (or every plan file in the folder) needs exactly one row."""
    path = Path(path)
    rows = _metadata_rows(path)
    problems: list[str] = []
    columns = {key for _, row in rows for key in row}
    if missing := [c for c in METADATA_REQUIRED if c not in columns]:
        problems.append(f"{path}: missing column(s) {', '.join(missing)}; columns: file,district,year"
                        f"[,{','.join(METADATA_OPTIONAL)}]")
    if unknown := sorted(columns - {*METADATA_REQUIRED, *METADATA_OPTIONAL}):
        problems.append(f"{path}: unknown column(s) {', '.join(unknown)}; allowed: "
                        f"{', '.join((*METADATA_REQUIRED, *METADATA_OPTIONAL))}")
    if problems:
        raise ProjectError(*problems)
    if not rows:
        raise ProjectError(f"{path}: lists no plans; one row per file: file,district,year")
    given = {f.name: f for f in files} if files is not None else None
    if given is not None and len(given) < len(files):
        problems.append(f"{path}: two given files share a name; rename one")
    requests, named = [], set()
    for where, row in rows:
        row = {k: (v or "").strip() for k, v in row.items()}
        name = row.get("file", "")
        too_long = [p for key in ("district", *METADATA_OPTIONAL)
                    if (p := length_problem(key, row.get(key) or "")) is not None]
        if len(name) > FILE_NAME_MAX:
            too_long.append(f"file is {len(name):,} characters long; a file name has at most {FILE_NAME_MAX}")
        if too_long:
            problems += [f"{where}: {p}" for p in too_long]
            named.add(name)
            continue
        if not name or Path(name).name != name:
            problems.append(f"{where}: file {name!r} must be a file name (no folder), e.g. jingan_2025.pdf")
            continue
        if name in named:
            problems.append(f"{where}: file {name} has two rows; keep one")
            continue
        named.add(name)
        if given is not None and name not in given:
            problems.append(f"{where}: file {name} is not among the files given; give it, or remove the row")
            continue
        if (problem := year_problem(row.get("year", ""))) is not None:
            problems.append(f"{where}: {problem}")
            continue
        source_file = given[name] if given is not None else path.parent / name
        requests.append(AddRequest(
            source_file, row.get("district", ""), int(row["year"]),
            **{key: row.get(key) or None for key in METADATA_OPTIONAL},
        ))
    candidates = (
        given.values() if given is not None
        else (p for p in path.parent.iterdir() if p.suffix.lower() in ingest.ACCEPTED and not p.name.startswith("."))
    )
    for orphan in sorted(str(p) for p in candidates if p.name not in named):
        problems.append(f"{orphan}: no row in {path}; add one (file,district,year,…) or move the file out")
    return requests, problems
