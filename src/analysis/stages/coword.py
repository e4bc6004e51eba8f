"""Exploration on the published snapshot: a concordance (KWIC) of any term, not only lexicon terms.

`python -m analysis kwic 家校 协同 [--plans yangpu_2024 …] [--window 20]` prints every occurrence with
its plan, its place as printed (条目 二.7, 前言, …) and context, and writes reports/kwic/<query>.csv
and reports/kwic/<query>.html. Each term is searched on its own in the cleaned text
(data/processed/clean/<doc_id>.txt): its count is `text.count(term)` (non-overlapping). `--collocates`
adds each term's collocates within items (`collocates`: G² and PMI against expected counts).

Plan terms: the `coword` stage (`run_stage`, params/explore.yaml) segments every numbered item once
into plan terms (item_tokens.csv: no stopwords, place names or numerals) and builds co-word networks
of the most used terms for every plan, each plan set of params/report.yaml and each plan
(coword_nodes.csv, coword_edges.csv; GEXF and GraphML for Gephi in data/processed/coword/).
Notebook 05 shows them with word frequencies and collocates; notebook 02 the lexicon-term network
(`coword_edges`), yearly medians (`theme_trends`) and district trajectories.
"""

from __future__ import annotations

import io
import json
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.params.loader import load_yaml
from analysis.paths import ProjectError
from analysis.text.stats import log_likelihood, significant
from analysis.text.tokenize import NOT_POLICY_TERMS, word_classes
from analysis.views.evidence import esc, locations

KWIC_FOLDER = "kwic"  # under reports/; ad-hoc query outputs, not part of a run (verify leaves them alone)
COLUMNS = ["doc_id", "district", "year", "term", "where", "location", "item_seq", "section_no", "start",
           "left", "match", "right"]
FULL_WIDTH = str.maketrans({chr(c): chr(c - 0xFEE0) for c in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B),
                                                               *range(0xFF41, 0xFF5B)]})


def normalise_term(term: str) -> str:
    """A query term as cleaning writes text: full-width letters and digits made half-width."""
    return term.strip().translate(FULL_WIDTH)


def query_terms(terms: list[str]) -> list[str]:
    """The distinct non-empty terms of a query, normalised, in the order given."""
    return list(dict.fromkeys(t for t in map(normalise_term, terms) if t))


def query_name(terms: list[str]) -> str:
    """A file name for a query: the terms joined by +, anything but letters, digits, · + - made _."""
    name = re.sub(r"[^\w·+-]", "_", "+".join(terms)).strip("._") or "query"
    return name[:80]


def occurrences(text: str, term: str) -> list[int]:
    """Start offsets of the non-overlapping occurrences of `term` (as `str.count` counts them)."""
    found, at = [], text.find(term)
    while at >= 0:
        found.append(at)
        at = text.find(term, at + len(term))
    return found


def _place(structure, offset: int) -> tuple[str, int | None, int | None]:
    """(where, item_seq, section_no) of an offset of a parsed plan, as kwic.csv gives them."""
    items = structure.items
    at = bisect_right([item.start for item in items], offset) - 1
    if at >= 0 and offset < items[at].end:
        return "item", items[at].item_seq, items[at].section_no
    where, section = structure.locate(offset)
    return where, None, section


def concordance(data, terms: list[str], doc_ids: list[str] | None = None, window: int = 20) -> pd.DataFrame:
    """Every occurrence of each of `terms` in the cleaned text of the plans `doc_ids` (default: all
    plans of the snapshot), one row each with its printed location and ±`window` characters."""
    from analysis.corpus.structure import StructureRules, parse_plan

    terms = query_terms(terms)
    if not terms:
        raise ProjectError("give at least one non-empty term, e.g. `python -m analysis kwic 家校协同`")
    if window < 0:
        raise ProjectError(f"--window must be 0 or more characters, not {window}")
    documents = data.documents.sort_values("doc_id")
    known = list(documents["doc_id"])
    if doc_ids:
        if unknown := [d for d in doc_ids if d not in known]:
            raise ProjectError(f"no plan {', '.join(unknown)} in the processed snapshot; plans: {', '.join(known)}")
        documents = documents[documents["doc_id"].isin(doc_ids)]
    rules = StructureRules.from_yaml(data.paths.params / "structure.yaml")
    rows = []
    for plan in documents.itertuples():
        path = data.paths.clean / f"{plan.doc_id}.txt"
        if not path.is_file():
            raise ProjectError(f"{path}: missing from the processed snapshot; run `make reports` again")
        text = path.read_text(encoding="utf-8")
        structure = parse_plan(text, rules)
        for term in terms:
            for start in occurrences(text, term):
                where, item_seq, section_no = _place(structure, start)
                rows.append({
                    "doc_id": plan.doc_id, "district": plan.district, "year": plan.year, "term": term,
                    "where": where, "item_seq": item_seq, "section_no": section_no, "start": start,
                    "left": text[max(start - window, 0):start].replace("\n", " "), "match": term,
                    "right": text[start + len(term):start + len(term) + window].replace("\n", " "),
                })
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "location"])
    frame = frame.astype({"item_seq": "Int64", "section_no": "Int64", "start": int, "year": int})
    frame = frame.sort_values(["doc_id", "start", "term"], ignore_index=True)
    frame.insert(COLUMNS.index("location"), "location", locations(frame, data.items).astype(str) if len(frame)
                 else pd.Series(dtype=str))
    return frame


def counts(frame: pd.DataFrame, doc_ids: list[str], terms: list[str]) -> pd.DataFrame:
    """Plans × terms: occurrences (zeros included)."""
    table = pd.crosstab(frame["doc_id"], frame["term"]) if len(frame) else pd.DataFrame()
    return table.reindex(index=doc_ids, columns=terms, fill_value=0).fillna(0).astype(int)


def kwic_page(data, frame: pd.DataFrame, terms: list[str], doc_ids: list[str], window: int) -> str:
    """The concordance as a self-contained report page (analysis.views.report.render_page)."""
    from analysis.views.report import plan_names, render_page

    names = plan_names(data.documents)
    table = counts(frame, doc_ids, terms)
    head = "".join(f"<th>{esc(t)}</th>" for t in terms)
    body_rows = "".join(
        f"<tr><td>{esc(names[d])}</td>" + "".join(f"<td>{n}</td>" for n in table.loc[d]) + "</tr>" for d in doc_ids
    )
    parts = [
        f"<h1>语境检索 Concordance：{esc('、'.join(terms))}</h1>",
        f"<p class='meta'>{len(frame)} 处 occurrences in {len(doc_ids)} 份计划 plans · 左右各 {window} 字 characters "
        "of context · 检索清洗后正文 searched in the cleaned text · snapshot "
        f"<code>{esc(data.snapshot[:12])}</code></p>",
        f"<h2>次数 Counts</h2><table><tr><th>计划 plan</th>{head}</tr>{body_rows}</table>",
        "<h2>语境 Concordance</h2>",
    ]
    for doc_id in doc_ids:
        plan = frame[frame["doc_id"] == doc_id]
        lis = "".join(
            f"<li><span class='where'>{esc(r.location)} · {esc(r.term)}</span>…{esc(r.left)}"
            f"<mark>{esc(r.match)}</mark>{esc(r.right)}…</li>" for r in plan.itertuples()
        )
        parts.append(f"<h3>{esc(names[doc_id])}：{len(plan)} 处</h3>"
                     + (f"<ol class='kwic'>{lis}</ol>" if lis else "<p>无 none</p>"))
    manifest = _manifest(data)
    return render_page(f"语境检索 {'、'.join(terms)}", "\n".join(parts), manifest, depth=1, plans=tuple(doc_ids))


def _manifest(data) -> dict:
    """The published run's manifest for the page footer, or a minimal one naming the snapshot."""
    from analysis.publish.verify import MANIFEST
    from analysis.views.report import _version, citation_text

    path = data.paths.reports / MANIFEST
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
    return {"digest": data.snapshot[:12], "git_commit": "unknown", "python": "", "params": {}, "inputs": {},
            "packages": {"analysis": _version("analysis")}, "citation": citation_text(data.paths)}


def run_kwic(data, terms: list[str], doc_ids: list[str] | None = None, window: int = 20,
             out: Path | None = None) -> tuple[pd.DataFrame, Path, Path]:
    """Concordance of `terms`; writes <out>/<query>.csv and .html (out: reports/kwic)."""
    from analysis.files import write_csv_atomic, write_text_atomic

    frame = concordance(data, terms, doc_ids, window)
    shown = sorted(doc_ids) if doc_ids else sorted(data.documents["doc_id"])
    wanted = query_terms(terms)
    out = out or data.paths.reports / KWIC_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    name = query_name(wanted)
    csv, page = out / f"{name}.csv", out / f"{name}.html"
    write_csv_atomic(csv, frame)
    write_text_atomic(page, kwic_page(data, frame, wanted, shown, window))
    return frame, csv, page


def print_concordance(frame: pd.DataFrame, terms: list[str], doc_ids: list[str]) -> None:
    table = counts(frame, doc_ids, terms)
    for row in frame.itertuples():
        print(f"{row.doc_id}\t{row.location}\t{row.left}【{row.match}】{row.right}")
    print("counts:")
    for doc_id in doc_ids:
        print(f"  {doc_id}: " + ", ".join(f"{t} {n}" for t, n in table.loc[doc_id].items()))


def coword_edges(kwic: pd.DataFrame, min_items: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Co-word network of lexicon terms (kwic.csv rows): two terms are linked by the number of
    numbered items that mention both. Returns (nodes: term, theme, items; edges: source, target,
    items), terms in fewer than `min_items` items left out, both sorted (deterministic)."""
    mentions = kwic[kwic["item_seq"].notna()]
    per_item = mentions.drop_duplicates(["doc_id", "item_seq", "term"])
    nodes = (per_item.groupby("term").agg(theme=("theme", "first"), items=("item_seq", "size")).reset_index())
    nodes = nodes[nodes["items"] >= min_items].sort_values(["theme", "term"], ignore_index=True)
    kept = per_item[per_item["term"].isin(set(nodes["term"]))]
    pairs = kept.merge(kept, on=["doc_id", "item_seq"], suffixes=("_a", "_b"))
    pairs = pairs[pairs["term_a"] < pairs["term_b"]]
    edges = (pairs.groupby(["term_a", "term_b"]).size().rename("items").reset_index()
             .rename(columns={"term_a": "source", "term_b": "target"})
             .sort_values(["items", "source", "target"], ascending=[False, True, True], ignore_index=True))
    return nodes, edges


def theme_trends(theme_counts: pd.DataFrame, documents: pd.DataFrame, exclude: list[str]) -> pd.DataFrame:
    """Per year and theme: plans, median and mean mentions per 10k characters over the complete plans
    (completeness not in `exclude`) where the theme applies."""
    complete = documents.loc[~documents["completeness"].isin(exclude), "doc_id"]
    rows = theme_counts[theme_counts["doc_id"].isin(complete) & theme_counts["applicable"].astype(bool)]
    order = list(dict.fromkeys(theme_counts["theme"]))
    table = (rows.groupby(["year", "theme"])["per_10k_chars"].agg(plans="size", median="median", mean="mean")
             .reset_index())
    table = table.assign(_order=table["theme"].map(order.index)).sort_values(["year", "_order"])
    return table.drop(columns="_order").round({"median": 2, "mean": 2}).reset_index(drop=True)


# --- plan terms: item tokens, word frequencies, co-word networks, collocates ----------------------

MEASURES = ("jaccard", "pmi")
POOLED = "all"  # scope over every plan of the run (word frequencies: over the plans asked for)
SET_PREFIX = "set_"  # scope of a plan set of params/report.yaml: set_default, set_y2024
TOKEN_COLUMNS = ["doc_id", "item_seq", "tokens"]
NODE_COLUMNS = ["scope", "term", "items", "count", "community", "degree"]
EDGE_COLUMNS = ["scope", "source", "target", "count", "weight", "jaccard", "pmi"]
COLLOCATE_COLUMNS = ["term", "collocate", "observed", "expected", "frequency", "window_tokens", "tokens", "g2",
                     "p", "pmi"]
COWORD_FOLDER = "coword"  # under data/processed: <scope>.gexf and <scope>.graphml for Gephi


@dataclass(frozen=True)
class ExploreParams:
    """The validated contents of params/explore.yaml (see the comments there)."""

    top_n: int
    min_count: int
    measure: str
    seed: int
    graph_files_max_plans: int
    place_names: tuple[str, ...]
    collocate_window: int
    collocate_min_count: int

    @classmethod
    def from_yaml(cls, path: Path) -> ExploreParams:
        """Load and check the file; one line naming the key on any problem."""
        data = load_yaml(path, required=[f.name for f in fields(cls)])
        lowest = {"top_n": 2, "min_count": 1, "seed": 0, "graph_files_max_plans": 0, "collocate_window": 1,
                  "collocate_min_count": 1}
        for key, low in lowest.items():
            if not (isinstance(data[key], int) and not isinstance(data[key], bool) and data[key] >= low):
                raise ProjectError(f"{path}: {key} = {data[key]!r} must be a whole number >= {low}; fix it")
        if data["measure"] not in MEASURES:
            raise ProjectError(f"{path}: measure = {data['measure']!r} must be one of {', '.join(MEASURES)}; fix it")
        places = data["place_names"]
        if not isinstance(places, list) or not all(isinstance(p, str) and p.strip() for p in places):
            raise ProjectError(f"{path}: place_names must be a list of non-empty names; fix it")
        return cls(**{**data, "place_names": tuple(p.strip() for p in places)})


def place_names(documents: pd.DataFrame, extra: Iterable[str] = ()) -> frozenset[str]:
    """District and region names of the manifest (a region without 省/市/自治区) plus `extra`."""
    regions = documents["region"].astype(str).str.replace(r"(省|市|自治区)$", "", regex=True)
    return frozenset(n for n in {*documents["district"].astype(str), *regions, *extra} if n)


def place_pattern(places: Iterable[str]) -> re.Pattern:
    """One alternation of the place names `places` (longest first), matching nothing when empty."""
    from analysis.stages.themes import longest_first

    return longest_first(set(places)) if places else re.compile(r"(?!)")


def plan_term(token: str, places: re.Pattern, classes: dict[str, str]) -> bool:
    """Whether a content token is a plan term: not a place (jieba word class ns, or containing a
    name of `places`, an alternation of district, region and listed names) and not a numeral
    (class m: the 十三 of 十三五)."""
    return classes.get(token) not in NOT_POLICY_TERMS and not places.search(token)


def item_tokens(items: pd.DataFrame, segmenter, places: frozenset[str]) -> pd.DataFrame:
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


def token_lists(tokens: pd.DataFrame) -> list[list[str]]:
    """The `tokens` column of item_tokens.csv as lists (an item without plan terms: [])."""
    return [str(text).split() for text in tokens["tokens"].fillna("")]


def word_frequencies(tokens: pd.DataFrame, doc_ids: list[str], top_n: int = 20) -> pd.DataFrame:
    """The `top_n` plan terms of each plan of `doc_ids` and of those plans pooled (scope "all"):
    scope, rank, term, count (occurrences), items (items using it); ties broken by term."""
    chosen = tokens[tokens["doc_id"].isin(doc_ids)]
    long = pd.DataFrame([(doc_id, seq, term) for doc_id, seq, terms in zip(
        chosen["doc_id"], chosen["item_seq"], token_lists(chosen), strict=True) for term in terms],
        columns=["doc_id", "item_seq", "term"])
    scoped = pd.concat([long.assign(scope=long["doc_id"]), long.assign(scope=POOLED)])
    once = scoped.drop_duplicates(["scope", "doc_id", "item_seq", "term"])
    table = pd.concat([scoped.groupby(["scope", "term"]).size().rename("count"),
                       once.groupby(["scope", "term"]).size().rename("items")], axis=1).reset_index()
    order = {scope: i for i, scope in enumerate([*sorted(doc_ids), POOLED])}
    table = (table.assign(_order=table["scope"].map(order))
             .sort_values(["_order", "count", "term"], ascending=[True, False, True])
             .groupby("scope", sort=False).head(top_n))
    table.insert(1, "rank", table.groupby("scope", sort=False).cumcount() + 1)
    return table[["scope", "rank", "term", "count", "items"]].reset_index(drop=True)


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


def network_scopes(documents: pd.DataFrame, report_params: dict) -> dict[str, list[str]]:
    """Scope name → doc_ids: every plan ("all"), each plan set of params/report.yaml (set_default,
    set_<name>) and each plan on its own (its doc_id)."""
    from analysis.params.report import DEFAULT_SET
    from analysis.stages.plansets import plan_set

    sets = [DEFAULT_SET, *sorted(report_params.get("sets") or {})]
    every = sorted(documents["doc_id"])
    return {POOLED: every, **{SET_PREFIX + name: plan_set(documents, name, report_params) for name in sets},
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


def run_stage(tables, paths, out: Path) -> list[str]:
    """The pipeline's coword stage (analysis.stages.registry): item_tokens.csv, coword_nodes.csv,
    coword_edges.csv and coword/<scope>.gexf and .graphml (see `graph_scopes`)."""
    from analysis.files import write_bytes_atomic, write_tables
    from analysis.params.report import load_report_params
    from analysis.text.tokenize import load_segmenter

    params = ExploreParams.from_yaml(paths.params / "explore.yaml")
    places = place_names(tables.documents, params.place_names)
    tokens = item_tokens(tables.items, load_segmenter(paths.params), places)
    scopes = network_scopes(tables.documents, load_report_params(paths.params / "report.yaml"))
    nodes, edges = coword_tables(tokens, scopes, params)
    write_tables(out, {"item_tokens.csv": tokens, "coword_nodes.csv": nodes, "coword_edges.csv": edges})
    node_groups, edge_groups = dict(tuple(nodes.groupby("scope"))), dict(tuple(edges.groupby("scope")))
    for scope in graph_scopes(scopes, params.graph_files_max_plans):
        files = network_files(node_groups.get(scope, nodes.iloc[:0]), edge_groups.get(scope, edges.iloc[:0]))
        for extension, data in files.items():
            write_bytes_atomic(out / COWORD_FOLDER / f"{scope}.{extension}", data)
    return []


def collocates(tokens: pd.DataFrame, term: str, window: int = 5, min_count: int = 2) -> pd.DataFrame:
    """Collocates of the plan term `term` in the items of `tokens`: the tokens up to `window`
    positions either side of an occurrence in the same item. Every token position counts once: the
    window region holds `window_tokens` positions (the term's own positions excluded) out of
    `tokens` in all; a collocate's `observed` count there against `expected` = window_tokens ×
    `frequency` / tokens (its share of all positions), G² of that 2×2 table (1 dof) with its p, and
    PMI = log2(observed / expected). Collocates seen fewer than `min_count` times are left out;
    sorted by G² (ties: collocate)."""
    lists = token_lists(tokens)
    frequency = Counter(t for terms in lists for t in terms)
    observed: Counter[str] = Counter()
    window_tokens = 0
    for terms in lists:
        hits = [i for i, t in enumerate(terms) if t == term]
        region = {j for i in hits for j in range(max(i - window, 0), min(i + window + 1, len(terms)))
                  if terms[j] != term}
        observed.update(terms[j] for j in region)
        window_tokens += len(region)
    kept = sorted(c for c, n in observed.items() if n >= min_count)
    if not kept:
        return pd.DataFrame(columns=COLLOCATE_COLUMNS)
    n = sum(frequency.values())
    o11 = np.array([observed[c] for c in kept], dtype=float)  # in the window region
    c1 = np.array([frequency[c] for c in kept], dtype=float)
    region = np.full(len(kept), float(window_tokens))
    g2, p, expected = log_likelihood(o11, c1 - o11, region, n - region)  # the region against the rest
    frame = pd.DataFrame({
        "term": term, "collocate": kept, "observed": o11.astype(int), "expected": expected.round(3),
        "frequency": c1.astype(int), "window_tokens": window_tokens, "tokens": n, "g2": g2.round(4),
        "p": significant(p), "pmi": np.log2(o11 / expected).round(4),
    }, columns=COLLOCATE_COLUMNS)
    return frame.sort_values(["g2", "collocate"], ascending=[False, True], ignore_index=True)


def query_collocates(data, terms: list[str], doc_ids: list[str] | None = None) -> pd.DataFrame:
    """`collocates` of each of `terms` in the items of `doc_ids` (default: every plan) of the
    snapshot's item_tokens.csv, with params/explore.yaml's window and minimum count."""
    params = ExploreParams.from_yaml(data.paths.params / "explore.yaml")
    tokens = data.item_tokens
    if doc_ids:
        tokens = tokens[tokens["doc_id"].isin(doc_ids)]
    frames = [collocates(tokens, term, params.collocate_window, params.collocate_min_count) for term in terms]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLLOCATE_COLUMNS)


def print_collocates(frame: pd.DataFrame, terms: list[str], top: int = 15) -> None:
    """The `top` collocates of each term by G², or why a term has none."""
    for term in terms:
        rows = frame[frame["term"] == term].head(top)
        print(f"collocates of {term}:" if len(rows) else
              f"collocates of {term}: none (not a plan term of any item, or no collocate reaches the minimum count)")
        for row in rows.itertuples():
            print(f"  {row.collocate}\tobserved {row.observed}\texpected {row.expected:.2f}\tG² {row.g2:.2f}"
                  f"\tPMI {row.pmi:.2f}")


def plans_network(data, doc_ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The co-word network of the plans `doc_ids`: the stage's own (coword_nodes/edges.csv) when they
    are every plan or one plan, else built from item_tokens.csv with params/explore.yaml."""
    every = sorted(data.documents["doc_id"])
    scope = POOLED if sorted(doc_ids) == every else doc_ids[0] if len(doc_ids) == 1 else ""
    if scope:
        nodes, edges = data.coword_nodes, data.coword_edges
        return (nodes[nodes["scope"] == scope].reset_index(drop=True),
                edges[edges["scope"] == scope].reset_index(drop=True))
    params = ExploreParams.from_yaml(data.paths.params / "explore.yaml")
    return coword_network(data.item_tokens[data.item_tokens["doc_id"].isin(doc_ids)], params, "+".join(doc_ids))


def community_table(nodes: pd.DataFrame, per_community: int = 12) -> pd.DataFrame:
    """One row per community of a network's nodes: its size and its terms used by most items."""
    rows = nodes.sort_values(["community", "items", "term"], ascending=[True, False, True])
    return pd.DataFrame([
        {"社群 community": community, "词数 terms": len(group),
         "主要词语 main terms": "、".join(group["term"].head(per_community))}
        for community, group in rows.groupby("community", sort=True)
    ])


def district_trajectories(theme_counts: pd.DataFrame, documents: pd.DataFrame, value: str = "per_10k_chars",
                          max_districts: int = 12) -> pd.DataFrame:
    """Each theme's `value` (per_10k_chars or item_share) with its item-bootstrap interval, year by
    year, for the districts with plans of at least two years (at most `max_districts`: those with
    the most years, ties by name); applicable plan × theme rows only. Columns: district, year,
    doc_id, completeness, theme, value, low, high."""
    from analysis.text.stats import INTERVAL_COLUMNS

    low, high = INTERVAL_COLUMNS[value]
    years = documents.groupby("district")["year"].nunique()
    chosen = sorted(years[years >= 2].index, key=lambda d: (-years[d], d))[:max_districts]
    rows = theme_counts[theme_counts["district"].isin(chosen) & theme_counts["applicable"].astype(bool)]
    rows = rows.merge(documents[["doc_id", "completeness"]], on="doc_id")
    order = list(dict.fromkeys(theme_counts["theme"]))
    table = rows.assign(value=rows[value], low=rows[low], high=rows[high], _order=rows["theme"].map(order.index))
    return (table.sort_values(["district", "_order", "year", "doc_id"])
            [["district", "year", "doc_id", "completeness", "theme", "value", "low", "high"]].reset_index(drop=True))



def set_trajectories(data, doc_ids: list[str], value: str = "per_10k_chars") -> pd.DataFrame:
    """district_trajectories of the districts of the plans `doc_ids` (a comparison set holds one plan
    per district), over every year of theirs in the snapshot."""
    documents = data.documents
    districts = documents.loc[documents["doc_id"].isin(doc_ids), "district"]
    return district_trajectories(data.theme_counts, documents[documents["district"].isin(districts)], value)
