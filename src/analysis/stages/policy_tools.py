"""Policy-tool coding (Rothwell & Zegveld): every plan item by the instruments it uses.

params/policy_tools.yaml names three types (供给型, 环境型, 需求型), their sub-tools, and for each
sub-tool a definition, cue phrases and excluded phrases. An item is coded with a sub-tool when its
text holds at least one counted cue of it (longest cue first, without overlap, excluded phrases
hiding the cues inside them: the themes lexicon's rule). The codes are crossed with the plan's
policy themes (params/themes.yaml: an item has a theme when it holds a counted mention) and with
its sections, and compared item by item with the hand coding in data/annotations/policy_tools.csv
(Cohen's κ per type, precision/recall per sub-tool). The coding is only ever read, never written.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.corpus.structure import chinese_numeral
from analysis.files import write_tables
from analysis.params.loader import load_yaml
from analysis.paths import Paths, ProjectError
from analysis.stages.dataset import CorpusTables
from analysis.stages.themes import (
    THEME_NAME_RULE,
    _is_theme_name,
    _term_problem,
    load_lexicon,
    longest_first,
    stat_kwic,
)
from analysis.stages.validation import coverage_notes as validation_coverage
from analysis.text.stats import StatisticsParams, percentile_interval, plan_rng, resample_counts
from analysis.views.evidence import anchor, esc, marked

CODE_COLUMNS = ["doc_id", "item_seq", "sentence", "start", "unit", "type", "sub_tool", "cue", "sentence_text"]
ITEM_COLUMNS = ["doc_id", "item_seq", "unit", "type", "sub_tool", "cue"]
SUMMARY_COLUMNS = ["doc_id", "level", "type", "sub_tool", "codes", "share", "share_low", "share_high", "items",
                   "item_share", "sentence_codes", "n_items", "n_uncoded"]
MATRIX_COLUMNS = ["doc_id", "dimension", "y_order", "y", "type", "sub_tool", "codes"]
VALIDATION_COLUMNS = ["level", "type", "sub_tool", "n_items", "tp", "fp", "fn", "tn", "precision", "recall", "f1",
                      "kappa"]
DISAGREEMENT_COLUMNS = ["doc_id", "item_seq", "unit", "type", "sub_tool", "code", "predicted", "cues", "note", "text"]
ANNOTATION_COLUMNS = ["doc_id", "item_seq", "sub_tool", "note"]
NO_THEME = "(无主题)"
LABEL_CHARS = 14  # a heatmap row label longer than this is cut, with …
POOLED = "合并 pooled"  # the row of all shown plans together
ALL_TOOLS = "（合计 all）"  # plan_vs_others' sub_tool of a type's row
NO_INTERVAL = (float("nan"), float("nan"))  # too few items for a bootstrap interval (statistics.yaml min_items)
SENTENCE = re.compile(r"[^。；！？!?;\n]*(?:[。；！？!?;]+[”’」』）)]*)+|[^。；！？!?;\n]+")  # see `sentences`


@dataclass(frozen=True)
class Toolbook:
    """The validated contents of params/policy_tools.yaml."""

    tools: dict[str, tuple[str, ...]]  # type → its sub-tools, in file order
    descriptions: dict[str, str]  # type → description
    definitions: dict[str, str]  # sub-tool → definition
    cues: dict[str, tuple[str, ...]]  # sub-tool → cues
    exclude: dict[str, tuple[str, ...]] = field(default_factory=dict)  # sub-tool → phrases never counted

    @cached_property
    def type_of(self) -> dict[str, str]:
        return {tool: kind for kind, tools in self.tools.items() for tool in tools}

    @cached_property
    def tool_of(self) -> dict[str, str]:
        return {cue: tool for tool, cues in self.cues.items() for cue in cues}

    @cached_property
    def pattern(self) -> re.Pattern:
        """Cues and excluded phrases as one alternation, longest first: the leftmost, longest wins."""
        return longest_first({*self.tool_of, *(phrase for group in self.exclude.values() for phrase in group)})

    def sub_tools(self) -> list[str]:
        return [tool for tools in self.tools.values() for tool in tools]


def _mapping(path: Path, where: str, value: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    allowed = (*required, *optional)
    if not isinstance(value, dict):
        raise ProjectError(f"{path}: {where} must be a mapping with {', '.join(allowed)}")
    if missing := [key for key in required if key not in value]:
        raise ProjectError(f"{path}: {where} is missing {', '.join(missing)}; add it")
    if unknown := [str(key) for key in value if key not in allowed]:
        raise ProjectError(f"{path}: {where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return value


def _names(path: Path, where: str, value: Any) -> dict:
    if not isinstance(value, dict) or not value:
        raise ProjectError(f"{path}: {where} must map each name to its entry")
    if bad := [name for name in value if not _is_theme_name(name)]:
        raise ProjectError(*(f"{path}: {where}: name {name!r} is not allowed; a name is {THEME_NAME_RULE}"
                             for name in bad))
    return value


def _phrases(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ProjectError(f"{path}: {where} must be a non-empty list of phrases")
    if bad := [f"{path}: {where}: {problem}" for phrase in value if (problem := _term_problem(phrase))]:
        raise ProjectError(*bad)
    if repeated := sorted({p for p in value if value.count(p) > 1}):
        raise ProjectError(f"{path}: {where} lists {', '.join(repeated)} twice; keep one")
    return tuple(value)


def load_toolbook(path: Path) -> Toolbook:
    """Read and validate the policy-tool codebook; every mistake is a one-line ProjectError naming the file."""
    path = Path(path)
    raw = load_yaml(path, required=("types",))
    tools: dict[str, tuple[str, ...]] = {}
    descriptions: dict[str, str] = {}
    definitions: dict[str, str] = {}
    cues: dict[str, tuple[str, ...]] = {}
    exclude: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for kind, entry in _names(path, "types", raw["types"]).items():
        entry = _mapping(path, f"type {kind}", entry, ("description", "tools"))
        descriptions[kind] = str(entry["description"] or "")
        tools[kind] = tuple(_names(path, f"type {kind} tools", entry["tools"]))
        for tool, spec in entry["tools"].items():
            if tool in definitions or tool in tools:
                raise ProjectError(f"{path}: sub-tool {tool} is named twice (or like a type); rename one")
            spec = _mapping(path, f"sub-tool {tool}", spec, ("definition", "cues"), ("exclude",))
            if not isinstance(spec["definition"], str) or not spec["definition"].strip():
                raise ProjectError(f"{path}: sub-tool {tool}: definition must be a non-empty text")
            definitions[tool] = spec["definition"].strip()
            cues[tool] = _phrases(path, f"sub-tool {tool} cues", spec["cues"])
            for cue in cues[tool]:
                if cue in seen:
                    raise ProjectError(f"{path}: cue {cue} is in sub-tools {seen[cue]} and {tool}; keep it in one")
                seen[cue] = tool
            if "exclude" in spec:
                phrases = _phrases(path, f"sub-tool {tool} exclude", spec["exclude"])
                if useless := [p for p in phrases if not any(c in p and c != p for c in cues[tool])]:
                    raise ProjectError(f"{path}: sub-tool {tool} exclude {', '.join(useless)} contains none of its "
                                       "cues (or equals one); an excluded phrase must be longer than a cue it contains")
                exclude[tool] = phrases
    if clash := sorted(set(seen) & {p for group in exclude.values() for p in group}):
        raise ProjectError(f"{path}: {', '.join(clash)} is both a cue and an excluded phrase; keep one")
    return Toolbook(tools, descriptions, definitions, cues, exclude)


def toolbook_table(book: Toolbook) -> pd.DataFrame:
    """One row per sub-tool: type, definition, cues and excluded phrases, for display."""
    return pd.DataFrame(
        [{"type": book.type_of[tool], "sub_tool": tool, "definition": book.definitions[tool],
          "cues": "、".join(book.cues[tool]), "exclude": "、".join(book.exclude.get(tool, ()))}
         for tool in book.sub_tools()],
        columns=["type", "sub_tool", "definition", "cues", "exclude"],
    )


# --- coding -------------------------------------------------------------------------------------


def find_cues(text: str, book: Toolbook) -> list[tuple[int, str]]:
    """(offset, cue) of every counted cue in `text`: longest first, no overlaps; an excluded phrase
    hides the cues inside it."""
    return [(m.start(), m.group()) for m in book.pattern.finditer(text) if m.group() in book.tool_of]


def unit_label(doc_id: str, section_no: Any, item_no: Any) -> str:
    """The coding unit as printed: 编号-章-条 (plan id, section as a Chinese numeral, printed item number)."""
    section = chinese_numeral(int(section_no)) if pd.notna(section_no) else ""
    return f"{doc_id}-{section}-{item_no}"


def sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence) of every sentence of `text`: a sentence ends after 。；！？ (or ! ? ;) and any
    closing quotes or brackets that follow, or at a line end; `text[offset:offset + len(sentence)]`
    is the sentence exactly. Whitespace-only pieces are dropped."""
    return [(m.start(), m.group()) for m in SENTENCE.finditer(text) if m.group().strip()]


def code_items(items: pd.DataFrame, book: Toolbook) -> pd.DataFrame:
    """One row per item × sentence × sub-tool found in the sentence (its distinct cues in text order,
    joined by 、; `sentence` numbers the item's sentences from 1, `start` is the sentence's offset in
    the item text, `sentence_text` the sentence), and one row with empty sentence, type, sub-tool and
    cue for an item without any: every item is coded or explicitly not. Cues never hold a sentence
    end, so matching each sentence finds exactly the cues of matching the whole item."""
    order = {tool: at for at, tool in enumerate(book.sub_tools())}
    rows = []
    for item in items.itertuples(index=False):
        unit = unit_label(item.doc_id, item.section_no, item.item_no)
        base = {"doc_id": item.doc_id, "item_seq": int(item.item_seq), "unit": unit}
        coded = False
        for number, (start, text) in enumerate(sentences(str(item.text)), start=1):
            found: dict[str, list[str]] = {}
            for _, cue in find_cues(text, book):
                found.setdefault(book.tool_of[cue], [])
                if cue not in found[book.tool_of[cue]]:
                    found[book.tool_of[cue]].append(cue)
            rows.extend({**base, "sentence": number, "start": start, "type": book.type_of[tool], "sub_tool": tool,
                         "cue": "、".join(found[tool]), "sentence_text": text}
                        for tool in sorted(found, key=order.get))
            coded = coded or bool(found)
        if not coded:
            rows.append({**base, "sentence": pd.NA, "start": pd.NA, "type": "", "sub_tool": "", "cue": "",
                         "sentence_text": ""})
    frame = pd.DataFrame(rows, columns=CODE_COLUMNS).astype({"sentence": "Int64", "start": "Int64"})
    return frame.sort_values(["doc_id", "item_seq"], kind="stable").reset_index(drop=True)


def joined_cues(found: pd.Series) -> str:
    """The distinct cues of several codes (each "cue、cue"), in order of first appearance, joined by 、."""
    return "、".join(dict.fromkeys(c for cue in found for c in cue.split("、") if c))


def item_codes(codes: pd.DataFrame, book: Toolbook) -> pd.DataFrame:
    """The item level of sentence codes (code_items): one row per item × sub-tool (an item uses a
    sub-tool when any of its sentences does; its distinct cues in text order), sub-tools in codebook
    order, and the uncoded items' rows; ITEM_COLUMNS. The `codes` of the summaries, the X–Y matrix
    and the validation count these item × sub-tool codes."""
    order = {tool: at for at, tool in enumerate(["", *book.sub_tools()])}
    keys = ["doc_id", "item_seq", "sub_tool"]
    cues: dict[tuple, dict[str, None]] = {}  # a plain loop: a groupby aggregation took 5 s at 1,000 plans
    for key, cue in zip(zip(*(codes[k] for k in keys), strict=True), codes["cue"], strict=True):
        cues.setdefault(key, {}).update(dict.fromkeys(c for c in cue.split("、") if c))
    out = codes.drop_duplicates(keys)[[*keys, "unit", "type"]]
    out = out.assign(cue=["、".join(cues[key]) for key in zip(*(out[k] for k in keys), strict=True)])
    out = out.sort_values(["doc_id", "item_seq", "sub_tool"], kind="stable",
                          key=lambda column: column.map(order) if column.name == "sub_tool" else column)
    return out[ITEM_COLUMNS].reset_index(drop=True)


# --- item bootstrap of shares ---------------------------------------------------------------------


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


def summarise(codes: pd.DataFrame, book: Toolbook, params: StatisticsParams) -> pd.DataFrame:
    """Per plan, every type and sub-tool (zeros included): `codes` (item × sub-tool codes; at type
    level the sum of its sub-tools), their `share` of the plan's codes with its item-bootstrap
    interval `share_low`/`share_high` (NaN, n/a, for a plan with fewer than `params.min_items`
    items), `items` using it and `item_share` of the plan's items; `sentence_codes` (sentence ×
    sub-tool codes, the finer unit: never added to `codes`); `n_items`, `n_uncoded` (items without
    any code). `codes`: code_items' sentence codes."""
    items = item_codes(codes, book)
    kinds, tools = list(book.tools), book.sub_tools()
    of_type = np.array([[book.type_of[tool] == kind for kind in kinds] for tool in tools], dtype=float)
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
              for level, tool in (("type", ""), *(("sub_tool", tool) for tool in book.tools[kind]))]
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


def item_themes(tables: CorpusTables, lexicon) -> pd.DataFrame:
    """(doc_id, item_seq, theme) for each item holding a counted mention of the theme."""
    kwic = stat_kwic(tables, lexicon).dropna(subset=["item_seq"])
    return kwic.astype({"item_seq": int})[["doc_id", "item_seq", "theme"]].drop_duplicates()


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


# --- validation against the hand coding ----------------------------------------------------------


def read_tool_annotations(path: Path) -> pd.DataFrame | None:
    """The hand coding (ANNOTATION_COLUMNS; `sub_tool` empty for an item coded with none), or None
    when the file is absent."""
    path = Path(path)
    if not path.is_file():
        return None
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    if missing := [column for column in ANNOTATION_COLUMNS if column not in frame]:
        raise ProjectError(f"{path}: missing column(s) {', '.join(missing)}; the coding has "
                           f"{', '.join(ANNOTATION_COLUMNS)}")
    seq = pd.to_numeric(frame["item_seq"], errors="coerce")
    if bad := [f"{path}: line {at + 2}: item_seq must be a whole number" for at in frame.index[~(seq % 1 == 0)]]:
        raise ProjectError(*bad)
    frame = frame[ANNOTATION_COLUMNS].assign(item_seq=seq.astype(int), sub_tool=frame["sub_tool"].str.strip())
    if repeated := frame[frame.duplicated(["doc_id", "item_seq", "sub_tool"])].index.tolist():
        raise ProjectError(*(f"{path}: line {at + 2}: this item × sub-tool is coded twice; keep one"
                             for at in repeated))
    return frame


def item_matrix(pairs: pd.DataFrame, keys: pd.DataFrame, tools: list[str]) -> pd.DataFrame:
    """0/1 frame: one row per (doc_id, item_seq) in `keys`, one column per sub-tool in `tools`."""
    used = pairs[pairs["sub_tool"].isin(tools)].assign(flag=1)
    wide = used.pivot_table(index=["doc_id", "item_seq"], columns="sub_tool", values="flag", aggfunc="max")
    wide = wide.reindex(columns=tools).fillna(0).astype(int)
    index = pd.MultiIndex.from_frame(keys[["doc_id", "item_seq"]])
    return wide.reindex(index, fill_value=0)


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else float("nan")


def kappa(code: pd.Series, predicted: pd.Series) -> float:
    """Cohen's κ of two 0/1 codings (sklearn), 4 decimals; NaN when it is undefined (both constant)."""
    from sklearn.metrics import cohen_kappa_score

    if len(code) == 0 or (code.nunique() == 1 and predicted.nunique() == 1):
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = cohen_kappa_score(code, predicted)
    return round(float(value), 4) if pd.notna(value) else float("nan")


def agreement_row(level: str, kind: str, tool: str, code: pd.Series, predicted: pd.Series) -> dict:
    code, predicted = code.astype(int), predicted.astype(int)
    tp = int(((code == 1) & (predicted == 1)).sum())
    fp = int(((code == 0) & (predicted == 1)).sum())
    fn = int(((code == 1) & (predicted == 0)).sum())
    return {"level": level, "type": kind, "sub_tool": tool, "n_items": len(code), "tp": tp, "fp": fp, "fn": fn,
            "tn": len(code) - tp - fp - fn, "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn),
            "f1": _ratio(2 * tp, 2 * tp + fp + fn), "kappa": kappa(code, predicted)}


def compare_coding(hand: pd.DataFrame, codes: pd.DataFrame, book: Toolbook) -> pd.DataFrame:
    """Per type (an item uses the type when it uses any of its sub-tools) and per sub-tool, item by
    item over the hand-coded items: confusion counts, precision, recall, F1 and Cohen's κ."""
    keys = hand[["doc_id", "item_seq"]].drop_duplicates().sort_values(["doc_id", "item_seq"])
    tools = book.sub_tools()
    gold, guess = item_matrix(hand, keys, tools), item_matrix(codes, keys, tools)
    rows = []
    for kind, members in book.tools.items():
        rows.append(agreement_row("type", kind, "", gold[list(members)].max(axis=1), guess[list(members)].max(axis=1)))
        rows.extend(agreement_row("sub_tool", kind, tool, gold[tool], guess[tool]) for tool in members)
    return pd.DataFrame(rows, columns=VALIDATION_COLUMNS)


def disagreements(hand: pd.DataFrame, codes: pd.DataFrame, items: pd.DataFrame, book: Toolbook) -> pd.DataFrame:
    """Every hand-coded item × sub-tool where the cues and the hand coding differ, with the cues
    found, the coder's note and the item text."""
    keys = hand[["doc_id", "item_seq"]].drop_duplicates().sort_values(["doc_id", "item_seq"])
    tools = book.sub_tools()
    gold, guess = item_matrix(hand, keys, tools), item_matrix(codes, keys, tools)
    differ = (gold != guess).stack()
    differ = differ[differ].index.to_frame(index=False)
    differ.columns = ["doc_id", "item_seq", "sub_tool"]
    if differ.empty:
        return pd.DataFrame(columns=DISAGREEMENT_COLUMNS)
    notes = hand.set_index(["doc_id", "item_seq", "sub_tool"])["note"]
    found = codes.set_index(["doc_id", "item_seq", "sub_tool"])["cue"]
    info = items.set_index(["doc_id", "item_seq"])
    rows = []
    for doc_id, seq, tool in differ.itertuples(index=False):
        item = info.loc[(doc_id, seq)]
        rows.append({"doc_id": doc_id, "item_seq": int(seq), "unit": unit_label(doc_id, item["section_no"],
                     item["item_no"]), "type": book.type_of[tool], "sub_tool": tool,
                     "code": int(gold.loc[(doc_id, seq), tool]), "predicted": int(guess.loc[(doc_id, seq), tool]),
                     "cues": found.get((doc_id, seq, tool), ""), "note": notes.get((doc_id, seq, tool), ""),
                     "text": item["text"]})
    order = {tool: at for at, tool in enumerate(tools)}
    frame = pd.DataFrame(rows, columns=DISAGREEMENT_COLUMNS)
    return frame.sort_values(["doc_id", "item_seq", "sub_tool"], key=lambda c: c.map(order) if c.name == "sub_tool"
                             else c).reset_index(drop=True)


def coverage_notes(hand: pd.DataFrame, items: pd.DataFrame, book: Toolbook, path: Path) -> list[str]:
    """One line per problem that leaves coded items out: a plan not in the corpus, items not in
    items.csv or not coded, a sub-tool the codebook does not have."""
    notes = validation_coverage(hand, items, path, "the policy-tool validation")
    if unknown := sorted(set(hand["sub_tool"]) - set(book.type_of) - {""}):
        notes.append(f"{path}: coded sub-tool(s) {', '.join(unknown)} are not in the codebook; not validated")
    return notes


# --- the stage -----------------------------------------------------------------------------------


@dataclass
class PolicyToolTables:
    """The stage's five tables, and its notes (one printable line each)."""

    policy_tools: pd.DataFrame
    policy_tool_summary: pd.DataFrame
    policy_tool_matrix: pd.DataFrame
    policy_tool_validation: pd.DataFrame
    policy_tool_disagreements: pd.DataFrame
    notes: list[str] = field(default_factory=list)


TABLE_NAMES = tuple(f.name for f in fields(PolicyToolTables) if f.name != "notes")


def build_policy_tools(tables: CorpusTables, book: Toolbook, lexicon, annotations_path: Path,
                       params: StatisticsParams) -> PolicyToolTables:
    """Code every sentence of every item, summarise, cross with themes and sections, validate the
    item level against the hand coding."""
    items = tables.items
    sentence_codes = code_items(items, book)
    codes = item_codes(sentence_codes, book)
    summary = summarise(sentence_codes, book, params)
    xy = matrix(codes, items, item_themes(tables, lexicon), list(lexicon.terms))
    hand = read_tool_annotations(annotations_path)
    if hand is None:
        return PolicyToolTables(sentence_codes, summary, xy, pd.DataFrame(columns=VALIDATION_COLUMNS),
                                pd.DataFrame(columns=DISAGREEMENT_COLUMNS),
                                [f"{annotations_path}: not found, so the policy-tool cues are not validated"])
    notes = coverage_notes(hand, items, book, annotations_path)
    present = items[["doc_id", "item_seq"]]
    hand = hand.merge(present, on=["doc_id", "item_seq"])
    return PolicyToolTables(sentence_codes, summary, xy, compare_coding(hand, codes, book),
                            disagreements(hand, codes, items, book), notes)


def run_stage(tables: CorpusTables, paths: Paths, out: Path) -> list[str]:
    """The pipeline stage (analysis.stages.registry): write the five tables; the notes are its warnings."""
    built = build_policy_tools(tables, load_toolbook(paths.params / "policy_tools.yaml"),
                               load_lexicon(paths.params / "themes.yaml"), paths.policy_tool_annotations,
                               StatisticsParams.from_yaml(paths.params / "statistics.yaml"))
    write_tables(out, {f"{name}.csv": getattr(built, name) for name in TABLE_NAMES})
    return built.notes


# --- display helpers for the notebooks (they read the processed snapshot, never process) ---------


def type_order(summary: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(summary.loc[summary["level"] == "type", "type"]))


def share_table(data, doc_ids: list[str], level: str = "type") -> pd.DataFrame:
    """Plans × types (or sub-tools): each one's share of the plan's codes, with the plan's items and
    codes; one row per plan in `doc_ids`, labelled by district and year."""
    from analysis.views.report import plan_names

    summary = data.policy_tool_summary
    rows = summary[(summary["level"] == level) & summary["doc_id"].isin(doc_ids)]
    column = "type" if level == "type" else "sub_tool"
    wide = rows.pivot_table(index="doc_id", columns=column, values="share", aggfunc="first", sort=False)
    wide = wide.reindex(columns=list(dict.fromkeys(rows[column])))
    totals = rows.groupby("doc_id").agg(n_items=("n_items", "first"), codes=("codes", "sum"),
                                        n_uncoded=("n_uncoded", "first"))
    out = totals.join(wide).reset_index()
    out.insert(0, "plan", out["doc_id"].map(plan_names(data.documents)))
    return out.drop(columns="doc_id")


def statistics_params(data) -> StatisticsParams:
    """The bootstrap settings (params/statistics.yaml) the stage used for the snapshot's intervals."""
    return StatisticsParams.from_yaml(data.paths.params / "statistics.yaml")


def pooled_items(data, doc_ids: list[str]) -> int:
    """The items of the plans in `doc_ids` together (the summary's n_items)."""
    summary = data.policy_tool_summary
    rows = summary[(summary["level"] == "type") & summary["doc_id"].isin(doc_ids)]
    return int(rows.drop_duplicates("doc_id")["n_items"].sum())


def pooled_bootstrap(data, doc_ids: list[str]) -> np.ndarray:
    """(replicates, types): the pooled type shares of the plans in `doc_ids` in each replicate of the
    item bootstrap (items resampled within each plan; replicates without any code left out); no
    replicate at all when the plans have fewer than `min_items` items together (no interval)."""
    params, kinds = statistics_params(data), type_order(data.policy_tool_summary)
    if not params.enough_items(pooled_items(data, doc_ids)):
        return np.empty((0, len(kinds)))
    return replicate_shares(pooled_replicates(data.policy_tools, doc_ids, kinds, params))


def pooled_shares(data, doc_ids: list[str], shares: np.ndarray | None = None) -> pd.DataFrame:
    """Per type over the plans in `doc_ids`: pooled codes and share with its item-bootstrap interval
    (`share_low`, `share_high`; from `shares` when given, else pooled_bootstrap; NaN, n/a, with fewer
    than `min_items` items in all), the plans' items together (`n_items`), and the median and range
    of the plans' own shares."""
    summary = data.policy_tool_summary
    rows = summary[(summary["level"] == "type") & summary["doc_id"].isin(doc_ids)]
    total = rows["codes"].sum()
    out = rows.groupby("type", sort=False).agg(codes=("codes", "sum"), median_share=("share", "median"),
                                               min_share=("share", "min"), max_share=("share", "max"))
    out.insert(1, "share", (out["codes"] / total).round(4) if total else float("nan"))
    shares = pooled_bootstrap(data, doc_ids) if shares is None else shares
    bounds = share_bounds(shares, len(out), statistics_params(data).level)
    out.insert(2, "share_low", bounds[0])
    out.insert(3, "share_high", bounds[1])
    out.insert(4, "n_items", pooled_items(data, doc_ids))
    return out.reset_index()


def dominant_types(data, doc_ids: list[str]) -> pd.Series:
    """doc_id → the type with the largest share of the plan's codes (ties joined by ＝)."""
    summary = data.policy_tool_summary
    rows = summary[(summary["level"] == "type") & summary["doc_id"].isin(doc_ids) & (summary["codes"] > 0)]
    return rows.groupby("doc_id").apply(
        lambda plan: "＝".join(plan.loc[plan["codes"] == plan["codes"].max(), "type"]), include_groups=False)


def margin_low(shares: np.ndarray, at: int, level: float) -> float:
    """Lower bound of the percentile interval of column `at` minus the largest other column, over
    the replicates of `shares`: above 0 when the data support "column `at` is the largest"."""
    if len(shares) == 0 or shares.shape[1] < 2:
        return float("nan")
    lead = shares[:, at] - np.delete(shares, at, axis=1).max(axis=1)
    return float(percentile_interval(lead, level)[0])


def too_few(n_items: int, params: StatisticsParams) -> str:
    """Why a share has no interval: the reason shown in place of it."""
    return f"仅 {n_items} 个条目，少于 {params.min_items} 个不计算区间"


def _interval_text(row: pd.Series, n_items: int, params: StatisticsParams) -> str:
    if pd.isna(row["share_low"]):
        return f"{row['share']:.0%}，区间 n/a：{too_few(n_items, params)}"
    return f"{row['share']:.0%}，{params.level:.0%} 区间 {row['share_low']:.0%}–{row['share_high']:.0%}"


def share_verdicts(shares: pd.Series, replicates: np.ndarray, n_items: int, params: StatisticsParams
                   ) -> tuple[str, str]:
    """What may be said of the largest and of the smallest of `shares` (type → share, in the order of
    the columns of `replicates`, pooled_bootstrap): 主导 (稀缺) only when the interval of its margin
    over (under) every other type excludes 0, else that the gap to the nearest type is uncertain;
    with fewer than `min_items` items, that there are too few items to judge either."""
    if not params.enough_items(n_items):
        return "条目太少，不据此判断是否主导", "也不判断是否稀缺"
    top, low = int(np.argmax(shares.to_numpy())), int(np.argmin(shares.to_numpy()))
    second, next_low = shares.drop(index=shares.index[top]).idxmax(), shares.drop(index=shares.index[low]).idxmin()
    return ("高于其他各类型的幅度在自助法区间内不含 0，可称为主导" if margin_low(replicates, top, params.level) > 0
            else f"但与{second}的差距在自助法区间内不确定，不宜称为主导",
            "低于其他各类型的幅度在自助法区间内不含 0，可称为稀缺" if margin_low(-replicates, low, params.level) > 0
            else f"但与{next_low}的差距在自助法区间内不确定，不宜称为稀缺")


def findings_html(data, doc_ids: list[str]):
    """One paragraph stated from the data: the types with the largest and smallest pooled share
    with their intervals — called 主导 (dominant) or 稀缺 (scarce) only as share_verdicts allows (never
    with fewer than `min_items` items in all) — and in how many plans each type has the largest share."""
    from analysis.views.report import safe_html

    shares, params = pooled_bootstrap(data, doc_ids), statistics_params(data)
    pooled = pooled_shares(data, doc_ids, shares)
    if pooled.empty or pooled["codes"].sum() == 0:
        return safe_html("<p>这些计划中没有编码到任何政策工具。</p>")
    top, low = int(pooled["share"].idxmax()), int(pooled["share"].idxmin())
    n_items = pooled_items(data, doc_ids)
    top_verdict, low_verdict = share_verdicts(pooled.set_index("type")["share"], shares, n_items, params)
    counts = dominant_types(data, doc_ids).value_counts()
    return safe_html(
        "<p>在所选 {n} 份计划的 {codes} 个“条目 × 子工具”编码中，<b>{top}</b>占比最高（{top_share}），{top_verdict}；"
        "<b>{low}</b>最低（{low_share}），{low_verdict}。以各计划自身占比最高的类型计：{spread}。"
        "（区间：在每份计划内对条目重抽样的自助法。）</p>",
        n=len(doc_ids), codes=int(pooled["codes"].sum()), top=pooled.loc[top, "type"],
        top_share=_interval_text(pooled.loc[top], n_items, params), low=pooled.loc[low, "type"],
        low_share=_interval_text(pooled.loc[low], n_items, params), top_verdict=top_verdict,
        low_verdict=low_verdict, spread="、".join(f"{kind} {n} 份" for kind, n in counts.items()),
    )


def _share_cell(row, params: StatisticsParams) -> str:
    """"46%（40–52%）"; "100%（n/a：仅 1 个条目，…）" without an interval; "—" without a share."""
    if pd.isna(row.share):
        return "—"
    if pd.isna(row.share_low):
        return f"{row.share:.0%}（n/a：{too_few(row.n_items, params)}）"
    return f"{row.share:.0%}（{row.share_low:.0%}–{row.share_high:.0%}）"


def interval_table(data, doc_ids: list[str]) -> pd.DataFrame:
    """Plans (and, with two or more, the pooled row 合并) × types: share of the item × sub-tool codes
    with its item-bootstrap interval (params/statistics.yaml `level`), as text "46%（40–52%）" (n/a and
    why with fewer than `min_items` items), and the items and codes."""
    long, params = type_intervals(data, doc_ids), statistics_params(data)
    long = long.assign(cell=[_share_cell(row, params) for row in long.itertuples(index=False)])
    wide = long.pivot_table(index="plan", columns="type", values="cell", aggfunc="first", sort=False)
    wide = wide.reindex(columns=type_order(data.policy_tool_summary))
    totals = long.groupby("plan", sort=False).agg(n_items=("n_items", "first"), codes=("codes", "sum"))
    return totals.join(wide).reset_index()


def type_intervals(data, doc_ids: list[str]) -> pd.DataFrame:
    """Long: plan, type, n_items, codes, share, share_low, share_high (NaN, n/a, with fewer than
    `min_items` items) for each plan of `doc_ids` (summary order) and, with two or more plans, the
    pooled row `合并 pooled`."""
    from analysis.views.report import plan_names

    summary = data.policy_tool_summary
    rows = summary[(summary["level"] == "type") & summary["doc_id"].isin(doc_ids)]
    out = rows.assign(plan=rows["doc_id"].map(plan_names(data.documents)))[
        ["plan", "type", "n_items", "codes", "share", "share_low", "share_high"]]
    if len(set(rows["doc_id"])) > 1:
        pooled = pooled_shares(data, doc_ids)[["type", "n_items", "codes", "share", "share_low", "share_high"]]
        out = pd.concat([out, pooled.assign(plan=POOLED)[out.columns]], ignore_index=True)
    return out.reset_index(drop=True)


def sentence_overview(data, doc_ids: list[str]) -> pd.DataFrame:
    """Per plan of `doc_ids`: its items, the coded ones, those mixing two or more types, those whose
    codes come from two or more sentences, and its item × sub-tool and sentence × sub-tool codes
    (two counting units, side by side: never to be added)."""
    from analysis.views.report import plan_names

    codes = data.policy_tools[data.policy_tools["doc_id"].isin(doc_ids)]
    coded = codes[codes["sub_tool"] != ""]
    per_item = coded.groupby(["doc_id", "item_seq"]).agg(types=("type", "nunique"), sentences=("sentence", "nunique"))
    out = pd.DataFrame({
        "n_items": codes.groupby("doc_id")["item_seq"].nunique(),
        "coded_items": per_item.groupby("doc_id").size(),
        "mixed_items": (per_item["types"] > 1).groupby("doc_id").sum(),
        "multi_sentence_items": (per_item["sentences"] > 1).groupby("doc_id").sum(),
        "codes": coded.drop_duplicates(["doc_id", "item_seq", "sub_tool"]).groupby("doc_id").size(),
        "sentence_codes": coded.groupby("doc_id").size(),
    }).fillna(0).astype(int)
    out.insert(0, "plan", out.index.map(plan_names(data.documents)))
    return out.reset_index(drop=True)


def mixed_examples(data, doc_ids: list[str], limit: int = 20) -> pd.DataFrame:
    """The sentence codes (unit, sentence, type, sub-tool, cue, sentence text) of the first items of
    `doc_ids` that mix two or more types, at most `limit` rows: where each code of an item comes from."""
    codes = data.policy_tools[data.policy_tools["doc_id"].isin(doc_ids) & (data.policy_tools["sub_tool"] != "")]
    mixed = codes.groupby(["doc_id", "item_seq"])["type"].transform("nunique") > 1
    return codes.loc[mixed, ["unit", "sentence", "type", "sub_tool", "cue", "sentence_text"]].head(limit)


def xy_table(data, doc_ids: list[str], dimension: str = "theme") -> pd.DataFrame:
    """The X–Y matrix summed over the plans in `doc_ids`: rows = themes (dimension "theme") or, per
    plan, its sections ("section"), columns = types, cells = item × sub-tool codes."""
    from analysis.views.report import plan_names

    if dimension not in ("theme", "section"):
        raise ProjectError(f"dimension: {dimension!r} is not allowed; use theme or section")
    frame = data.policy_tool_matrix
    rows = frame[(frame["dimension"] == dimension) & frame["doc_id"].isin(doc_ids)]
    kinds = type_order(data.policy_tool_summary)
    keys = ["y_order", "y"] if dimension == "theme" else ["doc_id", "y_order", "y"]
    wide = rows.pivot_table(index=keys, columns="type", values="codes", aggfunc="sum", fill_value=0)
    wide = wide.reindex(columns=kinds, fill_value=0).astype(int)
    wide["合计"] = wide.sum(axis=1)
    out = wide.reset_index().drop(columns="y_order")
    if dimension == "section":
        out.insert(0, "plan", out.pop("doc_id").map(plan_names(data.documents)))
    return out.rename(columns={"y": "主题 theme" if dimension == "theme" else "部分 section"})


def plan_vs_others(data, doc_id: str, doc_ids: list[str]) -> pd.DataFrame:
    """One plan's share of each type and sub-tool (with its item-bootstrap interval) against the
    median share of the other plans of `doc_ids` (complete or not, as given)."""
    summary = data.policy_tool_summary
    others = [d for d in doc_ids if d != doc_id]
    rows = summary[summary["doc_id"] == doc_id][["level", "type", "sub_tool", "codes", "share", "share_low",
                                                  "share_high"]]
    median = (summary[summary["doc_id"].isin(others)].groupby(["level", "type", "sub_tool"], sort=False)["share"]
              .median().rename("others_median").reset_index())
    out = rows.merge(median, on=["level", "type", "sub_tool"], how="left")
    out["sub_tool"] = out["sub_tool"].where(out["level"] == "sub_tool", ALL_TOOLS)
    return out.drop(columns="level")


def plan_findings_html(data, doc_id: str, doc_ids: list[str]):
    """One paragraph stated from the data: the plan's type with the largest share, with its interval,
    against the median share of the other plans of `doc_ids`, and whether it may be called 主导
    (share_verdicts: never with fewer than `min_items` items)."""
    from analysis.views.report import safe_html

    summary = data.policy_tool_summary
    rows = summary[(summary["level"] == "type") & (summary["doc_id"] == doc_id)]
    if rows.empty or rows["codes"].sum() == 0:
        return safe_html("<p>本计划没有编码到任何政策工具。</p>")
    compared = plan_vs_others(data, doc_id, doc_ids)
    types = compared[compared["sub_tool"] == ALL_TOOLS].set_index("type")
    top = rows.loc[rows["codes"].idxmax(), "type"]
    median = types.loc[top, "others_median"]
    params, n_items = statistics_params(data), int(rows["n_items"].iloc[0])
    verdict, _ = share_verdicts(types["share"].reindex(type_order(summary)), pooled_bootstrap(data, [doc_id]),
                                n_items, params)
    return safe_html(
        "<p>本计划共 {n_items} 个条目、{codes} 个“条目 × 子工具”编码，占比最高的是<b>{top}</b>（{share}；"
        "比较对象中其他计划的中位数 {median}），{verdict}。</p>",
        n_items=n_items, codes=int(rows["codes"].sum()), top=top, share=_interval_text(types.loc[top], n_items, params),
        median="—" if pd.isna(median) else f"{median:.0%}", verdict=verdict,
    )


def code_evidence(codes: pd.DataFrame, book: Toolbook) -> pd.DataFrame:
    """One row per item × sub-tool code of the sentence codes `codes` (code_items; the uncoded rows
    left out), in item order: doc_id, item_seq, unit (as printed), type, sub_tool, cue (its distinct
    cues), `sentences` (the numbers of the item's sentences coded with it, joined by 、), `n_sentences`
    and `html`: those sentences exactly, escaped, the cues the matcher counted for the sub-tool in
    <mark>, joined by " … "."""
    coded = codes[codes["sub_tool"] != ""]
    shown = coded.assign(html=[
        marked(text, [(at, cue) for at, cue in find_cues(text, book) if book.tool_of[cue] == tool])
        for text, tool in zip(coded["sentence_text"], coded["sub_tool"], strict=True)
    ])
    grouped = shown.groupby(["doc_id", "item_seq", "sub_tool"], sort=False)
    out = grouped[["unit", "type"]].first().join(grouped.agg(
        cue=("cue", joined_cues),
        sentences=("sentence", lambda numbers: "、".join(map(str, numbers))),
        n_sentences=("sentence", "size"), html=("html", " … ".join),
    )).reset_index()
    return out.sort_values(["doc_id", "item_seq"], kind="stable").reset_index(drop=True)


def tool_anchor(doc_id: str, name: str) -> str:
    """The id of a plan's evidence block for one type or sub-tool (names are unique across both)."""
    return anchor(doc_id, name, "tools")


def evidence_blocks(evidence: pd.DataFrame, doc_id: str, book: Toolbook) -> str:
    """Per type of the plan with codes, an open <details> block (id = tool_anchor) holding one closed
    block per sub-tool with codes: one list entry per item × sub-tool code — the unit as printed,
    its sentence numbers and cues, then the sentences with the cues marked (code_evidence). Each
    block's summary gives its codes (= the `codes` of plan_vs_others) and sentences; types and
    sub-tools without codes get no block."""
    plan = evidence[evidence["doc_id"] == doc_id]
    blocks = []
    for kind, tools in book.tools.items():
        inner = []
        for tool in tools:
            rows = plan[plan["sub_tool"] == tool]
            if rows.empty:
                continue
            lis = "".join(f"<li><span class='where'>{esc(r.unit)} · 句 {esc(r.sentences)} · {esc(r.cue)}</span>"
                          f"{r.html}</li>" for r in rows.itertuples())
            inner.append(f"<details class='kwic' id='{esc(tool_anchor(doc_id, tool))}'><summary>{esc(tool)}："
                         f"{len(rows)} 个编码（条目）· {rows['n_sentences'].sum()} 句</summary>"
                         f"<ol class='kwic'>{lis}</ol></details>")
        of_kind = plan[plan["type"] == kind]
        if inner:
            blocks.append(f"<details class='kwic' id='{esc(tool_anchor(doc_id, kind))}' open><summary>{esc(kind)}："
                          f"{len(of_kind)} 个“条目 × 子工具”编码 · {of_kind['n_sentences'].sum()} 句</summary>"
                          f"{''.join(inner)}</details>")
    return "\n".join(blocks)


def plan_evidence_html(data, doc_id: str):
    """The evidence of every number of plan_vs_others_table: evidence_blocks of the plan's codes in
    the snapshot, cues marked as the codebook (params/policy_tools.yaml, checked with the snapshot)
    finds them."""
    from IPython.display import HTML

    book = load_toolbook(data.paths.params / "policy_tools.yaml")
    codes = data.policy_tools[data.policy_tools["doc_id"] == doc_id]
    blocks = evidence_blocks(code_evidence(codes, book), doc_id, book)
    if not blocks:
        return HTML("<p>本计划没有编码到任何政策工具，没有可列的句子。</p>")
    return HTML("<p>证据 Evidence：上表 codes 列中大于 0 的数字都链接到这里；每个类型、子工具展开后逐条列出"
                "编码单位（编号-章-条，按印刷编号）、句号（条目内第几句）、命中的提示词和原句，提示词以底色标出。"
                "全部编码另见 data/processed/policy_tools.csv。</p>" + blocks)


def plan_vs_others_table(data, doc_id: str, doc_ids: list[str]):
    """plan_vs_others as a table whose `codes` cells (those above 0) link to their evidence block
    (plan_evidence_html)."""
    from analysis.views.report import table

    compared = plan_vs_others(data, doc_id, doc_ids)
    names = compared["sub_tool"].where(compared["sub_tool"] != ALL_TOOLS, compared["type"])
    links = pd.Series([tool_anchor(doc_id, name) if codes > 0 else ""
                       for name, codes in zip(names, compared["codes"], strict=True)], index=compared.index)
    return table(compared, links={"codes": links})


def district_plans(data, doc_id: str) -> list[str]:
    """doc_ids of every plan of `doc_id`'s district (all its years)."""
    documents = data.documents
    district = documents.loc[documents["doc_id"] == doc_id, "district"]
    return sorted(documents.loc[documents["district"].isin(district), "doc_id"])


def trend_table(data, doc_ids: list[str]) -> pd.DataFrame:
    """Type shares year by year for each district with plans of two or more years among `doc_ids`:
    district, year, plan, type, codes, share, share_low, share_high (item-bootstrap interval of each
    plan; NaN, n/a, for a plan with fewer than `min_items` items); empty when no district has two years."""
    from analysis.views.report import plan_names

    documents = data.documents[data.documents["doc_id"].isin(doc_ids)]
    documents = documents[documents.groupby("district")["year"].transform("nunique") > 1]
    summary = data.policy_tool_summary
    rows = summary[summary["level"] == "type"].merge(documents[["doc_id", "district", "year"]], on="doc_id")
    rows = rows.assign(plan=rows["doc_id"].map(plan_names(data.documents)))
    columns = ["district", "year", "plan", "type", "codes", "share", "share_low", "share_high"]
    return rows.sort_values(["district", "year", "doc_id"], kind="stable")[columns].reset_index(drop=True)


def _whiskers(rows: pd.DataFrame) -> np.ndarray:
    """(2, rows) distances from `share` down to `share_low` and up to `share_high`, for error bars."""
    return np.vstack([rows["share"] - rows["share_low"], rows["share_high"] - rows["share"]]).clip(min=0)


def plot_type_shares(intervals: pd.DataFrame):
    """Grouped bars: each plan's (and the pooled row's) share of each type, whiskers the item-bootstrap
    interval; `intervals` as type_intervals."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    from analysis.views.plots import use_cjk_font

    use_cjk_font()
    plans, kinds = list(dict.fromkeys(intervals["plan"])), list(dict.fromkeys(intervals["type"]))
    width = 0.8 / max(len(kinds), 1)
    fig = Figure(figsize=(max(6.0, 1.1 * len(plans) + 2), 4), layout="constrained")
    ax = fig.subplots()
    for at, kind in enumerate(kinds):
        rows = intervals[intervals["type"] == kind].set_index("plan").reindex(plans)
        ax.bar(np.arange(len(plans)) + (at - (len(kinds) - 1) / 2) * width, rows["share"], width, yerr=_whiskers(rows),
               capsize=3, label=kind)
    ax.set_xticks(range(len(plans)), plans, rotation=30, ha="right")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("占“条目 × 子工具”编码的比例 share of codes")
    ax.set_title("须线：条目自助法 95% 区间（条目太少则无）whiskers: item-bootstrap interval (none: too few items)",
                 fontsize=9)
    ax.legend(frameon=False, ncols=len(kinds))
    return fig


def plot_xy(data, doc_ids: list[str], dimension: str = "theme"):
    """Heatmap of the X–Y matrix (xy_table): rows the themes or each plan's sections (labels cut to
    LABEL_CHARS characters), columns the types, cells item × sub-tool codes."""
    from analysis.views.plots import plot_heatmap

    table = xy_table(data, doc_ids, dimension).drop(columns="合计")
    label = table.columns[1] if dimension == "section" else table.columns[0]
    shorten = table[label].map(lambda text: text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "…")
    index = shorten if dimension == "theme" else table["plan"] + " · " + shorten
    values = table.drop(columns=[c for c in ("plan", label) if c in table]).set_axis(index, axis=0)
    title = "政策工具 × " + ("主题" if dimension == "theme" else "部分") + "（条目 × 子工具编码数）"
    return plot_heatmap(values, title, fmt=".0f", cmap="Blues")


def plot_type_trends(trend: pd.DataFrame):
    """One panel per district (trend_table): each type's share by year, bars the item-bootstrap interval."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    from analysis.views.plots import use_cjk_font

    use_cjk_font()
    districts = list(dict.fromkeys(trend["district"]))
    fig = Figure(figsize=(4.2 * len(districts) + 1, 3.6), layout="constrained")
    axes = fig.subplots(1, len(districts), sharey=True, squeeze=False)[0]
    for ax, district in zip(axes, districts, strict=True):
        for kind, rows in trend[trend["district"] == district].groupby("type", sort=False):
            ax.errorbar(rows["year"], rows["share"], yerr=_whiskers(rows), marker="o", capsize=3, label=kind)
        ax.set_title(district)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("年份 year")
    axes[0].yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes[0].set_ylabel("占“条目 × 子工具”编码的比例 share of codes")
    axes[-1].legend(frameon=False)
    fig.suptitle("竖线：条目自助法 95% 区间（条目太少则无）bars: item-bootstrap interval (none: too few items)",
                 fontsize=9)
    return fig


def validation_html(data):
    """The cues against the hand coding (policy_tool_validation.csv), item level, for a page: Cohen's
    κ and precision/recall per type and sub-tool; a note when there is no hand coding."""
    from analysis.views.report import safe_html, table

    v = data.policy_tool_validation
    if v.empty:
        return safe_html("<p>没有人工编码，提示词未经验证。 No hand coding: the cues are not validated.</p>")
    return table(pd.DataFrame({
        "类型 type": v["type"], "子工具 sub-tool": v["sub_tool"].fillna("").replace("", ALL_TOOLS),
        "条目 items": v["n_items"], "一致为是 tp": v["tp"], "误报 fp": v["fp"], "漏报 fn": v["fn"],
        "精确率 precision": v["precision"].round(2), "召回率 recall": v["recall"].round(2), "F1": v["f1"].round(2),
        "κ": v["kappa"].round(2),
    }))
