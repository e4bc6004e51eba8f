"""Orchestration: run the stages that are out of date, execute the report notebooks, publish.

Every stage and report has a key: a hash of everything it depends on (raw bytes, params files,
code, upstream keys). A stage or report whose key is unchanged is skipped; `force` recomputes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import zmq
from filelock import FileLock
from jupyter_client.manager import AsyncKernelManager
from tqdm.auto import tqdm

from analysis.clean import CleanRules
from analysis.clusters import CLUSTER_FILES
from analysis.corpus import validate
from analysis.dataset import TABLE_NAMES, CorpusTables, structure_corpus, write_corpus
from analysis.files import STAGING_PREFIX, publish, recover, write_text_atomic
from analysis.paths import Paths, ProjectError
from analysis.structure import StructureRules
from analysis.themes import THEME_TABLE_NAMES, sync_userdict
from analysis.validation import VALIDATION_FILES, run_validation

PACKAGE_DIR = Path(__file__).parent
STAMPS = ".stamps.json"
RUN_TIMES = ("start_time", "end_time", "duration")  # papermill metadata that differs between runs
logging.getLogger("papermill").addHandler(logging.NullHandler())  # a failure is one ProjectError line


def digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def files_digest(paths: list[Path]) -> str:
    """Hash of names and bytes of the given files (folders: every file inside, sorted)."""
    files = sorted(
        f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*")) if p.is_dir() else [])
        if f.is_file() and not f.name.startswith(".")
    )
    return digest(*(part for f in files for part in (f.name, f.read_bytes())))


def code_version() -> str:
    """Hash of the package source: a code change invalidates every product."""
    return files_digest(sorted(PACKAGE_DIR.glob("*.py")))


def check_params(paths: Paths) -> list[str]:
    """Load every params file the pipeline uses, so a mistake is reported before any work;
    return the warnings (legal but doubtful settings), one line each, naming the file."""
    from analysis.clusters import ClusterParams
    from analysis.report import load_report_params
    from analysis.stats import StatisticsParams
    from analysis.themes import lexicon_warnings, load_lexicon
    from analysis.tokenize import read_word_list

    CleanRules.from_yaml(paths.params / "clean.yaml")
    StructureRules.from_yaml(paths.params / "structure.yaml")
    lexicon = load_lexicon(paths.params / "themes.yaml")
    ClusterParams.from_yaml(paths.params / "clusters.yaml")
    load_report_params(paths.params / "report.yaml")
    read_word_list(paths.params / "stopwords.txt")
    StatisticsParams.from_yaml(paths.params / "statistics.yaml")
    return lexicon_warnings(lexicon, paths.params / "themes.yaml")


@dataclass
class Stage:
    name: str
    params: list[str]  # files under params/ it reads
    outputs: list[str]  # files under data/processed/ it writes
    run: Callable[[CorpusTables, Paths, Path], list[str]]  # (tables, paths, output folder) → warnings
    upstream: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)  # Paths properties naming other files it reads


def _run_dataset(tables: CorpusTables, paths: Paths, out: Path) -> list[str]:
    write_corpus(tables, out)
    return []


def _run_themes(tables: CorpusTables, paths: Paths, out: Path) -> list[str]:
    from analysis.themes import build_themes, split_term_warnings, write_themes

    themes = build_themes(tables, paths.params)
    write_themes(themes, out)
    return split_term_warnings(themes.segmentation, paths.params / "themes.yaml")


def _run_clusters(tables: CorpusTables, paths: Paths, out: Path) -> list[str]:
    from analysis.clusters import build_clusters, write_clusters

    write_clusters(build_clusters(tables.items, paths.params), out)
    return []


TOKENS = ["userdict.txt", "stopwords.txt"]
STAGES = [
    Stage("dataset", ["clean.yaml", "structure.yaml"], [f"{name}.csv" for name in TABLE_NAMES],
          _run_dataset),
    Stage("themes", ["themes.yaml", "statistics.yaml", *TOKENS], [f"{name}.csv" for name in THEME_TABLE_NAMES],
          _run_themes, ["dataset"]),
    Stage("clusters", ["clusters.yaml", "themes.yaml", *TOKENS], list(CLUSTER_FILES.values()),
          _run_clusters, ["dataset"]),
    Stage("validation", ["themes.yaml"], VALIDATION_FILES, run_validation, ["dataset"], ["annotations"]),
]


def stage_keys(paths: Paths) -> dict[str, str]:
    """The current key of every stage (raw data, params, code and upstream keys)."""
    keys: dict[str, str] = {}
    base = digest(code_version(), files_digest([paths.raw]))
    for stage in STAGES:
        keys[stage.name] = digest(
            base, files_digest([*(paths.params / p for p in stage.params), *(getattr(paths, i) for i in stage.inputs)]),
            *(keys[u] for u in stage.upstream),
        )
    return keys


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def ensure_processed(paths: Paths, force: bool = False, log: Callable[[str], None] = print) -> dict[str, str]:
    """Bring data/processed up to date; return the stage keys. Safe to call from several processes.

    The stages that are out of date write into a staging folder that is published as one unit.
    """
    paths.processed.mkdir(parents=True, exist_ok=True)
    with FileLock(paths.processed / ".lock"):
        recover(paths.processed)
        for warning in check_params(paths):
            log(f"warning: {warning}")
        validate(paths.raw)  # before anything is written, userdict.txt included
        if sync_userdict(paths.params):
            log(f"wrote {paths.params / 'userdict.txt'} from themes.yaml")
        keys = stage_keys(paths)
        stamps = _read_json(paths.processed / STAMPS)
        stale = [
            stage for stage in STAGES
            if force or stamps.get(stage.name) != keys[stage.name]
            or not all((paths.processed / o).is_file() for o in stage.outputs)
        ]
        for stage in STAGES:
            if stage not in stale:
                log(f"skip  stage {stage.name} (inputs unchanged)")
        if not stale:
            return keys
        tables = structure_corpus(paths.raw, paths.params)
        for done in tables.plans:
            for warning in done.structure.warnings:
                log(f"warning: {paths.raw / done.plan.file}: {warning}")
        with tempfile.TemporaryDirectory(dir=paths.processed, prefix=STAGING_PREFIX) as tmp:
            for stage in stale:
                for warning in stage.run(tables, paths, Path(tmp)):
                    log(f"warning: {warning}")
                stamps[stage.name] = keys[stage.name]
                log(f"ran   stage {stage.name}")
            write_text_atomic(Path(tmp) / STAMPS, json.dumps(stamps, indent=1, sort_keys=True))
            publish(Path(tmp), paths.processed)
    return keys


@dataclass(frozen=True)
class Job:
    """One notebook execution that becomes one HTML page under reports/."""

    notebook: str
    parameters: dict
    page: str  # path under reports/, e.g. districts/yangpu_2024.html
    title: str
    plans: tuple[str, ...]  # doc_ids it covers

    @property
    def executed(self) -> str:
        return f"notebooks/{Path(self.page).with_suffix('.ipynb').as_posix().replace('/', '__')}"


class EncryptedKernelManager(AsyncKernelManager):
    """Kernels talk over CurveZMQ-encrypted sockets when both sides can (ipykernel ≥ 7.3 warns on
    every start otherwise); kernels that cannot fall back to the plain transport."""

    transport_encryption = "auto" if zmq.has("curve") else "disabled"


def execute_notebook(paths: Paths, job: Job, staging: Path, timeout: int) -> Path:
    """Run one notebook with papermill into `staging`, each cell for at most `timeout` seconds.

    A cell that raises, hangs or kills the kernel ends the run with one line naming notebook, cell
    and what happened; the kernel is killed and the executed notebook kept under reports/failed/.
    """
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    out = staging / job.executed
    out.parent.mkdir(parents=True, exist_ok=True)
    started: list[int] = []  # index of each code cell sent to the kernel: len() is its execution count
    try:
        papermill.execute_notebook(
            str(paths.notebooks / job.notebook), str(out), parameters=job.parameters,
            cwd=str(paths.notebooks), progress_bar=False, kernel_name="python3",
            kernel_manager_class=EncryptedKernelManager, execution_timeout=timeout, record_timing=False,
            shutdown_kernel="immediate", on_cell_execute=lambda cell, cell_index: started.append(cell_index),
        )
    except papermill.PapermillExecutionError as exc:
        what = f"cell {exc.exec_count} raised {exc.ename}: {exc.evalue.splitlines()[0] if exc.evalue else ''}"
        raise _failure(paths, job, out, what) from None
    except CellTimeoutError:
        _cancel_pending_tasks()
        what = f"cell {len(started)} timed out after {timeout} s (cell_timeout in params/report.yaml)"
        raise _failure(paths, job, out, what) from None
    except DeadKernelError:
        raise _failure(paths, job, out, f"cell {len(started)}: kernel died (crashed or ran out of memory)") from None
    _make_reproducible(out, paths.reports / job.executed)
    return out


def _cancel_pending_tasks() -> None:
    """Cancel what is left in this thread's event loop (the one nbclient runs in): after a cell
    timeout nbclient leaves its output reader pending, which asyncio reports at exit ("Task was
    destroyed but it is pending!")."""
    from jupyter_core.utils import ensure_event_loop

    loop = ensure_event_loop()
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


def _failure(paths: Paths, job: Job, executed: Path, what: str) -> ProjectError:
    """Keep the executed notebook under reports/failed/ and say what went wrong, on one line."""
    failed = paths.reports / "failed" / Path(job.executed).name
    failed.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(executed, failed)
    return ProjectError(f"{paths.notebooks / job.notebook} ({job.page}): {what}; executed notebook kept at {failed}")


def _make_reproducible(executed: Path, published: Path) -> None:
    """Drop what differs between runs of the same inputs from an executed notebook: papermill's
    timings, the staging path and random cell ids (papermill's parameters cell gets a new one)."""
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    notebook.metadata.papermill.output_path = str(published)
    for number, cell in enumerate(notebook.cells):
        cell.id = f"cell-{number}"
    for metadata in (notebook.metadata, *(cell.metadata for cell in notebook.cells)):
        for key in RUN_TIMES:
            metadata.get("papermill", {}).pop(key, None)
    nbformat.write(notebook, executed)


def run_pipeline(paths: Paths, force: bool = False, jobs: int | None = None) -> list[str]:
    """Update data/processed, execute the out-of-date reports in parallel, publish them atomically.

    Returns the pages that were (re)built. Published reports are only replaced once every report
    of this run succeeded.
    """
    from analysis.report import check_notebooks

    paths.reports.mkdir(parents=True, exist_ok=True)
    with FileLock(paths.reports / ".lock"):
        check_notebooks(paths)  # a broken notebook stops the run before any stage
        return _run_reports(paths, ensure_processed(paths, force=force), force, jobs)


def _run_reports(paths: Paths, keys: dict[str, str], force: bool, jobs: int | None) -> list[str]:
    from analysis.report import build_jobs, load_report_params, page_html, render_index, run_manifest

    recover(paths.reports)
    data_key = digest(*keys.values(), files_digest([paths.params / "report.yaml"]))
    all_jobs = build_jobs(paths)
    build = _read_json(paths.reports / ".build.json")
    todo, job_keys = [], {}
    for job in all_jobs:
        job_keys[job.page] = digest(
            data_key, (paths.notebooks / job.notebook).read_bytes(), json.dumps(job.parameters, sort_keys=True)
        )
        if force or build.get(job.page) != job_keys[job.page] or not (paths.reports / job.page).is_file():
            todo.append(job)
    for job in all_jobs:
        if job not in todo:
            print(f"skip  {job.page} (inputs unchanged)")
    if not todo and (paths.reports / "index.html").is_file():
        print(f"reports up to date: {paths.reports / 'index.html'}")
        return []
    manifest = run_manifest(paths, keys)
    timeout = load_report_params(paths.params / "report.yaml")["cell_timeout"]
    with tempfile.TemporaryDirectory(dir=paths.reports, prefix=STAGING_PREFIX) as tmp:
        staging = Path(tmp)
        _execute_all(paths, todo, staging, jobs or os.cpu_count() or 1, timeout)
        for job in todo:
            page = page_html(staging / job.executed, job, manifest)
            (staging / job.page).parent.mkdir(parents=True, exist_ok=True)
            (staging / job.page).write_text(page, encoding="utf-8")
        build.update({job.page: job_keys[job.page] for job in todo})
        (staging / "index.html").write_text(render_index(all_jobs, build, manifest, paths), encoding="utf-8")
        (staging / "run_manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
        (staging / ".build.json").write_text(json.dumps(build, indent=1, sort_keys=True))
        publish(staging, paths.reports)
    _remove_orphans(paths.reports, {job.page for job in all_jobs} | {job.executed for job in all_jobs})
    shutil.rmtree(paths.reports / "failed", ignore_errors=True)
    print(f"published {len(todo)} report(s), skipped {len(all_jobs) - len(todo)}: {paths.reports / 'index.html'}")
    return [job.page for job in todo]


def _remove_orphans(reports: Path, current: set[str]) -> None:
    """Delete pages of plans or sets that no longer exist (e.g. a plan removed from the manifest)."""
    for pattern in ("districts/*.html", "comparison_*.html", "analysis/*.html", "notebooks/*.ipynb"):
        for page in reports.glob(pattern):
            if page.relative_to(reports).as_posix() not in current:
                page.unlink()


def _execute_all(paths: Paths, todo: list[Job], staging: Path, workers: int, timeout: int) -> None:
    """Execute the notebooks, `workers` at a time. After a failure no notebook starts; those still
    running finish, then the failure is raised."""
    if not todo:
        return
    queue = iter(todo)
    with ThreadPoolExecutor(max_workers=workers) as pool, tqdm(total=len(todo), unit="report") as bar:

        def start(count: int) -> dict[Future, Job]:
            return {pool.submit(execute_notebook, paths, job, staging, timeout): job for job in islice(queue, count)}

        running = start(workers)
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                page = running.pop(future).page
                future.result()
                bar.set_postfix_str(page)
                bar.update()
            running |= start(len(done))

