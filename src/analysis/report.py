"""Report content: plan sets, the tables and HTML fragments the report notebooks show, and the
self-contained HTML pages (no external scripts, styles, fonts or images)."""

from __future__ import annotations

import html
import json
import platform
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from analysis.files import read_csv
from analysis.params import load_yaml
from analysis.paths import Paths, ProjectError

COMPLETENESS_ORDER = {"complete": 0, "truncated": 1, "partial": 2}
COMPLETENESS_LABEL = {"complete": "", "truncated": "（截断）", "partial": "（节选）"}
DEFAULT_SET = "default"
TABLES = [
    "documents", "items", "theme_counts", "term_counts", "kwic", "keyness",
    "clusters", "cluster_summary", "cluster_terms", "doc_similarity",
]
VERSIONED = ["analysis", "pandas", "scikit-learn", "scipy", "jieba", "matplotlib", "seaborn",
             "papermill", "nbconvert"]


def load_report_params(path: Path) -> dict:
    params = load_yaml(path, required=("sets", "rank_exclude", "analysis_notebooks", "top_terms", "max_q"))
    for name, spec in (params["sets"] or {}).items():
        if not isinstance(spec, dict) or not ({"years", "doc_ids"} & spec.keys()) or spec.keys() - {
            "title", "years", "doc_ids"
        }:
            raise ProjectError(f"{path}: set {name!r} needs `years` or `doc_ids` (and an optional `title`)")
        if name == DEFAULT_SET or not str(name).isidentifier():
            raise ProjectError(f"{path}: set name {name!r} must be a simple word other than {DEFAULT_SET!r}")
    return params


@dataclass
class ReportData:
    """Every processed table, plus the report params."""

    paths: Paths
    params: dict
    tables: dict[str, pd.DataFrame]

    def __getattr__(self, name: str) -> pd.DataFrame:
        try:
            return self.__dict__["tables"][name]
        except KeyError:
            raise AttributeError(name) from None


def load_report_data(root: str | Path | None = None) -> ReportData:
    """Bring data/processed up to date (quietly) and load every table the reports use."""
    from analysis.pipeline import ensure_processed

    paths = Paths.from_root(root or None)
    ensure_processed(paths, log=lambda _: None)
    tables = {name: read_csv(paths.processed / f"{name}.csv") for name in TABLES}
    return ReportData(paths, load_report_params(paths.params / "report.yaml"), tables)


def plan_label(row) -> str:
    """`district year`, marked when the plan is not complete: 宝山 2023（截断）."""
    return f"{row['district']} {row['year']}{COMPLETENESS_LABEL.get(row['completeness'], '')}"


def plan_labels(documents: pd.DataFrame) -> dict[str, str]:
    return {row["doc_id"]: plan_label(row) for _, row in documents.iterrows()}


def plan_set(documents: pd.DataFrame, name: str, params: dict) -> list[str]:
    """doc_ids of a plan set: `default` = latest plan per district preferring complete ones."""
    if name == DEFAULT_SET:
        ranked = documents.assign(_rank=documents["completeness"].map(COMPLETENESS_ORDER), _year=-documents["year"])
        best = ranked.sort_values(["district", "_rank", "_year"]).groupby("district").head(1)
        return sorted(best["doc_id"])
    spec = (params["sets"] or {}).get(name)
    if spec is None:
        raise ProjectError(f"params/report.yaml: no plan set {name!r}; add it under `sets`")
    chosen = documents[
        documents["year"].isin(spec.get("years", [])) | documents["doc_id"].isin(spec.get("doc_ids", []))
    ]
    return sorted(chosen["doc_id"])


def ranked_ids(documents: pd.DataFrame, doc_ids: list[str], params: dict) -> list[str]:
    """The plans of a set that take part in rankings (complete ones by default)."""
    keep = documents[documents["doc_id"].isin(doc_ids) & ~documents["completeness"].isin(params["rank_exclude"])]
    return sorted(keep["doc_id"])


def build_jobs(paths: Paths):
    """Every page of a run: analysis notebooks, one district report per plan, the comparisons."""
    from analysis.corpus import read_manifest
    from analysis.pipeline import Job

    params = load_report_params(paths.params / "report.yaml")
    plans = read_manifest(paths.raw)
    all_ids = tuple(sorted(p.doc_id for p in plans))
    jobs = [
        Job(name, {"root": str(paths.root)}, f"analysis/{Path(name).stem}.html", _notebook_title(paths, name), all_ids)
        for name in params["analysis_notebooks"]
    ]
    jobs += [
        Job("10_district_report.ipynb", {"root": str(paths.root), "doc_id": p.doc_id},
            f"districts/{p.doc_id}.html", f"{p.title}（{p.district} {p.year}）", (p.doc_id,))
        for p in sorted(plans, key=lambda p: p.doc_id)
    ]
    documents = pd.DataFrame([p.as_row() for p in plans])
    for name in [DEFAULT_SET, *sorted(params["sets"] or {})]:
        page = "comparison.html" if name == DEFAULT_SET else f"comparison_{name}.html"
        title = "各地工作要点比较" if name == DEFAULT_SET else params["sets"][name].get("title", name)
        ids = tuple(plan_set(documents, name, params))
        if ids:
            parameters = {"root": str(paths.root), "plan_set": name}
            jobs.append(Job("20_comparison_report.ipynb", parameters, page, title, ids))
    return jobs


def _notebook_title(paths: Paths, name: str) -> str:
    cells = json.loads((paths.notebooks / name).read_text(encoding="utf-8"))["cells"]
    first = "".join(cells[0]["source"]).splitlines()[0] if cells else name
    return first.lstrip("# ").strip()


def run_manifest(paths: Paths, stage_keys: dict[str, str]) -> dict:
    """What a run was built from: input SHA-256s, params, package versions, git commit, time."""
    from analysis.corpus import read_manifest
    from analysis.pipeline import files_digest

    return {
        "built_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git_commit": _git_commit(paths.root),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in VERSIONED},
        "inputs": {p.file: p.sha256 for p in read_manifest(paths.raw)},
        "params": {p.name: files_digest([p]) for p in sorted(paths.params.iterdir()) if p.is_file()},
        "stage_keys": stage_keys,
    }


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _git_commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                             text=True, check=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + (" (uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def _environment():
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("analysis", "templates"), autoescape=select_autoescape(["j2"]))


def render_page(title: str, body: str, manifest: dict, depth: int, is_index: bool = False) -> str:
    """A complete offline page: inline CSS, a table of contents from the h2/h3 headings, run footer."""
    from bs4 import BeautifulSoup
    from markupsafe import Markup

    soup = BeautifulSoup(body, "html.parser")
    toc = []
    for number, heading in enumerate(soup.find_all(["h2", "h3"]), start=1):
        heading["id"] = heading.get("id") or f"section-{number}"
        toc.append((heading.name, heading["id"], heading.get_text(" ", strip=True).rstrip("¶").strip()))
    css = (Path(__file__).parent / "templates" / "style.css").read_text(encoding="utf-8")
    return _environment().get_template("page.html.j2").render(
        title=title, body=Markup(str(soup)), toc=toc, manifest=manifest, css=Markup(css),
        up="../" * depth, is_index=is_index,
    )


def page_html(executed: Path, job, manifest: dict) -> str:
    """Export an executed notebook as a report page: outputs only, no code, no stderr."""
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(executed, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if o.get("name") != "stderr"]
    exporter = HTMLExporter(
        template_name="basic", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_notebook_node(notebook)
    return render_page(job.title, body, manifest, depth=job.page.count("/"))


def render_index(jobs, build: dict, manifest: dict, paths: Paths) -> str:
    """reports/index.html: every page, the plans in it, and what the run was built from."""
    from analysis.corpus import read_manifest

    plans = {p.doc_id: p for p in read_manifest(paths.raw)}

    def plans_cell(job) -> str:
        return "、".join(
            f"{esc(plans[d].district)} {plans[d].year}{esc(COMPLETENESS_LABEL[plans[d].completeness])}"
            for d in job.plans if d in plans
        )

    groups = [
        ("比较报告 Comparison reports", [j for j in jobs if j.page.startswith("comparison")]),
        ("区县报告 District reports", [j for j in jobs if j.page.startswith("districts/")]),
        ("分析笔记本 Analysis notebooks", [j for j in jobs if j.page.startswith("analysis/")]),
    ]
    parts = ["<h1>教育工作要点比较 · 报告索引 Report index</h1>",
             f"<p class='meta'>{len(plans)} plans · built {esc(manifest['built_at'])} · commit "
             f"<code>{esc(manifest['git_commit'])}</code></p>"]
    for heading, group in groups:
        rows = "".join(
            f"<tr><td><a href='{esc(j.page)}'>{esc(j.title)}</a></td><td>{plans_cell(j)}</td></tr>" for j in group
        )
        parts.append(f"<h2>{heading}</h2><table><tr><th>report</th><th>plans 计划</th></tr>{rows}</table>")
    rows = "".join(
        f"<tr><td>{esc(p.district)}</td><td>{esc(p.region)} · {esc(p.admin_level)}</td><td>{p.year}</td>"
        f"<td>{esc(p.completeness)}</td><td><a href='districts/{esc(p.doc_id)}.html'>{esc(p.title)}</a></td></tr>"
        for p in sorted(plans.values(), key=lambda p: (p.district, p.year))
    )
    parts.append("<h2>计划 Plans</h2><table><tr><th>district</th><th>region · level</th><th>year</th>"
                 f"<th>completeness</th><th>title</th></tr>{rows}</table>")
    return render_page("报告索引 Report index", "\n".join(parts), manifest, depth=0, is_index=True)


def header_html(documents: pd.DataFrame, doc_id: str) -> str:
    """Title block of a district report, with a visible warning for incomplete plans."""
    row = documents.set_index("doc_id").loc[doc_id]
    parts = [
        f"<p class='meta'>{esc(row['region'])} · {esc(row['district'])}{esc(row['admin_level'])} · "
        f"{row['year']}年 · completeness: <strong>{esc(row['completeness'])}</strong> · "
        f"{row['n_sections']} 部分 sections · {row['n_items']} 条目 items · {row['n_chars']} 字 characters</p>",
        f"<p class='meta'>来源 Source: {esc(row['source'])}</p>",
    ]
    if row["completeness"] != "complete":
        what = {"truncated": "文本中途截断 the text stops mid-plan", "partial": "仅为节选 only an excerpt"}
        what = what.get(row["completeness"], row["completeness"])
        parts.append(
            f"<div class='warning'>⚠ 本计划{what}：计数偏低，不参与排名。 Counts understate the plan; "
            "it is left out of rankings.</div>"
        )
    return "\n".join(parts)


def structure_table(items: pd.DataFrame, doc_id: str) -> pd.DataFrame:
    """Sections of one plan with their item numbers and counts."""
    plan = items[items["doc_id"] == doc_id]
    return (
        plan.groupby(["section_no", "section_title"], sort=True)
        .agg(n_items=("item_seq", "size"), items=("item_seq", lambda s: f"{s.min()}–{s.max()}"))
        .reset_index()
        .rename(columns={"section_no": "部分 section", "section_title": "标题 title", "n_items": "条目数 items",
                         "items": "条目序号 item_seq"})
    )


def theme_profile(data: ReportData, doc_id: str, doc_ids: list[str]) -> pd.DataFrame:
    """One plan's theme figures beside the set's median, with its rank among ranked plans."""
    counts = data.theme_counts[data.theme_counts["doc_id"].isin([*doc_ids, doc_id])]
    ranked = ranked_ids(data.documents, [*doc_ids, doc_id], data.params)
    rows = []
    for theme, group in counts.groupby("theme", sort=False):
        own = group[group["doc_id"] == doc_id].iloc[0]
        pool = group[group["doc_id"].isin(ranked)].sort_values("per_10k_chars", ascending=False)
        rank = (f"{list(pool['doc_id']).index(doc_id) + 1}/{len(pool)}" if doc_id in ranked else "—（不参与排名）")
        rows.append({
            "主题 theme": theme, "提及 mentions": own["mentions"], "每万字 per 10k chars": own["per_10k_chars"],
            "含主题条目 items": f"{own['items_with_theme']}/{own['n_items']}",
            "条目占比 item share": own["item_share"],
            "各地中位数 median per 10k": round(float(group["per_10k_chars"].median()), 2),
            "排名 rank (per 10k)": rank,
        })
    return pd.DataFrame(rows)


def evidence_html(data: ReportData, doc_ids: list[str]) -> str:
    """Every theme count expands (<details>) to all its KWIC lines with item numbers."""
    labels = plan_labels(data.documents)
    counts = data.theme_counts.set_index(["doc_id", "theme"])
    blocks = []
    for doc_id in doc_ids:
        blocks.append(f"<h3>{esc(labels[doc_id])}</h3>")
        for theme, lines in _kwic_by_theme(data.kwic, doc_id, counts.loc[doc_id].index):
            lis = "".join(
                f"<li><span class='where'>第{esc(r['section_no'] or '—')}部分 · 条目 {esc(r['item_seq'] or '前言')} · "
                f"{esc(r['term'])}</span>…{esc(r['left'])}<mark>{esc(r['match'])}</mark>{esc(r['right'])}…</li>"
                for _, r in lines.iterrows()
            )
            n = counts.loc[(doc_id, theme), "mentions"]
            blocks.append(
                f"<details class='kwic'><summary>{esc(theme)}：{n} 次提及 mentions</summary>"
                f"<ol class='kwic'>{lis}</ol></details>"
            )
    return "\n".join(blocks)


def _kwic_by_theme(kwic: pd.DataFrame, doc_id: str, themes):
    plan = kwic[kwic["doc_id"] == doc_id]
    for theme in themes:
        yield theme, plan[plan["theme"] == theme]
