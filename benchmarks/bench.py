"""`make bench`: ratios measured in one run on this machine → benchmarks/results.md and results.json.

1. cold `make reports` (`python -m analysis run`, all cores, the 5-plan row of 5.) vs the naive
   loop: papermill CLI, then `jupyter nbconvert --to html` CLI, for each report notebook one after another.
2. unchanged rerun vs the cold run.
3. throughput (raw characters per second) of clean + structure + tokenise items + theme counting
   over 1,000 synthetic plans, with the pipeline's own functions in one process, vs `jieba.lcut`
   over the same texts. (The 2-worker figures went with `analysis.batch`, a second pipeline path
   that no run used, removed in issue 20: a run parallelises its stages and notebooks instead.)
4. build_clusters on the ~25 k synthetic items: wall time and peak RSS (in a child process).
5. end-to-end scale: `python -m analysis run` on a fresh copy of the project holding the 5 real plans
   plus synthetic ones, for N plans in all (--scales, default 5,100,300,1000): cold wall time, peak
   RSS of the process tree (kernels included), time per published report, unchanged rerun; then, on
   the same project, the issue-23 stages and views alone (benchmarks/exploratory.py, its own section).

`--only scale` runs section 5 alone and keeps sections 1–4 of the previous results.
Timings are noisy on a shared machine: each configuration of 3 is timed ROUNDS times, interleaved,
and the fastest is kept; so is each unchanged rerun of 5. Cold runs of 5 are timed once.
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
from dataclasses import dataclass
from pathlib import Path

import jieba
import pandas as pd
from exploratory import SECTION, replace_section, section
from scale import COLD_GOALS_S, RERUN_GOAL_S, ROOT, ROUNDS, RSS_GOALS_MB, SAMPLE_S, ScaleRun, bench_scale
from synthetic import SEED, real_parts, synthetic_plans

from analysis.corpus.clean import clean_plan
from analysis.corpus.manifest import read_manifest
from analysis.corpus.structure import parse_plan
from analysis.params.clean import CleanParams, StructureParams
from analysis.params.themes import ThemesParams
from analysis.paths import Paths
from analysis.text.dictionary import Dictionary, theme_lexicon
from analysis.text.tokenize import Segmenter, clear_segmentations, load_segmenter

HERE = Path(__file__).resolve().parent
N_PLANS = 1000
BIN = Path(sys.executable).parent
SCALES = (5, 100, 300, 1000)
TIMEOUT_MIN = 40.0  # per cold run (and per rerun): then the process tree is killed
# Goals on this machine: cold run seconds and peak RSS (MB) at some sizes, the unchanged rerun at all.
COLD_VS_NAIVE_GOAL = 0.4
SCALE_HEADING = "## 5. End-to-end scale"


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


# --- 1 and 2: reports ---------------------------------------------------------------------------


def naive_loop(paths: Paths) -> int:
    """What a user would script: the stages once, then papermill and nbconvert per notebook, one
    after another."""
    from analysis.params import load_params
    from analysis.pipeline import ensure_processed
    from analysis.publish.jobs import build_jobs
    from analysis.stages.registry import snapshot_id
    from analysis.views.snapshot import read_table

    ensure_processed(paths, log=lambda line: None)
    snapshot = snapshot_id(paths.processed)
    jobs = build_jobs(paths, read_table(paths, "documents", snapshot), snapshot, load_params(paths.params).report)
    out = paths.root / "naive"
    out.mkdir()
    for number, job in enumerate(jobs):
        executed = out / f"{number:02d}_{job.notebook}"
        subprocess.run([BIN / "papermill", "--no-progress-bar", "--cwd", paths.notebooks, "-y",
                        json.dumps(job.parameters), paths.notebooks / job.notebook, executed],
                       check=True, capture_output=True)
        subprocess.run([BIN / "jupyter", "nbconvert", "--to", "html", executed], check=True, capture_output=True)
    return len(jobs)


def bench_naive() -> dict:
    """The naive loop on a fresh copy of the project (the 5 real plans)."""
    with tempfile.TemporaryDirectory() as naive_dir:
        naive_paths = Paths(ROOT).copy_inputs(Path(naive_dir))
        n_notebooks = 0

        def naive() -> None:
            nonlocal n_notebooks
            n_notebooks = naive_loop(naive_paths)

        naive_s = timed(naive)
    return {"notebooks": n_notebooks, "naive_s": naive_s}


def bench_reports(naive: dict, real: ScaleRun) -> dict:
    """Sections 1–2: the naive loop against the cold and unchanged runs on the real plans."""
    if real.cold_s is None or real.rerun_s is None:
        raise RuntimeError(f"`analysis run` on the {real.plans} real plans: {real.status}")
    return {**naive, "jobs": os.cpu_count() or 1, "cold_s": real.cold_s, "rerun_s": real.rerun_s}


# --- 3: throughput ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """What processing a plan needs, loaded from params/ before timing."""

    clean: CleanParams
    structure: StructureParams
    segmenter: Segmenter
    lexicon: Dictionary


def load_rules(params_dir: Path) -> Rules:
    return Rules(CleanParams.from_yaml(params_dir / "clean.yaml"),
                 StructureParams.from_yaml(params_dir / "structure.yaml"),
                 load_segmenter(params_dir), theme_lexicon(ThemesParams.from_yaml(params_dir / "themes.yaml")))


def process_plans(texts: list[str], rules: Rules) -> int:
    """The pipeline's per-plan work on raw texts, in this process: clean and structure (as the
    dataset stage does), tokenise the items and count theme mentions (as the themes stage does).
    Returns the number of item tokens."""
    tokens = 0
    for text in texts:
        cleaned = clean_plan(text, rules.clean)
        items = parse_plan(cleaned.text, rules.structure).items
        tokens += sum(len(rules.segmenter.tokens(item.text)) for item in items)
        rules.lexicon.count(cleaned.text)
    return tokens


def bench_throughput(texts: list[str], params_dir: Path) -> dict:
    """Best of ROUNDS for each way of processing `texts`; dictionaries loaded before timing, and
    the segmenter's cache emptied before each pipeline round."""
    jieba.initialize()
    rules = load_rules(params_dir)

    def nothing() -> None:
        pass

    runs: dict[str, tuple[Callable[[], None], Callable[[], object]]] = {  # name: (untimed setup, run)
        "jieba_s": (nothing, lambda: [jieba.lcut(text) for text in texts]),
        "pipeline_1w_s": (clear_segmentations, lambda: process_plans(texts, rules)),
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
    clean_rules = CleanParams.from_yaml(params_dir / "clean.yaml")
    structure_rules = StructureParams.from_yaml(params_dir / "structure.yaml")
    rows = []
    for number, text in enumerate(texts):
        structure = parse_plan(clean_plan(text, clean_rules).text, structure_rules)
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
    build_clusters then gets the tokens, as a caller that already has them would.
    """
    from analysis.params import load_params
    from analysis.stages.clusters import build_clusters
    from analysis.text.tokenize import load_segmenter

    params_dir = ROOT / "params"
    items = synthetic_items(synthetic_plans(real_parts(ROOT / "data" / "raw", params_dir), N_PLANS), params_dir)
    segmenter = load_segmenter(params_dir)
    tokens: list[list[str]] = []
    tokenize_seconds = timed(lambda: tokens.extend(segmenter(text) for text in items["text"]))
    params = load_params(params_dir)
    seconds = timed(lambda: build_clusters(items, params, tokens=tokens))
    settings = params.clusters
    print(json.dumps({"items": len(items), "seconds": seconds, "tokenize_seconds": tokenize_seconds,
                      "stability_runs": settings.stability_runs_large, "resamples": settings.neighbour_resamples,
                      "candidates": settings.neighbour_candidates}))


def bench_clusters() -> dict:
    """Run `clusters_child` in a fresh process; peak RSS from RUSAGE_CHILDREN (KB on Linux).

    Call it before any other child process exists, so the peak is this child's own.
    """
    done = subprocess.run([sys.executable, __file__, "--clusters-child"], check=True, capture_output=True, text=True)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "peak_rss_mb": peak_mb}


def mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


def machine(load_before: float) -> str:
    return (f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{time.strftime('%Y-%m-%d %H:%M')}, load average {load_before:.1f} before and "
            f"{os.getloadavg()[0]:.1f} after")


def figures(reports: dict, throughput: dict, clusters: dict) -> dict[str, float]:
    return {
        "cold_vs_naive": round(reports["cold_s"] / reports["naive_s"], 4),
        "rerun_vs_cold": round(reports["rerun_s"] / reports["cold_s"], 4),
        "throughput_1w_vs_jieba": round(throughput["jieba_s"] / throughput["pipeline_1w_s"], 3),
        "cluster_25k_seconds": round(clusters["seconds"], 2),
        "cluster_25k_peak_rss_mb": round(clusters["peak_rss_mb"], 1),
    }


def markdown(result: dict[str, float], reports: dict, throughput: dict, clusters: dict, load_before: float) -> str:
    chars = throughput["chars"]

    def rate(key: str) -> str:
        return (f"{throughput[key]:.2f} s ({chars / throughput[key] / 1000:.0f} k chars/s, "
                f"{throughput['jieba_s'] / throughput[key]:.3f}×)")

    return "\n".join([
        "# Benchmarks",
        "",
        f"`make bench` on {machine(load_before)} (other work on the machine slows the parallel runs most). "
        "Ratios are measured in one run.",
        "",
        "| # | measurement | result | goal | |",
        "|---|---|---|---|---|",
        f"| 1 | cold `make reports` vs naive loop | {result['cold_vs_naive']}× | ≤ {COLD_VS_NAIVE_GOAL}× "
        f"| {mark(result['cold_vs_naive'] <= COLD_VS_NAIVE_GOAL)} |",
        f"| 2 | unchanged rerun vs cold run | {result['rerun_vs_cold']}× | ≤ 0.05× "
        f"| {mark(result['rerun_vs_cold'] <= 0.05)} |",
        f"| 3 | throughput, one process vs `jieba.lcut` | {result['throughput_1w_vs_jieba']}× | ≥ 0.8× "
        f"| {mark(result['throughput_1w_vs_jieba'] >= 0.8)} |",
        f"| 4 | build_clusters, {clusters['items']:,} items | {result['cluster_25k_seconds']} s, "
        f"{result['cluster_25k_peak_rss_mb']:.0f} MB peak RSS | ≤ 10 s, ≤ 2 GB "
        f"| {mark(result['cluster_25k_seconds'] <= 10 and result['cluster_25k_peak_rss_mb'] <= 2048)} |",
        "",
        "## Details",
        "",
        f"1–2. {reports['notebooks']} report notebooks on the 5 real plans, each in a fresh copy of the project. "
        f"Naive loop (papermill CLI, then `jupyter nbconvert --to html` CLI, one after another): "
        f"{reports['naive_s']:.1f} s. `python -m analysis run` ({reports['jobs']} notebooks at a time; the 5-plan "
        f"row of section 5) cold: {reports['cold_s']:.1f} s; unchanged rerun (fastest of {ROUNDS}): "
        f"{reports['rerun_s']:.2f} s.",
        "",
        f"3. {N_PLANS:,} synthetic plans (benchmarks/synthetic.py, fixed seed), {chars:,} raw characters; best of "
        f"{ROUNDS} interleaved rounds; jieba's and the project's dictionaries loaded before timing. The synthetic "
        "plans reuse the real plans' items, and the segmenter segments an identical text once per round, so the "
        "pipeline beats plain jieba here; on 1,000 distinct plans expect about 1× (1.09× when segmentations "
        "were not shared). The former 2-worker figures (3b) went with `analysis.batch`, a second pipeline path "
        "that no run used (removed in issue 20); a run parallelises its stages and notebooks instead.",
        f"   - `jieba.lcut` (global tokenizer, HMM on), one process: {rate('jieba_s')}",
        f"   - `clean_plan`, `parse_plan`, the segmenter's item tokens and the lexicon's `count`, one process: "
        f"{rate('pipeline_1w_s')}",
        "",
        "4. `build_clusters(items, params, tokens=…)` with params/clusters.yaml as committed, in a child "
        "process: TF-IDF, k selection by stability (MiniBatchKMeans, k = 2…12, each fitted on all items and "
        f"refitted on {clusters['stability_runs']} subsample(s) (`stability_runs_large`), fits side by side on "
        "the cores; silhouette on a 2,000-item sample), labels, 2-D projection, plan × plan similarity and how "
        f"often each of a plan's {clusters['candidates']} most similar plans is its nearest over "
        f"{clusters['resamples']} item resamples. "
        "Segmenting the items first (the tokenize stage, one process) took "
        f"{clusters['tokenize_seconds']:.2f} s and is not in the figure. "
        "Building the items table (clean + structure) and the tokens happens in the same child, so they count "
        "towards the peak RSS but not the time.",
        "",
    ])


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"
    return f"{value:.0f} s ({value / 60:.1f} min)"


def limit(goal: float | None, unit: str) -> str:
    return "—" if goal is None else f"≤ {goal:g} {unit}"


def scale_row(run: ScaleRun) -> str:
    goals = run.goals()
    missed = [name for name, ok in goals.items() if not ok]
    verdict = mark(not missed) + (f" ({', '.join(missed)})" if missed else "")
    cells = [
        f"{run.plans:,}",
        seconds(run.cold_s),
        limit(COLD_GOALS_S.get(run.plans), "s"),
        "—" if run.peak_rss_mb is None else f"{run.peak_rss_mb:,.0f} MB",
        limit(RSS_GOALS_MB.get(run.plans), "MB"),
        "—" if run.pages is None else str(run.pages),
        seconds(run.s_per_report),
        seconds(run.s_per_page),
        seconds(run.rerun_s),
        limit(RERUN_GOAL_S, "s"),
        verdict if run.status == "ok" else f"**{run.status}**".replace("|", "\\|"),
    ]
    return f"| {' | '.join(cells)} |"


def scale_markdown(runs: dict[int, ScaleRun], load_before: float, timeout_s: float) -> str:
    return "\n".join([
        SCALE_HEADING,
        "",
        f"On {machine(load_before)}. `python -m analysis --root <copy> run` (the whole `make reports` job, "
        f"{os.cpu_count()} notebooks at a time, PYTHONHASHSEED=0) cold, in a fresh copy of the project per size: "
        f"the 5 real plans plus synthetic ones up to N plans (benchmarks/synthetic.py, seed {SEED}, each its own "
        "district and doc_id; `analysis check` passes). Peak RSS: the largest sum of RSS over the run process "
        f"and all its descendants (Jupyter kernels, workers), sampled every {SAMPLE_S} s; pages shared between "
        "processes count once per process. Per report: cold wall time / pages published. Per page: the cold run's "
        f"pages phase ({os.cpu_count()} warm kernels; the elapsed time of its progress bar, 1 s resolution) / pages "
        "published (benchmarks/pages.py breaks one page down). Unchanged rerun: the "
        f"same command again with nothing changed, fastest of {ROUNDS}. A run still going after "
        f"{timeout_s / 60:g} min is killed with its process tree.",
        "",
        "| plans | cold run | goal | peak RSS (tree) | goal | pages | per report | per page | unchanged rerun | goal "
        "| |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(scale_row(run) for run in runs.values()),
        "",
    ])


def previous_results() -> tuple[dict, str]:
    """Sections 1–4 of the last results: results.json without `scale`, results.md up to section 5."""
    json_path, md_path = HERE / "results.json", HERE / "results.md"
    fields = json.loads(json_path.read_text(encoding="utf-8")) if json_path.is_file() else {}
    head = md_path.read_text(encoding="utf-8").split(SCALE_HEADING)[0] if md_path.is_file() else "# Benchmarks\n"
    return {key: value for key, value in fields.items() if key != "scale"}, head


def write_results(fields: dict, head: str, runs: dict[int, ScaleRun], load_before: float, timeout_s: float) -> None:
    """results.json (`fields` plus `scale`) and results.md (`head`, then section 5 and the issue-23
    section replaced; the other sections after section 5 kept)."""
    fields = {**fields, "scale": {str(n): run.as_json() for n, run in runs.items()}}
    (HERE / "results.json").write_text(json.dumps(fields, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    old = (HERE / "results.md").read_text(encoding="utf-8") if (HERE / "results.md").is_file() else ""
    text = head.rstrip("\n") + "\n\n" + (SCALE_HEADING + old.split(SCALE_HEADING, 1)[1] if SCALE_HEADING in old else "")
    text = replace_section(text, SCALE_HEADING, scale_markdown(runs, load_before, timeout_s))
    text = replace_section(text, SECTION, section({n: run.stages for n, run in runs.items()},
                                                  f"`make bench` (section 5's projects) on {machine(load_before)}."))
    (HERE / "results.md").write_text(text, encoding="utf-8")
    print(text)


def scales_arg(text: str) -> list[int]:
    """argparse type: comma-separated plan counts, e.g. 5,100."""
    try:
        return sorted({int(part) for part in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give plan counts separated by commas, e.g. 5,100") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scales", type=scales_arg, default=list(SCALES),
                        help="plans in all for each end-to-end run (default: %(default)s); at least the real ones")
    parser.add_argument("--only", choices=["scale"],
                        help="run only this section; the other sections' previous results are kept")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_MIN,
                        help="minutes after which a run is killed and recorded as timed out (default: %(default)s)")
    args = parser.parse_args()
    if args.clusters_child:
        return clusters_child()
    real = len(read_manifest(ROOT / "data" / "raw"))
    if args.scales[0] < real:
        parser.error(f"--scales: each size must be at least {real}, the number of real plans")
    timeout_s = args.timeout * 60
    load_before = os.getloadavg()[0]
    if args.only == "scale":
        runs = bench_scale(args.scales, timeout_s)
        return write_results(*previous_results(), runs, load_before, timeout_s)
    clusters = bench_clusters()  # first: RUSAGE_CHILDREN must see no other child
    print(f"4. clusters: {clusters}", flush=True)
    params_dir = ROOT / "params"
    texts = synthetic_plans(real_parts(ROOT / "data" / "raw", params_dir), N_PLANS)
    throughput = bench_throughput(texts, params_dir)
    print(f"3. throughput: {throughput}", flush=True)
    naive = bench_naive()
    print(f"1. naive loop: {naive}", flush=True)
    scale_load = os.getloadavg()[0]
    runs = bench_scale(sorted({real, *args.scales}), timeout_s)
    reports = bench_reports(naive, runs[real])
    result = figures(reports, throughput, clusters)
    write_results(result, markdown(result, reports, throughput, clusters, load_before), runs, scale_load, timeout_s)


if __name__ == "__main__":
    main()
