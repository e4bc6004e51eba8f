"""Orchestration: run the stages that are out of date, execute the report notebooks, publish.

Every stage and report has a key: a hash of everything it depends on (raw bytes, params files,
code, upstream keys). A stage or report whose key is unchanged is skipped; `force` recomputes.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

from analysis.files import JOURNAL, publish, recover, staging_folder, write_text_atomic
from analysis.params import params_files
from analysis.paths import Paths, ProjectError
from analysis.stages import registry as stages
from analysis.stages.registry import (
    STAMPS,
    digest,
    files_digest,
    read_json,
    read_stamps,
    snapshot_id,
    stage_keys,
    stale_stages,
)

if TYPE_CHECKING:  # the models are imported only when a run has work to do
    from analysis.params import Params
    from analysis.params.report import ReportParams

BUILD, RUN_KEY, PAGES = ".build.json", "_run", "_pages"  # in reports/: page → key, the run's key, all pages
logging.getLogger("papermill").addHandler(logging.NullHandler())  # a failure is one ProjectError line


def check_params(paths: Paths) -> tuple[Params, list[str]]:
    """Load every params file once (a mistake is reported before any work); return the params and
    the warnings (legal but doubtful settings), one line each, naming the file."""
    from analysis.params import load_params, warnings

    params = load_params(paths.params)
    return params, warnings(params)


def ensure_processed(paths: Paths, force: bool = False, log: Callable[[str], None] = print,
                     params: Params | None = None, scheduler: str | None = None) -> dict[str, str]:
    """Bring data/processed up to date; return the stage keys. Safe to call from several processes.
    `params`: the run's params when the caller has loaded them (else they are loaded here).
    `scheduler`: a dask scheduler address for the per-plan work (stages/distribute.py), else local.

    The stages that are out of date write into a staging folder that is published as one unit.
    """
    from analysis.corpus.manifest import validate
    from analysis.corpus.reader import project_reader
    from analysis.params import load_params, warnings
    from analysis.stages.dataset import structure_corpus
    from analysis.stages.themes import sync_userdict
    from analysis.text.tokenize import release_segmenters

    paths.processed.mkdir(parents=True, exist_ok=True)
    with FileLock(paths.processed / ".lock"):
        recover(paths.processed)
        if params is None:
            params = load_params(paths.params)
        for warning in warnings(params):
            log(f"warning: {warning}")
        validate(paths.raw, project_reader(paths.raw, params.structure, params.ingest))  # before any write
        if sync_userdict(params):
            log(f"wrote {params.path('userdict')} from the theme lexicon")
            params = load_params(paths.params)
        keys = stage_keys(paths)
        stale = stages.STAGES if force else stale_stages(paths.processed, keys)
        for stage in stages.STAGES:
            if stage not in stale:
                log(f"skip  stage {stage.name} (inputs unchanged)")
        if not stale:
            return keys
        if scheduler is None:
            tables = structure_corpus(paths.raw, params)
        else:
            from analysis.stages.distribute import structure_corpus_on

            tables = structure_corpus_on(scheduler, paths.raw, params)
        for done in tables.plans:
            for warning in done.structure.warnings:
                log(f"warning: {paths.raw / done.plan.file}: {warning}")
        stamps = read_stamps(paths.processed) or {"keys": {}, "outputs": {}}
        with staging_folder(paths.processed) as staging:
            for stage in stale:
                before = set(staging.rglob("*"))
                for warning in stage.function()(tables, params, paths, staging):
                    log(f"warning: {warning}")
                written = sorted(p.relative_to(staging).as_posix() for p in set(staging.rglob("*")) - before
                                 if p.is_file())
                if differ := {f[:-4] for f in written if f.endswith(".csv") and "/" not in f} ^ {
                        t.name for t in stage.writes}:
                    raise ProjectError(f"stage {stage.name}: tables {', '.join(sorted(differ))} differ from "
                                       "what analysis/catalog.py declares for it; update the catalog or the stage")
                stamps["keys"][stage.name], stamps["outputs"][stage.name] = keys[stage.name], written
                log(f"ran   stage {stage.name}")
            write_text_atomic(staging / STAMPS, json.dumps(stamps, indent=1, sort_keys=True))
            publish(staging, paths.processed, stale_files(paths.processed, _outputs(stamps)), stamp=STAMPS)
        del tables  # the corpus in memory and the segmentations: about 1 GB at 1,000 plans, which the
        release_segmenters()  # report kernels would otherwise run beside
        gc.collect()
    return keys


def run_pipeline(paths: Paths, force: bool = False, jobs: int | None = None,
                 scheduler: str | None = None) -> list[str]:
    """Update data/processed, execute the out-of-date reports on warm kernels, publish atomically.
    `scheduler`: a dask scheduler address for the stages' per-plan work (None: all in this process).

    Returns the pages that were (re)built. Published reports are only replaced once every report
    of this run succeeded. An unchanged run answers from the stamps, without importing pandas,
    scikit-learn or Jupyter.
    """
    paths.reports.mkdir(parents=True, exist_ok=True)
    paths.processed.mkdir(parents=True, exist_ok=True)
    with FileLock(paths.reports / ".lock"):
        with FileLock(paths.processed / ".lock"):  # a killed publish is finished before anything is judged
            recover(paths.processed)
            recover(paths.reports)
        before = _published_state(paths)
        try:
            if not force and _up_to_date(paths):
                print(f"reports up to date: {paths.reports / 'index.html'}")
                print_manifest_sha256(paths)
                return []
            from analysis.params import load_params
            from analysis.publish.jobs import check_notebooks

            params = load_params(paths.params)  # every params file, read once for the whole run
            check_notebooks(paths, params.report)  # a broken notebook stops the run before any stage
            keys = ensure_processed(paths, force=force, params=params, scheduler=scheduler)
            return _run_reports(paths, keys, params.report, force, jobs)
        except KeyboardInterrupt:
            raise Interrupted(interrupted_state(paths, before)) from None


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run, with what is true of data/processed and reports/ at that moment."""


def _published_state(paths: Paths) -> tuple[str, str]:
    """What identifies the published snapshot and pages: the stamps' id and the pages' build stamp."""
    build = paths.reports / BUILD
    return snapshot_id(paths.processed), build.read_text(encoding="utf-8") if build.is_file() else ""


def interrupted_state(paths: Paths, before: tuple[str, str]) -> str:
    """One line saying what an interrupted run left published, judged from the folders themselves."""
    if (paths.reports / JOURNAL).is_file():
        return ("interrupted while publishing the pages: reports/ is half replaced until the next run, "
                "which finishes publishing them first; run again")
    if (paths.processed / JOURNAL).is_file():
        return ("interrupted while publishing data/processed: the next run finishes it first, then "
                "rebuilds the pages; run again")
    snapshot, build = _published_state(paths)
    if build != before[1]:
        return "interrupted after the pages were published: data/processed and reports/ are the new run"
    if snapshot != before[0]:
        return ("interrupted after the stages: data/processed is the new snapshot, the pages are not published "
                "(reports/ still shows the previous run); run again to publish them")
    return "interrupted before anything was published: data/processed and reports/ are unchanged; run again"


def print_manifest_sha256(paths: Paths) -> None:
    """Print the run manifest's own SHA-256: what a paper cites (`verify --manifest-sha256 HEX`)."""
    from analysis.publish.verify import MANIFEST, sha256_file

    if (manifest := paths.reports / MANIFEST).is_file():
        print(f"run manifest SHA-256 {sha256_file(manifest)} ({manifest})")


def stale_files(folder: Path, current: set[str]) -> list[str]:
    """Every visible file of `folder` that the new snapshot does not list (`current`), except the
    outputs of `analysis kwic` and a failed run's notebooks: a publish deletes them."""
    from analysis.publish.verify import NOT_PAGE_FOLDERS, listed_files

    return sorted(n for n in listed_files(folder) - current if n.split("/")[0] not in NOT_PAGE_FOLDERS)


def _outputs(stamps: dict) -> set[str]:
    return {name for names in stamps["outputs"].values() for name in names}


def data_key(paths: Paths, keys: dict[str, str]) -> str:
    """What every page depends on besides its notebook and parameters: stage keys and report params."""
    return digest(*keys.values(), files_digest(params_files(paths.params, ["report"])))


def run_key(paths: Paths, keys: dict[str, str]) -> str:
    """What the whole set of pages depends on: the data key, every notebook and params file (the
    codebook too), the lock file and CITATION.cff (pages cite them)."""
    return digest(data_key(paths, keys), files_digest([paths.notebooks, paths.params, paths.lock, paths.citation]))


def _up_to_date(paths: Paths) -> bool:
    """Whether the last run published reports from exactly the current inputs, code and notebooks."""
    build = read_json(paths.reports / BUILD)
    keys = stage_keys(paths)
    return (
        build.get(RUN_KEY) == run_key(paths, keys) and not stale_stages(paths.processed, keys)
        and all((paths.reports / page).is_file() for page in ["index.html", *build.get(PAGES, [])])
    )


def _run_reports(paths: Paths, keys: dict[str, str], report: ReportParams, force: bool,
                 jobs: int | None) -> list[str]:
    from nbclient.exceptions import CellExecutionError

    from analysis.publish.jobs import build_jobs
    from analysis.publish.pages import render_index
    from analysis.publish.provenance import run_manifest
    from analysis.publish.runner import execute_all
    from analysis.publish.verify import MANIFEST
    from analysis.publish.workbook import WORKBOOK, write_workbook
    from analysis.views.snapshot import read_table

    recover(paths.reports)
    if read_stamps(paths.processed).get("keys") != keys:  # another process published in between
        raise ProjectError(f"{paths.processed} changed while this run was starting its reports; run again")
    snapshot = snapshot_id(paths.processed)
    documents = read_table(paths, "documents", snapshot)
    manifest = run_manifest(paths, keys, documents)
    all_jobs = build_jobs(paths, documents, snapshot, report, run=manifest["digest"])
    build = read_json(paths.reports / BUILD)
    shared = data_key(paths, keys)
    job_keys = {job.page: digest(shared, manifest["digest"], (paths.notebooks / job.notebook).read_bytes(), json.dumps(
        {k: v for k, v in job.parameters.items() if k != "root"}, sort_keys=True))  # a moved project keeps its pages
        for job in all_jobs}
    todo = [job for job in all_jobs if force or build.get(job.page) != job_keys[job.page]
            or not (paths.reports / job.page).is_file()]
    for job in all_jobs:
        if job not in todo:
            print(f"skip  {job.page} (inputs unchanged)")
    with staging_folder(paths.reports) as staging, staging_folder(paths.reports) as work:
        page_manifest = work / "manifest.json"
        write_text_atomic(page_manifest, json.dumps(manifest, ensure_ascii=False))

        def export(job, executed: Path, kernel) -> None:
            """The page of `job`, exported by the kernel that ran it (see pages.export_page)."""
            code = (f"import analysis.publish.pages\nanalysis.publish.pages.export_page({str(executed)!r}, "
                    f"{str(staging / job.page)!r}, {job.title!r}, {job.page!r}, {list(job.plans)!r}, "
                    f"{str(page_manifest)!r})")
            try:
                kernel.run_code(code, report.cell_timeout)
            except CellExecutionError as exc:
                raise ProjectError(f"{job.page}: exporting the page failed: {exc.ename}: {exc.evalue}") from None

        execute_all(paths, todo, staging, jobs or os.cpu_count() or 1, report.cell_timeout, export,
                    report.kernel_memory_mb)
        pages = {job.page: job_keys[job.page] for job in all_jobs}
        build = {**pages, RUN_KEY: run_key(paths, keys), PAGES: sorted(pages)}
        write_text_atomic(staging / "index.html", render_index(all_jobs, build, manifest, documents))
        write_workbook(paths.processed, staging / WORKBOOK, snapshot_tables(paths),  # every table, one sheet each
                       report.workbook_max_rows)
        listed = [*pages, *(job.executed for job in all_jobs), "index.html", WORKBOOK]
        manifest |= published_hashes(paths, staging, listed)
        write_text_atomic(staging / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False))
        write_text_atomic(staging / BUILD, json.dumps(build, indent=1, sort_keys=True))
        publish(staging, paths.reports, stale_files(paths.reports, {*listed, MANIFEST}), stamp=BUILD)
    shutil.rmtree(paths.reports / "failed", ignore_errors=True)
    print(f"published {len(todo)} report(s), skipped {len(all_jobs) - len(todo)}: {paths.reports / 'index.html'}")
    print_manifest_sha256(paths)
    return [job.page for job in todo]


def published_hashes(paths: Paths, staging: Path, pages: list[str]) -> dict[str, dict[str, str]]:
    """SHA-256 of every page as it will be published (this run's from `staging`, skipped ones from
    reports/) and of every table of the processed snapshot, for `python -m analysis verify`."""
    from analysis.publish.verify import sha256_file

    tables = snapshot_tables(paths)
    return {
        "pages": {page: sha256_file(staging / page if (staging / page).is_file() else paths.reports / page)
                  for page in sorted(pages)},
        "tables": {name: sha256_file(paths.processed / name) for name in tables},
    }


def snapshot_tables(paths: Paths) -> list[str]:
    """The files of the processed snapshot (as data/processed/.stamps lists them), sorted."""
    return sorted({name for names in read_stamps(paths.processed)["outputs"].values() for name in names})

