"""Cost of one district page, broken down, for two code trees side by side (old: /work/main, new: this one).

    PYTHONPATH=src python benchmarks/pages.py PROJECT [--pages 40] [--old-src /work/main/src] [--rounds 2]

PROJECT is a project whose data/processed snapshot is built (e.g. a copy with synthetic plans:
benchmarks/scale.py `scale_project`, then `ensure_processed`); it needs 2 × `--pages` + 1 plans. For each
code tree, in rounds interleaved, a child process whose `analysis` (and its kernel's) comes from that
tree runs the first `--pages` district pages (after one warm-up page, not counted) one after another
on one warm kernel, exactly as a run does (runner.execute_job, then pages.export_page in the same
kernel), and times each page's execution and export; the kernel records each cell's time (nbclient
`record_timing`). A last pass profiles the next `--pages` pages inside the kernel (cProfile: data
loading, views, figure rendering, nbconvert, sanitiser, font subset, writes). Each tree and round
writes its pages to a folder of its own (two rounds of one tree must be byte-identical). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
# what a profiled page spends its time in: (label, file suffix, function) of cProfile's cumulative times
PARTS = {
    "execute": [
        ("load_report_data (params, snapshot check)", "views/data.py", "load_report_data"),
        ("IPython display formatting", "IPython/core/formatters.py", "format"),
        ("reading tables (first page of a kernel)", "views/snapshot.py", "read_table"),
        ("figure rendering (savefig)", "matplotlib/figure.py", "savefig"),
        ("HTML of tables (format + escape)", "views/fragments.py", "table"),
    ],
    "export": [
        ("export_page (all of the export)", "publish/pages.py", "export_page"),
        ("read executed notebook", "nbformat/__init__.py", "read"),
        ("nbconvert HTMLExporter", "exporters/templateexporter.py", "from_notebook_node"),
        ("figure alt texts (bs4)", "publish/pages.py", "describe_figures"),
        ("sanitiser (nh3)", "publish/pages.py", "sanitize"),
        ("font subset + base64", "publish/fonts.py", "font_face_css"),
        ("page write (atomic)", "analysis/files.py", "write_text_atomic"),
    ],
}
SECTIONS = ("header", "structure", "themes", "terms", "clusters", "similar", "changes", "tools", "evidence")


def cell_label(source: str) -> str | None:
    """The page section a district notebook cell displays (`display(*district.themes(…))` → themes)."""
    return next((name for name in SECTIONS if f"district.{name}(" in source), None)


def cell_seconds(notebook) -> dict[str, float]:
    """Seconds each section's cell took in the kernel (nbclient's recorded timing)."""
    from datetime import datetime

    found = {}
    for cell in notebook.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        label = cell_label("".join(cell.source)) if cell.cell_type == "code" else None
        if label and "shell.execute_reply" in timing:
            start, end = (datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                          for k in ("iopub.execute_input", "shell.execute_reply"))
            found[label] = (end - start).total_seconds()
    return found


PROFILE_ON = "import cProfile, sys\nsys.bench_profile = cProfile.Profile()\nsys.bench_profile.enable()"
PROFILE_OFF = "import sys\nsys.bench_profile.disable()\nsys.bench_profile.dump_stats({path!r})"


def cumulative(stats_path: Path, parts: list[tuple[str, str, str]]) -> dict[str, float]:
    """Cumulative seconds of each (label, file suffix, function) in a cProfile dump (outermost calls only)."""
    import pstats

    stats = pstats.Stats(str(stats_path)).stats  # (file, line, function) → (cc, nc, tt, ct, callers)
    found = {}
    for label, suffix, function in parts:
        keys = {key for key in stats if key[0].endswith(suffix) and key[2] == function}
        # a recursive or nested call counts once: only calls from outside the matched functions
        found[label] = sum(ct for key in keys for caller, (_, _, _, ct) in stats[key][4].items() if caller not in keys)
    return found


def child(project: Path, n_pages: int, out: Path) -> None:
    """Run the district pages on one warm kernel with the code on sys.path; JSON of timings to stdout."""
    import nbformat
    from nbclient import NotebookClient

    import analysis.publish.runner as runner
    from analysis.params import load_params
    from analysis.paths import Paths
    from analysis.publish.jobs import build_jobs
    from analysis.publish.provenance import run_manifest
    from analysis.stages.registry import snapshot_id, stage_keys
    from analysis.views.snapshot import read_table

    class Timed(NotebookClient):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "record_timing": True})

    runner.NotebookClient = Timed  # the benchmark's only change to the run's path: cells record their time
    paths = Paths.from_root(project)
    snapshot = snapshot_id(paths.processed)
    documents = read_table(paths, "documents", snapshot)
    report = load_params(paths.params).report
    jobs = [job for job in build_jobs(paths, documents, snapshot, report) if job.page.startswith("districts/")]
    jobs, profiled = jobs[: n_pages + 1], jobs[n_pages + 1: 2 * n_pages + 1]  # profiled: pages not yet seen
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.json"
    manifest.write_text(json.dumps(run_manifest(paths, stage_keys(paths), documents), ensure_ascii=False))
    kernel = runner.WarmKernel(paths.notebooks)

    def export(job, folder: Path = out) -> str:
        return (f"import analysis.publish.pages\nanalysis.publish.pages.export_page({str(folder / job.executed)!r}, "
                f"{str(folder / job.page)!r}, {job.title!r}, {job.page!r}, {list(job.plans)!r}, {str(manifest)!r})")

    pages, cells = [], {}
    try:
        for number, job in enumerate(jobs):
            start = time.perf_counter()
            executed = runner.execute_job(paths, job, out, report.cell_timeout, kernel)
            middle = time.perf_counter()
            kernel.run_code(export(job), report.cell_timeout)
            end = time.perf_counter()
            if number:  # the first page starts the kernel and imports everything
                pages.append({"page": job.page, "execute_s": middle - start, "export_s": end - middle})
                for label, seconds in cell_seconds(nbformat.read(executed, as_version=4)).items():
                    cells[label] = cells.get(label, 0.0) + seconds
        profiles = {}
        for part in ("execute", "export"):
            kernel.run_code(PROFILE_ON, 60)
            for job in profiled:
                if part == "execute":
                    runner.execute_job(paths, job, out / "profiled", report.cell_timeout, kernel)
                else:
                    kernel.run_code(export(job, out / "profiled"), report.cell_timeout)
            kernel.run_code(PROFILE_OFF.format(path=str(out / f"{part}.prof")), 60)
            profiles[part] = cumulative(out / f"{part}.prof", PARTS[part])
    finally:
        kernel.shutdown()
    n = len(pages)
    print(json.dumps({
        "pages": n, "execute_s": sum(p["execute_s"] for p in pages) / n,
        "export_s": sum(p["export_s"] for p in pages) / n,
        "cells_s": {label: seconds / n for label, seconds in cells.items()},
        "profiled_s": {part: {label: seconds / len(profiled) for label, seconds in found.items()}
                       for part, found in profiles.items()},
    }))


def run_child(src: Path, project: Path, n_pages: int, out: Path) -> dict:
    """`child` in a fresh process whose `analysis` (and its kernels') comes from `src`."""
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONHASHSEED": "0"}
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(project), "--pages", str(n_pages),
               "--out", str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{src}: page benchmark failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare_pages(out: Path) -> dict[str, int]:
    """The district pages of the rounds under `out`: how many the new tree wrote byte-identical in
    rounds 0 and 1, and how many show the same visible text in the old and the new tree (round 0;
    behaviour.page_text: hashes blanked, the code digest of the footer among them)."""
    from behaviour import page_text

    def read(tree: str, name: str) -> str:
        return (out / tree / "districts" / name).read_text(encoding="utf-8")

    names = sorted(p.name for p in (out / "new0" / "districts").glob("*.html"))
    again = [n for n in names if (out / "new1" / "districts" / n).is_file()]
    return {"pages": len(names), "rounds_compared": len(again),
            "identical_across_rounds": sum(read("new0", n) == read("new1", n) for n in again),
            "same_visible_text_as_old": sum(page_text(read("old0", n)) == page_text(read("new0", n)) for n in names)}


def measure(project: Path, trees: dict[str, Path], n_pages: int, rounds: int, out: Path) -> dict:
    """Each tree's rounds interleaved; the best round of each (shortest page), their ratio, the pages compared."""
    results: dict[str, list[dict]] = {name: [] for name in trees}
    load = os.getloadavg()[0]
    for number in range(rounds):
        for name, src in trees.items():
            results[name].append(run_child(src, project, n_pages, out / f"{name}{number}"))
            print(f"round {number} {name}: {results[name][-1]}", file=sys.stderr, flush=True)
    best = {name: min(runs, key=lambda r: r["execute_s"] + r["export_s"]) for name, runs in results.items()}
    per_page = {name: r["execute_s"] + r["export_s"] for name, r in best.items()}
    return {"machine": f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load_before": load,
            "load_after": os.getloadavg()[0], "trees": {k: str(v) for k, v in trees.items()}, "rounds": rounds,
            "all_rounds": results, "best": best, "per_page_s": per_page,
            "ratio_new_vs_old": per_page["new"] / per_page["old"]}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def markdown(result: dict, pages: dict[str, int]) -> str:
    """The section of results.md: per-page cost old vs new, the kernel's cells, the profiles."""
    old, new = result["best"]["old"], result["best"]["new"]

    def row(label: str, before: float, after: float) -> str:
        return f"| {label} | {ms(before)} | {ms(after)} | {after / before:.2f}× |" if before else \
            f"| {label} | {ms(before)} | {ms(after)} | — |"

    def overhead(r: dict) -> float:
        return r["execute_s"] - sum(r["cells_s"].values())

    lines = [
        HEADING, "",
        f"`benchmarks/pages.py` on {result['machine']}, {result['date']}, load average {result['load_before']:.1f} "
        f"before and {result['load_after']:.1f} after (a machine shared with other engineers' runs). Project: the 5 "
        "real plans and 95 synthetic ones (benchmarks/synthetic.py, seed 20240601, each its own district), snapshot "
        f"built once. Per tree, {old['pages']} district pages after a warm-up page, one after another on one warm "
        f"kernel, exactly as a run executes and exports them; {result['rounds']} rounds interleaved old/new, the "
        f"best round of each kept. Old: `{result['trees']['old']}` (main at 54e8aee); new: this branch.", "",
        "| per district page | before | after | after / before |", "|---|---|---|---|",
        row("**total (execute + export)**", result["per_page_s"]["old"], result["per_page_s"]["new"]),
        row("execute: papermill, reset, nbclient, the cells", old["execute_s"], new["execute_s"]),
        row("— of which outside the cells (reset, nbclient, papermill, notebook write)", overhead(old), overhead(new)),
        *(row(f"— cell `district.{name}`", old["cells_s"].get(name, 0.0), new["cells_s"].get(name, 0.0))
          for name in SECTIONS),
        row("export in the kernel (nbconvert, sanitiser, contents, font, write)", old["export_s"], new["export_s"]),
        "",
        f"Ratio after / before, per page: **{result['ratio_new_vs_old']:.3f}×** (goal ≤ 0.25×).", "",
        f"Inside the kernel, profiled (cProfile, the next {old['pages']} pages; cumulative time per page, inflated by "
        "the profiler, so compare within a row):", "",
        "| profiled part | before | after |", "|---|---|---|",
        *(f"| {part}: {label} | {ms(old['profiled_s'][part][label])} | {ms(new['profiled_s'][part][label])} |"
          for part in ("execute", "export") for label in old["profiled_s"][part]),
        "",
        "What each page repeated, and what replaced it: (1) the font subset — fontTools' subsetter executed "
        "every kept glyph's charstrings twice (closure, hint removal) and recompiled the CFF: about 1 s per page; "
        "harfbuzz's hb-subset (uharfbuzz, locked) cuts the same glyphs (outlines and widths checked equal in "
        "tests/test_page_cost.py) in tens of milliseconds, still cached by character set; (2) the kernel reset — "
        "IPython's `%reset -f` runs two full garbage collections over the whole heap (pandas, matplotlib, the "
        "tables): about 0.4 s per page; the reset now closes figures first and then `gc.freeze()`s what stays "
        "loaded, so a collection walks only what the page left (1 ms); (3) the params — `load_report_data` "
        "validated every params file per page; now once per kernel while the files keep their bytes; (4) the "
        "export — a new Jinja environment compiled the page template per page, the page was rendered twice (once "
        "to find its characters) and parsed twice by bs4 (alt texts, then contents); now the template is compiled "
        "once per process, the page rendered once with the font put in after, and one parse does both. Figure "
        "rendering is 0 here: a district page draws a figure only when its district has plans of several years "
        "(none of the synthetic plans).", "",
        f"Pages: of {pages['pages']} district pages, {pages['same_visible_text_as_old']} show the same visible text "
        f"old and new (behaviour.page_text); {pages['identical_across_rounds']} of {pages['rounds_compared']} are "
        "byte-identical between the new tree's two rounds.", "",
    ]
    return "\n".join(lines)


HEADING = "## Issue 24 §3: one district page, before and after"


def write_section(text: str) -> None:
    """Put `text` into results.md in place of its previous version (or at the end)."""
    path = HERE / "results.md"
    current = path.read_text(encoding="utf-8")
    if HEADING in current:
        before, after = current.split(HEADING, 1)
        rest = after.split("\n## ", 1)
        current = before.rstrip("\n") + "\n" + ("\n## " + rest[1] if len(rest) > 1 else "")
    path.write_text(current.rstrip("\n") + "\n\n" + text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--pages", type=int, default=40, help="district pages timed per round (default: %(default)s)")
    parser.add_argument("--old-src", type=Path, default=Path("/work/main/src"), help="the code to compare with")
    parser.add_argument("--new-src", type=Path, default=SRC, help="the changed code (default: this checkout's)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="where pages go (default: PROJECT/../pages_bench)")
    parser.add_argument("--result", type=Path, help="report a saved result (JSON of a previous run, pages in --out)")
    parser.add_argument("--write", action="store_true", help="put the section into benchmarks/results.md")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.project.resolve(), args.pages, args.out)
    out = args.out or args.project.resolve().parent / "pages_bench"
    if args.result:
        result = json.loads(args.result.read_text(encoding="utf-8"))
    else:
        trees = {"old": args.old_src.resolve(), "new": args.new_src.resolve()}
        result = measure(args.project.resolve(), trees, args.pages, args.rounds, out)
        print(json.dumps(result, indent=1))
    text = markdown(result, compare_pages(out))
    print(text, file=sys.stderr)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
