"""Bounds on hostile plan files, checked before extraction: sizes, zip members, PDF streams, DOCX entities.

Each check reads at most a limit of params/ingest.yaml more than the file itself, so a small file
that would inflate to gigabytes (a zip or Flate bomb) is refused in bounded time and memory with
one line naming the file and the limit to raise.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path

from analysis.params.files import FILES
from analysis.params.ingest import IngestParams
from analysis.paths import ProjectError

CHUNK = 1 << 20
RATIO_FLOOR = 1 << 20  # a member inflating to less than this is never refused for its ratio
XML_SUFFIXES = (".xml", ".rels")
DOCTYPE = re.compile(rb"<!DOCTYPE(?:[^\[>]|\[.*?\])*>", re.IGNORECASE | re.DOTALL)
ENTITY_REF = re.compile(rb"&([A-Za-z_][\w.\-]*);")
XML_ENTITIES = {b"amp", b"lt", b"gt", b"quot", b"apos"}
PARAMS_HINT = f"params/{FILES['ingest']}"


def limit_error(name: Path | str, what: str, key: str, limit: int) -> ProjectError:
    """One line: the file, what exceeded which limit, and what to do."""
    return ProjectError(
        f"{name}: {what} exceeds {key} = {limit:,} of {PARAMS_HINT}; check that it is the plan "
        "(a damaged or hostile file?), or raise the limit"
    )


def check_file_size(data: bytes, name: Path | str, limits: IngestParams) -> None:
    if len(data) > limits.max_file_bytes:
        raise limit_error(name, f"the file ({len(data):,} bytes)", "max_file_bytes", limits.max_file_bytes)


def check_text_size(text: str, name: Path | str, limits: IngestParams) -> None:
    if len(text) > limits.max_text_chars:
        raise limit_error(name, "the extracted text", "max_text_chars", limits.max_text_chars)


# --- DOCX ---------------------------------------------------------------------------------------


def _damaged(name: Path | str, exc: BaseException) -> ProjectError:
    return ProjectError(
        f"{name}: not a readable .docx ({type(exc).__name__}); open it in Word or LibreOffice and save as .docx"
    )


def _member_limit(info: zipfile.ZipInfo, limits: IngestParams) -> tuple[str, int]:
    if info.filename.lower().endswith(XML_SUFFIXES):
        return "max_xml_bytes", limits.max_xml_bytes
    return "max_member_bytes", limits.max_member_bytes


def _inflated(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: Path | str) -> int:
    """The inflated size of a member. zipfile stops at the declared size (already within its limit),
    so a member whose data inflate past it fails the CRC check: refused in one line."""
    size = 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(CHUNK):
                size += len(chunk)
    except zipfile.BadZipFile:
        raise ProjectError(
            f"{name}: member {info.filename} does not match its declared {info.file_size:,} bytes (inflates past "
            "its declared size, or damaged); open it in Word or LibreOffice and save as .docx") from None
    return size


def docx_package(data: bytes, name: Path | str, limits: IngestParams) -> tuple[bytes, list[str]]:
    """The package to hand to python-docx, after every member is checked (declared and actual
    inflated size, ratio, total), and the entity references dropped from its XML: a DOCTYPE
    (which Word never writes; entities and billion-laughs bombs live there) is removed with every
    reference to an entity it declared, so the rest of the paragraph is kept."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
        total = 0
        for info in members:
            key, limit = _member_limit(info, limits)
            if info.file_size > limit:
                raise limit_error(name, f"member {info.filename} (declares {info.file_size:,} bytes)", key, limit)
            if info.file_size > RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise limit_error(name, f"member {info.filename} (compression ratio)", "max_ratio", limits.max_ratio)
            total += _inflated(archive, info, name)
            if total > limits.max_package_bytes:
                raise limit_error(name, "the inflated package", "max_package_bytes", limits.max_package_bytes)
        return _without_entities(archive, members) or (data, [])
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise _damaged(name, exc) from None


def _without_entities(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> tuple[bytes, list[str]] | None:
    """The package with DOCTYPEs and their entity references removed from XML members, and the
    references dropped (`&name;`); None when there is no DOCTYPE."""
    rewritten, dropped = {}, []
    for info in members:
        if not info.filename.lower().endswith(XML_SUFFIXES):
            continue
        xml = archive.read(info)
        if not DOCTYPE.search(xml):
            continue
        xml = DOCTYPE.sub(b"", xml)
        dropped += [m.group().decode("utf-8", "replace") for m in ENTITY_REF.finditer(xml)
                    if m.group(1) not in XML_ENTITIES]
        rewritten[info.filename] = ENTITY_REF.sub(
            lambda m: m.group() if m.group(1) in XML_ENTITIES else b"", xml)
    if not rewritten:
        return None
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in members:
            copy.writestr(info, rewritten.get(info.filename) or archive.read(info))
    return out.getvalue(), dropped


# --- PDF ----------------------------------------------------------------------------------------


def check_pdf_streams(data: bytes, name: Path | str, limits: IngestParams) -> None:
    """Refuse a PDF whose Flate streams (page contents, fonts; not images, which text extraction
    does not decode) inflate past max_stream_bytes each or max_streams_bytes together. Inflating
    stops at the limit, so a bomb costs at most the limit in memory."""
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfparser import PDFParser
    from pdfminer.pdftypes import PDFStream
    from pdfminer.psparser import LIT

    document = PDFDocument(PDFParser(io.BytesIO(data)))
    total = 0
    for xref in document.xrefs:
        for objid in xref.get_objids():
            try:
                obj = document.getobj(objid)
            except Exception:  # a broken object is pdfplumber's to report
                continue
            if not isinstance(obj, PDFStream) or obj.get("Subtype") == LIT("Image"):
                continue
            filters = obj.get_filters()
            if not filters or filters[0][0] not in (LIT("FlateDecode"), LIT("Fl")):
                continue
            size = _flate_size(obj.rawdata or b"", limits.max_stream_bytes)
            if size > limits.max_stream_bytes:
                raise limit_error(name, f"stream {objid} (inflated)", "max_stream_bytes", limits.max_stream_bytes)
            total += size
            if total > limits.max_streams_bytes:
                raise limit_error(name, "its streams together (inflated)", "max_streams_bytes",
                                  limits.max_streams_bytes)


def _flate_size(raw: bytes, limit: int) -> int:
    """Inflated size of a Flate stream, inflating at most `limit` + 1 bytes (0 when damaged:
    pdfminer copes with or reports that)."""
    inflater = zlib.decompressobj()
    try:
        size = len(inflater.decompress(raw, limit + 1))
    except zlib.error:
        return 0
    return size
