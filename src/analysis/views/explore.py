"""Exploration views on the snapshot: concordance, word frequencies, collocates, networks, trajectories."""

from __future__ import annotations

import pandas as pd

from analysis.corpus.structure import parse_plan
from analysis.paths import ProjectError
from analysis.stages.coword import POOLED, coword_network
from analysis.text.stats import INTERVAL_COLUMNS
from analysis.text.textstats import COLLOCATE_COLUMNS, collocates, kwic_lines, occurrences, token_lists
from analysis.views.data import ReportData
from analysis.views.evidence import locations
from analysis.views.tableformat import interval

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


def concordance(data: ReportData, terms: list[str], doc_ids: list[str] | None = None, window: int = 20
                ) -> pd.DataFrame:
    """Every occurrence of each of `terms` in the cleaned text of the plans `doc_ids` (default: all
    plans of the snapshot), one row each with its printed location and ±`window` characters."""
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
    rules = data.params.structure
    rows = []
    for plan in documents.itertuples():
        path = data.paths.clean / f"{plan.doc_id}.txt"
        if not path.is_file():
            raise ProjectError(f"{path}: missing from the processed snapshot; run `make reports` again")
        text = path.read_text(encoding="utf-8")
        found = [(start, term) for term in terms for start in occurrences(text, term)]
        rows += [{"doc_id": plan.doc_id, "district": plan.district, "year": plan.year, "term": line["match"], **line}
                 for line in kwic_lines(text, parse_plan(text, rules), found, window)]
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


def query_collocates(data: ReportData, terms: list[str], doc_ids: list[str] | None = None) -> pd.DataFrame:
    """`collocates` of each of `terms` in the items of `doc_ids` (default: every plan) of the
    snapshot's item_tokens.csv, with params/explore.yaml's window and minimum count."""
    params = data.params.explore
    tokens = data.item_tokens
    if doc_ids:
        tokens = tokens[tokens["doc_id"].isin(doc_ids)]
    frames = [collocates(tokens, term, params.collocate_window, params.collocate_min_count) for term in terms]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLLOCATE_COLUMNS)


def plans_network(data: ReportData, doc_ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The co-word network of the plans `doc_ids`: the stage's own (coword_nodes/edges.csv) when they
    are every plan or one plan, else built from item_tokens.csv with params/explore.yaml."""
    every = sorted(data.documents["doc_id"])
    scope = POOLED if sorted(doc_ids) == every else doc_ids[0] if len(doc_ids) == 1 else ""
    if scope:
        nodes, edges = data.coword_nodes, data.coword_edges
        return (nodes[nodes["scope"] == scope].reset_index(drop=True),
                edges[edges["scope"] == scope].reset_index(drop=True))
    return coword_network(data.item_tokens[data.item_tokens["doc_id"].isin(doc_ids)], data.params.explore,
                          "+".join(doc_ids))


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
    low, high = INTERVAL_COLUMNS[value]
    years = documents.groupby("district")["year"].nunique()
    chosen = sorted(years[years >= 2].index, key=lambda d: (-years[d], d))[:max_districts]
    rows = theme_counts[theme_counts["district"].isin(chosen) & theme_counts["applicable"].astype(bool)]
    rows = rows.merge(documents[["doc_id", "completeness"]], on="doc_id")
    order = list(dict.fromkeys(theme_counts["theme"]))
    table = rows.assign(value=rows[value], low=rows[low], high=rows[high], _order=rows["theme"].map(order.index))
    return (table.sort_values(["district", "_order", "year", "doc_id"])
            [["district", "year", "doc_id", "completeness", "theme", "value", "low", "high"]].reset_index(drop=True))


def set_trajectories(data: ReportData, doc_ids: list[str], value: str = "per_10k_chars") -> pd.DataFrame:
    """district_trajectories of the districts of the plans `doc_ids` (a comparison set holds one plan
    per district), over every year of theirs in the snapshot."""
    documents = data.documents
    districts = documents.loc[documents["doc_id"].isin(doc_ids), "district"]
    return district_trajectories(data.theme_counts, documents[documents["district"].isin(districts)], value)


def district_changes(trajectories: pd.DataFrame) -> pd.DataFrame:
    """From district_trajectories: per district and theme, each plan against the same district's
    previous plan — both values with their intervals and whether the intervals overlap (then the
    change cannot be told from item sampling). Never across districts. Columns: district, theme,
    from_year, to_year, before, after (value [low, high]), change, overlap (bool)."""
    rows = []
    for (district, theme), group in trajectories.groupby(["district", "theme"], sort=False):
        group = group.sort_values("year")
        for (_, old), (_, new) in zip(group.iloc[:-1].iterrows(), group.iloc[1:].iterrows(), strict=True):
            rows.append({"district": district, "theme": theme, "from_year": old["year"], "to_year": new["year"],
                         "before": interval(old["value"], old["low"], old["high"]),
                         "after": interval(new["value"], new["low"], new["high"]),
                         "change": round(new["value"] - old["value"], 2),
                         "overlap": bool(new["low"] <= old["high"] and old["low"] <= new["high"])})
    columns = ["district", "theme", "from_year", "to_year", "before", "after", "change", "overlap"]
    return pd.DataFrame(rows, columns=columns)
