"""Fingerprint what a run produces, to show that a refactor preserved behaviour.

    python benchmarks/behaviour.py snapshot ROOT OUT.json [--next-year]
    python benchmarks/behaviour.py compare BEFORE.json AFTER.json

`snapshot` copies ROOT's inputs to a temporary project (with `--next-year`: the analyst's next-year
project of tests/test_next_year.py: a 2025 plan added with hostile text in every free-text field),
runs the pipeline, and records the SHA-256 of every file under data/processed and of every page's
visible text (the footer's code digest and run id left out: they name the code, not the result).
`compare` lists every file whose fingerprint differs, and exits 1 if any does.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tempfile
from pathlib import Path

from bs4 import BeautifulSoup

HERE = Path(__file__).resolve().parent
HEX = re.compile(r"\b[0-9a-f]{12,64}\b")
COMMIT = re.compile(r"commit (?:#|unknown \(not a git checkout\))")


def page_text(page: str) -> str:
    """A page's visible text with hashes (code digest, run and snapshot ids, input hashes of
    run-specific files) and the git commit blanked, blank lines dropped."""
    text = COMMIT.sub("commit #", HEX.sub("#", BeautifulSoup(page, "html.parser").get_text()))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def fingerprint(root: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    processed, reports = root / "data" / "processed", root / "reports"
    for path in sorted(processed.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            found[f"processed/{path.relative_to(processed).as_posix()}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    for path in sorted(reports.rglob("*.html")):
        text = page_text(path.read_text(encoding="utf-8"))
        found[f"reports/{path.relative_to(reports).as_posix()}"] = hashlib.sha256(text.encode()).hexdigest()
    return found


def next_year_project(project) -> None:
    try:
        from analysis.corpus.add import add_plan  # after the redesign (issue 20)
    except ImportError:
        from analysis.corpus import add_plan

    hostile = "</details><script>alert(3)</script><img src=x onerror=alert(1)>![t](http://evil.example/t.png)"
    add_plan(project.raw, HERE.parent / "tests" / "fixtures" / "reports_yangpu_2025.txt", "杨浦", 2025,
             title=f"2025年杨浦区教育局工作要点{hostile}", region=f"上海市{hostile}", source=hostile)
    edits = (("themes.yaml", "description: 思想政治教育与立德树人"), ("report.yaml", "title: 2024年工作要点比较"))
    for name, old in edits:
        path = project.params / name
        path.write_text(path.read_text(encoding="utf-8").replace(old, old + hostile), encoding="utf-8")


def snapshot(root: Path, out: Path, next_year: bool) -> None:
    from analysis.paths import Paths
    from analysis.pipeline import run_pipeline

    with tempfile.TemporaryDirectory() as folder:
        project = Paths.from_root(root).copy_inputs(Path(folder) / "project")
        if next_year:
            next_year_project(project)
        run_pipeline(project, jobs=2)
        out.write_text(json.dumps(fingerprint(project.root), indent=1, ensure_ascii=False), encoding="utf-8")


def compare(before: Path, after: Path) -> int:
    old, new = (json.loads(p.read_text(encoding="utf-8")) for p in (before, after))
    differ = sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))
    for name in differ:
        print(f"differs: {name} ({'missing after' if name not in new else 'new' if name not in old else 'changed'})")
    print(f"{len(old)} files before, {len(new)} after, {len(differ)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    if sys.argv[1] == "snapshot":
        snapshot(Path(sys.argv[2]), Path(sys.argv[3]), "--next-year" in sys.argv)
    else:
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
