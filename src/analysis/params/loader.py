"""Load `params/*` files safely and reject what the code would silently ignore."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar, Self

import yaml

from analysis.paths import ProjectError

MERGE_TAG = "tag:yaml.org,2002:merge"  # `<<: *anchor`; its keys may be overridden
ALIAS_RULE = "YAML anchors and aliases (&name, *name) are not allowed in a parameter file; write the values out"


class YamlModel:
    """A params model read from one YAML file: `from_yaml` reads it (strictly, keys in
    `REQUIRED`, default every field, must be present; a key of `RETIRED` is refused with what to do
    instead) and `from_data` checks and types it."""

    REQUIRED: ClassVar[tuple[str, ...]] = ()
    RETIRED: ClassVar[dict[str, str]] = {}  # a key no longer read → what to do instead

    @classmethod
    def from_yaml(cls, path: Path) -> Self:
        return cls.from_data(path, load_yaml(path, required=cls.REQUIRED or [f.name for f in fields(cls)],
                                             retired=cls.RETIRED))

    @classmethod
    def from_data(cls, path: Path, data: dict[str, Any]) -> Self:
        raise NotImplementedError


class AliasRefused(yaml.YAMLError):
    """A params file holds an anchor or alias: refused before anything is expanded (a 645-byte
    alias bomb would otherwise build gigabytes)."""

    def __init__(self, line: int) -> None:
        super().__init__(f"line {line}: {ALIAS_RULE}")
        self.line = line


class StrictLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that records, instead of silently accepting, a key repeated in one
    mapping (the last one would win) and a key that is not text (`null:`, `yes:`, `2024:`).

    `problems` holds (line, message) pairs. Merge keys (`<<: *anchor`) keep their meaning; a list
    or mapping as a key is refused by SafeLoader itself (unhashable key)."""

    allow_aliases = True

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.problems: list[tuple[int, str]] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        """Refuse an alias or an anchor at the event level, before any node is shared or expanded."""
        if not self.allow_aliases:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise AliasRefused(event.start_mark.line + 1)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first: dict[str, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue
            line, key = key_node.start_mark.line + 1, self.construct_object(key_node)
            if not isinstance(key, str):
                self.problems.append((line, (
                    f"key {key_node.value} is not text (YAML reads it as {key!r}); "
                    f"quote the key (\"{key_node.value}\") or rename it"
                )))
            elif key in first:
                self.problems.append((line, f"key {key} repeated (first at line {first[key]}); keep one"))
            else:
                first[key] = line
        return super().construct_mapping(node, deep=deep)


class NoAliasLoader(StrictLoader):
    """`StrictLoader` that raises AliasRefused at the first anchor or alias."""

    allow_aliases = False


def parse_yaml(text: str, aliases: bool = True) -> tuple[Any, list[str]]:
    """The document in `text` as `yaml.safe_load` reads it, and the key problems found, by line.

    With `aliases=False` an anchor or alias raises AliasRefused before anything is expanded."""
    loader = (StrictLoader if aliases else NoAliasLoader)(text)
    try:
        return loader.get_single_data(), [f"line {line}: {message}" for line, message in sorted(loader.problems)]
    finally:
        loader.dispose()


def read_params_text(path: Path) -> str:
    """The text of a params file; a missing or non-UTF-8 file is one ProjectError line naming it."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{path}: parameter file not found; restore it from git") from None
    except UnicodeDecodeError as exc:
        raise ProjectError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


def read_yaml(path: Path) -> Any:
    """The YAML document of a params file; syntax errors, anchors/aliases, repeated or non-text keys
    are ProjectError lines naming the file."""
    text = read_params_text(path)
    try:
        data, problems = parse_yaml(text, aliases=False)
    except AliasRefused as exc:
        raise ProjectError(f"{path}: line {exc.line}: {ALIAS_RULE}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ProjectError(f"{path}:{where} is not valid YAML ({exc.__class__.__name__}); fix the syntax") from None
    if problems:
        raise ProjectError(*(f"{path}: {problem}" for problem in problems))
    return data


def load_yaml(path: Path, required: Iterable[str] = (), optional: Iterable[str] = (),
              retired: dict[str, str] | None = None) -> dict[str, Any]:
    """Read a YAML mapping; error (naming the file) on syntax errors, anchors/aliases, repeated or
    non-text keys, missing or unknown keys (a `retired` key: one line saying what to do instead)."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ProjectError(f"{path}: expected a mapping of keys to values at the top level")
    if old := [key for key in (retired or {}) if key in data]:
        raise ProjectError(*(f"{path}: {key} is no longer read; {retired[key]}" for key in old))
    required, allowed = set(required), set(required) | set(optional)
    if missing := sorted(required - data.keys()):
        raise ProjectError(f"{path}: missing key(s) {', '.join(missing)}; add them")
    if allowed and (unknown := sorted(data.keys() - allowed)):
        raise ProjectError(
            f"{path}: unknown key(s) {', '.join(map(str, unknown))}; allowed: {', '.join(sorted(allowed))}"
        )
    return data
