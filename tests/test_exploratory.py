"""Exploratory analyses (issue 23): cross-tabs, CA, dendrograms, topic models, their figures and stage tables."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.stats import chi2_contingency

from analysis.params.exploratory import ExploratoryParams
from analysis.paths import Paths
from analysis.stages.exploratory import scope_trees, tfidf_rows
from analysis.stages.item_matrix import ItemMatrix, long_matrix
from analysis.stages.topics import choose, scope_topics
from analysis.text.ca import correspondence_analysis, procrustes_align
from analysis.text.crosstab import adjusted_residuals, crosstab_test
from analysis.text.topics import topic_stability
from analysis.text.trees import clusters_of, cophenetic_correlation, cosine_distances, merge_support, tree
from analysis.views.structure import large_tree_html
from analysis.views.structure_plots import overlapping_labels, plot_ca_biplot, plot_dendrogram, plot_keyness

# Agresti (2007), Table 2.5: party identification by gender (Dem, Ind, Rep).
PARTY = np.array([[762, 327, 468], [484, 239, 477]])
# Greenacre (2007), the smoke table: staff groups × smoking (none, light, medium, heavy).
SMOKE = np.array([[4, 2, 3, 2], [4, 3, 7, 4], [25, 10, 12, 4], [18, 24, 33, 13], [10, 6, 7, 2]])


def _params(**changes) -> ExploratoryParams:
    base = dict(keyness_min_items=2, crosstab_min_expected=5, crosstab_replicates=2000, ca_top_terms=40,
                ca_replicates=10, tree_top_terms=30, tree_method="average", tree_replicates=10, tree_keep_share=0.7,
                tree_resample_max_plans=200,
                topic_k_min=2, topic_k_max=3, topic_top_terms=5, topic_seeds=3, topic_min_stability=0.6,
                topic_max_items=1000, topic_max_features=200, topic_replicates=50, seed=42)
    return ExploratoryParams(**{**base, **changes})


# --- cross-tabs ------------------------------------------------------------------------------------


def test_chi2_and_adjusted_residuals_against_the_textbook_and_scipy():
    test = crosstab_test(PARTY, 5, 1000, 0)
    scipy_result = chi2_contingency(PARTY, correction=False)
    assert test.chi2 == pytest.approx(scipy_result.statistic) and test.p == pytest.approx(scipy_result.pvalue)
    assert test.df == 2
    assert round(test.chi2, 2) == 30.07 and test.method == "chi2" and test.low_expected == 0
    assert test.cramers_v == pytest.approx(np.sqrt(test.chi2 / 2757), abs=1e-4)
    # Agresti's adjusted residuals: 4.50, 0.70, −5.32 for females
    assert adjusted_residuals(PARTY).round(2).tolist() == [[4.50, 0.70, -5.32], [-4.50, -0.70, 5.32]]


def test_small_expected_counts_use_fisher_or_monte_carlo():
    two = crosstab_test(np.array([[1, 5], [4, 0]]), 5, 1000, 0)
    assert two.method == "fisher" and two.p == pytest.approx(0.047619, abs=1e-6) and two.low_expected == 4
    wide = crosstab_test(np.array([[1, 5, 3], [4, 0, 2]]), 5, 2000, 0)
    assert wide.method == "monte_carlo" and wide.p != wide.p_chi2 and 0.03 < wide.p < 0.1
    assert crosstab_test(np.array([[3, 0], [4, 0]]), 5, 1000, 0) is None  # one column left: no test


# --- correspondence analysis -----------------------------------------------------------------------


def test_ca_reproduces_greenacres_smoke_table_to_three_decimals():
    ca = correspondence_analysis(SMOKE)
    assert ca.eigenvalues.round(5).tolist() == [0.07476, 0.01002, 0.00041]
    assert round(ca.eigenvalues.sum(), 5) == 0.08519 and ca.inertia_share.round(3).tolist()[:2] == [0.878, 0.118]
    # principal coordinates (signs of a dimension are arbitrary): SM JM SE JE SC; none light medium heavy
    assert np.abs(ca.row_coords[:, :2]).round(3).tolist() == [
        [0.066, 0.194], [0.259, 0.243], [0.381, 0.011], [0.233, 0.058], [0.201, 0.079]]
    assert np.abs(ca.col_coords[:, :2]).round(3).tolist() == [[0.393, 0.030], [0.099, 0.141], [0.196, 0.007],
                                                             [0.294, 0.198]]
    assert ca.row_contrib[:, 0].round(3).tolist() == [0.003, 0.084, 0.512, 0.331, 0.070]
    assert ca.row_cos2[:, 0].round(3).tolist() == [0.092, 0.526, 0.999, 0.942, 0.865]


def test_procrustes_undoes_a_rotation_and_reflection():
    points = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, -1.0]])
    turned = points @ np.array([[0.0, -1.0], [-1.0, 0.0]])
    assert np.allclose(procrustes_align(turned, points), points)


# --- dendrograms -----------------------------------------------------------------------------------


def test_dendrogram_merge_order_and_support():
    distances = np.array([[0, 0.1, 0.8, 0.9], [0.1, 0, 0.85, 0.9], [0.8, 0.85, 0, 0.3], [0.9, 0.9, 0.3, 0]])
    merges = tree(distances, "average")
    assert [sorted(c) for c in clusters_of(merges)] == [[0, 1], [2, 3], [0, 1, 2, 3]]
    assert merges[:, 2].round(4).tolist() == [0.1, 0.3, 0.8625]
    assert cophenetic_correlation(merges, distances) > 0.95
    swapped = distances[[0, 2, 1, 3]][:, [0, 2, 1, 3]]  # {0, 2} and {1, 3} now pair up
    assert merge_support(merges, [merges, tree(swapped, "average")]).tolist() == [0.5, 0.5, 1.0]


def _plan_terms() -> ItemMatrix:
    """Five plans of 1–6 items over six terms (counts), items deliberately not grouped by plan."""
    plans = ["p2", "p0", "p1", "p0", "p3", "p2", "p1", "p0", "p4", "p2", "p2", "p1", "p2", "p2", "p0", "p4"]
    terms = ["督导", "课程", "评价", "体系", "清廉", "改革"]
    pairs = pd.DataFrame([(d, seq, terms[(seq * (k + 2) + len(d)) % 6], k + 1)
                          for seq, d in enumerate(plans) for k in range(3)],
                         columns=["doc_id", "item_seq", "term", "count"])
    return long_matrix(pairs[["doc_id", "item_seq"]], pairs, "term", values="count")


def test_within_plan_resample_is_the_per_plan_draw_in_one_call():
    matrix = _plan_terms()
    assert [len(g) for g in matrix.plan_rows] == [4, 3, 6, 1, 2]
    for seed in range(5):
        loop, one = np.random.default_rng(seed), np.random.default_rng(seed)
        for _ in range(3):
            expected = np.concatenate([loop.choice(g, len(g)) for g in matrix.plan_rows])
            assert matrix.resample_within_plans(one).tolist() == expected.tolist()


def test_sparse_plan_tfidf_and_cosine_match_the_dense_formulas():
    matrix = _plan_terms()
    counts = matrix.plan_totals(np.arange(matrix.matrix.shape[0]))
    dense = counts.toarray()
    weights = dense * (np.log(6 / (1 + (dense > 0).sum(axis=0))) + 1)
    unit = weights / np.linalg.norm(weights, axis=1, keepdims=True)
    assert np.allclose(tfidf_rows(counts).toarray(), unit, atol=1e-12)
    expected = np.clip(1 - unit @ unit.T, 0, 2)
    np.fill_diagonal(expected, 0)
    assert np.allclose(cosine_distances(tfidf_rows(counts)), expected, atol=1e-12)
    assert np.allclose(cosine_distances(unit), expected, atol=1e-12)  # dense input too


@pytest.mark.parametrize("most", [4, 5])
def test_plan_tree_is_resampled_only_up_to_tree_resample_max_plans(most):
    nodes, summary = scope_trees("set_default", _plan_terms(), _params(tree_resample_max_plans=most,
                                                                        tree_top_terms=6))
    summary = pd.DataFrame(summary).set_index("kind")
    nodes = pd.DataFrame(nodes)
    plan_merges = nodes[(nodes["kind"] == "plans") & (nodes["left"] >= 0)]
    assert summary.loc["terms", "replicates"] == 10 and summary.loc["plans", "leaves"] == 5
    assert summary.loc["plans", "replicates"] == (10 if most == 5 else 0)
    assert plan_merges["support"].notna().all() == (most == 5) and len(plan_merges) == 4
    note = str(large_tree_html("计划树", summary.loc["plans"], 3).data)
    assert "5 份计划，多于 detail_max_plans（3）" in note
    assert ("未做条目重抽样" in note) == (most == 4) and ("10 次条目重抽样" in note) == (most == 5)


# --- topic models ----------------------------------------------------------------------------------


def _items(documents: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame({"doc_id": [f"p{i % 4}" for i in range(len(documents))],
                         "item_seq": [i // 4 + 1 for i in range(len(documents))],
                         "tokens": [" ".join(d) for d in documents]})


def test_planted_two_topics_are_recovered_stably_and_random_words_are_not():
    rng = np.random.default_rng(0)
    first, second = [f"甲{i}" for i in range(5)], [f"乙{i}" for i in range(5)]
    planted = _items([list(rng.choice(first if i % 2 else second, 4)) for i in range(80)])
    found = scope_topics("set_default", planted, _params(topic_seeds=2), 0.95)
    selection = pd.DataFrame(found["selection"])
    for model in ("nmf", "lda"):
        rows = selection[selection["model"] == model].set_index("k")
        assert rows.loc[2, "stability"] >= 0.6 and rows.loc[2, "chosen"], model
    terms = pd.DataFrame(found["terms"])
    nmf = terms[terms["model"] == "nmf"]
    assert sorted(map(sorted, nmf.groupby("topic")["term"].apply(list))) == sorted([sorted(first), sorted(second)])
    shares = pd.DataFrame(found["shares"])
    assert ((shares["share_low"] <= shares["share"]) & (shares["share"] <= shares["share_high"])).all()
    assert len(pd.DataFrame(found["items"]).groupby(["model", "topic"])) == 4  # 3 typical items per topic
    noise = _items([list(rng.choice([f"词{i}" for i in range(40)], 4)) for _ in range(80)])
    unstable = pd.DataFrame(scope_topics("set_default", noise, _params(topic_seeds=2), 0.95)["selection"])
    assert not unstable["stable"].any() and not unstable["chosen"].any()
    assert choose(unstable) is None


def test_topic_stability_is_reproducible():
    counts = sparse.csr_matrix(np.random.default_rng(1).poisson(0.5, (60, 12)).astype(float))
    assert topic_stability(counts, "nmf", 2, 4, 2, 7)[:2] == topic_stability(counts, "nmf", 2, 4, 2, 7)[:2]


# --- figures ---------------------------------------------------------------------------------------


def _glyph_warnings(draw) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw().savefig(io.BytesIO(), format="png")
    return [str(w.message) for w in caught if "Glyph" in str(w.message)]


def test_biplot_labels_do_not_overlap_and_render_every_glyph():
    rng = np.random.default_rng(3)
    labels = [f"{a}{b}" for a in "教育质量课程评价" for b in "体系改革"][:30]
    points = pd.DataFrame({"kind": ["column"] * 30 + ["plan"] * 3, "label": [*labels, "杨浦", "闵行", "舟山"],
                           "x": np.r_[rng.normal(0, 0.05, 30), [0.0, 0.01, -0.01]],
                           "y": np.r_[rng.normal(0, 0.05, 30), [0.0, 0.01, 0.0]], "spread": [np.nan] * 30 + [0.02] * 3})
    inertia = pd.DataFrame({"dim": [1, 2], "share": [0.6, 0.3]})
    figure = plot_ca_biplot(points, inertia, {"杨浦": "杨浦 2024"}, "测试 test")
    assert overlapping_labels(figure) == []
    assert _glyph_warnings(lambda: plot_ca_biplot(points, inertia, {}, "测试")) == []


def test_keyness_plot_and_dendrogram_render_cjk():
    rows = pd.DataFrame({"term": ["督导", "清廉", "课程"], "g2": [9.0, 4.0, 6.0], "log_ratio": [1.0, 2.0, -1.0],
                         "q": [0.01, 0.2, 0.03], "n_items": [4, 1, 0], "items": [20] * 3, "key": [True, False, True]})
    figure = plot_keyness(rows, "舟山 2024", 10)
    bars = figure.axes[0].patches
    assert sorted(round(b.get_width(), 1) for b in bars) == [-6.0, 4.0, 9.0]  # signed by direction
    assert _glyph_warnings(lambda: plot_keyness(rows, "舟山 2024", 10)) == []
    nodes = pd.DataFrame({"node": [0, 1, 2, 3, 4], "label": ["督导", "评价", "课程", "", ""],
                          "left": [-1, -1, -1, 0, 3], "right": [-1, -1, -1, 1, 2], "height": [0, 0, 0, 0.2, 0.7],
                          "size": [1, 1, 1, 2, 3], "support": [np.nan] * 3 + [0.9, 1.0]})
    tree_figure = plot_dendrogram(nodes, {}, "词语树", 0.7)
    assert [t.get_text() for t in tree_figure.axes[0].get_yticklabels()] == ["督导", "评价", "课程"]
    assert "90.0%" in [t.get_text() for t in tree_figure.axes[0].texts]  # as the tree note and tables
    assert _glyph_warnings(lambda: plot_dendrogram(nodes, {}, "词语树", 0.7)) == []


# --- the stages on the small published project ------------------------------------------------------


def test_stage_tables_agree_with_the_theme_counts(published: Paths):
    read = lambda name: pd.read_csv(published.processed / f"{name}.csv", encoding="utf-8-sig")  # noqa: E731
    cells, counts = read("crosstab_cells"), read("theme_counts")
    plan_theme = cells[(cells["scope"] == "set_default") & (cells["table"] == "plan_theme")]
    expected = counts[counts["applicable"] & (counts["items_with_theme"] > 0)]
    merged = plan_theme.merge(expected, left_on=["row", "col"], right_on=["doc_id", "theme"])
    assert len(merged) == len(plan_theme) > 0 and (merged["count"] == merged["items_with_theme"]).all()
    tests = read("crosstab_tests")
    assert set(tests["table"]) >= {"plan_theme", "plan_tool_type"} and tests["p"].between(0, 1).all()
    assert set(read("topic_selection")["model"]) <= {"nmf", "lda"}
    assert (read("ca_inertia").groupby(["scope", "analysis"])["share"].sum().round(3) == 1.0).all()
