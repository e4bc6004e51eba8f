"""What the notebooks and `add` show of the dataset stage: plans chosen, structure found, lines
removed, sections and item lengths."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from analysis.corpus.clean import CONVERTED
from analysis.corpus.manifest import Plan
from analysis.corpus.reader import project_reader
from analysis.params import Params
from analysis.paths import ProjectError, printable
from analysis.stages.dataset import n_chars, per_section_plans, plan_labels, structure_plan


def outline(plan: Plan, raw_dir: Path, params: Params) -> list[str]:
    """What cleaning and structuring found in one plan, for the analyst who just added it: title,
    sections, items and characters, lines removed by rule, and the structure warnings."""
    done = structure_plan(plan, raw_dir, params.clean, project_reader(raw_dir, params.structure, params.ingest))
    rules = Counter(rule for rule, _ in done.cleaned.removed)
    found = done.structure
    lines = [
        f"  title: {done.cleaned.title or found.title or '(none found)'}",
        f"  {found.n_sections} sections, {len(found.items)} items ({found.numbering} numbering), "
        f"{n_chars(done.cleaned.text)} characters",
        "  removed: " + (", ".join(f"{n} {rule}" for rule, n in sorted(rules.items())) or "nothing"),
        *([f"  script: {done.cleaned.script} (原文为繁体，已转为简体；原文件未改动)"]
          if done.cleaned.script == CONVERTED else []),
    ]
    return [printable(line) for line in lines] + [f"  warning: {printable(w)}" for w in found.warnings]


def shown_plans(documents: pd.DataFrame, doc_ids: list[str] | None = None) -> list[str]:
    """The doc_ids a notebook shows: `doc_ids`, each a plan of `documents` (documents.csv), or
    every plan when empty."""
    known = sorted(documents["doc_id"])
    if unknown := sorted(set(doc_ids or ()) - set(known)):
        raise ProjectError(f"doc_ids: unknown plan(s) {', '.join(unknown)}; the processed snapshot has "
                           f"{', '.join(known)}")
    return sorted(set(doc_ids)) if doc_ids else known


def plan_structure(documents: pd.DataFrame, items: pd.DataFrame, clean_dir: Path, chars: int = 40) -> pd.DataFrame:
    """Per plan: the manifest title, the first line of its cleaned text (data/processed/clean/,
    cut at `chars`), sections with a heading (0: none found), items, and how items are numbered
    (items.csv: `continuous`, `per-section` as the evidence cites them, `none` without printed numbers)."""
    per_section = per_section_plans(items)
    unnumbered = set(items.loc[items["item_no"].fillna("").astype(str) == "", "doc_id"])

    def first_line(doc_id: str) -> str:
        line = (clean_dir / f"{doc_id}.txt").read_text(encoding="utf-8").split("\n", 1)[0].strip()
        return line if len(line) <= chars else line[:chars] + "…"

    return pd.DataFrame({
        "doc_id": documents["doc_id"], "plan": plan_labels(documents), "title": documents["title"],
        "first_line": documents["doc_id"].map(first_line), "n_sections": documents["n_sections"],
        "n_items": documents["n_items"],
        "numbering": documents["doc_id"].map(
            lambda d: "none" if d in unnumbered else "per-section" if d in per_section else "continuous"),
    }).reset_index(drop=True)


def removal_counts(removed: pd.DataFrame) -> pd.DataFrame:
    """Lines removed by cleaning (removed.csv) per plan and rule: doc_id, rule, lines."""
    return removed.groupby(["doc_id", "rule"]).size().rename("lines").reset_index()


def section_table(items: pd.DataFrame) -> pd.DataFrame:
    """Every section of every plan (items.csv): number, heading and its number of items."""
    return items.groupby(["doc_id", "section_no", "section_title"]).size().rename("n_items").reset_index()


def item_length_summary(items: pd.DataFrame) -> pd.DataFrame:
    """Per plan: count, mean, spread and quartiles of item length in characters."""
    return items.assign(length=items["text"].str.len()).groupby("doc_id")["length"].describe().round(0)
