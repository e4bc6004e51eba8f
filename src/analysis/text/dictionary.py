"""One dictionary class for the theme lexicon and the policy-tool codebook: keys, their terms, levels, exclusions.

Like quanteda's `dictionary` used by `tokens_lookup`, but matched on raw text: every term and
excluded phrase goes into one alternation, longest first, so the leftmost, longest match wins and
counts never depend on word segmentation; a match of an excluded phrase hides the terms inside it.
The theme lexicon has one level (theme → terms); the codebook two (type → sub-tool → cues), and
its keys may also have co-occurrence rules: the key is found in a clause (text between ，：。；！？ or a
line end) that holds one of a rule's verbs and one of its objects outside the key's own cues and
excluded phrases (建设 + 平台: 建设智慧教育平台 is 信息技术; 数字化 alone is no supply).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from analysis.params.policy_tools import PolicyToolsParams
from analysis.params.themes import ThemesParams


def longest_first(words: set[str]) -> re.Pattern:
    """One alternation of `words`, longest first (ties by text): the leftmost, longest match wins."""
    return re.compile("|".join(map(re.escape, sorted(words, key=lambda word: (-len(word), word)))))


CLAUSE = re.compile(r"[^，,：:。；！？!?;\n]+")  # a clause of a co-occurrence rule
Rules = tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # (verbs, objects) per rule


@dataclass(frozen=True)
class Dictionary:
    """Keys (themes, sub-tools) with their terms (terms, cues), optionally grouped one level up
    (types); `find` is the one matcher of both."""

    terms: dict[str, tuple[str, ...]]  # key → its terms, in file order
    exclude: dict[str, tuple[str, ...]] = field(default_factory=dict)  # key → phrases never counted
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # upper level → its keys; empty: one level
    descriptions: dict[str, str] = field(default_factory=dict)  # key or group → what it means
    years: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)  # key → (since, until)
    rules: dict[str, Rules] = field(default_factory=dict)  # key → its (verbs, objects) co-occurrence rules

    @property
    def keys(self) -> list[str]:
        """The keys in file order."""
        return list(self.terms)

    def applies(self, key: str, year: int) -> bool:
        """Whether `key` applies to a plan of `year`: within its `since`/`until` years (inclusive)."""
        since, until = self.years.get(key, (None, None))
        return (since is None or year >= since) and (until is None or year <= until)

    @cached_property
    def key_of(self) -> dict[str, str]:
        """Term → its key."""
        return {term: key for key, terms in self.terms.items() for term in terms}

    @cached_property
    def group_of(self) -> dict[str, str]:
        """Key → its group (upper level)."""
        return {key: group for group, keys in self.groups.items() for key in keys}

    @cached_property
    def pattern(self) -> re.Pattern:
        """Terms and excluded phrases as one alternation, longest first: the leftmost, longest wins."""
        return longest_first({*self.key_of, *(phrase for group in self.exclude.values() for phrase in group)})

    def find(self, text: str) -> list[tuple[int, str]]:
        """(offset, term) of every counted term in `text`: longest first, no overlaps; a match of an
        excluded phrase hides the terms inside it."""
        return [(match.start(), match.group()) for match in self.pattern.finditer(text)
                if match.group() in self.key_of]

    @cached_property
    def rule_patterns(self) -> dict[str, tuple[re.Pattern, tuple[tuple[re.Pattern, re.Pattern], ...]]]:
        """Key → (its cues and excluded phrases, hidden before its rules are matched; (verbs, objects)
        alternations of each of its rules)."""
        return {key: (longest_first({*self.terms[key], *self.exclude.get(key, ())}),
                      tuple((longest_first(set(verbs)), longest_first(set(objects))) for verbs, objects in rules))
                for key, rules in self.rules.items()}

    def rule_matches(self, text: str) -> list[tuple[int, str, int, str, str]]:
        """(verb offset, verb, object offset, object, key) of every clause of `text` where a rule of a
        key holds: the first such verb and object of the clause, one match per clause and key."""
        found = []
        for clause in CLAUSE.finditer(text):
            raw = clause.group()
            for key, (hidden, rules) in self.rule_patterns.items():
                plain = None  # the clause with the key's cues and exclusions hidden, made only when needed
                for verbs, objects in rules:
                    if not (verbs.search(raw) and objects.search(raw)):
                        continue  # hiding only removes words: no pair in the raw clause, none after
                    plain = plain or hidden.sub(lambda m: "\0" * len(m.group()), raw)
                    if (verb := verbs.search(plain)) and (thing := objects.search(plain)):
                        found.append((clause.start() + verb.start(), verb.group(),
                                      clause.start() + thing.start(), thing.group(), key))
                        break
        return found

    def rule_hits(self, text: str) -> list[tuple[int, str, str]]:
        """(offset, "verb+object", key) of every rule match of `text` (rule_matches), in text order."""
        hits = [(min(at, where), f"{verb}+{thing}", key) for at, verb, where, thing, key in self.rule_matches(text)]
        return sorted(hits, key=lambda hit: hit[0])

    def hits(self, text: str) -> list[tuple[int, str, str]]:
        """(offset, cue, key) of every counted term and every rule hit ("verb+object") of `text`, in text order."""
        found = [(at, term, self.key_of[term]) for at, term in self.find(text)]
        return sorted([*found, *self.rule_hits(text)], key=lambda hit: hit[0])

    def count(self, text: str) -> dict[str, int]:
        """Counted terms of each key in `text` (every key present, zeros included)."""
        counts = Counter(self.key_of[term] for _, term in self.find(text))
        return {key: counts[key] for key in self.terms}


def theme_lexicon(themes: ThemesParams) -> Dictionary:
    """The theme lexicon of params/themes.yaml: theme → terms, exclusions and since/until years."""
    return Dictionary(terms=themes.terms, exclude=themes.exclude, descriptions=themes.descriptions,
                      years=themes.years)


def tool_codebook(tools: PolicyToolsParams) -> Dictionary:
    """The policy-tool codebook of params/policy_tools.yaml: type → sub-tool → cues and rules; the descriptions
    hold each type's description and each sub-tool's definition."""
    return Dictionary(terms=tools.cues, exclude=tools.exclude, groups=tools.tools,
                      descriptions=tools.descriptions | tools.definitions, rules=tools.rules)
