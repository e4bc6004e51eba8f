"""Corpus: manifest validation, checksums, decoding of plan files (encodings, binary, HTML)."""

from __future__ import annotations

import csv
import hashlib
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from analysis.corpus.decode import decode_plan, looks_like_html
from analysis.corpus.ingest import read_plan
from analysis.corpus.manifest import MANIFEST_COLUMNS, accept_checksum, read_manifest, validate, write_manifest
from analysis.paths import Paths, ProjectError
from support import LIMITS

FIXTURES = Path(__file__).parent / "fixtures"
SENTENCE = "2024年要深化“双减”，加强学生心理健康教育，推进教育数字化转型。\n"

Rows = list[dict[str, str]]


def edit_manifest(project: Paths, change: Callable[[Rows], Rows], header: list[str] | None = None) -> None:
    """Rewrite the copy's manifest with `change` applied to its rows (values may be invalid)."""
    with project.manifest.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with project.manifest.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header or MANIFEST_COLUMNS)
        writer.writerows([row[c] for c in MANIFEST_COLUMNS] for row in change(rows))


def set_value(doc_id: str, **values: str) -> Callable[[Rows], Rows]:
    return lambda rows: [{**row, **values} if row["doc_id"] == doc_id else row for row in rows]


def problems(project: Paths) -> str:
    with pytest.raises(ProjectError) as caught:
        validate(project.raw)
    return str(caught.value)


def folder_digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# --- the real corpus ---------------------------------------------------------------------------


def test_real_corpus_validates_without_touching_raw(paths: Paths) -> None:
    before = folder_digest(paths.raw)
    plans = validate(paths.raw)
    assert [p.doc_id for p in plans] == [
        "yangpu_2024", "minhang_2017", "baoshan_2023", "chengzhong_2024", "zhoushan_2024",
    ]
    assert folder_digest(paths.raw) == before


def test_real_plans_are_not_mistaken_for_html(paths: Paths, structure_rules) -> None:
    for plan in read_manifest(paths.raw):
        assert not looks_like_html(read_plan(paths.raw / plan.file, structure_rules, LIMITS)[0]), plan.doc_id


def test_write_manifest_reproduces_the_committed_file(project: Paths) -> None:
    before = project.manifest.read_bytes()
    write_manifest(project.raw, read_manifest(project.raw))
    assert project.manifest.read_bytes() == before


# --- manifest problems -------------------------------------------------------------------------


def test_row_without_file(project: Paths) -> None:
    (project.raw / "minhang_2017.txt").unlink()
    message = problems(project)
    assert "minhang_2017.txt: file missing for manifest row minhang_2017" in message
    assert "restore it or delete the row" in message


def test_file_without_row(project: Paths) -> None:
    (project.raw / "jingan_2024.txt").write_text(SENTENCE, encoding="utf-8")
    assert "jingan_2024.txt: no manifest row; register it with `python -m analysis add`" in problems(project)


def test_duplicate_doc_id(project: Paths) -> None:
    edit_manifest(project, lambda rows: [*rows, rows[0]])
    assert "duplicate doc_id yangpu_2024" in problems(project)


def test_duplicate_district_and_year(project: Paths) -> None:
    edit_manifest(project, set_value("chengzhong_2024", district="杨浦"))
    assert "(chengzhong_2024): duplicate district+year 杨浦 2024, already row yangpu_2024" in problems(project)


def test_year_not_a_number(project: Paths) -> None:
    edit_manifest(project, set_value("minhang_2017", year="二〇一七"))
    message = problems(project)
    assert "manifest.csv:3: year '二〇一七' is not a four-digit year in ASCII digits 0-9; write e.g. 2025" in message


def test_year_out_of_range(project: Paths) -> None:
    edit_manifest(project, set_value("minhang_2017", year="2170"))
    message = problems(project)
    assert "year 2170 is outside 1990–2100" in message
    assert "doc_id 'minhang_2017' does not end with its year 2170" in message


def test_checksum_drift_names_file_and_how_to_accept(project: Paths) -> None:
    with (project.raw / "baoshan_2023.txt").open("ab") as handle:
        handle.write(b"\n")
    message = problems(project)
    assert message.count("\n") == 0
    assert f"{project.raw / 'baoshan_2023.txt'}: sha256" in message
    assert "check --accept baoshan_2023" in message


def test_unknown_completeness(project: Paths) -> None:
    edit_manifest(project, set_value("yangpu_2024", completeness="finished"))
    assert "completeness 'finished' must be one of complete, truncated, partial" in problems(project)


@pytest.mark.parametrize("district", ["../x", "杨/浦", "杨\\浦", "杨 浦", "..", "Yangpu"])
def test_unsafe_district(project: Paths, district: str) -> None:
    edit_manifest(project, set_value("yangpu_2024", district=district))
    assert f"district {district!r} must be a short Chinese name" in problems(project)


def test_wrong_header(project: Paths) -> None:
    header = [c if c != "completeness" else "status" for c in MANIFEST_COLUMNS]
    edit_manifest(project, lambda rows: rows, header=header)
    assert "header must be exactly doc_id,district,region" in problems(project)


def test_every_problem_on_its_own_line(project: Paths) -> None:
    edit_manifest(project, set_value("yangpu_2024", completeness="finished"))
    (project.raw / "minhang_2017.txt").unlink()
    lines = problems(project).splitlines()
    assert len(lines) == 2
    assert "completeness" in lines[0]
    assert "minhang_2017.txt" in lines[1]


def test_accept_checksum_updates_only_that_row(project: Paths) -> None:
    before = project.manifest.read_text(encoding="utf-8").splitlines()
    path = project.raw / "yangpu_2024.txt"
    path.write_bytes(path.read_bytes() + "补充一句。\n".encode())
    accept_checksum(project.raw, "yangpu_2024")
    after = project.manifest.read_text(encoding="utf-8").splitlines()
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert len(changed) == 1
    old, new = changed[0]
    assert new.startswith("yangpu_2024,") and new.endswith(hashlib.sha256(path.read_bytes()).hexdigest())
    assert old.rsplit(",", 1)[0] == new.rsplit(",", 1)[0]
    assert len(validate(project.raw)) == 5


def test_accept_checksum_of_unknown_doc_id(project: Paths) -> None:
    with pytest.raises(ProjectError, match="no row with doc_id 'yangpu_2099'"):
        accept_checksum(project.raw, "yangpu_2099")


# --- decoding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"\xef\xbb\xbf" + SENTENCE.encode(), SENTENCE.encode("utf-16"), b"\xfe\xff" + SENTENCE.encode("utf-16-be")],
    ids=["utf-8-bom", "utf-16-le-bom", "utf-16-be-bom"],
)
def test_byte_order_marks_are_honoured(data: bytes) -> None:
    assert decode_plan(data, "plan.txt") == SENTENCE


def test_gbk_sentence_decodes(tmp_path: Path) -> None:
    assert decode_plan(SENTENCE.encode("gbk"), "plan.txt") == SENTENCE
    fixture = FIXTURES / "corpus_gbk_plan.txt"
    assert "“宝教”品牌" in decode_plan(fixture.read_bytes(), fixture)


@pytest.mark.parametrize("text", [SENTENCE, "二、加强思政教育"], ids=["with-ascii", "chinese-only"])
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_rejected(text: str, codec: str) -> None:
    with pytest.raises(ProjectError, match=r"plan\.txt: looks like UTF-16 without a byte-order mark"):
        decode_plan(text.encode(codec), "plan.txt")


@pytest.mark.parametrize("data", [b"", b" \n\t\n", b"\xef\xbb\xbf\n"], ids=["zero-bytes", "blank", "bom-only"])
def test_empty_file_is_rejected(data: bytes) -> None:
    with pytest.raises(ProjectError, match=r"plan\.txt: file is empty"):
        decode_plan(data, "plan.txt")


def test_binary_file_is_rejected() -> None:
    noise = random.Random(7).randbytes(2000)
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + noise
    with pytest.raises(ProjectError, match=r"image\.txt: binary data"):
        decode_plan(data, "image.txt")


def test_html_page_is_reduced_to_its_text() -> None:
    fixture = FIXTURES / "corpus_page.txt"
    text = decode_plan(fixture.read_bytes(), fixture)
    assert "<" not in text and "tracker" not in text and "font-family" not in text
    assert "请启用JavaScript" not in text
    lines = text.splitlines()
    assert "闵行教育要以习近平新时代中国特色社会主义思想为指导。" in lines  # inline <strong> kept in line
    assert "1.推进思政课一体化建设。" in lines and "2.加强心理健康教育。" in lines  # <br> splits
    assert "一、落实立德树人根本任务" in lines


def test_tag_heavy_fragment_without_doctype_is_html() -> None:
    fragment = "".join(f"<p>{n}.推进第{n}项工作。</p>\n" for n in range(1, 12))
    assert decode_plan(fragment.encode(), "plan.txt").splitlines()[0] == "1.推进第1项工作。"


def test_literal_script_tag_in_prose_is_kept_verbatim() -> None:
    text = "一、网络安全教育\n1.提醒学生不要在网页中粘贴<script>alert(1)</script>之类的代码。\n"
    assert not looks_like_html(text)
    assert decode_plan(text.encode(), "plan.txt") == text
