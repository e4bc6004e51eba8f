"""The classifier on a held-out coding: trained on the in-sample items only, F1 by hand, n/a below min_positives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from analysis.params import load_params
from analysis.stages.validation import validate_tools
from analysis.text.agreement import bootstrap_interval, f1_score
from analysis.text.dictionary import tool_codebook
from analysis.views.coding import TOO_FEW, agreement_table, tool_labels

TEACHERS, CANTEEN = "加强教师培训，建设高素质教师队伍", "改善学校食堂卫生，做好食堂安全检查"
# (doc_id, item_seq, text, reference 师资人才, cue hit, sample); plans a and b are in-sample, c held-out
ITEMS = [
    ("a_2024", 1, TEACHERS, 1, 1, "in_sample"), ("a_2024", 2, "实施教师培训计划，提升教师队伍素质", 1, 1, "in_sample"),
    ("a_2024", 3, CANTEEN, 0, 0, "in_sample"), ("a_2024", 4, "做好学校食堂安全卫生管理", 0, 0, "in_sample"),
    ("b_2024", 1, "开展教师培训，建设教师队伍", 1, 1, "in_sample"),
    ("b_2024", 2, "组织教师培训与教师研修", 1, 1, "in_sample"),
    ("b_2024", 3, "学校食堂卫生安全检查", 0, 0, "in_sample"), ("b_2024", 4, "改善食堂卫生管理", 0, 0, "in_sample"),
    ("c_2025", 1, "推进教师培训，建设教师队伍", 1, 1, "held_out"),  # tp
    ("c_2025", 2, "组织教师培训，提升教师素质", 1, 1, "held_out"),  # tp
    ("c_2025", 3, "改善学校食堂卫生管理", 1, 0, "held_out"),  # fn: coded 1, reads like the negatives
    ("c_2025", 4, "加强教师培训，建设教师队伍", 0, 1, "held_out"),  # fp: coded 0, reads like the positives
    ("c_2025", 5, "做好食堂安全卫生检查", 0, 0, "held_out"),  # tn
]


@pytest.fixture(scope="module")
def fixture_project(paths):
    """Items, the cues' codes and a reference (in-sample plans a, b; held-out plan c) for 师资人才."""
    params = load_params(paths.params)
    book = tool_codebook(params.policy_tools)
    items = pd.DataFrame([{"doc_id": d, "item_seq": s, "section_no": 1, "item_no": s, "text": t}
                          for d, s, t, *_ in ITEMS])
    codes = pd.DataFrame([{"doc_id": d, "item_seq": s, "sub_tool": "师资人才", "cue": "教师培训"}
                          for d, s, _, _, hit, _ in ITEMS if hit])
    reference = pd.DataFrame([{"doc_id": d, "item_seq": s, "category": tool, "code": int(tool == "师资人才" and code),
                               "note": "", "sample": sample}
                              for d, s, _, code, _, sample in ITEMS for tool in book.keys])
    return params, book, items, codes, reference


def held_out_type(fixture_project, min_positives: int) -> pd.DataFrame:
    params, book, items, codes, reference = fixture_project
    coding = dataclasses.replace(params.coding, min_positives=min_positives)
    table, *_ = validate_tools(codes, items, book, Path("policy_tools.csv"), coding, params.statistics, reference)
    return table[(table["level"] == "type") & (table["sample"] == "held_out")].set_index("type")


def test_held_out_classifier_f1_equals_the_hand_value(fixture_project):
    params = fixture_project[0]
    supply = held_out_type(fixture_project, min_positives=3).loc["供给型"]
    # held-out plan c: tp 2 (items 1, 2), fn 1 (item 3), fp 1 (item 4), tn 1: F1 = 2·2 / (2·2 + 1 + 1) = 2/3
    assert supply["clf_f1"] == round(2 / 3, 4)
    truth, guess = [1, 1, 1, 0, 0], [1, 1, 0, 1, 0]
    stats = params.statistics
    low, high = bootstrap_interval(f1_score, truth, guess, stats.replicates, stats.level, stats.seed)
    assert (supply["clf_f1_low"], supply["clf_f1_high"]) == (round(low, 4), round(high, 4))
    # the dictionary's own held-out row is the same confusion here (the cue fires on items 1, 2, 4)
    assert (supply["tp"], supply["fp"], supply["fn"], supply["f1"]) == (2, 1, 1, round(2 / 3, 4))


def test_held_out_classifier_f1_is_na_with_its_reason_below_min_positives(fixture_project):
    table = held_out_type(fixture_project, min_positives=4)  # 3 held-out positives
    assert not table.loc["供给型", "estimable"] and table["clf_f1"].isna().all()
    shown = agreement_table(table.reset_index(), tool_labels(table.reset_index()), kappa=True)
    check = "分类器 F1（样本内条目训练）classifier trained on the in-sample items"
    assert shown.set_index("类型 type").loc["供给型", ["F1", "κ", check]].tolist() == [TOO_FEW] * 3


def test_an_item_outside_its_themes_years_is_never_queued(fixture_project, corpus):
    import numpy as np

    from analysis.stages.classifier import Items, check
    from analysis.stages.validation import applicable_hits
    from analysis.text.dictionary import theme_lexicon

    params, _, items, *_ = fixture_project
    keys = items[["doc_id", "item_seq"]]
    hits = np.array([[hit] for *_, hit, _ in ITEMS], dtype=float)
    every = Items(keys, items["text"].tolist(), hits)
    coded = Items(keys.iloc[:8].reset_index(drop=True), items["text"].tolist()[:8], hits[:8])
    labels = {"师资人才": np.array([code for _, _, _, code, _, _ in ITEMS[:8]], dtype=float)}
    said = np.array([float(hit) for *_, hit, _ in ITEMS])
    said[10] = 1 - said[10]  # c_2025 #3 reads like the negatives: the dictionary now says 1, the classifier 0
    _, queue = check(coded, labels, every, {"师资人才": said}, params.coding, params.statistics)
    assert ("c_2025", 3) in set(zip(queue["doc_id"], queue["item_seq"], strict=True))
    said[10] = np.nan  # not applicable to the plan's year
    _, queue = check(coded, labels, every, {"师资人才": said}, params.coding, params.statistics)
    assert ("c_2025", 3) not in set(zip(queue["doc_id"], queue["item_seq"], strict=True))
    # on the seed plans: 双减 (since 2021) is NaN for every item of 闵行 2017 and 0/1 elsewhere
    lexicon = theme_lexicon(params.themes)
    found = applicable_hits(pd.DataFrame(columns=list(lexicon.terms)), corpus.items, lexicon)
    minhang = corpus.items["doc_id"].eq("minhang_2017").to_numpy()
    assert found["双减"].isna().to_numpy().tolist() == minhang.tolist() and found["思政"].eq(0).all()
