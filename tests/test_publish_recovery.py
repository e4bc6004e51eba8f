"""A killed or interrupted publish always recovers (issue 22, items 1, 3 and 4).

- `publish` moves every file but the stamp, deletes what the new snapshot no longer lists, and moves
  the stamp last; killed at any step, `recover` ends at the new state, and `run` recovers before it
  judges whether the reports are up to date.
- A run deletes the outputs the new snapshot does not list (a removed plan's clean text, pages and
  graph files, a dropped set's files), so `verify` and `bundle` pass.
- Ctrl-C says what is true at that moment, exits 130, prints no kernel traceback; the next run recovers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import files
from analysis.corpus.manifest import read_manifest, write_manifest
from analysis.files import JOURNAL, STAGING_PREFIX, publish, recover, staging_folder
from analysis.paths import Paths
from analysis.pipeline import BUILD, interrupted_state
from analysis.publish import runner
from support import cli, unexecuted_notebooks
from test_determinism import kernels_of, state, wait_for

# `run` that dies by SIGKILL right after its N-th file operation in reports/ (0: the journal written);
# its notebooks are exported unexecuted (support.unexecuted_notebooks): the test is about publishing.
DIE_IN_REPORTS = """
import os, signal, sys
from pathlib import Path
from analysis import files
from analysis.cli import main
from analysis.publish import runner

sys.path.insert(0, sys.argv[3])
from support import unexecuted_notebooks

runner.execute_all = unexecuted_notebooks
root, after = Path(sys.argv[1]), int(sys.argv[2])
real_replace, done = os.replace, []

def replace(source, target):
    real_replace(source, target)
    try:
        parts = Path(target).relative_to(root / "reports").parts
    except ValueError:
        return
    if not parts[0].startswith(files.STAGING_PREFIX) and (parts[-1] == files.JOURNAL or done):
        done.append(parts)
        if len(done) == after + 1:
            os.kill(os.getpid(), signal.SIGKILL)

files.os.replace = replace
main(["--root", str(root), "run", "--jobs", "1"])
"""


TESTS = Path(__file__).parent


class Killed(BaseException):
    """Stands for a kill in the middle of a publish (nothing after it runs but `finally` blocks)."""


def folder(root: Path, contents: dict[str, str]) -> Path:
    for name, text in contents.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_a_publish_killed_at_any_step_recovers_to_the_new_state_and_the_stamp_comes_last(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = {"a.html": "old a", "b/c.html": "old c", "gone.html": "old, not in the new snapshot", ".stamp": "old"}
    new = {"a.html": "new a", "b/c.html": "new c", "d.html": "new d", ".stamp": "new"}
    real_replace = os.replace
    for step in range(5):  # killed at: the journal, each of three moves, the stamp (after the deletion)
        target = folder(tmp_path / f"target{step}", old)
        moves: list[str] = []

        def replace(source: str, dest: str, target: Path = target, moves: list[str] = moves, step: int = step) -> None:
            if Path(dest).parent.name.startswith(STAGING_PREFIX):  # writing the staging folder
                return real_replace(source, dest)
            if len(moves) == step:
                raise Killed
            moves.append(Path(dest).name)
            return real_replace(source, dest)

        monkeypatch.setattr(files.os, "replace", replace)
        with pytest.raises(Killed), staging_folder(target) as staging:
            folder(staging, new)
            publish(staging, target, ["gone.html"], stamp=".stamp")
        monkeypatch.setattr(files.os, "replace", real_replace)
        now = {p.relative_to(target).as_posix(): p.read_text(encoding="utf-8")
               for p in target.rglob("*")
               if p.is_file() and not p.relative_to(target).parts[0].startswith(STAGING_PREFIX)}
        if now.get(".stamp") == "new":  # whatever says "published" is only there once all else is
            assert {k: v for k, v in now.items() if k != JOURNAL} == new
        if step == 4:  # all moved and deleted, the stamp still the old one
            assert moves == [JOURNAL, "a.html", "c.html", "d.html"]
            assert "gone.html" not in now and now[".stamp"] == "old"
        if step:
            assert (target / JOURNAL).is_file()
            assert any(target.glob(f"{STAGING_PREFIX}*")), "the journal's staging folder was deleted"
        assert recover(target) == bool(step)
        after = {p.relative_to(target).as_posix(): p.read_text(encoding="utf-8")
                 for p in target.rglob("*") if p.is_file()}
        assert after == (new if step else old), step


def digest_line(text: str) -> str:
    match = re.search(r"^run manifest SHA-256 ([0-9a-f]{64}) ", text, re.M)
    assert match, text
    return match.group(1)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def copy(published: Paths, tmp_path: Path) -> Paths:
    shutil.copytree(published.root, tmp_path / "project")
    return Paths(tmp_path / "project")


def test_a_run_killed_at_each_publish_step_is_finished_by_the_next_run(copy: Paths) -> None:
    """Killed right after reports/.publish.json appears (every page rebuilt, none moved yet) and after
    the stamp (the journal still there): the next `run` recovers first, then says up to date, and
    `verify` passes. The steps between (one move: pages new, manifest old) take the same path, the
    journal replayed by `recover`: the unit test above kills at each of them."""
    (copy.root / "CITATION.cff").write_text(  # the run digest changes: every page is rebuilt
        (copy.root / "CITATION.cff").read_text(encoding="utf-8").replace("title: ", "title: Revised "),
        encoding="utf-8")
    for step, change in ((0, None), (4, "b.ipynb")):
        if change:  # an unused notebook: the run key changes, the pages are skipped, index and manifest not
            (copy.notebooks / change).write_text("{}", encoding="utf-8")
        died = subprocess.run([sys.executable, "-c", DIE_IN_REPORTS, str(copy.root), str(step), str(TESTS)],
                              capture_output=True, text=True, timeout=600)
        assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
        assert (copy.reports / JOURNAL).is_file()
        build = json.loads((copy.reports / BUILD).read_text(encoding="utf-8")) if step == 4 else None

        result = cli("--root", str(copy.root), "run", "--jobs", "1")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("reports up to date"), (step, result.stdout)
        assert not (copy.reports / JOURNAL).exists() and not list(copy.reports.glob(f"{STAGING_PREFIX}*"))
        assert digest_line(result.stdout) == sha256(copy.reports / "run_manifest.json")
        verified = cli("--root", str(copy.root), "verify")
        assert verified.returncode == 0, (step, verified.stderr)
        if build is not None:
            assert json.loads((copy.reports / BUILD).read_text(encoding="utf-8")) == build
    assert "Revised" in (copy.reports / "comparison.html").read_text(encoding="utf-8")


def test_a_removed_plan_and_a_dropped_set_leave_no_stale_outputs(
        copy: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """zhoushan_2024 removed from the manifest; the files a dropped set `y2024` left behind. The pages
    are exported from unexecuted notebooks: what is deleted does not depend on their outputs."""
    monkeypatch.setattr(runner, "execute_all", unexecuted_notebooks)
    folder(copy.processed, {"coword/set_y2024.gexf": "<gexf/>", "coword/set_y2024.graphml": "<graphml/>"})
    folder(copy.reports, {"comparison_y2024.html": "<html></html>", "notebooks/comparison_y2024.ipynb": "{}"})
    write_manifest(copy.raw, [p for p in read_manifest(copy.raw) if p.doc_id != "zhoushan_2024"])
    (copy.raw / "zhoushan_2024.txt").unlink()

    result = cli("--root", str(copy.root), "run", "--jobs", "2")
    assert result.returncode == 0, result.stderr
    for gone in ("clean/zhoushan_2024.txt", "coword/zhoushan_2024.gexf", "coword/set_y2024.gexf",
                 "coword/set_y2024.graphml"):
        assert not (copy.processed / gone).exists(), gone
    for gone in ("districts/zhoushan_2024.html", "notebooks/districts__zhoushan_2024.ipynb",
                 "comparison_y2024.html", "notebooks/comparison_y2024.ipynb"):
        assert not (copy.reports / gone).exists(), gone
    assert (copy.processed / "clean/yangpu_2024.txt").is_file()
    assert cli("--root", str(copy.root), "verify").returncode == 0
    bundled = cli("--root", str(copy.root), "bundle", "--out", str(tmp_path / "out"))
    assert bundled.returncode == 0, bundled.stderr


def start(project: Paths) -> subprocess.Popen:
    """`run` in its own session, stdout unbuffered: each `ran   stage NAME` line arrives as it is printed."""
    return subprocess.Popen([sys.executable, "-m", "analysis", "--root", str(project.root), "run", "--jobs", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def interrupt(proc: subprocess.Popen) -> str:
    """SIGINT to the run alone (as Ctrl-C reaches it; kernels run in sessions of their own): exit 130,
    no traceback (a kernel's included: they share stderr), no glibc abort (134), no kernel left."""
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err[-3000:])
    assert "Traceback" not in err and "ZMQError" not in err and "double free" not in err, err[-3000:]
    assert not kernels_of(proc.pid)
    return [line for line in err.splitlines() if line.startswith("error:")][-1]


def after_stage(proc: subprocess.Popen, name: str) -> None:
    """Read the run's output until stage `name` has run (the next stage is then running)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(f"ran   stage {name}"):
            return
    pytest.fail(f"the run ended before stage {name} ran")


BEFORE = "error: interrupted before anything was published: data/processed and reports/ are unchanged; run again"
AFTER_STAGES = ("error: interrupted after the stages: data/processed is the new snapshot, the pages are not "
                "published (reports/ still shows the previous run); run again to publish them")


def snapshot(folder: Path) -> dict[str, str]:
    """What a run publishes in `folder`: its files but the extraction cache (`.extract/`, content-keyed)."""
    return {name: sha for name, sha in state(folder).items() if not name.startswith(".extract/")}


def test_ctrl_c_says_what_is_true_and_the_next_run_recovers(copy: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    """Interrupted in the stages (themes running; clusters running, its fits on a thread per core)
    and while the first report kernel starts (importing IPython: a SIGINT reaching it printed a
    KeyboardInterrupt traceback). Each message is checked against the folders themselves."""
    with (copy.params / "clean.yaml").open("a", encoding="utf-8") as handle:
        handle.write("\n# every stage reruns\n")
    processed, reports = snapshot(copy.processed), state(copy.reports)
    for stage in ("dataset", "themes"):  # the stage after it is running
        proc = start(copy)
        after_stage(proc, stage)
        assert interrupt(proc) == BEFORE, stage
        assert snapshot(copy.processed) == processed and state(copy.reports) == reports

    proc = start(copy)
    wait_for(lambda: any(copy.reports.glob(f"{STAGING_PREFIX}*")) and kernels_of(proc.pid), proc)
    assert interrupt(proc) == AFTER_STAGES
    assert snapshot(copy.processed) != processed and state(copy.reports) == reports

    monkeypatch.setattr(runner, "execute_all", unexecuted_notebooks)  # recovering is about publishing, not notebooks
    result = cli("--root", str(copy.root), "run", "--jobs", "2")
    assert result.returncode == 0, result.stderr
    assert cli("--root", str(copy.root), "verify").returncode == 0


def test_the_interrupt_message_names_a_half_published_folder(copy: Paths) -> None:
    state_before = ("", "")
    (copy.reports / JOURNAL).write_text("{}", encoding="utf-8")
    assert interrupted_state(copy, state_before).startswith("interrupted while publishing the pages: reports/ is half")
    (copy.reports / JOURNAL).unlink()
    (copy.processed / JOURNAL).write_text("{}", encoding="utf-8")
    assert interrupted_state(copy, state_before).startswith("interrupted while publishing data/processed: the next")
