"""Keyness stage: item-level keyness of plan terms, each plan against the other complete plans of its scope.

One definition and one table for every page: the terms are the plan terms of item_tokens.csv (no
stopwords, place names or numerals; the coword stage), the unit is the item (`item_keyness`), and
the reference is the other complete plans of the scope — every plan ("all") and each plan set of
params/report.yaml (set_default, set_<name>); plans whose completeness is in `rank_exclude` are
tested but never part of a reference. "all" is left out when a plan set holds exactly every plan
(`keyness_scopes`: at 1,000 plans the copy would double the largest table of the stage).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.files import write_tables
from analysis.params import Params
from analysis.params.exploratory import ExploratoryParams
from analysis.params.report import ReportParams
from analysis.paths import Paths
from analysis.stages.coword import POOLED, network_scopes
from analysis.stages.dataset import CorpusTables, read_upstream
from analysis.text.textstats import KEYNESS_STAT_COLUMNS, item_keyness

KEYNESS_COLUMNS = ["scope", "doc_id", "district", "year", "theme", *KEYNESS_STAT_COLUMNS[1:]]


def analysis_scopes(documents: pd.DataFrame, report: ReportParams, pooled: bool = True) -> dict[str, list[str]]:
    """Scope → doc_ids: every plan ("all", when `pooled`) and each plan set (set_default, set_<name>)."""
    scopes = network_scopes(documents, report)
    every = set(documents["doc_id"])
    return {name: ids for name, ids in scopes.items() if name not in every and (pooled or name != POOLED)}


def scope_keyness(tokens: pd.DataFrame, documents: pd.DataFrame, doc_ids: list[str], rank_exclude: list[str],
                  exploratory: ExploratoryParams, max_q: float, theme_of: dict[str, str]) -> pd.DataFrame:
    """`item_keyness` of the plans `doc_ids`, each against the set's other complete plans, with the
    plan's district and year and the lexicon theme of the term ("" for other terms); KEYNESS_COLUMNS
    without `scope`."""
    rows = tokens[tokens["doc_id"].isin(doc_ids)]
    chosen = documents["doc_id"].isin(doc_ids) & ~documents["completeness"].isin(rank_exclude)
    complete = sorted(documents.loc[chosen, "doc_id"])  # as plansets.ranked_ids
    found = item_keyness(rows, complete, exploratory.keyness_min_items, max_q)
    plans = documents.set_index("doc_id")
    found = found.assign(district=found["doc_id"].map(plans["district"]), year=found["doc_id"].map(plans["year"]),
                         theme=found["term"].map(theme_of).fillna(""))
    return found[KEYNESS_COLUMNS[1:]]


def keyness_scopes(documents: pd.DataFrame, report: ReportParams) -> dict[str, list[str]]:
    """The scopes keyness.csv holds: `analysis_scopes`, except "all" when a plan set has exactly the
    same plans (every district with one plan: set_default) — its rows would be a copy of the set's."""
    scopes = analysis_scopes(documents, report)
    sets = [sorted(ids) for name, ids in scopes.items() if name != POOLED]
    return {name: ids for name, ids in scopes.items() if name != POOLED or sorted(ids) not in sets}


def keyness_table(tokens: pd.DataFrame, documents: pd.DataFrame, params: Params) -> pd.DataFrame:
    """keyness.csv: `scope_keyness` for every scope of `keyness_scopes`, in that order."""
    report = params.report
    parts = [scope_keyness(tokens, documents, ids, report.rank_exclude, params.exploratory, report.max_q,
                           params.themes.theme_of).assign(scope=scope)
             for scope, ids in keyness_scopes(documents, report).items()]
    return pd.concat(parts, ignore_index=True)[KEYNESS_COLUMNS]


def run_stage(tables: CorpusTables, params: Params, paths: Paths, out: Path) -> list[str]:
    """The pipeline's keyness stage (analysis.stages.registry): keyness.csv from item_tokens.csv."""
    tokens = read_upstream(paths, out, "item_tokens.csv")
    write_tables(out, {"keyness.csv": keyness_table(tokens, tables.documents, params)})
    return []
