"""Lexicon validation: the lexicon's item-level predictions against the hand coding.

data/annotations/item_themes.csv codes every numbered item of the seed plans for every theme, by
reading it against params/codebook.md (`code` 1: the item substantively commits to the theme). The
lexicon predicts 1 when the item holds at least one counted mention of the theme (a kwic.csv row with
its item_seq). Items of a plan × theme outside the theme's since/until years are left out and
counted apart (`not_applicable`). The coding is only ever read, never written.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, fields
from pathlib import Path

import pandas as pd

from analysis.files import write_tables
from analysis.paths import Paths, ProjectError
from analysis.stages.dataset import CorpusTables
from analysis.stages.themes import Lexicon, load_lexicon, stat_kwic

KEY = ["doc_id", "item_seq", "theme"]
ANNOTATION_COLUMNS = [*KEY, "code", "note"]
METRIC_COLUMNS = ["theme", "n_items", "tp", "fp", "fn", "tn", "precision", "recall", "f1", "not_applicable"]
DISAGREEMENT_COLUMNS = [*KEY, "code", "predicted", "terms", "note", "text"]


@dataclass
class ValidationTables:
    """The validation stage's two tables, and its notes (one printable line each)."""

    lexicon_validation: pd.DataFrame  # one row per lexicon theme
    lexicon_disagreements: pd.DataFrame  # one row per disagreeing item × theme
    notes: list[str] = field(default_factory=list)  # coding missing, or out of step with items.csv


VALIDATION_TABLE_NAMES = tuple(f.name for f in fields(ValidationTables) if f.name != "notes")
VALIDATION_FILES = [f"{name}.csv" for name in VALIDATION_TABLE_NAMES]


def read_annotations(path: Path) -> pd.DataFrame | None:
    """The hand coding (ANNOTATION_COLUMNS, `code` 0 or 1), or None when the file is absent."""
    path = Path(path)
    if not path.is_file():
        return None
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype={"doc_id": str, "theme": str, "note": str},
                        keep_default_na=False)
    if missing := [column for column in ANNOTATION_COLUMNS if column not in frame]:
        raise ProjectError(
            f"{path}: missing column(s) {', '.join(missing)}; the coding has {', '.join(ANNOTATION_COLUMNS)}"
        )
    numbers = frame[["item_seq", "code"]].apply(pd.to_numeric, errors="coerce")
    if bad := [f"{path}: line {at + 2}: item_seq must be a whole number and code 0 or 1"
               for at in frame.index[~numbers["code"].isin([0, 1]) | (numbers["item_seq"] % 1 != 0)]]:
        raise ProjectError(*bad)
    if repeated := frame[frame.duplicated(KEY)].index.tolist():
        raise ProjectError(*(f"{path}: line {at + 2}: this item × theme is coded twice; keep one" for at in repeated))
    return frame[ANNOTATION_COLUMNS].assign(item_seq=numbers["item_seq"].astype(int), code=numbers["code"].astype(int))


def item_terms(kwic: pd.DataFrame) -> pd.Series:
    """(doc_id, item_seq, theme) → the distinct terms counted in that item, in text order, joined by 、."""
    located = kwic.dropna(subset=["item_seq"]).sort_values(["doc_id", "start"])
    return located.astype({"item_seq": int}).groupby(KEY)["term"].agg(lambda terms: "、".join(dict.fromkeys(terms)))


def coverage_notes(
    annotations: pd.DataFrame, items: pd.DataFrame, path: Path, what: str = "the lexicon validation"
) -> list[str]:
    """One line per coded plan whose coded items differ from its items in items.csv (a plan left
    out of the corpus, or a changed structure): those items cannot be compared (left out of `what`)."""
    coded = annotations.groupby("doc_id")["item_seq"].agg(set)
    present = items.groupby("doc_id")["item_seq"].agg(set)
    notes = []
    for doc_id, seqs in coded.items():
        if doc_id not in present:
            notes.append(f"{path}: plan {doc_id} is coded but not in the corpus; its coded items ({len(seqs)}) are "
                         f"left out of {what}")
            continue
        if missing := sorted(seqs - present[doc_id]):
            notes.append(f"{path}: plan {doc_id}: coded items {_numbers(missing)} are not in items.csv (has its "
                         f"structure changed?); they are left out of {what}")
        if uncoded := sorted(present[doc_id] - seqs):
            notes.append(f"{path}: plan {doc_id}: items {_numbers(uncoded)} of items.csv are not coded (has its "
                         f"structure changed?); they are left out of {what}")
    return notes


def _numbers(values: list[int]) -> str:
    return ", ".join(map(str, values))


def compare(annotations: pd.DataFrame, kwic: pd.DataFrame, items: pd.DataFrame, lexicon: Lexicon) -> pd.DataFrame:
    """The coded items that exist in `items` and whose theme is in the lexicon, with `predicted`
    (0/1), the `terms` counted, `applicable` (the plan's year within the theme's since/until) and
    the item `text`."""
    frame = (
        annotations[annotations["theme"].isin(list(lexicon.terms))]
        .merge(items[["doc_id", "item_seq", "year", "text"]], on=["doc_id", "item_seq"])
        .merge(item_terms(kwic).rename("terms").reset_index(), on=KEY, how="left")
        .fillna({"terms": ""})
    )
    frame["predicted"] = frame["terms"].ne("").astype(int)
    frame["applicable"] = [lexicon.applies(t, y) for t, y in zip(frame["theme"], frame["year"], strict=True)]
    return frame


def agreement(compared: pd.DataFrame, themes: list[str]) -> pd.DataFrame:
    """Per theme (in `themes` order): applicable items, the confusion counts, precision, recall and
    F1 (4 decimals; empty where undefined), and the items left out as not applicable."""
    rows = []
    for theme in themes:
        group = compared[compared["theme"] == theme]
        used = group[group["applicable"]]
        code, predicted = used["code"].eq(1), used["predicted"].eq(1)
        tp, fp, fn = int((code & predicted).sum()), int((~code & predicted).sum()), int((code & ~predicted).sum())
        rows.append({
            "theme": theme, "n_items": len(used), "tp": tp, "fp": fp, "fn": fn, "tn": len(used) - tp - fp - fn,
            "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn), "f1": _ratio(2 * tp, 2 * tp + fp + fn),
            "not_applicable": len(group) - len(used),
        })
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else float("nan")


def disagreements(compared: pd.DataFrame, themes: list[str]) -> pd.DataFrame:
    """Applicable coded items where the lexicon and the coding differ, by theme (`themes` order),
    plan and item."""
    frame = compared[compared["applicable"] & compared["code"].ne(compared["predicted"])]
    order = {theme: at for at, theme in enumerate(themes)}
    return frame.sort_values(["theme", "doc_id", "item_seq"], key=lambda c: c.map(order) if c.name == "theme" else c)[
        DISAGREEMENT_COLUMNS].reset_index(drop=True)


def validate_lexicon(
    tables: CorpusTables, lexicon: Lexicon, annotations_path: Path, doc_ids: Collection[str] | None = None,
) -> ValidationTables:
    """Compare the lexicon with the hand coding at `annotations_path` on the plans of `tables`
    (only the coded plans in `doc_ids`, when given). Without a coding file: empty tables and a note."""
    themes = list(lexicon.terms)
    annotations = read_annotations(annotations_path)
    if annotations is None:
        return ValidationTables(
            pd.DataFrame(columns=METRIC_COLUMNS), pd.DataFrame(columns=DISAGREEMENT_COLUMNS),
            [f"{annotations_path}: not found, so the lexicon is not validated against a hand coding "
             f"({', '.join(VALIDATION_FILES)} are empty)"],
        )
    if doc_ids is not None:
        annotations = annotations[annotations["doc_id"].isin(list(doc_ids))]
    notes = coverage_notes(annotations, tables.items, annotations_path)
    if unknown := sorted(set(annotations["theme"]) - set(themes)):
        notes.append(f"{annotations_path}: coded theme(s) {', '.join(unknown)} are not in the lexicon; not validated")
    compared = compare(annotations, stat_kwic(tables, lexicon), tables.items, lexicon)
    return ValidationTables(agreement(compared, themes), disagreements(compared, themes), notes)


def write_validation(validation: ValidationTables, processed_dir: Path) -> list[Path]:
    """Write the two validation tables as CSV under `processed_dir`, each atomically."""
    return write_tables(processed_dir, {f"{name}.csv": getattr(validation, name) for name in VALIDATION_TABLE_NAMES})


def run_validation(tables: CorpusTables, paths: Paths, out: Path) -> list[str]:
    """The pipeline stage: validate params/themes.yaml against the project's hand coding; the notes
    are its warnings."""
    validation = validate_lexicon(tables, load_lexicon(paths.params / "themes.yaml"), paths.annotations)
    write_validation(validation, out)
    return validation.notes
