"""The item-level inputs of the exploratory analyses: each item's themes, tool types and plan terms, per plan set."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse

from analysis.text.dictionary import Dictionary

KEY = ["doc_id", "item_seq"]


@dataclass(frozen=True)
class ItemMatrix:
    """The items of some plans (rows, in doc_id/item_seq order) × a vocabulary: 0/1 for themes and
    tool types, occurrence counts for terms."""

    items: pd.DataFrame  # doc_id, item_seq
    columns: list[str]
    matrix: sparse.csr_matrix

    @cached_property
    def plans(self) -> list[str]:
        return sorted(self.items["doc_id"].unique())

    @cached_property
    def codes(self) -> np.ndarray:
        """Each row's plan, as its position in `plans`."""
        return pd.Categorical(self.items["doc_id"], categories=self.plans).codes.astype(np.int64)

    @cached_property
    def plan_rows(self) -> list[np.ndarray]:
        """The row numbers of each plan of `plans` (ascending), in that order."""
        order = np.argsort(self.codes, kind="stable")
        return np.split(order, np.cumsum(np.bincount(self.codes, minlength=len(self.plans)))[:-1])

    def resample_within_plans(self, rng: np.random.Generator) -> np.ndarray:
        """Row numbers of one item bootstrap within each plan (each plan's rows drawn with replacement,
        as many as it has), plans in order: the draws of `np.concatenate([rng.choice(g, len(g)) for g
        in self.plan_rows])`, in one vectorised call."""
        groups = self.plan_rows
        sizes = np.array([len(g) for g in groups], dtype=np.int64)
        starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
        return np.concatenate(groups)[starts + rng.integers(0, np.repeat(sizes, sizes))]

    def indicator(self, rows: np.ndarray) -> sparse.csr_matrix:
        """plans × `rows`: 1 where the row belongs to the plan."""
        return sparse.csr_matrix((np.ones(len(rows)), (self.codes[rows], np.arange(len(rows)))),
                                 shape=(len(self.plans), len(rows)))

    def per_plan(self, rows: np.ndarray | None = None) -> np.ndarray:
        """plans × columns: items holding each column (`rows`: a resample of row numbers)."""
        rows = np.arange(self.matrix.shape[0]) if rows is None else rows
        return (self.indicator(rows) @ (self.matrix[rows] > 0).astype(float)).toarray()

    def plan_totals(self, rows: np.ndarray) -> sparse.csr_matrix:
        """plans × columns, sparse: the sum of the values of the items `rows` (occurrence counts for terms)."""
        return (self.indicator(rows) @ self.matrix[rows]).tocsr()


def long_matrix(items: pd.DataFrame, pairs: pd.DataFrame, column: str, order: list[str] | None = None,
                values: str | None = None) -> ItemMatrix:
    """An ItemMatrix of `items` (doc_id, item_seq) from long `pairs` (doc_id, item_seq, `column`[,
    `values`]); the vocabulary in `order` (default: sorted)."""
    items = items[KEY].drop_duplicates().sort_values(KEY, ignore_index=True)
    columns = order if order is not None else sorted(pairs[column].dropna().unique())
    index = {c: i for i, c in enumerate(columns)}
    row_of = {key: at for at, key in enumerate(zip(items["doc_id"], items["item_seq"], strict=True))}
    kept = pairs[pairs[column].isin(index)]
    rows = [row_of.get(key, -1) for key in zip(kept["doc_id"], kept["item_seq"], strict=True)]
    keep = np.array(rows, dtype=int) >= 0
    data = kept[values].to_numpy(float) if values else np.ones(len(kept))
    cols = kept[column].map(index).to_numpy(int)[keep]
    matrix = sparse.csr_matrix((data[keep], (np.array(rows, dtype=int)[keep], cols)), shape=(len(items), len(columns)))
    matrix.sum_duplicates()
    if not values:
        matrix.data[:] = 1
    return ItemMatrix(items, columns, matrix)


def item_themes(kwic: pd.DataFrame, documents: pd.DataFrame, lexicon: Dictionary) -> pd.DataFrame:
    """(doc_id, item_seq, theme) for every item mentioning a theme that applies to its plan's year."""
    found = kwic.dropna(subset=["item_seq"])[[*KEY, "theme"]].drop_duplicates()
    found = found.astype({"item_seq": int}).merge(documents[["doc_id", "year"]], on="doc_id")
    applies = [lexicon.applies(t, y) for t, y in zip(found["theme"], found["year"], strict=True)]
    return found[applies][[*KEY, "theme"]].reset_index(drop=True)


def item_types(tools: pd.DataFrame) -> pd.DataFrame:
    """(doc_id, item_seq, type) for every item using a policy-tool type (policy_tools.csv)."""
    used = tools[tools["type"].fillna("").astype(str) != ""]
    return used[[*KEY, "type"]].drop_duplicates().astype({"item_seq": int}).reset_index(drop=True)


def item_terms(tokens: pd.DataFrame) -> pd.DataFrame:
    """(doc_id, item_seq, term, count) from item_tokens.csv rows."""
    long = tokens[KEY].assign(term=[str(s).split() for s in tokens["tokens"].fillna("")]).explode("term")
    long = long.dropna(subset=["term"])
    return long.groupby([*KEY, "term"]).size().rename("count").reset_index()


def top_by_items(terms: pd.DataFrame, n: int) -> list[str]:
    """The `n` terms held by the most items (ties: term order)."""
    held = terms.groupby("term").size()
    return sorted(held.index, key=lambda t: (-held[t], t))[:n]
