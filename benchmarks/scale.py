"""Section 5 of `make bench`: `python -m analysis run` on a project of N plans (the real ones plus
synthetic ones), cold and unchanged, with the peak RSS of its whole process tree."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
from exploratory import stage_costs
from synthetic import SEED, Parts, real_parts, synthetic_corpus

from analysis.corpus.manifest import Plan, read_manifest, write_manifest
from analysis.paths import Paths

ROUNDS = 3
SAMPLE_S = 0.2  # RSS sampling interval
ENV = {**os.environ, "PYTHONHASHSEED": "0"}
PUBLISHED = re.compile(r"published (\d+) report\(s\)")
BAR = re.compile(r"(\d+)/(\d+) \[(?:(\d+):)?(\d+):(\d+)<")  # the run's report bar (tqdm): done/total [elapsed<
COLD_GOALS_S = {300: 5 * 60, 1000: 15 * 60}
RSS_GOALS_MB = {1000: 2048}
RERUN_GOAL_S = 0.5
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Watched:
    """One command run to its end (or killed): wall time, peak RSS of its process tree, stdout."""

    seconds: float
    peak_rss_mb: float
    stdout: str
    status: str  # "ok", "timed out after … min", or "exit N: last line of stderr"


@dataclass(frozen=True)
class ScaleRun:
    """Section 5 for one corpus size; the measurements are None when the cold run did not succeed."""

    plans: int
    status: str
    cold_s: float | None = None
    peak_rss_mb: float | None = None
    pages: int | None = None
    rerun_s: float | None = None
    pages_s: float | None = None  # the cold run's pages phase (its report bar's elapsed time)
    stages: dict | None = None  # benchmarks/exploratory.py's measurement on the cold run's project

    @property
    def s_per_report(self) -> float | None:
        return self.cold_s / self.pages if self.cold_s is not None and self.pages else None

    @property
    def s_per_page(self) -> float | None:
        return self.pages_s / self.pages if self.pages_s is not None and self.pages else None

    def as_json(self) -> dict:
        rounded = {key: round(value, 3) if isinstance(value, float) else value for key, value in asdict(self).items()}
        per_report = None if self.s_per_report is None else round(self.s_per_report, 3)
        per_page = None if self.s_per_page is None else round(self.s_per_page, 3)
        return {**rounded, "s_per_report": per_report, "s_per_page": per_page, "goals_met": self.goals()}

    def goals(self) -> dict[str, bool]:
        """Each goal that applies to this size: met or not (a run that did not finish meets none)."""
        limits = {"cold_s": COLD_GOALS_S.get(self.plans), "peak_rss_mb": RSS_GOALS_MB.get(self.plans),
                  "rerun_s": RERUN_GOAL_S}
        return {key: getattr(self, key) is not None and getattr(self, key) <= limit
                for key, limit in limits.items() if limit is not None}


def tree_rss(root: psutil.Process) -> int:
    """The sum of RSS (bytes) over `root` and all its descendants; 0 once `root` has exited."""
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += process.memory_info().rss
    return total


def kill_tree(root: psutil.Process) -> None:
    """SIGKILL `root` and every descendant (Jupyter kernels run in process groups of their own)."""
    with contextlib.suppress(psutil.NoSuchProcess):
        for process in [*root.children(recursive=True), root]:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()


def watch(command: list[str], timeout_s: float, logs: Path) -> Watched:
    """Run `command`, sampling the RSS of its process tree every SAMPLE_S; kill the tree after
    `timeout_s`. The wall time ends when the process exits (a waiting thread notes the moment).
    stdout and stderr go to files under `logs`, so a chatty run never blocks on a full pipe."""
    logs.mkdir(parents=True)
    with (logs / "stdout").open("wb") as out, (logs / "stderr").open("wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, env=ENV)
        root = psutil.Process(child.pid)
        ended: list[float] = []
        exited = threading.Event()

        def wait() -> None:
            child.wait()
            ended.append(time.perf_counter())
            exited.set()

        threading.Thread(target=wait, daemon=True).start()
        peak, timed_out = 0, False
        while not exited.is_set():
            peak = max(peak, tree_rss(root))
            if exited.wait(SAMPLE_S):
                break
            if time.perf_counter() - start > timeout_s:
                timed_out = True
                kill_tree(root)
                exited.wait()
    errors = (logs / "stderr").read_text(encoding="utf-8", errors="replace").strip().splitlines()
    if timed_out:
        status = f"timed out after {timeout_s / 60:.3g} min"
    elif child.returncode:
        status = f"exit {child.returncode}: {errors[-1] if errors else 'no message'}"
    else:
        status = "ok"
    stdout = (logs / "stdout").read_text(encoding="utf-8", errors="replace")
    return Watched(ended[0] - start, peak / 2**20, stdout, status)


def pages_seconds(logs: Path) -> float | None:
    """Wall time of a run's pages: its report bar's elapsed time when complete (1 s resolution)."""
    done = [bar for bar in BAR.finditer((logs / "stderr").read_text(encoding="utf-8", errors="replace"))
            if bar.group(1) == bar.group(2)]
    if not done:
        return None
    hours, minutes, secs = done[-1].group(3, 4, 5)
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(secs)


def analysis(paths: Paths, *arguments: str) -> list[str]:
    """The command line of `python -m analysis` on the project at `paths`."""
    return [sys.executable, "-m", "analysis", "--root", str(paths.root), *arguments]


def scale_project(target: Path, n: int, parts: Parts) -> Paths:
    """A copy of the project's inputs at `target` with synthetic plans added up to `n` plans in all:
    the files and manifest rows written directly (as `analysis add` would), then `analysis check`."""
    paths = Paths(ROOT).copy_inputs(target)
    plans = read_manifest(paths.raw)
    for synthetic in synthetic_corpus(parts, n - len(plans)):
        data = synthetic.text.encode("utf-8")
        plans.append(Plan(
            doc_id=synthetic.doc_id, district=synthetic.district, region="合成市", admin_level="区",
            year=synthetic.year, title=f"{synthetic.year}年{synthetic.district}区教育局工作要点",
            source=f"benchmarks/synthetic.py, seed {SEED}", file=f"{synthetic.doc_id}.txt",
            completeness="complete", sha256=hashlib.sha256(data).hexdigest(),
        ))
        (paths.raw / f"{synthetic.doc_id}.txt").write_bytes(data)
    write_manifest(paths.raw, plans)
    check = subprocess.run(analysis(paths, "check"), capture_output=True, text=True, env=ENV)
    if check.returncode:
        raise RuntimeError(f"`analysis check` refused the {n}-plan corpus:\n{check.stderr}")
    return paths


def measure_scale(n: int, parts: Parts, timeout_s: float) -> ScaleRun:
    """Section 5 for `n` plans: one cold run of a fresh copy, then ROUNDS unchanged reruns (fastest kept)."""
    with tempfile.TemporaryDirectory(prefix=f"bench_{n}_") as tmp:
        paths = scale_project(Path(tmp) / "project", n, parts)
        cold = watch(analysis(paths, "run"), timeout_s, Path(tmp) / "cold")
        published = PUBLISHED.search(cold.stdout)
        if cold.status != "ok" or not published:
            return ScaleRun(n, cold.status if cold.status != "ok" else "no 'published N report(s)' line",
                            peak_rss_mb=cold.peak_rss_mb)
        reruns = [watch(analysis(paths, "run"), timeout_s, Path(tmp) / f"rerun{number}") for number in range(ROUNDS)]
        stages = stage_costs(paths.root)
        pages_s = pages_seconds(Path(tmp) / "cold")
    problems = [rerun.status for rerun in reruns if rerun.status != "ok"]
    problems += [f"rerun {match.group()}" for rerun in reruns if (match := PUBLISHED.search(rerun.stdout))]
    return ScaleRun(n, problems[0] if problems else "ok", cold.seconds, cold.peak_rss_mb, int(published.group(1)),
                    min(rerun.seconds for rerun in reruns), pages_s, stages)


def bench_scale(scales: list[int], timeout_s: float) -> dict[int, ScaleRun]:
    parts = real_parts(ROOT / "data" / "raw", ROOT / "params")
    runs = {}
    for n in scales:
        runs[n] = measure_scale(n, parts, timeout_s)
        print(f"5. scale: {runs[n]}", flush=True)
    return runs


# --- results ------------------------------------------------------------------------------------
