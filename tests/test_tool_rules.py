"""Verb + object co-occurrence rules of the policy-tool codebook: the matcher on invented text, the
params checks, and the project codebook on a rule test set of invented sentences (not a reference coding)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.params.policy_tools import PolicyToolsParams
from analysis.paths import ProjectError
from analysis.stages.tool_coding import code_items, item_codes
from analysis.text.dictionary import tool_codebook

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[1]
TYPES = ["供给型", "环境型", "需求型"]

BOOK = """\
types:
  供给型:
    description: supply
    tools:
      信息技术:
        definition: digital provision
        cues: [数字基座]
        rules:
          - verbs: [建设, 配备]
            objects: [平台, 终端]
        exclude: [交流平台]
  需求型:
    description: demand
    tools:
      对外交流:
        definition: exchange
        cues: [国际交流]
        rules:
          - verbs: [交流, 合作]
            objects: [国际, 港澳]
"""


@pytest.fixture
def book(tmp_path: Path):
    path = tmp_path / "policy_tools.yaml"
    path.write_text(BOOK, encoding="utf-8")
    return tool_codebook(PolicyToolsParams.from_yaml(path))


def test_a_rule_needs_its_verb_and_its_object_in_one_clause(book):
    assert book.rule_hits("推进教育数字化，建设智慧教育平台。") == [(8, "建设+平台", "信息技术")]
    assert book.rule_hits("为学校配备终端") == [(3, "配备+终端", "信息技术")]
    assert book.rule_hits("平台建设") == [(0, "建设+平台", "信息技术")]  # either order
    assert book.rule_hits("加强建设，完善平台。") == []  # verb and object in two clauses
    assert book.rule_hits("拓展国际视野。") == []  # a topic word alone
    assert book.rule_hits("深化与港澳地区的合作：推进建设") == [(3, "合作+港澳", "对外交流")]


def test_excluded_phrases_and_own_cues_hide_rule_words_and_hits_merge_cues_and_rules(book):
    assert book.rule_hits("建设校际交流平台") == []  # 交流平台 is excluded
    assert book.hits("建设数字基座，开展国际交流合作。") == [(2, "数字基座", "信息技术"), (9, "国际交流", "对外交流")]
    assert book.hits("建设数字基座，与国际友城合作。") == [(2, "数字基座", "信息技术"), (8, "合作+国际", "对外交流")]


def test_rule_cues_are_written_as_verb_plus_object_in_the_codes(book):
    items = pd.DataFrame([{"doc_id": "a_2024", "item_seq": 1, "section_no": 1, "item_no": "1",
                           "text": "建设区域平台，配备终端；推进数字化。"}])
    codes = code_items(items, book)
    assert codes[["sentence", "sub_tool", "cue"]].values.tolist() == [[1, "信息技术", "建设+平台、配备+终端"]]
    assert item_codes(codes, book)["cue"].tolist() == ["建设+平台、配备+终端"]
    assert code_items(items.assign(text="推进数字化转型。"), book)["sub_tool"].tolist() == [""]


@pytest.mark.parametrize("replace, message", [
    ("objects: [平台, 终端]", "rule 1 is missing objects"),
    ("verbs: [建设, 配备]", "rule 1 verbs must be a non-empty list"),
    ("objects: [国际, 港澳]", "rule 1 objects: '国 际' is not a term"),
])
def test_rule_errors_are_one_line_naming_the_file(tmp_path, replace, message):
    broken = {"objects: [平台, 终端]": "",
              "verbs: [建设, 配备]": "verbs: []",
              "objects: [国际, 港澳]": "objects: ['国 际', 港澳]"}[replace]
    path = tmp_path / "policy_tools.yaml"
    text = BOOK.replace(replace, broken) if broken else BOOK.replace("\n            " + replace, "")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProjectError) as error:
        PolicyToolsParams.from_yaml(path)
    assert len(error.value.problems) == 1
    assert str(path) in error.value.problems[0] and message in error.value.problems[0]


def test_rules_must_be_a_list(tmp_path):
    path = tmp_path / "policy_tools.yaml"
    block = "        rules:\n          - verbs: [建设, 配备]\n            objects: [平台, 终端]\n"
    path.write_text(BOOK.replace(block, "        rules: {}\n"), encoding="utf-8")
    with pytest.raises(ProjectError, match="rules must be a list"):
        PolicyToolsParams.from_yaml(path)


def project_types(texts: pd.Series) -> pd.DataFrame:
    """The types the project codebook codes each text with (1/0 per type)."""
    book = tool_codebook(PolicyToolsParams.from_yaml(ROOT / "params" / "policy_tools.yaml"))
    found = [{book.group_of[key] for _, _, key in book.hits(text)} for text in texts]
    return pd.DataFrame([{kind: int(kind in kinds) for kind in TYPES} for kinds in found])


def test_the_codebook_on_the_rule_test_set():
    """tests/fixtures/tool_rule_sentences.csv: invented sentences modelled on the error patterns of
    an unseen coding (digital topic words, environment without the old cue words, 示范区/创建/高校/国际)
    and on codebook.md part B, each with the types the codebook assigns and why. A rule test set for
    the cues, not a reference coding: it measures nothing about real plans."""
    cases = pd.read_csv(FIXTURES / "tool_rule_sentences.csv")
    assert len(cases) == 45
    got = project_types(cases["text"])
    for kind in TYPES:
        wrong = cases.loc[got[kind] != cases[kind], "text"].tolist()
        assert wrong == [], kind
    # the patterns one by one
    assert got.loc[cases["text"].str.contains("数字化赋能"), "供给型"].tolist() == [0]
    assert got.loc[cases["text"].str.startswith("创建国家义务教育"), ["环境型", "需求型"]].values.tolist() == [[1, 0]]
    assert got.loc[cases["text"].str.contains("高校毕业生"), TYPES].values.tolist() == [[0, 0, 0]]


def test_slogan_and_governance_hits_the_codebook_excludes_never_count(corpus):
    """宝山 2023 一-1: 政治标准 (把政治标准和政治要求贯穿…), 定政策, 制度优势, 管理全过程 and 治理新格局
    are slogans; only the 负责制, 体制(改革) and (议事)机制 it commits to are coded."""
    book = tool_codebook(PolicyToolsParams.from_yaml(ROOT / "params" / "policy_tools.yaml"))
    item = corpus.items.query("doc_id == 'baoshan_2023' and item_seq == 1")
    assert "政治标准" in item["text"].iloc[0]
    codes = item_codes(code_items(item, book), book)
    assert codes[["sub_tool", "cue"]].values.tolist() == [["法规制度", "负责制、体制、机制"]]
