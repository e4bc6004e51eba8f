"""Item-level keyness: items (not tokens) as the unit, dispersion, complete plans as reference, one table."""

from __future__ import annotations

from math import log, log2

import pandas as pd
import pytest

from analysis.params import load_params
from analysis.params.exploratory import ExploratoryParams
from analysis.paths import ProjectError
from analysis.stages.coword import item_tokens, place_names
from analysis.stages.keyness import KEYNESS_COLUMNS, keyness_scopes, keyness_table
from analysis.text.textstats import item_keyness
from analysis.text.tokenize import load_segmenter


def _tokens(plans: dict[str, list[str]]) -> pd.DataFrame:
    """item_tokens rows: plan → the token strings of its items."""
    return pd.DataFrame([(doc_id, seq, text) for doc_id, items in plans.items()
                         for seq, text in enumerate(items, 1)], columns=["doc_id", "item_seq", "tokens"])


def test_keyness_counts_items_against_hand_computed_values():
    tokens = _tokens({
        "a": ["督导 质量", "督导", "督导 课程", "课程"],
        "b": ["督导", "课程", "课程", "课程", "课程", "课程"],
        "c": ["督导", "督导", "督导"],  # truncated: tested, never in a reference
    })
    found = item_keyness(tokens, ["a", "b"], min_items=2, max_q=0.05).set_index(["doc_id", "term"])
    row = found.loc[("a", "督导")]
    assert (row["n_items"], row["items"], row["n_items_other"], row["items_other"], row["count"]) == (3, 4, 1, 6, 3)
    # 2×2: 3 of 4 items against 1 of 6; expected 4 × 4 / 10 = 1.6
    cells = [(3, 1.6), (1, 2.4), (1, 2.4), (5, 3.6)]
    assert row["expected"] == 1.6
    assert row["g2"] == pytest.approx(2 * sum(o * log(o / e) for o, e in cells), abs=1e-4)
    assert row["log_ratio"] == pytest.approx(log2((3 / 4) / (1 / 6)), abs=1e-4)
    truncated = found.loc[("c", "督导")]  # against a and b pooled: 4 of 10 items
    assert (truncated["n_items_other"], truncated["items_other"]) == (4, 10)
    assert "质量" not in found.index.get_level_values("term")  # one item in the whole set: not tested


def test_a_term_repeated_inside_one_item_is_never_distinctive():
    """舟山 清廉: five occurrences in one item. Tokens would make it key; items do not."""
    tokens = _tokens({
        "a": ["清廉 清廉 清廉 清廉 清廉", "课程"],
        "b": [*["课程"] * 999, "清廉"],
    })
    found = item_keyness(tokens, ["a", "b"], min_items=2, max_q=0.05).set_index(["doc_id", "term"])
    row = found.loc[("a", "清廉")]
    assert (row["count"], row["n_items"]) == (5, 1)
    assert row["q"] < 0.05 and not row["key"]  # significant, but held by one item only
    assert found.loc[("b", "清廉")]["log_ratio"] < 0 and not found.loc[("b", "清廉")]["key"]


def test_single_complete_plan_has_no_reference():
    tokens = _tokens({"a": ["督导", "督导"], "c": ["督导"]})
    found = item_keyness(tokens, ["a"], min_items=2, max_q=0.05)
    assert found["doc_id"].tolist() == ["c"]  # c against a; a alone has nothing to be compared with
    assert list(item_keyness(tokens.head(0), [], 2, 0.05).columns) == list(found.columns)


def test_seed_keyness_is_one_table_without_places_numerals_or_single_items(corpus, paths):
    params = load_params(paths.params)
    tokens = item_tokens(corpus.items, load_segmenter(paths.params), place_names(corpus.documents,
                                                                                   params.explore.place_names))
    table = keyness_table(tokens, corpus.documents, params)
    assert list(table.columns) == KEYNESS_COLUMNS
    # the five seed plans are five districts: set_default holds every plan, so "all" (a copy) is not written
    assert sorted(table["scope"].unique()) == ["set_default", "set_y2024"]
    assert not table["term"].isin(["闵行区", "宝山区", "西宁市", "十三五", "十四五", "二十大"]).any()
    zhoushan = table[(table["doc_id"] == "zhoushan_2024") & (table["term"] == "清廉")]
    assert zhoushan.empty or not zhoushan["key"].any()
    key = table[table["key"]]
    assert (key["n_items"].where(key["log_ratio"] > 0, key["n_items_other"]) >= 2).all()
    # 宝山 2023 is truncated: tested, but no other plan's reference holds its items
    items = corpus.items.groupby("doc_id").size()
    default = table[table["scope"] == "set_default"]
    yangpu = default[default["doc_id"] == "yangpu_2024"]
    assert set(yangpu["items_other"]) == {items.drop(["baoshan_2023", "yangpu_2024"]).sum()}
    assert set(default[default["doc_id"] == "baoshan_2023"]["items_other"]) == {items.drop("baoshan_2023").sum()}


def test_all_plans_are_a_scope_only_when_no_plan_set_holds_them_all(corpus, paths):
    report = load_params(paths.params).report
    documents = corpus.documents
    assert list(keyness_scopes(documents, report)) == ["set_default", "set_y2024"]
    later = documents[documents["doc_id"] == "minhang_2017"].assign(doc_id="minhang_2024", year=2024)
    scopes = keyness_scopes(pd.concat([documents, later], ignore_index=True), report)
    assert list(scopes) == ["all", "set_default", "set_y2024"]  # set_default: minhang_2024 only, of 闵行
    assert "minhang_2017" in scopes["all"] and "minhang_2017" not in scopes["set_default"]


def test_keyness_min_items_is_bounded(paths, tmp_path):
    text = (paths.params / "exploratory.yaml").read_text(encoding="utf-8")
    path = tmp_path / "exploratory.yaml"
    path.write_text(text.replace("keyness_min_items: 2", "keyness_min_items: 1"), encoding="utf-8")
    with pytest.raises(ProjectError, match="keyness_min_items = 1 must be a whole number >= 2"):
        ExploratoryParams.from_yaml(path)
