"""Exploratory stage: cross-tabs with residuals, correspondence analysis and dendrograms of every plan set.

Per scope (set_default, set_<name> of params/report.yaml), from the items of its plans: χ² tests and
adjusted residuals of plan × theme, plan × tool type, theme × tool type and region / admin level /
year × theme (when the set has several); correspondence analysis of plans × themes and plans ×
terms with an item-bootstrap Procrustes spread; dendrograms of terms (Jaccard over items) and of
plans (cosine of TF-IDF) with cophenetic correlation and merge support under item resampling (the
plan dendrogram of a set above tree_resample_max_plans plans without resampling: its cost).
Settings: params/exploratory.yaml. A theme that does not apply to a plan's year (since/until) is
left out of that scope's cross-tabs and CA (and named in crosstab_tests.dropped).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from analysis.files import write_tables
from analysis.params import Params
from analysis.params.exploratory import ExploratoryParams
from analysis.paths import Paths
from analysis.stages.dataset import CorpusTables, read_upstream
from analysis.stages.item_matrix import ItemMatrix, item_terms, item_themes, item_types, long_matrix, top_by_items
from analysis.stages.keyness import analysis_scopes
from analysis.stages.plansets import ranked_ids
from analysis.text.ca import correspondence_analysis, procrustes_align
from analysis.text.crosstab import RESIDUAL_MARK, adjusted_residuals, crosstab_test, drop_empty
from analysis.text.dictionary import theme_lexicon, tool_codebook
from analysis.text.trees import (
    cophenetic_correlation,
    cosine_distances,
    jaccard_distances,
    merge_support,
    tree,
    unit_rows,
)

GROUPS = ("region", "admin_level", "year")  # plan attributes crossed with themes when a set has several


# --- cross-tabs ------------------------------------------------------------------------------------


def crosstab_rows(scope: str, name: str, pairs: pd.DataFrame, params: ExploratoryParams,
                  dropped: str = "") -> tuple[list[dict], list[dict]]:
    """Cells and test of one cross-tab from long `pairs` (row, col; one row per counted unit)."""
    counts = pd.crosstab(pairs["row"], pairs["col"]) if len(pairs) else pd.DataFrame()
    test = crosstab_test(counts.to_numpy(), params.crosstab_min_expected, params.crosstab_replicates,
                         params.seed) if counts.size else None
    if test is None:
        return [], []
    kept, rows, cols = drop_empty(counts.to_numpy(dtype=float))
    residuals, totals = adjusted_residuals(kept), kept.sum(axis=1)
    expected = np.outer(totals, kept.sum(axis=0)) / kept.sum()
    cells = [{"scope": scope, "table": name, "row": str(counts.index[r]), "col": str(counts.columns[c]),
              "count": int(kept[i, j]), "row_total": int(totals[i]), "row_share": round(kept[i, j] / totals[i], 4),
              "expected": round(expected[i, j], 3), "residual": round(residuals[i, j], 3),
              "marked": bool(abs(residuals[i, j]) >= RESIDUAL_MARK)}
             for i, r in enumerate(rows) for j, c in enumerate(cols)]
    return cells, [{"scope": scope, "table": name, "rows": len(rows), "cols": len(cols), "n": test.n,
                    "chi2": round(test.chi2, 4), "df": test.df, "p_chi2": float(f"{test.p_chi2:.6g}"),
                    "p": float(f"{test.p:.6g}"), "method": test.method, "cramers_v": round(test.cramers_v, 4),
                    "min_expected": round(test.min_expected, 3), "low_expected": test.low_expected,
                    "dropped": dropped}]


def scope_crosstabs(scope: str, plans: pd.DataFrame, complete: list[str], themes: pd.DataFrame,
                    types: pd.DataFrame, params: ExploratoryParams, na_themes: list[str]) -> tuple[list, list]:
    """Every cross-tab of one scope: plan × theme and plan × tool type over all its plans; theme ×
    tool type and group × theme over its complete plans (incomplete plans never pooled)."""
    themes = themes[themes["doc_id"].isin(plans["doc_id"]) & ~themes["theme"].isin(na_themes)]
    types = types[types["doc_id"].isin(plans["doc_id"])]
    dropped = "、".join(na_themes)
    pooled = themes[themes["doc_id"].isin(complete)]
    tables = {
        "plan_theme": (themes.rename(columns={"doc_id": "row", "theme": "col"}), dropped),
        "plan_tool_type": (types.rename(columns={"doc_id": "row", "type": "col"}), ""),
        "theme_tool_type": (pooled.merge(types, on=["doc_id", "item_seq"]).rename(
            columns={"theme": "row", "type": "col"}), dropped),
    }
    ranked = plans[plans["doc_id"].isin(complete)]
    for group in GROUPS:
        if ranked[group].nunique() > 1:
            tables[f"{group}_theme"] = (pooled.merge(ranked[["doc_id", group]], on="doc_id").rename(
                columns={group: "row", "theme": "col"}), dropped)
    cells, tests = [], []
    for name, (pairs, note) in tables.items():
        found = crosstab_rows(scope, name, pairs, params, note)
        cells += found[0]
        tests += found[1]
    return cells, tests


def cue_overlap(params: Params) -> pd.DataFrame:
    """Per sub-tool × theme, the cues that are also theme terms or contain / lie inside one: such
    overlap builds the tool × theme association in (an item counted for both by the same words)."""
    tools, lexicon = tool_codebook(params.policy_tools), theme_lexicon(params.themes)
    rows = []
    for sub_tool, cues in tools.terms.items():
        for theme, terms in lexicon.terms.items():
            shared = sorted({c for c in cues for t in terms if c in t or t in c})
            if shared:
                rows.append({"type": tools.group_of.get(sub_tool, ""), "sub_tool": sub_tool, "theme": theme,
                             "shared": "、".join(shared)})
    return pd.DataFrame(rows, columns=["type", "sub_tool", "theme", "shared"])


# --- correspondence analysis -------------------------------------------------------------------------


def ca_rows(scope: str, analysis: str, matrix: ItemMatrix, params: ExploratoryParams) -> tuple[list, list]:
    """Inertia per dimension and the points (plans, then columns) of the CA of plans × columns,
    with each plan's spread: the mean distance of its item-bootstrap points (Procrustes-aligned on
    the plans) from its point."""
    table = matrix.per_plan()
    keep_rows, keep_cols = table.sum(axis=1) > 0, table.sum(axis=0) > 0
    if keep_rows.sum() < 3 or keep_cols.sum() < 3:
        return [], []
    table = table[np.ix_(keep_rows, keep_cols)]
    plans = [p for p, k in zip(matrix.plans, keep_rows, strict=True) if k]
    labels = [c for c, k in zip(matrix.columns, keep_cols, strict=True) if k]
    ca = correspondence_analysis(table)
    dims = min(2, len(ca.eigenvalues))
    spread = ca_spread(matrix, keep_rows, keep_cols, ca.row_coords[:, :dims], params)
    inertia = [{"scope": scope, "analysis": analysis, "dim": d + 1, "eigenvalue": round(float(e), 6),
                "share": round(float(s), 4), "cumulative": round(float(c), 4)}
               for d, (e, s, c) in enumerate(zip(ca.eigenvalues, ca.inertia_share, np.cumsum(ca.inertia_share),
                                                 strict=True))]
    points = []
    for kind, names, coords, masses, contrib, cos2, spreads in (
            ("plan", plans, ca.row_coords, ca.row_masses, ca.row_contrib, ca.row_cos2, spread),
            ("column", labels, ca.col_coords, ca.col_masses, ca.col_contrib, ca.col_cos2, [np.nan] * len(labels))):
        for at, name in enumerate(names):
            pad = lambda values, at=at: [*values[at, :dims], *[0.0] * (2 - dims)]  # noqa: E731
            (x, y), (cx, cy), (qx, qy) = pad(coords), pad(contrib), pad(cos2)
            points.append({"scope": scope, "analysis": analysis, "kind": kind, "label": name,
                           "mass": round(float(masses[at]), 5), "x": round(float(x), 5), "y": round(float(y), 5),
                           "contrib_x": round(float(cx), 5), "contrib_y": round(float(cy), 5),
                           "cos2_x": round(float(qx), 5), "cos2_y": round(float(qy), 5),
                           "spread": round(float(spreads[at]), 5)})
    return inertia, points


def ca_spread(matrix: ItemMatrix, keep_rows: np.ndarray, keep_cols: np.ndarray, full: np.ndarray,
              params: ExploratoryParams) -> np.ndarray:
    """Per plan, the mean distance of its replicate points from `full` over `ca_replicates` item
    bootstraps within plans (replicates leaving a plan or column empty are skipped)."""
    rng, distances = np.random.default_rng(params.seed), []
    for _ in range(params.ca_replicates):
        rows = matrix.resample_within_plans(rng)
        table = matrix.per_plan(rows)[np.ix_(keep_rows, keep_cols)]
        if (table.sum(axis=1) == 0).any() or (table.sum(axis=0) == 0).any():
            continue
        points = correspondence_analysis(table).row_coords[:, :full.shape[1]]
        if points.shape != full.shape:
            continue
        distances.append(np.linalg.norm(procrustes_align(points, full) - full, axis=1))
    return np.mean(distances, axis=0) if distances else np.full(len(full), np.nan)


# --- dendrograms ---------------------------------------------------------------------------------------


def tfidf_rows(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """Plans × terms TF-IDF (smooth idf, as scikit-learn's default), rows l2-normalised, sparse."""
    df = np.bincount(counts.indices, minlength=counts.shape[1])  # plans holding each term (no stored zeros)
    return unit_rows(counts @ sparse.diags(np.log((1 + counts.shape[0]) / (1 + df)) + 1))


def tree_rows(scope: str, kind: str, labels: list[str], distances_of, n_units: int, resample,
              params: ExploratoryParams, n_replicates: int) -> tuple[list, list]:
    """Nodes (leaves, then merges with their support) and summary of one dendrogram;
    `distances_of(rows)` gives the distance matrix from the units `rows` (items), `resample(rng)`
    one bootstrap of the units, done `n_replicates` times (0: no support)."""
    if len(labels) < 3:
        return [], []
    distances = distances_of(np.arange(n_units))
    merges = tree(distances, params.tree_method)
    rng = np.random.default_rng(params.seed)
    replicates = [tree(distances_of(resample(rng)), params.tree_method) for _ in range(n_replicates)]
    support = merge_support(merges, replicates)
    n = len(labels)
    nodes = [{"scope": scope, "kind": kind, "node": i, "label": label, "left": -1, "right": -1, "height": 0.0,
              "size": 1, "support": np.nan} for i, label in enumerate(labels)]
    nodes += [{"scope": scope, "kind": kind, "node": n + i, "label": "", "left": int(a), "right": int(b),
               "height": round(float(h), 5), "size": int(s), "support": round(float(support[i]), 4)}
              for i, (a, b, h, s) in enumerate(merges)]
    return nodes, [{"scope": scope, "kind": kind, "method": params.tree_method,
                    "metric": "jaccard" if kind == "terms" else "cosine_tfidf", "leaves": n,
                    "cophenetic": round(cophenetic_correlation(merges, distances), 4),
                    "replicates": n_replicates,
                    "kept": int((support >= params.tree_keep_share).sum())}]


def scope_trees(scope: str, terms: ItemMatrix, params: ExploratoryParams) -> tuple[list, list]:
    """The term dendrogram (top tree_top_terms terms, Jaccard over items, items resampled) and the
    plan dendrogram (cosine of TF-IDF over every term, items resampled within plans; not resampled
    when the scope has more than tree_resample_max_plans plans)."""
    top = set(top_by_items_matrix(terms, params.tree_top_terms))
    columns = [at for at, c in enumerate(terms.columns) if c in top]
    incidence = terms.matrix[:, columns]
    units = incidence.shape[0]
    found = tree_rows(scope, "terms", [terms.columns[c] for c in columns],
                      lambda rows: jaccard_distances(incidence[rows].toarray()), units,
                      lambda rng: rng.integers(0, units, units), params, params.tree_replicates)
    resampled = len(terms.plans) <= params.tree_resample_max_plans
    plans = tree_rows(scope, "plans", terms.plans, lambda rows: cosine_distances(tfidf_rows(terms.plan_totals(rows))),
                      units, terms.resample_within_plans, params, params.tree_replicates if resampled else 0)
    return found[0] + plans[0], found[1] + plans[1]


def top_by_items_matrix(matrix: ItemMatrix, n: int) -> list[str]:
    held = np.asarray((matrix.matrix > 0).sum(axis=0)).ravel()
    return [matrix.columns[at] for at in sorted(range(len(held)), key=lambda a: (-held[a], matrix.columns[a]))[:n]]


# --- the stage ---------------------------------------------------------------------------------------------


def exploratory_tables(tables: CorpusTables, kwic: pd.DataFrame, tools: pd.DataFrame, tokens: pd.DataFrame,
                       params: Params) -> dict[str, pd.DataFrame]:
    """Every table of the stage, each scope's rows one after the other."""
    report = params.report
    lexicon, settings = theme_lexicon(params.themes), params.exploratory
    documents = tables.documents
    themes, types, terms = item_themes(kwic, documents, lexicon), item_types(tools), item_terms(tokens)
    out: dict[str, list] = {name: [] for name in ("cells", "tests", "inertia", "points", "nodes", "trees")}
    for scope, doc_ids in analysis_scopes(documents, report, pooled=False).items():
        plans = documents[documents["doc_id"].isin(doc_ids)]
        items = tables.items[tables.items["doc_id"].isin(doc_ids)]
        na = [t for t in lexicon.terms if not all(lexicon.applies(t, y) for y in plans["year"])]
        found = scope_crosstabs(scope, plans, ranked_ids(documents, doc_ids, report), themes, types, settings, na)
        out["cells"] += found[0]
        out["tests"] += found[1]
        chosen = [t for t in lexicon.terms if t not in na]
        scope_terms = terms[terms["doc_id"].isin(doc_ids)]
        for analysis, matrix in (
                ("themes", long_matrix(items, themes[themes["theme"].isin(chosen)], "theme", chosen)),
                ("terms", long_matrix(items, scope_terms, "term", top_by_items(scope_terms, settings.ca_top_terms)))):
            found = ca_rows(scope, analysis, matrix, settings)
            out["inertia"] += found[0]
            out["points"] += found[1]
        found = scope_trees(scope, long_matrix(items, scope_terms, "term", values="count"), settings)
        out["nodes"] += found[0]
        out["trees"] += found[1]
    names = {"cells": "crosstab_cells", "tests": "crosstab_tests", "inertia": "ca_inertia", "points": "ca_points",
             "nodes": "tree_nodes", "trees": "tree_summary"}
    from analysis.catalog import table as catalog_table

    frames = {names[k]: pd.DataFrame(v, columns=catalog_table(names[k]).columns) for k, v in out.items()}
    frames["cue_overlap"] = cue_overlap(params)
    return frames


def run_stage(tables: CorpusTables, params: Params, paths: Paths, out: Path) -> list[str]:
    """The pipeline's exploratory stage (analysis.stages.registry)."""
    frames = exploratory_tables(tables, read_upstream(paths, out, "kwic.csv"),
                                read_upstream(paths, out, "policy_tools.csv"),
                                read_upstream(paths, out, "item_tokens.csv"), params)
    write_tables(out, {f"{name}.csv": frame for name, frame in frames.items()})
    return []
