"""What a run was built from (the run manifest: input hashes, versions, git state) and how to cite it."""

from __future__ import annotations

import json
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from analysis.params import params_files
from analysis.params.loader import load_yaml
from analysis.paths import Paths, ProjectError
from analysis.publish.lock import environment_status
from analysis.publish.verify import sha256_file
from analysis.stages.registry import digest
from analysis.views.data import ReportData
from analysis.views.evidence import esc

VERSIONED = ["analysis", "pandas", "scikit-learn", "scipy", "jieba", "matplotlib", "seaborn",
             "papermill", "nbconvert"]


def run_manifest(paths: Paths, stage_keys: dict[str, str], documents: pd.DataFrame) -> dict:
    """What a run was built from: the SHA-256 of the bytes of each plan of the snapshot
    (`documents`), of data/raw/manifest.csv and the reference coding, of every params file, the lock file
    and the notebooks; the installed version of every locked package and whether they equal the
    lock; the git commit and whether the tree was dirty. `digest` hashes what determines the numbers
    (everything but the git state, the notebooks — each page's key has its own — and the build time),
    so it is the same for every run of the same inputs. The pipeline adds `pages` and `tables`."""
    raw = [paths.raw / name for name in documents["file"]]
    for path, recorded in zip(raw, documents["sha256"], strict=True):
        if sha256_file(path) != recorded:
            raise ProjectError(f"{path}: changed since the processed snapshot was built; run `make reports` again")
    inputs = {
        "python": platform.python_version(),
        "packages": {name: package_version(name) for name in VERSIONED},
        "environment": environment_status(paths.lock),
        "inputs": _hashes(paths.root, [*raw, paths.manifest, paths.annotations, paths.policy_tool_annotations]),
        "params": {p.name: sha256_file(p) for p in sorted(paths.params.iterdir()) if p.is_file()},
        "citation": citation_text(paths),
        "stage_keys": stage_keys,
    }
    git = _git_state(paths.root)
    return {
        "built_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "digest": digest(json.dumps(inputs, sort_keys=True))[:12],
        "git_commit": _git_commit(git),
        "git": git,
        "notebooks": _hashes(paths.root, sorted(paths.notebooks.glob("*.ipynb"))),
        **inputs,
    }


def _hashes(root: Path, files: list[Path]) -> dict[str, str]:
    """Project-relative path (as `sha256sum` run in the project prints it) → SHA-256, files only."""
    return {f.relative_to(root).as_posix(): sha256_file(f) for f in files if f.is_file() and not f.name.startswith(".")}


def package_version(name: str) -> str:
    """The installed version of a distribution, or "not installed"."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _git_state(root: Path) -> dict:
    """The checked-out commit and whether the work tree differs from it (untracked files count)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True,
                                timeout=10).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        return {"commit": commit, "dirty": bool(status)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}


def _git_commit(git: dict) -> str:
    """The short commit for page footers: `1a2b3c4`, `1a2b3c4 (uncommitted changes)` or unknown."""
    if git["commit"] == "unknown":
        return "unknown (not a git checkout)"
    return git["commit"][:7] + (" (uncommitted changes)" if git["dirty"] else "")


def citation_text(paths: Paths) -> str:
    """The project's preferred citation from CITATION.cff: `authors (year). title (version X)`."""
    if not paths.citation.is_file():
        return f"{paths.root.name} (no CITATION.cff)"
    cff = load_yaml(paths.citation)
    authors = "; ".join(a.get("name") or " ".join(filter(None, [a.get("given-names"), a.get("family-names")]))
                        for a in cff.get("authors", []))
    year = str(cff.get("date-released", ""))[:4]
    return f"{authors} ({year}). {cff.get('title', '')} (version {cff.get('version', '?')})"


def citation_html(data: ReportData, run: str = ""):
    """The "How to cite" note of a report: the citation, the run digest, every plan of the snapshot
    with the SHA-256 of its raw file, and the SHA-256 of the lexicon and the codebook. All escaped."""
    paths = data.paths
    plans = "".join(
        f"<tr><td>{esc(row.doc_id)}</td><td><code>{esc(row.sha256)}</code></td></tr>"
        for row in data.documents.sort_values("doc_id").itertuples()
    )
    hashes = {path.name: sha256_file(path) if path.is_file() else "missing"
              for path in params_files(paths.params, ["themes", "codebook"])}
    versions = "".join(f"<li><code>params/{esc(name)}</code> SHA-256 <code>{esc(sha)}</code></li>"
                       for name, sha in hashes.items())
    run_text = (f"运行摘要 run digest <code>{esc(run)}</code>（见 <code>run_manifest.json</code>，"
                "可用 <code>python -m analysis verify</code> 核对 verifiable)" if run else
                "本页不是由 <code>make reports</code> 生成的，没有运行摘要 no run digest (not a published run)")
    from IPython.display import HTML

    return HTML(
        f"<p>引用本报告 Cite this report as: <strong>{esc(citation_text(paths))}</strong>, {run_text}. "
        "引用信息见 <code>CITATION.cff</code>.</p>"
        f"<p>语料 Corpus: {len(data.documents)} 份计划 plans (raw file SHA-256):</p>"
        f"<table><tr><th>计划 doc_id</th><th>SHA-256</th></tr>{plans}</table>"
        f"<p>词表与编码手册 Lexicon and codebook:</p><ul>{versions}</ul>"
    )
