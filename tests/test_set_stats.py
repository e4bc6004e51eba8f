"""Per-set statistics (issue 21 §3): a comparison page's clusters and nearest plans are computed on
the set's plans only. The real seed plans, a 3-plan set, cheap cluster settings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from analysis.params.report import PlanSet
from analysis.stages.clusters import build_clusters
from analysis.stages.set_clusters import SET_FILES, set_tables
from analysis.views.data import ReportData
from analysis.views.similarity import cluster_verdict_html, nearest_plans, page_set, similar_plans, within_set
from support import project_params

TRIO = ("chengzhong_2024", "yangpu_2024", "zhoushan_2024")


@pytest.fixture(scope="module")
def trio(corpus, paths):
    """The set tables of `default` (all five plans) and the 3-plan set `trio`, and a ReportData
    holding them."""
    params = project_params(sets={"trio": PlanSet("trio", None, doc_ids=TRIO)})
    params = replace(params, clusters=replace(params.clusters, k_max=4, stability_subsamples=4, stability_seeds=2,
                                              neighbour_resamples=100))
    tables = set_tables(corpus.items, corpus.documents, params)
    frames = {name.removesuffix(".csv"): frame for name, frame in tables.items()}
    data = ReportData(paths, params, "synthetic", {"documents": corpus.documents, **frames})
    return params, tables, data


def test_a_sets_statistics_use_only_its_plans(trio, corpus):
    params, tables, _ = trio
    nearest = tables[SET_FILES["nearest_neighbours"]]
    mine = nearest[nearest["set"] == "trio"]
    assert set(mine["doc_id"]) == set(mine["neighbour"]) == set(TRIO)  # never 闵行 2017 or 宝山 2023
    assert mine.groupby("doc_id")["share_nearest"].sum().round(6).eq(1).all()
    everyone = nearest[nearest["set"] == "default"]
    assert "minhang_2017" in set(everyone.loc[everyone["doc_id"] == "yangpu_2024", "neighbour"])
    alone = build_clusters(corpus.items[corpus.items["doc_id"].isin(TRIO)], params)
    solution = tables[SET_FILES["solution"]]
    assert solution[solution["set"] == "trio"].drop(columns="set").reset_index(drop=True).equals(alone.solution)
    ks = tables[SET_FILES["k_selection"]]
    assert ks[ks["set"] == "trio"].drop(columns="set").reset_index(drop=True).equals(alone.k_selection)
    assigned = tables[SET_FILES["clusters"]]
    assert (assigned["set"] == "trio").sum() == corpus.documents.set_index("doc_id").loc[list(TRIO), "n_items"].sum()


def test_the_comparison_page_of_a_set_reads_the_sets_rows(trio, corpus):
    _, tables, data = trio
    assert page_set(data, list(TRIO)) == "trio" and page_set(data, ["yangpu_2024"]) is None
    shown = nearest_plans(data, list(TRIO))
    rows = tables[SET_FILES["nearest_neighbours"]]
    rows = rows[(rows["set"] == "trio") & (rows["rank"] == 1)]
    assert list(shown["最相似的重抽样占比 nearest in resamples"]) == [f"{v:.1%}" for v in rows["share_nearest"]]
    n_items = int(corpus.documents.set_index("doc_id").loc[list(TRIO), "n_items"].sum())
    assert f"在 {n_items} 个条目上聚类" in cluster_verdict_html(data, list(TRIO)).data
    assert n_items == 72
    assert list(zip(rows["neighbour"], rows["similarity"], rows["share_nearest"], strict=True)) == [
        ("yangpu_2024", 0.296035, 0.52), ("zhoushan_2024", 0.331933, 0.82), ("yangpu_2024", 0.331933, 0.79)]


def test_a_district_page_reads_its_sets_nearest_plans(trio):
    from analysis.views.pages import district

    params, tables, data = trio
    everyone = {name.removesuffix(".csv").removeprefix("set_"): frame[frame["set"] == "default"].drop(columns="set")
                for name, frame in tables.items()}  # the five plans: the corpus-wide tables of the run
    data = ReportData(data.paths, params, "synthetic", {**data.tables, **everyone})
    wide = data.nearest_neighbours[data.nearest_neighbours["doc_id"] == "yangpu_2024"].set_index("rank")
    assert "minhang_2017" in set(wide["neighbour"])
    # within the trio (test above) 杨浦's nearest plan is 舟山 2024, nearest in 82 % of the resamples
    assert (wide.loc[1, "neighbour"], wide.loc[1, "share_nearest"]) != ("zhoushan_2024", 0.82)  # corpus-wide differs
    shown = similar_plans(data, "yangpu_2024", within_set(data, "yangpu_2024", list(TRIO)))
    assert shown.values.tolist() == [["舟山 2024", 0.332, "82.0%"], ["城中 2024", 0.296, shown.iloc[1, 2]]]
    scope, verdict, candidates = district.similar(data, "yangpu_2024", list(TRIO))
    assert "比较集（trio）的 3 份计划" in scope.data and "闵行" not in verdict.data + candidates.data
    assert "82.0%" in candidates.data
    scope, *_ = district.similar(data, "minhang_2017", list(TRIO))  # not in the set: said, all plans of the run
    assert "全部 5 份计划" in scope.data and within_set(data, "minhang_2017", list(TRIO)) is None
    assert "比较集（trio）" in district.clusters(data, "yangpu_2024", list(TRIO))[0].data
