"""Decoding plan bytes: encoding detection (BOM, UTF-8, GB18030/GBK, Big5) and HTML saved as text.

A plan is stored byte for byte, whatever its encoding, and decoded when read: UTF-8, UTF-8 or
UTF-16 with a BOM, or GB18030/GBK when the decoded text is confidently Chinese (see
`word_pair_share`), or Big5 when the decoded text, converted to Simplified (OpenCC; jieba's
dictionary is Simplified), is. Shift-JIS and EUC-KR files read as GB18030 mojibake and are not
valid Big5: they are refused (save them as UTF-8).
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path

from charset_normalizer import from_bytes

from analysis.chars import CJK
from analysis.corpus.clean import simplified
from analysis.paths import ProjectError

BOMS = {b"\xef\xbb\xbf": "utf-8-sig", b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}
ENCODING_LABELS = {"utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16", "gb18030": "GB18030", "big5": "Big5"}
# Characters of ordinary text (CJK, CJK/full-width punctuation, ASCII): what UTF-16 without a BOM decodes to.
PLAIN_CHAR = re.compile(rf"[{CJK}\u3000-\u303f\uff00-\uffef\u2010-\u206f\x20-\x7e\s\u00a0]")
MIN_PLAIN_SHARE = 0.95
# GB18030 bytes are accepted when the decoded text has at least MIN_CJK_PAIRS adjacent CJK pairs
# and at least MIN_WORD_PAIR_SHARE of them occur inside jieba dictionary words. Measured: real
# Chinese plans 0.69-0.71 (single lines of them >= 0.50); Shift-JIS, EUC-KR, CP949 and Big5 read
# as GB18030 at most 0.02 (0.09 for one short EUC-JP sentence); random GB2312 pairs 0.02.
MIN_WORD_PAIR_SHARE = 0.35
MIN_CJK_PAIRS = 8
CJK_RUN = re.compile(rf"[{CJK}]+")

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

    return visible_text(BeautifulSoup(html, "html.parser"))


def visible_text(root) -> str:
    """The visible text of a parsed element (bs4): scripts and styles left out, a line break after
    each block element; one pass over the tree without changing it, so linear in its size however
    deep it nests."""
    from bs4 import CData, NavigableString, Tag

    parts: list[str] = []
    stack: list = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, Tag):
            if node.name not in HTML_DROP:
                stack.append("\n" if node.name in HTML_BLOCKS else "")
                stack.extend(reversed(node.contents))
        elif type(node) in (str, NavigableString, CData):  # not comments, doctypes, declarations
            parts.append(node)
    lines = [line.strip() for line in "".join(parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def decode_with_encoding(data: bytes, name: str | Path) -> tuple[str, str]:
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
    return decode_with_encoding(data, name)[0]
