"""Params: every params file read once, by section, into its typed model; params_files for stage keys."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from analysis.params.clean import RULE_KEYS, STRUCTURE_KEYS, CleanParams, StructureParams
from analysis.params.clusters import ClusterParams
from analysis.params.exploratory import ExploratoryParams
from analysis.params.explore import ExploreParams
from analysis.params.loader import load_yaml, read_params_text
from analysis.params.policy_tools import PolicyToolsParams
from analysis.params.report import REPORT_KEYS, ReportParams
from analysis.params.statistics import StatisticsParams
from analysis.params.themes import THEMES_KEYS, ThemesParams
from analysis.params.words import Stopwords, UserDict
from analysis.paths import ProjectError

# section → its file under params/: the one list of params files (stage keys hash these).
FILES = {
    "clean": "clean.yaml",
    "structure": "structure.yaml",
    "themes": "themes.yaml",
    "policy_tools": "policy_tools.yaml",
    "clusters": "clusters.yaml",
    "statistics": "statistics.yaml",
    "explore": "explore.yaml",
    "exploratory": "exploratory.yaml",
    "report": "report.yaml",
    "stopwords": "stopwords.txt",
    "userdict": "userdict.txt",
}
DOCUMENTS = {"codebook": "codebook.md"}  # read by people, not code; hashed for provenance only
TOKENS = ("userdict", "stopwords")  # the sections every segmenting stage reads


@dataclass(frozen=True)
class Params:
    """Everything under params/, validated: one attribute per section of FILES."""

    folder: Path
    clean: CleanParams
    structure: StructureParams
    themes: ThemesParams
    policy_tools: PolicyToolsParams
    clusters: ClusterParams
    statistics: StatisticsParams
    explore: ExploreParams
    exploratory: ExploratoryParams
    report: ReportParams
    stopwords: Stopwords
    userdict: UserDict

    def path(self, section: str) -> Path:
        """The file of `section` (for messages that name it)."""
        return params_files(self.folder, [section])[0]


def _models(folder: Path) -> dict:
    """section → a function reading its file once into its model."""

    def yaml_model(model, section: str, required: Iterable[str]):
        path = folder / FILES[section]
        return lambda: model.from_data(path, load_yaml(path, required=required))

    def fields_of(model) -> list[str]:
        return list(model.__dataclass_fields__)

    return {
        "clean": yaml_model(CleanParams, "clean", RULE_KEYS),
        "structure": yaml_model(StructureParams, "structure", STRUCTURE_KEYS),
        "themes": yaml_model(ThemesParams, "themes", THEMES_KEYS),
        "policy_tools": yaml_model(PolicyToolsParams, "policy_tools", ("types",)),
        "clusters": yaml_model(ClusterParams, "clusters", fields_of(ClusterParams)),
        "statistics": yaml_model(StatisticsParams, "statistics", fields_of(StatisticsParams)),
        "explore": yaml_model(ExploreParams, "explore", fields_of(ExploreParams)),
        "exploratory": yaml_model(ExploratoryParams, "exploratory", fields_of(ExploratoryParams)),
        "report": yaml_model(ReportParams, "report", REPORT_KEYS),
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


def params_files(params_dir: Path, sections: Iterable[str]) -> list[Path]:
    """The files of `sections` (of FILES or DOCUMENTS) under `params_dir`, in the order given: what a
    stage's key or a page's provenance hashes."""
    names = FILES | DOCUMENTS
    sections = list(sections)
    if unknown := [s for s in sections if s not in names]:
        raise ValueError(f"unknown params section(s) {', '.join(unknown)}; known: {', '.join(names)}")
    return [Path(params_dir) / names[section] for section in sections]


def warnings(params: Params) -> list[str]:
    """Legal but doubtful settings, one line each (a one-character theme term)."""
    return params.themes.warnings(params.path("themes"))
