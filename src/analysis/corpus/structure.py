"""Structure: split a cleaned plan into title, preamble, sections (一、) and items (1.)."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from analysis.params.clean import StructureParams

CHINESE_DIGITS = "零一二三四五六七八九"
SMALL_UNITS = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))
LARGE_UNITS = ((10**8, "亿"), (10**4, "万"))


@dataclass(frozen=True)
class Item:
    section_no: int
    section_title: str
    item_no: str  # as printed
    item_seq: int  # 1..n through the plan
    text: str
    start: int  # offset of the item text in the cleaned plan
    end: int


@dataclass
class PlanStructure:
    title: str | None
    preamble: str
    sections: list[tuple[int, str]]  # (section_no, section_title)
    items: list[Item]
    numbering: str  # "continuous", "per-section" or "none"
    warnings: list[str] = field(default_factory=list)
    body_start: int = 0  # offset just after the title line (0 without a title)
    section_starts: list[int] = field(default_factory=list)  # offset of each section heading's marker

    def locate(self, offset: int) -> tuple[str, int | None]:
        """Where text outside the items lies: ("title", None), ("preamble", None) or ("heading", section_no)."""
        if self.title is not None and offset < self.body_start:
            return "title", None
        section = bisect_right(self.section_starts, offset)
        return ("heading", section) if section else ("preamble", None)

    @property
    def n_sections(self) -> int:
        """Sections with a heading (a plan without headings is one untitled section: 0)."""
        return sum(1 for _, title in self.sections if title)


def chinese_numeral(number: int) -> str:
    """A whole number ≥ 1 in standard Chinese numerals: 1 → 一, 10 → 十, 12 → 十二, 110 → 一百一十,
    105 → 一百零五, 1001 → 一千零一, 20000 → 二万; no upper limit."""
    text = _chinese(number)
    return text[1:] if text.startswith("一十") else text


def _chinese(number: int) -> str:
    """`chinese_numeral` with 10–19 written 一十…, as they are inside a longer numeral (一百一十)."""
    for value, unit in LARGE_UNITS:
        if number >= value:
            high, low = divmod(number, value)
            zero = "零" if 0 < low < value // 10 else ""
            return _chinese(high) + unit + zero + (_chinese(low) if low else "")
    text, zero = "", False
    for value, unit in SMALL_UNITS:
        digit, number = divmod(number, value)
        if digit:
            text += ("零" if zero else "") + CHINESE_DIGITS[digit] + unit
        zero = bool(text) and not digit
    return text


def _reads_as(printed: str, number: int) -> bool:
    """Whether a marker's printed number is `number`: Arabic (7, 07) or Chinese (七; 一十二, 一百〇五
    as variants of 十二, 一百零五). Numbers are compared as written, so there is no size limit."""
    text = printed.lstrip("0").replace("〇", "零")
    return text in (str(number), chinese_numeral(number), _chinese(number))


def _in_sequence(matches: list[re.Match], restart_at: list[int]) -> list[re.Match]:
    """Keep markers whose number continues the sequence; after a position in `restart_at` the
    count may also restart at 1."""
    kept: list[re.Match] = []
    last = 0
    for match in matches:
        restarted = any(kept and kept[-1].start() < pos <= match.start() for pos in restart_at)
        if _reads_as(match.group(1), last + 1):
            last += 1
        elif restarted and _reads_as(match.group(1), 1):
            last = 1
        else:
            continue
        kept.append(match)
    return kept


def parse_plan(text: str, rules: StructureParams) -> PlanStructure:
    """Find title, preamble, sections and items in cleaned plan text."""
    first_line = text.split("\n", 1)[0].strip()
    has_title = 0 < len(first_line) <= rules.max_title_chars and "。" not in first_line
    title = first_line if has_title else None
    body_start = len(text.split("\n", 1)[0]) + 1 if has_title else 0

    sections = _in_sequence(list(rules.section_marker.finditer(text, body_start)), [])
    section_starts = [m.start() for m in sections]
    items: list[re.Match] = []
    for pattern in rules.item_markers:
        items = _in_sequence(list(pattern.finditer(text, body_start)), section_starts)
        if items:
            break

    warnings = []
    if not sections:
        warnings.append("no section headings (一、二、…) found: the plan is treated as one section")
    if not items:
        warnings.append("no numbered items found: each section is treated as one item")

    boundaries = sorted([*(m.start() for m in sections), *(m.start() for m in items), len(text)])
    first_marker = boundaries[0]
    preamble = text[body_start:first_marker].strip() if (sections or items) else ""

    def next_boundary(pos: int) -> int:
        return next((b for b in boundaries if b > pos), len(text))

    section_list: list[tuple[int, str]] = [
        (i, _flat(text[m.end(): next_boundary(m.start())])) for i, m in enumerate(sections, start=1)
    ] or [(1, "")]

    def section_of(pos: int) -> tuple[int, str]:
        before = [i for i, start in enumerate(section_starts) if start <= pos]
        return section_list[before[-1]] if before else section_list[0]

    spans = [(m.group(1), m.end(), next_boundary(m.start()), m.start()) for m in items]
    if not items:
        starts = [m.end() for m in sections] or [body_start]
        spans = [("", start, next_boundary(start), start) for start in starts]
    parsed = [
        Item(*section_of(anchor), item_no, seq, _flat(text[start:end]), start, end)
        for seq, (item_no, start, end, anchor) in enumerate(spans, start=1)
    ]
    if not sections and not items:
        parsed = [Item(1, "", "", 1, _flat(text[body_start:]), body_start, len(text))]
    return PlanStructure(
        title, preamble, section_list, parsed, _numbering(parsed), warnings, body_start, section_starts
    )


def _numbering(items: list[Item]) -> str:
    if not items or not items[0].item_no:
        return "none"
    return "continuous" if all(_reads_as(i.item_no, i.item_seq) for i in items) else "per-section"


def _flat(text: str) -> str:
    """Item text on one line: line breaks inside an item joined, outer whitespace stripped."""
    return re.sub(r"\s*\n\s*", "", text).strip()
