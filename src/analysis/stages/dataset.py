"""Dataset stage: raw plans → cleaned text, documents.csv, items.csv, removed.csv."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from analysis.corpus.clean import CleanResult, clean_plan
from analysis.corpus.manifest import MANIFEST_COLUMNS, Plan, validate
from analysis.corpus.reader import PlanReader, project_reader
from analysis.corpus.structure import PlanStructure, parse_plan
from analysis.files import read_csv, write_tables, write_text_atomic
from analysis.params import Params
from analysis.params.clean import CleanParams
from analysis.paths import Paths, ProjectError

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


def per_section_plans(items: pd.DataFrame) -> set[str]:
    """doc_ids whose printed item numbers restart in each section (so item_no ≠ item_seq somewhere)."""
    printed = pd.to_numeric(items["item_no"], errors="coerce")
    return set(items.loc[printed.notna() & (printed != items["item_seq"]), "doc_id"])


def n_chars(text: str) -> int:
    """Characters of a cleaned plan, whitespace excluded: the denominator of per-10k rates."""
    return sum(not c.isspace() for c in text)


def structure_plan(plan: Plan, raw_dir: Path, clean_rules: CleanParams, reader: PlanReader,
                   data: bytes | None = None) -> StructuredPlan:
    """Clean and structure one plan of data/raw (read through `reader`: extracted once; its bytes
    `data` when the caller read them already); lines dropped when extracting a PDF, DOCX or HTML file
    are recorded among the removed lines, before cleaning's own."""
    text, dropped = reader.read(raw_dir / plan.file, data)
    cleaned = clean_plan(text, clean_rules)
    cleaned = replace(cleaned, removed=dropped + cleaned.removed)
    return StructuredPlan(plan, cleaned, parse_plan(cleaned.text, reader.rules))


def structure_plans(plans: list[Plan], raw_dir: Path, clean_rules: CleanParams,
                    reader: PlanReader) -> list[StructuredPlan]:
    """`structure_plan` of each plan in this process, in the order given."""
    return [structure_plan(plan, raw_dir, clean_rules, reader) for plan in plans]


PlanMapper = Callable[[list[Plan], Path, CleanParams, PlanReader], list[StructuredPlan]]


def structure_corpus(raw_dir: Path, params: Params, doc_ids: list[str] | None = None,
                     map_plans: PlanMapper = structure_plans) -> CorpusTables:
    """Validate data/raw, then clean and structure the chosen plans (all when `doc_ids` is empty);
    `map_plans` does the per-plan work (here, or on a dask cluster: stages/distribute.py) in plan order."""
    reader = project_reader(raw_dir, params.structure, params.ingest)
    plans = validate(raw_dir, reader)
    if doc_ids:
        if unknown := sorted(set(doc_ids) - {p.doc_id for p in plans}):
            raise ProjectError(f"{raw_dir / 'manifest.csv'}: unknown doc_id(s) {', '.join(unknown)}")
        plans = [p for p in plans if p.doc_id in doc_ids]
    done = map_plans(sorted(plans, key=lambda p: p.doc_id), raw_dir, params.clean, reader)
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


def run_stage(tables: CorpusTables, params: Params, paths: Paths, out: Path) -> list[str]:
    """The pipeline's dataset stage (analysis.stages.registry): write the tables; no warnings of its own."""
    write_corpus(tables, out)
    return []


def read_upstream(paths: Paths, out: Path, name: str) -> pd.DataFrame:
    """A table an upstream stage wrote: in this run's staging folder `out`, or, when that stage did
    not run, in data/processed."""
    return read_csv(out / name if (out / name).is_file() else paths.processed / name)
