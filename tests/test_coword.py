"""Plan terms: co-word networks and their Gephi exports, word frequencies, collocates (analysis.stages.coword)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from analysis.files import read_csv
from analysis.params.explore import ExploreParams
from analysis.params.report import PlanSet
from analysis.paths import Paths, ProjectError
from analysis.stages.coword import coword_network, item_tokens, network_files, place_names
from analysis.text.textstats import collocates
from analysis.views.explore import word_frequencies
from support import project_params

PARAMS = ExploreParams(top_n=10, min_count=1, measure="jaccard", seed=42, graph_files_max_plans=30,
                       place_names=(), collocate_window=1, collocate_min_count=1)
# Two plans, five items: 甲 乙 丙 always together; 丁 戊 together; 丙 once with 丁.
TOKENS = pd.DataFrame({
    "doc_id": ["a", "a", "a", "b", "b"],
    "item_seq": [1, 2, 3, 1, 2],
    "tokens": ["甲 乙 丙 甲", "甲 乙 丙", "丁 戊", "丁 戊 丙", ""],
})


def test_coword_network_counts_items_and_scores_pairs() -> None:
    nodes, edges = coword_network(TOKENS, PARAMS, "x")
    assert nodes.set_index("term")[["items", "count"]].to_dict("index") == {
        "甲": {"items": 2, "count": 3}, "乙": {"items": 2, "count": 2}, "丙": {"items": 3, "count": 3},
        "丁": {"items": 2, "count": 2}, "戊": {"items": 2, "count": 2}}
    pairs = {(r.source, r.target): r for r in edges.itertuples()}
    assert set(pairs) == {("乙", "甲"), ("丙", "甲"), ("丙", "乙"), ("丁", "戊"), ("丁", "丙"), ("丙", "戊")}
    assert pairs["乙", "甲"].count == 2 and pairs["乙", "甲"].jaccard == 1.0  # 2 / (2 + 2 - 2)
    assert pairs["丙", "甲"].jaccard == round(2 / 3, 4)  # 2 / (2 + 3 - 2)
    assert pairs["丁", "丙"].pmi == round(math.log2(1 * 5 / (2 * 3)), 4)  # 5 items in all
    assert (edges["weight"] == edges["jaccard"]).all() and (edges["scope"] == "x").all()
    community = nodes.set_index("term")["community"]
    assert community["甲"] == community["乙"] == community["丙"] != community["丁"] == community["戊"]
    assert sorted(nodes["community"].unique()) == [1, 2]
    assert nodes.set_index("term")["degree"].to_dict() == {"甲": 2, "乙": 2, "丙": 4, "丁": 2, "戊": 2}


def test_coword_network_keeps_top_terms_frequent_pairs_and_positive_pmi() -> None:
    nodes, edges = coword_network(TOKENS, replace(PARAMS, top_n=2, min_count=2), "x")
    assert set(nodes["term"]) == {"丙", "丁"}  # 丙: 3 items; then 丁 甲 乙 戊 with 2, ties by term
    assert edges.empty  # 丙 and 丁 share one item only
    _, edges = coword_network(TOKENS, replace(PARAMS, measure="pmi"), "x")
    assert (edges["weight"] == edges["pmi"]).all() and (edges["pmi"] > 0).all()
    assert ("丁", "丙") not in set(zip(edges["source"], edges["target"], strict=True))  # pmi log2(5/6) < 0
    nodes, edges = coword_network(TOKENS.iloc[4:], PARAMS, "empty")
    assert nodes.empty and edges.empty


def test_gexf_and_graphml_hold_exactly_the_csv_network(tmp_path: Path) -> None:
    nodes, edges = coword_network(TOKENS, PARAMS, "x")
    files = network_files(nodes, edges)
    assert network_files(nodes, edges) == files and b"lastmodifieddate" not in files["gexf"]  # deterministic
    for extension, reader in (("gexf", nx.read_gexf), ("graphml", nx.read_graphml)):
        (tmp_path / f"x.{extension}").write_bytes(files[extension])
        assert_graph_equals_tables(reader(tmp_path / f"x.{extension}"), nodes, edges)


def assert_graph_equals_tables(graph: nx.Graph, nodes: pd.DataFrame, edges: pd.DataFrame) -> None:
    """The graph's nodes, edges and their attributes are the rows of the node and edge CSVs."""
    label = {n: graph.nodes[n].get("label", n) for n in graph}  # GEXF ids are the terms, label too
    assert sorted(label.values()) == sorted(nodes["term"])
    for row in nodes.itertuples():
        attributes = graph.nodes[next(n for n in graph if label[n] == row.term)]
        assert (int(attributes["items"]), int(attributes["community"])) == (row.items, row.community)
    found = {tuple(sorted((label[u], label[v]))): d for u, v, d in graph.edges(data=True)}
    assert set(found) == {tuple(sorted(p)) for p in zip(edges["source"], edges["target"], strict=True)}
    for row in edges.itertuples():
        data = found[tuple(sorted((row.source, row.target)))]
        assert float(data["weight"]) == row.weight and int(data["count"]) == row.count


def test_word_frequencies_count_per_plan_and_pooled() -> None:
    table = word_frequencies(TOKENS, ["a", "b"], top_n=2)
    assert table.to_dict("records") == [
        {"scope": "a", "rank": 1, "term": "甲", "count": 3, "items": 2},
        {"scope": "a", "rank": 2, "term": "丙", "count": 2, "items": 2},
        {"scope": "b", "rank": 1, "term": "丁", "count": 1, "items": 1},
        {"scope": "b", "rank": 2, "term": "丙", "count": 1, "items": 1},
        {"scope": "all", "rank": 1, "term": "丙", "count": 3, "items": 3},
        {"scope": "all", "rank": 2, "term": "甲", "count": 3, "items": 2},
    ]
    assert set(word_frequencies(TOKENS, ["b"], 5)["scope"]) == {"b", "all"}


def test_collocates_match_a_hand_computed_table() -> None:
    # Items "a b c" and "b a d a", term a, window 1: window positions {b} and {b, d} (the a's excluded),
    # 3 of 7 tokens; b: observed 2 of frequency 2, expected 3 × 2 / 7.
    tokens = pd.DataFrame({"doc_id": ["p", "p"], "item_seq": [1, 2], "tokens": ["a b c", "b a d a"]})
    table = collocates(tokens, "a", window=1, min_count=1).set_index("collocate")
    assert list(table.index) == ["b", "d"]  # c is outside every window
    b = table.loc["b"]
    assert (b.observed, b.frequency, b.window_tokens, b.tokens) == (2, 2, 3, 7)
    assert b.expected == round(6 / 7, 3) and b.pmi == round(math.log2(2 / (6 / 7)), 4)
    cells = [(2, 6 / 7), (1, 3 - 6 / 7), (0, 2 - 6 / 7), (4, 7 - 3 - 2 + 6 / 7)]  # observed, expected
    g2 = 2 * sum(o * math.log(o / e) for o, e in cells if o)
    assert b.g2 == pytest.approx(g2, abs=1e-4)
    assert collocates(tokens, "a", window=1, min_count=2)["collocate"].tolist() == ["b"]  # seen twice
    assert collocates(tokens, "zzz").empty


def test_item_tokens_drop_places_and_stopwords(paths: Paths) -> None:
    from analysis.text.tokenize import load_segmenter

    documents = pd.DataFrame({"district": ["杨浦"], "region": ["上海市"]})
    items = pd.DataFrame({"doc_id": ["d"], "item_seq": [1],
                          "text": ["杨浦区推进上海市教育数字化转型，深化十三五课后服务。浦东教师培训"]})
    tokens = item_tokens(items, load_segmenter(paths.params), place_names(documents, ["浦东"]))
    terms = tokens.loc[0, "tokens"].split()
    assert {"数字化转型", "课后服务", "教师", "培训"} <= set(terms)  # userdict terms kept whole
    assert not {"杨浦区", "上海市", "浦东", "推进", "深化", "教育", "十三五"} & set(terms)  # places, stopwords, 数词


@pytest.mark.parametrize(("key", "value", "message"), [
    ("measure", "cosine", "measure"), ("top_n", 1, "top_n"), ("min_count", True, "min_count"),
    ("place_names", "浦东", "place_names"), ("graph_files_max_plans", -1, "graph_files_max_plans"),
])
def test_explore_params_are_checked(tmp_path: Path, paths: Paths, key: str, value, message: str) -> None:
    import yaml

    data = yaml.safe_load((paths.params / "explore.yaml").read_text(encoding="utf-8"))
    path = tmp_path / "explore.yaml"
    path.write_text(yaml.safe_dump({**data, key: value}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProjectError, match=message):
        ExploreParams.from_yaml(path)


def test_check_reports_a_bad_explore_yaml_before_any_work(project: Paths) -> None:
    from support import cli

    path = project.params / "explore.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("measure: jaccard", "measure: cosine"), encoding="utf-8")
    result = cli("--root", str(project.root), "check")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and f"{path}: measure" in result.stderr
    assert not project.processed.exists() or not any(project.processed.iterdir())


def test_the_coword_stage_writes_tokens_networks_and_gephi_files(published: Paths) -> None:
    tokens = read_csv(published.processed / "item_tokens.csv")
    items = read_csv(published.processed / "items.csv")
    assert len(tokens) == len(items)
    nodes, edges = (read_csv(published.processed / f"coword_{n}.csv") for n in ("nodes", "edges"))
    assert set(nodes["scope"]) == {"all", "set_default", "yangpu_2024", "zhoushan_2024"}
    params = ExploreParams.from_yaml(published.params / "explore.yaml")
    again = coword_network(tokens[tokens["doc_id"] == "yangpu_2024"], params, "yangpu_2024")
    mine = nodes[nodes["scope"] == "yangpu_2024"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, again[0], check_dtype=False)
    for scope in ("all", "yangpu_2024"):
        scope_nodes, scope_edges = nodes[nodes["scope"] == scope], edges[edges["scope"] == scope]
        assert len(scope_edges) > 0
        for extension, reader in (("gexf", nx.read_gexf), ("graphml", nx.read_graphml)):
            assert_graph_equals_tables(reader(published.processed / "coword" / f"{scope}.{extension}"),
                                       scope_nodes, scope_edges)


def test_kwic_collocates_prints_and_writes_them(published: Paths, tmp_path: Path) -> None:
    import shutil

    from support import cli

    root = tmp_path / "project"
    shutil.copytree(published.root, root, symlinks=True)
    result = cli("--root", str(root), "kwic", "教师", "没有的词", "--plans", "yangpu_2024", "--collocates")
    assert result.returncode == 0, result.stderr
    from analysis.publish.kwic import query_name

    table = read_csv(root / "reports" / "kwic" / f"{query_name(['教师', '没有的词'])}_collocates.csv")
    tokens = read_csv(published.processed / "item_tokens.csv")
    params = ExploreParams.from_yaml(published.params / "explore.yaml")
    expected = collocates(tokens[tokens["doc_id"] == "yangpu_2024"], "教师", params.collocate_window,
                          params.collocate_min_count)
    assert len(table) == len(expected) > 0 and set(table["term"]) == {"教师"}
    assert table["collocate"].tolist() == expected["collocate"].tolist()
    assert f"  {expected.loc[0, 'collocate']}\tobserved {expected.loc[0, 'observed']}" in result.stdout
    assert "collocates of 没有的词: none" in result.stdout


def test_figures_draw_communities_bars_and_a_word_cloud_without_missing_glyphs() -> None:
    import io
    import warnings

    import numpy as np

    from analysis.views.plots import plot_coword_network, plot_top_terms, plot_word_cloud

    nodes, edges = coword_network(TOKENS, PARAMS, "x")
    frequencies = word_frequencies(TOKENS, ["a", "b"], top_n=3)
    pooled = frequencies[frequencies["scope"] == "all"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        network = plot_coword_network(nodes, edges, group="community", strength="count", legend="社群 {}")
        bars = plot_top_terms(pooled, "合并")
        cloud = plot_word_cloud(dict(zip(pooled["term"], pooled["count"], strict=True)))
        for fig in (network, bars, cloud):
            fig.savefig(io.BytesIO(), format="png")
    assert not [w for w in caught if "Glyph" in str(w.message)]
    legend = [t.get_text() for t in network.axes[0].get_legend().get_texts()]
    assert legend == ["社群 1", "社群 2"]
    assert [t.get_text() for t in bars.axes[0].get_yticklabels()] == ["丁", "甲", "丙"]  # most frequent on top
    image = cloud.axes[0].get_images()[0].get_array()
    assert np.asarray(image).std() > 0  # not blank
    again = plot_word_cloud(dict(zip(pooled["term"], pooled["count"], strict=True)))
    assert np.array_equal(np.asarray(again.axes[0].get_images()[0].get_array()), np.asarray(image))  # fixed seed


def test_scopes_cover_every_plan_the_sets_and_each_plan_and_limit_graph_files() -> None:
    from analysis.stages.coword import graph_scopes, network_scopes

    documents = pd.DataFrame({"doc_id": ["b_2024", "a_2023", "a_2024"], "district": ["b", "a", "a"],
                              "year": [2024, 2023, 2024], "completeness": ["complete"] * 3})
    scopes = network_scopes(documents, project_params(sets={"old": PlanSet("old", None, years=(2023,))}).report)
    assert scopes == {"all": ["a_2023", "a_2024", "b_2024"], "set_default": ["a_2024", "b_2024"],
                      "set_old": ["a_2023"], "a_2023": ["a_2023"], "a_2024": ["a_2024"], "b_2024": ["b_2024"]}
    assert graph_scopes(scopes, 3) == list(scopes)
    assert graph_scopes(scopes, 2) == ["all", "set_default", "set_old"]


def test_district_trajectories_keep_districts_with_several_years_and_their_intervals() -> None:
    import io
    import warnings

    from analysis.views.explore import district_trajectories
    from analysis.views.plots import plot_district_trajectories

    documents = pd.DataFrame({"doc_id": ["a_2023", "a_2024", "b_2024"], "district": ["甲区", "甲区", "乙区"],
                              "year": [2023, 2024, 2024], "completeness": ["complete", "truncated", "complete"]})
    counts = pd.DataFrame({
        "doc_id": ["a_2023", "a_2024", "b_2024", "a_2023", "a_2024"],
        "district": ["甲区", "甲区", "乙区", "甲区", "甲区"],
        "year": [2023, 2024, 2024, 2023, 2024], "theme": ["思政", "思政", "思政", "双减", "双减"],
        "applicable": [True, True, True, False, True], "per_10k_chars": [1.0, 2.0, 3.0, 0.0, 4.0],
        "per_10k_low": [0.5, 1.0, 2.0, None, 3.0], "per_10k_high": [1.5, 3.0, 4.0, None, 5.0]})
    table = district_trajectories(counts, documents)
    assert table[["district", "year", "theme", "value", "low", "high"]].values.tolist() == [
        ["甲区", 2023, "思政", 1.0, 0.5, 1.5], ["甲区", 2024, "思政", 2.0, 1.0, 3.0],
        ["甲区", 2024, "双减", 4.0, 3.0, 5.0]]  # 乙区 has one year; 双减 2023 does not apply
    assert district_trajectories(counts, documents, max_districts=0).empty
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plot_district_trajectories(table, "每万字", incomplete=["truncated"])
        fig.savefig(io.BytesIO(), format="png")
    assert not [w for w in caught if "Glyph" in str(w.message)]
    assert [ax.get_title() for ax in fig.axes] == ["思政", "双减"]


def test_network_layout_does_not_depend_on_node_order() -> None:
    """Positions come from the terms, not from the order nodes were added (nor from set order,
    which changes with string hashing between processes: pages would differ run to run)."""
    from analysis.views.plots import _component_layout

    def layout(order: list[str]) -> dict:
        graph = nx.Graph()
        graph.add_nodes_from(order)
        graph.add_edges_from([("甲", "乙"), ("乙", "丙"), ("丙", "甲"), ("丙", "丁")])
        return {node: tuple(xy.round(6)) for node, xy in _component_layout(graph).items()}

    assert layout(["甲", "乙", "丙", "丁"]) == layout(["丁", "丙", "乙", "甲"])
