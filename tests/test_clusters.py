"""Cluster stage: determinism, coverage, similarity, recovery of obvious groups, clean labels, and
honesty: k chosen by stability, a verdict that says when the clusters are noise, and the uncertainty
of "most similar plan"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from analysis.files import csv_bytes, read_csv
from analysis.params import Params, load_params
from analysis.params.clusters import ClusterParams
from analysis.paths import ProjectError
from analysis.stages.cluster_select import best_jaccard, choose_k, fit_all, fit_kmeans, renumber
from analysis.stages.clusters import CLUSTER_FILES, LABEL_SEPARATOR, build_clusters, labels_from_terms, write_clusters
from analysis.stages.neighbours import nearest_neighbours, partner_cosines, plan_cosine, resample_weights
from analysis.stages.tfidf import word_ngrams
from analysis.text.tokenize import load_segmenter
from analysis.views.clusters import (
    cluster_verdict,
    neighbour_verdict,
    similar_plans_with_uncertainty,
    similarity_matrix,
    solution_passes,
)

SPORT = ["篮球比赛", "足球训练", "体育锻炼", "田径运动会", "游泳课程", "体质健康测试"]
DIGITAL = ["数字平台", "人工智能", "智慧校园", "网络安全", "数据中心", "信息系统"]
LEXICON = {"体育": ["篮球", "足球", "田径"], "数字化": ["数字", "智能", "网络"]}


def count_hits(text: str) -> dict[str, int]:
    """A stand-in theme counter: how many of each theme's terms occur in `text`."""
    return {theme: sum(term in text for term in terms) for theme, terms in LEXICON.items()}


def synthetic_items() -> pd.DataFrame:
    """Two plans of twelve items; each item names four random words of one group (sport or
    digital), and all are full of stopwords (教育 学校 工作 推进 建设) that must never reach a label."""
    rng = np.random.default_rng(0)
    rows = []
    for n in range(24):
        words = rng.choice(SPORT if n % 2 == 0 else DIGITAL, size=4, replace=False)
        doc = "alpha_2024" if n < 12 else "beta_2023"
        rows.append({"doc_id": doc, "district": doc[:5], "year": int(doc[-4:]), "section_no": 1,
                     "section_title": "", "item_no": str(n % 12 + 1), "item_seq": n % 12 + 1,
                     "text": "推进教育工作建设学校" + "，".join(words) + "。"})
    return pd.DataFrame(rows)


SYNTHETIC_OVERRIDES = {"k_min": 2, "k_max": 5, "min_df": 1, "max_df": 1.0,
                       "stability_seeds": 3, "stability_subsamples": 3}


@pytest.fixture(scope="module")
def project_params(paths) -> Params:
    return load_params(paths.params)


@pytest.fixture(scope="module")
def tables(corpus, project_params):
    return build_clusters(corpus.items, project_params)


@pytest.fixture(scope="module")
def synthetic(project_params):
    return build_clusters(synthetic_items(), project_params, SYNTHETIC_OVERRIDES, count_hits)


def test_two_runs_write_identical_files(tables, corpus, project_params, tmp_path):
    again = build_clusters(corpus.items.sample(frac=1, random_state=1), project_params)  # order-free
    for field in CLUSTER_FILES:
        assert csv_bytes(getattr(again, field)) == csv_bytes(getattr(tables, field)), field
    first = write_clusters(tables, tmp_path / "a")
    second = write_clusters(again, tmp_path / "b")
    assert [p.name for p in first] == list(CLUSTER_FILES.values())
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_every_item_assigned_exactly_once(tables, corpus):
    clusters = tables.clusters
    assert list(clusters.columns) == [
        "doc_id", "district", "year", "item_seq", "cluster", "cluster_label", "x", "y"
    ]
    keys = list(zip(clusters["doc_id"], clusters["item_seq"], strict=True))
    assert len(keys) == len(set(keys)) == len(corpus.items) == 119
    assert set(keys) == set(zip(corpus.items["doc_id"], corpus.items["item_seq"], strict=True))
    summary = tables.cluster_summary
    assert summary["n_items"].sum() == 119
    assert list(summary["cluster"]) == list(range(1, len(summary) + 1))
    assert summary["n_items"].is_monotonic_decreasing  # ids ordered by size
    assert summary["theme"].isin(["", "思政", "双减", "数字化", "心理健康"]).all()
    assert (summary["theme"] != "").any()
    assert len(summary) == int(tables.k_selection.query("chosen")["k"].iloc[0])


def test_k_selection_reports_every_k_and_picks_the_most_stable(tables, paths):
    ks = tables.k_selection
    params = ClusterParams.from_yaml(paths.params / "clusters.yaml")
    assert list(ks["k"]) == list(range(params.k_min, params.k_max + 1))
    assert ks["chosen"].sum() == 1
    best = ks.loc[ks["chosen"]].iloc[0]
    top = ks.loc[ks["ari"].idxmax()]
    tied = ks[ks["ari"] >= top["ari"] - top["ari_se"]]  # within one standard error of the most stable
    assert best["k"] in set(tied["k"]) and best["silhouette"] == tied["silhouette"].max()
    assert ks["ari"].between(-1, 1).all() and ks["ari_se"].ge(0).all() and ks["jaccard"].between(0, 1).all()


def test_similarity_symmetric_with_unit_diagonal(tables):
    square = similarity_matrix(tables.doc_similarity)
    assert square.shape == (5, 5)
    assert np.allclose(square.to_numpy(), square.to_numpy().T)
    assert np.allclose(np.diag(square.to_numpy()), 1.0)
    assert ((square.to_numpy() >= 0) & (square.to_numpy() <= 1 + 1e-9)).all()
    assert "闵行 2017" in square.index  # plans are shown with their year


def test_labels_and_terms_contain_no_stopwords(tables, synthetic, paths):
    stopwords = load_segmenter(paths.params).stopwords
    for result in (tables, synthetic):
        words = {
            word
            for label in result.cluster_summary["label"]
            for term in label.split(LABEL_SEPARATOR)
            for word in term.split(" ")
        } | {word for term in result.cluster_terms["term"] for word in term.split(" ")}
        assert words and not words & stopwords


def test_synthetic_two_groups_are_recovered(synthetic):
    clusters = synthetic.clusters.merge(synthetic_items(), on=["doc_id", "item_seq"])
    assert int(synthetic.k_selection.query("chosen")["k"].iloc[0]) == 2
    is_sport = clusters["text"].map(lambda text: any(word in text for word in SPORT))
    assert is_sport.groupby(clusters["cluster"]).nunique().eq(1).all()  # each cluster is one group
    assert clusters["cluster"].nunique() == 2
    summary = synthetic.cluster_summary.set_index("cluster")
    assert set(summary["theme"]) == {"体育", "数字化"}
    assert (summary["stability"] == 1.0).all() and (summary["seed_stability"] == 1.0).all()
    assert (synthetic.stability.query("k == 2")["ari"] == 1.0).all()


def test_stability_table_covers_every_k_run_and_cluster(tables, paths):
    stability = tables.stability
    params = ClusterParams.from_yaml(paths.params / "clusters.yaml")
    chosen = int(tables.solution["k"].iloc[0])
    runs = stability.drop_duplicates(["k", "run"])
    assert runs.query("kind == 'subsample'").groupby("k").size().to_dict() == dict.fromkeys(
        tables.k_selection["k"], params.stability_subsamples)
    assert runs.query("kind == 'seed'").groupby("k").size().to_dict() == {chosen: params.stability_seeds}
    for k, group in stability.groupby("k"):
        assert set(group["cluster"]) == set(range(1, k + 1))
    assert stability["jaccard"].between(0, 1).all() and stability["ari"].le(1).all()
    assert set(stability.query("k == @chosen")["cluster"]) == set(tables.cluster_summary["cluster"])
    assert tables.cluster_summary["stability"].between(0, 1).all()


def test_renumber_by_size_then_first_row():
    assert renumber(np.array([5, 5, 9, 9, 9, 2, 2])).tolist() == [2, 2, 1, 1, 1, 3, 3]
    assert renumber(np.array([7, 3, 3, 7])).tolist() == [1, 2, 2, 1]


def test_best_jaccard():
    reference = np.array([1, 1, 1, 2, 2, 2])
    assert best_jaccard(reference, np.array([0, 0, 0, 1, 1, 1])) == {1: 1.0, 2: 1.0}
    assert best_jaccard(reference, np.array([0, 0, 1, 1, 1, 1])) == {1: 2 / 3, 2: 0.75}


def test_word_ngrams():
    assert word_ngrams(["甲", "乙", "丙"], (1, 2)) == ["甲", "乙", "丙", "甲 乙", "乙 丙"]
    assert word_ngrams(["甲"], (2, 2)) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"k_mni": 3}, "unknown override(s) k_mni"),
        ({"k_min": 1}, "k_min = 1 must be an integer >= 2"),
        ({"k_min": 6, "k_max": 4}, "k_max must be >= k_min"),
        ({"ngram_range": [2, 1]}, "ngram_range"),
        ({"max_df": 1.5}, "max_df = 1.5"),
    ],
)
def test_bad_params_are_reported_with_the_file(paths, overrides, message):
    with pytest.raises(ProjectError, match=r"clusters\.yaml") as error:
        ClusterParams.from_yaml(paths.params / "clusters.yaml", overrides)
    assert message in str(error.value)


def test_none_overrides_keep_the_file_value(paths):
    params = ClusterParams.from_yaml(paths.params / "clusters.yaml", {"k_min": None, "seed": 7})
    assert params.seed == 7 and params.k_min == ClusterParams.from_yaml(paths.params / "clusters.yaml").k_min


def test_unknown_key_in_file_is_rejected(project):
    path = project.params / "clusters.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "n_clusters: 4\n", encoding="utf-8")
    with pytest.raises(ProjectError, match=r"clusters\.yaml: unknown key\(s\) n_clusters"):
        ClusterParams.from_yaml(path)


def test_label_skips_terms_sharing_a_word():
    terms = pd.DataFrame({"cluster": 1, "term": ["家庭教育", "家庭教育 指导", "指导", "导师"], "rank": [1, 2, 3, 4]})
    assert labels_from_terms(terms, 3) == {1: "家庭教育·指导·导师"}


# --- honesty: is there a finding at all? ---------------------------------------------------------


def test_real_seed_clusters_do_not_pass(tables):
    solution = tables.solution.iloc[0]
    assert not solution_passes(tables.solution)
    assert solution["ari"] < solution["ari_min"] == 0.65 and solution["jaccard_min"] == 0.75
    assert not tables.k_selection["passes"].any()  # no k in range is stable, not only the chosen one
    assert tables.cluster_summary["stable"].sum() == solution["n_stable"]
    verdict = cluster_verdict(tables.solution, tables.k_selection)
    assert verdict.startswith("没有稳定的聚类：")
    assert f"ARI {solution['ari']:.2f} < 0.65" in verdict and "No stable clustering" in verdict


def test_two_separated_topics_pass_with_k_2(synthetic):
    assert solution_passes(synthetic.solution)
    solution = synthetic.solution.iloc[0]
    assert (solution["k"], solution["ari"], solution["n_stable"], solution["stable_share"]) == (2, 1.0, 2, 1.0)
    assert synthetic.cluster_summary["stable"].all()
    assert synthetic.k_selection.set_index("k").loc[2, "passes"]
    verdict = cluster_verdict(synthetic.solution, synthetic.k_selection)
    assert verdict.startswith("聚类稳定：k = 2，") and "ARI 1.00 ≥ 0.65" in verdict and "Stable clustering" in verdict


def test_choose_k_ties_within_one_standard_error():
    table = pd.DataFrame({"k": [2, 3, 4, 5], "silhouette": [0.1, 0.3, 0.2, np.nan],
                          "ari": [0.80, 0.78, 0.50, np.nan], "ari_se": [0.03, 0.01, 0.01, np.nan]})
    assert choose_k(table) == 3  # 0.78 is within one SE of 0.80: tied, larger silhouette
    assert choose_k(table.assign(ari_se=[0.01, 0.01, 0.01, np.nan])) == 2
    assert choose_k(table.assign(silhouette=[0.3, 0.3, 0.2, np.nan])) == 2  # silhouette tied too: smaller k


def test_parallel_fits_equal_one_by_one_fits(paths):
    """Fits run side by side on threads; each is single-threaded, so labels cannot depend on that."""
    params = ClusterParams.from_yaml(paths.params / "clusters.yaml")
    matrix = sparse.random(60, 40, density=0.2, format="csr", random_state=3)
    fits = [(k, params.seed + k, np.arange(k, 60)) for k in range(2, 7)]
    alone = [fit_kmeans(matrix[rows], k, random_state, params) for k, random_state, rows in fits]
    together = fit_all(matrix, fits, params)
    assert all(np.array_equal(a, b) for a, b in zip(alone, together, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(together, fit_all(matrix, fits, params), strict=True))


def test_tables_for_the_reports_read_back(tables, tmp_path):
    write_clusters(tables, tmp_path)
    solution = read_csv(tmp_path / CLUSTER_FILES["solution"])
    k_selection = read_csv(tmp_path / CLUSTER_FILES["k_selection"])
    assert solution_passes(solution) is False
    assert cluster_verdict(solution, k_selection) == cluster_verdict(tables.solution, tables.k_selection)
    nearest = read_csv(tmp_path / CLUSTER_FILES["nearest_neighbours"])
    for doc_id in nearest["doc_id"].unique():
        assert neighbour_verdict(nearest, doc_id, 0.8) == neighbour_verdict(tables.nearest_neighbours, doc_id, 0.8)


# --- plan similarity with uncertainty ---------------------------------------------------------------


def test_nearest_neighbour_shares(tables):
    nearest = tables.nearest_neighbours
    assert list(nearest.columns) == ["doc_id", "neighbour", "rank", "similarity", "share_nearest"]
    assert nearest.groupby("doc_id")["rank"].apply(list).map([1, 2, 3, 4].__eq__).all()  # all 4 others
    assert np.allclose(nearest.groupby("doc_id")["share_nearest"].sum(), 1.0)
    assert nearest.groupby("doc_id")["similarity"].is_monotonic_decreasing.all()
    pairs = tables.doc_similarity.set_index(["doc_a", "doc_b"])["similarity"]
    assert (nearest["similarity"].to_numpy() == pairs.loc[list(zip(nearest["doc_id"], nearest["neighbour"],
                                                                    strict=True))].to_numpy()).all()


def test_nearest_plan_of_chengzhong_is_uncertain(tables):
    top = similar_plans_with_uncertainty(tables.nearest_neighbours, "chengzhong_2024").iloc[0]
    assert top["share_nearest"] < 0.8
    verdict = neighbour_verdict(tables.nearest_neighbours, "chengzhong_2024", 0.8, {top["neighbour"]: "某区 2024"})
    assert verdict.startswith(f"最相似的计划不确定：某区 2024（余弦 {top['similarity']:.3f}）")
    assert f"只在 {top['share_nearest']:.1%} 的条目重抽样中最相似" in verdict  # as the table: one decimal


def test_resample_weights_draw_each_plan_from_its_own_items():
    plan_of = np.array([0, 0, 0, 1, 1, 2])
    weights = resample_weights(plan_of, 50, 7)
    assert weights.shape == (50, 6) and np.array_equal(weights, resample_weights(plan_of, 50, 7))
    assert (weights[:, :3].sum(axis=1) == 3).all() and (weights[:, 3:5].sum(axis=1) == 2).all()
    assert (weights[:, 5] == 1).all() and (weights[:, :3].std(axis=0) > 0).all()


def test_unit_weights_reproduce_the_plan_cosine():
    item_weights = sparse.random(30, 50, density=0.3, format="csr", random_state=5)
    plan_of = np.repeat(np.arange(6), 5)
    cosine = plan_cosine(item_weights, plan_of)
    partners = np.array([[p for p in range(6) if p != plan][:3] for plan in range(6)])
    unit = partner_cosines(item_weights, plan_of, partners, np.ones((1, 30)))[:, :, 0]
    assert np.allclose(unit, np.take_along_axis(cosine, partners, axis=1))


def test_clear_and_tied_nearest_neighbours(paths):
    """Plans a and b share their terms, c shares none: a's nearest is b in every resample; c is as
    far from a as from b, so each tied resample is split and the nearest plan is uncertain."""
    params = ClusterParams.from_yaml(paths.params / "clusters.yaml")
    rows = [[2, 1, 0, 0], [3, 0, 1, 0], [2, 1, 0, 0], [3, 1, 0, 0], [2, 0, 1, 0], [2, 1, 0, 0],
            [0, 0, 0, 1], [0, 0, 0, 2], [0, 0, 0, 1]]
    item_weights, plan_of = sparse.csr_matrix(np.array(rows, dtype=float)), np.repeat(np.arange(3), 3)
    plans = pd.DataFrame({"doc_id": ["a", "b", "c"]})
    nearest = nearest_neighbours(plans, item_weights, plan_of, plan_cosine(item_weights, plan_of), params)
    assert similar_plans_with_uncertainty(nearest, "a")["share_nearest"].tolist() == [1.0, 0.0]
    assert similar_plans_with_uncertainty(nearest, "c")["share_nearest"].tolist() == [0.5, 0.5]
    assert neighbour_verdict(nearest, "a", 0.8, {"b": "乙区 2024"}).startswith("最相似的计划是 乙区 2024")
    assert neighbour_verdict(nearest, "c", 0.8).startswith("最相似的计划不确定：a（余弦 0.000）只在 50.0%")


def test_an_empty_numeric_column_reads_back_as_float(tmp_path):
    """ari_se is empty when each k has one refit (stability_runs_large); it must stay a float column."""
    from analysis.files import read_csv, write_csv_atomic

    write_csv_atomic(tmp_path / "k.csv", pd.DataFrame({"k": [2, 3], "ari_se": [None, None], "n": [1, None]}))
    frame = read_csv(tmp_path / "k.csv")
    assert frame["ari_se"].dtype == "float64" and frame["ari_se"].isna().all()
    assert str(frame["n"].dtype) == "Int64"


def test_verdict_names_the_most_stable_k_and_the_tie_break():
    """The seed run's numbers: k = 9 has the highest mean ARI; 11 and 12 are within one SE; 12 wins
    on silhouette. The verdict must not call 12 the most stable."""
    ks = pd.DataFrame({"k": [8, 9, 10, 11, 12], "silhouette": [0.0388, 0.0335, 0.0419, 0.0397, 0.0464],
                       "ari": [0.1979, 0.2352, 0.1723, 0.2288, 0.2239],
                       "ari_se": [0.0141, 0.0137, 0.0102, 0.0142, 0.0176],
                       "chosen": [False, False, False, False, True]})
    solution = pd.DataFrame([{"k": 12, "silhouette": 0.0464, "ari": 0.2239, "ari_min": 0.65, "jaccard_min": 0.75,
                              "n_stable": 0, "stable_share": 0.0, "passes": False}])
    assert choose_k(ks) == 12
    verdict = cluster_verdict(solution, ks)
    assert "稳定性（子样本平均 ARI）最高的是 k = 9（平均 ARI 0.235 ± 0.014）" in verdict
    assert "k = 9、11、12 视为并列" in verdict and "取轮廓系数最大者" in verdict and "即 k = 12" in verdict
    assert "The most stable k is k = 9" in verdict and "ties go to the largest silhouette" in verdict
    assert "最稳定的 k = 12" not in verdict
    alone = cluster_verdict(solution, ks.assign(ari=[0.1, 0.1, 0.1, 0.1, 0.3]))
    assert "稳定性最高的是 k = 12（平均 ARI 0.300 ± 0.018），即所选的 k。" in alone
