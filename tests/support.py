"""Helpers that test modules import (conftest.py holds the fixtures)."""

from __future__ import annotations

import io
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from analysis.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m analysis ARGS` run in this process: the same exit code, stdout and stderr, without
    an interpreter start and imports per call (use a subprocess only where that is the point)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(["python", "-m", "analysis", *args], code, out.getvalue(), err.getvalue())
