"""Topics stage: NMF and LDA topic models of the items of the default plan set, k chosen by stability and NPMI.

For the default set (scope set_default, the set notebook 06 shows) and each model, every k of
params/exploratory.yaml is fitted on the items (at most topic_max_items, a fixed sample; the
topic_max_features terms held by most items, each in at least two) and refitted on item resamples
with other seeds; its stability is the mean Jaccard of Hungarian-matched top terms
(topic_selection.csv). Only a stable k (stability >= topic_min_stability) is chosen: the most
stable, ties (to two decimals) to the higher NPMI, then the smaller k. Only a chosen k has terms,
typical items and plan shares (topic_terms, topic_items, topic_shares with item-bootstrap
intervals at params/statistics.yaml's level). No stable k: no topics are written, and the page
says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from analysis.files import write_tables
from analysis.params import Params
from analysis.params.exploratory import ExploratoryParams
from analysis.params.report import DEFAULT_SET
from analysis.paths import Paths
from analysis.stages.coword import SET_PREFIX
from analysis.stages.dataset import CorpusTables, read_upstream
from analysis.stages.item_matrix import item_terms, long_matrix
from analysis.stages.keyness import analysis_scopes
from analysis.text.topics import MODELS, top_terms, topic_stability

TYPICAL_ITEMS = 3  # the most typical items listed per topic
TOPIC_SCOPE = SET_PREFIX + DEFAULT_SET  # topic models are fitted for the default plan set only (cost)


def topic_corpus(tokens: pd.DataFrame, params: ExploratoryParams) -> tuple[pd.DataFrame, list[str], sparse.csr_matrix]:
    """(items, vocabulary, items × terms counts) of the items of `tokens`: at most topic_max_items
    (a fixed sample), terms held by at least two items (the topic_max_features held by most), items
    without any of them dropped."""
    if len(tokens) > params.topic_max_items:
        tokens = tokens.sample(n=params.topic_max_items, random_state=params.seed).sort_index()
    terms = item_terms(tokens)
    held = terms.groupby("term").size()
    held = held[held >= 2]
    vocabulary = sorted(held.index, key=lambda t: (-held[t], t))[:params.topic_max_features]
    matrix = long_matrix(tokens, terms, "term", sorted(vocabulary), values="count")
    used = np.asarray(matrix.matrix.sum(axis=1)).ravel() > 0
    return matrix.items[used].reset_index(drop=True), matrix.columns, matrix.matrix[used]


def choose(selection: pd.DataFrame) -> int | None:
    """The chosen k among the stable rows of one model (see the module docstring), or None."""
    stable = selection[selection["stable"]]
    if stable.empty:
        return None
    ranked = stable.assign(_s=stable["stability"].round(2)).sort_values(["_s", "npmi", "k"],
                                                                         ascending=[False, False, True])
    return int(ranked["k"].iloc[0])


def share_intervals(items: pd.DataFrame, weights: np.ndarray, replicates: int, level: float,
                    seed: int) -> pd.DataFrame:
    """Per plan × topic: the mean topic weight of its items (`share`) and a percentile interval over
    `replicates` resamples of its items."""
    rng, rows = np.random.default_rng(seed), []
    tail = (1 - level) / 2
    for doc_id, group in items.groupby("doc_id", sort=True):
        own = weights[group.index.to_numpy()]
        draws = rng.integers(0, len(own), (replicates, len(own)))
        boot = own[draws].mean(axis=1)
        low, high = np.quantile(boot, [tail, 1 - tail], axis=0)
        rows += [{"doc_id": doc_id, "topic": t + 1, "share": round(float(own[:, t].mean()), 4),
                  "share_low": round(float(low[t]), 4), "share_high": round(float(high[t]), 4)}
                 for t in range(weights.shape[1])]
    return pd.DataFrame(rows)


def scope_topics(scope: str, tokens: pd.DataFrame, params: ExploratoryParams, level: float) -> dict[str, list]:
    """The selection rows of every model × k of one scope, and the terms, items and shares of the chosen k."""
    out: dict[str, list] = {"selection": [], "terms": [], "items": [], "shares": []}
    items, vocabulary, counts = topic_corpus(tokens, params)
    if counts.shape[0] < 2 * params.topic_k_max or counts.shape[1] < params.topic_top_terms * 2:
        return out
    for model in MODELS:
        fits, rows = {}, []
        for k in params.topic_ks:
            stability, npmi, components, weights = topic_stability(
                counts, model, k, params.topic_top_terms, params.topic_seeds, params.seed)
            fits[k] = (components, weights)
            rows.append({"scope": scope, "model": model, "k": k, "items": counts.shape[0], "npmi": round(npmi, 4),
                         "stability": round(stability, 4), "stable": stability >= params.topic_min_stability})
        selection = pd.DataFrame(rows)
        k = choose(selection)
        out["selection"] += selection.assign(chosen=selection["k"] == k).to_dict("records")
        if k is not None:
            add_chosen(out, scope, model, items, vocabulary, *fits[k], params, level)
    return out


def add_chosen(out: dict[str, list], scope: str, model: str, items: pd.DataFrame, vocabulary: list[str],
               components: np.ndarray, weights: np.ndarray, params: ExploratoryParams, level: float) -> None:
    """Terms, typical items and plan shares of a chosen fit, topics numbered by total weight."""
    order = np.lexsort((np.arange(weights.shape[1]), -weights.sum(axis=0)))
    components, weights = components[order], weights[:, order]
    for topic, terms in enumerate(top_terms(components, params.topic_top_terms), 1):
        norm = components[topic - 1].sum()
        out["terms"] += [{"scope": scope, "model": model, "topic": topic, "rank": r, "term": vocabulary[t],
                          "weight": round(float(components[topic - 1, t] / norm), 5)} for r, t in enumerate(terms, 1)]
        best = np.lexsort((np.arange(len(weights)), -weights[:, topic - 1]))[:TYPICAL_ITEMS]
        out["items"] += [{"scope": scope, "model": model, "topic": topic, "rank": r,
                          "doc_id": items["doc_id"].iloc[at], "item_seq": int(items["item_seq"].iloc[at]),
                          "weight": round(float(weights[at, topic - 1]), 4)} for r, at in enumerate(best, 1)]
    shares = share_intervals(items, weights, params.topic_replicates, level, params.seed)
    out["shares"] += shares.assign(scope=scope, model=model).to_dict("records")


def topic_tables(tokens: pd.DataFrame, documents: pd.DataFrame, params: Params) -> dict[str, pd.DataFrame]:
    """topic_selection, topic_terms, topic_items, topic_shares over every plan-set scope."""
    from analysis.catalog import table

    report = params.report
    out: dict[str, list] = {"selection": [], "terms": [], "items": [], "shares": []}
    for scope, doc_ids in analysis_scopes(documents, report, pooled=False).items():
        if scope != TOPIC_SCOPE:
            continue
        found = scope_topics(scope, tokens[tokens["doc_id"].isin(doc_ids)].reset_index(drop=True),
                             params.exploratory, params.statistics.level)
        for key in out:
            out[key] += found[key]
    return {f"topic_{key}": pd.DataFrame(rows, columns=table(f"topic_{key}").columns) for key, rows in out.items()}


def run_stage(tables: CorpusTables, params: Params, paths: Paths, out: Path) -> list[str]:
    """The pipeline's topics stage (analysis.stages.registry)."""
    frames = topic_tables(read_upstream(paths, out, "item_tokens.csv"), tables.documents, params)
    write_tables(out, {f"{name}.csv": frame for name, frame in frames.items()})
    return []
