"""Policy-tool stage (Rothwell & Zegveld): code every plan item by the instruments it uses, summarise, cross, validate.

params/policy_tools.yaml names three types (供给型, 环境型, 需求型), their sub-tools, and for each
sub-tool a definition, cue phrases and excluded phrases (`analysis.params.policy_tools`);
coding is `analysis.stages.tool_coding`, shares and intervals `analysis.stages.tool_shares`. The codes
are crossed with the plan's policy themes (an item has a theme when it holds a counted mention: the
themes stage's kwic.csv) and with its sections, and compared item by item with the hand coding in
data/annotations/policy_tools.csv (`analysis.stages.validation`: Cohen's κ per type,
precision/recall per sub-tool).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import pandas as pd

from analysis.corpus.structure import chinese_numeral
from analysis.files import write_tables
from analysis.params import Params
from analysis.params.coding import CodingParams
from analysis.params.statistics import StatisticsParams
from analysis.paths import Paths
from analysis.stages.coding import reference_codes
from analysis.stages.dataset import CorpusTables, read_upstream
from analysis.stages.tool_coding import code_items, item_codes
from analysis.stages.tool_shares import summarise
from analysis.stages.validation import frozen_notes, validate_tools
from analysis.text.dictionary import Dictionary, tool_codebook

MATRIX_COLUMNS = ["doc_id", "dimension", "y_order", "y", "type", "sub_tool", "codes"]
NO_THEME = "(无主题)"


def item_themes(kwic: pd.DataFrame) -> pd.DataFrame:
    """(doc_id, item_seq, theme) for each item holding a counted mention of the theme (kwic.csv rows)."""
    located = kwic.dropna(subset=["item_seq"])
    return located.astype({"item_seq": int})[["doc_id", "item_seq", "theme"]].drop_duplicates()


def matrix(codes: pd.DataFrame, items: pd.DataFrame, themes: pd.DataFrame, theme_order: list[str]) -> pd.DataFrame:
    """The X–Y matrix in long format: item × sub-tool codes per plan, sub-tool and (dimension
    `section`) the item's section — each code once — or (dimension `theme`) each theme the item holds,
    NO_THEME for an item without a theme (an item with two themes counts under both)."""
    coded = codes[codes["sub_tool"] != ""]
    sections = items[["doc_id", "item_seq", "section_no", "section_title"]].assign(
        y_order=lambda f: f["section_no"].astype(int),
        y=lambda f: [f"{chinese_numeral(int(n))}、{title}"
                     for n, title in zip(f["section_no"], f["section_title"], strict=True)],
    )
    by_section = coded.merge(sections, on=["doc_id", "item_seq"]).assign(dimension="section")
    with_theme = coded.merge(themes, on=["doc_id", "item_seq"], how="left").fillna({"theme": NO_THEME})
    rank = {theme: at + 1 for at, theme in enumerate(theme_order)}
    by_theme = with_theme.assign(dimension="theme", y=with_theme["theme"],
                                 y_order=with_theme["theme"].map(rank).fillna(len(rank) + 1).astype(int))
    keys = ["doc_id", "dimension", "y_order", "y", "type", "sub_tool"]
    both = pd.concat([by_section[[*keys]], by_theme[[*keys]]], ignore_index=True)
    out = both.groupby(keys, sort=True).size().rename("codes").reset_index()
    return out[MATRIX_COLUMNS]


@dataclass
class PolicyToolTables:
    """The stage's six tables, and its notes (one printable line each)."""

    policy_tools: pd.DataFrame
    policy_tool_summary: pd.DataFrame
    policy_tool_matrix: pd.DataFrame
    policy_tool_validation: pd.DataFrame
    policy_tool_disagreements: pd.DataFrame
    policy_tool_review_queue: pd.DataFrame
    notes: list[str] = field(default_factory=list)


TABLE_NAMES = tuple(f.name for f in fields(PolicyToolTables) if f.name != "notes")


def build_policy_tools(tables: CorpusTables, book: Dictionary, kwic: pd.DataFrame, themes: list[str],
                       annotations_path: Path, params: StatisticsParams, coding: CodingParams,
                       reference: pd.DataFrame | None = None) -> PolicyToolTables:
    """Code every sentence of every item, summarise, cross with the themes (`kwic`: the lexicon's
    mentions, `themes` in lexicon order) and sections, validate the item level against the hand coding."""
    items = tables.items
    sentence_codes = code_items(items, book)
    codes = item_codes(sentence_codes, book)
    summary = summarise(sentence_codes, book, params)
    xy = matrix(codes, items, item_themes(kwic), themes)
    validation, disagreements, queue, notes = validate_tools(codes, items, book, annotations_path, coding, params,
                                                             reference)
    return PolicyToolTables(sentence_codes, summary, xy, validation, disagreements, queue, notes)


def run_stage(tables: CorpusTables, params: Params, paths: Paths, out: Path) -> list[str]:
    """The pipeline stage (analysis.stages.registry): write the five tables; the notes are its warnings."""
    book = tool_codebook(params.policy_tools)
    reference, notes = reference_codes(paths, "policy_tools", book.keys)
    built = build_policy_tools(tables, book, read_upstream(paths, out, "kwic.csv"), list(params.themes.terms),
                               paths.policy_tool_annotations, params.statistics, params.coding, reference)
    write_tables(out, {f"{name}.csv": getattr(built, name) for name in TABLE_NAMES})
    return [*notes, *frozen_notes(paths, "policy_tools", params.path("policy_tools")), *built.notes]
