"""Coding sheets: export items to code (blind, seeded order, optional stratified plan sample) and import them strictly.

A sheet (xlsx and CSV, the same rows) has one row per item — `row, doc_id, item_seq, unit, text`,
then one 0/1 column per category of the codebook (themes and/or policy sub-tools), then `note` —
and never shows what a dictionary found. `coding import` reads a filled sheet back: every problem
(an unknown item, a code outside 0/1, an empty cell, a repeated item, an unknown column) is one
line naming the file, the row and the column; nothing is stored unless the whole sheet is right.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.files import csv_bytes, write_bytes_atomic, write_csv_atomic
from analysis.params.annotations import CodingRecord, file_sha256, load_codings
from analysis.params.files import params_files
from analysis.paths import Paths, ProjectError
from analysis.stages.coding import (
    CODE_COLUMNS,
    QUEUE_COLUMNS,
    add_record,
    coder_file,
    codings_path,
    read_coder_codes,
    record_codes,
)
from analysis.stages.tool_coding import unit_label

FIXED = ["row", "doc_id", "item_seq", "unit", "text"]
NOTE = "note"


@dataclass(frozen=True)
class Scheme:
    """The categories a sheet codes: scheme name → its categories in codebook order."""

    categories: dict[str, list[str]]

    @property
    def columns(self) -> list[str]:
        return [c for names in self.categories.values() for c in names]

    def scheme_of(self, category: str) -> str:
        return next(name for name, names in self.categories.items() if category in names)


def sample_plans(documents: pd.DataFrame, coded: set[str], n: int, stratify: str | None, seed: int) -> list[str]:
    """`n` plans not in `coded`, drawn at random (seeded) in turn from each stratum of `stratify`
    (a documents.csv column; strata in sorted order), or from all plans when it is None."""
    free = documents[~documents["doc_id"].isin(coded)].sort_values("doc_id")
    if stratify is not None and stratify not in free:
        raise ProjectError(f"--stratify {stratify}: not a column of documents.csv; use one of "
                           f"{', '.join(c for c in documents.columns if documents[c].nunique() < len(documents))}")
    rng = np.random.default_rng(seed)
    groups = [list(rng.permutation(g["doc_id"].to_numpy())) for _, g in
              (free.groupby(stratify, sort=True) if stratify else [("", free)])]
    chosen: list[str] = []
    while len(chosen) < n and any(groups):
        for group in groups:
            if group and len(chosen) < n:
                chosen.append(str(group.pop(0)))
    return sorted(chosen)


def sheet_frame(items: pd.DataFrame, scheme: Scheme, seed: int) -> pd.DataFrame:
    """The sheet's rows: `items` in a seeded random order, numbered from 1, category cells empty."""
    order = np.random.default_rng(seed).permutation(len(items))
    rows = items.iloc[order].reset_index(drop=True)
    frame = pd.DataFrame({
        "row": range(1, len(rows) + 1), "doc_id": rows["doc_id"], "item_seq": rows["item_seq"].astype(int),
        "unit": [unit_label(d, s, n) for d, s, n in zip(rows["doc_id"], rows["section_no"], rows["item_no"],
                                                         strict=True)],
        "text": rows["text"]})
    return frame.assign(**{c: "" for c in scheme.columns}, note="")


def write_sheet(frame: pd.DataFrame, target: Path) -> list[Path]:
    """`target`.xlsx (header frozen, text wrapped) and `target`.csv, each written atomically."""
    from io import BytesIO

    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    book = Workbook()
    sheet = book.active
    sheet.title = "coding"
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append([None if value == "" else value for value in row])
    sheet.freeze_panes = "A2"
    if "text" in frame:
        at = list(frame.columns).index("text")
        sheet.column_dimensions[chr(ord("A") + at)].width = 60
        for (cell,) in sheet.iter_rows(min_row=2, min_col=at + 1, max_col=at + 1):
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    buffer = BytesIO()
    book.save(buffer)
    xlsx, csv = target.with_suffix(".xlsx"), target.with_suffix(".csv")
    write_bytes_atomic(xlsx, buffer.getvalue())
    write_csv_atomic(csv, frame)
    return [xlsx, csv]


def read_sheet(path: Path) -> pd.DataFrame:
    """A filled sheet (.xlsx: its first worksheet; .csv) as text cells ("" for an empty cell)."""
    path = Path(path)
    if not path.is_file():
        raise ProjectError(f"{path}: no such file; give the filled coding sheet (.xlsx or .csv)")
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    if path.suffix.lower() != ".xlsx":
        raise ProjectError(f"{path}: a coding sheet is .xlsx or .csv; save it as one of them")
    from openpyxl import load_workbook

    rows = list(load_workbook(path, read_only=True, data_only=True).worksheets[0].iter_rows(values_only=True))
    if not rows:
        raise ProjectError(f"{path}: the sheet is empty; export one with `python -m analysis coding export`")
    header = ["" if v is None else str(v) for v in rows[0]]
    return pd.DataFrame([[_cell(v) for v in row] for row in rows[1:] if any(v is not None for v in row)],
                        columns=header)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def check_sheet(frame: pd.DataFrame, path: Path, items: pd.DataFrame, scheme: Scheme, codes: list[str]
                ) -> list[str]:
    """Every problem of a filled sheet, one line each ("FILE: row N, column C: …"); `codes` are the
    columns that must hold 0 or 1."""
    allowed = set(FIXED) | set(scheme.columns) | {NOTE} | set(QUEUE_COLUMNS)
    problems = [f"{path}: column {c}: not a column of a coding sheet; allowed: doc_id, item_seq, the categories, note"
                for c in frame.columns if c not in allowed]
    if missing := [c for c in ["doc_id", "item_seq"] if c not in frame]:
        return [*problems, f"{path}: missing column(s) {', '.join(missing)}; export a sheet with `coding export`"]
    known = set(zip(items["doc_id"], items["item_seq"].astype(int), strict=True))
    first: dict[tuple, int] = {}
    for at, cells in enumerate(frame.to_dict("records"), start=2):
        seq = str(cells["item_seq"]).strip()
        key = (str(cells["doc_id"]).strip(), int(seq) if seq.isdigit() else -1)
        category = str(cells.get("category", ""))
        if key not in known:
            problems.append(f"{path}: row {at}, column doc_id/item_seq: unknown item {key[0]} {seq}; "
                            "keep the doc_id and item_seq the sheet was exported with")
        elif (key, category) in first:
            problems.append(f"{path}: row {at}: item {key[0]} {key[1]} repeats row {first[key, category]}; keep one")
        else:
            first[key, category] = at
        for column in codes:
            value = str(cells[column]).strip()
            if value == "":
                problems.append(f"{path}: row {at}, column {column}: empty cell; write 0 or 1")
            elif value not in ("0", "1"):
                problems.append(f"{path}: row {at}, column {column}: {value!r} is not 0 or 1; write 0 or 1")
    return problems


def long_codes(frame: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """A checked sheet as CODE_COLUMNS, one row per item × category column it holds."""
    present = [c for c in scheme.columns if c in frame]
    notes = frame[NOTE] if NOTE in frame else pd.Series("", index=frame.index)
    rows = [{"doc_id": str(d).strip(), "item_seq": int(s), "category": c, "code": int(v), "note": n}
            for d, s, n, *values in zip(frame["doc_id"], frame["item_seq"], notes,
                                        *(frame[c] for c in present), strict=True)
            for c, v in zip(present, values, strict=True)]
    return pd.DataFrame(rows, columns=CODE_COLUMNS)


def store_codes(paths: Paths, codes: pd.DataFrame, record: CodingRecord, sheet: Path) -> Path:
    """Add `codes` to the coder's file (an item × category already stored with another code is an
    error) and write its record; returns the file."""
    target = paths.root / "data" / "annotations" / record.file
    old = read_coder_codes(target)
    keys = ["doc_id", "item_seq", "category"]
    clash = old.merge(codes, on=keys, suffixes=("_old", ""))
    if bad := [f"{sheet}: {r.doc_id} {r.item_seq} {r.category}: already stored as {r.code_old} in {target}; "
               "import only new items, or remove the old file first" for r in clash.itertuples()
               if r.code_old != r.code]:
        raise ProjectError(*bad)
    merged = pd.concat([old, codes], ignore_index=True).drop_duplicates(keys, keep="last")
    write_bytes_atomic(target, csv_bytes(merged.sort_values(keys, kind="stable")))
    add_record(paths, record)
    return target


def heldout_problems(paths: Paths, codes: pd.DataFrame, scheme: Scheme, schemes: list[str], sheet: Path
                     ) -> list[str]:
    """Items a held-out coding of `schemes` may not hold: those of an in-sample coding of one of them
    (that dictionary was tuned on them)."""
    tuned = set()
    for record in load_codings(codings_path(paths)):
        if record.sample == "in_sample":
            for name in set(record.schemes) & set(schemes):
                done = record_codes(paths, record, name, scheme.categories.get(name, []))
                tuned |= set(zip(done["doc_id"], done["item_seq"], strict=True))
    return [f"{sheet}: {d} {s}: the dictionary was tuned on this item (an in-sample coding holds it); "
            "a held-out coding codes only items never used for tuning"
            for d, s in sorted(set(zip(codes["doc_id"], codes["item_seq"], strict=True)) & tuned)]


def coding_record(paths: Paths, file: str, coder: str, kind: str, schemes: list[str], heldout: bool,
                  codebook: str, date: str | None = None, adjudicates: tuple[str, ...] = ()) -> CodingRecord:
    """The record of an imported coding; a held-out one holds each dictionary file's SHA-256 now."""
    hashes = {s: file_sha256(params_files(paths.params, [s])[0]) for s in schemes} if heldout else {}
    return CodingRecord(file=file, schemes=tuple(schemes), coder=coder, coder_kind=kind,
                        coders="multiple" if adjudicates else "single",
                        date=date or datetime.datetime.now(datetime.UTC).date().isoformat(), codebook=codebook,
                        sample="held_out" if heldout else "in_sample", dictionary_sha256=hashes,
                        adjudicates=adjudicates)


def codebook_version(paths: Paths, schemes: list[str]) -> str:
    """The codebook versions a coding follows: params/codebook.md's 版本 line (themes) and the
    policy-tool definitions' file hash (policy_tools)."""
    parts = []
    if "themes" in schemes:
        text = (paths.params / "codebook.md").read_text(encoding="utf-8")
        line = next((ln for ln in text.splitlines() if ln.startswith("版本")), "")
        parts.append(f"params/codebook.md {line.split('　')[0].removeprefix('版本:').strip()}".strip())
    if "policy_tools" in schemes:
        digest = file_sha256(params_files(paths.params, ["policy_tools"])[0])[:12]
        parts.append(f"params/policy_tools.yaml definitions sha256:{digest}")
    return "; ".join(parts)


# --- the `coding` commands ------------------------------------------------------------------------


def scheme_for(params, which: str) -> Scheme:
    """The categories of `which` (themes, tools or both) from the params' lexicon and codebook."""
    from analysis.text.dictionary import tool_codebook

    categories = {"themes": list(params.themes.terms), "policy_tools": tool_codebook(params.policy_tools).keys}
    chosen = {k: v for k, v in categories.items() if which in ("both", k)}
    names = [c for v in chosen.values() for c in v]
    if clash := sorted({c for c in names if names.count(c) > 1}):
        raise ProjectError(f"{', '.join(clash)}: named both a theme and a sub-tool; export --scheme themes or tools")
    return Scheme(chosen)


def coded_items(paths: Paths, scheme: Scheme) -> set[tuple[str, int]]:
    """Every (doc_id, item_seq) some recorded coding of the sheet's schemes holds."""
    found: set[tuple[str, int]] = set()
    for record in load_codings(codings_path(paths)):
        for name in set(record.schemes) & set(scheme.categories):
            codes = record_codes(paths, record, name, scheme.categories[name])
            found |= set(zip(codes["doc_id"], codes["item_seq"].astype(int), strict=True))
    return found


def export_sheet(paths: Paths, params, items: pd.DataFrame, documents: pd.DataFrame, target: Path, *,
                 which: str = "both", plans: list[str] | None = None, sample: int | None = None,
                 stratify: str | None = None, disputed: pd.DataFrame | None = None, seed: int | None = None
                 ) -> tuple[list[Path], int]:
    """Write a blind coding sheet of the chosen items (the `plans`; a stratified `sample` of plans
    not yet coded; the `disputed` items; default: every item not yet coded) to `target`.xlsx/.csv."""
    seed = params.coding.sheet_seed if seed is None else seed
    scheme = scheme_for(params, which)
    done = coded_items(paths, scheme)
    if unknown := sorted(set(plans or []) - set(items["doc_id"])):
        raise ProjectError(f"--plans {' '.join(unknown)}: not in items.csv; run `make reports` after `add`")
    keys = list(zip(items["doc_id"], items["item_seq"].astype(int), strict=True))
    if disputed is not None:
        wanted = set(zip(disputed["doc_id"], disputed["item_seq"].astype(int), strict=True))
        chosen = items[[k in wanted for k in keys]]
    elif plans:
        chosen = items[items["doc_id"].isin(plans)]
    elif sample is not None:
        coded_plans = {d for d, _ in done}
        chosen = items[items["doc_id"].isin(sample_plans(documents, coded_plans, sample, stratify, seed))]
    else:
        chosen = items[[k not in done for k in keys]]
    if chosen.empty:
        raise ProjectError("no items to code with these options; every chosen plan may be coded already")
    return write_sheet(sheet_frame(chosen, scheme, seed), target), len(chosen)


def import_sheet(paths: Paths, params, items: pd.DataFrame, sheet: Path, coder: str, kind: str,
                 heldout: bool) -> tuple[Path, CodingRecord, int]:
    """Check a filled sheet and store it as `coder`'s coding with its record; every problem of the
    sheet is one line, and nothing is written unless the sheet is right."""
    scheme = scheme_for(params, "both")
    frame = read_sheet(sheet)
    columns = [c for c in scheme.columns if c in frame]
    if not columns:
        raise ProjectError(f"{sheet}: no category column (a theme or sub-tool of the codebook); "
                           "export a sheet with `coding export`")
    if problems := check_sheet(frame, sheet, items, scheme, columns):
        raise ProjectError(*problems)
    codes = long_codes(frame, scheme)
    schemes = [name for name, names in scheme.categories.items() if set(names) & set(columns)]
    if heldout and (problems := heldout_problems(paths, codes, scheme, schemes, sheet)):
        raise ProjectError(*problems)
    record = coding_record(paths, coder_file(coder), coder, kind, schemes, heldout, codebook_version(paths, schemes))
    return store_codes(paths, codes, record, sheet), record, frame.shape[0]


def import_adjudication(paths: Paths, params, items: pd.DataFrame, sheet: Path, adjudicator: str, kind: str
                        ) -> tuple[Path, CodingRecord, int]:
    """Store the adjudicated coding of two coders: where they agree their code, where they differ the
    filled `decision` of the adjudication sheet (`coding adjudicate`)."""
    from analysis.stages.coding import coder_records, paired

    scheme = scheme_for(params, "both")
    frame = read_sheet(sheet)
    if missing := [c for c in QUEUE_COLUMNS if c not in frame]:
        raise ProjectError(f"{sheet}: missing column(s) {', '.join(missing)}; fill the sheet `coding adjudicate` wrote")
    if problems := check_sheet(frame, sheet, items, scheme, ["decision"]):
        raise ProjectError(*problems)
    names = sorted(set(frame["coder_a"]) | set(frame["coder_b"]))
    records = {r.coder: r for r in coder_records(paths) if r.coder in names}
    if len(names) != 2 or len(records) != 2:
        raise ProjectError(f"{sheet}: coder_a and coder_b must name two imported coders; found {', '.join(names)}")
    first, second = (records[name] for name in (frame["coder_a"].iloc[0], frame["coder_b"].iloc[0]))
    both = paired(*(read_coder_codes(paths.root / "data" / "annotations" / r.file) for r in (first, second)))
    decided = {(str(r["doc_id"]), int(r["item_seq"]), str(r["category"])): int(r["decision"])
               for r in frame.to_dict("records")}
    open_rows = [(d, s, c) for d, s, c, a, b in both.itertuples(index=False) if a != b and (d, s, c) not in decided]
    if open_rows:
        raise ProjectError(*(f"{sheet}: {d} {s} {c}: the coders differ and the sheet has no decision; "
                             "export it again with `coding adjudicate`" for d, s, c in open_rows))
    codes = both.assign(code=[decided.get((d, s, c), a) for d, s, c, a, _ in both.itertuples(index=False)],
                        note="")[CODE_COLUMNS]
    heldout = first.sample == second.sample == "held_out"
    schemes = sorted(set(first.schemes) & set(second.schemes))
    record = coding_record(paths, coder_file(f"adjudicated_{adjudicator}"), adjudicator, kind, schemes, False,
                           first.codebook, adjudicates=(first.file, second.file))
    if heldout:
        record = CodingRecord(**{**record.__dict__, "sample": "held_out", "dictionary_sha256": first.dictionary_sha256})
    return store_codes(paths, codes, record, sheet), record, len(frame)
