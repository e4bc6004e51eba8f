"""The `kwic` command: a concordance of any query term, printed and written as CSV and a report page.

`python -m analysis kwic 家校 协同 [--plans yangpu_2024 …] [--window 20]` prints every occurrence with
its plan, its place as printed (条目 二.7, 前言, …) and context, and writes reports/kwic/<query>.csv
and reports/kwic/<query>.html (<query>: a slug of the terms and a short hash of the exact query, so
two queries never share a file; `--window` is at most KWIC_WINDOW_MAX characters). Each term is searched
on its own in the cleaned text (data/processed/clean/<doc_id>.txt): its count is `text.count(term)`
(non-overlapping). `--collocates` adds each term's collocates within items
(analysis.text.textstats.collocates: G² and PMI against expected counts).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd

from analysis.files import write_csv_atomic, write_text_atomic
from analysis.params.files import KWIC_WINDOW_MAX
from analysis.paths import ProjectError
from analysis.publish.pages import render_page
from analysis.publish.provenance import citation_text, package_version
from analysis.publish.verify import MANIFEST
from analysis.views.data import ReportData, plan_names
from analysis.views.evidence import esc
from analysis.views.explore import concordance, counts, query_terms

KWIC_FOLDER = "kwic"  # under reports/; ad-hoc query outputs, not part of a run (verify leaves them alone)
SLUG_BYTES = 120  # of a file name's 255: the slug in UTF-8 (40 CJK characters), then `-<hash>_collocates.csv`


def query_name(terms: list[str]) -> str:
    """A file name for a query: a slug of the terms joined by + (anything but letters, digits, · + -
    made _, never starting with - . or _, at most SLUG_BYTES bytes) and the first 10 hex digits of
    the SHA-256 of the exact terms, so different queries never write the same file."""
    query = "\0".join(terms)
    slug = re.sub(r"[^\w·+-]", "_", "+".join(terms)).lstrip("-._").rstrip("._") or "query"
    slug = slug.encode("utf-8")[:SLUG_BYTES].decode("utf-8", errors="ignore")
    return f"{slug}-{hashlib.sha256(query.encode('utf-8')).hexdigest()[:10]}"


def check_window(window: int) -> None:
    """One line refusing a context window outside 0..KWIC_WINDOW_MAX characters."""
    if not 0 <= window <= KWIC_WINDOW_MAX:
        raise ProjectError(f"--window {window}: give 0 to {KWIC_WINDOW_MAX} characters of context each side")


def kwic_page(data: ReportData, frame: pd.DataFrame, terms: list[str], doc_ids: list[str], window: int) -> str:
    """The concordance as a self-contained report page (analysis.publish.pages.render_page)."""
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


def _manifest(data: ReportData) -> dict:
    """The published run's manifest for the page footer, or a minimal one naming the snapshot."""
    path = data.paths.reports / MANIFEST
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
    return {"digest": data.snapshot[:12], "git_commit": "unknown", "python": "", "params": {}, "inputs": {},
            "packages": {"analysis": package_version("analysis")}, "citation": citation_text(data.paths)}


def run_kwic(data: ReportData, terms: list[str], doc_ids: list[str] | None = None, window: int = 20,
             out: Path | None = None) -> tuple[pd.DataFrame, Path, Path]:
    """Concordance of `terms`; writes <out>/<query>.csv and .html (out: reports/kwic)."""
    check_window(window)
    frame = concordance(data, terms, doc_ids, window)
    shown = sorted(doc_ids) if doc_ids else sorted(data.documents["doc_id"])
    wanted = query_terms(terms)
    out = out or data.paths.reports / KWIC_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    name = query_name(wanted)
    csv, page = out / f"{name}.csv", out / f"{name}.html"
    write_csv_atomic(csv, frame)
    write_text_atomic(page, kwic_page(data, frame, wanted, shown, window))
    return frame, csv, page


def print_concordance(frame: pd.DataFrame, terms: list[str], doc_ids: list[str]) -> None:
    """Every occurrence on one line (plan, location, context), then the counts per plan and term."""
    table = counts(frame, doc_ids, terms)
    for row in frame.itertuples():
        print(f"{row.doc_id}\t{row.location}\t{row.left}【{row.match}】{row.right}")
    print("counts:")
    for doc_id in doc_ids:
        print(f"  {doc_id}: " + ", ".join(f"{t} {n}" for t, n in table.loc[doc_id].items()))


def print_collocates(frame: pd.DataFrame, terms: list[str], top: int = 15) -> None:
    """The `top` collocates of each term by G², or why a term has none."""
    for term in terms:
        rows = frame[frame["term"] == term].head(top)
        print(f"collocates of {term}:" if len(rows) else
              f"collocates of {term}: none (not a plan term of any item, or no collocate reaches the minimum count)")
        for row in rows.itertuples():
            print(f"  {row.collocate}\tobserved {row.observed}\texpected {row.expected:.2f}\tG² {row.g2:.2f}"
                  f"\tPMI {row.pmi:.2f}")
