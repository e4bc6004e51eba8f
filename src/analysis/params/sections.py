"""Params: every params file read once, by section, into its typed model."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from analysis.params.clean import CleanParams, StructureParams
from analysis.params.clusters import ClusterParams
from analysis.params.coding import CodingParams
from analysis.params.exploratory import ExploratoryParams
from analysis.params.explore import ExploreParams
from analysis.params.files import FILES, params_files
from analysis.params.ingest import IngestParams
from analysis.params.loader import read_params_text
from analysis.params.policy_tools import PolicyToolsParams
from analysis.params.report import ReportParams
from analysis.params.statistics import StatisticsParams
from analysis.params.themes import ThemesParams
from analysis.params.words import Stopwords, UserDict
from analysis.paths import ProjectError


@dataclass(frozen=True)
class Params:
    """Everything under params/, validated: one attribute per section of FILES."""

    folder: Path
    clean: CleanParams
    structure: StructureParams
    ingest: IngestParams
    themes: ThemesParams
    policy_tools: PolicyToolsParams
    clusters: ClusterParams
    statistics: StatisticsParams
    explore: ExploreParams
    exploratory: ExploratoryParams
    report: ReportParams
    coding: CodingParams
    stopwords: Stopwords
    userdict: UserDict

    def path(self, section: str) -> Path:
        """The file of `section` (for messages that name it)."""
        return params_files(self.folder, [section])[0]


def _models(folder: Path) -> dict:
    """section → a function reading its file once into its model."""
    models = {"clean": CleanParams, "structure": StructureParams, "ingest": IngestParams, "themes": ThemesParams,
              "policy_tools": PolicyToolsParams, "clusters": ClusterParams, "statistics": StatisticsParams,
              "explore": ExploreParams, "exploratory": ExploratoryParams,
              "report": ReportParams, "coding": CodingParams}
    return {
        **{section: partial(model.from_yaml, folder / FILES[section]) for section, model in models.items()},
        "stopwords": lambda: Stopwords.from_text(read_params_text(folder / FILES["stopwords"])),
        "userdict": lambda: UserDict.from_text(read_params_text(folder / FILES["userdict"])),
    }


def load_params(params_dir: Path) -> Params:
    """Read every params file exactly once into a Params. The problems of all files are reported
    together, one line each, in FILES order."""
    folder = Path(params_dir)
    loaded, problems = {}, []
    for section, load in _models(folder).items():
        try:
            loaded[section] = load()
        except ProjectError as exc:
            problems += exc.problems
    if problems:
        raise ProjectError(*problems)
    return Params(folder=folder, **loaded)


def warnings(params: Params) -> list[str]:
    """Legal but doubtful settings, one line each (a one-character theme term)."""
    return params.themes.warnings(params.path("themes"))
