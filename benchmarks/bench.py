"""`make bench`: ratios measured in one run on this machine → benchmarks/results.md and results.json.

1. cold `make reports` (run_pipeline, all cores) vs the naive loop: papermill CLI, then
   `jupyter nbconvert --to html` CLI, for each report notebook one after another.
2. unchanged rerun vs the cold run.
3. throughput (raw characters per second) of clean + structure + tokenise items + theme counting
   over 1,000 synthetic plans with 1 and 2 workers, vs `jieba.lcut` over the same texts.
4. build_clusters on the ~25 k synthetic items: wall time and peak RSS (in a child process).

Timings are noisy on a shared machine: each configuration of 3 is timed ROUNDS times, interleaved,
and the fastest is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import jieba
import pandas as pd
from joblib.externals.loky import get_reusable_executor
from synthetic import real_parts, synthetic_plans

from analysis.batch import load_resources, process_texts
from analysis.clean import clean_plan
from analysis.paths import Paths
from analysis.structure import parse_plan

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
N_PLANS = 1000
ROUNDS = 3
BIN = Path(sys.executable).parent


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start



# --- 1 and 2: reports ---------------------------------------------------------------------------


def naive_loop(paths: Paths) -> int:
    """What a user would script: papermill then nbconvert, per notebook, one after another."""
    from analysis.report import build_jobs

    jobs = build_jobs(paths)
    out = paths.root / "naive"
    out.mkdir()
    for number, job in enumerate(jobs):
        executed = out / f"{number:02d}_{job.notebook}"
        subprocess.run([BIN / "papermill", "--no-progress-bar", "--cwd", paths.notebooks, "-y",
                        json.dumps(job.parameters), paths.notebooks / job.notebook, executed],
                       check=True, capture_output=True)
        subprocess.run([BIN / "jupyter", "nbconvert", "--to", "html", executed], check=True, capture_output=True)
    return len(jobs)


def bench_reports() -> dict:
    from analysis.pipeline import run_pipeline

    with tempfile.TemporaryDirectory() as naive_dir, tempfile.TemporaryDirectory() as run_dir:
        naive_paths, run_paths = Paths(ROOT).copy_inputs(Path(naive_dir)), Paths(ROOT).copy_inputs(Path(run_dir))
        jobs = os.cpu_count() or 1
        n_notebooks = 0

        def naive() -> None:
            nonlocal n_notebooks
            n_notebooks = naive_loop(naive_paths)

        naive_s = timed(naive)
        cold_s = timed(lambda: run_pipeline(run_paths, jobs=jobs))
        rerun_s = timed(lambda: run_pipeline(run_paths, jobs=jobs))
    return {"notebooks": n_notebooks, "jobs": jobs, "naive_s": naive_s, "cold_s": cold_s, "rerun_s": rerun_s}


# --- 3: throughput ------------------------------------------------------------------------------


def cold_workers() -> None:
    """Stop joblib's reusable worker pool, so the next parallel call starts fresh processes."""
    get_reusable_executor().shutdown(wait=True)


def bench_throughput(texts: list[str], params_dir: Path) -> dict:
    """Best of ROUNDS for each way of processing `texts`; dictionaries loaded before timing."""
    jieba.initialize()
    load_resources(params_dir)
    def nothing() -> None:
        pass

    runs: dict[str, tuple[Callable[[], None], Callable[[], object]]] = {  # name: (untimed setup, run)
        "jieba_s": (nothing, lambda: [jieba.lcut(text) for text in texts]),
        "pipeline_1w_s": (nothing, lambda: process_texts(texts, params_dir, n_jobs=1)),
        "pipeline_2w_cold_s": (cold_workers, lambda: process_texts(texts, params_dir, n_jobs=2)),
        "pipeline_2w_warm_s": (nothing, lambda: process_texts(texts, params_dir, n_jobs=2)),
        "pipeline_2w_fork_s": (nothing, lambda: process_texts(texts, params_dir, n_jobs=2, backend="multiprocessing")),
    }
    best = {name: float("inf") for name in runs}
    for _ in range(ROUNDS):
        for name, (setup, run) in runs.items():
            setup()
            best[name] = min(best[name], timed(run))
    return {"chars": sum(map(len, texts)), **best}


# --- 4: clusters --------------------------------------------------------------------------------


def synthetic_items(texts: list[str], params_dir: Path) -> pd.DataFrame:
    """items.csv columns for the synthetic plans (doc_id syn_0000…)."""
    resources = load_resources(params_dir)
    rows = []
    for number, text in enumerate(texts):
        structure = parse_plan(clean_plan(text, resources.clean).text, resources.structure)
        rows += [
            {"doc_id": f"syn_{number:04d}", "district": f"合成{number:04d}", "year": 2024,
             "section_no": item.section_no, "section_title": item.section_title, "item_no": item.item_no,
             "item_seq": item.item_seq, "text": item.text}
            for item in structure.items
        ]
    return pd.DataFrame(rows)


def clusters_child() -> None:
    """In a child process: time TF-IDF + clustering of the synthetic items; print JSON.

    The items are segmented first (the tokenize stage, timed on its own and reported beside it);
    build_clusters then gets the tokens, as the batch path hands them over.
    """
    from analysis.clusters import ClusterParams, build_clusters
    from analysis.tokenize import load_segmenter

    params_dir = ROOT / "params"
    items = synthetic_items(synthetic_plans(real_parts(ROOT / "data" / "raw", params_dir), N_PLANS), params_dir)
    segmenter = load_segmenter(params_dir)
    tokens: list[list[str]] = []
    tokenize_seconds = timed(lambda: tokens.extend(segmenter(text) for text in items["text"]))
    seconds = timed(lambda: build_clusters(items, params_dir, tokens=tokens))
    params = ClusterParams.from_yaml(params_dir / "clusters.yaml")
    print(json.dumps({"items": len(items), "seconds": seconds, "tokenize_seconds": tokenize_seconds,
                      "stability_runs": params.stability_runs_large, "resamples": params.neighbour_resamples,
                      "candidates": params.neighbour_candidates}))


def bench_clusters() -> dict:
    """Run `clusters_child` in a fresh process; peak RSS from RUSAGE_CHILDREN (KB on Linux).

    Call it before any other child process exists, so the peak is this child's own.
    """
    done = subprocess.run([sys.executable, __file__, "--clusters-child"], check=True, capture_output=True, text=True)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "peak_rss_mb": peak_mb}


# --- results ------------------------------------------------------------------------------------


def figures(reports: dict, throughput: dict, clusters: dict) -> dict[str, float]:
    return {
        "cold_vs_naive": round(reports["cold_s"] / reports["naive_s"], 4),
        "rerun_vs_cold": round(reports["rerun_s"] / reports["cold_s"], 4),
        "throughput_1w_vs_jieba": round(throughput["jieba_s"] / throughput["pipeline_1w_s"], 3),
        "throughput_2w_vs_jieba": round(throughput["jieba_s"] / throughput["pipeline_2w_fork_s"], 3),
        "cluster_25k_seconds": round(clusters["seconds"], 2),
        "cluster_25k_peak_rss_mb": round(clusters["peak_rss_mb"], 1),
    }


def markdown(result: dict[str, float], reports: dict, throughput: dict, clusters: dict, load_before: float) -> str:
    chars = throughput["chars"]

    def rate(key: str) -> str:
        return (f"{throughput[key]:.2f} s ({chars / throughput[key] / 1000:.0f} k chars/s, "
                f"{throughput['jieba_s'] / throughput[key]:.3f}×)")

    def check(ok: bool) -> str:
        return "met" if ok else "**not met**"

    return "\n".join([
        "# Benchmarks",
        "",
        f"`make bench` on {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}, load average {load_before:.1f} before and "
        f"{os.getloadavg()[0]:.1f} after (other work on the machine slows the parallel runs most). "
        "Ratios are measured in one run.",
        "",
        "| # | measurement | result | goal | |",
        "|---|---|---|---|---|",
        f"| 1 | cold `make reports` vs naive loop | {result['cold_vs_naive']}× | ≤ 0.4× "
        f"| {check(result['cold_vs_naive'] <= 0.4)} |",
        f"| 2 | unchanged rerun vs cold run | {result['rerun_vs_cold']}× | ≤ 0.05× "
        f"| {check(result['rerun_vs_cold'] <= 0.05)} |",
        f"| 3a | throughput, 1 worker vs `jieba.lcut` | {result['throughput_1w_vs_jieba']}× | ≥ 0.8× "
        f"| {check(result['throughput_1w_vs_jieba'] >= 0.8)} |",
        f"| 3b | throughput, 2 workers (fresh forked pool) vs `jieba.lcut` | {result['throughput_2w_vs_jieba']}× "
        "| ≥ 1.5× "
        f"| {check(result['throughput_2w_vs_jieba'] >= 1.5)} |",
        f"| 4 | build_clusters, {clusters['items']:,} items | {result['cluster_25k_seconds']} s, "
        f"{result['cluster_25k_peak_rss_mb']:.0f} MB peak RSS | ≤ 10 s, ≤ 2 GB "
        f"| {check(result['cluster_25k_seconds'] <= 10 and result['cluster_25k_peak_rss_mb'] <= 2048)} |",
        "",
        "## Details",
        "",
        f"1–2. {reports['notebooks']} report notebooks on the 5 real plans, each in a fresh copy of the project. "
        f"Naive loop (papermill CLI, then `jupyter nbconvert --to html` CLI, one after another): "
        f"{reports['naive_s']:.1f} s. `run_pipeline(jobs={reports['jobs']})` cold: {reports['cold_s']:.1f} s; "
        f"unchanged rerun: {reports['rerun_s']:.2f} s.",
        "",
        f"3. {N_PLANS:,} synthetic plans (benchmarks/synthetic.py, fixed seed), {chars:,} raw characters; best of "
        f"{ROUNDS} interleaved rounds; jieba's and the project's dictionaries loaded before timing.",
        f"   - `jieba.lcut` (global tokenizer, HMM on), one process: {rate('jieba_s')}",
        f"   - `process_texts(n_jobs=1)` (clean, structure, tokenise items, count themes): {rate('pipeline_1w_s')}",
        f"   - `process_texts(n_jobs=2, backend=\"multiprocessing\")`, a pool forked for the call from the "
        f"process that has loaded the dictionaries (3b): {rate('pipeline_2w_fork_s')}",
        f"   - `process_texts(n_jobs=2)` (loky), fresh workers: each imports the package and loads the "
        f"dictionaries first: {rate('pipeline_2w_cold_s')}",
        f"   - `process_texts(n_jobs=2)` (loky), workers reused from a previous call: {rate('pipeline_2w_warm_s')}",
        "",
        "4. `build_clusters(items, params, tokens=…)` with params/clusters.yaml as committed, in a child "
        "process: TF-IDF, k selection by stability (MiniBatchKMeans, k = 2…12, each fitted on all items and "
        f"refitted on {clusters['stability_runs']} subsample(s) (`stability_runs_large`), fits side by side on "
        "the cores; silhouette on a 2,000-item sample), labels, 2-D projection, plan × plan similarity and how "
        f"often each of a plan's {clusters['candidates']} most similar plans is its nearest over "
        f"{clusters['resamples']} item resamples. "
        "Segmenting the items first (the tokenize stage, one process) took "
        f"{clusters['tokenize_seconds']:.2f} s and is not in the figure; it scales out with `analysis.batch`. "
        "Building the items table (clean + structure) and the tokens happens in the same child, so they count "
        "towards the peak RSS but not the time.",
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.clusters_child:
        return clusters_child()
    load_before = os.getloadavg()[0]
    clusters = bench_clusters()  # first: RUSAGE_CHILDREN must see no other child
    print(f"4. clusters: {clusters}", flush=True)
    params_dir = ROOT / "params"
    texts = synthetic_plans(real_parts(ROOT / "data" / "raw", params_dir), N_PLANS)
    throughput = bench_throughput(texts, params_dir)
    print(f"3. throughput: {throughput}", flush=True)
    reports = bench_reports()
    print(f"1–2. reports: {reports}", flush=True)
    result = figures(reports, throughput, clusters)
    (HERE / "results.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    text = markdown(result, reports, throughput, clusters, load_before)
    (HERE / "results.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
