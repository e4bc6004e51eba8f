"""Adding a plan to data/raw: canonical name, inherited metadata, original bytes, all-or-nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from analysis.corpus.add import add_plan
from analysis.corpus.ingest import read_plan
from analysis.corpus.manifest import read_manifest, validate
from analysis.paths import Paths, ProjectError
from support import LIMITS

FIXTURES = Path(__file__).parent / "fixtures"
YANGPU_2025 = FIXTURES / "corpus_yangpu_2025.txt"
GBK_PLAN = FIXTURES / "corpus_gbk_plan.txt"
NEW_DISTRICT = {"doc_id": "jingan_2025", "region": "上海市", "admin_level": "区", "title": "2025年静安区教育工作要点"}


def snapshot(raw: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(raw.iterdir())}


def rejected(project: Paths, *args, **kwargs) -> str:
    """Call add_plan expecting a ProjectError; assert data/raw is byte-for-byte unchanged."""
    before = snapshot(project.raw)
    with pytest.raises(ProjectError) as caught:
        add_plan(project.raw, *args, **kwargs)
    assert snapshot(project.raw) == before
    return str(caught.value)


def test_add_known_district(project: Paths) -> None:
    manifest_before = project.manifest.read_bytes()
    plan = add_plan(project.raw, YANGPU_2025, "杨浦", 2025, source="杨浦区教育局网站")
    stored = project.raw / "yangpu_2025.txt"
    assert stored.read_bytes() == YANGPU_2025.read_bytes()
    assert (plan.doc_id, plan.file, plan.region, plan.admin_level) == ("yangpu_2025", "yangpu_2025.txt", "上海市", "区")
    assert plan.title == "2025年杨浦区教育局工作要点"
    assert plan.source == "杨浦区教育局网站"
    assert plan.completeness == "complete"
    assert plan.sha256 == hashlib.sha256(YANGPU_2025.read_bytes()).hexdigest()
    manifest_after = project.manifest.read_bytes()
    assert manifest_after.startswith(manifest_before)  # one appended row: a minimal diff
    assert manifest_after[len(manifest_before):].decode().count("\n") == 1
    assert read_manifest(project.raw)[-1] == plan
    assert [p.doc_id for p in validate(project.raw)][-1] == "yangpu_2025"


def test_add_new_district_with_all_metadata(project: Paths) -> None:
    plan = add_plan(project.raw, YANGPU_2025, "静安", 2025, completeness="partial", **NEW_DISTRICT)
    assert (plan.file, plan.completeness) == ("jingan_2025.txt", "partial")
    assert plan.source == "added from corpus_yangpu_2025.txt"
    assert len(validate(project.raw)) == 6


def test_gbk_plan_is_stored_byte_for_byte(project: Paths, structure_rules) -> None:
    plan = add_plan(project.raw, GBK_PLAN, "宝山", 2025, source="区教育局网站")
    text = GBK_PLAN.read_bytes().decode("gbk")
    assert (project.raw / "baoshan_2025.txt").read_bytes() == GBK_PLAN.read_bytes()
    assert plan.sha256 == hashlib.sha256(GBK_PLAN.read_bytes()).hexdigest()
    assert plan.source == "区教育局网站 (encoding GB18030)"
    assert plan.title == "2025年宝山区教育工作要点"
    assert read_plan(project.raw / plan.file, structure_rules, LIMITS)[0] == text
    validate(project.raw)


def test_utf8_bom_is_kept_and_noted(project: Paths, tmp_path: Path, structure_rules) -> None:
    source = tmp_path / "plan.txt"
    source.write_bytes(b"\xef\xbb\xbf" + YANGPU_2025.read_bytes())
    plan = add_plan(project.raw, source, "杨浦", 2025)
    assert (project.raw / plan.file).read_bytes() == source.read_bytes()
    assert plan.source == "added from plan.txt (encoding UTF-8 with BOM)"
    assert read_plan(project.raw / plan.file, structure_rules, LIMITS)[0] == YANGPU_2025.read_text(encoding="utf-8")


def test_file_already_in_raw_can_be_registered(project: Paths) -> None:
    dropped = project.raw / "yangpu_2025.txt"
    dropped.write_bytes(YANGPU_2025.read_bytes())
    with pytest.raises(ProjectError, match="no manifest row"):
        validate(project.raw)
    add_plan(project.raw, dropped, "杨浦", 2025)
    assert dropped.read_bytes() == YANGPU_2025.read_bytes()
    assert len(validate(project.raw)) == 6


def test_duplicate_district_and_year_writes_nothing(project: Paths) -> None:
    message = rejected(project, YANGPU_2025, "杨浦", 2024)
    assert "duplicate doc_id yangpu_2024" in message
    assert "(new row 杨浦 2024)" in message


def test_new_district_needs_doc_id_region_and_title(project: Paths) -> None:
    message = rejected(project, YANGPU_2025, "静安", 2025)
    for flag in ("--doc-id", "--region", "--admin-level", "--title"):
        assert f"pass {flag}" in message
    assert "no earlier plan of '静安'" in message
    assert len(message.splitlines()) == 4  # one line per missing value, no follow-on noise


def test_existing_file_without_row_is_not_overwritten(project: Paths) -> None:
    (project.raw / "yangpu_2025.txt").write_text("另一份文本。\n", encoding="utf-8")
    assert "yangpu_2025.txt: exists without a manifest row" in rejected(project, YANGPU_2025, "杨浦", 2025)


@pytest.mark.parametrize("district", ["../x", "杨浦/..", "杨 浦", "yangpu"])
def test_unsafe_district_is_rejected(project: Paths, district: str) -> None:
    message = rejected(project, YANGPU_2025, district, 2025, **NEW_DISTRICT)
    assert f"district {district!r} must be a short Chinese name" in message


@pytest.mark.parametrize("doc_id", ["../jingan_2025", "Jingan_2025", "jingan-2025", "jingan"])
def test_malformed_doc_id_is_rejected(project: Paths, doc_id: str) -> None:
    message = rejected(project, YANGPU_2025, "静安", 2025, **{**NEW_DISTRICT, "doc_id": doc_id})
    assert f"doc_id {doc_id!r} must look like <pinyin>_<year>" in message


def test_doc_id_must_keep_the_district_pinyin(project: Paths) -> None:
    assert "杨浦 plans use yangpu; omit --doc-id" in rejected(project, YANGPU_2025, "杨浦", 2025, doc_id="yp_2025")
    message = rejected(project, YANGPU_2025, "静安", 2025, **{**NEW_DISTRICT, "doc_id": "minhang_2025"})
    assert "minhang already names 闵行" in message


def test_bad_completeness_and_year_are_rejected(project: Paths) -> None:
    assert "completeness 'done' must be one of" in rejected(project, YANGPU_2025, "杨浦", 2025, completeness="done")
    assert "year 1890 is outside 1990–2100" in rejected(project, YANGPU_2025, "杨浦", 1890)


def test_undecodable_files_are_rejected(project: Paths, tmp_path: Path) -> None:
    cases = {
        "empty.txt": (b"", "file is empty"),
        "image.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01", "binary data"),
        "utf16.txt": ("一、加强党建\n".encode("utf-16-le"), "looks like UTF-16 without a byte-order mark"),
    }
    for name, (data, expected) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert f"{tmp_path / name}: {expected}" in rejected(project, tmp_path / name, "杨浦", 2025)
    assert "no such file" in rejected(project, tmp_path / "missing.txt", "杨浦", 2025)
