"""Cluster stage: determinism, coverage, similarity, recovery of obvious groups, clean labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.clusters import (
    CLUSTER_FILES,
    LABEL_SEPARATOR,
    ClusterParams,
    best_jaccard,
    build_clusters,
    labels_from_terms,
    renumber,
    similarity_matrix,
    word_ngrams,
    write_clusters,
)
from analysis.files import csv_bytes
from analysis.paths import ProjectError
from analysis.tokenize import load_segmenter

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
def tables(corpus, paths):
    return build_clusters(corpus.items, paths.params)


@pytest.fixture(scope="module")
def synthetic(paths):
    return build_clusters(synthetic_items(), paths.params, SYNTHETIC_OVERRIDES, count_hits)


def test_two_runs_write_identical_files(tables, corpus, paths, tmp_path):
    again = build_clusters(corpus.items.sample(frac=1, random_state=1), paths.params)  # order-free
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


def test_k_selection_reports_every_k_and_picks_the_best(tables):
    ks = tables.k_selection
    assert ks["chosen"].sum() == 1
    best = ks.loc[ks["chosen"]].iloc[0]
    assert best["silhouette"] == ks["silhouette"].max()
    assert best["k"] == ks.loc[ks["silhouette"] == ks["silhouette"].max(), "k"].min()


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
    assert (synthetic.stability["ari"] == 1.0).all()


def test_stability_table_covers_every_run_and_cluster(tables, paths):
    stability = tables.stability
    params = ClusterParams.from_yaml(paths.params / "clusters.yaml")
    runs = stability.drop_duplicates("run")
    assert runs["kind"].value_counts().to_dict() == {
        "subsample": params.stability_subsamples, "seed": params.stability_seeds
    }
    assert stability["jaccard"].between(0, 1).all() and stability["ari"].le(1).all()
    assert set(stability["cluster"]) == set(tables.cluster_summary["cluster"])
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
