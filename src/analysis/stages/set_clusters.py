"""Per-set clustering and nearest plans: every comparison page's cluster verdict and "nearest in
resamples" computed on the items of that set's plans only.

A comparison page (notebook 20) shows one plan set (params/report.yaml `sets`, plus `default`). Its
cluster verdict, k choice, cluster mix and nearest plans must not depend on plans outside the set
(a y2024 page must not send 杨浦's resamples to 闵行 2017), so the cluster stage's computation is
repeated here on each set's items: TF-IDF weights, k selection, stability and the item resampling
of the nearest plans all come from the set alone. Sets with the same plans are computed once, and a
set holding every plan reads the clusters stage's tables (the same computation on the same items)
instead of repeating it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.catalog import table
from analysis.files import write_tables
from analysis.params import Params
from analysis.params.report import DEFAULT_SET
from analysis.paths import Paths
from analysis.stages.clusters import CLUSTER_FILES, build_clusters
from analysis.stages.dataset import CorpusTables, read_upstream
from analysis.stages.plansets import plan_set

SET_FILES = {  # ClusterTables field → the per-set table (with a leading `set` column)
    "clusters": "set_clusters.csv",
    "cluster_summary": "set_cluster_summary.csv",
    "k_selection": "set_cluster_k_selection.csv",
    "solution": "set_cluster_solution.csv",
    "nearest_neighbours": "set_nearest_neighbours.csv",
}


def page_sets(documents: pd.DataFrame, params: Params) -> dict[str, list[str]]:
    """Every plan set with a comparison page: `default`, then the sets of report.yaml, → doc_ids."""
    return {name: plan_set(documents, name, params.report) for name in [DEFAULT_SET, *params.report.sets]}


def clusterable(items: pd.DataFrame, params: Params) -> bool:
    """Whether a set has enough items for the smallest k (k_min clusters and one item more)."""
    return len(items) > params.clusters.k_min + 1


def set_tables(items: pd.DataFrame, documents: pd.DataFrame, params: Params,
               every_plan: Callable[[], dict[str, pd.DataFrame]] | None = None) -> dict[str, pd.DataFrame]:
    """The SET_FILES tables of every page set: each set's rows of build_clusters on its own items
    (a set too small to cluster has no rows). `every_plan` gives the corpus-wide tables (field →
    frame), used for a set holding every plan of `items`."""
    found: dict[tuple[str, ...], dict[str, pd.DataFrame]] = {}
    parts: dict[str, list[pd.DataFrame]] = {field: [] for field in SET_FILES}
    every = set(items["doc_id"])
    for name, ids in page_sets(documents, params).items():
        chosen = items[items["doc_id"].isin(ids)]
        if not clusterable(chosen, params):
            continue
        key = tuple(ids)
        if key not in found:
            if every_plan is not None and set(chosen["doc_id"]) == every:
                found[key] = every_plan()
            else:
                built = build_clusters(chosen, params)
                found[key] = {field: getattr(built, field) for field in SET_FILES}
        for field in SET_FILES:
            parts[field].append(found[key][field].assign(set=name))
    return {name: _in_catalog_order(parts[field], name) for field, name in SET_FILES.items()}


def _in_catalog_order(parts: list[pd.DataFrame], file: str) -> pd.DataFrame:
    """The parts as one table with the catalog's columns (none: the columns without rows)."""
    columns = table(file.removesuffix(".csv")).columns
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def run_stage(tables: CorpusTables, params: Params, paths: Paths, out: Path) -> list[str]:
    """The pipeline's set_clusters stage (analysis.stages.registry): write the per-set tables."""
    def every_plan() -> dict[str, pd.DataFrame]:
        return {field: read_upstream(paths, out, CLUSTER_FILES[field]) for field in SET_FILES}

    write_tables(out, set_tables(tables.items, tables.documents, params, every_plan))
    return []
