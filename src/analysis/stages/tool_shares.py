"""Policy-tool shares per plan with their item-bootstrap intervals: policy_tool_summary and its replicates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.params.statistics import StatisticsParams
from analysis.stages.tool_coding import item_codes
from analysis.text.dictionary import Dictionary
from analysis.text.stats import percentile_interval, plan_rng, resample_counts

SUMMARY_COLUMNS = ["doc_id", "level", "type", "sub_tool", "codes", "share", "share_low", "share_high", "items",
                   "item_share", "sentence_codes", "n_items", "n_uncoded"]
NO_INTERVAL = (float("nan"), float("nan"))  # too few items for a bootstrap interval (statistics.yaml min_items)


def unit_counts(codes: pd.DataFrame, column: str, names: list[str]) -> dict[str, np.ndarray]:
    """doc_id → (items, names): each item's item × sub-tool codes of each type (`column` "type") or
    sub-tool ("sub_tool"), items in item_seq order, an uncoded item a row of zeros. `codes`: sentence
    or item codes (an item × sub-tool counts once)."""
    used = codes.drop_duplicates(["doc_id", "item_seq", "sub_tool"])
    table = pd.crosstab([used["doc_id"], used["item_seq"]], used[column]).reindex(columns=names, fill_value=0)
    return {str(doc_id): plan.to_numpy(float) for doc_id, plan in table.groupby(level="doc_id", sort=True)}


def replicate_codes(counts: np.ndarray, doc_id: str, params: StatisticsParams) -> np.ndarray:
    """(replicates, columns): the codes of the items drawn in each replicate of the plan's item
    bootstrap (stats.plan_rng: fixed by the seed and doc_id, whatever other plans exist)."""
    draws = resample_counts(len(counts), params.replicates, plan_rng(params.seed, doc_id))
    return draws @ counts


def replicate_shares(codes: np.ndarray) -> np.ndarray:
    """Each replicate's share of each column in its codes; replicates without any code are left out
    (a share of nothing is undefined)."""
    total = codes.sum(axis=1)
    return codes[total > 0] / total[total > 0, None]


def share_bounds(shares: np.ndarray, width: int, level: float) -> np.ndarray:
    """(2, width): percentile interval of `shares` (replicate_shares), 4 decimals; NaN without any."""
    return percentile_interval(shares, level).round(4) if len(shares) else np.full((2, width), np.nan)


def pooled_replicates(codes: pd.DataFrame, doc_ids: list[str], kinds: list[str], params: StatisticsParams
                      ) -> np.ndarray:
    """(replicates, kinds): the codes of each type over the plans of `doc_ids`, items resampled within
    each plan (each plan's own random numbers, so one plan alone gives its own interval)."""
    plans = unit_counts(codes[codes["doc_id"].isin(doc_ids)], "type", kinds)
    total = np.zeros((params.replicates, len(kinds)))
    for doc_id, counts in plans.items():
        total += replicate_codes(counts, doc_id, params)
    return total


def summarise(codes: pd.DataFrame, book: Dictionary, params: StatisticsParams) -> pd.DataFrame:
    """Per plan, every type and sub-tool (zeros included): `codes` (item × sub-tool codes; at type
    level the sum of its sub-tools), their `share` of the plan's codes with its item-bootstrap
    interval `share_low`/`share_high` (NaN, n/a, for a plan with fewer than `params.min_items`
    items), `items` using it and `item_share` of the plan's items; `sentence_codes` (sentence ×
    sub-tool codes, the finer unit: never added to `codes`); `n_items`, `n_uncoded` (items without
    any code). `codes`: code_items' sentence codes."""
    items = item_codes(codes, book)
    kinds, tools = list(book.groups), book.keys
    of_type = np.array([[book.group_of[tool] == kind for kind in kinds] for tool in tools], dtype=float)
    bounds = {}
    for doc_id, counts in unit_counts(items, "sub_tool", tools).items():
        if not params.enough_items(len(counts)):
            continue  # NO_INTERVAL
        drawn = replicate_codes(counts, doc_id, params)  # a type's codes: the sum of its sub-tools'
        for names, replicates in ((tools, drawn), (kinds, drawn @ of_type)):
            low_high = share_bounds(replicate_shares(replicates), len(names), params.level)
            bounds |= {(doc_id, name): tuple(low_high[:, at]) for at, name in enumerate(names)}
    by = ("type", "sub_tool")
    coded = items[items["sub_tool"] != ""]
    plans = items.groupby("doc_id", sort=True)["item_seq"].nunique().rename("n_items").to_frame()
    plans["n_coded"] = coded.groupby("doc_id")["item_seq"].nunique()
    plans["total"] = coded.groupby("doc_id").size()
    plans = plans.fillna(0).astype(int)
    used = pd.concat([coded.groupby(["doc_id", column]).agg(codes=("item_seq", "size"), items=("item_seq", "nunique"))
                      for column in by])
    sentences = codes[codes["sub_tool"] != ""]
    in_sentences = pd.concat([sentences.groupby(["doc_id", column]).size() for column in by])
    levels = [(level, kind, tool) for kind in kinds
              for level, tool in (("type", ""), *(("sub_tool", tool) for tool in book.groups[kind]))]
    grid = pd.DataFrame([(doc_id, *row) for doc_id in plans.index for row in levels],
                        columns=["doc_id", "level", "type", "sub_tool"])
    key = pd.MultiIndex.from_arrays([grid["doc_id"], grid["sub_tool"].where(grid["level"] == "sub_tool", grid["type"])])
    counts, plan = used.reindex(key, fill_value=0), plans.reindex(grid["doc_id"])
    total, n_items = plan["total"].to_numpy(), plan["n_items"].to_numpy()
    low, high = zip(*(bounds.get(k, NO_INTERVAL) for k in key), strict=True) if len(grid) else ((), ())
    return grid.assign(
        codes=counts["codes"].to_numpy(),
        share=np.where(total > 0, (counts["codes"].to_numpy() / np.maximum(total, 1)).round(4), np.nan),
        share_low=np.array(low, dtype=float), share_high=np.array(high, dtype=float), items=counts["items"].to_numpy(),
        item_share=(counts["items"].to_numpy() / n_items).round(4),
        sentence_codes=in_sentences.reindex(key, fill_value=0).to_numpy().astype(int),
        n_items=n_items, n_uncoded=n_items - plan["n_coded"].to_numpy(),
    )[SUMMARY_COLUMNS]
