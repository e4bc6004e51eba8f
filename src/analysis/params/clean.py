"""params/clean.yaml and params/structure.yaml as CleanParams and StructureParams (compiled patterns)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.params.loader import YamlModel
from analysis.params.rules import Real, Whole, check, not_style, regex_problem
from analysis.paths import ProjectError

RULE_KEYS = (
    "max_boilerplate_chars", "drop_lines", "footer_start", "strip_prefixes", "cover_notice_start",
    "cover_notice_lines", "title", "max_title_chars", "signature", "space_repair_min_per_1k", "metadata_block",
    "traditional_min_share",
)
METADATA_BLOCK_KEYS = ("lines", "key_only", "max_label_chars", "max_value_chars", "anchor_min_chars")
MAX_CHARS = 10_000  # a line length: far above any heading, label or boilerplate line

CLEAN_RULES = {
    "max_boilerplate_chars": Whole(1, MAX_CHARS),
    "max_title_chars": Whole(1, MAX_CHARS),
    "space_repair_min_per_1k": Real(0, 1000, "a number of spaces per 1,000 characters from 0 to 1000"),
    "traditional_min_share": Real(0, 1, "a share from 0 to 1"),
}
METADATA_RULES = {
    "max_label_chars": Whole(0, MAX_CHARS, "a whole number of at least {low}"),
    "max_value_chars": Whole(0, MAX_CHARS, "a whole number of at least {low}"),
    "anchor_min_chars": Whole(1, MAX_CHARS),
}

# structure.yaml: a marker counts only at the start of a line or after whitespace.
BOUNDARY = r"(?:(?<=^)|(?<=\s))"
STRUCTURE_KEYS = ("section_marker", "item_markers", "max_title_chars")
STRUCTURE_RULES = {"max_title_chars": Whole(1, MAX_CHARS)}


def _compile_all(patterns: list[str]) -> tuple[re.Pattern, ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


def _pattern_problems(path: Path, key: str, value: Any, many: bool = True, nonempty: bool = False) -> list[str]:
    """One line per pattern of `value` (a list when `many`, else one pattern) that `re` refuses."""
    if many and (not isinstance(value, list) or (nonempty and not value)):
        return [f"{path}: {key} must be a {'non-empty ' * nonempty}list of regular expressions"]
    return [f"{path}: {key}: {problem}" for p in (value if many else [value]) if (problem := regex_problem(p))]


@dataclass(frozen=True)
class CleanParams(YamlModel):
    """Compiled cleaning rules (see params/clean.yaml for what each means); the fields of the
    former CleanRules. Line rules are case-insensitive; cover_notice_*, title and key_only not."""

    REQUIRED = RULE_KEYS

    max_boilerplate_chars: int
    drop_lines: dict[str, tuple[re.Pattern, ...]]  # group name → patterns, in file order
    footer_start: tuple[re.Pattern, ...]
    strip_prefixes: tuple[re.Pattern, ...]
    cover_notice_start: tuple[re.Pattern, ...]
    title: re.Pattern
    max_title_chars: int
    signature: tuple[re.Pattern, ...]
    space_repair_min_per_1k: float
    metadata_lines: tuple[re.Pattern, ...] = ()
    metadata_key_only: re.Pattern | None = None
    max_label_chars: int = 0
    max_value_chars: int = 0
    anchor_min_chars: int = 40
    traditional_min_share: float = 0.05
    cover_notice_lines: tuple[re.Pattern, ...] = ()

    @classmethod
    def from_data(cls, path: Path, raw: dict[str, Any]) -> CleanParams:
        """Check and compile the mapping read from `path`; every problem is one ProjectError line."""
        block = raw["metadata_block"]
        if not isinstance(block, dict) or sorted(block, key=str) != sorted(METADATA_BLOCK_KEYS):
            raise ProjectError(f"{path}: metadata_block must have exactly the keys {', '.join(METADATA_BLOCK_KEYS)}")
        groups = raw["drop_lines"]
        if not isinstance(groups, dict):
            raise ProjectError(f"{path}: drop_lines must map each group name to a list of regular expressions")
        problems = [
            *check(path, raw, CLEAN_RULES, not_style),
            *(problem.replace(f"{path}: ", f"{path}: metadata_block.", 1)
              for problem in check(path, block, METADATA_RULES, not_style)),
        ]
        for key in ("footer_start", "strip_prefixes", "signature", "cover_notice_lines"):
            problems += _pattern_problems(path, key, raw[key])
        problems += _pattern_problems(path, "cover_notice_start", raw["cover_notice_start"], nonempty=True)
        for key in ("title",):
            problems += _pattern_problems(path, key, raw[key], many=False)
        for group, patterns in groups.items():
            problems += _pattern_problems(path, f"drop_lines.{group}", patterns)
        problems += _pattern_problems(path, "metadata_block.lines", block["lines"])
        problems += _pattern_problems(path, "metadata_block.key_only", block["key_only"], many=False)
        if problems:
            raise ProjectError(*dict.fromkeys(problems))
        return cls(
            max_boilerplate_chars=raw["max_boilerplate_chars"],
            drop_lines={str(group): _compile_all(ps) for group, ps in groups.items()},
            footer_start=_compile_all(raw["footer_start"]),
            strip_prefixes=_compile_all(raw["strip_prefixes"]),
            cover_notice_start=tuple(map(re.compile, raw["cover_notice_start"])),
            cover_notice_lines=tuple(map(re.compile, raw["cover_notice_lines"])),
            title=re.compile(raw["title"]),
            max_title_chars=raw["max_title_chars"],
            signature=_compile_all(raw["signature"]),
            space_repair_min_per_1k=float(raw["space_repair_min_per_1k"]),
            metadata_lines=_compile_all(block["lines"]),
            metadata_key_only=re.compile(block["key_only"]),
            max_label_chars=block["max_label_chars"],
            max_value_chars=block["max_value_chars"],
            anchor_min_chars=block["anchor_min_chars"],
            traditional_min_share=float(raw["traditional_min_share"]),
        )


@dataclass(frozen=True)
class StructureParams(YamlModel):
    """Compiled structure markers (params/structure.yaml); the fields of the former StructureRules.
    `item_marker_texts` keeps the patterns as written, for code that needs them unanchored."""

    REQUIRED = STRUCTURE_KEYS

    section_marker: re.Pattern
    item_markers: tuple[re.Pattern, ...]
    max_title_chars: int
    item_marker_texts: tuple[str, ...] = field(default=(), compare=False)
    section_marker_text: str = field(default="", compare=False)

    def starts_with_marker(self, line: str) -> bool:
        """Whether `line` begins with a section or item marker (such a PDF line starts a paragraph)."""
        return any(pattern.match(line) for pattern in (self.section_marker, *self.item_markers))

    @classmethod
    def from_data(cls, path: Path, raw: dict[str, Any]) -> StructureParams:
        """Check and compile; a marker must capture its number as group 1."""
        problems = check(path, raw, STRUCTURE_RULES, not_style)
        problems += _pattern_problems(path, "section_marker", raw["section_marker"], many=False)
        problems += _pattern_problems(path, "item_markers", raw["item_markers"], nonempty=True)
        if not problems:
            markers = [raw["section_marker"], *raw["item_markers"]]
            problems += [f"{path}: marker {p!r} has no group (…) around its number; add one"
                         for p in markers if re.compile(p).groups < 1]
        if problems:
            raise ProjectError(*dict.fromkeys(problems))
        return cls(
            section_marker=re.compile(BOUNDARY + raw["section_marker"], re.MULTILINE),
            item_markers=tuple(re.compile(BOUNDARY + p, re.MULTILINE) for p in raw["item_markers"]),
            max_title_chars=raw["max_title_chars"],
            item_marker_texts=tuple(raw["item_markers"]),
            section_marker_text=raw["section_marker"],
        )
