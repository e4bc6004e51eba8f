"""The processed snapshot as a report reads it: its tables, plan names, themes and plan sets."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from analysis.params import Params, load_params
from analysis.params.report import DEFAULT_SET, ReportParams
from analysis.paths import Paths
from analysis.stages.dataset import plan_labels
from analysis.stages.plansets import plan_set
from analysis.stages.registry import files_digest
from analysis.views.snapshot import check_snapshot, read_table

DEFAULT_TITLE = "各地工作要点比较"


@dataclass
class ReportData:
    """The processed snapshot's tables as attributes (`data.items` reads data/processed/items.csv
    once), plus every params file (`data.params.report`, `.themes`, …) loaded once."""

    paths: Paths
    params: Params
    snapshot: str  # id of the snapshot the tables come from
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __getattr__(self, name: str) -> pd.DataFrame:
        if name.startswith("_") or "tables" not in self.__dict__:
            raise AttributeError(name)
        if name not in self.tables:
            self.tables[name] = read_table(self.paths, name, self.snapshot)
        return self.tables[name]


def load_report_data(root: str | Path | None = None, snapshot: str = "") -> ReportData:
    """The processed snapshot (never computed here): the run's when `snapshot` names it, else the
    published one if it is up to date; see analysis.views.snapshot."""
    paths = Paths.from_root(root or None)
    return ReportData(paths, kernel_params(paths.params), check_snapshot(paths, snapshot))


def kernel_params(folder: Path) -> Params:
    """`load_params(folder)`, validated once per kernel while the folder's files keep their bytes (a
    warm kernel runs hundreds of pages with the same params); a changed file is loaded anew."""
    return _params_of(folder, files_digest([folder]))


@lru_cache(maxsize=1)
def _params_of(folder: Path, digest: str) -> Params:
    """The params of `folder` whose files hash to `digest` (the cache key; only the last is kept)."""
    return load_params(folder)


def plan_names(documents: pd.DataFrame) -> dict[str, str]:
    """doc_id → "宝山 2023（截断）" (district, year, completeness mark)."""
    return dict(zip(documents["doc_id"], plan_labels(documents), strict=True))


def themes_of(data: ReportData) -> list[str]:
    """Theme names in lexicon order."""
    return list(dict.fromkeys(data.theme_counts["theme"]))


def applicable_rows(data: ReportData, frame: pd.DataFrame, theme: str = "theme") -> pd.DataFrame:
    """The rows of `frame` (doc_id and a theme column) whose plan × theme applies (theme_counts
    `applicable`: the plan's year within the theme's since/until): a theme outside its years is
    n/a, so its mentions are in no count, table or figure."""
    keys = data.theme_counts.loc[data.theme_counts["applicable"].astype(bool), ["doc_id", "theme"]]
    keep = pd.MultiIndex.from_frame(frame[["doc_id", theme]].astype(str)).isin(
        pd.MultiIndex.from_frame(keys.astype(str)))
    return frame[keep]


def set_counts(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """theme_counts.csv rows of the plans of a set."""
    return data.theme_counts[data.theme_counts["doc_id"].isin(doc_ids)]


def set_ids(data: ReportData, name: str) -> list[str]:
    """The doc_ids of the plan set `name` (default or a set of params/report.yaml)."""
    return plan_set(data.documents, name, data.params.report)


def set_title(report: ReportParams, name: str) -> str:
    """The heading of a plan set's comparison page: its `title` in report.yaml (default: its name)."""
    return DEFAULT_TITLE if name == DEFAULT_SET else report.sets[name].label
