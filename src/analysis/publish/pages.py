"""Self-contained HTML pages: sanitised body, table of contents, run footer, embedded font; the
export of an executed notebook and the report index."""

from __future__ import annotations

import json
import logging
import threading
from functools import cache, lru_cache
from pathlib import Path

import pandas as pd

from analysis.files import write_text_atomic
from analysis.publish.fonts import font_face_css
from analysis.publish.jobs import Job
from analysis.stages.dataset import COMPLETENESS_MARK
from analysis.views.evidence import esc

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
        if value.startswith("#"):  # a link within the page (a ¶ permalink: "#Method:-lexicon-validation")
            return value
        return None if value.startswith("//") or ":" in value.split("/", 1)[0] else value
    return value


def sanitize(fragment: str) -> str:
    """An HTML fragment reduced to SAFE_TAGS and SAFE_ATTRIBUTES with local URLs (nh3/ammonia)."""
    import nh3

    return nh3.clean(fragment, tags=SAFE_TAGS, attributes=SAFE_ATTRIBUTES, attribute_filter=_local_url,
                     url_schemes={"data"}, link_rel=None)


@cache
def _page_template():
    """The page template, compiled once per process (a kernel exports all its pages with it)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(loader=PackageLoader("analysis.publish", "templates"),
                              autoescape=select_autoescape(["j2"]))
    return environment.get_template("page.html.j2")


@cache
def _style() -> str:
    return (Path(__file__).parent / "templates" / "style.css").read_text(encoding="utf-8")


FONT_MARK = "/* font-face */"  # where the font goes: the page's characters are known once it is rendered


FOOTER_INPUTS = 30  # a footer lists the hashes of at most this many input files (all: run_manifest.json)


def footer_inputs(manifest: dict, plans: tuple[str, ...] | None) -> dict[str, str] | None:
    """The input files a page's footer lists: those of its plans (`plans`: doc_ids; None: every
    input) and the shared ones (manifest, reference coding); None when they are more than FOOTER_INPUTS,
    so 1,000 district pages do not each carry 1,000 hashes."""
    inputs = manifest.get("inputs", {})
    if plans is not None:
        wanted = set(plans)
        inputs = {name: sha for name, sha in inputs.items()
                  if not name.startswith("data/raw/") or name.endswith("manifest.csv") or Path(name).stem in wanted}
    return inputs if len(inputs) <= FOOTER_INPUTS else None


def render_page(
    title: str, body: str, manifest: dict, depth: int, is_index: bool = False, plans: tuple[str, ...] | None = None,
    describe: bool = False,
) -> str:
    """A complete offline page: inline CSS, a table of contents from the h2/h3 headings, run footer
    (with the hashes of the inputs of `plans`, see `footer_inputs`); with `describe`, every image's
    alt text names its section (`describe_figures`)."""
    from bs4 import BeautifulSoup
    from markupsafe import Markup

    soup = BeautifulSoup(sanitize(body), "html.parser")
    if describe:
        describe_figures(soup)
    toc = []
    for number, heading in enumerate(soup.find_all(["h2", "h3"]), start=1):
        heading["id"] = heading.get("id") or f"section-{number}"
        toc.append((heading.name, heading["id"], heading.get_text(" ", strip=True).rstrip("¶").strip()))
    page = _page_template().render(
        title=title, body=Markup(str(soup)), toc=toc, manifest=manifest, css=Markup(_style()), up="../" * depth,
        is_index=is_index, inputs=footer_inputs(manifest, plans), n_inputs=len(manifest.get("inputs", {})),
        font_css=Markup(FONT_MARK))
    # the page's own glyphs of the bundled CJK font, so it reads without a Chinese font (analysis.publish.fonts);
    # the mark is ASCII, so the page's characters are those of the page without it
    return page.replace(FONT_MARK, font_face_css(page), 1)


def page_html(executed: Path, job, manifest: dict) -> str:
    """Export an executed notebook as a report page: outputs only, no code, no stderr."""
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if o.get("name") != "stderr"]
    if not hasattr(_exporters, "html"):  # one exporter per thread: building one costs more than a page
        _exporters.html = _body_exporter()
    body, _ = _exporters.html.from_notebook_node(notebook)
    return render_page(job.title, body, manifest, depth=job.page.count("/"), plans=job.plans, describe=True)


_exporters = threading.local()


def _body_exporter():
    """nbconvert's HTML exporter (outputs only) without its last step, a bs4 parse and re-serialisation
    of the whole body that only adds alt texts and tabindex attributes: describe_figures sets every alt
    text and the sanitiser drops tabindex. That step was half of the exporter's time per page."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class BodyExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            """HTMLExporter.from_notebook_node up to the template's output (its filters registered alike)."""
            resources = self._init_resources(resources)
            self.register_filter("highlight_code", Highlight2HTML(parent=self))
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    quiet = logging.getLogger("analysis.export")
    quiet.setLevel(logging.ERROR)
    return BodyExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                        exclude_output_prompt=True, log=quiet)


def export_page(executed: str, out: str, title: str, page: str, plans: list[str], manifest: str) -> None:
    """Write the page of an executed notebook (`page_html`) to `out`; run inside the warm kernel
    that executed it, so exports (font subsetting included) run in parallel like the notebooks."""
    job = Job("", {}, page, title, tuple(plans))
    write_text_atomic(Path(out), page_html(Path(executed), job, _manifest(manifest)))


@lru_cache(maxsize=1)
def _manifest(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def describe_figures(soup) -> None:
    """Give every image of `soup` (a parsed page body) an alt text naming the section it illustrates:
    "图 Figure：<nearest heading above>"."""
    heading = ""
    for element in soup.find_all(["h1", "h2", "h3", "h4", "img"]):
        if element.name == "img":
            element["alt"] = f"图 Figure：{heading}"
        else:
            heading = " ".join(element.get_text(" ", strip=True).replace("¶", "").split())


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
            html.append(f"<h3>{esc(region)}</h3><table><tr><th>year 年份</th><th>报告 report</th>"
                        "<th>plans 计划</th></tr>"
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
        parts.append(f"<h2>{heading}</h2><table><tr><th>报告 report</th><th>plans 计划</th></tr>{rows}</table>")
    rows = "".join(
        f"<tr><td>{esc(p.district)}</td><td>{esc(p.region)} · {esc(p.admin_level)}</td><td>{p.year}</td>"
        f"<td>{esc(p.completeness)}</td><td><a href='districts/{esc(p.doc_id)}.html'>{esc(p.title)}</a></td></tr>"
        for p in sorted(plans.values(), key=lambda p: (p.district, p.year))
    )
    parts.append("<h2>计划 Plans</h2><table><tr><th>地区 district</th><th>地区 · 级别 region · level</th>"
                 f"<th>年份 year</th><th>完整性 completeness</th><th>标题 title</th></tr>{rows}</table>")
    return render_page("报告索引 Report index", "\n".join(parts), manifest, depth=0, is_index=True)
