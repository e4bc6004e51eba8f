"""params/stopwords.txt and params/userdict.txt as word lists (Stopwords, UserDict)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from analysis.params.loader import read_params_text

JIEBA_LINE = re.compile(r"^(.+?)( [0-9]+)?( [a-z]+)?$")  # jieba.Tokenizer.load_userdict's re_userdict


def word_list(text: str) -> list[str]:
    """One word per line; `#` starts a comment; blank lines ignored."""
    return [word for line in text.splitlines() if (word := line.split("#", 1)[0].strip())]


def read_word_list(path: Path) -> list[str]:
    """The words of a word-list file (see `word_list`)."""
    return word_list(read_params_text(path))


@dataclass(frozen=True)
class Stopwords:
    """params/stopwords.txt: domain stopwords, in file order."""

    words: tuple[str, ...]

    @cached_property
    def as_set(self) -> frozenset[str]:
        return frozenset(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.as_set

    @classmethod
    def from_text(cls, text: str) -> Stopwords:
        return cls(tuple(word_list(text)))


@dataclass(frozen=True)
class UserDict:
    """params/userdict.txt as jieba reads it: `word freq tag` lines (generated from themes.yaml).

    `text` is the file as written (what jieba loads and what the generated text is compared with);
    `entries` its (word, freq, tag) lines, freq and tag None when a line leaves them out."""

    text: str
    entries: tuple[tuple[str, int | None, str | None], ...]

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(word for word, _, _ in self.entries)

    @classmethod
    def from_text(cls, text: str) -> UserDict:
        """Parse as jieba does: a word, an optional whole-number frequency, an optional tag."""
        entries = []
        for line in text.removeprefix("\ufeff").splitlines():
            if line := line.strip():
                word, freq, tag = JIEBA_LINE.match(line).groups()
                entries.append((word, None if freq is None else int(freq), None if tag is None else tag.strip()))
        return cls(text, tuple(entries))
