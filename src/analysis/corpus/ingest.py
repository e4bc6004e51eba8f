"""Plans as they are published: text extracted from PDF, DOCX and saved portal HTML pages.

data/raw keeps the published file byte for byte (with its own extension); `extract` gives the
text the pipeline reads, and the lines it dropped with their rule (the dataset stage records them
in removed.csv before cleaning's own removals, so nothing disappears silently). Each format is
reduced to one paragraph per line:

- `.pdf` (pdfplumber, text layer only): running headers/footers (a line repeated at the top or
  bottom of several pages) and page numbers (`— 2 —`, `第 2 页`, `2/10`) are dropped
  (`pdf_page_furniture`); lines are re-joined into paragraphs from their geometry (a line that
  fills the measure — or stops short by less than the next line's first word or number — continues
  on the next, unless that one is indented or starts with a section or item marker of
  params/structure.yaml), across page breaks too. A PDF without a text layer (a scan) is refused:
  it needs OCR first.
- `.docx` (python-docx): body paragraphs and table rows in document order, Word's automatic list
  numbers written out (`1.`, `一、`); headers, footers and comments are other parts of the package
  and are never read.
- `.html`/`.htm` (BeautifulSoup): the article body — the innermost block that holds 80 % of the
  paragraph text, so a plan set as one table row or <font> per paragraph stays whole — with the
  page's title heading before it; navigation, related links and footers are left out
  (`html_outside_article`). What remains of the portal furniture is removed, and recorded, by
  cleaning (params/clean.yaml).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from pathlib import Path

from analysis.chars import CJK
from analysis.corpus.bounds import (
    check_file_size,
    check_pdf_streams,
    check_text_size,
    docx_package,
    limit_error,
)
from analysis.corpus.decode import decode_plan, detect_encoding, visible_text
from analysis.corpus.structure import chinese_numeral
from analysis.params.clean import StructureParams
from analysis.params.ingest import IngestParams
from analysis.paths import ProjectError

PDF, DOCX, HTML = ".pdf", ".docx", ".html"
EXTENSIONS = {".pdf": PDF, ".docx": DOCX, ".html": HTML, ".htm": HTML}
TEXT_EXTENSIONS = (".txt",)
ACCEPTED = (*TEXT_EXTENSIONS, *EXTENSIONS)

# A page number line: "— 2 —", "- 2 -", "2", "第 2 页", "第2页 共10页", "2/10", "Page 2".
PAGE_NUMBER = re.compile(
    r"^[\s\-—–－一_·]*(?:第\s*)?\d{1,4}\s*(?:页)?\s*(?:(?:[/／]|共)\s*\d{1,4}\s*页?)?[\s\-—–－一_·]*$"
    r"|^(?:page\s*)?\d{1,4}(?:\s*of\s*\d{1,4})?$",
    re.IGNORECASE,
)
# The first word or number of a line (2017-2019, 0.5%, AI): a typesetter moves it to the next line
# whole, so the previous line of the same paragraph may stop short of the right edge by its width.
UNBREAKABLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.%\-–—/:+]*")
MIN_TEXT_CHARS = 20  # fewer non-space characters in a whole PDF: no text layer
EDGE_LINES = 2  # lines at the top and the bottom of a page that may be running headers/footers
HTML_NOISE = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "iframe",
              "select", "button")
NOISE_ATTR = re.compile(
    r"nav|menu|breadcrumb|crumb|footer|copyright|share|fenxiang|related|xgwz|xglj|sidebar|banner|login|search"
    r"|toolbar|print|(?<![a-z])top(?![a-z])|bottom",
    re.IGNORECASE,
)
MAIN_SHARE = 0.8  # the article body holds at least this share of a page's paragraph text
PARAGRAPH_TAGS = ("p", "div", "td", "li", "span", "font", "section", "article", "h1", "h2", "h3", "h4", "pre")
CJK_CHAR = re.compile(rf"[{CJK}]")
# Word list number formats written out as item (1.) or section (一、) markers; bullets and letters are not.
DECIMAL_FORMATS = ("decimal", "decimalZero", "decimalFullWidth", "decimalHalfWidth")
CHINESE_FORMATS = ("chineseCounting", "chineseCountingThousand", "chineseLegalSimplified", "ideographDigital")


def kind_of(path: Path) -> str | None:
    """The extractor for a file name: `.pdf`, `.docx` or `.html`; None for text (`.txt`)."""
    return EXTENSIONS.get(Path(path).suffix.lower())


def extension_problem(path: Path) -> str | None:
    """Why a file's extension is not one `add` takes."""
    suffix = Path(path).suffix.lower()
    if suffix in ACCEPTED:
        return None
    if suffix == ".doc":
        return f"{path}: a .doc (Word 97-2003) file; open it in Word or LibreOffice and save it as .docx"
    return f"{path}: extension {suffix or '(none)'!r} is not one of {', '.join(ACCEPTED)}; save the plan in one of them"


def read_plan(
    path: Path, rules: StructureParams, limits: IngestParams, data: bytes | None = None
) -> tuple[str, list[tuple[str, str]]]:
    """The text of a plan file — extracted from a .pdf, .docx or .html/.htm (`extract`), else
    decoded as text (`decode_plan`) — and the (rule, line) pairs extraction dropped; a file or
    text beyond a limit of `limits` is refused."""
    data = Path(path).read_bytes() if data is None else data
    check_file_size(data, path, limits)
    if kind_of(path) is not None:
        return extract(path, rules, limits, data)
    text = decode_plan(data, path)
    check_text_size(text, path, limits)
    return text, []


def extract(
    path: Path, rules: StructureParams, limits: IngestParams, data: bytes | None = None
) -> tuple[str, list[tuple[str, str]]]:
    """The text of a published plan file (one paragraph per line; a PDF line starting with a section
    or item marker of `rules` starts a paragraph), and the lines extraction dropped as (rule, line)
    — a PDF's running headers and page numbers (`pdf_page_furniture`), the lines of a portal page
    outside its article (`html_outside_article`), a DOCX's undefined entity references
    (`docx_entity`) — so they are recorded with cleaning's own removals; ProjectError naming the
    file, also when it holds no text or passes a limit of params/ingest.yaml."""
    path = Path(path)
    kind = kind_of(path)
    data = path.read_bytes() if data is None else data
    check_file_size(data, path, limits)
    body: str | list[dict]
    removed: list[tuple[str, str]] = []
    if kind == PDF:
        body, dropped = pdf_lines(data, path, limits)
        removed = [("pdf_page_furniture", line) for line in dropped]
    elif kind == DOCX:
        body, entities = docx_text(data, path, limits)
        removed = [("docx_entity", entity) for entity in entities]
    elif kind == HTML:
        body, left_out = html_main_text(data, path, limits)
        removed = [("html_outside_article", line) for line in left_out]
    else:
        raise ProjectError(extension_problem(path) or f"{path}: plain text needs no extraction")
    if not (body if isinstance(body, list) else body.strip()):
        raise ProjectError(f"{path}: no text found in the {kind[1:].upper()} file; check that it is the plan")
    text = "\n".join(_join_paragraphs(body, rules)) + "\n" if isinstance(body, list) else body
    check_text_size(text, path, limits)
    return text, removed


# --- PDF ---------------------------------------------------------------------------------------


def pdf_lines(data: bytes, name: Path | str, limits: IngestParams) -> tuple[list[dict], list[str]]:
    """The body lines of a text PDF in reading order, with their geometry, and the text of its page
    furniture (running headers, page numbers), dropped; a PDF without a text layer, that cannot be
    read, or whose streams inflate past `limits` is refused."""
    import io

    import pdfplumber

    if not data.startswith(b"%PDF"):
        raise ProjectError(f"{name}: not a PDF file (no %PDF header); export the plan as PDF again")
    try:
        check_pdf_streams(data, name, limits)
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages = [_page_lines(page) for page in pdf.pages]
    except ProjectError:
        raise
    except Exception as exc:  # pdfminer raises many types for damaged or encrypted files
        raise ProjectError(
            f"{name}: cannot read the PDF ({type(exc).__name__}); it may be damaged or password-protected — "
            "save an unprotected copy"
        ) from None
    if sum(len(re.sub(r"\s", "", line["text"])) for page in pages for line in page) < MIN_TEXT_CHARS:
        raise ProjectError(
            f"{name}: PDF has no text layer (a scanned image?); run OCR on it, or add the portal's HTML page "
            "or a text PDF instead"
        )
    return _drop_running_lines(pages)


def _page_lines(page) -> list[dict]:
    lines = []
    for line in page.extract_text_lines(return_chars=True):
        text = line["text"].strip()
        if not text:
            continue
        chars = [c for c in line["chars"] if c["text"].strip()]
        sizes = [c["x1"] - c["x0"] for c in chars]
        word = len(match.group()) if (match := UNBREAKABLE.match(text)) else 0
        lines.append({"text": text, "x0": line["x0"], "x1": line["x1"], "top": line["top"],
                      "em": statistics.median(sizes) if sizes else 10.0,
                      "lead": chars[min(word, len(chars)) - 1]["x1"] - chars[0]["x0"] if word and chars else 0.0})
    return lines


def _normalised(text: str) -> str:
    """A running header with its page number or date masked, so every page's copy compares equal."""
    return re.sub(r"\d+", "#", re.sub(r"\s", "", text))


def _drop_running_lines(pages: list[list[dict]]) -> tuple[list[dict], list[str]]:
    """All body lines in reading order, and the text of the page numbers and running
    headers/footers (the same text at the top or bottom of at least two pages, and of half of
    them) that were dropped."""
    edges = Counter(
        _normalised(line["text"])
        for page in pages
        for line in {id(x): x for x in page[:EDGE_LINES] + page[-EDGE_LINES:]}.values()
    )
    running = {text for text, n in edges.items() if n >= max(2, (len(pages) + 1) // 2)}
    body, dropped = [], []
    for page in pages:
        edge = {id(x) for x in page[:EDGE_LINES] + page[-EDGE_LINES:]}
        for line in page:
            if PAGE_NUMBER.match(line["text"]) or (id(line) in edge and _normalised(line["text"]) in running):
                dropped.append(line["text"])
            else:
                body.append(line)
    return body, dropped


def _join_paragraphs(lines: list[dict], rules: StructureParams) -> list[str]:
    """Lines re-joined into paragraphs: a line continues the previous one when the previous fills
    the measure (reaches the right edge, or stops short by less than the width of this line's first
    word or number, which a typesetter does not break) and this one is neither indented nor starts
    a marker."""
    if not lines:
        return []
    left = min(line["x0"] for line in lines)
    right = max(line["x1"] for line in lines)
    paragraphs: list[str] = []
    previous = None
    for line in lines:
        em = line["em"]
        continues = (
            previous is not None
            and previous["x1"] >= right - max(1.5 * previous["em"], line["lead"] + 0.5 * em)
            and line["x0"] <= left + 0.5 * em
            and not rules.starts_with_marker(line["text"])
        )
        if continues:
            glue = " " if re.search(r"[A-Za-z0-9]$", paragraphs[-1]) and re.match(r"[A-Za-z0-9]", line["text"]) else ""
            paragraphs[-1] += glue + line["text"]
        else:
            paragraphs.append(line["text"])
        previous = line
    return paragraphs


# --- DOCX --------------------------------------------------------------------------------------


def docx_text(data: bytes, name: Path | str, limits: IngestParams) -> tuple[str, list[str]]:
    """Body paragraphs and table rows of a .docx in document order (headers/footers are not read);
    a paragraph of a Word numbered list gets the number Word shows (`1.`, `一、`) written out. Also
    the entity references dropped (`docx_package`); a package past `limits`, or damaged anywhere
    (zip, inflation, XML), is refused in one line."""
    import io

    import docx

    package, entities = docx_package(data, name, limits)
    try:
        document = docx.Document(io.BytesIO(package))
        return _docx_lines(document), entities
    except Exception as exc:  # zip, zlib, lxml and python-docx raise many types for a damaged file
        raise ProjectError(
            f"{name}: not a readable .docx ({type(exc).__name__}); open it in Word or LibreOffice and save as .docx"
        ) from None


def _docx_lines(document) -> str:
    """The body of an opened .docx, one paragraph or table row per line."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    lines, levels, counters = [], _list_levels(document), {}
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(block, document)
            lines.append(_list_marker(paragraph, levels, counters) + paragraph.text.strip())
        elif tag == "tbl":
            for row in Table(block, document).rows:
                cells = list(dict.fromkeys(cell.text.strip() for cell in row.cells))  # merged cells repeat
                lines.append(" ".join(c for c in cells if c))
    return "\n".join(line for line in lines if line) + "\n"


def _list_levels(document) -> dict[tuple[str, str], tuple[str, str, int]]:
    """(numId, ilvl) → (numFmt, lvlText, start) of every numbered-list level of a .docx."""
    from docx.oxml.ns import qn

    def val(element, tag: str, default: str = "") -> str:
        child = element.find(qn(tag))
        return default if child is None else child.get(qn("w:val"), default)

    try:
        root = document.part.numbering_part.element
    except (KeyError, NotImplementedError):  # a document without lists
        return {}
    abstract = {a.get(qn("w:abstractNumId")): a for a in root.findall(qn("w:abstractNum"))}
    levels = {}
    for num in root.findall(qn("w:num")):
        definition = abstract.get(val(num, "w:abstractNumId"))
        for level in [] if definition is None else definition.findall(qn("w:lvl")):
            levels[num.get(qn("w:numId")), level.get(qn("w:ilvl"))] = (
                val(level, "w:numFmt"), val(level, "w:lvlText"), int(val(level, "w:start", "1")))
    return levels


def _list_marker(paragraph, levels: dict, counters: dict[str, list[int]]) -> str:
    """The number Word shows before `paragraph` (its own numPr, else its style's), counted per
    list; "" for a paragraph outside a list or in a bulleted or lettered one."""
    style, numbering = paragraph.style, paragraph._p.pPr.numPr if paragraph._p.pPr is not None else None
    while numbering is None and style is not None:
        numbering = style.element.pPr.numPr if style.element.pPr is not None else None
        style = style.base_style
    if numbering is None or numbering.numId is None:
        return ""
    num_id, level = str(numbering.numId.val), int(numbering.ilvl.val) if numbering.ilvl is not None else 0
    if levels.get((num_id, str(level)), ("",))[0] not in (*DECIMAL_FORMATS, *CHINESE_FORMATS):
        return ""  # not a list, or bullets/letters: no item or section number
    counts = counters.setdefault(num_id, [])
    del counts[level + 1:]  # deeper levels restart
    while len(counts) <= level:  # a level's first paragraph: its start value
        depth = len(counts)
        start = levels.get((num_id, str(depth)), ("", "", 1))[2]
        counts.append(start - 1 if depth == level else start)
    counts[level] += 1
    text = levels[num_id, str(level)][1]
    for depth, count in enumerate(counts):
        fmt = levels.get((num_id, str(depth)), ("",))[0]
        shown = str(count) if fmt in DECIMAL_FORMATS else chinese_numeral(count) if fmt in CHINESE_FORMATS else None
        if f"%{depth + 1}" in text:
            if shown is None:
                return ""
            text = text.replace(f"%{depth + 1}", shown)
    return text


# --- HTML --------------------------------------------------------------------------------------


def html_main_text(data: bytes, name: Path | str, limits: IngestParams) -> tuple[str, list[str]]:
    """The article body of a saved portal page, its title heading first, and the page's other
    visible lines (navigation, metadata, related links, footer), which it leaves out. Linear in
    the page's size; a page larger or more deeply nested than `limits` is refused."""
    from bs4 import BeautifulSoup

    if len(data) > limits.max_html_bytes:
        raise limit_error(name, f"the page ({len(data):,} bytes)", "max_html_bytes", limits.max_html_bytes)
    text = data.decode(detect_encoding(data, name)).lstrip("\ufeff")
    if not text.strip():
        raise ProjectError(f"{name}: file is empty; save the page again")
    soup = BeautifulSoup(text, "html.parser")
    if (depth := _depth(soup)) > limits.max_html_depth:
        raise limit_error(name, f"nesting ({depth:,} elements deep)", "max_html_depth", limits.max_html_depth)
    page = visible_text(soup)
    for tag in _noise(soup):
        tag.decompose()
    main = _main_block(soup)
    if main is None:
        body = visible_text(soup)
    else:
        body = visible_text(main)
        heading = _title_heading(soup, main)
        if heading and heading not in body:
            body = heading + "\n" + body
    return body, _left_out(page, body)


def _noise(soup) -> list:
    """The outermost elements that are page furniture (HTML_NOISE tags, NOISE_ATTR classes or ids),
    in one pass: an element inside one already found is not looked at (nor is `decomposed`, which
    bs4 answers by searching the element's whole subtree)."""
    found, inside = [], set()
    for tag in soup.find_all(True):
        if id(tag.parent) in inside:
            inside.add(id(tag))
            continue
        attrs = " ".join([*tag.get("class", []), tag.get("id", "") or ""])
        if tag.name in HTML_NOISE or (tag.name not in ("html", "body") and attrs and NOISE_ATTR.search(attrs)):
            found.append(tag)
            inside.add(id(tag))
    return found


def _depth(soup) -> int:
    """How deeply the page's elements nest (one pass, in document order)."""
    depth = {id(soup): 0}
    for tag in soup.find_all(True):
        depth[id(tag)] = depth[id(tag.parent)] + 1
    return max(depth.values())


def _left_out(page: str, body: str) -> list[str]:
    """The lines of a page's visible text that are not in the extracted body, in page order."""
    kept = Counter(line for line in body.splitlines() if line.strip())
    left = []
    for line in (line for line in page.splitlines() if line.strip()):
        if kept[line]:
            kept[line] -= 1
        else:
            left.append(line)
    return left


def _main_block(soup):
    """The innermost element that holds at least MAIN_SHARE of the page's paragraph text (text runs
    of at least 10 Chinese characters), so no plan paragraph is left outside it, whatever the
    page's markup; None for a page without such text."""
    from bs4 import NavigableString

    chars: Counter = Counter()
    tags = soup.find_all(True)
    for tag in tags:
        if tag.name in PARAGRAPH_TAGS:
            own = "".join(s for s in tag.children if isinstance(s, NavigableString))
            if (n := len(CJK_CHAR.findall(own))) >= 10:
                chars[id(tag)] += n
    for tag in reversed(tags):  # children before their parents: each total passed up one level
        if chars[id(tag)] and tag.parent is not None:
            chars[id(tag.parent)] += chars[id(tag)]
    total = max(chars.values(), default=0)
    holders = [tag for tag in soup.find_all(True) if chars[id(tag)] >= MAIN_SHARE * total > 0]
    return holders[-1] if holders else None  # in document order, each holder is inside the one before


def _title_heading(soup, main) -> str | None:
    """The page's article heading (h1, else h2, else an element with `title` in its class) when it
    stands outside the body block."""
    for finder in (lambda: soup.find("h1"), lambda: soup.find("h2"),
                   lambda: soup.find(class_=re.compile("title", re.IGNORECASE))):
        tag = finder()
        if tag is not None and main not in tag.parents:
            text = " ".join(tag.get_text(" ").split())
            if 0 < len(text) <= 80:
                return text
    return None
