"""Cost of issue 23 at N plans: the three new stages, notebook 06's sections and the comparison cross-tabs.

`python benchmarks/exploratory.py --scales 5,100,300,1000`: per scale, in a child process, the 5 real
plans plus synthetic ones up to N (as `make bench` section 5 builds them), every stage run once
(`ensure_processed`, untimed), then each new stage run again alone into an empty folder (its inputs
read from data/processed) and timed: wall and CPU seconds and the peak RSS of the process while it
ran (sampled every SAMPLE_S). Then what shows them, in the same process: notebook 06's sections for
the default set and the comparison page's cross-tab sections for every plan set, each rendered as a
page would (figures to PNG, tables to HTML) — kernel start-up and HTML export left out. The goal:
with 1,000 plans the three stages and these views add at most GOAL_S to a cold run, within 2 GB.
`make bench` (bench.py, section 5) measures the same on the project of each cold run (`stage_costs`).
The section SECTION of results.md and "exploratory" of results.json are rewritten unless --no-write.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
NEW = ("keyness", "exploratory", "topics")
GOAL_S = 60.0
GOAL_PLANS = 1000
RSS_GOAL_MB = 2048
SAMPLE_S = 0.05
SECTION = "## 8. Issue 23: exploratory stages and views at scale"


def peak_rss(run: Callable[[], object]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB of this process) while `run()` runs."""
    process, peak, done = psutil.Process(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            done.wait(SAMPLE_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start, cpu = time.perf_counter(), time.process_time()
    try:
        run()
    finally:
        seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
        done.set()
        sampler.join()
    return seconds, cpu_s, max(peak[0], process.memory_info().rss) / 2**20


def render(shown: list) -> None:
    """What a page does with a section's objects: figures to PNG, the rest to HTML."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    for item in shown:
        if isinstance(item, Figure):
            item.savefig(io.BytesIO(), format="png")
            plt.close(item)
        else:
            item._repr_html_()


def view_sections(root: Path) -> dict[str, Callable[[], None]]:
    """Notebook 06 for the default set and the comparison cross-tab sections of every set, each a call."""
    from analysis.params.report import DEFAULT_SET
    from analysis.views.data import load_report_data, set_ids
    from analysis.views.pages import comparison, structure

    data = load_report_data(root)
    sets = [DEFAULT_SET, *sorted(data.params.report.sets)]
    ids = {name: set_ids(data, name) for name in sets}
    default = ids[DEFAULT_SET]
    sections: dict[str, Callable[[], None]] = {
        f"06 {name}": (lambda show=show: render(show(data, default, DEFAULT_SET)))
        for name, show in (("header", structure.header), ("crosstabs", structure.crosstabs),
                           ("tool_theme", structure.tool_theme), ("correspondence", structure.correspondence),
                           ("trees", structure.trees), ("topics", structure.topics))}
    sections["06 keyness"] = lambda: render(structure.keyness(data, default, 10))
    for name in sets:
        sections[f"comparison {name}"] = lambda name=name: render(
            comparison.crosstabs(data, ids[name], name) + comparison.tool_theme(data, ids[name], name))
    return sections


def measure_project(root: Path) -> dict:
    """Each new stage alone, then each view section, on the project at `root` (processed data present)."""
    from analysis.params import load_params
    from analysis.paths import Paths
    from analysis.stages.dataset import structure_corpus
    from analysis.stages.registry import STAGES

    paths = Paths.from_root(root)
    params = load_params(paths.params)
    tables = structure_corpus(paths.raw, params)
    stages, views = {}, {}
    with tempfile.TemporaryDirectory(prefix="bench_explore_out_") as out:
        for stage in STAGES:
            if stage.name in NEW:
                run = stage.function()
                seconds, cpu_s, rss = peak_rss(lambda run=run: run(tables, params, paths, Path(out)))
                stages[stage.name] = {"s": round(seconds, 2), "cpu_s": round(cpu_s, 2), "peak_rss_mb": round(rss)}
    for name, show in view_sections(root).items():
        seconds, cpu_s, rss = peak_rss(show)
        views[name] = {"s": round(seconds, 2), "cpu_s": round(cpu_s, 2), "peak_rss_mb": round(rss)}
    return {"plans": len(tables.documents), "stages": stages, "views": views}


def stage_costs(root: Path) -> dict | None:
    """`measure_project` in a child process (its own peak RSS), or None when it fails."""
    done = subprocess.run([sys.executable, str(Path(__file__)), "--project", str(root)], capture_output=True,
                          text=True)
    if done.returncode:
        print(f"exploratory costs failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}", flush=True)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_scale(n: int) -> dict | None:
    """`stage_costs` on a fresh n-plan project whose stages have all run once (untimed)."""
    from scale import ROOT, scale_project
    from synthetic import real_parts

    from analysis.pipeline import ensure_processed

    with tempfile.TemporaryDirectory(prefix=f"bench_explore_{n}_") as tmp:
        paths = scale_project(Path(tmp) / "project", n, real_parts(ROOT / "data" / "raw", ROOT / "params"))
        ensure_processed(paths, log=lambda line: None)
        return stage_costs(paths.root)


def totals(costs: dict) -> tuple[float, float, float]:
    """(seconds of the three stages, seconds of the views, the largest peak RSS in MB)."""
    stages, views = costs["stages"].values(), costs["views"].values()
    return (sum(c["s"] for c in stages), sum(c["s"] for c in views),
            max(c["peak_rss_mb"] for c in [*stages, *views]))


def verdict(costs: dict) -> str:
    stage_s, view_s, rss = totals(costs)
    if costs["plans"] != GOAL_PLANS:
        return "—"
    missed = [what for what, ok in (("time", stage_s + view_s <= GOAL_S), ("memory", rss <= RSS_GOAL_MB)) if not ok]
    return "met" if not missed else f"**not met** ({', '.join(missed)})"


def cost_row(costs: dict) -> str:
    stage_s, view_s, rss = totals(costs)
    cells = [f"{costs['plans']:,}",
             *(f"{costs['stages'][name]['s']:.1f} s ({costs['stages'][name]['cpu_s']:.1f})" for name in NEW),
             f"{stage_s:.1f} s", f"{view_s:.1f} s", f"**{stage_s + view_s:.1f} s**",
             f"≤ {GOAL_S:.0f} s" if costs["plans"] == GOAL_PLANS else "—", f"{rss:,.0f} MB",
             f"≤ {RSS_GOAL_MB} MB" if costs["plans"] == GOAL_PLANS else "—", verdict(costs)]
    return f"| {' | '.join(cells)} |"


def section(runs: dict[int, dict | None], when: str) -> str:
    """The markdown of the stage costs at each scale (a failed measurement: one line saying so)."""
    rows = [cost_row(costs) if costs else f"| {n:,} | failed | | | | | | | | | | |" for n, costs in runs.items()]
    views = next((c["views"] for c in reversed(list(runs.values())) if c), {})
    largest = max((n for n, c in runs.items() if c), default=0)
    detail = "; ".join(f"{name} {cost['s']:.1f} s" for name, cost in views.items())
    return "\n".join([
        SECTION, "", when, "",
        "Per stage: wall seconds (CPU seconds in brackets) of the stage run alone into an empty folder, its "
        "inputs read from data/processed. Views: notebook 06's sections for the default set and the comparison "
        "page's cross-tab sections of every plan set, rendered as a page would (figures to PNG, tables to "
        "HTML; kernel start-up and HTML export not included). Peak RSS: the process while a stage or view ran.",
        "",
        "| plans | keyness | exploratory | topics | stages | views | total | goal | peak RSS | goal | |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows, "",
        f"Views at {largest:,} plans: {detail}." if views else "", "",
    ])


def replace_section(text: str, heading: str, body: str) -> str:
    """`text` with the section under `heading` (to the next `## ` heading) replaced by `body`, or
    `body` appended when there is no such section."""
    if heading not in text:
        return text.rstrip("\n") + "\n\n" + body
    before, after = text.split(heading, 1)
    rest = after.split("\n## ", 1)
    return before + body.rstrip("\n") + "\n" + ("\n## " + rest[1] if len(rest) > 1 else "")


def write_results(runs: dict[int, dict | None], when: str) -> None:
    """Section SECTION of results.md and "exploratory" of results.json."""
    json_path, md_path = HERE / "results.json", HERE / "results.md"
    fields = json.loads(json_path.read_text(encoding="utf-8")) if json_path.is_file() else {}
    fields["exploratory"] = {str(n): costs for n, costs in runs.items()}
    json_path.write_text(json.dumps(fields, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    text = md_path.read_text(encoding="utf-8") if md_path.is_file() else "# Benchmarks\n"
    md_path.write_text(replace_section(text, SECTION, section(runs, when)), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="5,1000")
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)  # the child: one project, JSON out
    parser.add_argument("--no-write", action="store_true", help="print only; leave results.md/json alone")
    args = parser.parse_args()
    if args.project:
        print(json.dumps(measure_project(args.project)))
        return 0
    runs = {}
    for n in (int(s) for s in args.scales.split(",")):
        runs[n] = measure_scale(n)
        print(cost_row(runs[n]) if runs[n] else f"{n} plans: failed", flush=True)
    from bench import machine

    when = f"`python benchmarks/exploratory.py --scales {args.scales}` on {machine(psutil.getloadavg()[0])}."
    print(section(runs, when))
    if not args.no_write:
        write_results(runs, when)
    return 0


if __name__ == "__main__":
    sys.exit(main())
