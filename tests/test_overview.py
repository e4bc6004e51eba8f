"""Aggregate views of large plan sets (analysis.views.overview), the `detail_max_plans` switch and the
index grouped by region and year. Synthetic tables in memory: no pipeline run, no kernel.

The synthetic data hold only the tables the aggregate views may read (documents, theme_counts,
nearest_neighbours), in a project whose data/processed is empty: a view that reached for a plan ×
plan table (doc_similarity) or the item-level tables would fail here with ProjectError."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from analysis.corpus.manifest import Plan
from analysis.params.report import ReportParams
from analysis.paths import Paths, ProjectError
from analysis.publish.pages import render_index
from analysis.views import overview, plots
from analysis.views.comparison import caveats_html
from analysis.views.data import ReportData
from analysis.views.fragments import table
from analysis.views.setstats import set_tests
from support import project_params

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / ".pytest-overview"  # replaced by the `project_root` fixture before any test runs
THEMES = ["思政", "双减", "数字化", "心理健康"]
SINCE = {"双减": 2021}
EVIL = "<script>alert(1)</script>"


def make_data(plans: list[dict], values: dict[tuple[str, str], float] | None = None,
              nearest: pd.DataFrame | None = None) -> ReportData:
    """ReportData from plan dicts (doc_id, district, region, admin_level, year, completeness) and
    per (doc_id, theme) per_10k values (default: from the plan's position); item counts follow."""
    documents = pd.DataFrame([{"title": f"{p['district']}工作要点", "n_chars": 10_000, "n_sections": 5,
                               "n_items": 20, **p} for p in plans])
    rows = []
    for at, plan in enumerate(plans):
        for theme_at, theme in enumerate(THEMES):
            value = (values or {}).get((plan["doc_id"], theme), float(at % 17 + theme_at))
            with_theme = min(20, int(value))
            rows.append({
                "doc_id": plan["doc_id"], "district": plan["district"], "year": plan["year"], "theme": theme,
                "applicable": plan["year"] >= SINCE.get(theme, 0), "mentions": int(value), "per_10k_chars": value,
                "items_with_theme": with_theme, "n_items": 20, "item_share": with_theme / 20, "first_section": 1,
                "per_10k_low": value / 2, "per_10k_high": value * 2,
                "item_share_low": with_theme / 40, "item_share_high": min(1.0, with_theme / 10),
            })
    if nearest is None:
        nearest = pd.DataFrame(columns=["doc_id", "neighbour", "rank", "similarity", "share_nearest"])
    tables = {"documents": documents, "theme_counts": pd.DataFrame(rows), "nearest_neighbours": nearest}
    return ReportData(Paths(PROJECT), project_params(detail_max_plans=30), "synthetic", tables)


@pytest.fixture(scope="module", autouse=True)
def project_root(tmp_path_factory: pytest.TempPathFactory):
    """A project with the real params and nothing processed: every table comes from `make_data`."""
    global PROJECT
    root = tmp_path_factory.mktemp("overview")
    shutil.copytree(ROOT / "params", root / "params")
    (root / "data" / "processed").mkdir(parents=True)
    PROJECT, before = root, PROJECT
    yield root
    PROJECT = before


def test_a_table_not_given_is_not_read_from_elsewhere() -> None:
    data = make_data([plan("a1")])
    with pytest.raises(ProjectError, match="missing from the processed snapshot"):
        data.doc_similarity  # noqa: B018


def plan(doc_id: str, region: str = "上海市", year: int = 2024, completeness: str = "complete",
         admin_level: str = "区", district: str | None = None) -> dict:
    return {"doc_id": doc_id, "district": district or doc_id, "region": region, "admin_level": admin_level,
            "year": year, "completeness": completeness}


REGIONS = ["上海市", "浙江省", "青海省西宁市", "江苏省", "四川省"]


def many_plans(n: int = 200) -> list[dict]:
    """`n` plans over five regions, three levels and 2017–2024; every 7th truncated, every 11th partial."""
    return [
        plan(f"p{at:03d}", region=REGIONS[at % 5], year=2017 + at % 8, admin_level=("区", "市", "县")[at % 3],
             completeness="truncated" if at % 7 == 3 else "partial" if at % 11 == 5 else "complete")
        for at in range(n)
    ]


@pytest.fixture(scope="module")
def large() -> ReportData:
    """200 plans; the incomplete and the not-applicable plan × theme rows carry the highest and
    lowest values of all, so a ranking that let them in would show them at its ends."""
    plans = many_plans()
    values = {}
    for at, p in enumerate(plans):
        for theme in THEMES:
            outside = p["year"] < SINCE.get(theme, 0)
            trap = p["completeness"] != "complete" or outside
            values[p["doc_id"], theme] = (1000.0 if at % 2 else 0.0) if trap else 1.0 + at / 10
    return make_data(plans, values)


# --- the switch ----------------------------------------------------------------------------------


def test_is_large_switches_above_detail_max_plans() -> None:
    data = make_data(many_plans(40))
    ids = sorted(data.documents["doc_id"])
    assert not overview.is_large(data, ids[:30])
    assert overview.is_large(data, ids[:31])
    data.params = project_params(detail_max_plans=31)
    assert not overview.is_large(data, ids[:31])


def test_project_params_name_the_threshold() -> None:
    assert ReportParams.from_yaml(ROOT / "params" / "report.yaml").detail_max_plans == 30


@pytest.mark.parametrize("value", ["0", "-3", "2.5", "true", "'30'", "null"])
def test_detail_max_plans_must_be_a_positive_whole_number(tmp_path: Path, value: str) -> None:
    path = tmp_path / "report.yaml"
    text = (ROOT / "params" / "report.yaml").read_text(encoding="utf-8")
    assert "\ndetail_max_plans: 30\n" in text
    path.write_text(text.replace("\ndetail_max_plans: 30\n", f"\ndetail_max_plans: {value}\n"), encoding="utf-8")
    with pytest.raises(ProjectError) as error:
        ReportParams.from_yaml(path)
    assert error.value.problems == [
        f"{path}: detail_max_plans must be a whole number of plans of at least 1, not {load_yaml_value(value)!r}"
    ]


def load_yaml_value(text: str):
    import yaml

    return yaml.safe_load(text)


def test_detail_max_plans_is_required(tmp_path: Path) -> None:
    path = tmp_path / "report.yaml"
    text = (ROOT / "params" / "report.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("\ndetail_max_plans: 30\n", "\n"), encoding="utf-8")
    with pytest.raises(ProjectError, match=r"missing key.*detail_max_plans"):
        ReportParams.from_yaml(path)


# --- distributions -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> ReportData:
    """Hand-made: 上海市 has five complete plans (1, 2, 3, 4, 100 per 10k for 思政) and a truncated
    one (1000); 浙江省 two (10, 20). Two 上海市 plans are of 2019: 双减 does not apply to them."""
    plans = [
        plan("a1", year=2019), plan("a2", year=2019), plan("a3"), plan("a4"), plan("a5", admin_level="市"),
        plan("a6", completeness="truncated"), plan("b1", region="浙江省", admin_level="市"),
        plan("b2", region="浙江省", admin_level="市"),
    ]
    per_10k = {"a1": 1, "a2": 2, "a3": 3, "a4": 4, "a5": 100, "a6": 1000, "b1": 10, "b2": 20}
    values = {(d, t): float(v) for d, v in per_10k.items() for t in THEMES}
    return make_data(plans, values)


def test_group_medians_and_quartiles_by_region(small: ReportData) -> None:
    ids = sorted(small.documents["doc_id"])
    frame = overview.group_distribution(small, ids, "region").set_index(["theme", "group"])
    assert list(frame.index) == [(t, g) for t in THEMES for g in ["上海市", "浙江省"]]
    assert frame.loc[("思政", "上海市"), ["n", "median", "q1", "q3", "not_applicable", "incomplete"]].tolist() == [
        5, 3.0, 2.0, 4.0, 0, 1]
    assert frame.loc[("思政", "浙江省"), ["n", "median", "q1", "q3", "incomplete"]].tolist() == [2, 15.0, 12.5, 17.5, 0]
    # 双减 does not apply in 2019: a1 and a2 are n/a, not zero, and not counted
    assert frame.loc[("双减", "上海市"), ["n", "median", "q1", "q3", "not_applicable"]].tolist() == [
        3, 4.0, 3.5, 52.0, 2]


def test_group_medians_by_year_level_and_whole_set(small: ReportData) -> None:
    ids = sorted(small.documents["doc_id"])
    by_year = overview.group_distribution(small, ids, "year").set_index(["theme", "group"])
    assert by_year.loc[("思政", 2019), ["n", "median"]].tolist() == [2, 1.5]
    assert by_year.loc[("思政", 2024), ["n", "median", "incomplete"]].tolist() == [5, 10.0, 1]
    assert by_year.loc[("双减", 2019), ["n", "not_applicable"]].tolist() == [0, 2]
    assert pd.isna(by_year.loc[("双减", 2019), "median"])
    by_level = overview.group_distribution(small, ids, "admin_level").set_index(["theme", "group"])
    assert by_level.loc[("思政", "市"), ["n", "median"]].tolist() == [3, 20.0]
    assert by_level.loc[("思政", "区"), ["n", "median", "incomplete"]].tolist() == [4, 2.5, 1]
    whole = overview.group_distribution(small, ids, None).set_index(["theme", "group"])
    assert whole.loc[("思政", overview.ALL), ["n", "median", "incomplete"]].tolist() == [7, 4.0, 1]


def test_distribution_table_for_reading(small: ReportData) -> None:
    ids = sorted(small.documents["doc_id"])
    table = overview.distribution_table(small, ids, "year")
    assert table.columns[:3].tolist() == [
        "年份 year", "完整计划 complete plans", "不完整（未计入）incomplete, not counted"]
    assert table["年份 year"].tolist() == ["2019", "2024"]
    assert table["完整计划 complete plans"].tolist() == [2, 5]
    assert table["不完整（未计入）incomplete, not counted"].tolist() == [0, 1]
    assert table["思政 中位数 [四分位] median [IQR]"].tolist() == ["1.5 [1.2–1.8]", "10.0 [4.0–20.0]"]
    assert table["双减 中位数 [四分位] median [IQR]"].tolist() == ["n/a", "10.0 [4.0–20.0]"]
    region = overview.distribution_table(small, ids, "region", "item_share")
    assert region["双减 中位数 [四分位] median [IQR]"].tolist() == ["20.0% [17.5%–60.0%]（n=3）", "75.0% [62.5%–87.5%]"]


# --- top and bottom ------------------------------------------------------------------------------


def test_top_bottom_ranks_only_complete_applicable_plans(large: ReportData) -> None:
    ids = sorted(large.documents["doc_id"])
    plans = large.documents.set_index("doc_id")
    for theme in THEMES:
        eligible = [d for d in ids if plans.loc[d, "completeness"] == "complete"
                    and plans.loc[d, "year"] >= SINCE.get(theme, 0)]
        expected = sorted(eligible, key=lambda d: -int(d[1:]))  # value grows with the plan's number
        rows = overview.top_bottom(large, ids, theme)
        assert rows["doc_id"].tolist() == expected[:10] + expected[-10:]
        assert rows["end"].tolist() == ["top"] * 10 + ["bottom"] * 10
        assert rows["rank"].tolist() == [*range(1, 11), *range(len(eligible) - 9, len(eligible) + 1)]
        assert set(rows["of"]) == {len(eligible)}
        assert rows["value"].max() < 1000 and rows["value"].min() > 0
    assert len(eligible) < 200 - 30  # the traps exist


def test_top_bottom_interval_and_small_ranking(small: ReportData) -> None:
    ids = sorted(small.documents["doc_id"])
    rows = overview.top_bottom(small, ids, "双减", n=10)
    assert rows["doc_id"].tolist() == ["a5", "b2", "b1", "a4", "a3"]  # not a6 (truncated), not a1, a2 (n/a)
    assert rows["end"].tolist() == ["top"] * 5
    table = overview.top_bottom_table(small, ids, "双减", n=2)
    assert table.to_dict("list") == {
        "": ["最高 top", "最高 top", "最低 bottom", "最低 bottom"],
        "排名 rank": ["1/5", "2–3/5（区间重叠，并列 tied）", *["3–5/5（区间重叠，并列 tied）"] * 2],
        "计划 plan": ["a5 2024", "b2 2024", "a4 2024", "a3 2024"],
        "地区 region": ["上海市", "浙江省", "上海市", "上海市"],
        "每万字 per 10k chars [95% CI]": ["100.0 [50.0, 200.0]", "20.0 [10.0, 40.0]", "4.0 [2.0, 8.0]",
                                         "3.0 [1.5, 6.0]"],
    }


# --- item tests and nearest plans ----------------------------------------------------------------


def test_item_test_counts_name_few_plans_and_count_many() -> None:
    tests = pd.DataFrame({
        "doc_id": [f"p{at:02d}" for at in range(20)] + ["q1", "q2"],
        "theme": ["思政"] * 20 + ["数字化"] * 2,
        "direction": ["more"] * 2 + ["less"] * 12 + ["n.s."] * 6 + ["n.s.", "less"],
    })
    names = {"p00": "甲 2024", "p01": "乙 2024", "q2": "丙 2023"}
    summary = overview.item_test_counts(tests, names, ["思政", "双减", "数字化"], max_listed=10)
    assert summary.to_dict("list") == {
        "主题 theme": ["思政", "双减", "数字化"], "检验 tested": [20, 0, 2], "显著偏多 more": [2, 0, 0],
        "显著偏少 less": [12, 0, 1], "无显著差异 n.s.": [6, 0, 1],
        "偏多的计划 plans more": ["甲 2024、乙 2024", "—", "—"],
        "偏少的计划 plans less": ["12 份，见各区县报告 see the district pages", "—", "丙 2023"],
    }


def test_item_test_summary_of_a_set(large: ReportData) -> None:
    ids = sorted(large.documents["doc_id"])
    summary = overview.item_test_summary(large, ids).set_index("主题 theme")
    expected = set_tests(large, ids)
    for theme in THEMES:
        directions = expected.loc[expected["theme"] == theme, "direction"].value_counts()
        assert summary.loc[theme, "检验 tested"] == directions.sum() > 0
        assert summary.loc[theme, ["显著偏多 more", "显著偏少 less", "无显著差异 n.s."]].tolist() == [
            directions.get("more", 0), directions.get("less", 0), directions.get("n.s.", 0)]
    # every 双减 plan of a year before 2021 is n/a: never tested
    assert summary.loc["双减", "检验 tested"] == sum(1 for p in many_plans() if p["year"] >= 2021)


def test_nearest_counts() -> None:
    nearest = pd.DataFrame({
        "doc_id": ["a", "a", "b", "c", "x"], "neighbour": ["b", "c", "a", "a", "a"], "rank": [1, 2, 1, 1, 1],
        "similarity": [0.5, 0.4, 0.5, 0.3, 0.9], "share_nearest": [0.9, 0.1, 0.8, 0.79, 1.0],
    })
    counts = overview.nearest_counts(nearest, ["a", "b", "c", "d"], 0.8)
    assert counts["计划数 plans"].tolist() == [2, 1, 1]


def test_plan_counts_by_region_and_year(small: ReportData) -> None:
    counts = overview.plan_counts(small, sorted(small.documents["doc_id"]))
    assert counts.to_dict("list") == {
        "地区 region": ["上海市", "浙江省", overview.ALL], "级别 level": ["区、市", "市", ""],
        "2019": [2, 0, 2], "2024": [4, 2, 6], "合计 total": [6, 2, 8], "不完整 incomplete": [1, 0, 1],
    }


# --- escaping ------------------------------------------------------------------------------------


def test_every_value_is_escaped_in_the_large_page_parts() -> None:
    plans = many_plans(60)
    for p in plans[::4]:
        p["region"], p["district"], p["admin_level"] = EVIL, "<img src=x onerror=alert(1)>", "<b>区</b>"
    data = make_data(plans)
    ids = sorted(data.documents["doc_id"])
    parts = [
        overview.distributions_html(data, ids), overview.distributions_html(data, ids, "item_share"),
        overview.top_bottom_html(data, ids), table(overview.plan_counts(data, ids)).data,
        table(overview.item_test_summary(data, ids)).data, caveats_html(data, ids),
        table(overview.nearest_summary(data, ids)).data,
        overview.large_set_html(data, ids).data, overview.skipped_html(data, EVIL).data,
    ]
    for html in parts:
        soup = BeautifulSoup(html, "html.parser")
        assert not soup.find_all(["script", "img", "b"]), html[:300]
    joined = "\n".join(parts)
    assert joined.count("&lt;script&gt;") >= 4 and "&lt;img src=x" in joined and "&lt;b&gt;区&lt;/b&gt;" in joined


# --- figure --------------------------------------------------------------------------------------


def test_distribution_figure_has_a_panel_per_theme_and_a_row_per_group(small: ReportData) -> None:
    rows = overview.plan_rows(small, sorted(small.documents["doc_id"]))
    fig = plots.plot_theme_distribution(rows, "per_10k_chars", by="year")
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == THEMES
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["2019（2）", "2024（5）"]
    assert [t.get_text() for t in axes[1].texts] == ["n/a"]  # 双减 in 2019
    assert not axes[0].texts
    medians = [line.get_xdata()[0] for line in axes[0].lines if line.get_color() == "#08306b"]
    assert medians == [1.5, 10.0]


# --- the index -----------------------------------------------------------------------------------


MANIFEST = {"digest": "abc", "git_commit": "deadbee", "python": "3.12", "inputs": {}, "params": {},
            "packages": {"analysis": "0"}}


def test_index_groups_district_reports_by_region_then_year(tmp_path: Path) -> None:
    rows = [("zs_2024", "舟山", "浙江省", 2024), ("yp_2024", "杨浦", "上海市", 2024),
            ("mh_2017", "闵行", "上海市", 2017), ("yp_2021", "杨浦", "上海市", 2021), ("ev_2020", "坏", EVIL, 2020),
            ("nb_2019", "宁波", "浙江省", 2019)]
    documents = pd.DataFrame([Plan(d, name, region, "区", year, f"{name}{year}工作要点", "src", f"{d}.txt",
                                   "complete", "0" * 64).as_row() for d, name, region, year in rows])
    jobs = [SimpleNamespace(page="comparison.html", title="各地比较", plans=tuple(r[0] for r in rows))]
    jobs += [SimpleNamespace(page=f"districts/{d}.html", title=f"{name} {year}", plans=(d,))
             for d, name, _, year in rows]
    jobs += [SimpleNamespace(page="analysis/01.html", title="清洗", plans=())]
    page = render_index(jobs, {}, MANIFEST, documents)
    soup = BeautifulSoup(page, "html.parser")
    body = soup.find("main") or soup
    h2 = [h.get_text(" ", strip=True).rstrip("¶").strip() for h in body.find_all("h2")]
    assert h2[:3] == ["比较报告 Comparison reports", "区县报告 District reports", "分析笔记本 Analysis notebooks"]
    district = body.find_all("h2")[1]
    order = []  # (region, year, linked page) in document order, up to the next h2
    for heading in district.find_all_next(["h2", "h3"]):
        if heading.name == "h2":
            break
        region = heading.get_text(strip=True).rstrip("¶")
        for tr in heading.find_next_sibling("table").find_all("tr")[1:]:
            if cell := tr.find("td", rowspan=True):
                year, left = cell.get_text(strip=True), int(cell["rowspan"])
            order.append((region, year, tr.find("a")["href"]))
            left -= 1
        assert left == 0  # each year cell spans exactly its year's rows
    assert order == [  # regions in code point order, then years in order
        (EVIL, "2020", "districts/ev_2020.html"),
        ("上海市", "2017", "districts/mh_2017.html"), ("上海市", "2021", "districts/yp_2021.html"),
        ("上海市", "2024", "districts/yp_2024.html"), ("浙江省", "2019", "districts/nb_2019.html"),
        ("浙江省", "2024", "districts/zs_2024.html"),
    ]
    assert not soup.find_all("script") and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    links = [a["href"] for a in body.find_all("a")]
    assert links.index("comparison.html") < links.index("districts/mh_2017.html") < links.index("analysis/01.html")
