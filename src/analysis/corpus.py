"""The corpus: data/raw/*.txt plus manifest.csv; loading, decoding and validation."""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from analysis.paths import ProjectError

MANIFEST_COLUMNS = [
    "doc_id", "district", "region", "admin_level", "year",
    "title", "source", "file", "completeness", "sha256",
]
COMPLETENESS = ("complete", "truncated", "partial")
ADMIN_LEVELS = ("区", "县", "市", "省")
YEAR_RANGE = (1990, 2100)
DOC_ID_RE = re.compile(r"^[a-z][a-z0-9]*_\d{4}$")
DISTRICT_RE = re.compile(r"^[\u4e00-\u9fff]{1,10}$")
BOMS = {b"\xef\xbb\xbf": "utf-8-sig", b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}


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


def decode_plan(data: bytes, name: str | Path) -> str:
    """Decode plan bytes: a BOM wins, then UTF-8, then GB18030 (GBK) as detected; else error."""
    if not data.strip():
        raise ProjectError(f"{name}: file is empty; export the plan text again")
    for bom, encoding in BOMS.items():
        if data.startswith(bom):
            return data.decode(encoding).lstrip("\ufeff")
    if b"\x00" in data:
        raise ProjectError(
            f"{name}: binary data or UTF-16 without a BOM; save the plan as UTF-8 text (.txt)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None or best.encoding not in ("gb18030", "gbk", "gb2312", "big5", "hz"):
        raise ProjectError(
            f"{name}: not UTF-8 and not recognisable Chinese text (GBK/GB18030); save it as UTF-8"
        )
    return data.decode("gb18030")


def read_manifest(raw_dir: Path) -> list[Plan]:
    """Parse manifest.csv into Plans; structural problems raise ProjectError."""
    path = raw_dir / "manifest.csv"
    if not path.is_file():
        raise ProjectError(f"{path}: manifest not found; create it or run `python -m analysis add`")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != MANIFEST_COLUMNS:
            raise ProjectError(f"{path}: header must be exactly {','.join(MANIFEST_COLUMNS)}")
        rows = list(reader)
    plans = []
    for line, row in enumerate(rows, start=2):
        if None in row or any(value is None for value in row.values()):
            raise ProjectError(f"{path}:{line}: wrong number of fields; quote values that contain commas")
        year = row["year"].strip()
        if not year.isdigit():
            raise ProjectError(f"{path}:{line}: year {year!r} is not a number; write e.g. 2024")
        plans.append(Plan(**{**{k: v.strip() for k, v in row.items()}, "year": int(year)}))
    return plans


def write_manifest(raw_dir: Path, plans: list[Plan]) -> None:
    """Rewrite manifest.csv atomically, sorted by doc_id."""
    from analysis.files import write_text_atomic

    lines = [",".join(MANIFEST_COLUMNS)]
    for plan in sorted(plans, key=lambda p: p.doc_id):
        lines.append(",".join(_csv_field(str(v)) for v in plan.as_row().values()))
    write_text_atomic(raw_dir / "manifest.csv", "\n".join(lines) + "\n")


def _csv_field(value: str) -> str:
    return f'"{value.replace(chr(34), chr(34) * 2)}"' if any(c in value for c in ',"\n') else value


def row_problems(plan: Plan) -> list[str]:
    """Problems with one row's values, independent of the files."""
    problems = []
    if not DOC_ID_RE.match(plan.doc_id):
        problems.append(f"doc_id {plan.doc_id!r} must look like <pinyin>_<year>, e.g. yangpu_2024")
    elif not plan.doc_id.endswith(f"_{plan.year}"):
        problems.append(f"doc_id {plan.doc_id!r} does not end with its year {plan.year}")
    if not DISTRICT_RE.match(plan.district):
        problems.append(f"district {plan.district!r} must be a short Chinese name such as 杨浦 (no /, .., spaces)")
    if not YEAR_RANGE[0] <= plan.year <= YEAR_RANGE[1]:
        problems.append(f"year {plan.year} is outside {YEAR_RANGE[0]}–{YEAR_RANGE[1]}")
    if plan.completeness not in COMPLETENESS:
        problems.append(f"completeness {plan.completeness!r} must be one of {', '.join(COMPLETENESS)}")
    if plan.admin_level not in ADMIN_LEVELS:
        problems.append(f"admin_level {plan.admin_level!r} must be one of {', '.join(ADMIN_LEVELS)}")
    if plan.file != f"{plan.doc_id}.txt":
        problems.append(f"file {plan.file!r} should be {plan.doc_id}.txt")
    if not plan.title or not plan.region:
        problems.append("title and region must not be empty")
    return problems


def validate(raw_dir: Path) -> list[Plan]:
    """Check manifest against files; raise one ProjectError listing every problem, one per line."""
    plans = read_manifest(raw_dir)
    manifest = raw_dir / "manifest.csv"
    problems: list[str] = []
    seen: dict[str, set] = {"doc_id": set(), "district+year": set()}
    for line, plan in enumerate(plans, start=2):
        where = f"{manifest}:{line} ({plan.doc_id})"
        problems += [f"{where}: {p}" for p in row_problems(plan)]
        for key, value in (("doc_id", plan.doc_id), ("district+year", (plan.district, plan.year))):
            if value in seen[key]:
                problems.append(f"{where}: duplicate {key} {value}; each plan appears once")
            seen[key].add(value)
        path = raw_dir / plan.file
        if "/" in plan.file or "\\" in plan.file or ".." in plan.file:
            continue
        if not path.is_file():
            problems.append(f"{where}: file {path} is missing; restore it or delete the row")
        elif (actual := sha256_of(path)) != plan.sha256:
            problems.append(
                f"{path}: sha256 {actual[:12]}… differs from the manifest's {plan.sha256[:12]}…; raw files "
                f"are immutable — restore it, or accept the change with `python -m analysis check --accept {plan.doc_id}`"
            )
        else:
            try:
                decode_plan(path.read_bytes(), path)
            except ProjectError as exc:
                problems.append(str(exc))
    listed = {plan.file for plan in plans}
    for orphan in sorted(p.name for p in raw_dir.glob("*.txt") if p.name not in listed):
        problems.append(f"{raw_dir / orphan}: no manifest row; register it with `python -m analysis add` or remove it")
    if problems:
        raise ProjectError("\n".join(problems))
    return plans


def accept_checksum(raw_dir: Path, doc_id: str) -> None:
    """Record the current sha256 of one plan's file in the manifest (after a deliberate edit)."""
    plans = read_manifest(raw_dir)
    if doc_id not in {p.doc_id for p in plans}:
        raise ProjectError(f"{raw_dir / 'manifest.csv'}: no row with doc_id {doc_id!r}")
    updated = [
        Plan(**{**p.as_row(), "sha256": sha256_of(raw_dir / p.file)}) if p.doc_id == doc_id else p
        for p in plans
    ]
    write_manifest(raw_dir, updated)


def load_text(raw_dir: Path, plan: Plan) -> str:
    """The decoded raw text of one plan."""
    path = raw_dir / plan.file
    return decode_plan(path.read_bytes(), path)
