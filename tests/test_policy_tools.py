"""Policy-tool coding: the codebook's checks, the cue coding of sentences and items on hand-written
text, the X–Y matrix, the agreement measures on a tiny known example, the item bootstrap of type
shares, the finding sentence, the figures, the trend of a district with two years and the evidence
behind each cell of the district page's tool table."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from analysis.params import load_params
from analysis.params.policy_tools import PolicyToolsParams
from analysis.params.statistics import StatisticsParams
from analysis.params.themes import ThemesParams
from analysis.paths import ProjectError
from analysis.stages.policy_tools import NO_THEME, build_policy_tools, matrix
from analysis.stages.registry import STAGES
from analysis.stages.themes import stat_kwic
from analysis.stages.tool_coding import code_items, item_codes, sentences
from analysis.stages.tool_shares import summarise
from analysis.stages.validation import compare_coding, compare_tools, read_tool_annotations, tool_disagreements
from analysis.text.dictionary import tool_codebook
from analysis.views.policy_tools import (
    POOLED,
    code_evidence,
    evidence_blocks,
    findings_html,
    interval_table,
    plan_evidence_html,
    plan_findings_html,
    plan_vs_others,
    plan_vs_others_table,
    plot_type_shares,
    plot_type_trends,
    plot_xy,
    pooled_shares,
    trend_table,
    type_intervals,
)

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[1]
PARAMS = StatisticsParams(replicates=400, level=0.95, seed=7, max_q=0.05, min_items=10)

BOOK = """\
types:
  供给型:
    description: supply
    tools:
      师资人才:
        definition: teachers
        cues: [教师培训, 师资]
      资金投入:
        definition: money
        cues: [经费投入, 资金]
        exclude: [资金使用绩效]
  环境型:
    description: environment
    tools:
      法规制度:
        definition: rules
        cues: [制度, 办法]
  需求型:
    description: demand
    tools:
      示范试点:
        definition: pilots
        cues: [试点, 示范校]
"""


def item(seq: int, text: str, section: int = 1, doc_id: str = "a_2024") -> dict:
    return {"doc_id": doc_id, "district": "甲", "year": 2024, "section_no": section, "section_title": f"第{section}节",
            "item_no": str(seq), "item_seq": seq, "text": text}


ITEMS = pd.DataFrame([
    item(1, "加强师资建设，开展教师培训，完善管理制度。"),
    item(2, "保障经费投入，提高资金使用绩效。"),
    item(3, "开展示范校创建和改革试点。", section=2),
    item(4, "举办运动会。", section=2),
])


@pytest.fixture
def book(tmp_path: Path):
    path = tmp_path / "policy_tools.yaml"
    path.write_text(BOOK, encoding="utf-8")
    return tool_codebook(PolicyToolsParams.from_yaml(path))


def test_the_project_codebook_loads_and_the_stage_is_registered(paths):
    book = tool_codebook(PolicyToolsParams.from_yaml(paths.params / "policy_tools.yaml"))
    assert list(book.groups) == ["供给型", "环境型", "需求型"]
    assert len(book.keys) == 15
    stage = next(s for s in STAGES if s.name == "policy_tools")
    assert stage.upstream == ["dataset", "themes"] and {"policy_tools", "statistics"} <= set(stage.params)
    assert stage.inputs == ["policy_tool_annotations", "codings", "coders"] and paths.policy_tool_annotations.is_file()


def test_items_are_coded_with_their_cues_exactly(book):
    codes = item_codes(code_items(ITEMS, book), book)
    got = [tuple(row) for row in codes[["item_seq", "type", "sub_tool", "cue"]].itertuples(index=False)]
    assert got == [
        (1, "供给型", "师资人才", "师资、教师培训"),
        (1, "环境型", "法规制度", "制度"),
        (2, "供给型", "资金投入", "经费投入"),  # 资金使用绩效 is excluded: 资金 not counted
        (3, "需求型", "示范试点", "示范校、试点"),
        (4, "", "", ""),  # explicitly uncoded
    ]
    assert set(codes["item_seq"]) == set(ITEMS["item_seq"])
    assert codes.loc[0, "unit"] == "a_2024-一-1" and codes.loc[4, "unit"] == "a_2024-二-4"


def test_summary_counts_and_shares(book):
    summary = summarise(code_items(ITEMS, book), book, PARAMS).set_index(["level", "type", "sub_tool"])
    assert summary.loc[("type", "供给型", ""), "codes"] == 2
    assert summary.loc[("type", "供给型", ""), "share"] == 0.5
    assert summary.loc[("type", "供给型", ""), "items"] == 2
    assert summary.loc[("sub_tool", "环境型", "法规制度"), "item_share"] == 0.25
    assert (summary["n_uncoded"] == 1).all() and (summary["n_items"] == 4).all()
    assert summary.xs("type", level="level")["codes"].sum() == 4


def test_matrix_sums_equal_item_codes(book):
    codes = item_codes(code_items(ITEMS, book), book)
    themes = pd.DataFrame({"doc_id": ["a_2024"] * 3, "item_seq": [1, 1, 3], "theme": ["甲", "乙", "甲"]})
    xy = matrix(codes, ITEMS, themes, ["甲", "乙"])
    n_codes = (codes["sub_tool"] != "").sum()
    by_section = xy[xy["dimension"] == "section"]
    assert by_section["codes"].sum() == n_codes == 4
    assert set(by_section["y"]) == {"一、第1节", "二、第2节"}
    by_theme = xy[xy["dimension"] == "theme"]
    # item 1 (2 codes) counts under both its themes, item 2 under NO_THEME, item 3 under 甲
    assert by_theme["codes"].sum() == 2 * 2 + 1 + 1
    assert by_theme.loc[by_theme["y"] == NO_THEME, "sub_tool"].tolist() == ["资金投入"]


def test_agreement_on_a_known_example(book, tmp_path):
    hand = pd.DataFrame({
        "doc_id": ["a_2024"] * 5,
        "item_seq": [1, 1, 2, 3, 4],
        "sub_tool": ["师资人才", "示范试点", "", "示范试点", "法规制度"],
        "note": ["", "边界: x", "", "", "why"],
    })
    codes = item_codes(code_items(ITEMS, book), book)
    compared = compare_tools(hand, codes, ITEMS, book)
    table = compare_coding(compared, book).set_index(["level", "sub_tool", "type"])
    teachers = table.loc[("sub_tool", "师资人才", "供给型")]
    assert (teachers["tp"], teachers["fp"], teachers["fn"], teachers["tn"]) == (1, 0, 0, 3)
    assert teachers["kappa"] == 1.0
    pilots = table.loc[("sub_tool", "示范试点", "需求型")]  # hand {1, 3}, cues {3}
    assert (pilots["tp"], pilots["fn"], pilots["precision"], pilots["recall"]) == (1, 1, 1.0, 0.5)
    assert pilots["kappa"] == 0.5  # po 0.75, pe 0.5
    rules = table.loc[("sub_tool", "法规制度", "环境型")]  # hand {4}, cues {1}
    assert (rules["tp"], rules["fp"], rules["fn"], rules["precision"], rules["recall"]) == (0, 1, 1, 0.0, 0.0)
    supply = table.loc[("type", "", "供给型")]  # hand {1}, cues {1, 2}
    assert (supply["tp"], supply["fp"], supply["precision"]) == (1, 1, 0.5)
    assert supply["kappa"] == 0.5
    money = table.loc[("sub_tool", "资金投入", "供给型")]
    assert money["fp"] == 1 and math.isnan(money["recall"])
    differ = tool_disagreements(compared, book)
    assert [tuple(r) for r in differ[["item_seq", "sub_tool", "code", "predicted"]].itertuples(index=False)] == [
        (1, "法规制度", 0, 1), (1, "示范试点", 1, 0), (2, "资金投入", 0, 1), (4, "法规制度", 1, 0)]
    assert differ.loc[1, "note"] == "边界: x" and differ.loc[0, "cues"] == "制度"


def test_stage_on_the_seed_plans(corpus, paths):
    themes = ThemesParams.from_yaml(paths.params / "themes.yaml")
    book = tool_codebook(PolicyToolsParams.from_yaml(paths.params / "policy_tools.yaml"))
    built = build_policy_tools(corpus, book, stat_kwic(corpus, themes), list(themes.terms),
                               paths.policy_tool_annotations,
                               StatisticsParams.from_yaml(paths.params / "statistics.yaml"),
                               load_params(paths.params).coding)
    assert built.notes == []
    codes = item_codes(built.policy_tools, book)
    assert set(map(tuple, corpus.items[["doc_id", "item_seq"]].values)) == set(
        map(tuple, codes[["doc_id", "item_seq"]].values))
    section = built.policy_tool_matrix.query("dimension == 'section'")
    assert section["codes"].sum() == (codes["sub_tool"] != "").sum()
    validation = built.policy_tool_validation
    assert set(validation.query("level == 'type'")["n_items"]) == {29 + 19}
    wrong = validation.query("level == 'sub_tool'")[["fp", "fn"]].to_numpy().sum()
    assert len(built.policy_tool_disagreements) == wrong
    # in-sample agreement of cues v2 (verb + object rules) on 杨浦 2024 + 城中 2024 (cues v1: 0.5393,
    # 0.7767, 0.6541); 环境型 falls because v2 codes 4 of the 5 items the reference leaves without it
    kappas = validation.query("level == 'type'").set_index("type")["kappa"].to_dict()
    assert kappas == {"供给型": 0.7236, "环境型": 0.3094, "需求型": 0.7143}
    # the classifier check: leave-one-plan-out F1 per type (2 coded plans), measured; sub-tools with
    # fewer than min_positives (5) positive items are not estimable (金融税收 0, 政府购买 1, 服务外包 2, 对外交流 3)
    types = validation.query("level == 'type'").set_index("type")
    assert types["clf_f1"].to_dict() == {"供给型": 0.8182, "环境型": 0.9663, "需求型": 0.6809}
    assert sorted(validation.query("not estimable")["sub_tool"]) == ["对外交流", "政府购买", "服务外包", "金融税收"]
    assert validation.query("level == 'sub_tool'")["clf_f1"].isna().all()
    queue = built.policy_tool_review_queue
    assert len(queue) == 41 and (queue["dictionary"] != queue["classifier"]).all()
    summary = built.policy_tool_summary
    assert ((summary["share_low"] <= summary["share"]) & (summary["share"] <= summary["share_high"])).all()
    assert (summary["sentence_codes"] >= summary["codes"]).all()


@pytest.mark.parametrize("text, message", [
    ("types: [1]\n", "types must map each name"),
    (BOOK.replace("cues: [制度, 办法]", "cues: [制度, 师资]"), "cue 师资 is in sub-tools 师资人才 and 法规制度"),
    (BOOK.replace("cues: [制度, 办法]", "cues: [制度, '制度 x']"), "is not a term"),
    (BOOK.replace("exclude: [资金使用绩效]", "exclude: [绩效]"), "contains none of its cues"),
    (BOOK.replace("definition: rules\n", ""), "sub-tool 法规制度 is missing definition"),
    (BOOK.replace("definition: pilots", "definition: pilots\n        weight: 2"), "unknown key(s) weight"),
    (BOOK + "types: {}\n", "key types repeated"),
    ("types: {a: [\n", "is not valid YAML"),
])
def test_codebook_errors_are_one_line_naming_the_file(tmp_path, text, message):
    path = tmp_path / "policy_tools.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProjectError) as error:
        tool_codebook(PolicyToolsParams.from_yaml(path))
    assert len(error.value.problems) == 1
    assert str(path) in error.value.problems[0] and message in error.value.problems[0]


def test_annotation_errors(tmp_path):
    path = tmp_path / "codes.csv"
    assert read_tool_annotations(path) is None
    path.write_text("doc_id,item_seq,sub_tool\na,1,x\n", encoding="utf-8")
    with pytest.raises(ProjectError, match="missing column"):
        read_tool_annotations(path)
    path.write_text("doc_id,item_seq,sub_tool,note\na,1,x,\na,1,x,\n", encoding="utf-8")
    with pytest.raises(ProjectError, match="line 3: this item × sub-tool is coded twice"):
        read_tool_annotations(path)


# --- sentences -----------------------------------------------------------------------------------


def test_sentences_keep_their_offsets_in_the_item_text():
    text = "建立制度。开展“教师培训！”；设立试点？\n推进改革"
    found = sentences(text)
    assert [sentence for _, sentence in found] == ["建立制度。", "开展“教师培训！”；", "设立试点？", "推进改革"]
    assert all(text[start:start + len(sentence)] == sentence for start, sentence in found)


def test_a_mixed_item_is_coded_per_sentence_and_its_item_codes_are_the_union(book):
    text = "完善管理制度，落实办法。开展教师培训；设立改革试点，完善考核制度。举办运动会。"
    items = pd.DataFrame([item(1, text)])
    codes = code_items(items, book)
    got = [tuple(r) for r in codes[["sentence", "sub_tool", "cue"]].itertuples(index=False)]
    assert got == [(1, "法规制度", "制度、办法"), (2, "师资人才", "教师培训"), (3, "法规制度", "制度"),
                   (3, "示范试点", "试点")]
    assert all(text[start:start + len(sentence)] == sentence
               for start, sentence in zip(codes["start"], codes["sentence_text"], strict=True))
    whole = item_codes(codes, book)
    assert [tuple(r) for r in whole[["sub_tool", "cue"]].itertuples(index=False)] == [
        ("师资人才", "教师培训"), ("法规制度", "制度、办法"), ("示范试点", "试点")]
    # the same cues as matching the whole item at once
    assert sorted({cue for _, cue in book.find(text)}) == sorted(
        {cue for joined in whole["cue"] for cue in joined.split("、")})
    summary = summarise(codes, book, PARAMS).set_index(["level", "sub_tool"])
    rules = summary.loc[("sub_tool", "法规制度")]
    assert (rules["codes"], rules["sentence_codes"]) == (1, 2)  # one item × sub-tool code, in two sentences
    assert summary.loc[("type", ""), "codes"].sum() == 3 and summary.loc[("type", ""), "sentence_codes"].sum() == 4


def test_an_item_without_cues_is_one_explicitly_uncoded_row(book):
    codes = code_items(pd.DataFrame([item(4, "举办运动会。开展体育节。")]), book)
    assert len(codes) == 1 and codes.loc[0, "sub_tool"] == "" and pd.isna(codes.loc[0, "sentence"])


# --- item bootstrap of type shares --------------------------------------------------------------


def plan_items(doc_id: str, texts: list[str]) -> list[dict]:
    return [item(seq, text, doc_id=doc_id) for seq, text in enumerate(texts, start=1)]


def fake_data(tmp_path: Path, items: pd.DataFrame, book, years: dict[str, int] | None = None,
              completeness: dict[str, str] | None = None) -> SimpleNamespace:
    """What notebooks read (views.data.load_report_data), built in memory from `items`; params: the
    project's, with PARAMS and the `book` fixture's codebook file."""
    codes = code_items(items, book)
    ids = sorted(items["doc_id"].unique())
    years = years or {}
    documents = pd.DataFrame({"doc_id": ids, "district": [d.split("_")[0] for d in ids],
                              "year": [years.get(d, 2024) for d in ids],
                              "completeness": [(completeness or {}).get(d, "complete") for d in ids]})
    tools = PolicyToolsParams.from_yaml(tmp_path / "policy_tools.yaml")
    params = replace(load_params(ROOT / "params"), statistics=PARAMS, policy_tools=tools)
    return SimpleNamespace(documents=documents, params=params,
                           policy_tools=codes, policy_tool_summary=summarise(codes, book, PARAMS))


def test_shares_with_known_values_have_known_intervals(book):
    # every item holds one supply and one environment code: every replicate's shares are 1/2, 1/2, 0
    half = plan_items("a_2024", ["加强师资，完善制度。"] * 10)  # 10 items: PARAMS.min_items
    only = plan_items("b_2024", ["完善制度。"] * 9 + ["举办运动会。"])  # all codes environment
    summary = summarise(code_items(pd.DataFrame(half + only), book), book, PARAMS)
    types = summary[summary["level"] == "type"].set_index(["doc_id", "type"])
    assert types.loc[("a_2024", "供给型"), ["share", "share_low", "share_high"]].tolist() == [0.5, 0.5, 0.5]
    assert types.loc[("a_2024", "需求型"), ["share", "share_low", "share_high"]].tolist() == [0.0, 0.0, 0.0]
    assert types.loc[("b_2024", "环境型"), ["share", "share_low", "share_high"]].tolist() == [1.0, 1.0, 1.0]


def test_intervals_are_deterministic_contain_the_estimate_and_pool_per_plan(book, tmp_path):
    texts = ["加强师资，完善制度。", "完善制度。", "开展试点。", "保障资金投入。", "完善办法，开展试点。",
             "举办运动会。"] * 3
    items = pd.DataFrame(plan_items("a_2024", texts) + plan_items("c_2024", texts[:11]))
    codes = code_items(items, book)
    first, second = summarise(codes, book, PARAMS), summarise(codes, book, PARAMS)
    pd.testing.assert_frame_equal(first, second)
    assert ((first["share_low"] <= first["share"]) & (first["share"] <= first["share_high"])).all()
    assert (first["share_low"] < first["share_high"]).any()  # a real interval, not the estimate twice
    data = fake_data(tmp_path, items, book)
    alone = pooled_shares(data, ["a_2024"]).set_index("type")[["share", "share_low", "share_high"]]
    own = first[(first["doc_id"] == "a_2024") & (first["level"] == "type")].set_index("type")
    pd.testing.assert_frame_equal(alone, own[["share", "share_low", "share_high"]], check_names=False)
    both = type_intervals(data, ["a_2024", "c_2024"])
    assert list(dict.fromkeys(both["plan"]))[-1] == POOLED
    pooled = both[both["plan"] == POOLED].set_index("type")
    assert pooled["codes"].sum() == first.query("level == 'type'")["codes"].sum()
    assert ((pooled["share_low"] <= pooled["share"]) & (pooled["share"] <= pooled["share_high"])).all()


def test_dominant_and_scarce_only_when_the_interval_supports_it(book, tmp_path):
    clear = plan_items("a_2024", ["完善制度，健全办法。"] * 30 + ["加强师资，完善制度。"] * 10 + ["开展试点。"])
    page = str(findings_html(fake_data(tmp_path, pd.DataFrame(clear), book), ["a_2024"]).data)
    assert "<b>环境型</b>占比最高" in page and "可称为主导" in page and "不宜称为主导" not in page
    close = plan_items("b_2024", ["完善制度。", "加强师资。", "完善办法。", "开展试点。", "加强师资。", "健全制度。"]
                       * 2)  # 12 items: above min_items
    page = str(findings_html(fake_data(tmp_path, pd.DataFrame(close), book), ["b_2024"]).data)
    assert "<b>环境型</b>占比最高" in page and "不宜称为主导" in page and "不宜称为稀缺" in page
    # the verdicts say what they rest on: item resampling only, not the cues' own error
    plan_page = str(plan_findings_html(fake_data(tmp_path, pd.DataFrame(close), book), "b_2024", ["b_2024"]).data)
    for shown in (page, plan_page):
        assert "主导/稀缺的判断只依据对条目重抽样的自助法区间，不包含提示词编码本身的误差" in shown


def test_too_few_items_give_no_interval_and_no_verdict(book, tmp_path):
    """One coded item: every replicate would be the plan itself ("100% (100–100%)"); below
    min_items (10) the interval is n/a with its reason and nothing is called 主导 or 稀缺."""
    data = fake_data(tmp_path, pd.DataFrame(plan_items("a_2024", ["加强师资。"])), book)
    types = data.policy_tool_summary.query("level == 'type'").set_index("type")
    assert types.loc["供给型", "share"] == 1.0
    assert data.policy_tool_summary[["share_low", "share_high"]].isna().all().all()
    assert interval_table(data, ["a_2024"]).loc[0, "供给型"] == "100.0%（n/a：仅 1 个条目，少于 10 个不计算区间）"
    for page in (str(findings_html(data, ["a_2024"]).data), str(plan_findings_html(data, "a_2024", ["a_2024"]).data)):
        assert "区间 n/a：仅 1 个条目" in page and "条目太少，不据此判断是否主导" in page
        assert "可称为" not in page and "不宜称为" not in page and "100–100%" not in page


def test_min_items_is_a_threshold_per_plan_and_for_the_pooled_set(book, tmp_path):
    texts = ["完善制度，健全办法。", "加强师资，完善制度。", "开展试点。", "完善制度。", "保障资金投入。"]
    at = plan_items("a_2024", texts * 2)  # 10 items: at the threshold
    below = plan_items("b_2024", (texts * 2)[:9])  # 9 items
    halves = plan_items("c_2024", texts) + plan_items("d_2024", texts)  # 5 + 5 items
    data = fake_data(tmp_path, pd.DataFrame(at + below + halves), book)
    summary = data.policy_tool_summary.set_index("doc_id")
    assert summary.loc["a_2024", "share_low"].notna().all() and summary.loc["b_2024", "share_low"].isna().all()
    assert summary.loc[["c_2024", "d_2024"], "share_low"].isna().all()
    pooled = pooled_shares(data, ["c_2024", "d_2024"])  # 10 items together: an interval
    assert pooled["n_items"].eq(10).all() and pooled[["share_low", "share_high"]].notna().all().all()
    assert ((pooled["share_low"] <= pooled["share"]) & (pooled["share"] <= pooled["share_high"])).all()
    for page in (str(findings_html(data, ["a_2024"]).data), str(findings_html(data, ["c_2024", "d_2024"]).data),
                 str(plan_findings_html(data, "a_2024", ["a_2024", "b_2024"]).data)):
        assert "称为主导" in page and "条目太少" not in page and "n/a" not in page
    assert "条目太少" in str(plan_findings_html(data, "b_2024", ["a_2024", "b_2024"]).data)


def test_figures_show_every_plan_and_type(book, tmp_path):
    texts = ["加强师资，完善制度。", "开展试点。", "保障资金投入。"]
    items = pd.DataFrame(plan_items("a_2024", texts) + plan_items("c_2024", texts[:2]))
    data = fake_data(tmp_path, items, book)
    data.policy_tool_matrix = matrix(item_codes(data.policy_tools, book), items,
                                     pd.DataFrame(columns=["doc_id", "item_seq", "theme"]), [])
    bars = plot_type_shares(type_intervals(data, ["a_2024", "c_2024"])).axes[0].containers
    assert [len(c) for c in bars if hasattr(c, "patches")] == [3, 3, 3]  # 3 types × (2 plans + pooled)
    heat = plot_xy(data, ["a_2024", "c_2024"], "section").axes[0]
    assert len(heat.get_yticklabels()) == 2 and len(heat.get_xticklabels()) == 3


def test_a_district_with_two_years_gets_a_trend(book, tmp_path, paths):
    from analysis.corpus.add import add_plan
    from analysis.stages.dataset import structure_corpus

    project = paths.copy_inputs(tmp_path / "project")
    add_plan(project.raw, FIXTURES / "corpus_yangpu_2025.txt", "杨浦", 2025)
    corpus = structure_corpus(project.raw, load_params(project.params),
                              ["yangpu_2024", "yangpu_2025", "zhoushan_2024"])
    book = tool_codebook(PolicyToolsParams.from_yaml(paths.params / "policy_tools.yaml"))
    data = fake_data(tmp_path, corpus.items, book)
    data.documents = corpus.documents
    trend = trend_table(data, sorted(corpus.documents["doc_id"]))
    assert set(trend["district"]) == {"杨浦"} and sorted(set(trend["year"])) == [2024, 2025]
    assert len(trend) == 2 * 3 and trend.groupby("year")["share"].sum().round(3).eq(1).all()
    shown = trend[trend["year"] == 2024]  # the 2025 fixture has 3 items: below min_items, no interval
    assert ((shown["share_low"] <= shown["share"]) & (shown["share"] <= shown["share_high"])).all()
    assert trend.loc[trend["year"] == 2025, ["share_low", "share_high"]].isna().all().all()
    assert len(plot_type_trends(trend).axes) == 1
    assert trend_table(data, ["yangpu_2024", "zhoushan_2024"]).empty


# --- evidence per cell of the district page's tool table ---------------------------------------

HOSTILE = "完善制度<script>alert(1)</script>。<img src=x onerror=alert(1)>开展试点。落实办法。"
EVIDENCE_ITEMS = pd.DataFrame([
    item(1, "加强师资建设，开展教师培训，完善管理制度。"),
    item(2, "提高资金使用绩效，加强师资。"),  # 资金 inside an excluded phrase: no 资金投入 code, no mark
    item(3, HOSTILE, section=2),
    item(4, "举办运动会。", section=2),
])


def soup(page: str):
    from bs4 import BeautifulSoup

    return BeautifulSoup(page, "html.parser")


def entries(page, doc_id: str, name: str) -> list[tuple[str, list[str], str]]:
    """(where, marked cues, sentences) of each list entry of one evidence block."""
    block = page.find("details", id=f"tools-{doc_id}-{name}")
    rows = []
    for li in block.find("ol").find_all("li", recursive=False):
        where = li.find("span", class_="where").extract().get_text()
        rows.append((where, [mark.get_text() for mark in li.find_all("mark")], li.get_text()))
    return rows


def test_each_sub_tool_block_lists_exactly_its_units_and_sentences_with_the_cues_marked(book):
    codes = code_items(EVIDENCE_ITEMS, book)
    raw = evidence_blocks(code_evidence(codes, book), "a_2024", book)
    page = soup(raw)
    assert entries(page, "a_2024", "法规制度") == [
        ("a_2024-一-1 · 句 1 · 制度", ["制度"], "加强师资建设，开展教师培训，完善管理制度。"),
        ("a_2024-二-3 · 句 1、3 · 制度、办法", ["制度", "办法"],
         "完善制度<script>alert(1)</script>。 … 落实办法。"),
    ]
    assert entries(page, "a_2024", "师资人才") == [  # only this sub-tool's cues are marked, not 制度
        ("a_2024-一-1 · 句 1 · 师资、教师培训", ["师资", "教师培训"], "加强师资建设，开展教师培训，完善管理制度。"),
        ("a_2024-一-2 · 句 1 · 师资", ["师资"], "提高资金使用绩效，加强师资。"),
    ]
    assert entries(page, "a_2024", "示范试点") == [
        ("a_2024-二-3 · 句 2 · 试点", ["试点"], "<img src=x onerror=alert(1)>开展试点。")]
    # hostile plan text is shown as text, never as markup
    assert "<script" not in raw and "<img" not in raw and "&lt;img src=x onerror=alert(1)&gt;" in raw
    assert not page.find_all(["script", "img"])
    # a block for every type and sub-tool with codes, holding as many entries as the summary's codes
    summary = summarise(codes, book, PARAMS)
    for row in summary.itertuples():
        block = page.find("details", id=f"tools-a_2024-{row.sub_tool or row.type}")
        assert (block is not None) == (row.codes > 0), row
        if row.codes:
            assert len(block.find_all("li")) == row.codes
            assert block.summary.get_text().endswith(f"· {row.sentence_codes} 句")
    assert page.find("details", id="tools-a_2024-资金投入") is None


def test_the_tool_table_links_each_count_above_zero_to_its_evidence(book, tmp_path):
    items = pd.concat([EVIDENCE_ITEMS, pd.DataFrame(plan_items("b_2024", ["举办运动会。"]))], ignore_index=True)
    data = fake_data(tmp_path, items, book)
    table = soup(plan_vs_others_table(data, "a_2024", ["a_2024", "b_2024"]).data)
    evidence = soup(plan_evidence_html(data, "a_2024").data)
    header = [th.get_text() for th in table.find("thead").find_all("th")]
    linked = {}
    for tr in table.find("tbody").find_all("tr"):
        cells = dict(zip(header, tr.find_all("td"), strict=True))
        name = cells["子工具 sub_tool"].get_text().replace("（合计 all）", cells["类型 type"].get_text())
        link = cells["编码数 codes"].find("a")
        linked[name] = link["href"] if link else None
        if link:  # the target exists and holds as many entries as the cell says
            entries = evidence.find("details", id=link["href"][1:]).find_all("li")
            assert len(entries) == int(cells["编码数 codes"].get_text())
    assert linked == {"供给型": "#tools-a_2024-供给型", "师资人才": "#tools-a_2024-师资人才", "资金投入": None,
                      "环境型": "#tools-a_2024-环境型", "法规制度": "#tools-a_2024-法规制度",
                      "需求型": "#tools-a_2024-需求型", "示范试点": "#tools-a_2024-示范试点"}
    assert "没有编码到任何政策工具" in str(plan_evidence_html(data, "b_2024").data)


def test_on_the_seed_plans_the_marked_cues_are_the_coded_cues(corpus, paths):
    """Every item × sub-tool code of the seed plans has an evidence entry whose <mark>s are exactly
    its cues (the matcher's, with exclusions and longest-first), and as many sentences as it has."""
    book = tool_codebook(PolicyToolsParams.from_yaml(paths.params / "policy_tools.yaml"))
    codes = code_items(corpus.items, book)
    shown = code_evidence(codes, book)
    assert len(shown) == len(item_codes(codes, book).query("sub_tool != ''"))
    for row in shown.itertuples():
        marks = set(mark.get_text() for mark in soup(row.html).find_all("mark"))
        cues = row.cue.split("、")
        plain = [cue for cue in cues if cue in book.key_of]
        rules = [cue.split("+") for cue in cues if cue not in book.key_of]  # verb+object
        assert set(plain) <= marks and all(set(pair) & marks for pair in rules), row
        assert marks <= set(plain) | {word for pair in rules for word in pair}, row
        assert row.html.count(" … ") == row.n_sentences - 1


def test_a_truncated_plan_changes_none_of_the_pooled_numbers(book, tmp_path):
    """Issue 21 §3: a truncated plan is shown but never pooled — not in the others' median, the
    pooled row, the pooled findings or their "类型 n 份" counts."""
    complete = plan_items("a_2024", ["加强师资，完善制度。"] * 10) + plan_items("b_2024", ["完善制度。"] * 10)
    cut = plan_items("t_2023", ["推进示范校试点。"] * 10)  # all demand: it would move every pooled number
    alone = fake_data(tmp_path, pd.DataFrame(complete), book)
    both = fake_data(tmp_path, pd.DataFrame(complete + cut), book, years={"t_2023": 2023},
                     completeness={"t_2023": "truncated"})
    ids = ["a_2024", "b_2024", "t_2023"]
    assert plan_vs_others(both, "a_2024", ids).equals(plan_vs_others(alone, "a_2024", ids[:2]))
    others = plan_vs_others(both, "a_2024", ids).set_index(["type", "sub_tool"])["others_median"]
    assert others[("环境型", "（合计 all）")] == 1.0 and others[("需求型", "（合计 all）")] == 0.0
    pooled = interval_table(both, ids).set_index("plan").loc[POOLED]
    assert pooled.equals(interval_table(alone, ids[:2]).set_index("plan").loc[POOLED])
    assert (pooled["n_items"], pooled["codes"]) == (20, 30)
    page, before = str(findings_html(both, ids).data), str(findings_html(alone, ids[:2]).data)
    assert "在所选 2 份完整计划的 30 个" in page and "类型计：供给型＝环境型 1 份、环境型 1 份。" in page
    note = "截断或节选的 t 2023（截断） 不计入合并与中位数 (incomplete plans are not pooled)。"
    assert note in page and page.replace(note, "") == before
