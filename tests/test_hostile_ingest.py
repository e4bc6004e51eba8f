"""Issue 22 (ingest half): hostile files and fields are refused in one line, bounded, with nothing written."""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
import time
import tracemalloc
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from analysis.corpus import reader as reader_module
from analysis.corpus.add import AddRequest, add_plans
from analysis.corpus.clean import clean_plan
from analysis.corpus.ingest import extract
from analysis.corpus.manifest import read_manifest, validate, write_manifest
from analysis.corpus.reader import PlanReader
from analysis.files import read_csv, write_csv_atomic
from analysis.paths import Paths, ProjectError
from support import FIXTURES, LIMITS, cli

PLAN = FIXTURES / "corpus_yangpu_2025.txt"
DOCX = FIXTURES / "ingest" / "plan.docx"
PARAGRAPH = "区教育局推进教育高质量发展，落实立德树人根本任务，深化课程改革。"


def raw_state(project: Paths) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in project.raw.iterdir() if p.is_file()}


def one_error(result) -> str:
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def batch(tmp_path: Path, metadata: str, text: str) -> Path:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "yangpu_2025.txt").write_bytes(PLAN.read_bytes())
    (folder / metadata).write_text(text, encoding="utf-8")
    return folder


def test_a_200000_character_source_is_refused_and_nothing_written(project: Paths, tmp_path: Path) -> None:
    folder = batch(tmp_path, "metadata.yaml", f"- file: yangpu_2025.txt\n  district: 杨浦\n  year: 2025\n"
                                              f"  source: {'x' * 200_000}\n")
    before = raw_state(project)
    line = one_error(cli("--root", str(project.root), "add", str(folder)))
    assert line == (f"error: {folder / 'metadata.yaml'} (plan 1): source is 200,000 characters long; "
                    "at most 2,000 are allowed — shorten it")
    assert raw_state(project) == before


def test_a_metadata_csv_cell_over_128_kb_is_one_line(project: Paths, tmp_path: Path) -> None:
    folder = batch(tmp_path, "metadata.csv", f"file,district,year,title\nyangpu_2025.txt,杨浦,2025,{'标' * 140_000}\n")
    before = raw_state(project)
    line = one_error(cli("--root", str(project.root), "add", str(folder)))
    assert line.endswith("metadata.csv:2: title is 140,000 characters long; at most 200 are allowed — shorten it")
    assert raw_state(project) == before


def test_a_long_field_already_in_the_manifest_is_reported_not_a_crash(project: Paths) -> None:
    plans = read_manifest(project.raw)
    write_manifest(project.raw, [replace(plans[0], source="y" * 200_000), *plans[1:]])
    assert read_manifest(project.raw)[0].source == "y" * 200_000  # the reader copes with any length
    with pytest.raises(ProjectError) as caught:
        validate(project.raw)
    assert caught.value.problems == [f"{project.manifest}:2 ({plans[0].doc_id}): source is 200,000 characters "
                                     "long; at most 2,000 are allowed — shorten it"]


def test_yaml_alias_bomb_in_metadata_is_refused_at_once(project: Paths, tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
    folder = batch(tmp_path, "metadata.yaml", bomb)
    before, start = raw_state(project), time.perf_counter()
    line = one_error(cli("--root", str(project.root), "add", str(folder)))
    assert time.perf_counter() - start < 5
    assert line.endswith("metadata.yaml: line 1: YAML anchors and aliases (&name, *name) are not allowed in a "
                         "parameter file; write the values out")
    assert raw_state(project) == before


def docx_with(document_xml: bytes, damage: bool = False) -> bytes:
    """plan.docx with its word/document.xml replaced (optionally with the member's data damaged)."""
    source = zipfile.ZipFile(DOCX)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, document_xml if info.filename == "word/document.xml"
                            else source.read(info), zipfile.ZIP_DEFLATED)
    data = out.getvalue()
    if damage:
        start = data.index(b"word/document.xml") + len("word/document.xml") + 40
        data = data[:start] + bytes(b ^ 0xFF for b in data[start:start + 64]) + data[start + 64:]
    return data


def paragraphs_xml(body: str, doctype: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<w:document xmlns:w="http://schemas.openxmlformats.org/'
            f'wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>').encode()


def refused(tmp_path: Path, name: str, data: bytes, limits=LIMITS) -> tuple[str, float, int]:
    """The one-line refusal of extracting `data`, the seconds and the peak Python memory it took."""
    path = tmp_path / name
    path.write_bytes(data)
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(ProjectError) as caught:
        extract(path, None, limits)
    seconds, peak = time.perf_counter() - start, tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(caught.value.problems) == 1
    return caught.value.problems[0], seconds, peak


def test_docx_inflating_past_the_xml_limit_is_refused_bounded(tmp_path: Path) -> None:
    bomb = docx_with(paragraphs_xml("<w:p><w:r><w:t>" + "0" * 30_000_000 + "</w:t></w:r></w:p>"))
    assert len(bomb) < 200_000
    line, seconds, peak = refused(tmp_path, "bomb.docx", bomb)
    assert "member word/document.xml (declares 30,000," in line and "max_xml_bytes = 20,000,000" in line
    assert seconds < 10 and peak < 50_000_000


def declaring(data: bytes, member: str, size: int) -> bytes:
    """The zip `data` with `member`'s uncompressed size patched to `size` in its local header and its
    central directory entry (the CRC and the compressed data unchanged)."""
    patched, name = bytearray(data), member.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        at = patched.find(signature)
        while patched[at + name_at:at + name_at + len(name)] != name:
            at = patched.find(signature, at + 1)
        patched[at + size_at:at + size_at + 4] = size.to_bytes(4, "little")
    return bytes(patched)


def test_docx_member_inflating_past_its_declared_size_is_refused_bounded(project: Paths, tmp_path: Path) -> None:
    """word/document.xml declares 2,000 bytes (under every limit and the ratio floor) but inflates to 30 MB."""
    xml = paragraphs_xml("<w:p><w:r><w:t>" + "0" * 30_000_000 + "</w:t></w:r></w:p>")
    bomb = declaring(docx_with(xml), "word/document.xml", 2_000)
    assert zipfile.ZipFile(io.BytesIO(bomb)).getinfo("word/document.xml").file_size == 2_000
    expected = (f"{tmp_path / 'declared.docx'}: member word/document.xml does not match its declared 2,000 bytes "
                "(inflates past its declared size, or damaged); open it in Word or LibreOffice and save as .docx")
    line, seconds, peak = refused(tmp_path, "declared.docx", bomb)
    assert line == expected and seconds < 5 and peak < 5_000_000
    before = raw_state(project)
    assert one_error(cli("--root", str(project.root), "add", str(tmp_path / "declared.docx"), "--district", "杨浦",
                         "--year", "2025")) == f"error: {expected}"
    assert raw_state(project) == before and not (project.processed / ".extract").exists()


@pytest.mark.parametrize(("xml", "damage", "error"), [
    (b"<w:document><w:body><w:p>", False, "XMLSyntaxError"),
    (paragraphs_xml("<w:p><w:r><w:t>" + PARAGRAPH + "</w:t></w:r></w:p>"), True, "error"),  # zlib.error
])
def test_damaged_docx_is_one_line(tmp_path: Path, xml: bytes, damage: bool, error: str) -> None:
    line, _, _ = refused(tmp_path, "bad.docx", docx_with(xml, damage))
    assert line == (f"{tmp_path / 'bad.docx'}: not a readable .docx ({error}); open it in Word or LibreOffice "
                    "and save as .docx")


def test_docx_entities_are_dropped_and_recorded_keeping_the_paragraph(tmp_path: Path) -> None:
    laughs = "".join(f'<!ENTITY l{i} "&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};">' for i in range(1, 10))
    doctype = f'<!DOCTYPE w:document [<!ENTITY l0 "lol">{laughs}]>'
    xml = paragraphs_xml("<w:p><w:r><w:t>一、总体要求&l9;其余文字照常保留</w:t></w:r></w:p>", doctype)
    path = tmp_path / "laughs.docx"
    path.write_bytes(docx_with(xml))
    text, removed = extract(path, None, LIMITS)
    assert text == "一、总体要求其余文字照常保留\n"
    assert removed == [("docx_entity", "&l9;")]


def flate_pdf(content: bytes) -> bytes:
    """A one-page PDF whose page content is `content`, Flate-compressed, with a correct xref."""
    stream = zlib.compress(content, 9)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdf_stream_bomb_is_refused_bounded(tmp_path: Path) -> None:
    line, seconds, peak = refused(tmp_path, "bomb.pdf", flate_pdf(b" " * 60_000_000))
    assert line.startswith(f"{tmp_path / 'bomb.pdf'}: stream 4 (inflated) exceeds max_stream_bytes = 20,000,000")
    assert seconds < 10 and peak < 80_000_000


def test_deeply_nested_html_is_refused_fast(tmp_path: Path) -> None:
    page = ("<html><body>" + f"<div><p>{PARAGRAPH}" * 20_000 + "</body></html>").encode()
    line, seconds, _ = refused(tmp_path, "nested.html", page)
    assert "nesting (40,002 elements deep) exceeds max_html_depth = 2,000" in line
    assert seconds < 20


def test_html_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    page = ("<html><body>" + f"<p>{PARAGRAPH}</p>" * 1_000 + "</body></html>").encode()
    line, seconds, _ = refused(tmp_path, "big.html", page, replace(LIMITS, max_html_bytes=10_000))
    assert f"the page ({len(page):,} bytes) exceeds max_html_bytes = 10,000" in line and seconds < 1


def test_extraction_is_cached_by_content(tmp_path: Path, structure_rules, monkeypatch) -> None:
    plan = tmp_path / "portal.html"
    plan.write_bytes((FIXTURES / "ingest" / "portal.html").read_bytes())
    reader = PlanReader(structure_rules, LIMITS, tmp_path / "cache")
    first = reader.read(plan)
    monkeypatch.setattr(reader_module, "read_plan", lambda *args: pytest.fail("extracted twice"))
    assert reader.read(plan) == first
    assert len(list((tmp_path / "cache").iterdir())) == 1
    with pytest.raises(pytest.fail.Exception):  # other limits: another key, extracted again
        replace(reader, limits=replace(LIMITS, max_html_depth=3_000)).read(plan)


def test_formula_cells_are_neutralised_and_read_back_exactly(tmp_path: Path) -> None:
    frame = pd.DataFrame({"doc_id": ["a", "b", "c", "d"],
                          "title": ["=HYPERLINK(\"http://x\",\"y\")", "@SUM(1+1)*cmd|' /C calc'!A0", "'quoted", "-x"],
                          "count": [-1, 2, -3, 4], "share": [-0.5, 0.25, 1.0, -2.0]})
    write_csv_atomic(tmp_path / "t.csv", frame)
    written = (tmp_path / "t.csv").read_text(encoding="utf-8-sig").splitlines()
    assert written[1:3] == ["a,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",-1,-0.5",
                            "b,'@SUM(1+1)*cmd|' /C calc'!A0,2,0.25"]
    assert written[3:] == ["c,''quoted,-3,1.0", "d,'-x,4,-2.0"]
    pd.testing.assert_frame_equal(read_csv(tmp_path / "t.csv"), frame)


def test_formula_cells_are_neutralised_per_value_in_long_mixed_columns(tmp_path: Path) -> None:
    """csv_bytes decides once per distinct value: repeats, missing values and numbers in a text column."""
    frame = pd.DataFrame({"term": ["=1", "ok", None, "=1", "+2", "ok"] * 2, "n": range(12)})
    frame["mixed"] = pd.Series(["-x", 3, float("nan"), "-x", True, "y"] * 2, dtype=object)
    write_csv_atomic(tmp_path / "t.csv", frame)
    written = (tmp_path / "t.csv").read_text(encoding="utf-8-sig").splitlines()
    assert written[1:7] == ["'=1,0,'-x", "ok,1,3", ",2,", "'=1,3,'-x", "'+2,4,True", "ok,5,y"]
    assert written[7:] == [line.replace(f",{n},", f",{n + 6},") for n, line in enumerate(written[1:7])]


def test_manifest_is_formula_safe_and_round_trips(project: Paths) -> None:
    plans = read_manifest(project.raw)
    hostile = replace(plans[0], title="=HYPERLINK(\"x\")", source="+cmd")
    write_manifest(project.raw, [hostile, *plans[1:]])
    row = project.manifest.read_text(encoding="utf-8").splitlines()[1]
    assert "\"'=HYPERLINK(\"\"x\"\")\",'+cmd," in row
    assert read_manifest(project.raw) == [hostile, *plans[1:]]


def test_control_characters_are_removed_and_recorded(clean_rules) -> None:
    cleaned = clean_plan("2025年工作要点\n一、总体要求\n1.推进\x01教育发展，落实立德树人根本任务。\n", clean_rules)
    assert "\x01" not in cleaned.text and "1.推进教育发展，落实立德树人根本任务。" in cleaned.text
    assert ("control_characters", "1.推进\\x01教育发展，落实立德树人根本任务。") in cleaned.removed


def test_a_killed_batch_add_leaves_nothing_that_blocks(project: Paths) -> None:
    staging = project.raw / ".staging-killed"  # killed while copying: only the hidden staging folder
    staging.mkdir()
    (staging / "yangpu_2025.txt").write_bytes(PLAN.read_bytes())
    assert len(validate(project.raw)) == 5
    added = add_plans(project.raw, [AddRequest(PLAN, "杨浦", 2025)])
    assert not staging.exists() and [p.doc_id for p in validate(project.raw)][-1] == added[0].doc_id


# Holds data/processed/.lock the way a `run` or another `add` does (the same filelock), until stdin closes.
HOLD_LOCK = """
import sys
from filelock import FileLock
with FileLock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_add_says_it_waits_for_the_processed_lock_then_succeeds(project: Paths, tmp_path: Path) -> None:
    plan = tmp_path / "杨浦2025.txt"
    plan.write_bytes(PLAN.read_bytes())
    project.processed.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(project.processed / ".lock")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "PYTHONUNBUFFERED": "1"}
    add = subprocess.Popen([sys.executable, "-m", "analysis", "--root", str(project.root), "add", str(plan),
                            "--district", "杨浦", "--year", "2025"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, encoding="utf-8", env=env)
    try:
        assert add.stderr is not None
        assert select.select([add.stderr], [], [], 120)[0], "add printed nothing while it waited"
        assert add.stderr.readline() == (f"waiting for {project.processed / '.lock'}: another `run` or `add` is "
                                         "using data/processed …\n")
        assert add.poll() is None and "yangpu_2025" not in {p.doc_id for p in read_manifest(project.raw)}
    finally:
        holder.communicate("", timeout=30)  # the first one finishes: the lock is released
    out, err = add.communicate(timeout=120)
    assert add.returncode == 0, err
    assert out.startswith(f"added yangpu_2025: {project.raw / 'yangpu_2025.txt'}")
    assert [p.doc_id for p in read_manifest(project.raw)][-1] == "yangpu_2025"
