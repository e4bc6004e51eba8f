"""Policy-tool coding: the codebook's checks, the cue coding on hand-written items, the X–Y matrix,
and the agreement measures on a tiny known example."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from analysis.paths import ProjectError
from analysis.policy_tools import (
    NO_THEME,
    build_policy_tools,
    code_items,
    compare_coding,
    disagreements,
    load_toolbook,
    matrix,
    read_tool_annotations,
    summarise,
)
from analysis.stages import STAGES
from analysis.themes import load_lexicon

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
    return load_toolbook(path)


def test_the_project_codebook_loads_and_the_stage_is_registered(paths):
    book = load_toolbook(paths.params / "policy_tools.yaml")
    assert list(book.tools) == ["供给型", "环境型", "需求型"]
    assert len(book.sub_tools()) == 15
    stage = next(s for s in STAGES if s.name == "policy_tools")
    assert stage.upstream == ["dataset"] and "policy_tools.yaml" in stage.params
    assert stage.inputs == ["policy_tool_annotations"] and paths.policy_tool_annotations.is_file()


def test_items_are_coded_with_their_cues_exactly(book):
    codes = code_items(ITEMS, book)
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
    summary = summarise(code_items(ITEMS, book), book).set_index(["level", "type", "sub_tool"])
    assert summary.loc[("type", "供给型", ""), "codes"] == 2
    assert summary.loc[("type", "供给型", ""), "share"] == 0.5
    assert summary.loc[("type", "供给型", ""), "items"] == 2
    assert summary.loc[("sub_tool", "环境型", "法规制度"), "item_share"] == 0.25
    assert (summary["n_uncoded"] == 1).all() and (summary["n_items"] == 4).all()
    assert summary.xs("type", level="level")["codes"].sum() == 4


def test_matrix_sums_equal_item_codes(book):
    codes = code_items(ITEMS, book)
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
    codes = code_items(ITEMS, book)
    table = compare_coding(hand, codes, book).set_index(["level", "sub_tool", "type"])
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
    differ = disagreements(hand, codes, ITEMS, book)
    assert [tuple(r) for r in differ[["item_seq", "sub_tool", "code", "predicted"]].itertuples(index=False)] == [
        (1, "法规制度", 0, 1), (1, "示范试点", 1, 0), (2, "资金投入", 0, 1), (4, "法规制度", 1, 0)]
    assert differ.loc[1, "note"] == "边界: x" and differ.loc[0, "cues"] == "制度"


def test_stage_on_the_seed_plans(corpus, paths):
    built = build_policy_tools(corpus, load_toolbook(paths.params / "policy_tools.yaml"),
                               load_lexicon(paths.params / "themes.yaml"), paths.policy_tool_annotations)
    assert built.notes == []
    codes = built.policy_tools
    assert set(map(tuple, corpus.items[["doc_id", "item_seq"]].values)) == set(
        map(tuple, codes[["doc_id", "item_seq"]].values))
    section = built.policy_tool_matrix.query("dimension == 'section'")
    assert section["codes"].sum() == (codes["sub_tool"] != "").sum()
    validation = built.policy_tool_validation
    assert set(validation.query("level == 'type'")["n_items"]) == {29 + 19}
    wrong = validation.query("level == 'sub_tool'")[["fp", "fn"]].to_numpy().sum()
    assert len(built.policy_tool_disagreements) == wrong


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
        load_toolbook(path)
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
