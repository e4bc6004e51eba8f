"""Dataset stage: raw plans → cleaned text, documents.csv, items.csv, removed.csv."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from analysis.corpus.clean import CONVERTED, CleanResult, CleanRules, clean_plan
from analysis.corpus.manifest import MANIFEST_COLUMNS, Plan, read_plan, validate
from analysis.corpus.structure import PlanStructure, StructureRules, parse_plan
from analysis.files import write_tables, write_text_atomic
from analysis.paths import Paths, ProjectError, printable

COMPLETENESS_MARK = {"complete": "", "truncated": "（截断）", "partial": "（节选）"}
ITEM_COLUMNS = ["doc_id", "district", "year", "section_no", "section_title", "item_no", "item_seq", "text"]
DOCUMENT_COLUMNS = [*MANIFEST_COLUMNS, "n_chars", "n_sections", "n_items", "script"]


@dataclass
class StructuredPlan:
    plan: Plan
    cleaned: CleanResult
    structure: PlanStructure


@dataclass
class CorpusTables:
    """Everything the clean + structure stage produces, as tables."""

    plans: list[StructuredPlan]
    documents: pd.DataFrame
    items: pd.DataFrame
    removed: pd.DataFrame


def plan_labels(frame: pd.DataFrame, district: str = "district", year: str = "year") -> pd.Series:
    """Plans as readers see them: district with year ("闵行 2017"), because plans differ in year;
    marked （截断）/（节选） when the frame has a completeness column."""
    labels = frame[district].astype(str) + " " + frame[year].astype(str)
    if "completeness" in frame:
        labels = labels + frame["completeness"].map(COMPLETENESS_MARK).fillna("")
    return labels


def n_chars(text: str) -> int:
    """Characters of a cleaned plan, whitespace excluded: the denominator of per-10k rates."""
    return sum(not c.isspace() for c in text)


def structure_plan(
    plan: Plan, raw_dir: Path, clean_rules: CleanRules, structure_rules: StructureRules
) -> StructuredPlan:
    """Clean and structure one plan of data/raw; lines dropped when extracting a PDF or HTML file
    are recorded among the removed lines, before cleaning's own."""
    text, dropped = read_plan(raw_dir / plan.file)
    cleaned = clean_plan(text, clean_rules)
    cleaned = replace(cleaned, removed=dropped + cleaned.removed)
    return StructuredPlan(plan, cleaned, parse_plan(cleaned.text, structure_rules))


def structure_corpus(raw_dir: Path, params_dir: Path, doc_ids: list[str] | None = None) -> CorpusTables:
    """Validate data/raw, then clean and structure the chosen plans (all when `doc_ids` is empty)."""
    plans = validate(raw_dir)
    if doc_ids:
        if unknown := sorted(set(doc_ids) - {p.doc_id for p in plans}):
            raise ProjectError(f"{raw_dir / 'manifest.csv'}: unknown doc_id(s) {', '.join(unknown)}")
        plans = [p for p in plans if p.doc_id in doc_ids]
    rules = CleanRules.from_yaml(params_dir / "clean.yaml"), StructureRules.from_yaml(params_dir / "structure.yaml")
    done = [structure_plan(p, raw_dir, *rules) for p in sorted(plans, key=lambda p: p.doc_id)]
    return CorpusTables(done, _documents(done), _items(done), _removed(done))


def _documents(done: list[StructuredPlan]) -> pd.DataFrame:
    rows = [
        {
            **d.plan.as_row(),
            "n_chars": n_chars(d.cleaned.text),
            "n_sections": d.structure.n_sections,
            "n_items": len(d.structure.items),
            "script": d.cleaned.script,
        }
        for d in done
    ]
    return pd.DataFrame(rows, columns=DOCUMENT_COLUMNS)


def _items(done: list[StructuredPlan]) -> pd.DataFrame:
    rows = [
        {
            "doc_id": d.plan.doc_id, "district": d.plan.district, "year": d.plan.year,
            "section_no": item.section_no, "section_title": item.section_title,
            "item_no": item.item_no, "item_seq": item.item_seq, "text": item.text,
        }
        for d in done
        for item in d.structure.items
    ]
    return pd.DataFrame(rows, columns=ITEM_COLUMNS)


def _removed(done: list[StructuredPlan]) -> pd.DataFrame:
    rows = [
        {"doc_id": d.plan.doc_id, "rule": rule, "text": text}
        for d in done
        for rule, text in d.cleaned.removed
    ]
    return pd.DataFrame(rows, columns=["doc_id", "rule", "text"])


TABLE_NAMES = ("documents", "items", "removed")


def write_corpus(tables: CorpusTables, processed_dir: Path) -> list[Path]:
    """Write cleaned texts and the three tables under `processed_dir`, each atomically."""
    written = []
    for done in tables.plans:
        path = processed_dir / "clean" / f"{done.plan.doc_id}.txt"
        write_text_atomic(path, done.cleaned.text)
        written.append(path)
    return written + write_tables(processed_dir, {f"{name}.csv": getattr(tables, name) for name in TABLE_NAMES})


def outline(plan: Plan, raw_dir: Path, params_dir: Path) -> list[str]:
    """What cleaning and structuring found in one plan, for the analyst who just added it: title,
    sections, items and characters, lines removed by rule, and the structure warnings."""
    done = structure_plan(plan, raw_dir, CleanRules.from_yaml(params_dir / "clean.yaml"),
                          StructureRules.from_yaml(params_dir / "structure.yaml"))
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


def run_stage(tables: CorpusTables, paths: Paths, out: Path) -> list[str]:
    """The pipeline's dataset stage (analysis.stages.registry): write the tables; no warnings of its own."""
    write_corpus(tables, out)
    return []


# --- display helpers for the notebooks (they read the processed snapshot, never process) ---------


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
    from analysis.views.evidence import per_section_plans

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
    """Lines removed by cleaning (removed.csv), plan × rule."""
    return pd.crosstab(removed["doc_id"], removed["rule"]).rename_axis(index="doc_id", columns="rule")


def section_table(items: pd.DataFrame) -> pd.DataFrame:
    """Every section of every plan (items.csv): number, heading and its number of items."""
    return items.groupby(["doc_id", "section_no", "section_title"]).size().rename("n_items").reset_index()


def item_length_summary(items: pd.DataFrame) -> pd.DataFrame:
    """Per plan: count, mean, spread and quartiles of item length in characters."""
    return items.assign(length=items["text"].str.len()).groupby("doc_id")["length"].describe().round(0)
