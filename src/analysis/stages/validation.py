"""Validation stage: any dictionary's item-level predictions against a hand coding (lexicon themes, policy tools).

data/annotations/item_themes.csv codes every numbered item of the seed plans for every theme, by
reading it against params/codebook.md (`code` 1: the item substantively commits to the theme). The
lexicon predicts 1 when the item holds at least one counted mention of the theme (a kwic.csv row with
its item_seq). Items of a plan × theme outside the theme's since/until years are left out and
counted apart (`not_applicable`). data/annotations/policy_tools.csv lists the sub-tools each coded
item uses (an empty sub-tool: none); the cues predict a sub-tool when the item holds one of its cues
(`analysis.stages.tool_coding`), and a type when they predict any of its sub-tools. Both codings are
only ever read, never written.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, fields
from pathlib import Path

import pandas as pd

from analysis.files import write_tables
from analysis.params import Params
from analysis.params.annotations import file_sha256, load_codings
from analysis.params.coding import CodingParams
from analysis.params.statistics import StatisticsParams
from analysis.paths import Paths
from analysis.stages.classifier import CHECK_COLUMNS, QUEUE_COLUMNS, Held, Items, check
from analysis.stages.coding import (
    adjudication_queue,
    all_agreement,
    codings_path,
    read_annotations,
    read_tool_annotations,
    reference_codes,
)
from analysis.stages.dataset import CorpusTables, read_upstream
from analysis.stages.tool_coding import unit_label
from analysis.text.agreement import cohen_kappa
from analysis.text.dictionary import Dictionary, theme_lexicon

KEY = ["doc_id", "item_seq", "theme"]
ANNOTATION_COLUMNS = [*KEY, "code", "note"]
CONFUSION_COLUMNS = ["n_items", "tp", "fp", "fn", "tn", "precision", "recall", "f1"]
CHECKS = ["estimable", *CHECK_COLUMNS]  # enough positives to estimate; the classifier's grouped-CV F1
METRIC_COLUMNS = ["theme", "sample", *CONFUSION_COLUMNS, "not_applicable", *CHECKS]
DISAGREEMENT_COLUMNS = [*KEY, "code", "predicted", "terms", "note", "text"]
TOOL_KEY = ["doc_id", "item_seq", "sub_tool"]
TOOL_ANNOTATION_COLUMNS = [*TOOL_KEY, "note"]
TOOL_METRIC_COLUMNS = ["level", "type", "sub_tool", "sample", *CONFUSION_COLUMNS, "kappa", *CHECKS]
SAMPLES = ("in_sample", "held_out")
TOOL_DISAGREEMENT_COLUMNS = [*TOOL_KEY[:2], "unit", "type", "sub_tool", "code", "predicted", "cues", "note", "text"]


# --- one reader, one confusion row, one disagreement table, for any coding -------------------------


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else float("nan")


def confusion(code: pd.Series, predicted: pd.Series) -> dict:
    """Two 0/1 codings of the same items: their number, the confusion counts, precision, recall and
    F1 (4 decimals; NaN where undefined)."""
    code, predicted = code.astype(bool), predicted.astype(bool)
    tp, fp, fn = int((code & predicted).sum()), int((~code & predicted).sum()), int((code & ~predicted).sum())
    return {"n_items": len(code), "tp": tp, "fp": fp, "fn": fn, "tn": len(code) - tp - fp - fn,
            "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn), "f1": _ratio(2 * tp, 2 * tp + fp + fn)}


def kappa(code: pd.Series, predicted: pd.Series) -> float:
    """Cohen's κ of two 0/1 codings, 4 decimals; NaN when it is undefined (both constant)."""
    if len(code) == 0 or (code.nunique() == 1 and predicted.nunique() == 1):
        return float("nan")
    value = cohen_kappa(code.astype(int), predicted.astype(int))
    return round(value, 4) if pd.notna(value) else float("nan")


def with_checks(metrics: pd.DataFrame, key: str, checks: pd.DataFrame, coding: CodingParams) -> pd.DataFrame:
    """`metrics` with `estimable` (enough positive reference items: params/coding.yaml min_positives)
    and the classifier's F1 of `checks` (indexed by sample and `key`: grouped CV in-sample, fitted on
    the in-sample items for held-out), empty where the row is not estimable (too few positives)."""
    estimable = pd.Series([coding.estimable(tp + fn) for tp, fn in zip(metrics["tp"], metrics["fn"], strict=True)])
    found = checks.reindex(pd.MultiIndex.from_arrays([metrics["sample"], metrics[key]])).reset_index(drop=True)
    return metrics.assign(estimable=estimable.to_numpy(),
                          **{c: found[c].where(estimable).astype(float).to_numpy() for c in CHECK_COLUMNS})


def frozen_notes(paths: Paths, scheme: str, dictionary: Path) -> list[str]:
    """One line per held-out coding whose dictionary hash at freezing differs from the file now."""
    now = file_sha256(dictionary) if dictionary.is_file() else ""
    return [f"{record.file}: coded held-out against {dictionary.name} sha256 {record.dictionary_sha256[scheme][:12]}, "
            f"but the file is now {now[:12]}; the held-out agreement is of a changed dictionary (code new items)"
            for record in load_codings(codings_path(paths))
            if record.sample == "held_out" and record.dictionary_sha256.get(scheme, now) != now]


def disagreement_table(compared: pd.DataFrame, by: list[str], unit: str, order: list[str],
                       columns: list[str]) -> pd.DataFrame:
    """The applicable rows of `compared` where `code` and `predicted` differ, sorted by `by` (the
    `unit` column in `order`), as `columns`."""
    frame = compared[compared["applicable"] & compared["code"].ne(compared["predicted"])]
    rank = {name: at for at, name in enumerate(order)}
    return frame.sort_values(by, key=lambda c: c.map(rank) if c.name == unit else c)[columns].reset_index(drop=True)


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


# --- the lexicon against item_themes.csv ----------------------------------------------------------


@dataclass
class ValidationTables:
    """The validation stage's two tables, and its notes (one printable line each)."""

    lexicon_validation: pd.DataFrame  # one row per lexicon theme
    lexicon_disagreements: pd.DataFrame  # one row per disagreeing item × theme
    lexicon_review_queue: pd.DataFrame  # one row per item × theme where the classifier check differs
    notes: list[str] = field(default_factory=list)  # coding missing, or out of step with items.csv


VALIDATION_TABLE_NAMES = tuple(f.name for f in fields(ValidationTables) if f.name != "notes")
VALIDATION_FILES = [f"{name}.csv" for name in VALIDATION_TABLE_NAMES]


def item_terms(kwic: pd.DataFrame) -> pd.Series:
    """(doc_id, item_seq, theme) → the distinct terms counted in that item, in text order, joined by 、."""
    located = kwic.dropna(subset=["item_seq"]).sort_values(["doc_id", "start"])
    return located.astype({"item_seq": int}).groupby(KEY)["term"].agg(lambda terms: "、".join(dict.fromkeys(terms)))


def compare(annotations: pd.DataFrame, kwic: pd.DataFrame, items: pd.DataFrame, lexicon: Dictionary) -> pd.DataFrame:
    """The coded items that exist in `items` and whose theme is in the lexicon, with `predicted`
    (0/1), the `terms` counted, `applicable` (the plan's year within the theme's since/until) and
    the item `text`."""
    annotations = annotations if "sample" in annotations else annotations.assign(sample="in_sample")
    frame = (
        annotations[annotations["theme"].isin(list(lexicon.terms))]
        .merge(items[["doc_id", "item_seq", "year", "text"]], on=["doc_id", "item_seq"])
        .merge(item_terms(kwic).rename("terms").reset_index(), on=KEY, how="left")
        .fillna({"terms": ""})
    )
    frame["predicted"] = frame["terms"].ne("").astype(int)
    frame["applicable"] = [lexicon.applies(t, y) for t, y in zip(frame["theme"], frame["year"], strict=True)]
    return frame


def samples_of(frame: pd.DataFrame) -> list[str]:
    """The samples (SAMPLES order) of a compared frame: in_sample always, held_out when coded."""
    return [s for s in SAMPLES if s == "in_sample" or s in set(frame["sample"])]


def agreement(compared: pd.DataFrame, themes: list[str]) -> pd.DataFrame:
    """Per sample (in-sample, then held-out when there is a held-out coding) and theme (`themes`
    order): applicable items, the confusion counts, precision, recall and F1 (4 decimals; empty where
    undefined), and the items left out as not applicable."""
    rows = []
    for sample in samples_of(compared):
        for theme in themes:
            group = compared[(compared["theme"] == theme) & (compared["sample"] == sample)]
            used = group[group["applicable"]]
            rows.append({"theme": theme, "sample": sample, **confusion(used["code"].eq(1), used["predicted"].eq(1)),
                         "not_applicable": len(group) - len(used)})
    return pd.DataFrame(rows, columns=METRIC_COLUMNS[:-len(CHECKS)])


def corpus_items(items: pd.DataFrame, hits: pd.DataFrame) -> Items:
    """Every item of items.csv with its dictionary hits (`hits`: 0/1, indexed by doc_id, item_seq)."""
    keys = items[["doc_id", "item_seq"]].astype({"item_seq": int}).reset_index(drop=True)
    found = hits.reindex(pd.MultiIndex.from_frame(keys), fill_value=0)
    return Items(keys, items["text"].astype(str).tolist(), found.to_numpy(dtype=float))


def _labels(codes: pd.DataFrame, key: str, categories: list[str]) -> pd.DataFrame:
    """0/1 per coded item × category (max over rows), NaN where the item × category is not applicable
    or not coded."""
    codes = codes.assign(code=codes["code"].where(codes["applicable"]) if "applicable" in codes else codes["code"])
    wide = codes.astype({"code": float}).groupby(["doc_id", "item_seq", key])["code"].max().unstack(key)
    return wide.reindex(columns=categories).astype(float)


def classifier_check(codes: pd.DataFrame, corpus: Items, said: pd.DataFrame, key: str, coding: CodingParams,
                     stats: StatisticsParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The classifier check of `codes` (doc_id, item_seq, `key`, code, sample, optionally applicable)
    per category of `said` (the dictionary's 0/1 prediction per item of `corpus` and category): the
    in-sample reference items train it (grouped CV), the held-out items are scored by the model fitted
    on every in-sample item; an item × category outside its years counts in no F1."""
    categories = list(said.columns)
    wide = _labels(codes[codes["sample"] == "in_sample"], key, categories)
    at = pd.MultiIndex.from_frame(corpus.keys).get_indexer(wide.index)
    coded = Items(corpus.keys.iloc[at].reset_index(drop=True), [corpus.texts[i] for i in at], corpus.hits[at])
    held = _labels(codes[codes["sample"] == "held_out"], key, categories)
    held = Held(held.index.to_frame(index=False), {c: held[c].to_numpy() for c in categories})
    said = said.reindex(pd.MultiIndex.from_frame(corpus.keys), fill_value=0)
    return check(coded, {c: wide[c].to_numpy() for c in categories}, corpus,
                 {c: said[c].to_numpy() for c in categories}, coding, stats, held)


def theme_hits(kwic: pd.DataFrame, themes: list[str]) -> pd.DataFrame:
    """0/1 per (doc_id, item_seq) × theme: the item holds a counted mention of the theme."""
    terms = item_terms(kwic)
    flags = terms.ne("").astype(int).unstack("theme") if len(terms) else pd.DataFrame()
    return flags.reindex(columns=themes).fillna(0).astype(int)


def applicable_hits(hits: pd.DataFrame, items: pd.DataFrame, lexicon: Dictionary) -> pd.DataFrame:
    """`hits` for every item of `items` (0/1), NaN where the theme does not apply to the plan's year
    (n/a: not in the review queue either)."""
    keys = items[["doc_id", "item_seq"]].astype({"item_seq": int})
    frame = hits.reindex(pd.MultiIndex.from_frame(keys), fill_value=0).astype(float)
    for theme in frame.columns:
        frame.loc[[not lexicon.applies(theme, year) for year in items["year"]], theme] = float("nan")
    return frame


def disagreements(compared: pd.DataFrame, themes: list[str]) -> pd.DataFrame:
    """Applicable coded items where the lexicon and the coding differ, by theme (`themes` order),
    plan and item."""
    return disagreement_table(compared, ["theme", "doc_id", "item_seq"], "theme", themes, DISAGREEMENT_COLUMNS)


def validate_lexicon(
    tables: CorpusTables, kwic: pd.DataFrame, lexicon: Dictionary, annotations_path: Path, coding: CodingParams,
    stats: StatisticsParams, doc_ids: Collection[str] | None = None, reference: pd.DataFrame | None = None,
) -> ValidationTables:
    """Compare the lexicon's mentions `kwic` (kwic.csv) with the reference coding — `reference`
    (ANNOTATION_COLUMNS + sample) when given, else the coding at `annotations_path`, in-sample — on
    the plans of `tables` (only the coded plans in `doc_ids`, when given), and run the classifier
    check. Without a coding: empty tables and a note."""
    themes = list(lexicon.terms)
    annotations = reference if reference is not None and len(reference) else read_annotations(annotations_path)
    if annotations is None:
        return ValidationTables(
            pd.DataFrame(columns=METRIC_COLUMNS), pd.DataFrame(columns=DISAGREEMENT_COLUMNS),
            pd.DataFrame(columns=QUEUE_COLUMNS),
            [f"{annotations_path}: not found, so the lexicon is not validated against a reference coding "
             f"({', '.join(VALIDATION_FILES)} are empty)"],
        )
    if doc_ids is not None:
        annotations = annotations[annotations["doc_id"].isin(list(doc_ids))]
    notes = coverage_notes(annotations, tables.items, annotations_path)
    if unknown := sorted(set(annotations["theme"]) - set(themes)):
        notes.append(f"{annotations_path}: coded theme(s) {', '.join(unknown)} are not in the lexicon; not validated")
    compared = compare(annotations, kwic, tables.items, lexicon)
    hits = theme_hits(kwic, themes)
    checks, queue = classifier_check(compared, corpus_items(tables.items, hits),
                                     applicable_hits(hits, tables.items, lexicon), "theme", coding, stats)
    metrics = with_checks(agreement(compared, themes), "theme", checks, coding)
    return ValidationTables(metrics, disagreements(compared, themes), queue, notes)


def write_validation(validation: ValidationTables, processed_dir: Path) -> list[Path]:
    """Write the two validation tables as CSV under `processed_dir`, each atomically."""
    return write_tables(processed_dir, {f"{name}.csv": getattr(validation, name) for name in VALIDATION_TABLE_NAMES})


def run_validation(tables: CorpusTables, params: Params, paths: Paths, out: Path) -> list[str]:
    """The pipeline stage: validate params/themes.yaml against the project's hand coding; the notes
    are its warnings."""
    lexicon = theme_lexicon(params.themes)
    reference, notes = reference_codes(paths, "themes", list(lexicon.terms))
    reference = reference.rename(columns={"category": "theme"})[[*ANNOTATION_COLUMNS, "sample"]]
    kwic = read_upstream(paths, out, "kwic.csv")
    validation = validate_lexicon(tables, kwic, lexicon, paths.annotations, params.coding, params.statistics,
                                  reference=reference)
    write_validation(validation, out)
    stats = params.statistics
    write_tables(out, {"coder_agreement.csv": all_agreement(paths, stats.replicates, stats.level, stats.seed),
                       "adjudication_queue.csv": adjudication_queue(paths)})
    return [*notes, *frozen_notes(paths, "themes", params.path("themes")), *validation.notes]


# --- the policy-tool cues against policy_tools.csv -------------------------------------------------


def item_matrix(pairs: pd.DataFrame, keys: pd.DataFrame, tools: list[str]) -> pd.DataFrame:
    """0/1 frame: one row per (doc_id, item_seq) in `keys`, one column per sub-tool in `tools`."""
    used = pairs[pairs["sub_tool"].isin(tools)].assign(flag=1)
    wide = used.pivot_table(index=["doc_id", "item_seq"], columns="sub_tool", values="flag", aggfunc="max")
    wide = wide.reindex(columns=tools).fillna(0).astype(int)
    index = pd.MultiIndex.from_frame(keys[["doc_id", "item_seq"]])
    return wide.reindex(index, fill_value=0)


def compare_tools(hand: pd.DataFrame, codes: pd.DataFrame, items: pd.DataFrame, book: Dictionary) -> pd.DataFrame:
    """Every hand-coded item × sub-tool of the codebook: `code` (hand) and `predicted` (cues) 0/1,
    the cues found, the coder's note, the unit as printed and the item text; `codes`: item codes."""
    keys = hand[["doc_id", "item_seq"]].drop_duplicates().sort_values(["doc_id", "item_seq"])
    tools = book.keys
    gold, guess = item_matrix(hand, keys, tools), item_matrix(codes, keys, tools)
    frame = pd.DataFrame({"code": gold.stack(), "predicted": guess.stack()}).rename_axis(TOOL_KEY).reset_index()
    notes = hand.set_index(TOOL_KEY)["note"]
    found = codes.set_index(TOOL_KEY)["cue"]
    info = items.set_index(["doc_id", "item_seq"]).reindex(pd.MultiIndex.from_frame(frame[["doc_id", "item_seq"]]))
    index = pd.MultiIndex.from_frame(frame[TOOL_KEY])
    return frame.assign(
        unit=[unit_label(doc_id, section, number) for doc_id, section, number
              in zip(frame["doc_id"], info["section_no"], info["item_no"], strict=True)],
        type=frame["sub_tool"].map(book.group_of), cues=found.reindex(index, fill_value="").to_numpy(),
        note=notes.reindex(index, fill_value="").to_numpy(), text=info["text"].to_numpy(), applicable=True,
    )


def compare_coding(compared: pd.DataFrame, book: Dictionary) -> pd.DataFrame:
    """Per type (an item uses the type when it uses any of its sub-tools) and per sub-tool, item by
    item over the hand-coded items (`compare_tools`): confusion counts, precision, recall, F1 and
    Cohen's κ."""
    rows = []
    compared = compared if "sample" in compared else compared.assign(sample="in_sample")
    for sample in samples_of(compared):
        part = compared[compared["sample"] == sample]
        for kind, members in book.groups.items():
            by_item = part[part["sub_tool"].isin(members)].groupby(["doc_id", "item_seq"])[["code", "predicted"]]
            either = by_item.max()
            rows.append({"level": "type", "type": kind, "sub_tool": "", "sample": sample,
                         **confusion(either["code"], either["predicted"]),
                         "kappa": kappa(either["code"], either["predicted"])})
            for tool in members:
                one = part[part["sub_tool"] == tool]
                rows.append({"level": "sub_tool", "type": kind, "sub_tool": tool, "sample": sample,
                             **confusion(one["code"], one["predicted"]), "kappa": kappa(one["code"], one["predicted"])})
    return pd.DataFrame(rows, columns=TOOL_METRIC_COLUMNS[:-len(CHECKS)])


def used_tools(reference: pd.DataFrame) -> pd.DataFrame:
    """A reference of 0/1 codes per item × sub-tool (CODE_COLUMNS + sample) as the policy-tool
    coding lists it: the sub-tools each item uses, an empty one for an item using none."""
    used = reference[reference["code"] == 1].rename(columns={"category": "sub_tool"})
    keys = reference[["doc_id", "item_seq", "sample"]].drop_duplicates(["doc_id", "item_seq"])
    none = keys.merge(used[["doc_id", "item_seq"]].drop_duplicates(), how="left", indicator=True)
    none = none[none["_merge"] == "left_only"].assign(sub_tool="", note="")
    return pd.concat([used, none], ignore_index=True)[[*TOOL_ANNOTATION_COLUMNS, "sample"]]


def tool_check(compared: pd.DataFrame, codes: pd.DataFrame, items: pd.DataFrame, book: Dictionary,
               coding: CodingParams, stats: StatisticsParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The classifier check per tool type: features the cues' sub-tool hits, labels the reference
    (an item uses a type when it uses any of its sub-tools), in-sample and held-out."""
    hits = item_matrix(codes, items[["doc_id", "item_seq"]], book.keys)
    said = pd.DataFrame({kind: hits[list(members)].max(axis=1) for kind, members in book.groups.items()})
    typed = compared.assign(category=compared["sub_tool"].map(book.group_of))
    return classifier_check(typed, corpus_items(items, hits), said, "category", coding, stats)


def tool_disagreements(compared: pd.DataFrame, book: Dictionary) -> pd.DataFrame:
    """Every hand-coded item × sub-tool where the cues and the hand coding differ, with the cues
    found, the coder's note and the item text."""
    return disagreement_table(compared, TOOL_KEY, "sub_tool", book.keys, TOOL_DISAGREEMENT_COLUMNS)


def tool_coverage_notes(hand: pd.DataFrame, items: pd.DataFrame, book: Dictionary, path: Path) -> list[str]:
    """One line per problem that leaves coded items out: a plan not in the corpus, items not in
    items.csv or not coded, a sub-tool the codebook does not have."""
    notes = coverage_notes(hand, items, path, "the policy-tool validation")
    if unknown := sorted(set(hand["sub_tool"]) - set(book.terms) - {""}):
        notes.append(f"{path}: coded sub-tool(s) {', '.join(unknown)} are not in the codebook; not validated")
    return notes


def validate_tools(codes: pd.DataFrame, items: pd.DataFrame, book: Dictionary, annotations_path: Path,
                   coding: CodingParams, stats: StatisticsParams, reference: pd.DataFrame | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """The item codes `codes` against the reference coding (`reference`, 0/1 per item × sub-tool with
    its sample, when given; else the coding at `annotations_path`, in-sample): the metrics table, the
    disagreements, the classifier's review queue and the notes. Without a coding: empty tables and a note."""
    given = reference is not None and len(reference)
    hand = used_tools(reference) if given else read_tool_annotations(annotations_path)
    if hand is None:
        return (pd.DataFrame(columns=TOOL_METRIC_COLUMNS), pd.DataFrame(columns=TOOL_DISAGREEMENT_COLUMNS),
                pd.DataFrame(columns=QUEUE_COLUMNS), [f"{annotations_path}: not found, so the policy-tool cues are "
                                                      "not validated"])
    hand = hand if "sample" in hand else hand.assign(sample="in_sample")
    notes = tool_coverage_notes(hand, items, book, annotations_path)
    hand = hand.merge(items[["doc_id", "item_seq"]], on=["doc_id", "item_seq"])
    samples = hand.drop_duplicates(["doc_id", "item_seq"])[["doc_id", "item_seq", "sample"]]
    compared = compare_tools(hand, codes, items, book).merge(samples, on=["doc_id", "item_seq"])
    checks, queue = tool_check(compared, codes, items, book, coding, stats)
    metrics = compare_coding(compared, book)
    metrics = with_checks(metrics.assign(category=metrics["type"].where(metrics["level"] == "type")), "category",
                          checks, coding).drop(columns="category")
    return metrics, tool_disagreements(compared, book), queue, notes
