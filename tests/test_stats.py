"""Item-level statistics: bootstrap intervals and item-presence tests, on hand-made fixtures and the seeds."""

from __future__ import annotations

from dataclasses import replace
from math import comb

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.params import load_params
from analysis.paths import ProjectError
from analysis.stages.themes import build_themes
from analysis.text.stats import (
    TEST_COLUMNS,
    PlanUnits,
    StatisticsParams,
    item_intervals,
    item_presence_tests,
    plan_intervals,
    plan_units,
    pooled_rate,
    proportion_interval,
    resample_counts,
)

PARAMS = StatisticsParams(replicates=2000, level=0.95, seed=7, max_q=0.05, min_items=10)


@pytest.fixture(scope="module")
def seed(corpus, paths):
    return build_themes(corpus, load_params(paths.params))


# --- parameters ----------------------------------------------------------------------------------


def test_committed_params_load(paths):
    params = StatisticsParams.from_yaml(paths.params / "statistics.yaml")
    assert params.replicates >= 1000 and params.level == 0.95 and 0 < params.max_q < 1 and params.min_items == 10
    assert not params.enough_items(params.min_items - 1) and params.enough_items(params.min_items)


def test_params_out_of_range_are_one_line_each_naming_the_file(tmp_path):
    path = tmp_path / "statistics.yaml"
    path.write_text(yaml.safe_dump({"replicates": 0, "level": 1.0, "seed": -1, "max_q": True, "min_items": 1}),
                    encoding="utf-8")
    with pytest.raises(ProjectError) as caught:
        StatisticsParams.from_yaml(path)
    assert len(caught.value.problems) == 5
    assert any("min_items = 1 must be a whole number of at least 2" in line for line in caught.value.problems)
    assert all(line.startswith(f"{path}: ") for line in caught.value.problems)
    path.write_text(yaml.safe_dump({"replicates": 10, "level": 0.9, "seed": 1}), encoding="utf-8")
    with pytest.raises(ProjectError, match="missing key"):
        StatisticsParams.from_yaml(path)


# --- bootstrap -----------------------------------------------------------------------------------


def _plan(item_mentions, item_chars, fixed_mentions, fixed_chars, doc_id="a") -> PlanUnits:
    return PlanUnits(doc_id, np.array(item_mentions, float).reshape(len(item_chars), len(fixed_mentions)),
                     np.array(item_chars, float), np.array(fixed_mentions, float), fixed_chars)


def test_resampling_draws_each_replicate_with_replacement():
    counts = resample_counts(5, 1000, np.random.default_rng(1))
    assert counts.shape == (1000, 5) and (counts.sum(axis=1) == 5).all()
    assert (counts.max(axis=1) > 1).any()  # with replacement
    assert counts.mean() == pytest.approx(1, abs=0.05)


def test_all_items_once_is_the_point_estimate():
    # fixed text: 40 characters, 1 mention of theme 0; items: (2, 0) in 30 chars, (0, 1) in 30 chars
    plan = _plan([[2, 0], [0, 1]], [30, 30], [1, 0], 40)
    assert pooled_rate(np.ones((1, 2)), plan).tolist() == [[3 * 10_000 / 100, 1 * 10_000 / 100]]
    # item 0 twice: (1 + 4) mentions in 40 + 60 characters; theme 1 in no drawn item
    assert pooled_rate(np.array([[2, 0]]), plan).tolist() == [[500.0, 0.0]]


def test_one_item_or_none_gives_degenerate_rate_intervals_and_exact_share_intervals():
    one = plan_intervals(_plan([[3, 0]], [100], [1, 0], 50), PARAMS)
    assert one[:2].tolist() == [[4 * 10_000 / 150, 0.0], [4 * 10_000 / 150, 0.0]]
    assert one[2:].round(4).tolist() == [[0.025, 0.0], [1.0, 0.975]]  # 1/1 and 0/1, exact
    none = plan_intervals(_plan([], [], [2, 0], 80), PARAMS)
    assert none[:2].tolist() == [[250.0, 0.0], [250.0, 0.0]]
    assert np.isnan(none[2:]).all()  # no items: no share, no interval


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    (0, 17, 0.0, 0.195064), (1, 29, 0.000873, 0.177644), (17, 17, 0.804936, 1.0), (5, 20, 0.086571, 0.491046),
])
def test_item_shares_get_the_exact_clopper_pearson_interval(k, n, low, high):
    """Known values (Clopper & Pearson 1934; e.g. R binom.test): 0/17 is not [0 %, 0 %], 1/29 not [0 %, 10 %]."""
    assert np.round(proportion_interval(k, n, 0.95), 6).tolist() == [low, high]
    item_present = np.zeros((n, 1))
    item_present[:k] = 1
    bounds = plan_intervals(_plan(item_present, [10] * n, [0], 10), PARAMS)
    assert bounds[2:, 0].round(6).tolist() == [low, high]


def test_seed_point_estimates_equal_per_10k_chars(seed, corpus):
    themes = list(pd.unique(seed.theme_counts["theme"]))
    counts = seed.theme_counts.set_index(["doc_id", "theme"])
    for plan in plan_units(seed.kwic, corpus.items, corpus.documents, themes):
        ones = np.ones((1, len(plan.item_chars)))
        assert pooled_rate(ones, plan)[0].round(2).tolist() == counts.loc[plan.doc_id, "per_10k_chars"].tolist()
        present = plan.item_present.sum(axis=0) / max(len(plan.item_chars), 1)
        assert present.round(4).tolist() == counts.loc[plan.doc_id, "item_share"].tolist()
    shown = counts[counts["applicable"]]  # a theme outside its since/until years has no interval
    assert (shown["per_10k_low"] <= shown["per_10k_chars"]).all()
    assert (shown["per_10k_chars"] <= shown["per_10k_high"]).all()
    assert (shown["item_share_low"] <= shown["item_share"]).all()
    assert (shown["item_share"] <= shown["item_share_high"]).all()


def test_bootstrap_is_seeded_per_plan(seed, corpus):
    themes = list(pd.unique(seed.theme_counts["theme"]))

    def intervals(params: StatisticsParams, doc_ids: list[str] | None = None) -> pd.DataFrame:
        documents = corpus.documents[corpus.documents["doc_id"].isin(doc_ids or corpus.documents["doc_id"])]
        return item_intervals(seed.kwic, corpus.items, documents, themes, params).set_index(["doc_id", "theme"])

    first = intervals(PARAMS)
    assert first.equals(intervals(PARAMS))
    assert not first.equals(intervals(replace(PARAMS, seed=8)))
    # a plan's interval does not depend on which other plans are computed with it
    assert intervals(PARAMS, ["yangpu_2024"]).equals(first.loc[["yangpu_2024"]])


# --- item-presence tests -------------------------------------------------------------------------


@pytest.fixture
def toy():
    """Plans A, B (complete) and C (truncated), 10 items each; themes X and Y."""
    documents = pd.DataFrame({"doc_id": ["A", "B", "C"], "completeness": ["complete", "complete", "truncated"]})
    with_theme = {("A", "X"): 10, ("A", "Y"): 3, ("B", "X"): 0, ("B", "Y"): 1, ("C", "X"): 5, ("C", "Y"): 0}
    counts = pd.DataFrame(
        [{"doc_id": d, "district": d, "year": 2024, "theme": t, "applicable": True, "items_with_theme": n,
          "n_items": 10}
         for (d, t), n in with_theme.items()]
    )
    return counts, documents


def test_fisher_p_bh_q_and_odds_ratio_by_hand(toy):
    table = item_presence_tests(*toy, ["A", "B", "C"], max_q=0.05)
    assert list(table.columns) == TEST_COLUMNS
    tests = table.set_index(["doc_id", "theme"])
    # X: A 10/10 vs B 0/10 — only the two perfectly split tables are as extreme
    p_ax = 2 / comb(20, 10)
    # Y: A 3/10 vs B 1/10: 4 theme items among 20; P(k) = C(4,k) C(16,10-k) / C(20,10), two-sided
    pmf = {k: comb(4, k) * comb(16, 10 - k) / comb(20, 10) for k in range(5)}
    p_ay = sum(pmf[k] for k in (0, 1, 3, 4))
    # C (truncated) Y: 0/10 vs A+B 4/20
    pmf_c = {k: comb(4, k) * comb(26, 10 - k) / comb(30, 10) for k in range(5)}
    p_cy = sum(pmf_c[k] for k in (0, 3, 4))
    expected_p = {("A", "X"): p_ax, ("B", "X"): p_ax, ("C", "X"): 1.0,
                  ("A", "Y"): p_ay, ("B", "Y"): p_ay, ("C", "Y"): p_cy}
    for key, p in expected_p.items():
        assert tests.loc[key, "p"] == pytest.approx(p, rel=1e-5)
    # Benjamini–Hochberg over the 6 tests: ranks 1–2 → 6p/2, rank 3 → 6p/3, ranks 4–5 → 6p/5, rank 6 → p
    expected_q = {("A", "X"): 3 * p_ax, ("B", "X"): 3 * p_ax, ("C", "Y"): 2 * p_cy,
                  ("A", "Y"): 1.2 * p_ay, ("B", "Y"): 1.2 * p_ay, ("C", "X"): 1.0}
    for key, q in expected_q.items():
        assert tests.loc[key, "q"] == pytest.approx(q, rel=1e-5)
    assert tests.loc[("A", "X"), "odds_ratio"] == (10.5 * 10.5) / (0.5 * 0.5)  # Haldane
    assert tests.loc[("B", "Y"), "odds_ratio"] == pytest.approx((1.5 * 7.5) / (9.5 * 3.5), abs=1e-4)
    assert tests["direction"].to_dict() == {
        ("A", "X"): "more", ("A", "Y"): "n.s.", ("B", "X"): "less", ("B", "Y"): "n.s.",
        ("C", "X"): "n.s.", ("C", "Y"): "n.s.",
    }


def test_incomplete_plans_are_tested_but_never_pooled(toy):
    counts, documents = toy
    tests = item_presence_tests(counts, documents, ["A", "B", "C"], max_q=0.05).set_index(["doc_id", "theme"])
    assert tests.loc["A", ["pool_plans", "pool_items_with_theme", "pool_n_items"]].values.tolist() == [
        [1, 0, 10], [1, 1, 10]]  # B only
    assert tests.loc["C", ["pool_plans", "pool_n_items"]].values.tolist() == [[2, 20], [2, 20]]
    changed = counts.assign(items_with_theme=counts["items_with_theme"].where(counts["doc_id"] != "C", 10))
    again = item_presence_tests(changed, documents, ["A", "B", "C"], max_q=0.05).set_index(["doc_id", "theme"])
    assert again.loc[["A", "B"], "p"].equals(tests.loc[["A", "B"], "p"])
    # a set of A and C: C is compared with A; A has no complete other plan and is left out
    pair = item_presence_tests(counts, documents, ["A", "C"], max_q=0.05)
    assert set(pair["doc_id"]) == {"C"} and (pair["pool_plans"] == 1).all()
    assert item_presence_tests(counts, documents, ["A"], max_q=0.05).columns.tolist() == TEST_COLUMNS


def test_a_theme_that_does_not_apply_is_neither_tested_nor_pooled(toy):
    counts, documents = toy
    counts = counts.assign(applicable=~counts["doc_id"].eq("B") | counts["theme"].ne("Y"))  # B × Y: n/a
    tests = item_presence_tests(counts, documents, ["A", "B", "C"], max_q=0.05).set_index(["doc_id", "theme"])
    assert sorted(tests.index) == [("A", "X"), ("B", "X"), ("C", "X"), ("C", "Y")]  # A × Y: no pool left
    assert tests.loc[("C", "Y"), ["pool_plans", "pool_items_with_theme", "pool_n_items"]].tolist() == [1, 3, 10]


def test_seed_tests(seed, corpus):
    tests = seed.theme_tests
    assert len(tests) == 19 and tests["completeness"].eq("truncated").sum() == 4  # 闵行 2017 × 双减: n/a
    assert not tests.query("doc_id == 'minhang_2017' and theme == '双减'").shape[0]
    pools = tests.groupby(["completeness", tests["theme"] == "双减"])["pool_plans"].unique().map(list).to_dict()
    assert pools == {("complete", False): [3], ("complete", True): [2],  # 双减: 闵行 2017 is never pooled
                     ("truncated", False): [4], ("truncated", True): [3]}
    assert tests.equals(item_presence_tests(seed.theme_counts, corpus.documents, corpus.documents["doc_id"],
                                            max_q=0.05))


def test_杨浦_心理健康_is_eleven_mentions_in_one_item_and_not_significant(seed):
    kwic = seed.kwic.query("doc_id == 'yangpu_2024' and theme == '心理健康'")
    assert len(kwic) == 11 and kwic["item_seq"].nunique() == 1
    row = seed.theme_tests.query("doc_id == 'yangpu_2024' and theme == '心理健康'").iloc[0]
    assert (row["items_with_theme"], row["n_items"]) == (1, 29)
    assert row["direction"] == "n.s." and row["p"] > 0.5
