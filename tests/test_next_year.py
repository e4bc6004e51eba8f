"""The analyst's next-year workflow end to end: `add` a plan, run again, and every page keeps hostile
text in manifest, params and plan fields inert. Its own module (one full run), so pytest-xdist runs it
beside test_reports' run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis.paths import Paths
from analysis.pipeline import run_pipeline

FIXTURES = Path(__file__).parent / "fixtures"


# Injected into every free-text field that reaches a page: a live tag, an event handler, an early
# end of the evidence <details>, and a Markdown image that would load from outside.
HOSTILE = "</details><script>alert(3)</script><img src=x onerror=alert(1)>![t](http://evil.example/t.png)"
URL_ATTRIBUTES = {"src", "href", "srcset", "action", "formaction", "data", "poster", "background", "cite",
                  "ping", "xlink:href", "longdesc", "manifest"}
LIVE_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "link", "base", "form",
             "svg", "math", "audio", "video", "source", "input", "button"}


def live_markup(page: str) -> list[str]:
    """Everything in a page that could run code or load something from outside."""
    from bs4 import BeautifulSoup

    found = []
    for tag in BeautifulSoup(page, "html.parser").find_all(True):
        if tag.name in LIVE_TAGS or (tag.name == "meta" and tag.get("http-equiv")):
            found.append(f"<{tag.name}>")
        loads = re.search(r"url\((?!data:font/)|@import", tag.text)  # the embedded CJK font is a data: URI
        if tag.name == "style" and (tag.find_parent("head") is None or loads):
            found.append("<style> outside <head> or loading a resource")
        for name, value in tag.attrs.items():
            value = " ".join(value) if isinstance(value, list) else value
            if name.lower().startswith("on") or (name == "style" and "url(" in value.lower()):
                found.append(f"<{tag.name} {name}>")
            elif name.lower() in URL_ATTRIBUTES and not (
                value.startswith("data:image/") or not re.match(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", value, re.I)
            ):
                found.append(f"<{tag.name} {name}={value[:40]}>")
    return found


def visible_text(page: str) -> str:
    from bs4 import BeautifulSoup

    return BeautifulSoup(page, "html.parser").get_text()


@pytest.fixture(scope="module")
def next_year(paths: Paths, tmp_path_factory) -> Paths:
    """The analyst's workflow: `add` next year's plan, then run again — with hostile text in every
    free-text field: the new plan's title, region and source (manifest), a theme description
    (themes.yaml) and a plan set's title (report.yaml)."""
    from analysis.corpus.add import add_plan

    project = paths.copy_inputs(tmp_path_factory.mktemp("next_year"))
    add_plan(project.raw, FIXTURES / "reports_yangpu_2025.txt", "杨浦", 2025,
             title=f"2025年杨浦区教育局工作要点{HOSTILE}", region=f"上海市{HOSTILE}", source=HOSTILE)
    edits = (("themes.yaml", "description: 思想政治教育与立德树人"), ("report.yaml", "title: 2024年工作要点比较"))
    for name, old in edits:
        path = project.params / name
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, old + HOSTILE), encoding="utf-8")
    run_pipeline(project, jobs=2)
    return project


def test_added_plan_gets_its_report_with_year_over_year(next_year):
    page = (next_year.reports / "districts" / "yangpu_2025.html").read_text(encoding="utf-8")
    assert "2025年杨浦区教育局工作要点" in page
    assert "2024 每万字" in page and "2025 每万字" in page  # themes against the 2024 plan
    assert "新出现的词 new terms" in page
    assert "历年工具占比" in page  # policy-tool shares by year: 杨浦 now has two years
    index = (next_year.reports / "index.html").read_text(encoding="utf-8")
    assert "districts/yangpu_2025.html" in index
    comparison = (next_year.reports / "comparison.html").read_text(encoding="utf-8")
    assert "杨浦 2025" in comparison  # the latest plan of 杨浦 replaces 2024 in the default set
    start = comparison.index('历年变化 Trajectories<a class="anchor-link"')  # the heading, not the contents
    trajectories = comparison[start:comparison.index("<h2", start)]
    assert "yangpu_2024" in trajectories and "yangpu_2025" in trajectories  # 杨浦's two years, with intervals


def test_plan_text_with_markup_stays_inert(next_year):
    page = (next_year.reports / "districts" / "yangpu_2025.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert（1）&lt;/script&gt; &amp; <mark>心理健康</mark>" in page  # ( became （ in cleaning
    assert "<script" not in page.lower()


def test_hostile_fields_are_shown_as_text_on_every_page(next_year):
    pages = {p.relative_to(next_year.reports).as_posix(): p.read_text(encoding="utf-8")
             for p in next_year.reports.rglob("*.html")}
    assert len(pages) == 16  # 7 analysis notebooks, 6 plans, 2 comparisons, the index
    for name, page in pages.items():
        assert live_markup(page) == [], name
        assert "evil.example" not in "".join(str(v) for v in _attribute_values(page)), name
    # Each field is visible, literally, where it is shown: escaped, not dropped.
    shown = {
        "districts/yangpu_2025.html": 3,  # title (heading), region and source (header)
        "index.html": 3,  # the plan's title and region, the set's title
        "comparison.html": 2,  # title and region in the plans table
        "comparison_y2024.html": 1,  # the set's title in <title>
        "analysis/02_theme_frequencies.html": 1,  # the theme description in the lexicon table
    }
    for name, at_least in shown.items():
        page = pages[name]
        assert visible_text(page).count("<script>alert(3)</script>") >= at_least, name


def _attribute_values(page: str) -> list[str]:
    from bs4 import BeautifulSoup

    return [v for tag in BeautifulSoup(page, "html.parser").find_all(True) for v in tag.attrs.values()]
