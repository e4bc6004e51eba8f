"""params/themes.yaml as ThemesParams: themes with terms, exclusions and years, KWIC, userdict."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from analysis.chars import CJK
from analysis.params.loader import YamlModel
from analysis.params.rules import Whole, check, not_style
from analysis.paths import ProjectError

YEAR_RANGE = (1990, 2100)  # a plan's year; also the range of a theme's since/until and a plan set's years
THEMES_KEYS = ("themes", "kwic", "userdict")
RETIRED_KEYS = {  # an older themes.yaml's key → what to do (refused, never silently ignored)
    "keyness": "keyness is set in params/exploratory.yaml (keyness_min_items: items holding a term, not "
               "token counts); delete the keyness block (min_count) from this file",
}
NUMBERS = {  # the numeric keys, as "section.key" (the file nests them)
    "kwic.width": Whole(1, 1_000),
    "userdict.freq": Whole(1, 100_000_000),
}

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


def is_theme_name(name: Any) -> bool:
    """Whether `name` follows THEME_NAME_RULE (also the rule of policy-tool type and sub-tool names)."""
    return (isinstance(name, str) and bool(THEME_NAME.fullmatch(name) and re.search(f"[{CJK}A-Za-z]", name))
            and not _is_number(name))


def _is_number(text: str) -> bool:
    """Whether Python (and so pandas) reads `text` as a number: 2024, 1e5, nan, inf."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def term_problem(term: Any) -> str | None:
    """Why `term` cannot be a term, a cue or an excluded phrase, or None."""
    if not isinstance(term, str):
        return f"{term!r} is not text (YAML reads unquoted numbers, yes/no and null as such); quote it"
    if not TERM.fullmatch(term):
        return f"{term!r} is not a term; a term is {TERM_RULE}"
    return None


def mapping(path: Path, where: str, value: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
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


def terms(path: Path, where: str, value: Any, noun: str = "terms") -> tuple[str, ...]:
    """A non-empty list of distinct terms (or phrases), each following TERM_RULE."""
    if not isinstance(value, list) or not value:
        raise ProjectError(f"{path}: {where} must be a non-empty list of {noun}")
    if bad := [f"{path}: {where}: {problem}" for term in value if (problem := term_problem(term))]:
        raise ProjectError(*bad)
    if repeated := sorted(t for t, n in Counter(value).items() if n > 1):
        raise ProjectError(f"{path}: {where} lists {', '.join(repeated)} twice; keep one")
    return tuple(value)


def _year(path: Path, where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not YEAR_RANGE[0] <= value <= YEAR_RANGE[1]:
        raise ProjectError(
            f"{path}: {where} must be a year between {YEAR_RANGE[0]} and {YEAR_RANGE[1]}, written as a number "
            f"without quotes (since: 2021), not {value!r}"
        )
    return value


@dataclass(frozen=True)
class Theme:
    """One theme of the lexicon: its terms, the longer phrases never counted, the years it applies to."""

    name: str
    description: str
    terms: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    since: int | None = None  # inclusive; None: no lower limit
    until: int | None = None  # inclusive; None: no upper limit
    dated: bool = False  # whether the file gives since and/or until


@dataclass(frozen=True)
class ThemesParams(YamlModel):
    """The validated contents of params/themes.yaml, plain data (the matcher lives in analysis.text).

    `terms`, `descriptions`, `exclude` and `years` are the mappings of the former Lexicon: `exclude`
    and `years` hold only the themes that have them."""

    REQUIRED = THEMES_KEYS
    RETIRED = RETIRED_KEYS

    themes: tuple[Theme, ...]
    kwic_width: int  # KWIC: characters of context on each side
    userdict_freq: int
    extra_terms: tuple[str, ...]  # userdict words that belong to no theme

    @cached_property
    def terms(self) -> dict[str, tuple[str, ...]]:
        """Theme → its terms, in file order."""
        return {theme.name: theme.terms for theme in self.themes}

    @cached_property
    def descriptions(self) -> dict[str, str]:
        return {theme.name: theme.description for theme in self.themes}

    @cached_property
    def exclude(self) -> dict[str, tuple[str, ...]]:
        """Theme → phrases never counted (themes with `exclude` only)."""
        return {theme.name: theme.exclude for theme in self.themes if theme.exclude}

    @cached_property
    def years(self) -> dict[str, tuple[int | None, int | None]]:
        """Theme → (since, until), for the themes that name years."""
        return {theme.name: (theme.since, theme.until) for theme in self.themes if theme.dated}

    @cached_property
    def theme_of(self) -> dict[str, str]:
        """Term → its theme."""
        return {term: theme.name for theme in self.themes for term in theme.terms}

    def applies(self, theme: str, year: int) -> bool:
        """Whether `theme` applies to a plan of `year`: within its `since`/`until` years (inclusive)."""
        since, until = self.years.get(theme, (None, None))
        return (since is None or year >= since) and (until is None or year <= until)

    def warnings(self, path: Path) -> list[str]:
        """One line per one-character term: allowed, but it matches inside unrelated words."""
        return [
            f"{path}: theme {theme} term {term} is one character long; it will match inside unrelated words "
            "— use a longer term"
            for theme, terms in self.terms.items() for term in terms if len(term) == 1
        ]

    @classmethod
    def from_data(cls, path: Path, raw: dict[str, Any]) -> ThemesParams:
        """Check the mapping read from `path` (the rules of the former load_lexicon); every mistake is
        one ProjectError line naming the file."""
        if not isinstance(raw["themes"], dict) or not raw["themes"]:
            raise ProjectError(f"{path}: themes must map each theme name to its description and terms")
        if bad := [theme for theme in raw["themes"] if not is_theme_name(theme)]:
            raise ProjectError(*(
                f"{path}: theme name {theme!r} is not allowed; a theme name is {THEME_NAME_RULE}; rename it"
                for theme in bad
            ))
        themes, seen = [], {}
        for name, entry in raw["themes"].items():
            entry = mapping(path, f"theme {name}", entry, ("description", "terms"), ("exclude", "since", "until"))
            own = terms(path, f"theme {name} terms", entry["terms"])
            for term in own:
                if term in seen:
                    raise ProjectError(
                        f"{path}: term {term} is in themes {seen[term]} and {name}; keep it in one theme"
                    )
                seen[term] = name
            exclude = ()
            if "exclude" in entry:
                exclude = terms(path, f"theme {name} exclude", entry["exclude"])
                if useless := [p for p in exclude if not any(t in p and t != p for t in own)]:
                    raise ProjectError(
                        f"{path}: theme {name} exclude {', '.join(useless)} contains none of its terms "
                        "(or equals one); an excluded phrase must be longer than a term it contains"
                    )
            since, until = (_year(path, f"theme {name} {key}", entry[key]) if key in entry else None
                            for key in ("since", "until"))
            if since is not None and until is not None and since > until:
                raise ProjectError(f"{path}: theme {name} since {since} is after until {until}; swap or fix them")
            themes.append(Theme(name, str(entry["description"] or ""), own, exclude, since, until,
                                dated=bool({"since", "until"} & set(entry))))
        kwic = mapping(path, "kwic", raw["kwic"], ("width",))
        userdict = mapping(path, "userdict", raw["userdict"], ("freq", "extra_terms"))
        numbers = {"kwic.width": kwic["width"], "userdict.freq": userdict["freq"]}
        if problems := check(path, numbers, NUMBERS, not_style):
            raise ProjectError(*problems)
        return cls(
            themes=tuple(themes),
            kwic_width=kwic["width"],
            userdict_freq=userdict["freq"],
            extra_terms=terms(path, "userdict.extra_terms", userdict["extra_terms"]),
        )
