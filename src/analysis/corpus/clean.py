"""Cleaning: remove what is not the plan, normalise characters, repair PDF word breaks.

A plan written in Traditional characters (雙減, 數字化) is converted to Simplified first (OpenCC
t2s), so that cleaning rules, theme lexicons, policy-tool cues and clusters — all written in
Simplified — count it like any other plan; the raw file is never changed, and the plan's `script`
(documents.csv) says it was converted."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from analysis.chars import CJK
from analysis.params.clean import CleanParams
from analysis.paths import printable

CJK_PUNCT = "，。；：、！？“”‘’（）《》【】—…"
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # all but tab, newline, CR
WHITESPACE = re.compile(r"[ \t\u00a0\u2002\u2003\u2009\u200b\u3000\ufeff]+")
# Full-width ASCII letters/digits and a few symbols become half-width; ASCII punctuation beside
# Chinese becomes full-width. Item markers keep their half-width "1." form.
HALF_WIDTH = str.maketrans(
    {chr(c): chr(c - 0xFEE0) for c in range(0xFF10, 0xFF5B) if chr(c).isalnum()} | {"．": "."}
)
TO_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}
ASCII_PUNCT_NEAR_CJK = re.compile(
    rf"(?<=[{CJK}{CJK_PUNCT}])[,;:?!]|[,;:?!](?=[{CJK}{CJK_PUNCT}])|[()]"
)
MARKER_AHEAD = r"(?![零〇一二三四五六七八九十百千万亿]+、|\d+\s*[.、](?!\d)|（\d+）)"  # any size: no silent cap
# A gap between two Chinese characters/digits, but not digit-digit ("2017 2018") or before a marker.
INNER_SPACE = re.compile(
    rf"(?:(?<=[{CJK}{CJK_PUNCT}]) +{MARKER_AHEAD}(?=[{CJK}{CJK_PUNCT}\d])|(?<=\d) +(?=[{CJK}{CJK_PUNCT}]))"
)
SPACE_BEFORE_PUNCT = re.compile(r" +(?=[，。；：、！？）》”])")
SECTION = re.compile(r"[零〇一二三四五六七八九十]+、")  # a section marker at the start of a line

SIMPLIFIED, CONVERTED = "simplified", "traditional→simplified"  # CleanResult.script


@dataclass
class CleanResult:
    """Cleaned plan text (one paragraph per line) and a record of every removal."""

    text: str
    title: str | None
    removed: list[tuple[str, str]] = field(default_factory=list)  # (rule, removed text)
    spaces_repaired: int = 0
    script: str = SIMPLIFIED  # CONVERTED: written in Traditional characters, converted to Simplified


@functools.cache
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """`text` with Traditional characters converted to Simplified (OpenCC t2s)."""
    return _t2s().convert(text)


def traditional_share(text: str) -> float:
    """The share of the Han characters of `text` that OpenCC t2s would change: about 0.4 in a
    Traditional text, 0 in a Simplified one."""
    han = re.findall(rf"[{CJK}]", text)
    distinct = sorted(set(han))
    converted = simplified("\n".join(distinct)).split("\n")
    changed = {a for a, b in zip(distinct, converted, strict=True) if a != b}
    return sum(c in changed for c in han) / max(len(han), 1)


def to_simplified(text: str, min_share: float) -> tuple[str, str]:
    """`text` and its script: converted to Simplified (CONVERTED) when at least `min_share` of its
    Han characters are Traditional, else unchanged (SIMPLIFIED)."""
    if traditional_share(text) < min_share:
        return text, SIMPLIFIED
    return simplified(text), CONVERTED


def normalize_chars(text: str) -> str:
    """Unify whitespace and width: NBSP/ideographic spaces → space, full-width digits → ASCII,
    ASCII punctuation beside Chinese → full-width."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(HALF_WIDTH)
    text = WHITESPACE.sub(" ", text)
    text = ASCII_PUNCT_NEAR_CJK.sub(lambda m: TO_FULL[m.group()], text)
    return SPACE_BEFORE_PUNCT.sub("", text)


def _without_controls(line: str, removed: list[tuple[str, str]]) -> str:
    """`line` without C0/C1 control characters (U+0001, ESC …: invisible, and they break CSVs,
    terminals and pages); the line as it was, with them escaped, is recorded as `control_characters`."""
    if not CONTROL_CHARS.search(line):
        return line
    removed.append(("control_characters", printable(line)))
    return CONTROL_CHARS.sub("", line)


def repair_spaces(text: str, min_per_1k: float) -> tuple[str, int]:
    """Remove spaces PDF extraction left inside words, if the text has many of them."""
    gaps = len(INNER_SPACE.findall(text))
    if not text or gaps * 1000 / len(text) < min_per_1k:
        return text, 0
    return INNER_SPACE.sub("", text), gaps


def _matches(patterns: list[re.Pattern], line: str) -> bool:
    return any(p.search(line) for p in patterns)


def clean_plan(text: str, rules: CleanParams) -> CleanResult:
    """Clean one decoded plan text with `rules`; pure: the input is not changed."""
    removed: list[tuple[str, str]] = []
    text, script = to_simplified(text, rules.traditional_min_share)
    lines = [_without_controls(line, removed).strip() for line in normalize_chars(text).split("\n")]
    lines = [line for line in lines if line]
    short = rules.max_boilerplate_chars

    for index, line in enumerate(lines):
        if len(line) <= short and _matches(rules.footer_start, line):
            removed += [("footer", dropped) for dropped in lines[index:]]
            lines = lines[:index]
            break

    kept, value_next = [], False
    for line in lines:
        group = next(
            (g for g, ps in rules.drop_lines.items() if len(line) <= short and _matches(ps, line)), None
        )
        if not group and value_next and len(line) <= rules.max_value_chars and not _is_anchor(line, rules):
            group = "metadata_block"  # the value of a dropped key such as 发布机构：
        value_next = bool(group and rules.metadata_key_only and rules.metadata_key_only.fullmatch(line))
        if group:
            removed.append((group, line))
            continue
        for prefix in rules.strip_prefixes:
            if match := prefix.match(line):
                removed.append(("repost_prefix", match.group()))
                line = line[match.end():]
        kept.append(line)
    lines = _drop_cover_notice(kept, rules, removed)
    lines = _drop_metadata_block(lines, rules, removed)

    while lines and len(lines[-1]) <= short and _matches(rules.signature, lines[-1]):
        removed.append(("signature", lines.pop()))

    title = next((ln for ln in lines[:3] if _is_title(ln, rules)), None)
    if title:
        lines = _drop_repeated_title(lines, title, rules, removed)
    body, repaired = repair_spaces("\n".join(lines), rules.space_repair_min_per_1k)
    return CleanResult(text=body + "\n", title=title, removed=removed, spaces_repaired=repaired, script=script)


def _is_title(line: str, rules: CleanParams) -> bool:
    return len(line) <= rules.max_title_chars and "。" not in line and bool(rules.title.search(line))


def _is_anchor(line: str, rules: CleanParams) -> bool:
    """Where the plan's body starts: a section marker, or a first preamble paragraph (a long line
    of sentences)."""
    if SECTION.match(line):
        return True
    return len(line) >= rules.anchor_min_chars and bool(re.search(r"[。；！？]", line))


def _drop_metadata_block(lines: list[str], rules: CleanParams, removed: list) -> list[str]:
    """Lines before the plan's body (its first preamble paragraph or section) that look like
    portal metadata — key: value pairs, a bare date or document code, a key whose value stands on
    the next line, a short label — whatever portal the page came from (params/clean.yaml
    `metadata_block`); the plan's title is never one of them. Nothing is removed from a text with
    no recognisable start."""
    start = next((i for i, line in enumerate(lines) if _is_anchor(line, rules)), None)
    if start is None:
        return lines
    kept, value_next = [], False
    for line in lines[:start]:
        plain = re.sub(r"\s", "", line)
        is_value = value_next and len(line) <= rules.max_value_chars and "。" not in line
        value_next = bool(rules.metadata_key_only and rules.metadata_key_only.fullmatch(line))
        if _is_title(line, rules):
            kept.append(line)
            value_next = False
        elif (
            is_value or value_next
            or (len(line) <= rules.max_boilerplate_chars and _matches(rules.metadata_lines, line))
            or (len(plain) <= rules.max_label_chars and re.fullmatch(rf"[{CJK}【】\[\]]+", plain))
        ):
            removed.append(("metadata_block", line))
        else:
            kept.append(line)
    return kept + lines[start:]


def _in_notice(line: str, rules: CleanParams) -> bool:
    """Whether `line` is part of a cover notice: its title, addressees, body, attachment label,
    signature or date (params/clean.yaml cover_notice_start, cover_notice_lines, signature)."""
    return _matches([*rules.cover_notice_start, *rules.cover_notice_lines], line) or (
        len(line) <= rules.max_boilerplate_chars and _matches(rules.signature, line))


def _drop_cover_notice(lines: list[str], rules: CleanParams, removed: list) -> list[str]:
    """The 印发通知 before the plan's first section as one block, wherever it starts (see
    params/clean.yaml): up to the plan's title when one follows, else over its own lines."""
    first_section = next((i for i, ln in enumerate(lines) if SECTION.match(ln)), len(lines))
    start = next((i for i in range(first_section) if _matches(rules.cover_notice_start, lines[i])), None)
    if start is None:
        return lines
    while start > 0 and _matches(rules.cover_notice_lines, lines[start - 1]):
        start -= 1  # the addressees before the body
    end = next((i for i in range(start + 1, first_section)
                if _is_title(lines[i], rules) and "印发" not in lines[i] and not _in_notice(lines[i], rules)), None)
    if end is None:
        end = start + 1
        while end < first_section and _in_notice(lines[end], rules):
            end += 1
    removed += [("cover_notice", ln) for ln in lines[start:end]]
    return lines[:start] + lines[end:]


def _drop_repeated_title(lines: list[str], title: str, rules: CleanParams, removed: list) -> list[str]:
    """Keep the title once: a saved page may give it twice before the body (the page's <title>,
    then the article heading), a PDF may repeat it at the start of the first paragraph."""
    at = lines.index(title)
    start = next((i for i, line in enumerate(lines) if _is_anchor(line, rules)), len(lines))
    if title in lines[at + 1:start]:
        removed.append(("repeated_title", title))
        del lines[at]
        at = lines.index(title)
    if at + 1 < len(lines) and lines[at + 1].startswith(title + " "):
        removed.append(("repeated_title", title))
        lines = [*lines[: at + 1], lines[at + 1][len(title):].lstrip(), *lines[at + 2:]]
    return lines
