"""Plan sets: which plans a comparison, a ranking or a network covers (params/report.yaml `sets`)."""

from __future__ import annotations

import pandas as pd

from analysis.corpus.vocab import COMPLETENESS
from analysis.params.report import DEFAULT_SET, ReportParams
from analysis.paths import ProjectError

COMPLETENESS_ORDER = {value: rank for rank, value in enumerate(COMPLETENESS)}  # complete is preferred


def plan_set(documents: pd.DataFrame, name: str, report: ReportParams) -> list[str]:
    """doc_ids of a plan set: `default` = latest plan per district preferring complete ones."""
    if name == DEFAULT_SET:
        ranked = documents.assign(_rank=documents["completeness"].map(COMPLETENESS_ORDER), _year=-documents["year"])
        best = ranked.sort_values(["district", "_rank", "_year"]).groupby("district").head(1)
        return sorted(best["doc_id"])
    spec = report.sets.get(name)
    if spec is None:
        raise ProjectError(f"params/report.yaml: no plan set {name!r}; add it under `sets`")
    chosen = documents[documents["year"].isin(spec.years) | documents["doc_id"].isin(spec.doc_ids)]
    return sorted(chosen["doc_id"])


def ranked_ids(documents: pd.DataFrame, doc_ids: list[str], report: ReportParams) -> list[str]:
    """The plans of a set that take part in rankings (complete ones by default)."""
    keep = documents[documents["doc_id"].isin(doc_ids) & ~documents["completeness"].isin(report.rank_exclude)]
    return sorted(keep["doc_id"])
