"""Round trip of the five seed plans through the formats they are published in: each seed's raw
text, rendered at test time as a multi-page PDF (hard-wrapped lines, a running header, `— n —`
page numbers), a DOCX (header and footer furniture) and a portal HTML page (navigation,
breadcrumb, metadata block, share buttons, related links, footer), is extracted, cleaned and
structured into exactly the sections and items of its text file."""

from __future__ import annotations

import functools
import html
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from analysis.corpus.clean import clean_plan
from analysis.corpus.ingest import extract, read_plan
from analysis.corpus.manifest import read_manifest
from analysis.corpus.structure import parse_plan
from support import LIMITS
from test_structure import EXPECTED  # the gold section/item counts of the seeds

FONT = Path(__import__("mplfonts").__file__).parent / "fonts" / "SimHei.ttf"
FALLBACK = Path(__import__("matplotlib").get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"  # •, NBSP
# fpdf2 embeds NotoSansCJKsc-Regular.otf (CFF outlines) in a way pdfminer reads no characters from;
# the TrueType SimHei gives a normal text layer.
MARGIN, SIZE, LEADING = 25.0, 12.0, 7.0  # mm, pt, mm
ASCII_RUN = re.compile(r"[A-Za-z0-9.%\-]+|.", re.DOTALL)  # typesetters do not break words and numbers


def wrapped(line: str, width: Callable[[str], float], measure: float, indent: float) -> list[str]:
    """A paragraph broken into lines that fill `measure` (the first one `indent` shorter)."""
    lines, current, used, room = [], "", 0.0, measure - indent
    for token in ASCII_RUN.findall(line):
        if current and used + width(token) > room:
            lines.append(current.rstrip())
            current, used, room = token.lstrip(), 0.0, measure
        else:
            current += token
        used += width(token)
    return [*lines, current] if current else lines


def subset_font(text: str, out: Path) -> Path:
    """SimHei cut down to the glyphs of `text`, saved as `out`: fpdf2 then loads 0.3 MB, not 10 MB,
    per document."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(FONT)
    subsetter = subset.Subsetter()
    subsetter.populate(text=text)
    subsetter.subset(font)
    font.save(out)
    return out


def render_pdf(paragraphs: list[str], header: str, font: Path = FONT) -> bytes:
    """An A4 PDF set like a printed plan in `font`: paragraphs hard-wrapped, first lines indented
    two characters, `header` at the top of every page and `— n —` at the bottom."""
    from fpdf import FPDF

    class Plan(FPDF):
        def header(self) -> None:
            self.set_font("cjk", size=9)
            self.cell(0, 6, header, align="C", new_x="LMARGIN", new_y="NEXT")
            self.ln(6)

        def footer(self) -> None:
            self.set_y(-18)
            self.set_font("cjk", size=10)
            self.cell(0, 6, f"— {self.page_no()} —", align="C")

    pdf = Plan(format="A4")
    pdf.set_margins(MARGIN, 20, MARGIN)
    pdf.set_auto_page_break(True, margin=25)
    pdf.add_font("cjk", fname=str(font))
    pdf.add_font("fallback", fname=str(FALLBACK))
    pdf.set_fallback_fonts(["fallback"])
    pdf.add_page()
    pdf.set_font("cjk", size=SIZE)
    measure = pdf.w - 2 * MARGIN
    indent = 2 * pdf.get_string_width("中")
    width = functools.cache(pdf.get_string_width)  # one font and size throughout the body
    for paragraph in paragraphs:
        for n, line in enumerate(wrapped(paragraph, width, measure, indent)):
            pdf.set_x(MARGIN + (indent if n == 0 else 0))
            pdf.cell(0, LEADING, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def render_docx(paragraphs: list[str], furniture: str) -> bytes:
    """A .docx of the paragraphs with `furniture` in its header and a page-number footer."""
    import docx

    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = furniture
    document.sections[0].footer.paragraphs[0].text = "— 1 — 页脚 版权所有"
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


PORTAL = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}_{district}区人民政府门户网站</title>
<script>document.write("<p>脚本里的文字不是正文，不能出现在清洗后的文本中。</p>");</script></head>
<body>
<div id="topnav"><a href="/">首页</a> <a href="/zwgk">政务公开</a> <a href="/hd">政民互动</a> <a>无障碍</a></div>
<div class="location">首页 &gt; 政务公开 &gt; 规划计划 &gt; 正文</div>
<div class="wrap">
 <h1>{title}</h1>
 <table class="xxgk-meta">
  <tr><th>索引号：</th><td>11330900MB1234567X/2024-00001</td><th>主题分类：</th><td>教育</td></tr>
  <tr><th>发布机构：</th><td>{district}区教育局</td><th>成文日期：</th><td>2024年02月20日</td></tr>
  <tr><th>文号：</th><td>{district}教〔2024〕3号</td><th>发布日期：</th><td>2024-02-21</td></tr>
 </table>
 <div class="article-info">来源：{district}区教育局 浏览次数：3021</div>
 <div id="zoom" class="TRS_Editor">
{body}
 </div>
 <div class="bdsharebuttonbox">分享到：<a>微信</a><a>微博</a></div>
 <div class="btns"><a>【打印本页】</a> <a>【关闭窗口】</a></div>
 <div class="xgwj"><h4>相关文件</h4><ul><li><a>{district}区2023年教育工作要点（已废止，不是正文）</a></li></ul></div>
</div>
<div id="foot"><p>主办单位：{district}区人民政府办公室 版权所有</p>
<p>ICP备05012345号-1 网站标识码：3101100001 公安备案 31011002000001号</p></div>
</body></html>
"""


def render_html(paragraphs: list[str], title: str, district: str) -> bytes:
    """A government portal page with the paragraphs as its article body."""
    body = "\n".join(f"  <p>{html.escape(p)}</p>" for p in paragraphs)
    return PORTAL.format(title=html.escape(title), district=district, body=body).encode("utf-8")


@pytest.fixture(scope="module")
def published_seeds(paths, structure_rules, tmp_path_factory) -> dict[tuple[str, str], Path]:
    """(doc_id, format) → the seed's raw text rendered in that format, written once per module."""
    folder = tmp_path_factory.mktemp("seeds_as_published")
    plans = read_manifest(paths.raw)
    texts = {plan.doc_id: read_plan(paths.raw / plan.file, structure_rules, LIMITS)[0] for plan in plans}
    font = subset_font("".join(texts.values()) + "区教育局文件— 0123456789", folder / "font.ttf")
    files = {}
    for plan in plans:
        paragraphs = [line.strip() for line in texts[plan.doc_id].splitlines() if line.strip()]
        rendered = {
            ".pdf": render_pdf(paragraphs, f"{plan.district}区教育局文件", font),
            ".docx": render_docx(paragraphs, f"{plan.district}区教育局 内部资料 页眉"),
            ".html": render_html(paragraphs, plan.title, plan.district),
        }
        for suffix, data in rendered.items():
            files[plan.doc_id, suffix] = folder / f"{plan.doc_id}{suffix}"
            files[plan.doc_id, suffix].write_bytes(data)
    return files


def outline(structure) -> tuple[list, list]:
    """Sections (number, heading) and items (section, printed number, text) of a structured plan,
    spaces left out: a space that falls at a printed line break is invisible in a PDF."""
    def solid(text: str) -> str:
        return re.sub(r"\s", "", text)

    return ([(no, solid(heading)) for no, heading in structure.sections],
            [(i.section_no, i.item_no, solid(i.text)) for i in structure.items])


@pytest.mark.parametrize("suffix", [".pdf", ".docx", ".html"])
@pytest.mark.parametrize("doc_id", sorted(EXPECTED))
def test_seed_as_published_has_the_sections_and_items_of_its_text(
    published_seeds, corpus, clean_rules, structure_rules, doc_id: str, suffix: str
) -> None:
    path = published_seeds[doc_id, suffix]
    text, dropped = extract(path, structure_rules, LIMITS)
    cleaned = clean_plan(text, clean_rules)
    structure = parse_plan(cleaned.text, structure_rules)
    n_sections, per_section, numbering = EXPECTED[doc_id]
    counts = [sum(i.section_no == no for i in structure.items) for no, _ in structure.sections]
    assert (structure.n_sections, counts, structure.numbering) == (n_sections, per_section, numbering)
    gold = next(p for p in corpus.plans if p.plan.doc_id == doc_id)
    assert outline(structure) == outline(gold.structure)
    for furniture in ("不是正文", "页眉", "页脚", "版权所有", "ICP备", "分享到", "打印本页", "索引号", "教育局文件"):
        assert furniture not in cleaned.text
    if suffix == ".pdf":  # every page's running header and number, dropped and accounted for
        header = f"{gold.plan.district}区教育局文件"
        pages = len(dropped) // 2
        assert pages >= 2
        assert dropped == [("pdf_page_furniture", line) for n in range(1, pages + 1) for line in (header, f"— {n} —")]
    elif suffix == ".html":  # the portal around the article, left out and accounted for
        assert {rule for rule, _ in dropped} == {"html_outside_article"}
        portal = {f"主办单位：{gold.plan.district}区人民政府办公室 版权所有", "首页 > 政务公开 > 规划计划 > 正文"}
        assert portal <= {line for _, line in dropped}
        assert not any(item.text[:20] in line for item in gold.structure.items for _, line in dropped)
    else:
        assert dropped == []
