"""Report content: plan sets, the tables and HTML fragments the report notebooks show, and the
self-contained HTML pages (no external scripts, styles, fonts or images)."""

from __future__ import annotations

import html
import json
import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from analysis.corpus import COMPLETENESS, read_manifest
from analysis.dataset import COMPLETENESS_MARK, plan_labels
from analysis.files import read_csv
from analysis.params import load_yaml
from analysis.paths import Paths, ProjectError

COMPLETENESS_ORDER = {value: rank for rank, value in enumerate(COMPLETENESS)}  # complete is preferred
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


def plan_names(documents: pd.DataFrame) -> dict[str, str]:
    """doc_id → "宝山 2023（截断）" (district, year, completeness mark)."""
    return dict(zip(documents["doc_id"], plan_labels(documents), strict=True))


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
    from analysis.pipeline import files_digest

    return {
        "built_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
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


def safe_html(template: str, **values):
    """`template` (trusted markup) with every value HTML-escaped: the way notebooks show a manifest,
    params or plan value. Never put such a value into `Markdown(…)`: Markdown turns `![](http://…)`
    into an external image and passes `<script>` through."""
    from IPython.display import HTML

    return HTML(template.format(**{name: esc(value) for name, value in values.items()}))


def table(frame: pd.DataFrame, index: bool = False):
    """Show a table without the meaningless 0..n row index (cell text escaped)."""
    from IPython.display import HTML

    return HTML(frame.to_html(index=index, escape=True, border=0, na_rep="—"))


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

    return Environment(loader=PackageLoader("analysis", "templates"), autoescape=select_autoescape(["j2"]))


def render_page(title: str, body: str, manifest: dict, depth: int, is_index: bool = False) -> str:
    """A complete offline page: inline CSS, a table of contents from the h2/h3 headings, run footer."""
    from bs4 import BeautifulSoup
    from markupsafe import Markup

    soup = BeautifulSoup(sanitize(body), "html.parser")
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

    plans = {p.doc_id: p for p in read_manifest(paths.raw)}

    def plans_cell(job) -> str:
        return "、".join(
            f"{esc(plans[d].district)} {plans[d].year}{esc(COMPLETENESS_MARK[plans[d].completeness])}"
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
    significance = theme_significance(data, doc_id)
    rows = []
    for theme, group in counts.groupby("theme", sort=False):
        own = group[group["doc_id"] == doc_id].iloc[0]
        pool = group[group["doc_id"].isin(ranked)].sort_values("per_10k_chars", ascending=False)
        rank = (f"{list(pool['doc_id']).index(doc_id) + 1}/{len(pool)}" if doc_id in ranked else "—（不参与排名）")
        rows.append({
            "主题 theme": theme, "提及 mentions": own["mentions"], "每万字 per 10k chars": own["per_10k_chars"],
            "含主题条目 items": f"{own['items_with_theme']}/{own['n_items']}",
            "条目占比 item share": f"{own['item_share']:.0%}",
            "各地中位数 median per 10k": round(float(group["per_10k_chars"].median()), 2),
            "排名 rank (per 10k)": rank,
            "与其他计划相比 vs all others": significance.get(theme, "—"),
        })
    return pd.DataFrame(rows)


def evidence_html(data: ReportData, doc_ids: list[str]) -> str:
    """Every theme count expands (<details>) to all its KWIC lines with item numbers."""
    labels = plan_names(data.documents)
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


def similar_plans(data: ReportData, doc_id: str) -> pd.DataFrame:
    """Other plans ordered by cosine similarity of whole-plan TF-IDF to this one."""
    labels = plan_names(data.documents)
    sim = data.doc_similarity
    others = sim[(sim["doc_a"] == doc_id) & (sim["doc_b"] != doc_id)].sort_values(
        ["similarity", "doc_b"], ascending=[False, True]
    )
    return pd.DataFrame({"计划 plan": others["doc_b"].map(labels), "相似度 cosine": others["similarity"].round(3)})


def cluster_mix_vs_others(data: ReportData, doc_id: str, doc_ids: list[str]) -> pd.DataFrame:
    """Share of this plan's items in each cluster beside the mean share in the other plans of the set."""
    clusters = data.clusters[data.clusters["doc_id"].isin([*doc_ids, doc_id])]
    share = pd.crosstab(clusters["doc_id"], clusters["cluster"], normalize="index")
    others = share.drop(index=doc_id, errors="ignore")
    labels = data.cluster_summary.set_index("cluster")["label"]
    frame = pd.DataFrame({
        "聚类 cluster": share.columns,
        "标签 label": [labels.get(c, "") for c in share.columns],
        "本计划占比 this plan": share.loc[doc_id].to_numpy(),
        "其他计划平均 others (mean)": (others.mean() if len(others) else share.loc[doc_id] * 0).to_numpy(),
    })
    frame = frame.sort_values(["本计划占比 this plan", "聚类 cluster"], ascending=[False, True])
    return frame.assign(**{c: frame[c].map("{:.0%}".format) for c in frame.columns[2:]})


def year_over_year(data: ReportData, doc_id: str) -> dict[str, pd.DataFrame] | None:
    """Against the same district's previous plan: themes up/down, terms new/dropped, item counts."""
    documents = data.documents.set_index("doc_id")
    row = documents.loc[doc_id]
    earlier = documents[(documents["district"] == row["district"]) & (documents["year"] < row["year"])]
    if earlier.empty:
        return None
    previous = earlier["year"].idxmax()
    names = plan_names(data.documents)
    themes = data.theme_counts.set_index(["doc_id", "theme"])["per_10k_chars"]
    now, before = themes.loc[doc_id], themes.loc[previous]
    theme_change = pd.DataFrame({
        f"{documents.loc[previous, 'year']} 每万字": before, f"{row['year']} 每万字": now,
        "变化 change": (now - before).round(2),
    }).rename_axis("主题 theme").reset_index()
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
    clusters = data.clusters[data.clusters["doc_id"].isin(doc_ids)]
    share = pd.crosstab(clusters["doc_id"], clusters["cluster"], normalize="index")
    labels = data.cluster_summary.set_index("cluster")["label"]
    return share.rename(index=plan_names(data.documents), columns=lambda c: f"{c} {labels.get(c, '')}")


def similarity_matrix(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """Plans × plans cosine similarity, labelled with year."""
    sim = data.doc_similarity[data.doc_similarity["doc_a"].isin(doc_ids) & data.doc_similarity["doc_b"].isin(doc_ids)]
    labels = plan_names(data.documents)
    return sim.pivot(index="doc_a", columns="doc_b", values="similarity").rename(index=labels, columns=labels)


def caveats_html(data: ReportData, doc_ids: list[str]) -> str:
    """What a reader must keep in mind: differing years and levels, incomplete plans."""
    docs = data.documents[data.documents["doc_id"].isin(doc_ids)]
    notes = []
    if docs["year"].nunique() > 1:
        notes.append(f"计划年份不同（{docs['year'].min()}–{docs['year'].max()}）：比较的是各地最新的计划，"
                     "年份写在每个地名旁。Plans of different years are compared.")
    if docs["admin_level"].nunique() > 1:
        notes.append("行政级别不同（" + "、".join(f"{esc(r.district)}{esc(r.admin_level)}" for r in docs.itertuples())
                     + "）：市级计划统筹全市，区级计划更具体。Administrative levels differ.")
    for row in docs[docs["completeness"] != "complete"].itertuples():
        notes.append(f"{esc(row.district)} {row.year} 为 {esc(row.completeness)}：计数偏低，不参与排名。")
    notes.append("每万字提及次数以清洗后正文的非空白字符数为分母；主题词按最长匹配计数，不重复计数。")
    return "<ul>" + "".join(f"<li>{n}</li>" for n in notes) + "</ul>"


def distinctive_terms(data: ReportData, doc_id: str) -> pd.DataFrame:
    """Tokens this plan uses significantly more than the others pooled (G², BH q, log ratio).

    Place names (terms containing a district's name, such as 杨浦区) are left out: every plan names
    itself, which says nothing about its policy."""
    keyness = data.keyness
    places = "|".join(sorted(set(data.documents["district"])))
    rows = keyness[
        (keyness["doc_id"] == doc_id) & (keyness["kind"] == "token")
        & (keyness["q"] < data.params["max_q"]) & (keyness["log_ratio"] > 0)
        & ~keyness["term"].str.contains(places, regex=True)
    ].sort_values(["g2", "term"], ascending=[False, True]).head(data.params["top_terms"])
    return pd.DataFrame({
        "词 term": rows["term"], "本计划 count": rows["count"], "期望 expected": rows["expected"].round(1),
        "其他计划 others": rows["count_other"], "G²": rows["g2"].round(2), "q": rows["q"].map("{:.2g}".format),
        "log₂ ratio": rows["log_ratio"].round(2),
    }).reset_index(drop=True)


def theme_significance(data: ReportData, doc_id: str) -> dict[str, str]:
    """Per theme: 显著偏多 / 显著偏少 / 无显著差异 against the other plans pooled (theme keyness)."""
    rows = data.keyness[(data.keyness["doc_id"] == doc_id) & (data.keyness["kind"] == "theme")]
    verdicts = {}
    for row in rows.itertuples():
        if row.q >= data.params["max_q"]:
            verdicts[row.theme] = f"无显著差异 n.s. (q={row.q:.2g})"
        else:
            direction = "显著偏多 more" if row.log_ratio > 0 else "显著偏少 less"
            verdicts[row.theme] = f"{direction} (G²={row.g2:.1f}, q={row.q:.2g})"
    return verdicts
