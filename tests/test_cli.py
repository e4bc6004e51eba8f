"""The command line as a user runs it: `python -m analysis …` (a subprocess for --help and the
folder search from the working directory; the rest in process, where a subprocess proves nothing more)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from analysis.paths import Paths
from support import cli

FIXTURES = Path(__file__).parent / "fixtures"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args],
        capture_output=True, text=True, encoding="utf-8", cwd=cwd, timeout=300, check=False,
    )


def test_help_lists_the_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("check", "run", "add"):
        assert command in result.stdout


def test_check_passes_on_a_clean_copy(project: Paths) -> None:
    result = cli("--root", str(project.root), "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: 5 plans")
    assert result.stderr == ""


def test_check_reports_drift_then_accept_fixes_it(project: Paths) -> None:
    path = project.raw / "zhoushan_2024.txt"
    path.write_bytes(path.read_bytes() + b"\n")
    result = cli("--root", str(project.root), "check")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {path}: sha256")
    assert "check --accept zhoushan_2024" in lines[0]

    accepted = cli("--root", str(project.root), "check", "--accept", "zhoushan_2024")
    assert accepted.returncode == 0, accepted.stderr
    assert "accepted the current sha256 of zhoushan_2024" in accepted.stdout
    assert cli("--root", str(project.root), "check").returncode == 0


def test_add_then_check(project: Paths) -> None:
    plan = FIXTURES / "corpus_yangpu_2025.txt"
    root = ("--root", str(project.root))
    result = cli(*root, "add", str(plan), "--district", "杨浦", "--year", "2025")
    assert result.returncode == 0, result.stderr
    assert (project.raw / "yangpu_2025.txt").read_bytes() == plan.read_bytes()
    assert result.stdout.splitlines()[1:] == [  # what was understood, at once
        "  title: 2025年杨浦区教育局工作要点", "  2 sections, 3 items (continuous numbering), 109 characters",
        "  removed: nothing",
    ]
    assert cli(*root, "check").stdout.startswith("ok: 6 plans")

    again = cli(*root, "add", str(plan), "--district", "杨浦", "--year", "2025")
    assert again.returncode == 2
    assert again.stderr.startswith("error: ") and "duplicate doc_id yangpu_2025" in again.stderr


def test_outside_a_project_says_where_to_go(tmp_path: Path) -> None:
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "not inside an analysis project" in result.stderr and "--root" in result.stderr
