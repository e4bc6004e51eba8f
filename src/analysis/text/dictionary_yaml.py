"""Read and validate the two dictionary files, params/themes.yaml and params/policy_tools.yaml, into Dictionary objects.

Every mistake is one ProjectError line naming the file. Theme, type and sub-tool names follow
THEME_NAME_RULE, terms, cues and excluded phrases TERM_RULE.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.chars import CJK
from analysis.corpus.manifest import YEAR_RANGE
from analysis.params.loader import load_yaml
from analysis.paths import ProjectError
from analysis.text.dictionary import Dictionary

# What a theme name and a term may contain (documented in params/themes.yaml). A theme name becomes
# a table column, a plot label (matplotlib reads $…$ as math) and a report heading; a term is
# matched as a substring of cleaned text, where cleaning has made letters and digits half-width.
THEME_NAME = re.compile(rf"[{CJK}A-Za-z0-9_·-]{{1,20}}")
THEME_NAME_RULE = (
    "1–20 characters: Chinese characters, ASCII letters and digits, _ - ·, at least one Chinese character "
    "or letter, not a number (no spaces, quotes, $ ; < > & / \\)"
)
TERM = re.compile(rf"[{CJK}A-Za-z0-9+·-]*[{CJK}A-Za-z0-9][{CJK}A-Za-z0-9+·-]*")
TERM_RULE = (
    "a word without spaces: Chinese characters, half-width ASCII letters and digits, and + - · inside a "
    "word (互联网+, 5G)"
)


@dataclass(frozen=True)
class ThemeParams:
    """The validated contents of params/themes.yaml: the lexicon and the settings of the stages using it."""

    lexicon: Dictionary  # theme → terms, with descriptions, exclusions and since/until years
    min_count: int  # keyness: minimum corpus frequency of a tested token
    kwic_width: int  # KWIC: characters of context on each side
    userdict_freq: int
    extra_terms: tuple[str, ...]  # userdict words that belong to no theme


# --- shared checks ---------------------------------------------------------------------------------


def _keys(path: Path, where: str, value: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    """`value` must be a mapping with the `required` keys and no others but `optional` ones."""
    allowed = (*required, *optional)
    if not isinstance(value, dict):
        raise ProjectError(f"{path}: {where} must be a mapping with keys {', '.join(allowed)}")
    if wrong := sorted((set(required) - set(value)) | (set(value) - set(allowed)), key=str):
        raise ProjectError(
            f"{path}: {where} has missing or unknown key(s) {', '.join(map(str, wrong))}; "
            f"allowed: {', '.join(allowed)}"
        )
    return value


def _positive_int(path: Path, where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProjectError(f"{path}: {where} must be a whole number of at least 1, not {value!r}")
    return value


def _year(path: Path, where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not YEAR_RANGE[0] <= value <= YEAR_RANGE[1]:
        raise ProjectError(
            f"{path}: {where} must be a year between {YEAR_RANGE[0]} and {YEAR_RANGE[1]}, written as a number "
            f"without quotes (since: 2021), not {value!r}"
        )
    return value


def _years(path: Path, theme: str, entry: dict) -> tuple[int | None, int | None]:
    """A theme's optional `since` and `until` years, checked and in order."""
    since, until = (_year(path, f"theme {theme} {key}", entry[key]) if key in entry else None
                    for key in ("since", "until"))
    if since is not None and until is not None and since > until:
        raise ProjectError(f"{path}: theme {theme} since {since} is after until {until}; swap or fix them")
    return since, until


def _is_theme_name(name: str) -> bool:
    """Whether `name` follows THEME_NAME_RULE."""
    return bool(THEME_NAME.fullmatch(name) and re.search(f"[{CJK}A-Za-z]", name)) and not _is_number(name)


def _is_number(text: str) -> bool:
    """Whether Python (and so pandas) reads `text` as a number: 2024, 1e5, nan, inf."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _term_problem(term: Any) -> str | None:
    """Why `term` cannot be a term (or an excluded phrase), or None."""
    if not isinstance(term, str):
        return f"{term!r} is not text (YAML reads unquoted numbers, yes/no and null as such); quote it"
    if not TERM.fullmatch(term):
        return f"{term!r} is not a term; a term is {TERM_RULE}"
    return None


def _terms(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ProjectError(f"{path}: {where} must be a non-empty list of terms")
    if bad := [f"{path}: {where}: {problem}" for term in value if (problem := _term_problem(term))]:
        raise ProjectError(*bad)
    if repeated := sorted(t for t, n in Counter(value).items() if n > 1):
        raise ProjectError(f"{path}: {where} lists {', '.join(repeated)} twice; keep one")
    return tuple(value)


# --- params/themes.yaml ----------------------------------------------------------------------------


def load_themes(path: Path) -> ThemeParams:
    """Read and validate a theme lexicon and its settings.

    Theme names and terms are checked against THEME_NAME_RULE and TERM_RULE; one-character terms
    are allowed (see `lexicon_warnings`). A theme's optional `since`/`until` are years (inclusive)
    outside which the theme does not apply: such plan × theme pairs are counted but marked not
    `applicable`, and left out of intervals, tests, rankings and validation."""
    path = Path(path)
    raw = load_yaml(path, required=("themes", "keyness", "kwic", "userdict"))
    if not isinstance(raw["themes"], dict) or not raw["themes"]:
        raise ProjectError(f"{path}: themes must map each theme name to its description and terms")
    if bad := [theme for theme in raw["themes"] if not _is_theme_name(theme)]:
        raise ProjectError(*(
            f"{path}: theme name {theme!r} is not allowed; a theme name is {THEME_NAME_RULE}; rename it"
            for theme in bad
        ))
    terms: dict[str, tuple[str, ...]] = {}
    descriptions: dict[str, str] = {}
    exclude: dict[str, tuple[str, ...]] = {}
    years: dict[str, tuple[int | None, int | None]] = {}
    seen: dict[str, str] = {}
    for theme, entry in raw["themes"].items():
        entry = _keys(path, f"theme {theme}", entry, ("description", "terms"), ("exclude", "since", "until"))
        terms[theme] = _terms(path, f"theme {theme} terms", entry["terms"])
        descriptions[theme] = str(entry["description"] or "")
        for term in terms[theme]:
            if term in seen:
                raise ProjectError(
                    f"{path}: term {term} is in themes {seen[term]} and {theme}; keep it in one theme"
                )
            seen[term] = theme
        if "exclude" in entry:
            phrases = _terms(path, f"theme {theme} exclude", entry["exclude"])
            if useless := [p for p in phrases if not any(t in p and t != p for t in terms[theme])]:
                raise ProjectError(
                    f"{path}: theme {theme} exclude {', '.join(useless)} contains none of its terms "
                    "(or equals one); an excluded phrase must be longer than a term it contains"
                )
            exclude[theme] = phrases
        if {"since", "until"} & set(entry):
            years[theme] = _years(path, theme, entry)
    keyness = _keys(path, "keyness", raw["keyness"], ("min_count",))
    kwic = _keys(path, "kwic", raw["kwic"], ("width",))
    userdict = _keys(path, "userdict", raw["userdict"], ("freq", "extra_terms"))
    return ThemeParams(
        lexicon=Dictionary(terms=terms, exclude=exclude, descriptions=descriptions, years=years),
        min_count=_positive_int(path, "keyness.min_count", keyness["min_count"]),
        kwic_width=_positive_int(path, "kwic.width", kwic["width"]),
        userdict_freq=_positive_int(path, "userdict.freq", userdict["freq"]),
        extra_terms=_terms(path, "userdict.extra_terms", userdict["extra_terms"]),
    )


def lexicon_warnings(lexicon: Dictionary, path: Path) -> list[str]:
    """One line per one-character term: allowed, but it matches inside unrelated words."""
    return [
        f"{path}: theme {theme} term {term} is one character long; it will match inside unrelated words "
        "— use a longer term"
        for theme, terms in lexicon.terms.items() for term in terms if len(term) == 1
    ]


# --- params/policy_tools.yaml ----------------------------------------------------------------------


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
    if bad := [name for name in value if not _is_theme_name(name)]:
        raise ProjectError(*(f"{path}: {where}: name {name!r} is not allowed; a name is {THEME_NAME_RULE}"
                             for name in bad))
    return value


def _phrases(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ProjectError(f"{path}: {where} must be a non-empty list of phrases")
    if bad := [f"{path}: {where}: {problem}" for phrase in value if (problem := _term_problem(phrase))]:
        raise ProjectError(*bad)
    if repeated := sorted({p for p in value if value.count(p) > 1}):
        raise ProjectError(f"{path}: {where} lists {', '.join(repeated)} twice; keep one")
    return tuple(value)


def load_toolbook(path: Path) -> Dictionary:
    """Read and validate the policy-tool codebook: type → sub-tool → cues; the descriptions hold each
    type's description and each sub-tool's definition."""
    path = Path(path)
    raw = load_yaml(path, required=("types",))
    tools: dict[str, tuple[str, ...]] = {}
    descriptions: dict[str, str] = {}
    definitions: dict[str, str] = {}
    cues: dict[str, tuple[str, ...]] = {}
    exclude: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for kind, entry in _names(path, "types", raw["types"]).items():
        entry = _mapping(path, f"type {kind}", entry, ("description", "tools"))
        descriptions[kind] = str(entry["description"] or "")
        tools[kind] = tuple(_names(path, f"type {kind} tools", entry["tools"]))
        for tool, spec in entry["tools"].items():
            if tool in definitions or tool in tools:
                raise ProjectError(f"{path}: sub-tool {tool} is named twice (or like a type); rename one")
            spec = _mapping(path, f"sub-tool {tool}", spec, ("definition", "cues"), ("exclude",))
            if not isinstance(spec["definition"], str) or not spec["definition"].strip():
                raise ProjectError(f"{path}: sub-tool {tool}: definition must be a non-empty text")
            definitions[tool] = spec["definition"].strip()
            cues[tool] = _phrases(path, f"sub-tool {tool} cues", spec["cues"])
            for cue in cues[tool]:
                if cue in seen:
                    raise ProjectError(f"{path}: cue {cue} is in sub-tools {seen[cue]} and {tool}; keep it in one")
                seen[cue] = tool
            if "exclude" in spec:
                phrases = _phrases(path, f"sub-tool {tool} exclude", spec["exclude"])
                if useless := [p for p in phrases if not any(c in p and c != p for c in cues[tool])]:
                    raise ProjectError(f"{path}: sub-tool {tool} exclude {', '.join(useless)} contains none of its "
                                       "cues (or equals one); an excluded phrase must be longer than a cue it contains")
                exclude[tool] = phrases
    if clash := sorted(set(seen) & {p for group in exclude.values() for p in group}):
        raise ProjectError(f"{path}: {', '.join(clash)} is both a cue and an excluded phrase; keep one")
    return Dictionary(terms=cues, exclude=exclude, groups=tools, descriptions=descriptions | definitions)
