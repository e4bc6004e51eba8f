"""Text statistics, one home each: G² (log-likelihood), keyness, collocates and keyword-in-context lines.

Keyness (items holding a term, `item_keyness`) and collocates both test a 2×2 table with
`log_likelihood`; KWIC lines of lexicon mentions (the themes stage) and of any query term (the
`kwic` command) share `kwic_lines`.
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
KEYNESS_STAT_COLUMNS = ["doc_id", "term", "count", "n_items", "items", "n_items_other", "items_other", "expected",
                        "g2", "p", "q", "log_ratio", "key"]
COLLOCATE_COLUMNS = ["term", "collocate", "observed", "expected", "frequency", "window_tokens", "tokens", "g2",
                     "p", "pmi"]


def log_likelihood(a: np.ndarray, b: np.ndarray, size_a: np.ndarray, size_b: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each element: `a` occurrences in a part of `size_a` tokens against `b` in the other
    `size_b` tokens — G² (log-likelihood of the 2×2 table, 1 dof), its p, and the expected value of
    `a` under equal rates. Float error makes equal rates a tiny negative G² (p would be NaN), and a
    term in every unit of both parts leaves empty cells (0/0): both are G² 0."""
    n = size_a + size_b
    observed = np.column_stack([a, b, size_a - a, size_b - b])
    term_total, rest = a + b, n - a - b
    expected = np.column_stack([size_a * term_total, size_b * term_total, size_a * rest, size_b * rest]) / n[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        g2 = np.fmax(power_divergence(observed, expected, ddof=2, axis=1, lambda_="log-likelihood")[0], 0.0)
    return g2, chi2.sf(g2, 1), expected[:, 0]


# --- keyness ---------------------------------------------------------------------------------------


def term_items(tokens: pd.DataFrame) -> pd.DataFrame:
    """From item_tokens rows (doc_id, item_seq, tokens): per plan × term, `n_items` (items holding
    the term) and `count` (its occurrences)."""
    long = tokens[["doc_id", "item_seq"]].assign(term=[s.split() for s in tokens["tokens"].fillna("")])
    long = long.explode("term").dropna(subset=["term"])
    grouped = long.groupby(["doc_id", "term"])
    return pd.DataFrame({"n_items": grouped["item_seq"].nunique(), "count": grouped.size()}).reset_index()


def item_keyness(tokens: pd.DataFrame, complete: list[str], min_items: int, max_q: float) -> pd.DataFrame:
    """Keyness with the ITEM as the unit: each plan of `tokens` (item_tokens rows) against the
    other plans of `complete` pooled (a plan outside `complete` is tested but never in a
    reference). A term counts once per item however often the item repeats it, so a term repeated
    inside one item is never distinctive.

    Tested: the terms held by at least `min_items` items of `tokens`, in the plans that use them.
    Per row: `n_items` of the plan's `items` hold the term, `n_items_other` of the reference's
    `items_other`; `expected` items under equal shares; G² of that 2×2 table (1 dof), p, the
    Benjamini–Hochberg q over the plan's tested terms, and the log ratio of the two item shares
    (a zero replaced by 0.5). `key`: q < `max_q` and dispersed — at least `min_items` items on the
    side the term is over-represented."""
    items = tokens.groupby("doc_id").size()
    per_term = term_items(tokens)
    spread = per_term.groupby("term")["n_items"].sum()
    per_term = per_term[per_term["term"].isin(spread[spread >= min_items].index)]
    pool = per_term[per_term["doc_id"].isin(complete)].groupby("term")["n_items"].sum()
    pool_items = int(items.reindex(complete).fillna(0).sum())
    own = per_term["doc_id"].isin(complete).to_numpy()
    a = per_term["n_items"].to_numpy(float)
    size_a = per_term["doc_id"].map(items).to_numpy(float)
    b = per_term["term"].map(pool).fillna(0).to_numpy(float) - np.where(own, a, 0)
    size_b = pool_items - np.where(own, size_a, 0)
    keep = size_b > 0
    frame, a, b, size_a, size_b = per_term[keep].copy(), a[keep], b[keep], size_a[keep], size_b[keep]
    if frame.empty:
        return pd.DataFrame(columns=KEYNESS_STAT_COLUMNS)
    g2, p, expected = log_likelihood(a, b, size_a, size_b)
    ratio = np.log2((np.where(a > 0, a, ZERO_SMOOTHING) / size_a) / (np.where(b > 0, b, ZERO_SMOOTHING) / size_b))
    frame = frame.assign(items=size_a.astype(int), n_items_other=b.astype(int), items_other=size_b.astype(int),
                         expected=expected.round(3), g2=g2.round(4), p=significant(p), log_ratio=ratio.round(4))
    frame["q"] = significant(frame.groupby("doc_id")["p"].transform(
        lambda ps: false_discovery_control(ps.to_numpy(), method="bh")).to_numpy())
    dispersed = np.where(frame["log_ratio"] > 0, frame["n_items"], frame["n_items_other"]) >= min_items
    frame["key"] = (frame["q"] < max_q) & dispersed
    return frame[KEYNESS_STAT_COLUMNS].sort_values(["doc_id", "g2", "term"], ascending=[True, False, True],
                                                   ignore_index=True)


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
