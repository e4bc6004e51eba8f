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

import pandas as pd

from analysis.dataset import CorpusTables
from analysis.files import write_tables
from analysis.params import load_yaml
from analysis.paths import Paths, ProjectError
from analysis.structure import chinese_numeral
from analysis.themes import (
    THEME_NAME_RULE,
    _is_theme_name,
    _term_problem,
    load_lexicon,
    longest_first,
    stat_kwic,
)
from analysis.validation import coverage_notes as validation_coverage

CODE_COLUMNS = ["doc_id", "item_seq", "unit", "type", "sub_tool", "cue"]
SUMMARY_COLUMNS = ["doc_id", "level", "type", "sub_tool", "codes", "share", "items", "item_share", "n_items",
                   "n_uncoded"]
MATRIX_COLUMNS = ["doc_id", "dimension", "y_order", "y", "type", "sub_tool", "codes"]
VALIDATION_COLUMNS = ["level", "type", "sub_tool", "n_items", "tp", "fp", "fn", "tn", "precision", "recall", "f1",
                      "kappa"]
DISAGREEMENT_COLUMNS = ["doc_id", "item_seq", "unit", "type", "sub_tool", "code", "predicted", "cues", "note", "text"]
ANNOTATION_COLUMNS = ["doc_id", "item_seq", "sub_tool", "note"]
NO_THEME = "(无主题)"


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


def code_items(items: pd.DataFrame, book: Toolbook) -> pd.DataFrame:
    """One row per item × sub-tool found (its distinct cues in text order, joined by 、), and one row
    with empty type, sub-tool and cue for an item without any: every item is coded or explicitly not."""
    order = {tool: at for at, tool in enumerate(book.sub_tools())}
    rows = []
    for item in items.itertuples(index=False):
        unit = unit_label(item.doc_id, item.section_no, item.item_no)
        found: dict[str, list[str]] = {}
        for _, cue in find_cues(str(item.text), book):
            found.setdefault(book.tool_of[cue], [])
            if cue not in found[book.tool_of[cue]]:
                found[book.tool_of[cue]].append(cue)
        if not found:
            rows.append({"doc_id": item.doc_id, "item_seq": int(item.item_seq), "unit": unit, "type": "",
                         "sub_tool": "", "cue": ""})
        for tool in sorted(found, key=order.get):
            rows.append({"doc_id": item.doc_id, "item_seq": int(item.item_seq), "unit": unit,
                         "type": book.type_of[tool], "sub_tool": tool, "cue": "、".join(found[tool])})
    frame = pd.DataFrame(rows, columns=CODE_COLUMNS)
    return frame.sort_values(["doc_id", "item_seq"], kind="stable").reset_index(drop=True)


def summarise(codes: pd.DataFrame, book: Toolbook) -> pd.DataFrame:
    """Per plan, every type and sub-tool (zeros included): `codes` (item × sub-tool codes; at type
    level the sum of its sub-tools) and their `share` of the plan's codes, `items` using it and
    `item_share` of the plan's items; `n_items`, `n_uncoded` (items without any code)."""
    rows = []
    for doc_id, plan in codes.groupby("doc_id", sort=True):
        coded = plan[plan["sub_tool"] != ""]
        n_items, total = plan["item_seq"].nunique(), len(coded)
        base = {"doc_id": doc_id, "n_items": n_items, "n_uncoded": n_items - coded["item_seq"].nunique()}
        for kind, tools in book.tools.items():
            used = coded[coded["type"] == kind]
            rows.append(_summary_row(base, "type", kind, "", used, total))
            rows.extend(_summary_row(base, "sub_tool", kind, tool, used[used["sub_tool"] == tool], total)
                        for tool in tools)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _summary_row(base: dict, level: str, kind: str, tool: str, used: pd.DataFrame, total: int) -> dict:
    items = used["item_seq"].nunique()
    return {**base, "level": level, "type": kind, "sub_tool": tool, "codes": len(used),
            "share": round(len(used) / total, 4) if total else float("nan"), "items": items,
            "item_share": round(items / base["n_items"], 4)}


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


def build_policy_tools(tables: CorpusTables, book: Toolbook, lexicon, annotations_path: Path) -> PolicyToolTables:
    """Code every item, summarise, cross with themes and sections, validate against the hand coding."""
    items = tables.items
    codes = code_items(items, book)
    summary = summarise(codes, book)
    xy = matrix(codes, items, item_themes(tables, lexicon), list(lexicon.terms))
    hand = read_tool_annotations(annotations_path)
    if hand is None:
        return PolicyToolTables(codes, summary, xy, pd.DataFrame(columns=VALIDATION_COLUMNS),
                                pd.DataFrame(columns=DISAGREEMENT_COLUMNS),
                                [f"{annotations_path}: not found, so the policy-tool cues are not validated"])
    notes = coverage_notes(hand, items, book, annotations_path)
    present = items[["doc_id", "item_seq"]]
    hand = hand.merge(present, on=["doc_id", "item_seq"])
    return PolicyToolTables(codes, summary, xy, compare_coding(hand, codes, book),
                            disagreements(hand, codes, items, book), notes)


def run_stage(tables: CorpusTables, paths: Paths, out: Path) -> list[str]:
    """The pipeline stage (analysis.stages): write the five tables; the notes are its warnings."""
    built = build_policy_tools(tables, load_toolbook(paths.params / "policy_tools.yaml"),
                               load_lexicon(paths.params / "themes.yaml"), paths.policy_tool_annotations)
    write_tables(out, {f"{name}.csv": getattr(built, name) for name in TABLE_NAMES})
    return built.notes


# --- display helpers for the notebooks (they read the processed snapshot, never process) ---------


def type_order(summary: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(summary.loc[summary["level"] == "type", "type"]))


def share_table(data, doc_ids: list[str], level: str = "type") -> pd.DataFrame:
    """Plans × types (or sub-tools): each one's share of the plan's codes, with the plan's items and
    codes; one row per plan in `doc_ids`, labelled by district and year."""
    from analysis.report import plan_names

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


def pooled_shares(data, doc_ids: list[str]) -> pd.DataFrame:
    """Per type over the plans in `doc_ids`: pooled codes and share, and the median and range of the
    plans' own shares."""
    summary = data.policy_tool_summary
    rows = summary[(summary["level"] == "type") & summary["doc_id"].isin(doc_ids)]
    total = rows["codes"].sum()
    out = rows.groupby("type", sort=False).agg(codes=("codes", "sum"), median_share=("share", "median"),
                                               min_share=("share", "min"), max_share=("share", "max"))
    out.insert(1, "share", (out["codes"] / total).round(4) if total else float("nan"))
    return out.reset_index()


def dominant_types(data, doc_ids: list[str]) -> pd.Series:
    """doc_id → the type with the largest share of the plan's codes (ties joined by ＝)."""
    summary = data.policy_tool_summary
    rows = summary[(summary["level"] == "type") & summary["doc_id"].isin(doc_ids) & (summary["codes"] > 0)]
    return rows.groupby("doc_id").apply(
        lambda plan: "＝".join(plan.loc[plan["codes"] == plan["codes"].max(), "type"]), include_groups=False)


def findings_html(data, doc_ids: list[str]):
    """One paragraph stated from the data: the type with the largest pooled share, and in how many
    plans each type dominates."""
    from analysis.report import safe_html

    pooled = pooled_shares(data, doc_ids)
    if pooled.empty or pooled["codes"].sum() == 0:
        return safe_html("<p>这些计划中没有编码到任何政策工具。</p>")
    top = pooled.loc[pooled["codes"].idxmax()]
    low = pooled.loc[pooled["codes"].idxmin()]
    counts = dominant_types(data, doc_ids).value_counts()
    spread = "、".join(f"{kind} {n} 份" for kind, n in counts.items())
    return safe_html(
        "<p>在所选 {n} 份计划的 {codes} 个“条目 × 子工具”编码中，<b>{top}</b>占比最高（{top_share}），"
        "<b>{low}</b>最低（{low_share}）。以各计划自身占比最高的类型计：{spread}。</p>",
        n=len(doc_ids), codes=int(pooled["codes"].sum()), top=top["type"], top_share=f"{top['share']:.0%}",
        low=low["type"], low_share=f"{low['share']:.0%}", spread=spread,
    )


def xy_table(data, doc_ids: list[str], dimension: str = "theme") -> pd.DataFrame:
    """The X–Y matrix summed over the plans in `doc_ids`: rows = themes (dimension "theme") or, per
    plan, its sections ("section"), columns = types, cells = item × sub-tool codes."""
    from analysis.report import plan_names

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
    """One plan's share of each type and sub-tool against the median share of the other plans of
    `doc_ids` (complete or not, as given)."""
    summary = data.policy_tool_summary
    others = [d for d in doc_ids if d != doc_id]
    rows = summary[summary["doc_id"] == doc_id][["level", "type", "sub_tool", "codes", "share"]]
    median = (summary[summary["doc_id"].isin(others)].groupby(["level", "type", "sub_tool"], sort=False)["share"]
              .median().rename("others_median").reset_index())
    out = rows.merge(median, on=["level", "type", "sub_tool"], how="left")
    out["sub_tool"] = out["sub_tool"].where(out["level"] == "sub_tool", "（合计 all）")
    return out.drop(columns="level")


def plan_findings_html(data, doc_id: str, doc_ids: list[str]):
    """One paragraph stated from the data: the plan's dominant type and its share against the median
    share of the other plans of `doc_ids`."""
    from analysis.report import safe_html

    summary = data.policy_tool_summary
    rows = summary[(summary["level"] == "type") & (summary["doc_id"] == doc_id)]
    if rows.empty or rows["codes"].sum() == 0:
        return safe_html("<p>本计划没有编码到任何政策工具。</p>")
    compared = plan_vs_others(data, doc_id, doc_ids)
    types = compared[compared["sub_tool"] == "（合计 all）"].set_index("type")
    top = rows.loc[rows["codes"].idxmax(), "type"]
    median = types.loc[top, "others_median"]
    return safe_html(
        "<p>本计划共 {codes} 个“条目 × 子工具”编码，占比最高的是<b>{top}</b>（{share}；"
        "比较对象中其他计划的中位数 {median}）。</p>",
        codes=int(rows["codes"].sum()), top=top, share=f"{types.loc[top, 'share']:.0%}",
        median="—" if pd.isna(median) else f"{median:.0%}",
    )
