"""Report content: plan sets, the tables and HTML fragments the report notebooks show, and the
self-contained HTML pages (no external scripts, styles, fonts or images)."""

from __future__ import annotations

import json
import logging
import platform
import subprocess
import textwrap
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TypeVar

import pandas as pd

from analysis.corpus.clean import CONVERTED
from analysis.files import write_text_atomic
from analysis.params.loader import load_yaml
from analysis.params.report import DEFAULT_SET, load_report_params
from analysis.paths import Paths, ProjectError
from analysis.publish.fonts import font_face_css
from analysis.publish.verify import sha256_file
from analysis.stages import clusters
from analysis.stages.dataset import COMPLETENESS_MARK, plan_labels
from analysis.stages.plansets import plan_set, ranked_ids
from analysis.stages.registry import digest
from analysis.views import evidence
from analysis.views.evidence import esc
from analysis.views.snapshot import check_snapshot, read_table

T = TypeVar("T")
DEFAULT_TITLE = "各地工作要点比较"
VERSIONED = ["analysis", "pandas", "scikit-learn", "scipy", "jieba", "matplotlib", "seaborn",
             "papermill", "nbconvert"]
DISTRICT_NOTEBOOK = "10_district_report.ipynb"
COMPARISON_NOTEBOOK = "20_comparison_report.ipynb"


@dataclass
class ReportData:
    """The processed snapshot's tables as attributes (`data.items` reads data/processed/items.csv
    once), plus the report params."""

    paths: Paths
    params: dict
    snapshot: str  # id of the snapshot the tables come from
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __getattr__(self, name: str) -> pd.DataFrame:
        if name.startswith("_") or "tables" not in self.__dict__:
            raise AttributeError(name)
        if name not in self.tables:
            self.tables[name] = read_table(self.paths, name, self.snapshot)
        return self.tables[name]


def load_report_data(root: str | Path | None = None, snapshot: str = "") -> ReportData:
    """The processed snapshot (never computed here): the run's when `snapshot` names it, else the
    published one if it is up to date; see analysis.views.snapshot."""
    paths = Paths.from_root(root or None)
    return ReportData(paths, load_report_params(paths.params / "report.yaml"), check_snapshot(paths, snapshot))


def plan_names(documents: pd.DataFrame) -> dict[str, str]:
    """doc_id → "宝山 2023（截断）" (district, year, completeness mark)."""
    return dict(zip(documents["doc_id"], plan_labels(documents), strict=True))


@dataclass(frozen=True)
class Job:
    """One notebook execution that becomes one HTML page under reports/."""

    notebook: str
    parameters: dict
    page: str  # path under reports/, e.g. districts/yangpu_2024.html
    title: str
    plans: tuple[str, ...]  # doc_ids it covers

    @property
    def executed(self) -> str:
        return f"notebooks/{Path(self.page).with_suffix('.ipynb').as_posix().replace('/', '__')}"


def build_jobs(paths: Paths, documents: pd.DataFrame, snapshot: str, run: str = "") -> list[Job]:
    """Every page of a run over the plans of the snapshot (`documents`): analysis notebooks, one
    district report per plan, the comparisons; each notebook gets the project root and snapshot id,
    the comparisons also the run digest (`run`) they cite."""
    params = load_report_params(paths.params / "report.yaml")
    base = {"root": str(paths.root), "snapshot": snapshot}
    all_ids = tuple(sorted(documents["doc_id"]))
    jobs = [
        Job(name, base, f"analysis/{Path(name).stem}.html", _notebook_title(paths, name), all_ids)
        for name in params["analysis_notebooks"]
    ]
    jobs += [
        Job(DISTRICT_NOTEBOOK, base | {"doc_id": p.doc_id}, f"districts/{p.doc_id}.html",
            f"{p.title}（{p.district} {p.year}）", (p.doc_id,))
        for p in documents.sort_values("doc_id").itertuples()
    ]
    for name in [DEFAULT_SET, *sorted(params["sets"] or {})]:
        page = "comparison.html" if name == DEFAULT_SET else f"comparison_{name}.html"
        if ids := tuple(plan_set(documents, name, params)):
            jobs.append(Job(COMPARISON_NOTEBOOK, base | {"plan_set": name, "run": run}, page, set_title(params, name),
                            ids))
    return jobs


def set_title(params: dict, name: str) -> str:
    """The heading of a plan set's comparison page: its `title` in report.yaml (default: its name)."""
    return DEFAULT_TITLE if name == DEFAULT_SET else str(params["sets"][name].get("title", name))


def _notebook_title(paths: Paths, name: str) -> str:
    cells = json.loads((paths.notebooks / name).read_text(encoding="utf-8"))["cells"]
    first = "".join(cells[0]["source"]).splitlines()[0] if cells else name
    return first.lstrip("# ").strip()


def check_notebooks(paths: Paths) -> None:
    """Every notebook a run executes can be run by papermill; else one line per broken notebook."""
    names = [DISTRICT_NOTEBOOK, COMPARISON_NOTEBOOK,
             *load_report_params(paths.params / "report.yaml")["analysis_notebooks"]]
    problems = [
        f"{path}: {problem}; restore it from git"
        for path in (paths.notebooks / name for name in dict.fromkeys(names))
        if (problem := _notebook_problem(path))
    ]
    if problems:
        raise ProjectError(*problems)


def _notebook_problem(path: Path) -> str | None:
    """Why papermill cannot run `path` (missing, not JSON, invalid, no parameters cell), or None."""
    import nbformat

    try:
        text = path.read_text(encoding="utf-8")
        json.loads(text)
    except FileNotFoundError:
        return "report notebook not found"
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot be read as UTF-8 text ({exc.__class__.__name__})"
    except json.JSONDecodeError as exc:
        return f"not JSON, truncated or damaged (line {exc.lineno}, column {exc.colno}: {exc.msg})"
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except Exception as exc:  # mostly ValidationError; nbformat raises others on odd JSON
        return f"not a valid notebook ({textwrap.shorten(getattr(exc, 'message', str(exc)), 100, placeholder='…')})"
    metadata = notebook.metadata
    if not (metadata.get("kernelspec", {}).get("language") or metadata.get("language_info", {}).get("name")):
        return "no kernel language in its metadata"
    if not any("parameters" in cell.metadata.get("tags", []) for cell in notebook.cells):
        return "no cell tagged `parameters` (papermill puts the report's parameters after it)"
    return None


def run_manifest(paths: Paths, stage_keys: dict[str, str], documents: pd.DataFrame) -> dict:
    """What a run was built from: the SHA-256 of the bytes of each plan of the snapshot
    (`documents`), of data/raw/manifest.csv and the hand coding, of every params file, the lock file
    and the notebooks; the installed version of every locked package and whether they equal the
    lock; the git commit and whether the tree was dirty. `digest` hashes what determines the numbers
    (everything but the git state, the notebooks — each page's key has its own — and the build time),
    so it is the same for every run of the same inputs. The pipeline adds `pages` and `tables`."""
    from analysis.publish.lock import environment_status

    raw = [paths.raw / name for name in documents["file"]]
    for path, recorded in zip(raw, documents["sha256"], strict=True):
        if sha256_file(path) != recorded:
            raise ProjectError(f"{path}: changed since the processed snapshot was built; run `make reports` again")
    inputs = {
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in VERSIONED},
        "environment": environment_status(paths.lock),
        "inputs": _hashes(paths.root, [*raw, paths.manifest, paths.annotations]),  # _hashes skips absent files
        "params": {p.name: sha256_file(p) for p in sorted(paths.params.iterdir()) if p.is_file()},
        "citation": citation_text(paths),
        "stage_keys": stage_keys,
    }
    git = _git_state(paths.root)
    return {
        "built_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "digest": digest(json.dumps(inputs, sort_keys=True))[:12],
        "git_commit": _git_commit(git),
        "git": git,
        "notebooks": _hashes(paths.root, sorted(paths.notebooks.glob("*.ipynb"))),
        **inputs,
    }


def _hashes(root: Path, files: list[Path]) -> dict[str, str]:
    """Project-relative path (as `sha256sum` run in the project prints it) → SHA-256, files only."""
    return {f.relative_to(root).as_posix(): sha256_file(f) for f in files if f.is_file() and not f.name.startswith(".")}


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _git_state(root: Path) -> dict:
    """The checked-out commit and whether the work tree differs from it (untracked files count)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True,
                                timeout=10).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        return {"commit": commit, "dirty": bool(status)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}


def _git_commit(git: dict) -> str:
    """The short commit for page footers: `1a2b3c4`, `1a2b3c4 (uncommitted changes)` or unknown."""
    if git["commit"] == "unknown":
        return "unknown (not a git checkout)"
    return git["commit"][:7] + (" (uncommitted changes)" if git["dirty"] else "")


def citation_text(paths: Paths) -> str:
    """The project's preferred citation from CITATION.cff: `authors (year). title (version X)`."""
    if not paths.citation.is_file():
        return f"{paths.root.name} (no CITATION.cff)"
    cff = load_yaml(paths.citation)
    authors = "; ".join(a.get("name") or " ".join(filter(None, [a.get("given-names"), a.get("family-names")]))
                        for a in cff.get("authors", []))
    year = str(cff.get("date-released", ""))[:4]
    return f"{authors} ({year}). {cff.get('title', '')} (version {cff.get('version', '?')})"


def citation_html(data: ReportData, run: str = ""):
    """The "How to cite" note of a report: the citation, the run digest, every plan of the snapshot
    with the SHA-256 of its raw file, and the SHA-256 of the lexicon and the codebook. All escaped."""
    paths = data.paths
    plans = "".join(
        f"<tr><td>{esc(row.doc_id)}</td><td><code>{esc(row.sha256)}</code></td></tr>"
        for row in data.documents.sort_values("doc_id").itertuples()
    )
    hashes = {name: sha256_file(paths.params / name) if (paths.params / name).is_file() else "missing"
              for name in ("themes.yaml", "codebook.md")}
    versions = "".join(f"<li><code>params/{esc(name)}</code> SHA-256 <code>{esc(sha)}</code></li>"
                       for name, sha in hashes.items())
    run_text = (f"运行摘要 run digest <code>{esc(run)}</code>（见 <code>run_manifest.json</code>，"
                "可用 <code>python -m analysis verify</code> 核对 verifiable)" if run else
                "本页不是由 <code>make reports</code> 生成的，没有运行摘要 no run digest (not a published run)")
    from IPython.display import HTML

    return HTML(
        f"<p>引用本报告 Cite this report as: <strong>{esc(citation_text(paths))}</strong>, {run_text}. "
        "引用信息见 <code>CITATION.cff</code>.</p>"
        f"<p>语料 Corpus: {len(data.documents)} 份计划 plans (raw file SHA-256):</p>"
        f"<table><tr><th>doc_id</th><th>SHA-256</th></tr>{plans}</table>"
        f"<p>词表与编码手册 Lexicon and codebook:</p><ul>{versions}</ul>"
    )


def safe_html(template: str, **values):
    """`template` (trusted markup) with every value HTML-escaped: the way notebooks show a manifest,
    params or plan value. Never put such a value into `Markdown(…)`: Markdown turns `![](http://…)`
    into an external image and passes `<script>` through."""
    from IPython.display import HTML

    return HTML(template.format(**{name: esc(value) for name, value in values.items()}))


def table(frame: pd.DataFrame, index: bool = False, links: dict[str, pd.Series] | None = None):
    """Show a table without the meaningless 0..n row index; every cell escaped, the cells of the
    columns in `links` linked to the evidence anchors given there (`evidence.linked_table`)."""
    from IPython.display import HTML

    return HTML(evidence.linked_table(frame, links or {}, index))


# What a report body may contain. Values are escaped where they enter the HTML; this allowlist is
# the second line of defence: whatever reaches a notebook's output, a page has no script, event
# handler, style, frame or form, and loads nothing from outside (images only as data: URIs, links
# only within the reports folder).
SAFE_TAGS = {
    "a", "b", "blockquote", "br", "caption", "code", "details", "div", "em", "figure", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "li", "mark", "ol", "p", "pre", "small", "span", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}
SAFE_ATTRIBUTES = {
    "*": {"class", "id", "title"}, "a": {"href"}, "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}, "details": {"open"}, "ol": {"start"},
}


def _local_url(tag: str, attribute: str, value: str) -> str | None:
    """nh3 attribute filter: keep embedded images and links inside the reports folder only."""
    if attribute == "src":
        return value if value.startswith("data:image/") else None
    if attribute == "href":
        return None if value.startswith("//") or ":" in value.split("/", 1)[0] else value
    return value


def sanitize(fragment: str) -> str:
    """An HTML fragment reduced to SAFE_TAGS and SAFE_ATTRIBUTES with local URLs (nh3/ammonia)."""
    import nh3

    return nh3.clean(fragment, tags=SAFE_TAGS, attributes=SAFE_ATTRIBUTES, attribute_filter=_local_url,
                     url_schemes={"data"}, link_rel=None)


def _environment():
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("analysis.publish", "templates"), autoescape=select_autoescape(["j2"]))


FOOTER_INPUTS = 30  # a footer lists the hashes of at most this many input files (all: run_manifest.json)


def footer_inputs(manifest: dict, plans: tuple[str, ...] | None) -> dict[str, str] | None:
    """The input files a page's footer lists: those of its plans (`plans`: doc_ids; None: every
    input) and the shared ones (manifest, hand coding); None when they are more than FOOTER_INPUTS,
    so 1,000 district pages do not each carry 1,000 hashes."""
    inputs = manifest.get("inputs", {})
    if plans is not None:
        wanted = set(plans)
        inputs = {name: sha for name, sha in inputs.items()
                  if not name.startswith("data/raw/") or name.endswith("manifest.csv") or Path(name).stem in wanted}
    return inputs if len(inputs) <= FOOTER_INPUTS else None


def render_page(
    title: str, body: str, manifest: dict, depth: int, is_index: bool = False, plans: tuple[str, ...] | None = None,
) -> str:
    """A complete offline page: inline CSS, a table of contents from the h2/h3 headings, run footer
    (with the hashes of the inputs of `plans`, see `footer_inputs`)."""
    from bs4 import BeautifulSoup
    from markupsafe import Markup

    soup = BeautifulSoup(sanitize(body), "html.parser")
    toc = []
    for number, heading in enumerate(soup.find_all(["h2", "h3"]), start=1):
        heading["id"] = heading.get("id") or f"section-{number}"
        toc.append((heading.name, heading["id"], heading.get_text(" ", strip=True).rstrip("¶").strip()))
    css = (Path(__file__).parent.parent / "publish" / "templates" / "style.css").read_text(encoding="utf-8")
    values = dict(title=title, body=Markup(str(soup)), toc=toc, manifest=manifest, css=Markup(css),
                  up="../" * depth, is_index=is_index, inputs=footer_inputs(manifest, plans),
                  n_inputs=len(manifest.get("inputs", {})))
    template = _environment().get_template("page.html.j2")
    # the page's own glyphs of the bundled CJK font, so it reads without a Chinese font (analysis.publish.fonts)
    return template.render(**values, font_css=Markup(font_face_css(template.render(**values))))


def page_html(executed: Path, job, manifest: dict) -> str:
    """Export an executed notebook as a report page: outputs only, no code, no stderr."""
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(executed, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if o.get("name") != "stderr"]
    if not hasattr(_exporters, "html"):  # one exporter per thread: building one costs more than a page
        quiet = logging.getLogger("analysis.export")  # describe_figures sets the alt texts nbconvert warns about
        quiet.setLevel(logging.ERROR)
        _exporters.html = HTMLExporter(
            template_name="basic", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True, log=quiet,
        )
    body, _ = _exporters.html.from_notebook_node(notebook)
    return render_page(job.title, describe_figures(body), manifest, depth=job.page.count("/"), plans=job.plans)


_exporters = threading.local()


def export_page(executed: str, out: str, title: str, page: str, plans: list[str], manifest: str) -> None:
    """Write the page of an executed notebook (`page_html`) to `out`; run inside the warm kernel
    that executed it, so exports (font subsetting included) run in parallel like the notebooks."""
    job = Job("", {}, page, title, tuple(plans))
    write_text_atomic(Path(out), page_html(Path(executed), job, _manifest(manifest)))


@lru_cache(maxsize=1)
def _manifest(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def describe_figures(body: str) -> str:
    """Give every image an alt text naming the section it illustrates: "图 Figure：<nearest heading above>"."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body, "html.parser")
    heading = ""
    for element in soup.find_all(["h1", "h2", "h3", "h4", "img"]):
        if element.name == "img":
            element["alt"] = f"图 Figure：{heading}"
        else:
            heading = " ".join(element.get_text(" ", strip=True).replace("¶", "").split())
    return str(soup)


def render_index(jobs, build: dict, manifest: dict, documents: pd.DataFrame) -> str:
    """reports/index.html: every page, the plans of the run's snapshot (`documents`) in it, and
    what the run was built from."""
    plans = {p.doc_id: p for p in documents.itertuples()}

    def plans_cell(job) -> str:
        return "、".join(
            f"{esc(plans[d].district)} {plans[d].year}{esc(COMPLETENESS_MARK[plans[d].completeness])}"
            for d in job.plans if d in plans
        )

    def cells(job) -> str:
        return f"<td><a href='{esc(job.page)}'>{esc(job.title)}</a></td><td>{plans_cell(job)}</td>"

    def by_region_and_year(group) -> str:
        """A heading per region (sorted), then the region's reports in year order, one year cell
        spanning each year's reports."""
        regions: dict[str, dict[int, list]] = {}
        for job in group:
            plan = plans.get(job.plans[0]) if job.plans else None
            region, year = (plan.region, plan.year) if plan else ("", 0)
            regions.setdefault(region, {}).setdefault(year, []).append(job)
        html = []
        for region in sorted(regions):
            rows = []
            for year in sorted(regions[region]):
                members = sorted(regions[region][year], key=lambda j: (plans_cell(j), j.page))
                rows += [("" if at else f"<td rowspan='{len(members)}'>{esc(year)}</td>") + cells(job)
                         for at, job in enumerate(members)]
            html.append(f"<h3>{esc(region)}</h3><table><tr><th>year 年份</th><th>report</th><th>plans 计划</th></tr>"
                        + "".join(f"<tr>{row}</tr>" for row in rows) + "</table>")
        return "".join(html)

    groups = [
        ("比较报告 Comparison reports", [j for j in jobs if j.page.startswith("comparison")]),
        ("区县报告 District reports", [j for j in jobs if j.page.startswith("districts/")]),
        ("分析笔记本 Analysis notebooks", [j for j in jobs if j.page.startswith("analysis/")]),
    ]
    parts = ["<h1>教育工作要点比较 · 报告索引 Report index</h1>",
             f"<p class='meta'>{len(plans)} plans · inputs <code>{esc(manifest['digest'])}</code> · commit "
             f"<code>{esc(manifest['git_commit'])}</code></p>"]
    for heading, group in groups:
        if heading == groups[1][0]:
            parts.append(f"<h2>{heading}</h2>{by_region_and_year(group)}")
            continue
        rows = "".join(f"<tr>{cells(j)}</tr>" for j in group)
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
    if row.get("script") == CONVERTED:
        parts.append("<p class='meta'>原文为繁体，已转为简体后清洗与计数，本页引文为简体（原文件未改动）。 "
                     "Written in Traditional characters: converted to Simplified before cleaning and counting; "
                     "quotes on this page are the converted text.</p>")
    return "\n".join(parts)


def compared_with_html(data: ReportData, doc_id: str, doc_ids: list[str]):
    """The plans a district page compares with: named (with years), or counted above detail_max_plans."""
    names = plan_names(data.documents)
    others = [names[d] for d in doc_ids if d != doc_id]
    if len(others) > data.params["detail_max_plans"]:
        return safe_html("<p>比较对象 Compared with: 本比较集中其他 {n} 份计划 the other {n} plans of the set"
                         "（名单见报告索引 listed in the index）。</p>", n=len(others))
    return safe_html("<p>比较对象 Compared with: {others}（年份不同时，比较的是不同年度的计划 plans of different "
                     "years）。</p>", others="、".join(others))


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
    """One plan's theme figures with 95 % item-bootstrap intervals, beside the median of the other
    complete plans of the set, its rank among them, and the item-level test against them. A theme
    that does not apply to the plan's year (lexicon `since`/`until`) shows n/a."""
    counts = data.theme_counts[data.theme_counts["doc_id"].isin([*doc_ids, doc_id])]
    ranked = ranked_ids(data.documents, [*doc_ids, doc_id], data.params)
    significance = theme_significance(data, doc_id, [*doc_ids, doc_id])
    rows = []
    for theme, group in counts.groupby("theme", sort=False):
        group = group[group["applicable"]] if "applicable" in group else group
        own = group[group["doc_id"] == doc_id]
        if own.empty:
            rows.append({"主题 theme": theme, "提及 mentions": "n/a（该年份不适用 not applicable to the plan's year）"})
            continue
        own = own.iloc[0]
        pool = group[group["doc_id"].isin(ranked)].sort_values(["per_10k_chars", "doc_id"], ascending=[False, True])
        others = pool[pool["doc_id"] != doc_id]["per_10k_chars"]
        rows.append({
            "主题 theme": theme, "提及 mentions": own["mentions"],
            "每万字 per 10k chars [95% CI]": f"{own['per_10k_chars']:.1f} [{own['per_10k_low']:.1f}, "
                                           f"{own['per_10k_high']:.1f}]",
            "含主题条目 items": f"{own['items_with_theme']}/{own['n_items']}",
            "条目占比 item share [95% CI]": f"{own['item_share']:.0%} [{own['item_share_low']:.0%}, "
                                          f"{own['item_share_high']:.0%}]",
            "其他完整计划中位数 median of the other complete plans (per 10k)":
                f"{others.median():.1f}（{len(others)} 份 plans）" if len(others) else "—",
            "排名 rank (per 10k, complete plans)":
                f"{list(pool['doc_id']).index(doc_id) + 1}/{len(pool)}" if doc_id in ranked else "—（不参与排名）",
            "条目检验 item test vs other complete plans": significance.get(theme, "—"),
        })
    return pd.DataFrame(rows)


def theme_profile_table(data: ReportData, doc_id: str, doc_ids: list[str]):
    """`theme_profile` with each mention count linked to its evidence block."""
    profile = theme_profile(data, doc_id, doc_ids)
    links = pd.Series([evidence.anchor(doc_id, theme) for theme in profile["主题 theme"]], index=profile.index)
    return table(profile, links={"提及 mentions": links})


def set_counts(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """theme_counts.csv rows of the plans of a set."""
    return data.theme_counts[data.theme_counts["doc_id"].isin(doc_ids)]


def mentions_table(data: ReportData, doc_ids: list[str]):
    """Plans × themes, raw mention counts, each linked to its block in the evidence appendix."""
    matrix = theme_matrix(data, doc_ids, "mentions")
    ids = {label: doc_id for doc_id, label in plan_names(data.documents).items()}
    links = {
        theme: pd.Series([evidence.anchor(ids[label], theme) for label in matrix.index], index=matrix.index)
        for theme in matrix.columns
    }
    return table(matrix, index=True, links=links)


def evidence_html(data: ReportData, doc_ids: list[str]) -> str:
    """Every theme count expands (<details id=…>) to all its mentions, cited as printed."""
    return evidence.evidence_html(data.kwic, data.items, data.documents, doc_ids, themes_of(data))


def themes_of(data: ReportData) -> list[str]:
    """Theme names in lexicon order."""
    return list(dict.fromkeys(data.theme_counts["theme"]))


def similar_plans(data: ReportData, doc_id: str) -> pd.DataFrame:
    """The plan's nearest candidates by whole-plan TF-IDF cosine, with the share of item resamples
    in which each is the nearest one (nearest_neighbours.csv)."""
    table = clusters.similar_plans_with_uncertainty(data.nearest_neighbours, doc_id)
    return pd.DataFrame({
        "计划 plan": table["neighbour"].map(plan_names(data.documents)),
        "相似度 cosine": table["similarity"].round(3),
        "最相似的重抽样占比 nearest in resamples": table["share_nearest"].map("{:.0%}".format),
    })


def neighbour_min_share(data: ReportData) -> float:
    """The share of item resamples a nearest plan must win to be called robust (params/clusters.yaml)."""
    return clusters.ClusterParams.from_yaml(data.paths.params / "clusters.yaml").neighbour_min_share


def neighbour_verdict_html(data: ReportData, doc_id: str):
    """Whether the most similar plan is robustly the nearest (a warning when it is not)."""
    min_share = neighbour_min_share(data)
    table = clusters.similar_plans_with_uncertainty(data.nearest_neighbours, doc_id)
    robust = not table.empty and table["share_nearest"].iloc[0] >= min_share
    text = clusters.neighbour_verdict(data.nearest_neighbours, doc_id, min_share, plan_names(data.documents))
    return safe_html("<p class='{kind}'>{text}</p>", kind="meta" if robust else "warning", text=text)


def nearest_plans(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """Per plan of the set, its most similar plan, the cosine and how often it stays the nearest
    when items are resampled; "不确定 uncertain" below params/clusters.yaml neighbour_min_share."""
    min_share, names = neighbour_min_share(data), plan_names(data.documents)
    nearest = data.nearest_neighbours
    top = nearest[(nearest["rank"] == 1) & nearest["doc_id"].isin(doc_ids)]
    return pd.DataFrame({
        "计划 plan": top["doc_id"].map(names), "最相似 nearest": top["neighbour"].map(names),
        "相似度 cosine": top["similarity"].round(3),
        "最相似的重抽样占比 nearest in resamples": top["share_nearest"].map("{:.0%}".format),
        "判断 verdict": (top["share_nearest"] >= min_share).map({True: "稳健 robust", False: "不确定 uncertain"}),
    })


def clusters_pass(data: ReportData) -> bool:
    """Whether the run's clustering is stable enough to be read as findings (cluster_solution.csv)."""
    return clusters.solution_passes(data.cluster_solution)


def cluster_verdict_html(data: ReportData):
    """The clustering's stability verdict with its numbers; a warning when it does not pass."""
    text = clusters.cluster_verdict(data.cluster_solution)
    return safe_html("<p class='{kind}'>{text}</p>", kind="meta" if clusters_pass(data) else "warning", text=text)


def stable_clusters(data: ReportData) -> pd.DataFrame:
    """The clusters of the run with size, label, theme and stability (mean Jaccard), stable ones first."""
    summary = data.cluster_summary.sort_values(["stable", "cluster"], ascending=[False, True])
    return summary.assign(stable=summary["stable"].map({True: "稳定 stable", False: "不稳定 unstable"}))


def cluster_mix_vs_others(data: ReportData, doc_id: str, doc_ids: list[str]) -> pd.DataFrame:
    """Share of this plan's items in each cluster beside the mean share in the other plans of the set."""
    assigned = data.clusters[data.clusters["doc_id"].isin([*doc_ids, doc_id])]
    share = pd.crosstab(assigned["doc_id"], assigned["cluster"], normalize="index")
    others = share.drop(index=doc_id, errors="ignore")
    summary = data.cluster_summary.set_index("cluster")
    frame = pd.DataFrame({
        "聚类 cluster": share.columns,
        "标签 label": summary["label"].reindex(share.columns).to_numpy(),
        "稳定 stable": summary["stable"].reindex(share.columns).map({True: "是 yes", False: "否 no"}).to_numpy(),
        "本计划占比 this plan": share.loc[doc_id].to_numpy(),
        "其他计划平均 others (mean)": (others.mean() if len(others) else share.loc[doc_id] * 0).to_numpy(),
    })
    frame = frame.sort_values(["本计划占比 this plan", "聚类 cluster"], ascending=[False, True])
    return frame.assign(**{c: frame[c].map("{:.0%}".format) for c in frame.columns[3:]})


def year_over_year(data: ReportData, doc_id: str) -> dict[str, pd.DataFrame] | None:
    """Against the same district's previous plan: themes up/down, terms new/dropped, item counts."""
    documents = data.documents.set_index("doc_id")
    row = documents.loc[doc_id]
    earlier = documents[(documents["district"] == row["district"]) & (documents["year"] < row["year"])]
    if earlier.empty:
        return None
    previous = earlier["year"].idxmax()
    names = plan_names(data.documents)
    counts = data.theme_counts.set_index(["doc_id", "theme"])
    themes = counts["per_10k_chars"].where(counts["applicable"])  # NaN: the theme does not apply that year
    now, before = themes.loc[doc_id], themes.loc[previous]
    theme_change = pd.DataFrame({
        f"{documents.loc[previous, 'year']} 每万字": before, f"{row['year']} 每万字": now,
        "变化 change": (now - before).round(2),
    }).rename_axis("主题 theme").reset_index().astype(object).fillna("n/a")
    terms = data.term_counts[data.term_counts["mentions"] > 0]
    now_terms = set(terms.loc[terms["doc_id"] == doc_id, "term"])
    old_terms = set(terms.loc[terms["doc_id"] == previous, "term"])
    summary = pd.DataFrame({
        "": ["计划 plan", "部分 sections", "条目 items", "字数 characters"],
        "before": [names[previous], *documents.loc[previous, ["n_sections", "n_items", "n_chars"]]],
        "now": [names[doc_id], *row[["n_sections", "n_items", "n_chars"]]],
    })
    terms_change = pd.DataFrame({
        "新出现的词 new terms": ["、".join(sorted(now_terms - old_terms)) or "—"],
        "不再出现的词 dropped terms": ["、".join(sorted(old_terms - now_terms)) or "—"],
    })
    return {"summary": summary, "themes": theme_change, "terms": terms_change}


def plans_overview(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """The plans of a set: name with year, region and level, completeness, size."""
    docs = data.documents[data.documents["doc_id"].isin(doc_ids)].sort_values(["year", "district"])
    return pd.DataFrame({
        "计划 plan": plan_labels(docs),
        "地区 region": docs["region"] + " · " + docs["admin_level"],
        "标题 title": docs["title"], "完整性 completeness": docs["completeness"],
        "部分 sections": docs["n_sections"], "条目 items": docs["n_items"], "字数 chars": docs["n_chars"],
    })


def theme_matrix(data: ReportData, doc_ids: list[str], value: str = "per_10k_chars") -> pd.DataFrame:
    """Plans (labelled with year) × themes, in lexicon order."""
    counts = data.theme_counts[data.theme_counts["doc_id"].isin(doc_ids)]
    matrix = counts.pivot(index="doc_id", columns="theme", values=value)
    matrix = matrix[list(dict.fromkeys(counts["theme"]))]
    return matrix.rename(index=plan_names(data.documents)).rename_axis(index="plan", columns="theme")


def cluster_matrix(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """Plans × clusters: share of each plan's items in each cluster, columns labelled."""
    assigned = data.clusters[data.clusters["doc_id"].isin(doc_ids)]
    share = pd.crosstab(assigned["doc_id"], assigned["cluster"], normalize="index")
    labels = data.cluster_summary.set_index("cluster")["label"]
    return share.rename(index=plan_names(data.documents), columns=lambda c: f"{c} {labels.get(c, '')}")


def similarity_matrix(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """Plans × plans cosine similarity, labelled with year."""
    sim = data.doc_similarity[data.doc_similarity["doc_a"].isin(doc_ids) & data.doc_similarity["doc_b"].isin(doc_ids)]
    labels = plan_names(data.documents)
    return sim.pivot(index="doc_a", columns="doc_b", values="similarity").rename(index=labels, columns=labels)


def caveats_html(data: ReportData, doc_ids: list[str]) -> str:
    """What a reader must keep in mind: differing years and levels, incomplete plans (listed by
    name, or counted when the set has more than `detail_max_plans` plans)."""
    docs = data.documents[data.documents["doc_id"].isin(doc_ids)]
    large = len(docs) > data.params["detail_max_plans"]
    notes = []
    if docs["year"].nunique() > 1:
        notes.append(f"计划年份不同（{docs['year'].min()}–{docs['year'].max()}）："
                     f"{'分布也按年份给出' if large else '比较的是各地最新的计划'}，年份写在每个地名旁。"
                     "Plans of different years are compared.")
    if docs["admin_level"].nunique() > 1:
        levels = (docs["admin_level"].value_counts().sort_index().items() if large else
                  ((f"{r.district}{r.admin_level}", None) for r in docs.itertuples()))
        notes.append("行政级别不同（" + "、".join(esc(level) + (f" {n} 份" if n else "") for level, n in levels)
                     + "）：市级计划统筹全市，区级计划更具体。Administrative levels differ.")
    incomplete = docs[docs["completeness"] != "complete"]
    if large and len(incomplete):
        notes.append(f"{len(incomplete)} 份计划不完整（截断或节选）：计数偏低，不计入分布与排名。"
                     "Incomplete plans are left out of distributions and rankings.")
    elif not large:
        notes += [f"{esc(row.district)} {row.year} 为 {esc(row.completeness)}：计数偏低，不参与排名。"
                  for row in incomplete.itertuples()]
    notes.append("每万字提及次数以清洗后正文的非空白字符数为分母；主题词按最长匹配计数，不重复计数。")
    return "<ul>" + "".join(f"<li>{n}</li>" for n in notes) + "</ul>"


def per_set(cache: dict, data: ReportData, doc_ids: list[str], compute: Callable[[ReportData, list[str]], T]) -> T:
    """`compute(data, sorted doc_ids)`, kept in `cache` for the snapshot: every district page of a
    set needs the same set-wide result, and a warm kernel renders many of them."""
    key = (data.snapshot, tuple(sorted(doc_ids)))
    if key not in cache:
        if any(k[0] != data.snapshot for k in cache):
            cache.clear()
        cache[key] = compute(data, list(key[1]))
    return cache[key]


_set_keyness: dict[tuple[str, tuple[str, ...]], pd.DataFrame] = {}  # per snapshot and set, for a warm kernel


def set_keyness(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """Token keyness within a plan set: each plan against the other complete plans of the set
    pooled (an incomplete plan is tested but never pooled). Rebuilt from the per-plan token counts
    of keyness.csv, so each set — not the whole corpus — is the reference. Computed once per set in
    a kernel (every district page of a set needs it)."""
    return per_set(_set_keyness, data, doc_ids, _compute_set_keyness)


def _compute_set_keyness(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    from analysis.stages.themes import load_lexicon, stat_keyness

    tokens = data.keyness[data.keyness["doc_id"].isin(doc_ids)]
    min_count = load_lexicon(data.paths.params / "themes.yaml").min_count
    complete = ranked_ids(data.documents, doc_ids, data.params)

    def against(pool: list[str], shown: set[str]) -> pd.DataFrame:
        rows = tokens[tokens["doc_id"].isin(pool)]
        result = stat_keyness(rows[["doc_id", "term", "count"]], rows.groupby("doc_id")["total"].first(), min_count)
        return result[result["doc_id"].isin(shown)]

    parts = [against(complete, set(complete))]
    parts += [against([*complete, d], {d}) for d in doc_ids if d not in complete]
    return pd.concat(parts, ignore_index=True)


_pools: dict[tuple[str, tuple[str, ...]], tuple[pd.Series, int]] = {}  # per snapshot and pool, for a warm kernel
OTHERS = "\0others"  # the pooled reference in plan_keyness (never a doc_id)


def _pool(data: ReportData, complete: list[str]) -> tuple[pd.Series, int]:
    """Token counts summed over the plans `complete` and their total tokens, once per kernel."""
    return per_set(_pools, data, complete, _compute_pool)


def _compute_pool(data: ReportData, complete: list[str]) -> tuple[pd.Series, int]:
    rows = data.keyness[data.keyness["doc_id"].isin(complete)]
    return rows.groupby("term")["count"].sum(), int(rows.groupby("doc_id")["total"].first().sum())


def plan_keyness(data: ReportData, doc_id: str, doc_ids: list[str]) -> pd.DataFrame:
    """One plan's rows of `set_keyness(data, doc_ids + [doc_id])` — against the other complete plans
    of the set pooled — at the cost of one plan: a district page of a 1,000-plan set does not test
    all 1,000 plans."""
    from analysis.stages.themes import load_lexicon, stat_keyness

    complete = ranked_ids(data.documents, sorted({*doc_ids, doc_id}), data.params)
    own = data.keyness[data.keyness["doc_id"] == doc_id]
    if own.empty:
        return stat_keyness(own[["doc_id", "term", "count"]], pd.Series(dtype=float))  # no tokens: no rows
    counts, total = _pool(data, complete)
    own_total = int(own["total"].iloc[0])
    if doc_id in complete:
        counts, total = counts.sub(own.set_index("term")["count"], fill_value=0), total - own_total
    others = counts[counts > 0]
    frame = pd.concat([own[["doc_id", "term", "count"]],
                       pd.DataFrame({"doc_id": OTHERS, "term": others.index, "count": others.to_numpy()})])
    result = stat_keyness(frame, pd.Series({doc_id: own_total, OTHERS: total}),
                          load_lexicon(data.paths.params / "themes.yaml").min_count)
    return result[result["doc_id"] == doc_id].reset_index(drop=True)


def distinctive_terms(data: ReportData, doc_id: str, doc_ids: list[str]) -> pd.DataFrame:
    """Tokens this plan uses significantly more than the other complete plans of the set (G², BH
    q, log ratio). Left out: place names and numerals (jieba word classes ns, m: 上海市, the 十三 of
    十三五) and terms containing a plan's district or region (every plan names itself)."""
    from analysis.stages.coword import place_names, place_pattern, plan_term
    from analysis.text.tokenize import word_classes

    keyness = plan_keyness(data, doc_id, doc_ids)
    places, classes = place_pattern(place_names(data.documents)), word_classes()
    rows = keyness[(keyness["doc_id"] == doc_id) & (keyness["q"] < data.params["max_q"]) & (keyness["log_ratio"] > 0)]
    kept = rows["term"].map(lambda t: plan_term(t, places, classes))
    rows = rows[kept.astype(bool)]  # bool even when empty: an empty object mask would select columns
    rows = rows.sort_values(["g2", "term"], ascending=[False, True]).head(data.params["top_terms"])
    return pd.DataFrame({
        "词 term": rows["term"], "本计划 count": rows["count"], "期望 expected": rows["expected"].round(1),
        "其他计划 others": rows["count_other"], "G²": rows["g2"].round(2), "q": rows["q"].map("{:.2g}".format),
        "log₂ ratio": rows["log_ratio"].round(2),
    }).reset_index(drop=True)


def distinctive_terms_table(data: ReportData, doc_id: str, doc_ids: list[str]):
    """`distinctive_terms` as a table, or a sentence saying that no term passes the threshold."""
    from IPython.display import HTML

    terms = distinctive_terms(data, doc_id, doc_ids)
    if terms.empty:
        return HTML(f"<p>本计划没有显著多用的词（q < {esc(data.params['max_q'])}）。 No term is used significantly "
                    "more than in the other plans of the set.</p>")
    return table(terms)


_set_tests: dict[tuple[str, tuple[str, ...]], pd.DataFrame] = {}


def set_tests(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """Item-presence tests of a plan set: each plan × theme against the set's other complete plans
    (Fisher's exact test, BH q over the set; `stats.item_presence_tests`, params/statistics.yaml)."""
    return per_set(_set_tests, data, doc_ids, _compute_set_tests)


def _compute_set_tests(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    from analysis.text.stats import StatisticsParams, item_presence_tests

    max_q = StatisticsParams.from_yaml(data.paths.params / "statistics.yaml").max_q
    return item_presence_tests(data.theme_counts, data.documents, doc_ids, max_q=max_q)


DIRECTION = {"more": "显著偏多 more", "less": "显著偏少 less", "n.s.": "无显著差异 n.s."}


def theme_significance(data: ReportData, doc_id: str, doc_ids: list[str]) -> dict[str, str]:
    """Per theme: 显著偏多 / 显著偏少 / 无显著差异 — this plan's share of items with the theme
    against the other complete plans of `doc_ids` (`set_tests`). Themes without a pool are absent."""
    tests = set_tests(data, sorted({*doc_ids, doc_id}))
    return {
        row.theme: f"{DIRECTION[row.direction]} ({row.items_with_theme}/{row.n_items} vs "
                   f"{row.pool_items_with_theme}/{row.pool_n_items} items, OR={row.odds_ratio:.2g}, q={row.q:.2g})"
        for row in tests[tests["doc_id"] == doc_id].itertuples()
    }


def set_tests_table(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """`set_tests` for reading: plan, theme, items, pool, odds ratio, q and the verdict."""
    tests = set_tests(data, doc_ids)
    names = plan_names(data.documents)
    return pd.DataFrame({
        "计划 plan": tests["doc_id"].map(names), "主题 theme": tests["theme"],
        "含主题条目 items": tests["items_with_theme"].astype(str) + "/" + tests["n_items"].astype(str),
        "其他完整计划 pool": tests["pool_items_with_theme"].astype(str) + "/" + tests["pool_n_items"].astype(str),
        "OR": tests["odds_ratio"].map("{:.2g}".format), "q": tests["q"].map("{:.2g}".format),
        "结论 verdict": tests["direction"].map(DIRECTION),
    })


def validation_table(data: ReportData) -> pd.DataFrame:
    """Per theme, the lexicon against the hand coding of items (lexicon_validation.csv)."""
    v = data.lexicon_validation
    return pd.DataFrame({
        "主题 theme": v["theme"], "条目 items": v["n_items"], "一致为是 tp": v["tp"], "误报 fp": v["fp"],
        "漏报 fn": v["fn"], "精确率 precision": v["precision"].round(2), "召回率 recall": v["recall"].round(2),
        "F1": v["f1"].round(2), "不适用 n/a items": v["not_applicable"],
    })


def disagreements_table(data: ReportData) -> pd.DataFrame:
    """Every coded item × theme where the lexicon and the hand coding differ, cited as printed."""
    sections = data.items[["doc_id", "item_seq", "section_no"]]
    rows = data.lexicon_disagreements.merge(sections, on=["doc_id", "item_seq"], how="left").assign(where="item")
    return pd.DataFrame({
        "计划 plan": rows["doc_id"].map(plan_names(data.documents)),
        "位置 location": evidence.locations(rows, data.items), "主题 theme": rows["theme"],
        "人工 code": rows["code"], "词表 lexicon": rows["predicted"], "计数词 terms": rows["terms"].fillna(""),
        "编码理由 coder's note": rows["note"].fillna(""), "条目原文 item": rows["text"],
    })
