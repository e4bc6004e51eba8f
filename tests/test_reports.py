"""End to end: `run` on a copy of the project publishes trustworthy, offline HTML reports."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from analysis.paths import Paths, ProjectError
from analysis.pipeline import run_pipeline
from support import seeds_project

EXTERNAL = re.compile(
    r"""(?:<script[^>]*\bsrc\s*=|<link[^>]*\bhref\s*=|<img[^>]*\bsrc\s*=|url\()\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)
FIXTURES = Path(__file__).parent / "fixtures"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")



@pytest.fixture(scope="module")
def built(paths: Paths, seeds_processed: Path, tmp_path_factory) -> tuple[Paths, list[str]]:
    """One full run on the five plans, in a private copy of the project (its stages are the
    session's seed snapshot: the run finds them up to date and builds the reports)."""
    project = seeds_project(paths, seeds_processed, tmp_path_factory.mktemp("built"))
    return project, run_pipeline(project, jobs=2)


def _pages(project: Paths) -> list[Path]:
    return sorted(project.reports.rglob("*.html"))


def test_full_run_leaves_raw_data_unchanged(built, paths):
    project, _ = built
    assert {p.name: p.read_bytes() for p in project.raw.iterdir()} == {
        p.name: p.read_bytes() for p in paths.raw.iterdir()
    }


def test_full_run_publishes_every_report(built):
    project, pages = built
    names = {p.relative_to(project.reports).as_posix() for p in _pages(project)}
    districts = {f"districts/{d}.html" for d in
                 ("yangpu_2024", "minhang_2017", "baoshan_2023", "chengzhong_2024", "zhoushan_2024")}
    assert {"index.html", "comparison.html", *districts} <= names
    assert set(pages) <= names
    assert (project.reports / "run_manifest.json").is_file()
    assert not list(project.reports.glob(".staging-*"))


def test_html_is_self_contained_and_has_no_code(built):
    project, _ = built
    for page in _pages(project):
        text = page.read_text(encoding="utf-8")
        assert not EXTERNAL.search(text), page
        assert "<script" not in text.lower(), page  # no scripts at all: nothing can reach out
        assert "jp-InputArea" not in text and "input_area" not in text, page
        assert "from analysis" not in text and "import pandas" not in text, page
        assert "目录 Contents" in text and "Run manifest" in text, page


def test_district_report_content(built):
    project, _ = built
    text = (project.reports / "districts" / "baoshan_2023.html").read_text(encoding="utf-8")
    assert "2023年宝山区教育工作要点" in text
    assert "truncated" in text and "不参与排名" in text
    assert "<details" in text and "<mark>" in text  # evidence expands to KWIC lines
    minhang = (project.reports / "districts" / "minhang_2017.html").read_text(encoding="utf-8")
    assert "闵行 2017" in minhang


def test_index_lists_plans_with_year_and_completeness(built):
    project, _ = built
    index = (project.reports / "index.html").read_text(encoding="utf-8")
    for label in ("杨浦", "闵行", "宝山", "城中", "舟山", "2017", "truncated", "districts/yangpu_2024.html"):
        assert label in index


def test_second_run_executes_no_notebook(built):
    project, _ = built
    before = {p: p.stat().st_mtime_ns for p in _pages(project) if p.name != "index.html"}
    assert run_pipeline(project, jobs=2) == []
    assert {p: p.stat().st_mtime_ns for p in before} == before


@pytest.mark.skipif(not CHROMIUM and not os.environ.get("CI"), reason="chromium not installed")
def test_reports_open_offline_in_headless_chromium(built, tmp_path):
    from PIL import Image, ImageStat

    assert CHROMIUM, "CI must install chromium (.ci/run does)"
    project, _ = built
    for page in _pages(project):
        shot = tmp_path / f"{page.stem}.png"
        result = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}", "--host-resolver-rules=MAP * ~NOTFOUND",
             "--proxy-server=http://127.0.0.1:9", "--enable-logging=stderr", "--v=0",
             "--window-size=1280,1600", f"--screenshot={shot}", page.as_uri()],
            capture_output=True, text=True, timeout=120,
        )
        console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
        assert console == [], (page, console)
        image = Image.open(shot).convert("L")
        assert ImageStat.Stat(image).stddev[0] > 5, f"{page} rendered blank"


def test_failing_notebook_leaves_published_reports_intact(built, tmp_path):
    source, _ = built
    project = Paths(tmp_path / "p")
    shutil.copytree(source.root, project.root)
    before = {p: p.read_bytes() for p in _pages(project)}
    notebook = project.notebooks / "10_district_report.ipynb"
    notebook.write_text(
        notebook.read_text(encoding="utf-8").replace('"cells": [', '"cells": [{"cell_type": "code", '
        '"execution_count": null, "id": "boom", "metadata": {}, "outputs": [], '
        '"source": ["raise RuntimeError(\\"boom\\")"]},', 1),
        encoding="utf-8",
    )
    with pytest.raises(ProjectError, match=r"10_district_report\.ipynb.*cell \d+ raised RuntimeError: boom"):
        run_pipeline(project, jobs=2)
    assert {p: p.read_bytes() for p in _pages(project)} == before
    assert list((project.reports / "failed").glob("*.ipynb"))


def test_every_evidence_link_resolves_to_an_id_on_its_page(built):
    from bs4 import BeautifulSoup

    project, _ = built
    linked = 0
    for page in _pages(project):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        ids = {tag["id"] for tag in soup.find_all(id=True)}
        hrefs = [a["href"][1:] for a in soup.find_all("a", href=True) if a["href"].startswith("#")]
        assert [h for h in hrefs if h not in ids] == [], page
        linked += sum(h.startswith("evidence-") for h in hrefs)
    assert linked >= 5 * 4 * 2  # each plan's four counts on its page and in the comparison


def test_a_plan_set_is_its_own_reference(built):
    """comparison_y2024 compares the three 2024 plans with each other, not with all five."""
    from analysis.views import data as report_data
    from analysis.views import setstats

    project, _ = built
    data = report_data.load_report_data(project.root)
    everyone = setstats.set_keyness(data, report_data.set_ids(data, "default"))
    y2024 = setstats.set_keyness(data, report_data.set_ids(data, "y2024"))
    assert set(y2024["doc_id"]) == {"yangpu_2024", "chengzhong_2024", "zhoushan_2024"}
    mine = ["term", "n_items", "n_items_other", "g2"]
    assert not everyone[everyone["doc_id"] == "yangpu_2024"][mine].reset_index(drop=True).equals(
        y2024[y2024["doc_id"] == "yangpu_2024"][mine].reset_index(drop=True))
    page = (project.reports / "comparison_y2024.html").read_text(encoding="utf-8")
    assert "<h1>2024年工作要点比较</h1>" in page and "各地工作要点比较</h1>" not in page


def test_figures_carry_a_description(built):
    from bs4 import BeautifulSoup

    project, _ = built
    for page in _pages(project):
        for image in BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").find_all("img"):
            assert image.get("alt", "").startswith("图 Figure："), (page, image.get("alt"))


def test_unstable_clusters_are_a_warning_not_a_finding(built):
    """The seeds' clustering fails its stability thresholds: pages say so and show no cluster mix."""
    project, _ = built
    district = (project.reports / "districts" / "yangpu_2024.html").read_text(encoding="utf-8")
    comparison = (project.reports / "comparison.html").read_text(encoding="utf-8")
    for page in (district, comparison):
        assert "<p class='warning'>在 " in page.replace('"', "'") and "没有稳定的聚类：所选 k = " in page
        assert "稳定性（子样本平均 ARI）最高的是 k = " in page and "最稳定的 k" not in page
    assert "本计划占比 this plan" not in district and "条目聚类占比" not in comparison


def test_nearest_plans_carry_their_resampling_uncertainty(built):
    from analysis.views import data as report_data
    from analysis.views import similarity

    project, _ = built
    data = report_data.load_report_data(project.root)
    nearest = similarity.nearest_plans(data, report_data.set_ids(data, "default"))
    assert len(nearest) == 5
    verdicts = dict(zip(nearest["计划 plan"], nearest["判断 verdict"], strict=True))
    assert verdicts["城中 2024"] == "不确定 uncertain"  # 舟山 and 杨浦 share the resamples (test_clusters)
    page = (project.reports / "districts" / "chengzhong_2024.html").read_text(encoding="utf-8")
    assert "最相似的计划不确定" in page and "最相似的重抽样占比 nearest in resamples" in page
    assert "不确定 uncertain" in (project.reports / "comparison.html").read_text(encoding="utf-8")


def test_a_passing_clustering_shows_the_mix_with_stable_clusters_marked(built):
    from analysis.views import data as report_data
    from analysis.views import similarity

    project, _ = built
    data = report_data.load_report_data(project.root)
    data.tables["cluster_solution"] = data.cluster_solution.assign(passes=True, n_stable=1)
    data.tables["cluster_summary"] = data.cluster_summary.assign(stable=data.cluster_summary["cluster"] == 1)
    # a district page's mix reads its set's clusters (set_clusters stage): the default set here
    data.tables["set_cluster_summary"] = data.set_cluster_summary.assign(
        stable=data.set_cluster_summary["cluster"] == 1)
    assert similarity.clusters_pass(data)
    verdict = similarity.cluster_verdict_html(data).data
    assert verdict.startswith(f"<p class='meta'>在 {len(data.items)} 个条目上聚类") and "聚类稳定：k = " in verdict
    mix = similarity.cluster_mix_vs_others(data, "yangpu_2024", report_data.set_ids(data, "default"))
    assert dict(zip(mix["聚类 cluster"], mix["稳定 stable"], strict=True))[1] == "是 yes"
    assert set(mix["稳定 stable"]) == {"是 yes", "否 no"}
    assert similarity.stable_clusters(data)["stable"].iloc[0] == "稳定 stable"


def test_year_over_year_shows_na_for_a_theme_that_did_not_apply_before(built):
    """双减 dates from 2021: against a 2017 plan its change is n/a, not a rise from zero."""
    from analysis.views import data as report_data
    from analysis.views import district

    project, _ = built
    data = report_data.load_report_data(project.root)
    documents = data.documents.copy()
    documents.loc[documents["doc_id"] == "minhang_2017", "district"] = "杨浦"
    data.tables["documents"] = documents
    themes = district.year_over_year(data, "yangpu_2024")["themes"].set_index("主题 theme")
    assert themes.loc["双减"].tolist() == ["n/a", themes.loc["双减", "2024 每万字"], "n/a"]
    assert themes.loc["双减", "2024 每万字"] != "n/a" and themes.loc["思政", "变化 change"] != "n/a"


def test_comparison_report_has_the_validation_method_section(built):
    project, _ = built
    page = (project.reports / "comparison.html").read_text(encoding="utf-8")
    assert "方法：词表验证 Method: lexicon validation" in page and "样本内" in page
    assert "<td>闵行 2017</td>\n<td>条目 三.1</td>\n<td>数字化</td>" in page  # a disagreement, cited as printed
    tools = page[page.index("政策工具编码验证 Method: policy-tool coding"):]
    validation = pd.read_csv(project.processed / "policy_tool_validation.csv", encoding="utf-8-sig")
    kappa = validation[(validation["level"] == "type") & (validation["type"] == "供给型")]["kappa"].iloc[0]
    assert "<td>供给型</td>\n<td>（合计 all）</td>\n<td>48</td>" in tools and f"<td>{kappa:.2f}</td>" in tools
    # who coded, in-sample and held-out apart, too few positives (金融税收 has none), the classifier check
    assert page.count("自动编码者（语言模型代理）automated coder") == 2 and "人工编码" not in page
    assert page.count("无样本外估计 no out-of-sample estimate") == 2
    assert "<td>样本过少 too few to estimate</td>" in tools
    assert "分类器 F1（留一计划交叉验证）classifier, grouped CV" in tools


def test_no_page_calls_the_automated_reference_human_coding(built):
    project, _ = built
    pages = {page.name: page.read_text(encoding="utf-8") for page in _pages(project)}
    assert "07_coding.html" in pages and "无样本外估计" in pages["04_policy_tools.html"]
    assert [name for name, text in pages.items() if "人工编码" in text or "hand coding" in text] == []


def test_one_plans_keyness_equals_its_rows_of_the_set_keyness(built):
    """District pages test one plan against the pooled others (cheap at 1,000 plans): the same numbers."""
    from analysis.views import data as report_data
    from analysis.views import setstats

    project, _ = built
    data = report_data.load_report_data(project.root)
    ids = report_data.set_ids(data, "default")
    everyone = setstats.set_keyness(data, ids)
    columns = ["term", "n_items", "items", "n_items_other", "items_other", "expected", "g2", "p", "q", "log_ratio"]
    for doc_id in ids:  # 宝山 2023 is truncated: tested against the complete plans, never pooled
        mine = setstats.plan_keyness(data, doc_id, ids).sort_values("term")[columns].reset_index(drop=True)
        theirs = everyone[everyone["doc_id"] == doc_id].sort_values("term")[columns].reset_index(drop=True)
        assert len(mine) > 50
        pd.testing.assert_frame_equal(mine, theirs, check_dtype=False)


# --- issue 21: per-set statistics, n/a, presentation ------------------------------------------------

HEADER_NOTATION = re.compile(r"^(?:[A-Za-zκα]{1,2}|G²|F1|OR|SHA-256|log₂ ratio|\d[\d.%]*|)$")
CJK_CHAR = re.compile("[\u3400-\u9fff]")


def _sections(soup) -> dict[str, str]:
    """Heading text → the text between it and the next h1–h3 heading."""
    found = {}
    for heading in soup.find_all(["h2", "h3"]):
        text = []
        for element in heading.next_elements:
            if getattr(element, "name", None) in ("h1", "h2", "h3"):
                break
            if isinstance(element, str) and element.parent is not heading and element.strip() not in ("", "¶"):
                text.append(element.strip())
        found[heading.get_text(" ", strip=True)] = " ".join(text)
    return found


def test_rendered_pages_format_every_table_and_leave_no_section_empty(built):
    """Issue 21 §4, on the seed pages: bilingual headers, no float noise, no `6.0` counts, percents
    with one decimal, ¶ links with an href, no empty section, "no earlier plan" once."""
    from bs4 import BeautifulSoup

    project, _ = built
    for page in _pages(project):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for th in soup.select("table th"):
            text = th.get_text(strip=True)
            assert CJK_CHAR.search(text) or HEADER_NOTATION.match(text), (page.name, text)
        for td in soup.select("table td"):
            text = td.get_text(strip=True)
            assert not re.search(r"\d\.\d{7,}", text), (page.name, text)  # float noise
            assert not re.fullmatch(r"-?\d+\.0", text), (page.name, text)  # a count as 6.0
            if re.fullmatch(r"[\d.%\s\[\],–—-]+", text):  # a number cell (quotes keep their own percents)
                assert not re.search(r"(?<![\d.])\d+%|\.\d\d+%", text), (page.name, text)  # one decimal
        for link in soup.find_all("a", class_="anchor-link"):
            assert link.get("href", "").startswith("#"), (page.name, link)
        if page.parent.name == "districts" or page.name.startswith("comparison"):
            sections = _sections(soup)
            assert all(sections.values()), (page.name, [h for h, t in sections.items() if not t])
            assert page.read_text(encoding="utf-8").count("无更早的计划") == 1, page.name


def test_a_theme_before_its_since_year_is_na_in_every_table_and_figure(built):
    """闵行 2017 × 双减 (双减 applies from 2021): 9 mentions in kwic.csv, n/a (or nothing) everywhere shown."""
    from bs4 import BeautifulSoup

    from analysis.views import comparison, district, policy_tools, themes
    from analysis.views import data as report_data
    from analysis.views.pages import themes as theme_page

    project, _ = built
    data = report_data.load_report_data(project.root)
    ids = report_data.set_ids(data, "default")
    assert len(data.kwic.query("doc_id == 'minhang_2017' and theme == '双减'")) == 9
    raw = BeautifulSoup(comparison.mentions_table(data, ids).data, "html.parser")
    row = next(tr for tr in raw.find("tbody").find_all("tr") if tr.find("td").get_text() == "闵行 2017")
    cells = dict(zip([th.get_text() for th in raw.find_all("th")], row.find_all("td"), strict=True))
    assert cells["双减"].decode_contents() == "n/a" and cells["思政"].find("a")
    profile = district.theme_profile(data, "minhang_2017", ids).set_index("主题 theme")
    assert profile.loc["双减"].dropna().tolist() == ["n/a（该年份不适用 not applicable to the plan's year）"]
    evidence = comparison.evidence_html(data, ["minhang_2017"])
    assert "双减：n/a" in evidence and "evidence-minhang_2017-双减" not in evidence
    matrix = data.policy_tool_matrix
    assert matrix.query("doc_id == 'minhang_2017' and dimension == 'theme' and y == '双减'")["codes"].sum() > 0
    others = [d for d in ids if d != "minhang_2017"]
    assert policy_tools.xy_table(data, ids).set_index("主题 theme").loc["双减"].equals(
        policy_tools.xy_table(data, others).set_index("主题 theme").loc["双减"])
    counted = theme_page._counted(data, ids)  # dispersion plot, KWIC section, co-word network
    assert counted.query("doc_id == 'minhang_2017' and theme == '双减'").empty and len(counted) > 100
    overview = themes.theme_overview(data.theme_counts)
    assert {overview.loc[("闵行", 2017), (m, "双减")] for m in ("提及 mentions", "每万字 per 10k chars [95% CI]",
                                                              "条目占比 item share [95% CI]")} == {"n/a"}
    terms = themes.term_matrix(data.term_counts)
    assert set(terms.loc["双减", "闵行 2017"]) == {"n/a"}
    page = (project.reports / "districts" / "minhang_2017.html").read_text(encoding="utf-8")
    assert "双减：9 次提及" not in page and "双减：n/a" in page


def test_comparison_y2024_computes_its_statistics_within_the_set(built):
    """Issue 21 §3: the 2024 page's nearest-in-resamples and cluster verdict use its three plans only."""
    from analysis.views import data as report_data
    from analysis.views import similarity

    project, _ = built
    data = report_data.load_report_data(project.root)
    ids = report_data.set_ids(data, "y2024")
    nearest = similarity.cluster_tables(data, ids)["nearest_neighbours"]
    assert set(nearest["neighbour"]) == set(ids) == {"chengzhong_2024", "yangpu_2024", "zhoushan_2024"}
    assert nearest.groupby("doc_id")["share_nearest"].sum().round(6).eq(1).all()
    everyone = data.nearest_neighbours
    assert "minhang_2017" in set(everyone.loc[everyone["doc_id"] == "yangpu_2024", "neighbour"])
    n_items = int(data.documents.set_index("doc_id").loc[ids, "n_items"].sum())
    page = (project.reports / "comparison_y2024.html").read_text(encoding="utf-8")
    assert f"在 {n_items} 个条目上聚类" in page and f"在 {len(data.items)} 个条目上聚类" not in page
    shown = similarity.nearest_plans(data, ids)["最相似的重抽样占比 nearest in resamples"].tolist()
    top = nearest[nearest["rank"] == 1]["share_nearest"]
    assert shown == [f"{v:.1%}" for v in top]
