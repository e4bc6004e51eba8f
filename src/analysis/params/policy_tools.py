"""params/policy_tools.yaml as PolicyToolsParams: types → sub-tools → definition, cues, rules, exclusions."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from analysis.params.loader import YamlModel
from analysis.params.themes import THEME_NAME_RULE, is_theme_name, terms
from analysis.paths import ProjectError


@dataclass(frozen=True)
class Rule:
    """A co-occurrence cue: the sub-tool is coded in a clause holding one of `verbs` and one of `objects`."""

    verbs: tuple[str, ...]
    objects: tuple[str, ...]


@dataclass(frozen=True)
class SubTool:
    """One sub-tool: what the hand coder reads against, its cues, its verb + object rules and the
    phrases never counted."""

    name: str
    definition: str
    cues: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class ToolType:
    """One policy-tool type (供给型, 环境型, 需求型) and its sub-tools, in file order."""

    name: str
    description: str
    tools: tuple[SubTool, ...]


def _mapping(path: Path, where: str, value: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    allowed = (*required, *optional)
    if not isinstance(value, dict):
        raise ProjectError(f"{path}: {where} must be a mapping with {', '.join(allowed)}")
    if missing := [key for key in required if key not in value]:
        raise ProjectError(f"{path}: {where} is missing {', '.join(missing)}; add it")
    if unknown := [str(key) for key in value if key not in allowed]:
        raise ProjectError(f"{path}: {where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return value


def _names(path: Path, where: str, value: Any) -> dict:
    if not isinstance(value, dict) or not value:
        raise ProjectError(f"{path}: {where} must map each name to its entry")
    if bad := [name for name in value if not is_theme_name(name)]:
        raise ProjectError(*(f"{path}: {where}: name {name!r} is not allowed; a name is {THEME_NAME_RULE}"
                             for name in bad))
    return value


def _rules(path: Path, tool: str, value: Any) -> tuple[Rule, ...]:
    """The `rules` of a sub-tool: a list of {verbs: [...], objects: [...]}, each a non-empty term list."""
    if not isinstance(value, list):
        raise ProjectError(f"{path}: sub-tool {tool} rules must be a list of {{verbs: [...], objects: [...]}}")
    rules = []
    for at, rule in enumerate(value, start=1):
        rule = _mapping(path, f"sub-tool {tool} rule {at}", rule, ("verbs", "objects"))
        rules.append(Rule(terms(path, f"sub-tool {tool} rule {at} verbs", rule["verbs"], "phrases"),
                          terms(path, f"sub-tool {tool} rule {at} objects", rule["objects"], "phrases")))
    return tuple(rules)


@dataclass(frozen=True)
class PolicyToolsParams(YamlModel):
    """The validated codebook, plain data (the matcher lives in analysis.text). `tools`,
    `descriptions`, `definitions`, `cues` and `exclude` are the mappings of the former Toolbook."""

    REQUIRED = ("types",)

    types: tuple[ToolType, ...]

    @cached_property
    def tools(self) -> dict[str, tuple[str, ...]]:
        """Type → its sub-tools, in file order."""
        return {kind.name: tuple(tool.name for tool in kind.tools) for kind in self.types}

    @cached_property
    def descriptions(self) -> dict[str, str]:
        """Type → its description."""
        return {kind.name: kind.description for kind in self.types}

    @cached_property
    def definitions(self) -> dict[str, str]:
        """Sub-tool → its definition."""
        return {tool.name: tool.definition for kind in self.types for tool in kind.tools}

    @cached_property
    def cues(self) -> dict[str, tuple[str, ...]]:
        """Sub-tool → its cues."""
        return {tool.name: tool.cues for kind in self.types for tool in kind.tools}

    @cached_property
    def exclude(self) -> dict[str, tuple[str, ...]]:
        """Sub-tool → phrases never counted (sub-tools with `exclude` only)."""
        return {tool.name: tool.exclude for kind in self.types for tool in kind.tools if tool.exclude}

    @cached_property
    def rules(self) -> dict[str, tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]]:
        """Sub-tool → its (verbs, objects) rules (sub-tools with `rules` only)."""
        return {tool.name: tuple((rule.verbs, rule.objects) for rule in tool.rules)
                for kind in self.types for tool in kind.tools if tool.rules}

    @cached_property
    def type_of(self) -> dict[str, str]:
        """Sub-tool → its type."""
        return {tool.name: kind.name for kind in self.types for tool in kind.tools}

    @cached_property
    def tool_of(self) -> dict[str, str]:
        """Cue → its sub-tool."""
        return {cue: tool for tool, cues in self.cues.items() for cue in cues}

    def sub_tools(self) -> list[str]:
        """Every sub-tool, type by type, in file order."""
        return [tool.name for kind in self.types for tool in kind.tools]

    @classmethod
    def from_data(cls, path: Path, raw: dict[str, Any]) -> PolicyToolsParams:
        """Check the mapping read from `path` (the rules of the former load_toolbook); every mistake
        is a one-line ProjectError naming the file."""
        kinds: list[ToolType] = []
        named: set[str] = set()
        seen: dict[str, str] = {}
        types = _names(path, "types", raw["types"])
        for kind, entry in types.items():
            entry = _mapping(path, f"type {kind}", entry, ("description", "tools"))
            tools: list[SubTool] = []
            for tool, spec in _names(path, f"type {kind} tools", entry["tools"]).items():
                if tool in named or tool in types:
                    raise ProjectError(f"{path}: sub-tool {tool} is named twice (or like a type); rename one")
                named.add(tool)
                spec = _mapping(path, f"sub-tool {tool}", spec, ("definition", "cues"), ("exclude", "rules"))
                if not isinstance(spec["definition"], str) or not spec["definition"].strip():
                    raise ProjectError(f"{path}: sub-tool {tool}: definition must be a non-empty text")
                cues = terms(path, f"sub-tool {tool} cues", spec["cues"], "phrases")
                for cue in cues:
                    if cue in seen:
                        raise ProjectError(f"{path}: cue {cue} is in sub-tools {seen[cue]} and {tool}; keep it in one")
                    seen[cue] = tool
                rules = _rules(path, tool, spec.get("rules", []))
                words = {*cues, *(word for rule in rules for word in (*rule.verbs, *rule.objects))}
                exclude = ()
                if "exclude" in spec:
                    exclude = terms(path, f"sub-tool {tool} exclude", spec["exclude"], "phrases")
                    if useless := [p for p in exclude if not any(c in p and c != p for c in words)]:
                        raise ProjectError(
                            f"{path}: sub-tool {tool} exclude {', '.join(useless)} contains none of its cues "
                            "or rule words (or equals one); an excluded phrase must be longer than a word it contains"
                        )
                tools.append(SubTool(tool, spec["definition"].strip(), cues, exclude, rules))
            kinds.append(ToolType(kind, str(entry["description"] or ""), tuple(tools)))
        book = cls(tuple(kinds))
        if clash := sorted(set(seen) & {p for group in book.exclude.values() for p in group}):
            raise ProjectError(f"{path}: {', '.join(clash)} is both a cue and an excluded phrase; keep one")
        return book
