"""Parallel efficiency of `run --scheduler`: the stages on 1 vs 2 local dask workers, N synthetic plans.

For N plans (the 5 real ones plus synthetic ones, benchmarks/synthetic.py, fixed seed) in a fresh
copy of the project, on a `distributed.LocalCluster(processes=True, threads_per_worker=1)` of 1 and
then 2 workers (and, for reference, without dask):
  - per-plan work: `structure_corpus` with the plans mapped to the cluster (read, clean, structure,
    connect and gather included), best of ROUNDS after one warm-up call (the workers import the package);
  - stages: `ensure_processed(force=True)`, every stage, of which only the per-plan work is distributed.
Parallel efficiency = t(1 worker) / (2 × t(2 workers)). Prints a Markdown section for results.md.

    PYTHONPATH=src .venv/bin/python benchmarks/dask_scaling.py --plans 100
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from distributed import LocalCluster
from scale import ROOT, scale_project
from synthetic import SEED, real_parts

from analysis.params import load_params
from analysis.paths import Paths
from analysis.pipeline import ensure_processed
from analysis.stages.dataset import structure_corpus
from analysis.stages.distribute import structure_corpus_on

ROUNDS = 2


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def quiet(line: str) -> None:
    """`ensure_processed`'s log, silenced."""


def measure(paths: Paths, workers: int | None) -> tuple[float, float]:
    """(per-plan work, all stages) seconds on `workers` local dask workers (None: no dask)."""
    params = load_params(paths.params)
    if workers is None:
        per_plan = min(timed(lambda: structure_corpus(paths.raw, params)) for _ in range(ROUNDS))
        return per_plan, timed(lambda: ensure_processed(paths, force=True, log=quiet, params=params))
    with LocalCluster(n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=":0") as cluster:
        address = cluster.scheduler_address
        structure_corpus_on(address, paths.raw, params)  # warm-up: each worker imports the package
        per_plan = min(timed(lambda: structure_corpus_on(address, paths.raw, params)) for _ in range(ROUNDS))
        stages = timed(lambda: ensure_processed(paths, force=True, log=quiet, params=params, scheduler=address))
    return per_plan, stages


def report(n: int, times: dict[str, tuple[float, float]], load: tuple[float, float]) -> str:
    """The Markdown section: times per setting and the efficiency ratios."""
    (p1, s1), (p2, s2), (p0, s0) = times["1 worker"], times["2 workers"], times["no dask"]
    rows = "\n".join(f"| {name} | {per_plan:.2f} s | {stages:.1f} s |" for name, (per_plan, stages) in times.items())
    return (
        f"## 7. `run --scheduler`: 1 vs 2 local dask workers ({n} plans)\n\n"
        f"`benchmarks/dask_scaling.py --plans {n}` on {platform.platform()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}, load average {load[0]:.1f} before and "
        f"{load[1]:.1f} after. The machine is shared with other engineers' runs: the numbers are noisy, compare "
        f"within the table only. {n} plans (5 real + synthetic, seed {SEED}); per-plan work best of {ROUNDS} after "
        "a warm-up, stages one `ensure_processed(force=True)` each.\n\n"
        "| setting | per-plan work (read, clean, structure) | all stages |\n|---|---|---|\n"
        f"{rows}\n\n"
        f"Parallel efficiency 1 → 2 workers, t1 / (2 × t2): per-plan work **{p1 / (2 * p2):.2f}**, all stages "
        f"**{s1 / (2 * s2):.2f}** (only the per-plan work is distributed; the set-wide stages run in the run's "
        f"own process either way). Cluster overhead at 1 worker vs no dask: per-plan work {p1 / p0:.2f}×, "
        f"stages {s1 / s0:.2f}×.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=100, help="plans in all (default: 100)")
    args = parser.parse_args()
    before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="dask_scaling_") as tmp:
        paths = scale_project(Path(tmp) / "project", args.plans, real_parts(ROOT / "data/raw", ROOT / "params"))
        times = {name: measure(paths, workers) for name, workers in
                 (("no dask", None), ("1 worker", 1), ("2 workers", 2))}
    print(report(args.plans, times, (before, os.getloadavg()[0])))


if __name__ == "__main__":
    main()
