"""Codings of items by coders: the stored files and their records, the reference per item, agreement and adjudication.

Every coding lives under data/annotations and is recorded in data/annotations/codings.yaml
(`analysis.params.annotations`): the two seed references (item_themes.csv: theme × 0/1;
policy_tools.csv: the sub-tools an item uses) and the codings imported with `python -m analysis
coding import` (coders/<coder>.csv, one file per coder: doc_id, item_seq, category, code, note,
`category` a theme or a sub-tool). The reference of an item is an adjudicated coding when one
covers it, else the seed reference, else the first recorded coder's coding.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.files import write_text_atomic
from analysis.params.annotations import CodingRecord, codings_text, load_codings
from analysis.paths import Paths, ProjectError
from analysis.text.agreement import bootstrap_interval, cohen_kappa, krippendorff_alpha, percent_agreement

CODE_COLUMNS = ["doc_id", "item_seq", "category", "code", "note"]
AGREEMENT_COLUMNS = ["coder_a", "coder_b", "category", "n_items", "both_1", "only_a", "only_b", "both_0",
                     "percent", "percent_low", "percent_high", "kappa", "kappa_low", "kappa_high",
                     "alpha", "alpha_low", "alpha_high"]
QUEUE_COLUMNS = ["doc_id", "item_seq", "category", "coder_a", "code_a", "coder_b", "code_b", "decision"]
CODER_DIR = "coders"


def codings_path(paths: Paths) -> Path:
    return paths.codings


def coder_file(name: str) -> str:
    """The file (under data/annotations) of a coder's coding: coders/<name>.csv, the name made safe."""
    slug = re.sub(r"[^\w-]+", "_", name.strip(), flags=re.UNICODE).strip("_")
    if not slug:
        raise ProjectError(f"--coder {name!r}: give a name with letters or digits, e.g. --coder 张三")
    return f"{CODER_DIR}/{slug}.csv"


def read_coder_codes(path: Path) -> pd.DataFrame:
    """A stored coder file (CODE_COLUMNS); empty when absent."""
    if not path.is_file():
        return pd.DataFrame(columns=CODE_COLUMNS)
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype={"doc_id": str, "category": str, "note": str},
                        keep_default_na=False)
    return frame.astype({"item_seq": int, "code": int})[CODE_COLUMNS]


def read_coding(path: Path, unit: str, with_code: bool) -> pd.DataFrame | None:
    """A hand coding: doc_id, item_seq, `unit` (theme or sub_tool), a 0/1 `code` when `with_code`
    (else the file lists only the units an item uses, an empty unit for none: stripped), note.
    None when the file is absent; a malformed file is one error line per problem."""
    path = Path(path)
    if not path.is_file():
        return None
    columns = ["doc_id", "item_seq", unit, *(["code"] if with_code else []), "note"]
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    if missing := [column for column in columns if column not in frame]:
        raise ProjectError(f"{path}: missing column(s) {', '.join(missing)}; the coding has {', '.join(columns)}")
    seq = pd.to_numeric(frame["item_seq"], errors="coerce")
    code = pd.to_numeric(frame["code"], errors="coerce") if with_code else pd.Series(0, index=frame.index)
    wrong = ~(seq % 1 == 0) | ~code.isin([0, 1])
    rule = "item_seq must be a whole number" + (" and code 0 or 1" if with_code else "")
    if bad := [f"{path}: line {at + 2}: {rule}" for at in frame.index[wrong]]:
        raise ProjectError(*bad)
    frame = frame[columns].assign(item_seq=seq.astype(int))
    frame = frame.assign(code=code.astype(int)) if with_code else frame.assign(**{unit: frame[unit].str.strip()})
    if repeated := frame[frame.duplicated(["doc_id", "item_seq", unit])].index.tolist():
        raise ProjectError(*(f"{path}: line {at + 2}: this item × {unit.replace('_', '-')} is coded twice; keep one"
                             for at in repeated))
    return frame


def read_annotations(path: Path) -> pd.DataFrame | None:
    """The lexicon's hand coding (ANNOTATION_COLUMNS, `code` 0 or 1), or None when the file is absent."""
    return read_coding(path, "theme", with_code=True)


def read_tool_annotations(path: Path) -> pd.DataFrame | None:
    """The policy-tool hand coding (TOOL_ANNOTATION_COLUMNS; `sub_tool` empty for an item coded with
    none), or None when the file is absent."""
    return read_coding(path, "sub_tool", with_code=False)


def seed_codes(path: Path, scheme: str, categories: list[str]) -> pd.DataFrame:
    """A seed reference file as CODE_COLUMNS: item_themes.csv as it is, policy_tools.csv (the
    sub-tools each item uses) as 0/1 for every sub-tool of `categories`."""
    if scheme == "themes":
        found = read_annotations(path)
        return pd.DataFrame(columns=CODE_COLUMNS) if found is None else found.rename(columns={"theme": "category"})
    found = read_tool_annotations(path)
    if found is None:
        return pd.DataFrame(columns=CODE_COLUMNS)
    keys = found[["doc_id", "item_seq"]].drop_duplicates()
    used = found.set_index(["doc_id", "item_seq", "sub_tool"])["note"]
    rows = [{"doc_id": d, "item_seq": s, "category": c, "code": int((d, s, c) in used.index),
             "note": used.get((d, s, c), "")} for d, s in keys.itertuples(index=False) for c in categories]
    return pd.DataFrame(rows, columns=CODE_COLUMNS)


def record_codes(paths: Paths, record: CodingRecord, scheme: str, categories: list[str]) -> pd.DataFrame:
    """The codes of one recorded coding for the `categories` of `scheme`."""
    path = paths.root / "data" / "annotations" / record.file
    imported = record.file.startswith(f"{CODER_DIR}/")
    codes = read_coder_codes(path) if imported else seed_codes(path, scheme, categories)
    return codes[codes["category"].isin(categories)].reset_index(drop=True)


def reference_codes(paths: Paths, scheme: str, categories: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """The reference code of every coded item × category of `scheme`: CODE_COLUMNS + `sample`
    (in_sample/held_out) and `file` (the coding it comes from); adjudicated codings first, then the
    seed references, then single coders in record order. Notes: items coded by several coders and
    not adjudicated."""
    records = [r for r in load_codings(codings_path(paths)) if scheme in r.schemes]
    settled = {name for r in records for name in r.adjudicates}
    ranked = sorted(records, key=lambda r: (not r.adjudicates, r.file.startswith(f"{CODER_DIR}/")))
    parts, notes, taken, adjudicated = [], [], set(), set()
    for record in ranked:
        codes = record_codes(paths, record, scheme, categories)
        items = set(zip(codes["doc_id"], codes["item_seq"], strict=True))
        if overlap := items & taken:
            if record.file not in settled and not record.adjudicates and (overlap := overlap - adjudicated):
                notes.append(f"{record.file}: {len(overlap)} item(s) also coded by another coder and not adjudicated "
                             f"({scheme}); run `python -m analysis coding adjudicate`")
            keep = [(d, s) not in taken for d, s in zip(codes["doc_id"], codes["item_seq"], strict=True)]
            codes = codes[keep]
        taken |= items
        adjudicated |= items if record.adjudicates else set()
        parts.append(codes.assign(sample=record.sample, file=record.file))
    if not parts:
        return pd.DataFrame(columns=[*CODE_COLUMNS, "sample", "file"]), notes
    return pd.concat(parts, ignore_index=True), notes


def add_record(paths: Paths, record: CodingRecord) -> None:
    """Write codings.yaml with `record` added (replacing the record of the same file), keeping the
    file's leading comment."""
    path = codings_path(paths)
    kept = tuple(r for r in load_codings(path) if r.file != record.file)
    header = "".join(line for line in _leading_comment(path))
    write_text_atomic(path, codings_text((*kept, record), header))


def _leading_comment(path: Path) -> list[str]:
    if not path.is_file():
        return ["# Who made each coding under data/annotations (analysis.params.annotations).\n"]
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    return [line for line in lines[:next((at for at, line in enumerate(lines) if not line.startswith("#")),
                                           len(lines))]]


# --- two coders: agreement per category and the adjudication queue ------------------------------


def paired(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """The item × category both codings code: doc_id, item_seq, category, code_a, code_b."""
    keys = ["doc_id", "item_seq", "category"]
    return first[[*keys, "code"]].merge(second[[*keys, "code"]], on=keys, suffixes=("_a", "_b"))


def pair_agreement(both: pd.DataFrame, names: tuple[str, str], replicates: int, level: float, seed: int
                   ) -> pd.DataFrame:
    """Per category of `both` (paired codes): the 2×2 counts, percent agreement, Cohen's κ and
    Krippendorff's α, each with a seeded item-bootstrap interval (AGREEMENT_COLUMNS)."""
    rows = []
    for category, group in both.groupby("category", sort=False):
        a, b = group["code_a"].to_numpy(), group["code_b"].to_numpy()
        row = {"coder_a": names[0], "coder_b": names[1], "category": category, "n_items": len(a),
               "both_1": int(((a == 1) & (b == 1)).sum()), "only_a": int(((a == 1) & (b == 0)).sum()),
               "only_b": int(((a == 0) & (b == 1)).sum()), "both_0": int(((a == 0) & (b == 0)).sum())}
        for name, statistic in (("percent", percent_agreement), ("kappa", cohen_kappa),
                                ("alpha", krippendorff_alpha)):
            low, high = bootstrap_interval(statistic, a, b, replicates, level, seed)
            row |= {name: round(statistic(a, b), 4), f"{name}_low": round(low, 4), f"{name}_high": round(high, 4)}
        rows.append(row)
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def coder_records(paths: Paths) -> list[CodingRecord]:
    """The recorded codings of single coders made with `coding import` (not adjudicated ones)."""
    return [r for r in load_codings(codings_path(paths))
            if r.file.startswith(f"{CODER_DIR}/") and not r.adjudicates]


def all_agreement(paths: Paths, replicates: int, level: float, seed: int) -> pd.DataFrame:
    """Agreement of every pair of imported coders on the item × categories both coded."""
    records = coder_records(paths)
    codes = {r.coder: read_coder_codes(paths.root / "data" / "annotations" / r.file) for r in records}
    frames = [pair_agreement(paired(codes[a.coder], codes[b.coder]), (a.coder, b.coder), replicates, level, seed)
              for at, a in enumerate(records) for b in records[at + 1:]]
    frames = [frame for frame in frames if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=AGREEMENT_COLUMNS)


def adjudication_queue(paths: Paths) -> pd.DataFrame:
    """Every item × category two imported coders code differently and no adjudicated coding settles
    (QUEUE_COLUMNS, `decision` empty for the adjudicator to fill)."""
    records = coder_records(paths)
    settled = {name for r in load_codings(codings_path(paths)) for name in r.adjudicates}
    frames = []
    for at, a in enumerate(records):
        for b in records[at + 1:]:
            if a.file in settled and b.file in settled:
                continue
            both = paired(*(read_coder_codes(paths.root / "data" / "annotations" / r.file) for r in (a, b)))
            frames.append(both[both["code_a"] != both["code_b"]].assign(coder_a=a.coder, coder_b=b.coder))
    if not frames:
        return pd.DataFrame(columns=QUEUE_COLUMNS)
    return pd.concat(frames, ignore_index=True).assign(decision="")[QUEUE_COLUMNS]


REVIEW_TABLES = ("lexicon_review_queue.csv", "policy_tool_review_queue.csv")


def review_queue(paths: Paths) -> pd.DataFrame:
    """The items where the dictionary and the classifier check disagree (the validation and
    policy_tools stages' review queues in data/processed); an error when there are none yet."""
    from analysis.files import read_csv

    found = [read_csv(paths.processed / name) for name in REVIEW_TABLES if (paths.processed / name).is_file()]
    if not found:
        raise ProjectError(f"{paths.processed}: no review queue yet; run `make reports` first")
    return pd.concat(found, ignore_index=True)
