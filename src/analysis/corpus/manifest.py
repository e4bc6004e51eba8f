"""The corpus: data/raw/*.txt plus manifest.csv; loading, decoding, validation and `add`.

data/raw is immutable and holds real files (no symbolic links). Only `add_plan` creates a file
there (plus its manifest row) and only `accept_checksum` changes a row. A plan is stored byte for
byte, whatever its encoding, and decoded when read: UTF-8, UTF-8 or UTF-16 with a BOM, or
GB18030/GBK when the decoded text is confidently Chinese (see `word_pair_share`), or Big5 when
the decoded text, converted to Simplified (OpenCC; jieba's dictionary is Simplified), is. Shift-JIS
and EUC-KR files read as GB18030 mojibake and are not valid Big5: they are refused (save them as
UTF-8). Cleaning converts a Traditional text to Simplified (`analysis.corpus.clean.to_simplified`).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from charset_normalizer import from_bytes

from analysis.files import write_bytes_atomic
from analysis.paths import ProjectError, printable

MANIFEST_COLUMNS = [
    "doc_id", "district", "region", "admin_level", "year",
    "title", "source", "file", "completeness", "sha256",
]
COMPLETENESS = ("complete", "truncated", "partial")
ADMIN_LEVELS = ("区", "县", "市", "省")
YEAR_RANGE = (1990, 2100)
YEAR_TEXT = re.compile(r"[0-9]{4}")  # ASCII only: str.isdigit and \d accept ２０２４ and 202²
DOC_ID_RE = re.compile(r"[a-z][a-z0-9]*_[0-9]{4}")
DISTRICT_RE = re.compile(r"[\u4e00-\u9fff]{1,10}")
BOMS = {b"\xef\xbb\xbf": "utf-8-sig", b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}
ENCODING_LABELS = {"utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16", "gb18030": "GB18030", "big5": "Big5"}
# Characters of ordinary text (CJK, CJK/full-width punctuation, ASCII): what UTF-16 without a BOM decodes to.
PLAIN_CHAR = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef\u2010-\u206f\x20-\x7e\s\u00a0]")
MIN_PLAIN_SHARE = 0.95
# GB18030 bytes are accepted when the decoded text has at least MIN_CJK_PAIRS adjacent CJK pairs
# and at least MIN_WORD_PAIR_SHARE of them occur inside jieba dictionary words. Measured: real
# Chinese plans 0.69-0.71 (single lines of them >= 0.50); Shift-JIS, EUC-KR, CP949 and Big5 read
# as GB18030 at most 0.02 (0.09 for one short EUC-JP sentence); random GB2312 pairs 0.02.
MIN_WORD_PAIR_SHARE = 0.35
MIN_CJK_PAIRS = 8
CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")

HTML_START = re.compile(r"^\s*<(?:!doctype\s+html|html)\b", re.IGNORECASE)
HTML_TAG = re.compile(
    r"</?(?:html|head|body|div|p|br|span|table|tr|td|li|ul|ol|h[1-6]|a|meta|font|strong)\b[^<>]*>",
    re.IGNORECASE,
)
MIN_HTML_TAGS = 10
HTML_DROP = ("script", "style", "noscript", "template")
HTML_BLOCKS = (
    "p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section",
    "article", "header", "footer", "title", "blockquote", "pre", "ul", "ol", "dd", "dt",
)


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


# --- decoding ---------------------------------------------------------------------------------


def detect_encoding(data: bytes, name: str | Path) -> str:
    """The codec for plan bytes: a BOM wins, then UTF-8, then GB18030 (GBK), then Big5; else
    ProjectError."""
    for bom, encoding in BOMS.items():
        if data.startswith(bom):
            return encoding
    if b"\x00" in data:
        if _reads_as_utf16(data):
            raise ProjectError(_utf16_message(name))
        raise ProjectError(f"{name}: binary data (NUL bytes), not a text file; export the plan as UTF-8 text")
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # charset-normalizer spots UTF-16 without a BOM or NULs; it is not trusted to tell GBK apart
    # (short GBK lines come back as cp949), so GB18030 is accepted when it yields Chinese words.
    guess = from_bytes(data).best()
    if guess is not None and guess.encoding.startswith("utf_16"):
        raise ProjectError(_utf16_message(name))
    for codec in ("gb18030", "big5"):
        if _reads_as_chinese(data, codec):
            return codec
    raise ProjectError(
        f"{name}: not UTF-8 and not recognisably Chinese (GB18030/GBK, Big5); it may be Japanese or Korean "
        "(Shift-JIS, EUC-KR) — save it as UTF-8"
    )


def _utf16_message(name: str | Path) -> str:
    return f"{name}: looks like UTF-16 without a byte-order mark (BOM); save it as UTF-8"


def _plain_share(text: str) -> float:
    return len(PLAIN_CHAR.findall(text)) / max(len(text), 1)


def _reads_as_utf16(data: bytes) -> bool:
    """True when bytes holding NULs decode cleanly to ordinary text as UTF-16 (LE or BE)."""
    for codec in ("utf-16-le", "utf-16-be"):
        try:
            if _plain_share(data.decode(codec)) >= MIN_PLAIN_SHARE:
                return True
        except UnicodeDecodeError:
            continue
    return False


@functools.cache
def _dictionary_pairs() -> frozenset[str]:
    """Every pair of adjacent characters inside a word of jieba's bundled dictionary (~0.3 M)."""
    text = (resources.files("jieba") / "dict.txt").read_text(encoding="utf-8")
    words = re.findall(r"^(\S{2,}) ", text, re.MULTILINE)
    return frozenset(word[i : i + 2] for word in words for i in range(len(word) - 1))


def word_pair_share(text: str) -> tuple[float, int]:
    """How Chinese `text` reads: the share of its adjacent CJK character pairs that occur inside
    jieba dictionary words, and the number of pairs. Mojibake pairs characters at random."""
    pairs = [run[i : i + 2] for run in CJK_RUN.findall(text) for i in range(len(run) - 1)]
    known = _dictionary_pairs()
    return sum(pair in known for pair in pairs) / max(len(pairs), 1), len(pairs)


def _reads_as_chinese(data: bytes, codec: str = "gb18030") -> bool:
    """True when the bytes decode as `codec` to text that is confidently Chinese (Big5, a
    Traditional encoding, judged on the text converted to Simplified)."""
    from analysis.corpus.clean import simplified

    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return False
    share, pairs = word_pair_share(simplified(text) if codec == "big5" else text)
    return pairs >= MIN_CJK_PAIRS and share >= MIN_WORD_PAIR_SHARE


def looks_like_html(text: str) -> bool:
    """An HTML page saved as text: starts like one, or carries many markup tags.

    A plan that merely quotes a tag such as `<script>` in its prose is not HTML.
    """
    return bool(HTML_START.match(text)) or len(HTML_TAG.findall(text)) >= MIN_HTML_TAGS


def html_to_text(html: str) -> str:
    """The visible text of an HTML page: scripts and styles dropped, one line per block element."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(HTML_DROP):
        tag.decompose()
    for tag in soup(HTML_BLOCKS):
        tag.insert_after("\n")
    lines = [line.strip() for line in soup.get_text().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _decode(data: bytes, name: str | Path) -> tuple[str, str]:
    """Plan bytes as text (see `detect_encoding`), and their encoding; an HTML page is reduced to
    its visible text."""
    encoding = detect_encoding(data, name)
    text = data.decode(encoding).lstrip("\ufeff")
    if not text.strip():
        raise ProjectError(f"{name}: file is empty; export the plan text again")
    if looks_like_html(text):
        text = html_to_text(text)
        if not text.strip():
            raise ProjectError(f"{name}: HTML page without visible text; save the plan's text instead")
    return text, encoding


def decode_plan(data: bytes, name: str | Path) -> str:
    """Plan bytes as text (see `detect_encoding`); an HTML page is reduced to its visible text."""
    return _decode(data, name)[0]


def read_plan(path: Path, data: bytes | None = None) -> tuple[str, list[tuple[str, str]]]:
    """The text of a plan file — extracted from a .pdf, .docx or .html/.htm (`analysis.corpus.ingest`),
    else decoded as text (`decode_plan`) — and the (rule, line) pairs extraction dropped."""
    from analysis.corpus import ingest

    data = Path(path).read_bytes() if data is None else data
    if ingest.kind_of(path) is not None:
        return ingest.extract(path, data)
    return decode_plan(data, path), []


def read_plan_text(path: Path, data: bytes | None = None) -> str:
    """The text of a plan file (`read_plan` without the dropped lines)."""
    return read_plan(path, data)[0]


def load_text(raw_dir: Path, plan: Plan) -> str:
    """The decoded (or, for PDF, DOCX and HTML, extracted) raw text of one plan."""
    return read_plan_text(raw_dir / plan.file)


# --- manifest ---------------------------------------------------------------------------------


def year_problem(text: str) -> str | None:
    """Why `text` is not a year as the manifest and `add --year` write it (four ASCII digits)."""
    if YEAR_TEXT.fullmatch(text):
        return None
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
            reader = csv.DictReader(handle)
            if reader.fieldnames != MANIFEST_COLUMNS:
                raise ProjectError(f"{path}: header must be exactly {','.join(MANIFEST_COLUMNS)}")
            rows = list(reader)
    except UnicodeDecodeError as exc:
        raise ProjectError(
            f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 (in Excel: CSV UTF-8)"
        ) from None
    plans = []
    for line, row in enumerate(rows, start=2):
        if None in row or any(value is None for value in row.values()):
            raise ProjectError(f"{path}:{line}: wrong number of fields; quote values that contain commas")
        year = row["year"].strip()
        if (problem := year_problem(year)) is not None:
            raise ProjectError(f"{path}:{line}: {problem}")
        plans.append(Plan(**{**{k: v.strip() for k, v in row.items()}, "year": int(year)}))
    return plans


def write_manifest(raw_dir: Path, plans: list[Plan]) -> None:
    """Rewrite manifest.csv atomically, rows in the given order (so an added row is a one-line diff)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    writer.writerows(plan.as_row().values() for plan in plans)
    write_bytes_atomic(raw_dir / "manifest.csv", buffer.getvalue().encode("utf-8"))


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
    """A free-text column: one line (no newline, tab or escape), and not empty when `required`."""

    def check(plan: Plan) -> str | None:
        value = getattr(plan, column)
        if required and not value:
            return f"{column} must not be empty"
        if printable(value) != value:
            return f"{column} {value!r} contains a line break or control character; write it on one line"
        return None

    return check


RAW_EXTENSIONS = (".txt", ".pdf", ".docx", ".html", ".htm")  # as published; see analysis.corpus.ingest


def _check_file(plan: Plan) -> str | None:
    if plan.file in {f"{plan.doc_id}{ext}" for ext in RAW_EXTENSIONS[1:]}:
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


def _names_safe_file(plan: Plan) -> bool:
    """True when the row's file is `<doc_id>.txt` (or .pdf, .docx, .html, .htm) with a well-formed
    doc_id: a plain name in data/raw."""
    return DOC_ID_RE.fullmatch(plan.doc_id) is not None and plan.file in {
        f"{plan.doc_id}{ext}" for ext in RAW_EXTENSIONS
    }


def row_problems(plan: Plan, skip: Collection[str] = ()) -> list[str]:
    """Problems with one row's values, independent of the files; `skip` names columns not to check."""
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


def file_problems(raw_dir: Path, plan: Plan) -> list[str]:
    """Problems with the file a (well-formed) row points at: a link, missing, checksum drift, undecodable."""
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
        read_plan_text(path)
    except ProjectError as exc:
        return [str(exc)]
    return []


def validate(raw_dir: Path) -> list[Plan]:
    """Check manifest against files; raise one ProjectError listing every problem, one per line."""
    plans = read_manifest(raw_dir)
    manifest = raw_dir / "manifest.csv"
    problems: list[str] = []
    for index, plan in enumerate(plans):
        where = f"{manifest}:{index + 2} ({plan.doc_id})"
        row = row_problems(plan) + duplicate_problems(plan, plans[:index])
        problems += [f"{where}: {p}" for p in row]
        if _names_safe_file(plan):
            problems += file_problems(raw_dir, plan)
    listed = {plan.file for plan in plans}
    files = (p.name for p in raw_dir.iterdir() if p.suffix.lower() in RAW_EXTENSIONS and not p.name.startswith("."))
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
    if not _names_safe_file(matches[0]) or not (path.is_file() or path.is_symlink()):
        raise ProjectError(f"{manifest} ({doc_id}): file {path} is missing; restore it before accepting")
    if (link := symlink_problem(path)) is not None:
        raise ProjectError(link)
    checksum = sha256_of(path)
    write_manifest(raw_dir, [replace(p, sha256=checksum) if p.doc_id == doc_id else p for p in plans])


# --- add --------------------------------------------------------------------------------------

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


def _read_source(source_file: Path) -> tuple[bytes, str, list[str]]:
    """The original bytes of the file to add, their encoding ("" for an extracted PDF, DOCX or
    HTML file), and any problems."""
    from analysis.corpus import ingest

    if (problem := _source_problem(source_file)) is not None:
        return b"", "", [problem]
    if source_file.suffix.lower() == ".doc":
        return b"", "", [ingest.extension_problem(source_file)]
    data = source_file.read_bytes()
    try:
        if ingest.kind_of(source_file) is not None:
            ingest.extract_text(source_file, data)
            return data, "", []
        return data, _decode(data, source_file)[1], []
    except ProjectError as exc:
        return b"", "", exc.problems


def _raw_name(doc_id: str, source_file: Path) -> str:
    """`<doc_id>` with the source's extension when it is extracted (.pdf, .docx, .html, .htm),
    else `.txt` (a text file, whatever it was called)."""
    from analysis.corpus import ingest

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


def _prepare(raw_dir: Path, plans: list[Plan], request: AddRequest) -> tuple[Plan, bytes, list[str]]:
    """The manifest row for one request, the bytes to store, and every problem (nothing written)."""
    source_file, district, year = Path(request.file), request.district.strip(), request.year
    given = {"doc_id": request.doc_id, "region": request.region, "admin_level": request.admin_level,
             "title": request.title}
    values, why = _identity(plans, district, year, given)
    data, encoding, read_problems = _read_source(source_file)
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
    if _names_safe_file(plan) and (
        target.is_symlink() or (target.exists() and target.resolve() != source_file.resolve())
    ):
        problems.append(f"{target}: exists without a manifest row; remove it, or add that file itself")
    for other in (f"{plan.doc_id}{ext}" for ext in RAW_EXTENSIONS):
        if other != plan.file and _names_safe_file(plan) and (raw_dir / other).exists():
            problems.append(f"{raw_dir / other}: exists without a manifest row; remove it before adding {plan.file}")
    return plan, data, problems


def add_plans(raw_dir: Path, requests: list[AddRequest], problems: Collection[str] = ()) -> list[Plan]:
    """Add several plans at once, all or nothing: every file is read (and PDF/DOCX/HTML extracted)
    and every row checked first; any problem → one ProjectError listing them all, nothing written.
    Then the files are copied byte for byte and the manifest is rewritten once (atomically).

    Each request sees the rows before it, so a batch may hold a new district's plans of several
    years (the later ones inherit from the earlier) and repeats within the batch are refused.
    `problems` found earlier (e.g. in a metadata file) are listed first and also stop the batch."""
    plans = read_manifest(raw_dir)
    prepared: list[tuple[Plan, bytes]] = []
    problems = list(problems)
    for request in requests:
        plan, data, found = _prepare(raw_dir, [*plans, *(p for p, _ in prepared)], request)
        problems += found
        targets = {p.file for p, _ in prepared}
        if plan.doc_id and plan.file in targets:
            problems.append(f"{raw_dir / plan.file}: named twice in this batch; each plan appears once")
        prepared.append((plan, data))
    if problems:
        raise ProjectError(*problems)
    created: list[Path] = []
    try:
        for plan, data in prepared:
            target = raw_dir / plan.file
            if not target.exists():
                created.append(target)
            write_bytes_atomic(target, data)
        write_manifest(raw_dir, [*plans, *(p for p, _ in prepared)])
    except BaseException:
        for target in created:
            target.unlink(missing_ok=True)
        raise
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
    return add_plans(raw_dir, [request])[0]
