"""Exploration on the published snapshot: a concordance (KWIC) of any term, not only lexicon terms.

`python -m analysis kwic 家校 协同 [--plans yangpu_2024 …] [--window 20]` prints every occurrence with
its plan, its place as printed (条目 二.7, 前言, …) and context, and writes reports/kwic/<query>.csv
and reports/kwic/<query>.html. Each term is searched on its own in the cleaned text
(data/processed/clean/<doc_id>.txt): its count is `text.count(term)` (non-overlapping).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from pathlib import Path

import pandas as pd

from analysis.evidence import esc, locations
from analysis.paths import ProjectError

KWIC_FOLDER = "kwic"  # under reports/; ad-hoc query outputs, not part of a run (verify leaves them alone)
COLUMNS = ["doc_id", "district", "year", "term", "where", "location", "item_seq", "section_no", "start",
           "left", "match", "right"]
FULL_WIDTH = str.maketrans({chr(c): chr(c - 0xFEE0) for c in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B),
                                                               *range(0xFF41, 0xFF5B)]})


def normalise_term(term: str) -> str:
    """A query term as cleaning writes text: full-width letters and digits made half-width."""
    return term.strip().translate(FULL_WIDTH)


def query_name(terms: list[str]) -> str:
    """A file name for a query: the terms joined by +, anything but letters, digits, · + - made _."""
    name = re.sub(r"[^\w·+-]", "_", "+".join(terms)).strip("._") or "query"
    return name[:80]


def occurrences(text: str, term: str) -> list[int]:
    """Start offsets of the non-overlapping occurrences of `term` (as `str.count` counts them)."""
    found, at = [], text.find(term)
    while at >= 0:
        found.append(at)
        at = text.find(term, at + len(term))
    return found


def _place(structure, offset: int) -> tuple[str, int | None, int | None]:
    """(where, item_seq, section_no) of an offset of a parsed plan, as kwic.csv gives them."""
    items = structure.items
    at = bisect_right([item.start for item in items], offset) - 1
    if at >= 0 and offset < items[at].end:
        return "item", items[at].item_seq, items[at].section_no
    where, section = structure.locate(offset)
    return where, None, section


def concordance(data, terms: list[str], doc_ids: list[str] | None = None, window: int = 20) -> pd.DataFrame:
    """Every occurrence of each of `terms` in the cleaned text of the plans `doc_ids` (default: all
    plans of the snapshot), one row each with its printed location and ±`window` characters."""
    from analysis.structure import StructureRules, parse_plan

    terms = list(dict.fromkeys(t for t in map(normalise_term, terms) if t))
    if not terms:
        raise ProjectError("give at least one non-empty term, e.g. `python -m analysis kwic 家校协同`")
    if window < 0:
        raise ProjectError(f"--window must be 0 or more characters, not {window}")
    documents = data.documents.sort_values("doc_id")
    known = list(documents["doc_id"])
    if doc_ids:
        if unknown := [d for d in doc_ids if d not in known]:
            raise ProjectError(f"no plan {', '.join(unknown)} in the processed snapshot; plans: {', '.join(known)}")
        documents = documents[documents["doc_id"].isin(doc_ids)]
    rules = StructureRules.from_yaml(data.paths.params / "structure.yaml")
    rows = []
    for plan in documents.itertuples():
        path = data.paths.clean / f"{plan.doc_id}.txt"
        if not path.is_file():
            raise ProjectError(f"{path}: missing from the processed snapshot; run `make reports` again")
        text = path.read_text(encoding="utf-8")
        structure = parse_plan(text, rules)
        for term in terms:
            for start in occurrences(text, term):
                where, item_seq, section_no = _place(structure, start)
                rows.append({
                    "doc_id": plan.doc_id, "district": plan.district, "year": plan.year, "term": term,
                    "where": where, "item_seq": item_seq, "section_no": section_no, "start": start,
                    "left": text[max(start - window, 0):start].replace("\n", " "), "match": term,
                    "right": text[start + len(term):start + len(term) + window].replace("\n", " "),
                })
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "location"])
    frame = frame.astype({"item_seq": "Int64", "section_no": "Int64", "start": int, "year": int})
    frame = frame.sort_values(["doc_id", "start", "term"], ignore_index=True)
    frame.insert(COLUMNS.index("location"), "location", locations(frame, data.items).astype(str) if len(frame)
                 else pd.Series(dtype=str))
    return frame


def counts(frame: pd.DataFrame, doc_ids: list[str], terms: list[str]) -> pd.DataFrame:
    """Plans × terms: occurrences (zeros included)."""
    table = pd.crosstab(frame["doc_id"], frame["term"]) if len(frame) else pd.DataFrame()
    return table.reindex(index=doc_ids, columns=terms, fill_value=0).fillna(0).astype(int)


def kwic_page(data, frame: pd.DataFrame, terms: list[str], doc_ids: list[str], window: int) -> str:
    """The concordance as a self-contained report page (analysis.report.render_page)."""
    from analysis.report import plan_names, render_page

    names = plan_names(data.documents)
    table = counts(frame, doc_ids, terms)
    head = "".join(f"<th>{esc(t)}</th>" for t in terms)
    body_rows = "".join(
        f"<tr><td>{esc(names[d])}</td>" + "".join(f"<td>{n}</td>" for n in table.loc[d]) + "</tr>" for d in doc_ids
    )
    parts = [
        f"<h1>语境检索 Concordance：{esc('、'.join(terms))}</h1>",
        f"<p class='meta'>{len(frame)} 处 occurrences in {len(doc_ids)} 份计划 plans · 左右各 {window} 字 characters "
        "of context · 检索清洗后正文 searched in the cleaned text · snapshot "
        f"<code>{esc(data.snapshot[:12])}</code></p>",
        f"<h2>次数 Counts</h2><table><tr><th>计划 plan</th>{head}</tr>{body_rows}</table>",
        "<h2>语境 Concordance</h2>",
    ]
    for doc_id in doc_ids:
        plan = frame[frame["doc_id"] == doc_id]
        lis = "".join(
            f"<li><span class='where'>{esc(r.location)} · {esc(r.term)}</span>…{esc(r.left)}"
            f"<mark>{esc(r.match)}</mark>{esc(r.right)}…</li>" for r in plan.itertuples()
        )
        parts.append(f"<h3>{esc(names[doc_id])}：{len(plan)} 处</h3>"
                     + (f"<ol class='kwic'>{lis}</ol>" if lis else "<p>无 none</p>"))
    manifest = _manifest(data)
    return render_page(f"语境检索 {'、'.join(terms)}", "\n".join(parts), manifest, depth=1, plans=tuple(doc_ids))


def _manifest(data) -> dict:
    """The published run's manifest for the page footer, or a minimal one naming the snapshot."""
    from analysis.report import _version, citation_text
    from analysis.verify import MANIFEST

    path = data.paths.reports / MANIFEST
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
    return {"digest": data.snapshot[:12], "git_commit": "unknown", "python": "", "params": {}, "inputs": {},
            "packages": {"analysis": _version("analysis")}, "citation": citation_text(data.paths)}


def run_kwic(data, terms: list[str], doc_ids: list[str] | None = None, window: int = 20,
             out: Path | None = None) -> tuple[pd.DataFrame, Path, Path]:
    """Concordance of `terms`; writes <out>/<query>.csv and .html (out: reports/kwic)."""
    from analysis.files import write_csv_atomic, write_text_atomic

    frame = concordance(data, terms, doc_ids, window)
    shown = sorted(doc_ids) if doc_ids else sorted(data.documents["doc_id"])
    wanted = list(dict.fromkeys(t for t in map(normalise_term, terms) if t))
    out = out or data.paths.reports / KWIC_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    name = query_name(wanted)
    csv, page = out / f"{name}.csv", out / f"{name}.html"
    write_csv_atomic(csv, frame)
    write_text_atomic(page, kwic_page(data, frame, wanted, shown, window))
    return frame, csv, page


def print_concordance(frame: pd.DataFrame, terms: list[str], doc_ids: list[str]) -> None:
    table = counts(frame, doc_ids, terms)
    for row in frame.itertuples():
        print(f"{row.doc_id}\t{row.location}\t{row.left}【{row.match}】{row.right}")
    print("counts:")
    for doc_id in doc_ids:
        print(f"  {doc_id}: " + ", ".join(f"{t} {n}" for t, n in table.loc[doc_id].items()))


def coword_edges(kwic: pd.DataFrame, min_items: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Co-word network of lexicon terms (kwic.csv rows): two terms are linked by the number of
    numbered items that mention both. Returns (nodes: term, theme, items; edges: source, target,
    items), terms in fewer than `min_items` items left out, both sorted (deterministic)."""
    mentions = kwic[kwic["item_seq"].notna()]
    per_item = mentions.drop_duplicates(["doc_id", "item_seq", "term"])
    nodes = (per_item.groupby("term").agg(theme=("theme", "first"), items=("item_seq", "size")).reset_index())
    nodes = nodes[nodes["items"] >= min_items].sort_values(["theme", "term"], ignore_index=True)
    kept = per_item[per_item["term"].isin(set(nodes["term"]))]
    pairs = kept.merge(kept, on=["doc_id", "item_seq"], suffixes=("_a", "_b"))
    pairs = pairs[pairs["term_a"] < pairs["term_b"]]
    edges = (pairs.groupby(["term_a", "term_b"]).size().rename("items").reset_index()
             .rename(columns={"term_a": "source", "term_b": "target"})
             .sort_values(["items", "source", "target"], ascending=[False, True, True], ignore_index=True))
    return nodes, edges


def theme_trends(theme_counts: pd.DataFrame, documents: pd.DataFrame, exclude: list[str]) -> pd.DataFrame:
    """Per year and theme: plans, median and mean mentions per 10k characters over the complete plans
    (completeness not in `exclude`) where the theme applies."""
    complete = documents.loc[~documents["completeness"].isin(exclude), "doc_id"]
    rows = theme_counts[theme_counts["doc_id"].isin(complete) & theme_counts["applicable"].astype(bool)]
    order = list(dict.fromkeys(theme_counts["theme"]))
    table = (rows.groupby(["year", "theme"])["per_10k_chars"].agg(plans="size", median="median", mean="mean")
             .reset_index())
    table = table.assign(_order=table["theme"].map(order.index)).sort_values(["year", "_order"])
    return table.drop(columns="_order").round({"median": 2, "mean": 2}).reset_index(drop=True)
