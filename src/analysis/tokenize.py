"""Segmentation: jieba with the policy user dictionary and the domain stopword list."""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path

import jieba

CONTENT_TOKEN = re.compile(r"^[\u4e00-\u9fffA-Za-z][\u4e00-\u9fffA-Za-z0-9.+]*$")

jieba.setLogLevel(logging.WARNING)


class Segmenter:
    """A jieba tokenizer of its own (the global one stays untouched) plus stopwords.

    `cut` returns every token; `tokens` only content tokens: no stopwords, punctuation, numbers or
    single characters.
    """

    def __init__(self, userdict: Path, stopwords: Path) -> None:
        self.userdict = Path(userdict)
        self.stopwords_path = Path(stopwords)
        self.tokenizer = jieba.Tokenizer()
        self.tokenizer.initialize()
        self.tokenizer.load_userdict(str(self.userdict))
        self.stopwords = frozenset(read_word_list(self.stopwords_path))

    def cut(self, text: str) -> list[str]:
        return self.tokenizer.lcut(text, HMM=True)

    def tokens(self, text: str) -> list[str]:
        return [
            t for t in self.cut(text)
            if len(t) > 1 and t not in self.stopwords and CONTENT_TOKEN.match(t)
        ]

    def __call__(self, text: str) -> list[str]:
        """So a Segmenter plugs into `TfidfVectorizer(tokenizer=segmenter)`."""
        return self.tokens(text)

    def __reduce__(self):
        return (load_segmenter_files, (self.userdict, self.stopwords_path))


def read_word_list(path: Path) -> list[str]:
    """One word per line; `#` starts a comment; blank lines ignored."""
    words = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            words.append(word)
    return words


@cache
def load_segmenter_files(userdict: Path, stopwords: Path) -> Segmenter:
    """One Segmenter per (dictionary, stopwords) per process: jieba's dictionary loads once."""
    return Segmenter(userdict, stopwords)


def load_segmenter(params_dir: Path) -> Segmenter:
    return load_segmenter_files(Path(params_dir) / "userdict.txt", Path(params_dir) / "stopwords.txt")
