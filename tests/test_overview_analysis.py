"""The aggregate views of analysis notebooks 01–03 for large plan sets (analysis.views.summaries).
Small synthetic frames in memory with exact outcomes;
no pipeline run, no kernel, no processed snapshot: none of these views may read a table itself."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from analysis.paths import Paths
from analysis.publish.pages import sanitize
from analysis.views import summaries
from analysis.views.data import ReportData
from analysis.views.fragments import table
from analysis.views.themes import top_keyness
from support import project_params

EVIL = "<script>alert(1)</script>"


@pytest.fixture
def data(tmp_path: Path) -> ReportData:
    """ReportData without any table (tmp_path has no data/processed): only params are read."""
    return ReportData(Paths(tmp_path), project_params(detail_max_plans=30), "synthetic", {})


def ids(n: int) -> list[str]:
    return [f"p{at:04d}" for at in range(n)]


# --- lines: what is summarised, where the detail is --------------------------------------------


def test_summarised_line_names_what_where_and_the_threshold(data: ReportData) -> None:
    line = summaries.summarised_html(data, ids(40), "本节给出分布", "data/processed/removed.csv").data
    soup = BeautifulSoup(line, "html.parser")
    text = soup.get_text()
    assert "共 40 份计划，多于 30 份" in text and "本节给出分布" in text
    assert "各区县报告" in text and "data/processed/removed.csv" in text and "40 plans, more than 30" in text
    assert [a["href"] for a in soup.find_all("a")] == ["../index.html"]  # reports/analysis/ → reports/index.html
    assert sanitize(line).count("href=\"../index.html\"") == 1  # kept by the page's allowlist


def test_summarised_line_without_district_pages(data: ReportData) -> None:
    line = summaries.summarised_html(data, ids(31), "x", "data/processed/items.csv", district_pages=False).data
    assert "区县" not in line and "district pages" not in line and "<a" not in line
    assert "data/processed/items.csv" in line


def test_lines_escape_every_value(data: ReportData) -> None:
    documents = pd.DataFrame({"doc_id": ["a", "b"], "district": [EVIL, "<b>区</b>"], "year": [2024, 2023]})
    parts = [
        summaries.summarised_html(data, ids(40), EVIL, EVIL).data,
        summaries.more_html(1, 3, EVIL).data,
        summaries.sample_html(documents, ["a", "b"], 9).data,
        summaries.listing_html(pd.DataFrame({EVIL: [EVIL]}), 2, EVIL, EVIL).data,
        summaries.listing_html(pd.DataFrame({"a": []}), 0, "行", EVIL).data,
    ]
    for html in parts:
        assert not BeautifulSoup(html, "html.parser").find_all(["script", "b"]), html
        assert "&lt;" in html


def test_more_and_listing_lines_count_what_is_left_out() -> None:
    assert "列出 10/25 行，其余 15 未列出" in summaries.more_html(10, 25, "行").data
    shown = pd.DataFrame({"doc_id": ["a", "b"]})
    capped = summaries.listing_html(shown, 5, "份", "none").data
    assert capped.count("<td>") == 2 and "列出 2/5 份，其余 3 未列出" in capped
    whole = summaries.listing_html(shown, 2, "份", "none").data
    assert "未列出" not in whole and whole.count("<td>") == 2
    assert summaries.listing_html(shown.iloc[:0], 0, "份", "没有 none").data == "<p>没有 none</p>"


def test_points_line_says_whether_items_were_sampled() -> None:
    assert "5000/25000 个条目" in summaries.points_html(5000, 25000).data
    assert "全部 120 个条目" in summaries.points_html(120, 120).data


# --- samples ----------------------------------------------------------------------------------


def test_sample_ids_are_evenly_spaced_in_doc_id_order() -> None:
    assert summaries.sample_ids(ids(10), 5) == ["p0000", "p0002", "p0004", "p0007", "p0009"]
    assert summaries.sample_ids(list(reversed(ids(3))), 5) == ["p0000", "p0001", "p0002"]
    assert summaries.sample_ids(ids(1000)) == ["p0000", "p0250", "p0500", "p0749", "p0999"]
    assert summaries.sample_ids(ids(4), 1) == ["p0000"]
    assert summaries.sample_ids([], 5) == []


def test_point_sample_is_fixed_and_bounded() -> None:
    frame = pd.DataFrame({"x": range(12_000), "y": range(12_000), "cluster": [at % 3 for at in range(12_000)]})
    small = frame.head(50)
    assert summaries.point_sample(small, 100) is small
    drawn = summaries.point_sample(frame, 5000)
    assert len(drawn) == 5000 and drawn.index.is_monotonic_increasing and drawn.index.is_unique
    assert drawn.equals(summaries.point_sample(frame, 5000))  # the same points every run
    assert drawn.equals(frame.loc[drawn.index])


# --- notebook 01 --------------------------------------------------------------------------------


def test_describe_values_one_row_per_measure() -> None:
    table = summaries.describe_values({"a": pd.Series([2, 4, 6, 8, 10]), "b": pd.Series([1.25, 1.25]),
                                      "c": pd.Series([], dtype=float)})
    assert table.to_dict("records") == [
        {"": "a", "n": 5, "平均 mean": "6", "最小 min": "2", "下四分位 q1": "4", "中位数 median": "6",
         "上四分位 q3": "8", "最大 max": "10"},
        {"": "b", "n": 2, "平均 mean": "1.2", "最小 min": "1.2", "下四分位 q1": "1.2", "中位数 median": "1.2",
         "上四分位 q3": "1.2", "最大 max": "1.2"},
        {"": "c", "n": 0, "平均 mean": "—", "最小 min": "—", "下四分位 q1": "—", "中位数 median": "—",
         "上四分位 q3": "—", "最大 max": "—"},
    ]


def test_corpus_summary_of_characters_sections_items() -> None:
    documents = pd.DataFrame({"n_chars": [5000, 7000], "n_sections": [4, 6], "n_items": [20, 30]})
    table = summaries.corpus_summary(documents)
    assert list(table[""]) == ["字数 characters", "部分数 sections", "条目数 items"]
    assert list(table["中位数 median"]) == ["6000", "5", "25"]


REMOVED = pd.DataFrame({
    "doc_id": ["a", "a", "b", "b", "b", "c", "c"],
    "rule": ["footer", "byline", "footer", "footer", "breadcrumb", "byline", "footer"],
    "text": ["f1", "y1", "f2", "f3", "c1", "y2", EVIL],
})


def test_removal_summary_by_rule() -> None:
    assert summaries.removal_summary(REMOVED).to_dict("list") == {
        "规则 rule": ["footer", "byline", "breadcrumb"], "删除行数 lines": [4, 2, 1],
        "涉及计划 plans": [3, 2, 1], "单份最多 most in one plan": [2, 1, 1],
    }


def test_removed_sample_first_lines_of_each_rule() -> None:
    sample = summaries.removed_sample(REMOVED, 2)
    assert sample.to_dict("list") == {"doc_id": ["b", "a", "c", "a", "b"],
                                      "rule": ["breadcrumb", "byline", "byline", "footer", "footer"],
                                      "text": ["c1", "y1", "y2", "f1", "f2"]}
    html = summaries.listing_html(summaries.removed_sample(REMOVED, 5), len(REMOVED), "行", "").data
    assert "&lt;script&gt;" in html and "<script>" not in html


STRUCTURE = pd.DataFrame({
    "doc_id": ["d", "a", "b", "c"], "plan": ["D 2024", "A 2024", "B 2024", "C 2024"],
    "n_sections": [0, 5, 0, 4], "n_items": [1, 20, 3, 25],
    "numbering": ["none", "continuous", "per-section", "continuous"],
})


def test_structure_counts_and_plans_to_check() -> None:
    assert summaries.structure_counts(STRUCTURE)["计划数 plans"].tolist() == [2, 1, 1, 2]
    assert summaries.plans_to_check(STRUCTURE)["doc_id"].tolist() == ["b", "d"]
    assert summaries.plans_to_check(STRUCTURE.iloc[[1, 3]]).empty


ITEMS = pd.DataFrame({
    "doc_id": ["a", "a", "a", "b", "b"], "section_no": [1, 1, 2, 1, 1],
    "text": ["x" * 100, "x" * 200, "x" * 300, "x" * 50, "x" * 150],
})


def test_section_and_length_summaries() -> None:
    sections = summaries.section_summary(ITEMS)
    assert sections[["", "n", "中位数 median", "最大 max"]].values.tolist() == [
        ["每份计划的部分数 sections per plan", 2, "1.5", "2"], ["每部分条目数 items per section", 3, "2", "2"]]
    lengths = summaries.length_summary(ITEMS)
    assert lengths[["", "n", "平均 mean", "中位数 median"]].values.tolist() == [
        ["条目长度 item length", 5, "160", "150"], ["每份计划的中位长度 median per plan", 2, "150", "150"]]


def test_item_length_histogram_is_one_figure_for_any_number_of_plans() -> None:
    items = pd.DataFrame({"doc_id": [f"p{at // 25:04d}" for at in range(25_000)],
                          "text": ["字" * (50 + at % 400) for at in range(25_000)]})
    fig = summaries.plot_item_length_histogram(items)
    left, right = fig.get_axes()
    assert fig.get_size_inches().tolist() == [10, 3.2]
    assert sum(patch.get_height() for patch in left.patches) == 25_000
    assert sum(patch.get_height() for patch in right.patches) == 1000  # plans, all with 25 items


# --- notebook 02 --------------------------------------------------------------------------------


def test_theme_summary_in_lexicon_order() -> None:
    counts = pd.DataFrame({
        "doc_id": ["a", "b", "a", "b"], "theme": ["思政", "思政", "双减", "双减"],
        "applicable": [True, True, False, True], "mentions": [3, 0, 2, 5],
        "items_with_theme": [2, 0, 1, 4], "n_items": [20, 10, 20, 10],
    })
    assert summaries.theme_summary(counts).to_dict("list") == {
        "主题 theme": ["思政", "双减"], "计划 plans": [2, 2], "适用 applicable": [2, 1],
        "有提及 with mentions": [1, 2], "提及合计 mentions": [3, 7],
        "含主题条目（适用计划）items with theme": ["2/30", "4/10"],
    }


def test_term_summary_drops_unused_terms_and_orders_by_mentions() -> None:
    counts = pd.DataFrame({
        "doc_id": ["a", "b", "a", "b", "a", "b", "a", "b"],
        "theme": ["思政", "思政", "思政", "思政", "双减", "双减", "双减", "双减"],
        "term": ["思政", "思政", "德育", "德育", "作业", "作业", "课后", "课后"],
        "mentions": [1, 0, 4, 3, 0, 0, 2, 2],
    })
    assert summaries.term_summary(counts).values.tolist() == [
        ["思政", "德育", 7, 2, 4], ["思政", "思政", 1, 1, 1], ["双减", "课后", 4, 2, 2]]


def test_keyness_terms_count_the_plans_whose_top_list_has_the_term() -> None:
    rows = []
    for doc_id, terms in {"a": {"x": 9.0, "y": 5.0, "z": 1.0}, "b": {"x": 3.0, "z": 8.0, "y": -1.0},
                          "c": {"y": 7.0, "x": 6.0, "w": 2.0}}.items():
        for term, g2 in terms.items():
            rows.append({"doc_id": doc_id, "district": doc_id, "year": 2024, "term": term, "theme": "",
                         "count": 3, "n_items": 3, "items": 9, "n_items_other": 1, "items_other": 9, "expected": 1.0,
                         "g2": abs(g2), "q": 0.01, "log_ratio": 1.0 if g2 > 0 else -1.0, "key": True})
    keyness = pd.DataFrame(rows)
    table = summaries.keyness_terms(keyness, per_plan=2, n=10)
    assert table.values.tolist() == [["x", "", 3, 6.0, 9.0], ["y", "", 2, 6.0, 7.0], ["z", "", 1, 8.0, 8.0]]
    assert table.columns[2] == "前 2 位的计划数 plans"
    # the same selection as the per-plan table of a small set
    top = top_keyness(keyness, 2)
    assert sorted(top["term"].value_counts().items()) == [("x", 3), ("y", 2), ("z", 1)]
    only_b = keyness[keyness["doc_id"] == "b"]
    assert summaries.keyness_terms(only_b, per_plan=2, n=1).values.tolist() == [["z", "", 1, 8.0, 8.0]]


# --- notebook 03 --------------------------------------------------------------------------------


SUMMARY = pd.DataFrame({"cluster": [1, 2, 3], "label": ["课程·教学", EVIL, "招生"], "stable": [True, False, False]})


def test_cluster_share_summary_per_cluster() -> None:
    clusters = pd.DataFrame({"doc_id": ["a"] * 4 + ["b"] * 2, "cluster": [1, 1, 1, 2, 1, 2]})
    found = summaries.cluster_share_summary(clusters, SUMMARY)
    assert found.values.tolist() == [
        [1, "课程·教学", "是 yes", 4, 2, "62.5% [56.2%–68.8%]", "75.0%"],
        [2, EVIL, "否 no", 2, 2, "37.5% [31.2%–43.8%]", "50.0%"],
        [3, "招生", "否 no", 0, 0, "0.0% [0.0%–0.0%]", "0.0%"],
    ]
    assert "&lt;script&gt;" in table(found).data


def test_cluster_points_figure_has_one_legend_entry_per_cluster() -> None:
    clusters = pd.DataFrame({"doc_id": [f"p{at % 1000:04d}" for at in range(6000)], "x": range(6000),
                             "y": range(6000), "cluster": [1 + at % 3 for at in range(6000)]})
    points = summaries.point_sample(clusters)
    fig = summaries.plot_cluster_points(points, SUMMARY)
    ax = fig.get_axes()[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["1 课程·教学", f"2 {EVIL}", "3 招生"]
    assert sum(len(c.get_offsets()) for c in ax.collections) == summaries.MAX_POINTS
