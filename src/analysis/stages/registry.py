"""The processing DAG and its keys: which stage reads which params and inputs, and the hash of
everything a stage depends on. Standard library only, so an unchanged run can answer from the
stamps without importing pandas, scikit-learn or Jupyter."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

from analysis.catalog import Table, written_by
from analysis.params.files import TOKENS, params_files
from analysis.paths import Paths

PACKAGE_DIR = Path(__file__).parent.parent  # the whole analysis package
STAMPS = ".stamps.json"  # in data/processed: {"keys": {stage: key}, "outputs": {stage: [files]}}


@dataclass(frozen=True)
class Stage:
    name: str
    params: list[str]  # the params sections it reads (analysis.params.sections.FILES)
    run: str  # "module:function" taking (tables, paths, output folder) and returning warnings
    upstream: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)  # Paths properties naming other files it reads

    @property
    def writes(self) -> list[Table]:
        """The catalog tables this stage writes (analysis.catalog)."""
        return written_by(self.name)

    def function(self):
        module, name = self.run.split(":")
        return getattr(import_module(module), name)


STAGES = [
    Stage("dataset", ["clean", "structure", "ingest"], "analysis.stages.dataset:run_stage"),
    Stage("themes", ["themes", "statistics", *TOKENS], "analysis.stages.themes:run_stage", ["dataset"]),
    Stage("clusters", ["clusters", "themes", *TOKENS], "analysis.stages.clusters:run_stage", ["dataset"]),
    Stage("set_clusters", ["clusters", "themes", "report", *TOKENS], "analysis.stages.set_clusters:run_stage",
          ["dataset", "clusters"]),
    Stage("validation", ["themes", "coding", "statistics"],
          "analysis.stages.validation:run_validation", ["dataset", "themes"],
          ["annotations", "codings", "coders"]),  # reads the themes stage's kwic.csv, as does policy_tools
    Stage("policy_tools", ["policy_tools", "themes", "statistics", "coding"],
          "analysis.stages.policy_tools:run_stage", ["dataset", "themes"],
          ["policy_tool_annotations", "codings", "coders"]),
    Stage("coword", ["explore", "report", *TOKENS], "analysis.stages.coword:run_stage", ["dataset"]),
    Stage("keyness", ["exploratory", "report", "themes"], "analysis.stages.keyness:run_stage",
          ["dataset", "coword"]),
    Stage("exploratory", ["exploratory", "report", "themes", "policy_tools"],
          "analysis.stages.exploratory:run_stage", ["dataset", "themes", "policy_tools", "coword"]),
    Stage("topics", ["exploratory", "report", "statistics"], "analysis.stages.topics:run_stage",
          ["dataset", "coword"]),
]


def digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def files_digest(paths: list[Path]) -> str:
    """Hash of the given files' names and bytes (a folder: every file inside, by path relative to it;
    hidden files and __pycache__ left out). Independent of where the project lives."""
    named = sorted(
        (f.name, f) if p.is_file() else (f.relative_to(p).as_posix(), f)
        for p in paths for f in ([p] if p.is_file() else p.rglob("*") if p.is_dir() else [])
        if f.is_file() and not f.name.startswith(".") and "__pycache__" not in f.parts
    )
    return digest(*(part for name, f in named for part in (name, f.read_bytes())))


def code_version() -> str:
    """Hash of the package: its source, templates, styles and bundled resources. Any change there
    invalidates every product."""
    return files_digest([PACKAGE_DIR])


def stage_keys(paths: Paths) -> dict[str, str]:
    """The current key of every stage (raw data, params, code and upstream keys)."""
    keys: dict[str, str] = {}
    base = digest(code_version(), files_digest([paths.raw]))
    for stage in STAGES:
        keys[stage.name] = digest(
            base, files_digest([*params_files(paths.params, stage.params), *(getattr(paths, i) for i in stage.inputs)]),
            *(keys[u] for u in stage.upstream),
        )
    return keys


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def read_stamps(processed: Path) -> dict:
    """The stamps of the published snapshot: {"keys": …, "outputs": …} (empty when there is none)."""
    stamps = read_json(processed / STAMPS)
    return stamps if isinstance(stamps.get("keys"), dict) and isinstance(stamps.get("outputs"), dict) else {}


def stale_stages(processed: Path, keys: dict[str, str]) -> list[Stage]:
    """The stages whose key changed or whose recorded outputs are missing."""
    stamps = read_stamps(processed)
    done, outputs = stamps.get("keys", {}), stamps.get("outputs", {})
    return [
        stage for stage in STAGES
        if done.get(stage.name) != keys[stage.name] or stage.name not in outputs
        or not all((processed / name).is_file() for name in outputs[stage.name])
    ]


def snapshot_id(processed: Path) -> str:
    """A short id of the published snapshot (its stamps): what the reports of one run read."""
    return digest(json.dumps(read_stamps(processed), sort_keys=True))[:16]
