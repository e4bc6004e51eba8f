"""Coword stage: each item's plan terms (item_tokens.csv) and the co-word networks built from them.

The stage (`run_stage`, params/explore.yaml) segments every numbered item once into plan terms (no
stopwords, place names or numerals) and builds co-word networks of the most used terms for every
plan, each plan set of params/report.yaml and each plan (coword_nodes.csv, coword_edges.csv; GEXF
and GraphML for Gephi in data/processed/coword/). Word frequencies, collocates and the concordance
of any query term are views on these tables (analysis.views.explore, analysis.publish.kwic).
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.files import write_bytes_atomic, write_tables
from analysis.params import Params
from analysis.params.explore import ExploreParams
from analysis.params.report import DEFAULT_SET, ReportParams
from analysis.paths import Paths
from analysis.stages.dataset import CorpusTables
from analysis.stages.plansets import plan_set
from analysis.text.dictionary import longest_first
from analysis.text.textstats import token_lists
from analysis.text.tokenize import NOT_POLICY_TERMS, Segmenter, load_segmenter, word_classes

POOLED = "all"  # scope over every plan of the run (word frequencies: over the plans asked for)
SET_PREFIX = "set_"  # scope of a plan set of params/report.yaml: set_default, set_y2024
TOKEN_COLUMNS = ["doc_id", "item_seq", "tokens"]
NODE_COLUMNS = ["scope", "term", "items", "count", "community", "degree"]
EDGE_COLUMNS = ["scope", "source", "target", "count", "weight", "jaccard", "pmi"]
COWORD_FOLDER = "coword"  # under data/processed: <scope>.gexf and <scope>.graphml for Gephi


def place_names(documents: pd.DataFrame, extra: Iterable[str] = ()) -> frozenset[str]:
    """District and region names of the manifest (a region without 省/市/自治区) plus `extra`."""
    regions = documents["region"].astype(str).str.replace(r"(省|市|自治区)$", "", regex=True)
    return frozenset(n for n in {*documents["district"].astype(str), *regions, *extra} if n)


def place_pattern(places: Iterable[str]) -> re.Pattern:
    """One alternation of the place names `places` (longest first), matching nothing when empty."""
    return longest_first(set(places)) if places else re.compile(r"(?!)")


NUMERAL = re.compile(r"^[0-9〇零一二三四五六七八九十百千万两]+[大年届]?$")  # 十三五, 二十大, 三年
PLACE_SUFFIX = "区县市"  # 宝山区, 西宁市: a place name (class ns) with its level


def plan_term(token: str, places: re.Pattern, classes: dict[str, str]) -> bool:
    """Whether a content token is a plan term: not a place (jieba word class ns, such a name with
    区/县/市 after it, or containing a name of `places`, an alternation of district, region and
    listed names) and not a numeral (class m: the 十三 of 十三五; 十三五, 二十大 as a whole)."""
    place = token[-1:] in PLACE_SUFFIX and classes.get(token[:-1]) == "ns"
    return (classes.get(token) not in NOT_POLICY_TERMS and not places.search(token) and not place
            and not NUMERAL.match(token))


def item_tokens(items: pd.DataFrame, segmenter: Segmenter, places: frozenset[str]) -> pd.DataFrame:
    """Each numbered item's plan terms in text order — the segmenter's content tokens (no stopwords,
    punctuation, numbers, single characters) that are `plan_term`s — space-joined: doc_id,
    item_seq, tokens. Items are segmented here once; frequencies, networks and collocates reuse it."""
    classes, verdict, pattern = word_classes(), {}, place_pattern(places)
    rows = [
        (doc_id, int(item_seq), " ".join(t for t in segmenter.tokens(text)
                                         if verdict.setdefault(t, plan_term(t, pattern, classes))))
        for doc_id, item_seq, text in zip(items["doc_id"], items["item_seq"], items["text"], strict=True)
    ]
    return pd.DataFrame(rows, columns=TOKEN_COLUMNS).sort_values(["doc_id", "item_seq"], ignore_index=True)


def coword_network(tokens: pd.DataFrame, params: ExploreParams, scope: str = POOLED) -> tuple[pd.DataFrame,
                                                                                               pd.DataFrame]:
    """Co-word network of the `top_n` plan terms used by most items of `tokens`: two terms are
    linked by the number of items using both (`count` >= `min_count`), with Jaccard (count over
    items using either) and PMI (log2 of count × items / (items_a × items_b)); `weight` is the
    `measure` (a PMI network keeps only links with PMI > 0). Louvain communities (weight, `seed`),
    numbered by size. Returns (nodes, edges) as NODE_COLUMNS / EDGE_COLUMNS, sorted."""
    import networkx as nx
    from scipy.sparse import csr_matrix

    lists = token_lists(tokens)
    sets = [sorted(set(terms)) for terms in lists]
    items_of = Counter(t for terms in sets for t in terms)
    count_of = Counter(t for terms in lists for t in terms)
    terms = sorted(items_of, key=lambda t: (-items_of[t], t))[:params.top_n]
    index = {t: i for i, t in enumerate(terms)}
    cells = [(row, index[t]) for row, chosen in enumerate(sets) for t in chosen if t in index]
    rows, columns = (np.array(c, dtype=int) for c in zip(*cells, strict=True)) if cells else (np.zeros(0, int),) * 2
    matrix = csr_matrix((np.ones(len(rows), dtype=np.int64), (rows, columns)), shape=(len(sets), len(terms)))
    pairs = (matrix.T @ matrix).tocoo()
    keep = (pairs.row < pairs.col) & (pairs.data >= params.min_count)
    a, b, together = pairs.row[keep], pairs.col[keep], pairs.data[keep].astype(float)
    df = np.array([items_of[t] for t in terms], dtype=float)
    names = np.array(terms, dtype=object)
    edges = pd.DataFrame({
        "scope": scope, "source": np.minimum(names[a], names[b]), "target": np.maximum(names[a], names[b]),
        "count": together.astype(int), "jaccard": (together / (df[a] + df[b] - together)).round(4),
        "pmi": np.log2(together * len(sets) / (df[a] * df[b])).round(4),
    }, columns=[c for c in EDGE_COLUMNS if c != "weight"])
    edges.insert(4, "weight", edges[params.measure])
    edges = edges[edges["weight"] > 0].sort_values(["weight", "count", "source", "target"],
                                                   ascending=[False, False, True, True], ignore_index=True)
    graph = nx.Graph()
    graph.add_nodes_from(terms)
    graph.add_weighted_edges_from(zip(edges["source"], edges["target"], edges["weight"], strict=True))
    found = nx.community.louvain_communities(graph, weight="weight", seed=params.seed) if terms else []
    ranked = sorted((sorted(c) for c in found), key=lambda c: (-len(c), c[0]))
    community = {t: number for number, members in enumerate(ranked, 1) for t in members}
    nodes = pd.DataFrame({
        "scope": scope, "term": terms, "items": [items_of[t] for t in terms], "count": [count_of[t] for t in terms],
        "community": [community[t] for t in terms], "degree": [graph.degree(t) for t in terms],
    }, columns=NODE_COLUMNS)
    return nodes.sort_values(["community", "items", "term"], ascending=[True, False, True], ignore_index=True), edges


def network_graph(nodes: pd.DataFrame, edges: pd.DataFrame):
    """A networkx Graph of one scope's nodes and edges, every column an attribute (plain Python
    types, as the GEXF and GraphML writers need)."""
    import networkx as nx

    graph = nx.Graph()
    for row in nodes.itertuples(index=False):
        graph.add_node(row.term, label=row.term, items=int(row.items), count=int(row.count),
                       community=int(row.community), degree=int(row.degree))
    for row in edges.itertuples(index=False):
        graph.add_edge(row.source, row.target, weight=float(row.weight), count=int(row.count),
                       jaccard=float(row.jaccard), pmi=float(row.pmi))
    return graph


def network_files(nodes: pd.DataFrame, edges: pd.DataFrame) -> dict[str, bytes]:
    """{"gexf": …, "graphml": …} of `network_graph`, byte for byte the same every run (the GEXF
    writer's lastmodifieddate, today's date, is left out)."""
    import networkx as nx

    graph, files = network_graph(nodes, edges), {}
    for extension, writer in (("gexf", nx.write_gexf), ("graphml", nx.write_graphml)):
        buffer = io.BytesIO()
        writer(graph, buffer)
        files[extension] = buffer.getvalue()
    files["gexf"] = re.sub(rb' lastmodifieddate="[^"]*"', b"", files["gexf"], count=1)
    return files


def network_scopes(documents: pd.DataFrame, report: ReportParams) -> dict[str, list[str]]:
    """Scope name → doc_ids: every plan ("all"), each plan set of params/report.yaml (set_default,
    set_<name>) and each plan on its own (its doc_id)."""
    sets = [DEFAULT_SET, *sorted(report.sets)]
    every = sorted(documents["doc_id"])
    return {POOLED: every, **{SET_PREFIX + name: plan_set(documents, name, report) for name in sets},
            **{doc_id: [doc_id] for doc_id in every}}


def coword_tables(tokens: pd.DataFrame, scopes: dict[str, list[str]],
                  params: ExploreParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The co-word network of every scope, as one long nodes table and one long edges table."""
    by_plan = dict(tuple(tokens.groupby("doc_id", sort=False)))
    empty = tokens.iloc[:0]
    built = [coword_network(pd.concat([by_plan.get(d, empty) for d in doc_ids]) if doc_ids else empty, params, scope)
             for scope, doc_ids in scopes.items()]
    return (pd.concat([n for n, _ in built], ignore_index=True),
            pd.concat([e for _, e in built], ignore_index=True))


def graph_scopes(scopes: dict[str, list[str]], max_plans: int) -> list[str]:
    """The scopes written as GEXF/GraphML: "all" and the plan sets always, single plans only when
    the run has at most `max_plans` plans (at 1,000 plans the files would cost ~30 s; every plan's
    network is in the CSVs anyway, and `network_files` exports one on demand)."""
    plans = [scope for scope in scopes if scope != POOLED and not scope.startswith(SET_PREFIX)]
    return [scope for scope in scopes if scope not in plans or len(plans) <= max_plans]


def run_stage(tables: CorpusTables, params: Params, paths: Paths, out: Path) -> list[str]:
    """The pipeline's coword stage (analysis.stages.registry): item_tokens.csv, coword_nodes.csv,
    coword_edges.csv and coword/<scope>.gexf and .graphml (see `graph_scopes`)."""
    explore = params.explore
    places = place_names(tables.documents, explore.place_names)
    tokens = item_tokens(tables.items, load_segmenter(params.folder), places)
    scopes = network_scopes(tables.documents, params.report)
    nodes, edges = coword_tables(tokens, scopes, explore)
    write_tables(out, {"item_tokens.csv": tokens, "coword_nodes.csv": nodes, "coword_edges.csv": edges})
    node_groups, edge_groups = dict(tuple(nodes.groupby("scope"))), dict(tuple(edges.groupby("scope")))
    for scope in graph_scopes(scopes, explore.graph_files_max_plans):
        files = network_files(node_groups.get(scope, nodes.iloc[:0]), edge_groups.get(scope, edges.iloc[:0]))
        for extension, data in files.items():
            write_bytes_atomic(out / COWORD_FOLDER / f"{scope}.{extension}", data)
    return []
