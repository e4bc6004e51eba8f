"""Plans as published: PDF, DOCX and portal HTML extracted; batch add all-or-nothing; portal
metadata blocks removed (and recorded) whatever the portal."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from analysis.corpus.add import add_plan
from analysis.corpus.clean import clean_plan
from analysis.corpus.ingest import extract, read_plan
from analysis.corpus.manifest import read_manifest, validate
from analysis.params import load_params
from analysis.paths import Paths, ProjectError
from analysis.stages.dataset import structure_corpus
from support import LIMITS, cli

INGEST = Path(__file__).parent / "fixtures" / "ingest"
_spec = importlib.util.spec_from_file_location("make_fixtures", INGEST / "make_fixtures.py")
made = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(made)
PLAN = made.PLAN  # title, preamble, 一、, 1., 2., 二、, 3., 4.
NEW = ("--doc-id", "jingan_2025", "--region", "上海市", "--admin-level", "区", "--title", made.TITLE)


def snapshot(raw: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(raw.iterdir())}


def test_fixtures_are_what_the_generator_writes(tmp_path: Path) -> None:
    assert (INGEST / "plan.pdf").read_bytes() == made.plan_pdf()
    assert (INGEST / "portal.html").read_bytes() == made.portal_html()


# --- extraction --------------------------------------------------------------------------------


def test_pdf_paragraphs_are_restored_and_furniture_dropped(structure_rules) -> None:
    text = extract(INGEST / "plan.pdf", structure_rules, LIMITS)[0]
    assert text.splitlines() == PLAN  # items in order, each on one line
    assert made.ITEM_2 in text.splitlines()  # split over the page break, restored
    assert made.HEADER not in text  # running header, on both pages
    assert "—" not in text and "— 2 —" not in text  # page numbers


def test_scanned_pdf_is_refused_in_one_line(project: Paths) -> None:
    before = snapshot(project.raw)
    result = cli("--root", str(project.root), "add", str(INGEST / "scanned.pdf"), "--district", "静安",
                 "--year", "2025", *NEW)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {INGEST / 'scanned.pdf'}: PDF has no text layer (a scanned image?); run OCR on it, "
        "or add the portal's HTML page or a text PDF instead"
    ]
    assert snapshot(project.raw) == before


def test_damaged_pdf_is_refused(tmp_path: Path, structure_rules) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n garbage")
    with pytest.raises(ProjectError, match="cannot read the PDF"):
        extract(broken, structure_rules, LIMITS)[0]


def test_docx_body_only(structure_rules) -> None:
    text = extract(INGEST / "plan.docx", structure_rules, LIMITS)[0]
    assert text.splitlines() == [*PLAN, "附表 重点项目清单"]
    assert "页眉" not in text and "页脚" not in text


def test_html_main_content_only(structure_rules) -> None:
    text = extract(INGEST / "portal.html", structure_rules, LIMITS)[0]
    lines = [line for line in text.splitlines() if line]
    assert lines == PLAN
    for furniture in ("首页", "当前位置", "索引号", "分享到", "打印本页", "相关链接", "主办单位", "ICP备", "不是正文"):
        assert furniture not in text


def numbered_docx(path: Path) -> Path:
    """PLAN as Word writes it with automatic numbering: sections in a 一、 list (one made by hand in
    numbering.xml), items in the built-in "List Number" style, no number typed in the text."""
    import re

    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    numbering = document.part.numbering_part.element
    numbering.insert(0, parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
        '<w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%1、"/></w:lvl></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    for line in PLAN:
        if re.match(r"\d+\.", line):
            document.add_paragraph(re.sub(r"^\d+\.", "", line), style="List Number")
        elif line[1:2] == "、":
            paragraph = document.add_paragraph(line[2:])
            paragraph._p.get_or_add_pPr().append(parse_xml(
                f'<w:numPr {nsdecls("w")}><w:ilvl w:val="0"/><w:numId w:val="90"/></w:numPr>'))
        else:
            document.add_paragraph(line)
    document.add_paragraph("不编号的要点", style="List Bullet")
    document.save(path)
    return path


def test_docx_automatic_numbering_is_written_out(tmp_path: Path, structure_rules) -> None:
    text = extract(numbered_docx(tmp_path / "numbered.docx"), structure_rules, LIMITS)[0]
    assert text.splitlines() == [*PLAN, "不编号的要点"]  # 一、 1. 2. 二、 3. 4.; bullets stay unnumbered


def test_doc_is_refused_with_advice(project: Paths, tmp_path: Path) -> None:
    old = tmp_path / "plan.doc"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(ProjectError, match=r"\.doc \(Word 97-2003\) file; .* save it as \.docx"):
        add_plan(project.raw, old, "杨浦", 2025)


# --- add ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["plan.pdf", "plan.docx", "portal.html"])
def test_add_keeps_the_original_and_the_pipeline_reads_its_text(project: Paths, name: str, structure_rules) -> None:
    result = cli("--root", str(project.root), "add", str(INGEST / name), "--district", "静安", "--year", "2025",
                 *NEW)
    assert result.returncode == 0, result.stderr
    plan = read_manifest(project.raw)[-1]
    assert plan.file == f"jingan_2025{Path(name).suffix}"
    assert (project.raw / plan.file).read_bytes() == (INGEST / name).read_bytes()
    assert len(validate(project.raw)) == 6
    stored = read_plan(project.raw / plan.file, structure_rules, LIMITS)[0]
    assert stored == extract(INGEST / name, structure_rules, LIMITS)[0]
    tables = structure_corpus(project.raw, load_params(project.params), ["jingan_2025"])
    items = tables.items
    assert list(items["item_no"]) == ["1", "2", "3", "4"]
    assert list(items["section_no"]) == [1, 1, 2, 2]
    assert items["text"].iloc[1].endswith("减轻学生过重作业负担。")


def test_pdf_page_furniture_is_recorded_in_the_removed_lines(project: Paths) -> None:
    add_plan(project.raw, INGEST / "plan.pdf", "静安", 2025, region="上海市", admin_level="区", title=made.TITLE,
             doc_id="jingan_2025")
    removed = structure_corpus(project.raw, load_params(project.params), ["jingan_2025"]).removed
    assert removed.values.tolist() == [
        ["jingan_2025", "pdf_page_furniture", line] for line in (made.HEADER, "— 1 —", made.HEADER, "— 2 —")
    ]


def write_metadata(folder: Path, rows: list[str]) -> None:
    (folder / "metadata.csv").write_text("file,district,year,title,region,admin_level,doc_id\n"
                                         + "".join(row + "\n" for row in rows), encoding="utf-8")


def test_batch_folder_adds_every_plan(project: Paths, tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    for name in ("plan.pdf", "plan.docx", "portal.html"):
        shutil.copy(INGEST / name, batch / name)
    write_metadata(batch, [
        "plan.pdf,静安,2025,2025年静安区教育工作要点,上海市,区,jingan_2025",
        "plan.docx,静安,2024,,,,",  # inherits from the 2025 row of the same batch
        "portal.html,杨浦,2025,,,,",  # inherits from yangpu_2024
    ])
    result = cli("--root", str(project.root), "add", str(batch))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "added 3 plans; run `make reports` to include them everywhere"
    plans = read_manifest(project.raw)[-3:]
    assert [p.file for p in plans] == ["jingan_2025.pdf", "jingan_2024.docx", "yangpu_2025.html"]
    assert plans[1].title == "2024年静安区教育工作要点"
    assert len(validate(project.raw)) == 8


def test_batch_with_metadata_option_and_files(project: Paths, tmp_path: Path) -> None:
    meta = tmp_path / "meta.csv"
    meta.write_text("file,district,year\nplan.pdf,杨浦,2025\nplan.docx,杨浦,2026\n", encoding="utf-8")
    result = cli("--root", str(project.root), "add", str(INGEST / "plan.pdf"), str(INGEST / "plan.docx"),
                 "--metadata", str(meta))
    assert result.returncode == 0, result.stderr
    assert [p.file for p in read_manifest(project.raw)[-2:]] == ["yangpu_2025.pdf", "yangpu_2026.docx"]


def test_batch_is_all_or_nothing_and_lists_every_problem(project: Paths, tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    for name in ("plan.pdf", "scanned.pdf", "portal.html"):
        shutil.copy(INGEST / name, batch / name)
    (batch / "stray.txt").write_text("1.多余的文件。\n", encoding="utf-8")
    write_metadata(batch, [
        "plan.pdf,杨浦,2025,,,,",
        "scanned.pdf,闵行,2025,,,,",
        "portal.html,舟山,２０２５,,,,",
    ])
    before = snapshot(project.raw)
    result = cli("--root", str(project.root), "add", str(batch))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 3, lines
    assert lines[0] == (f"error: {batch / 'metadata.csv'}:4: year '２０２５' is not a four-digit year in ASCII "
                        "digits 0-9; write e.g. 2025")
    assert lines[1].startswith(f"error: {batch / 'stray.txt'}: no row in {batch / 'metadata.csv'}")
    assert lines[2].startswith(f"error: {batch / 'scanned.pdf'}: PDF has no text layer")
    assert snapshot(project.raw) == before


def test_batch_refuses_a_repeated_plan(project: Paths, tmp_path: Path) -> None:
    meta = tmp_path / "meta.csv"
    meta.write_text("file,district,year\nplan.pdf,杨浦,2025\nplan.docx,杨浦,2025\n", encoding="utf-8")
    before = snapshot(project.raw)
    result = cli("--root", str(project.root), "add", str(INGEST / "plan.pdf"), str(INGEST / "plan.docx"),
                 "--metadata", str(meta))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {project.manifest} (new row 杨浦 2025): duplicate doc_id yangpu_2025; each plan appears once"
    ]
    assert snapshot(project.raw) == before


def test_several_files_need_metadata(project: Paths) -> None:
    result = cli("--root", str(project.root), "add", str(INGEST / "plan.pdf"), str(INGEST / "plan.docx"),
                 "--district", "杨浦", "--year", "2025")
    assert result.returncode == 2
    assert result.stderr.startswith("error: several files need --metadata meta.csv")


def test_one_file_needs_district_and_year(project: Paths) -> None:
    result = cli("--root", str(project.root), "add", str(INGEST / "plan.pdf"), "--year", "2025")
    assert result.returncode == 2
    assert result.stderr == (f"error: {INGEST / 'plan.pdf'}: pass --district (or a folder with metadata.csv, "
                             "or --metadata)\n")


# --- furniture ---------------------------------------------------------------------------------


def test_portal_metadata_block_is_removed_and_recorded(
    project: Paths, tmp_path: Path, clean_rules, structure_rules
) -> None:
    saved = tmp_path / "page.txt"  # the whole page saved as text: nothing but cleaning removes the furniture
    saved.write_bytes((INGEST / "portal.html").read_bytes())
    add_plan(project.raw, saved, "静安", 2025, region="上海市", admin_level="区", title=made.TITLE,
             doc_id="jingan_2025")
    tables = structure_corpus(project.raw, load_params(project.params), ["jingan_2025"])
    removed = tables.removed
    block = removed[removed["rule"] == "metadata_block"]["text"].tolist()
    assert block == [
        "001008009005004/2025-00273", "静安区教育局", "2025年03月10日", "有效",  # values of keys (有效性)
        "2025年静安区教育工作要点_静安区人民政府", "首页 信息公开 教育局", "所属类别：", "计划总结", "统一编号",
        "JAQ0012025001", "2025-03-12 09:30", "主动公开",
    ]
    assert set(removed["rule"]) == {"footer", "breadcrumb", "portal_metadata", "share_print", "metadata_block"}
    stored = project.raw / read_manifest(project.raw)[-1].file
    cleaned = clean_plan(read_plan(stored, structure_rules, LIMITS)[0], clean_rules)
    assert cleaned.text.splitlines() == PLAN
    assert list(tables.items["item_no"]) == ["1", "2", "3", "4"]


def test_metadata_lines_inside_the_plan_are_kept(clean_rules) -> None:
    text = "\n".join([
        "索引号：123456/2025-1",
        "2025年某区教育工作要点",
        "一、加强党建",
        "1.深化思政课改革。",
        "联系人：王老师",  # after the plan's start: content, not furniture
        "2025-03-12",
    ])
    result = clean_plan(text, clean_rules)
    assert result.removed == [("portal_metadata", "索引号：123456/2025-1")]
    assert "联系人：王老师" in result.text and "2025-03-12" in result.text
