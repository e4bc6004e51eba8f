"""`run --scheduler`: the per-plan work on a local dask cluster gives byte for byte the local snapshot,
survives a worker killed mid-task, and an unreachable scheduler is one line."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cloudpickle
import dask
import pytest
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin

from analysis.corpus.manifest import validate
from analysis.corpus.reader import project_reader
from analysis.params import load_params
from analysis.paths import Paths, ProjectError
from analysis.pipeline import ensure_processed
from analysis.stages.distribute import structure_on_worker
from support import cli

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module


def processed_files(project: Paths) -> dict[str, bytes]:
    """Every file of data/processed (the lock file aside) by its path, with its bytes."""
    return {p.relative_to(project.processed).as_posix(): p.read_bytes()
            for p in sorted(project.processed.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture(scope="module")
def local_snapshot(seeds_processed: Path) -> dict[str, bytes]:
    """data/processed of the seed project after a local run (no dask)."""
    return processed_files(Paths(seeds_processed.parents[1]))


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0") as local:
        yield local


class KillOnce(WorkerPlugin):
    """Kills the worker process that starts the first plan task (the marker file says it happened)."""

    name = "kill-once"

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def transition(self, key: object, start: str, finish: str, **kwargs: object) -> None:
        if finish == "executing" and "structure_on_worker" in str(key):
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return
            os._exit(1)


def test_the_cluster_run_writes_the_local_snapshot_byte_for_byte(
        paths: Paths, tmp_path: Path, cluster: LocalCluster, local_snapshot: dict[str, bytes]) -> None:
    project = paths.copy_inputs(tmp_path)
    ensure_processed(project, log=lambda line: None, scheduler=cluster.scheduler_address)
    snapshot = processed_files(project)
    assert "clean/yangpu_2024.txt" in snapshot and ".stamps.json" in snapshot
    assert len([name for name in snapshot if name.startswith("clean/")]) == 5
    assert snapshot == local_snapshot


def test_a_worker_killed_mid_task_is_replaced_and_the_snapshot_is_whole(
        paths: Paths, tmp_path: Path, cluster: LocalCluster, local_snapshot: dict[str, bytes]) -> None:
    project, marker = paths.copy_inputs(tmp_path / "project"), tmp_path / "killed"
    with Client(cluster.scheduler_address, set_as_default=False) as client:
        client.register_plugin(KillOnce(marker))
        try:
            ensure_processed(project, log=lambda line: None, scheduler=cluster.scheduler_address)
        finally:
            client.unregister_worker_plugin(KillOnce.name)
    assert marker.is_file()  # a worker did die while holding a plan's task
    assert processed_files(project) == local_snapshot
    assert not [p for p in project.processed.iterdir() if p.name.startswith(".staging")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_scheduler_is_one_line_and_nothing_is_written(
        project: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    flag, variable = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    monkeypatch.setenv("ANALYSIS_SCHEDULER", variable)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        by_flag = cli("--root", str(project.root), "run", "--scheduler", flag)
        by_variable = cli("--root", str(project.root), "run")
    for result, address in ((by_flag, flag), (by_variable, variable)):
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            f"error: {address}: cannot reach the dask scheduler (Timed out trying to connect to {address} after 1 s); "
            f"start one (`dask scheduler`, then `dask worker {address}` on each machine) or run without --scheduler "
            "and ANALYSIS_SCHEDULER"]
    # no table, no staging folder: only the lock and the extraction cache of the plans validated first
    assert {p.name for p in project.processed.iterdir()} <= {".extract", ".lock"}
    assert not (project.reports / "index.html").exists()


def test_a_scheduler_without_workers_is_one_line(project: Paths) -> None:
    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as empty, \
            dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = cli("--root", str(project.root), "run", "--scheduler", empty.scheduler_address)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {empty.scheduler_address}: the dask scheduler has no worker (Only 0/1 workers arrived after 1s); "
        f"start `dask worker {empty.scheduler_address}` on each machine"]
    assert {p.name for p in project.processed.iterdir()} <= {".extract", ".lock"}


def test_a_worker_that_sees_another_project_stops_the_run(paths: Paths, tmp_path: Path) -> None:
    project = paths.copy_inputs(tmp_path)
    params = load_params(project.params)
    reader = project_reader(project.raw, params.structure, params.ingest)
    plan = next(p for p in validate(project.raw, reader) if p.doc_id == "yangpu_2024")
    done = structure_on_worker(plan, project.raw, params.clean, reader)
    assert done.plan == plan and done.structure.items[0].item_seq == 1
    with pytest.raises(ProjectError) as raised:
        structure_on_worker(replace(plan, sha256="0" * 64), project.raw, params.clean, reader)
    assert raised.value.problems == [
        f"{project.raw / plan.file}: on worker {socket.gethostname()} this file differs from the manifest's "
        "sha256; every dask worker must see the project root at the same path as the run (README: dask cluster)"]
    with pytest.raises(ProjectError, match=r"yangpu_2024\.txt: worker .* cannot read it \(No such file"):
        structure_on_worker(plan, tmp_path / "elsewhere", params.clean, reader)
