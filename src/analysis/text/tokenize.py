"""Segmentation: jieba with the policy user dictionary and the domain stopword list."""

from __future__ import annotations

import logging
import re
import sys
from bisect import bisect_right
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path

import jieba
import pandas as pd

from analysis.chars import CJK
from analysis.paths import ProjectError

CONTENT_TOKEN = re.compile(rf"^[{CJK}A-Za-z][{CJK}A-Za-z0-9.+]*$")

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
        with self.userdict.open("rb") as handle:  # jieba would leave a path's file open
            self.tokenizer.load_userdict(handle)
        self.stopwords = frozenset(read_word_list(self.stopwords_path))

    def cut(self, text: str) -> tuple[str, ...]:
        """Every token of `text`; a text is segmented once per process (the stages need each plan's
        and each item's tokens several times: segmentation check, keyness, clusters, co-words)."""
        return self._cut(text)

    @lru_cache(maxsize=65536)  # noqa: B019 - plans and items of ~2,000 plans; `release_segmenters` clears it
    def _cut(self, text: str) -> tuple[str, ...]:
        return tuple(map(sys.intern, self.tokenizer.lcut(text, HMM=True)))  # one object per distinct token

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) offsets of every token of `cut(text)`; together they cover `text`."""
        spans, start = [], 0
        for token in self.cut(text):
            spans.append((start, start + len(token)))
            start += len(token)
        return spans

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
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{path}: parameter file not found; restore it from git") from None
    except UnicodeDecodeError as exc:
        raise ProjectError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    words = []
    for line in text.splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            words.append(word)
    return words


@cache
def load_segmenter_files(userdict: Path, stopwords: Path) -> Segmenter:
    """One Segmenter per (dictionary, stopwords) per process: jieba's dictionary loads once."""
    return Segmenter(userdict, stopwords)


def clear_segmentations() -> None:
    """Forget the cached tokens of every text segmented so far in this process (not the dictionaries)."""
    Segmenter._cut.cache_clear()


def release_segmenters() -> None:
    """Forget every Segmenter and cached segmentation of this process (jieba's dictionary and the
    tokens of every plan: hundreds of MB at 1,000 plans), e.g. once the stages are done."""
    clear_segmentations()
    load_segmenter_files.cache_clear()


# Word classes of jieba's dictionary that never make a distinctive policy term: place names (ns,
# 上海市, 西宁) and numerals/quantities (m, the 十三 of a split 十三五).
NOT_POLICY_TERMS = frozenset({"ns", "m"})


@cache
def word_classes() -> dict[str, str]:
    """Word → part-of-speech tag from jieba's bundled dictionary (`word freq tag` lines)."""
    path = Path(jieba.__file__).parent / "dict.txt"
    with path.open(encoding="utf-8") as handle:
        return {parts[0]: parts[2] for parts in map(str.split, handle) if len(parts) == 3}


def load_segmenter(params_dir: Path) -> Segmenter:
    return load_segmenter_files(Path(params_dir) / "userdict.txt", Path(params_dir) / "stopwords.txt")


SEGMENTATION_COLUMNS = ["term", "occurrences", "whole", "inside_longer", "split", "alone", "example", "flagged"]


def stat_segmentation(texts: Iterable[str], terms: Iterable[str], segmenter: Segmenter) -> pd.DataFrame:
    """How `segmenter` cuts each term where it occurs in `texts`.

    Per term: substring `occurrences`; how many are one token (`whole`), lie inside a longer token
    (`inside_longer`, e.g. 思政 within 课程思政) or are cut by a token boundary (`split`); `alone` is
    the cut of the term on its own; `example` the tokens over the first split occurrence.
    `flagged` when any occurrence is split or the term alone is not one token: keyness and
    clusters then never see the term, so add it to the user dictionary.
    """
    terms = list(dict.fromkeys(terms))
    tallies = {term: {"whole": 0, "inside_longer": 0, "split": 0} for term in terms}
    examples = dict.fromkeys(terms, "")
    for text in texts:  # one plan's token offsets at a time (all plans': ~400 MB at 1,000)
        token_spans = segmenter.spans(text)
        starts = [s for s, _ in token_spans]
        for term in terms:
            tally = tallies[term]
            for match in re.finditer(re.escape(term), text):
                first = bisect_right(starts, match.start()) - 1
                last = bisect_right(starts, match.end() - 1) - 1
                if first != last:
                    tally["split"] += 1
                    examples[term] = examples[term] or " / ".join(text[s:e] for s, e in token_spans[first:last + 1])
                elif token_spans[first] == match.span():
                    tally["whole"] += 1
                else:
                    tally["inside_longer"] += 1
    rows = []
    for term, tally in tallies.items():
        alone = segmenter.cut(term)
        rows.append({
            "term": term, "occurrences": sum(tally.values()), **tally, "alone": " / ".join(alone),
            "example": examples[term], "flagged": tally["split"] > 0 or len(alone) > 1,
        })
    return pd.DataFrame(rows, columns=SEGMENTATION_COLUMNS)
