"""One snapshot per run (issue 12): notebooks read data/processed and never process; a stale or
swapped snapshot is one clear line; an unchanged run answers from the stamps without heavy imports;
warm kernels start every notebook clean; `add` waits while a run reads data/raw."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from filelock import FileLock

from analysis.paths import Paths, ProjectError
from analysis.publish.runner import WarmKernel
from analysis.stages.registry import read_stamps, snapshot_id
from analysis.views.data import load_report_data
from analysis.views.snapshot import check_snapshot
from support import FIXTURES, cli


@pytest.fixture
def processed(published: Paths) -> Paths:
    """The small project (two plans) after a run (read only here; tests that change it copy it)."""
    return published


def copy_of(project: Paths, tmp_path: Path) -> Paths:
    shutil.copytree(project.root, tmp_path / "copy")
    return Paths(tmp_path / "copy")


def test_stamps_record_every_stage_key_and_the_files_it_wrote(processed: Paths) -> None:
    stamps = read_stamps(processed.processed)
    assert set(stamps["keys"]) == set(stamps["outputs"]) == {
        "dataset", "themes", "clusters", "set_clusters", "validation", "policy_tools", "coword", "keyness",
        "exploratory", "topics"}
    assert "set_nearest_neighbours.csv" in stamps["outputs"]["set_clusters"]
    assert {"items.csv", "documents.csv", "clean/yangpu_2024.txt"} <= set(stamps["outputs"]["dataset"])
    assert "cluster_solution.csv" in stamps["outputs"]["clusters"]
    for files in stamps["outputs"].values():
        assert all((processed.processed / name).is_file() for name in files)


def test_report_data_reads_the_snapshot_lazily(processed: Paths) -> None:
    data = load_report_data(processed.root)
    assert data.snapshot == snapshot_id(processed.processed)
    assert data.tables == {}  # nothing read until asked for
    assert sorted(data.documents["doc_id"]) == ["yangpu_2024", "zhoushan_2024"]
    assert set(data.tables) == {"documents"}
    with pytest.raises(ProjectError, match=r"no_such_table\.csv: missing from the processed snapshot"):
        _ = data.no_such_table


def test_a_stale_snapshot_says_run_make_reports(processed: Paths, tmp_path: Path) -> None:
    project = copy_of(processed, tmp_path)
    check_snapshot(project)  # up to date
    themes = project.params / "themes.yaml"
    themes.write_text(themes.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    with pytest.raises(ProjectError) as raised:
        load_report_data(project.root)
    assert raised.value.problems == [
        f"{project.processed} is out of date with data/raw, params/ or the code; run `make reports` "
        "(or `python -m analysis run`) to bring it up to date"
    ]


def test_a_run_refuses_a_snapshot_swapped_under_it(processed: Paths) -> None:
    with pytest.raises(ProjectError, match="changed while this report was being built; run `make reports`"):
        load_report_data(processed.root, snapshot="0123456789abcdef")


def test_no_snapshot_yet(paths: Paths, tmp_path: Path) -> None:
    project = paths.copy_inputs(tmp_path / "fresh")
    with pytest.raises(ProjectError, match=r"no processed data yet; run `make reports`"):
        load_report_data(project.root)


def test_unchanged_run_answers_from_the_stamps_without_heavy_imports(processed: Paths, tmp_path: Path) -> None:
    project = copy_of(processed, tmp_path)
    assert cli("--root", str(project.root), "run", "--jobs", "2").returncode == 0
    probe = (
        "import sys\nfrom analysis.cli import main\n"
        f"code = main(['--root', {str(project.root)!r}, 'run'])\n"
        "heavy = ('pandas', 'numpy', 'sklearn', 'jieba', 'jupyter_client', 'nbformat', 'yaml',\n"
        "         'charset_normalizer', 'analysis.params.sections', 'analysis.corpus.ingest',\n"
        "         'dask', 'distributed')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(code, heavy)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    manifest = project.reports / "run_manifest.json"
    sha = hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert result.stdout.splitlines() == [f"reports up to date: {project.reports / 'index.html'}",
                                          f"run manifest SHA-256 {sha} ({manifest})", "0 []"]
    notebook = project.notebooks / "20_comparison_report.ipynb"
    notebook.write_bytes(notebook.read_bytes() + b"\n")  # a notebook edit is a change
    again = cli("--root", str(project.root), "run", "--jobs", "2")
    assert "published 1 report(s), skipped 2" in again.stdout


def test_warm_kernel_starts_each_notebook_clean(tmp_path: Path) -> None:
    first = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import pandas as pd, matplotlib, sys, weakref\nleak = 1\npd.set_option('display.max_rows', 3)\n"
        "matplotlib.rcParams['lines.linewidth'] = 9\n"
        "class Cycle: pass\ncycle = Cycle()\ncycle.me = cycle\nsys.probe = weakref.ref(cycle)"
    )])
    second = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import pandas as pd, matplotlib, sys\n"
        "print('leak' in dir(), pd.get_option('display.max_rows'), matplotlib.rcParams['lines.linewidth'],"
        " 'analysis.publish.kernel' in sys.modules, sys.probe() is None)"  # the page's cycles collected, not frozen
    )])
    kernel = WarmKernel(tmp_path)
    try:
        kernel.execute(first, 60, [])
        pid = kernel.km.provisioner.pid
        kernel.execute(second, 60, [])
        assert kernel.km.provisioner.pid == pid  # the same kernel ran both
    finally:
        kernel.shutdown()
    assert second.cells[0].outputs[0]["text"] == "False 60 1.5 True True\n"


def test_add_waits_while_a_run_reads_the_raw_data(processed: Paths, tmp_path: Path) -> None:
    project = copy_of(processed, tmp_path)
    results = []
    with FileLock(project.processed / ".lock"):  # what ensure_processed holds while it reads data/raw
        adding = threading.Thread(target=lambda: results.append(cli(
            "--root", str(project.root), "add", str(FIXTURES / "corpus_yangpu_2025.txt"),
            "--district", "杨浦", "--year", "2025")))
        adding.start()
        time.sleep(1.0)
        assert results == [] and not (project.raw / "yangpu_2025.txt").exists()
    adding.join(timeout=60)
    assert results[0].returncode == 0, results[0].stderr
    assert (project.raw / "yangpu_2025.txt").is_file()


def test_a_kernel_over_the_memory_limit_is_replaced(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os\nprint(os.getpid())")])
    kernel = WarmKernel(tmp_path, memory_mb=1)  # every kernel holds more than 1 MB
    try:
        kernel.execute(notebook, 60, [])
        first = notebook.cells[0].outputs[0]["text"]
        assert kernel.recycle_if_large() and not kernel.km.has_kernel
        kernel.execute(notebook, 60, [])
        assert notebook.cells[0].outputs[0]["text"] != first  # a new kernel process
        assert not WarmKernel(tmp_path, memory_mb=100_000).recycle_if_large()  # not started: nothing to do
    finally:
        kernel.shutdown()
