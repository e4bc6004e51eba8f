"""Evidence cites mentions as printed (issue 11): item numbers per section, headings and preambles
named as such; counts link to evidence blocks; every cell of a linked table is escaped."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.params.themes import ThemesParams
from analysis.paths import Paths
from analysis.stages.dataset import CorpusTables, per_section_plans
from analysis.stages.themes import stat_kwic
from analysis.views.evidence import anchor, evidence_html, linked_table, locations


@pytest.fixture(scope="module")
def kwic(corpus: CorpusTables, paths: Paths) -> pd.DataFrame:
    frame = stat_kwic(corpus, ThemesParams.from_yaml(paths.params / "themes.yaml"))
    return frame.assign(location=locations(frame, corpus.items))


def located(kwic: pd.DataFrame, doc_id: str, term: str) -> list[str]:
    return sorted(set(kwic[(kwic["doc_id"] == doc_id) & (kwic["term"] == term)]["location"]))


def test_per_section_numbering_is_detected(corpus: CorpusTables) -> None:
    assert per_section_plans(corpus.items) == {"minhang_2017", "zhoushan_2024"}


def test_items_numbered_per_section_are_cited_by_section_and_printed_number(kwic: pd.DataFrame) -> None:
    # 闵行 2017 item_seq 9 is printed as item 7 of section 二 (it used to read "条目 9").
    assert located(kwic, "minhang_2017", "作业设计") == ["条目 二.7"]
    assert located(kwic, "minhang_2017", "电子书包") == ["条目 三.5", "条目 二.8"]


def test_items_numbered_through_the_plan_keep_their_number(kwic: pd.DataFrame, corpus: CorpusTables) -> None:
    yangpu = kwic[(kwic["doc_id"] == "yangpu_2024") & (kwic["where"] == "item")]
    printed = corpus.items.set_index(["doc_id", "item_seq"])["item_no"]
    assert all(row.location == f"条目 {printed[('yangpu_2024', row.item_seq)]}" for row in yangpu.itertuples())


def test_mentions_outside_items_name_their_place(kwic: pd.DataFrame) -> None:
    outside = kwic[kwic["where"] != "item"]
    assert outside["item_seq"].isna().all()
    assert located(kwic, "minhang_2017", "减负") == ["前言"]
    assert located(kwic, "baoshan_2023", "数字化转型") == ["条目 4", "第二部分标题"]  # a heading is not 前言


def test_evidence_blocks_carry_the_anchor_every_count_links_to(kwic, corpus: CorpusTables) -> None:
    page = evidence_html(kwic, corpus.items, corpus.documents, ["minhang_2017"], ["思政", "双减", "数字化", "心理健康"])
    for theme in ("思政", "双减", "数字化", "心理健康"):
        assert f"id='{anchor('minhang_2017', theme)}'" in page
    assert "条目 二.7 · 作业设计" in page and "前言 · 减负" in page


def test_linked_table_escapes_cells_and_labels_and_links_only_given_columns() -> None:
    frame = pd.DataFrame({"<b>主题</b>": ["<i>思政</i>", "双减"], "n": [3, None]}, index=["a", "b"])
    shown = linked_table(frame, {"n": pd.Series(["evidence-a-思政", ""], index=["a", "b"])})
    assert "&lt;b&gt;主题&lt;/b&gt;" in shown and "&lt;i&gt;思政&lt;/i&gt;" in shown and "<i>" not in shown
    assert "<a href='#evidence-a-思政'>3.0</a>" in shown and "<td>—</td>" in shown
