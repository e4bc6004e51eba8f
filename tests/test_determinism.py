"""Determinism and atomicity (issue 7).

- Two runs from scratch, in separate processes with different hash seeds, write byte-identical
  files under data/processed (cluster ids and labels included; timestamps only live in
  reports/run_manifest.json).
- A run killed with SIGKILL leaves data/processed as the previous complete set (A) or the new one
  (B), or — killed inside `publish` — a journal that `recover` turns into B; the next run ends at
  B. A run killed while executing notebooks leaves the published reports byte-identical, and the
  next run completes them.

Folders are compared without the FileLock files (`.lock`) and without staging folders
(`.staging-*`: a killed run's scratch space, never read, removed by the next run).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from analysis.files import JOURNAL, STAGING_PREFIX, recover
from analysis.paths import Paths
from analysis.pipeline import ensure_processed
from support import seeds_project

PROCESS = """
import sys
from pathlib import Path
from analysis.paths import Paths
from analysis.pipeline import ensure_processed
ensure_processed(Paths(Path(sys.argv[1])), force=True, log=lambda line: None)
"""

# ensure_processed(force=True) that dies by SIGKILL after `publish` moved N files into place.
DIE_MID_PUBLISH = """
import os, signal, sys
from pathlib import Path
from analysis import files
from analysis.paths import Paths
from analysis.pipeline import ensure_processed

paths, after = Paths(Path(sys.argv[1])), int(sys.argv[2])
real_replace, published = os.replace, []

def replace(source, target):
    real_replace(source, target)
    try:
        parts = Path(target).relative_to(paths.processed).parts
    except ValueError:
        return
    if parts[-1] != files.JOURNAL and not parts[0].startswith(files.STAGING_PREFIX):
        published.append(parts)
        if len(published) == after:
            os.kill(os.getpid(), signal.SIGKILL)

files.os.replace = replace
ensure_processed(paths, force=True, log=lambda line: None)
"""



def state(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` but lock files and staging folders."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
        and not p.relative_to(folder).parts[0].startswith(STAGING_PREFIX)
    }


def change_params(project: Paths) -> None:
    """Make every stage rerun (clean.yaml changes) and themes and clusters change (a new stopword)."""
    with (project.params / "clean.yaml").open("a", encoding="utf-8") as handle:
        handle.write("\n# tuned for the next run\n")
    with (project.params / "stopwords.txt").open("a", encoding="utf-8") as handle:
        handle.write("教师\n")


def process_in_child(project: Paths, seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    subprocess.run([sys.executable, "-c", PROCESS, str(project.root)], env=env, check=True, timeout=600)


@pytest.fixture(scope="module")
def runs(paths: Paths, seeds_processed: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Paths]:
    """Clean runs without notebooks, side by side: `first` (the session's seed snapshot, built in a
    test worker) and `second` (a child process with its own hash seed) from the same inputs,
    `changed` with changed params (the B of the kill tests)."""
    copies = {name: paths.copy_inputs(tmp_path_factory.mktemp(name)) for name in ("second", "changed")}
    change_params(copies["changed"])
    seeds = {"second": "2", "changed": "3"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda name: process_in_child(copies[name], seeds[name]), copies))
    return {"first": seeds_project(paths, seeds_processed, tmp_path_factory.mktemp("first")), **copies}


def test_two_runs_from_scratch_are_byte_identical(runs: dict[str, Paths]) -> None:
    first, second = state(runs["first"].processed), state(runs["second"].processed)
    assert {"items.csv", "keyness.csv", "clusters.csv", "cluster_summary.csv", ".stamps.json"} <= set(first)
    assert first == second
    summary = (runs["first"].processed / "cluster_summary.csv").read_text(encoding="utf-8-sig")
    assert summary.count("\n") > 2  # clusters with ids and labels, identical above


# --- killed runs ---------------------------------------------------------------------------------


def start_run(project: Paths) -> subprocess.Popen:
    """`python -m analysis run` in a session of its own, so killpg reaches all its processes."""
    return subprocess.Popen(
        [sys.executable, "-m", "analysis", "--root", str(project.root), "run", "--jobs", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, "the run ended before the moment to kill it"
        assert time.monotonic() < deadline, "timed out waiting for the moment to kill the run"
        time.sleep(0.02)


def kernels_of(pid: int) -> list[int]:
    """Jupyter kernels started by process `pid` (jupyter_client starts them in their own session)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"\0JPY_PARENT_PID={pid}\0".encode() in b"\0" + environ.read_bytes():
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the run's process group; its orphaned kernels must notice and exit by themselves."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while (left := kernels_of(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:  # do not leave them behind, but fail
        os.kill(pid, signal.SIGKILL)
    assert not left, f"kernels {left} outlived the killed run"


def settled(project: Paths, old: dict[str, str], new: dict[str, str]) -> str:
    """Check data/processed after a kill: complete old, complete new, or a journal that recovers to new."""
    if (project.processed / JOURNAL).is_file():
        assert recover(project.processed)
        assert state(project.processed) == new
        return "journal"
    now = state(project.processed)
    assert now in (old, new), "data/processed holds a mix of two runs"
    return "old" if now == old else "new"


def test_sigkill_leaves_processed_old_or_new_and_the_next_run_recovers(
    runs: dict[str, Paths], tmp_path: Path
) -> None:
    _kill_processing(runs, tmp_path)


def _kill_processing(runs: dict[str, Paths], tmp_path: Path) -> None:
    old, new = state(runs["first"].processed), state(runs["changed"].processed)
    assert old != new and set(old) == set(new)
    project = Paths(tmp_path / "killed")
    shutil.copytree(runs["first"].root, project.root)
    change_params(project)

    # 1. as soon as the run stages its outputs: the previous outputs stay
    proc = start_run(project)
    wait_for(lambda: any(project.processed.glob(f"{STAGING_PREFIX}*")), proc)
    kill(proc)
    assert settled(project, old, new) == "old"

    # 2. at a random moment of the run (processing or, late, notebooks)
    delay = random.uniform(0.5, 8.0)
    proc = start_run(project)
    time.sleep(delay)
    kill(proc)
    outcome = settled(project, old, new)
    print(f"killed after {delay:.1f} s: {outcome}")

    # 3. inside publish, after 4 of its moves: a journal, a mix on disk, and recovery to B
    died = subprocess.run([sys.executable, "-c", DIE_MID_PUBLISH, str(project.root), "4"], timeout=600)
    assert died.returncode == -signal.SIGKILL
    assert (project.processed / JOURNAL).is_file()
    mixed = state(project.processed)
    assert mixed not in (old, new)
    recovered = Paths(tmp_path / "recovered")
    shutil.copytree(project.root, recovered.root)
    assert recover(recovered.processed)
    assert state(recovered.processed) == new
    assert not list(recovered.processed.glob(f"{STAGING_PREFIX}*"))

    # the next ordinary run recovers by itself and has nothing left to compute
    log: list[str] = []
    ensure_processed(project, log=log.append)
    assert state(project.processed) == new
    assert not (project.processed / JOURNAL).exists()
    assert not list(project.processed.glob(f"{STAGING_PREFIX}*"))
    assert not any(line.startswith("ran") for line in log), log


def run_to_end(project: Paths) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "analysis", "--root", str(project.root), "run", "--jobs", "2"],
        capture_output=True, text=True, encoding="utf-8", timeout=900, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_sigkill_during_reports_keeps_published_pages(published: Paths, tmp_path: Path) -> None:
    shutil.copytree(published.root, tmp_path / "project")
    _kill_reports(Paths(tmp_path / "project"))


def _kill_reports(project: Paths) -> None:
    published = state(project.reports)
    pages = {"index.html", "comparison.html", "districts/yangpu_2024.html", "districts/zhoushan_2024.html"}
    assert pages <= set(published)

    comparison = project.notebooks / "20_comparison_report.ipynb"
    comparison.write_bytes(comparison.read_bytes() + b"\n")  # only comparison.html is out of date
    proc = start_run(project)
    wait_for(lambda: any(project.reports.glob(f"{STAGING_PREFIX}*")) and kernels_of(proc.pid), proc)
    time.sleep(1.0)  # the kernel started: inside the notebook's execution
    assert kernels_of(proc.pid), "no kernel running at the moment of the kill"
    kill(proc)
    assert not (project.reports / JOURNAL).exists()
    assert state(project.reports) == published

    result = run_to_end(project)
    assert "skip  districts/yangpu_2024.html" in result.stdout
    after = state(project.reports)
    assert pages <= set(after)
    assert not list(project.reports.glob(f"{STAGING_PREFIX}*")) and not (project.reports / JOURNAL).exists()
    for page in ("districts/yangpu_2024.html", "districts/zhoushan_2024.html"):
        assert after[page] == published[page]
    build = json.loads((project.reports / ".build.json").read_text(encoding="utf-8"))
    assert {page for page in build if not page.startswith("_")} == pages - {"index.html"}
