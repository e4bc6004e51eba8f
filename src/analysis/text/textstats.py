"""Text statistics, one home each: G² (log-likelihood), keyness, collocates and keyword-in-context lines.

Keyness and collocates both test a 2×2 table with `log_likelihood`; KWIC lines of lexicon mentions
(the themes stage) and of any query term (the `kwic` command) share `kwic_lines`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy.stats import chi2, false_discovery_control, power_divergence

from analysis.corpus.structure import PlanStructure
from analysis.text.stats import significant

ZERO_SMOOTHING = 0.5  # added in place of a zero count in the log ratio (Hardie 2014)
KEYNESS_STAT_COLUMNS = ["doc_id", "term", "count", "expected", "count_other", "total", "total_other",
                        "g2", "p", "q", "log_ratio"]
COLLOCATE_COLUMNS = ["term", "collocate", "observed", "expected", "frequency", "window_tokens", "tokens", "g2",
                     "p", "pmi"]


def log_likelihood(a: np.ndarray, b: np.ndarray, size_a: np.ndarray, size_b: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each element: `a` occurrences in a part of `size_a` tokens against `b` in the other
    `size_b` tokens — G² (log-likelihood of the 2×2 table, 1 dof), its p, and the expected value of
    `a` under equal rates. Float error makes equal rates a tiny negative G² (p would be NaN): clamped
    to 0."""
    n = size_a + size_b
    observed = np.column_stack([a, b, size_a - a, size_b - b])
    term_total, rest = a + b, n - a - b
    expected = np.column_stack([size_a * term_total, size_b * term_total, size_a * rest, size_b * rest]) / n[:, None]
    g2 = np.maximum(power_divergence(observed, expected, ddof=2, axis=1, lambda_="log-likelihood")[0], 0.0)
    return g2, chi2.sf(g2, 1), expected[:, 0]


# --- keyness ---------------------------------------------------------------------------------------


def stat_keyness(counts: pd.DataFrame, totals: pd.Series, min_count: int = 1) -> pd.DataFrame:
    """Each document against all others pooled, for every term with at least `min_count`
    occurrences overall.

    `counts`: long table doc_id, term, count; `totals`: doc_id → size of that document in
    tokens. Per row: observed `count` and its `expected` value under equal
    rates, the other documents' `count_other`, both `total`s; G² (log-likelihood, 2×2 table, 1 dof)
    with its p; the Benjamini–Hochberg q over the terms of that document; and the log ratio
    log2((count/total)/(count_other/total_other)), a zero count replaced by 0.5.
    """
    overall = counts.groupby("term")["count"].sum()
    tested = overall[overall >= min_count].index
    if len(totals) < 2 or tested.empty:
        return pd.DataFrame(columns=KEYNESS_STAT_COLUMNS)
    grid = pd.MultiIndex.from_product([totals.index, tested], names=["doc_id", "term"])
    frame = counts.groupby(["doc_id", "term"])["count"].sum().reindex(grid, fill_value=0).reset_index()
    a = frame["count"].to_numpy(float)
    b = frame["term"].map(overall).to_numpy(float) - a
    size_a = frame["doc_id"].map(totals).to_numpy(float)
    size_b = float(totals.sum()) - size_a
    g2, p, expected = log_likelihood(a, b, size_a, size_b)
    frame = frame.assign(
        expected=expected.round(3), count_other=b.astype(int), total=size_a.astype(int),
        total_other=size_b.astype(int), g2=g2.round(4), p=significant(p),
        log_ratio=np.log2((np.where(a > 0, a, ZERO_SMOOTHING) / size_a)
                          / (np.where(b > 0, b, ZERO_SMOOTHING) / size_b)).round(4),
    )
    frame["q"] = significant(frame.groupby("doc_id")["p"].transform(
        lambda ps: false_discovery_control(ps.to_numpy(), method="bh")).to_numpy())
    return frame[KEYNESS_STAT_COLUMNS]


# --- collocates ------------------------------------------------------------------------------------


def token_lists(tokens: pd.DataFrame) -> list[list[str]]:
    """The `tokens` column of item_tokens.csv as lists (an item without plan terms: [])."""
    return [str(text).split() for text in tokens["tokens"].fillna("")]


def collocates(tokens: pd.DataFrame, term: str, window: int = 5, min_count: int = 2) -> pd.DataFrame:
    """Collocates of the plan term `term` in the items of `tokens`: the tokens up to `window`
    positions either side of an occurrence in the same item. Every token position counts once: the
    window region holds `window_tokens` positions (the term's own positions excluded) out of
    `tokens` in all; a collocate's `observed` count there against `expected` = window_tokens ×
    `frequency` / tokens (its share of all positions), G² of that 2×2 table (1 dof) with its p, and
    PMI = log2(observed / expected). Collocates seen fewer than `min_count` times are left out;
    sorted by G² (ties: collocate)."""
    lists = token_lists(tokens)
    frequency = Counter(t for terms in lists for t in terms)
    observed: Counter[str] = Counter()
    window_tokens = 0
    for terms in lists:
        hits = [i for i, t in enumerate(terms) if t == term]
        region = {j for i in hits for j in range(max(i - window, 0), min(i + window + 1, len(terms)))
                  if terms[j] != term}
        observed.update(terms[j] for j in region)
        window_tokens += len(region)
    kept = sorted(c for c, n in observed.items() if n >= min_count)
    if not kept:
        return pd.DataFrame(columns=COLLOCATE_COLUMNS)
    n = sum(frequency.values())
    o11 = np.array([observed[c] for c in kept], dtype=float)  # in the window region
    c1 = np.array([frequency[c] for c in kept], dtype=float)
    region = np.full(len(kept), float(window_tokens))
    g2, p, expected = log_likelihood(o11, c1 - o11, region, n - region)  # the region against the rest
    frame = pd.DataFrame({
        "term": term, "collocate": kept, "observed": o11.astype(int), "expected": expected.round(3),
        "frequency": c1.astype(int), "window_tokens": window_tokens, "tokens": n, "g2": g2.round(4),
        "p": significant(p), "pmi": np.log2(o11 / expected).round(4),
    }, columns=COLLOCATE_COLUMNS)
    return frame.sort_values(["g2", "collocate"], ascending=[False, True], ignore_index=True)


# --- keyword in context ------------------------------------------------------------------------------


def occurrences(text: str, term: str) -> list[int]:
    """Start offsets of the non-overlapping occurrences of `term` (as `str.count` counts them)."""
    found, at = [], text.find(term)
    while at >= 0:
        found.append(at)
        at = text.find(term, at + len(term))
    return found


def place(structure: PlanStructure, starts: list[int], offset: int) -> tuple[str, int | None, int | None]:
    """(where, item_seq, section_no) of an offset of a parsed plan: in an item ("item", its item_seq
    and section), else the title, the preamble or a section heading (the heading's section_no).
    `starts`: the items' start offsets."""
    items = structure.items
    at = bisect_right(starts, offset) - 1
    if at >= 0 and offset < items[at].end:
        return "item", items[at].item_seq, items[at].section_no
    where, section = structure.locate(offset)
    return where, None, section


def context(text: str, start: int, end: int) -> str:
    """text[start:end] (start clipped at 0) on one line."""
    return text[max(start, 0):end].replace("\n", " ")


def kwic_lines(text: str, structure: PlanStructure, found: Iterable[tuple[int, str]], width: int) -> list[dict]:
    """One row per (offset, match) of `found` in `text`: `where`, `item_seq`, `section_no` (`place`),
    `start`, and ±`width` characters of context (`left`, `match`, `right`)."""
    starts = [item.start for item in structure.items]
    rows = []
    for start, term in found:
        where, item_seq, section_no = place(structure, starts, start)
        rows.append({"where": where, "item_seq": item_seq, "section_no": section_no, "start": start,
                     "left": context(text, start - width, start), "match": term,
                     "right": context(text, start + len(term), start + len(term) + width)})
    return rows
