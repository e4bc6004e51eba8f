"""Cost of the issue-23 stages (keyness, exploratory, topics) at N plans: wall time of each stage, in one process.

`python benchmarks/exploratory.py --scales 5,1000`: the 5 real plans plus synthetic ones up to N (as
`make bench` section 5 builds them), the upstream stages run once, then each new stage's
`run_stage` timed alone. Printed as one line per scale and stage; the goal is that the three add at
most 60 s at 1,000 plans.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench import ROOT, scale_project
from synthetic import real_parts

from analysis.params import load_params
from analysis.stages.dataset import structure_corpus
from analysis.stages.registry import STAGES

NEW = ("keyness", "exploratory", "topics")
GOAL_S = 60.0


def measure(n: int) -> dict[str, float]:
    """Seconds per new stage at `n` plans (upstream stages run first, untimed)."""
    with tempfile.TemporaryDirectory(prefix=f"bench_explore_{n}_") as tmp:
        paths = scale_project(Path(tmp) / "project", n, real_parts(ROOT / "data" / "raw", ROOT / "params"))
        params = load_params(paths.params)
        tables = structure_corpus(paths.raw, params)
        out = Path(tmp) / "out"
        out.mkdir()
        times = {}
        for stage in STAGES:
            start = time.perf_counter()
            stage.function()(tables, params, paths, out)
            if stage.name in NEW:
                times[stage.name] = time.perf_counter() - start
        return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="5,1000")
    scales = [int(s) for s in parser.parse_args().scales.split(",")]
    for n in scales:
        times = measure(n)
        total = sum(times.values())
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in times.items())
        print(f"{n} plans: {parts}; total {total:.1f} s (goal at 1,000 plans: <= {GOAL_S:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
