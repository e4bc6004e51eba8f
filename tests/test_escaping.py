"""Hardening (issue 10): pages carry no live markup whatever the input; the CLI fails in one line.

The end-to-end check (hostile text in every manifest and params field, through a full run) is
`test_reports.py::test_hostile_fields_are_shown_as_text_on_every_page`; these are the cheap cases.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from analysis import pipeline
from analysis.cli import main
from analysis.params import load_params
from analysis.paths import Paths
from analysis.publish.pages import sanitize
from analysis.views.fragments import safe_html


def test_sanitize_keeps_report_markup_and_drops_anything_live() -> None:
    body = (
        '<h2 id="s">标题</h2><details open><summary>思政：3 次</summary><ol class="kwic"><li>'
        '<span class="where">第1部分</span>…<mark>思政</mark>…</li></ol></details>'
        '<img src="data:image/png;base64,AAAA" alt="图"><a href="../index.html#s">上一级</a>'
        '<script>alert(1)</script><img src=x onerror=alert(2)><img src="http://evil.example/t.png">'
        '<a href="javascript:alert(3)">j</a><a href="//evil.example/">p</a><style>p{}</style>'
        '<iframe src="https://evil.example"></iframe><form action="http://evil.example"><input></form>'
    )
    assert sanitize(body) == (
        '<h2 id="s">标题</h2><details open=""><summary>思政：3 次</summary><ol class="kwic"><li>'
        '<span class="where">第1部分</span>…<mark>思政</mark>…</li></ol></details>'
        '<img src="data:image/png;base64,AAAA" alt="图"><a href="../index.html#s">上一级</a>'
        "<img><img><a>j</a><a>p</a>"
    )


def test_safe_html_escapes_every_value_but_not_the_template() -> None:
    shown = safe_html("<h2>{title}</h2><p>{n}</p>", title="</details><script>x</script>![t](http://e/t.png)", n=3)
    assert shown.data == (
        "<h2>&lt;/details&gt;&lt;script&gt;x&lt;/script&gt;![t](http://e/t.png)</h2><p>3</p>"
    )


def tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.mark.parametrize("where", ["empty", "params", "missing"])
def test_root_that_is_not_a_project_is_refused_and_nothing_written(
    project: Paths, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    folder = {"empty": tmp_path / "empty", "params": project.params, "missing": tmp_path / "missing"}[where]
    if where == "empty":
        folder.mkdir()
    before = tree(project.root)
    assert main(["--root", str(folder), "run"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {folder}: ")
    assert ("no such folder" if where == "missing" else "not an analysis project") in err[0]
    assert tree(project.root) == before  # no .lock, nothing in the parent project either
    assert not folder.exists() or tree(folder) == ([] if where == "empty" else tree(folder))


@pytest.mark.parametrize("jobs", ["0", "-1", "two", "２"])
def test_jobs_must_be_a_positive_whole_number(jobs: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--jobs", jobs])
    assert exit_.value.code == 2
    assert f"argument --jobs: {jobs!r} is not a whole number of at least 1" in capsys.readouterr().err


def test_full_disk_while_publishing_reports_is_one_line_and_keeps_published_pages(
    project: Paths, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    published = project.reports / "comparison.html"
    published.write_text("published", encoding="utf-8")

    def full(staging: Path, target: Path, *remove_and_stamp: object, **stamp: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(target / "index.html"))

    import pandas as pd

    monkeypatch.setattr("analysis.publish.jobs.build_jobs", lambda paths, documents, snapshot, report, run="": [])
    monkeypatch.setattr(pipeline, "read_stamps", lambda processed: {"keys": {"dataset": "k"}, "outputs": {}})
    monkeypatch.setattr("analysis.views.snapshot.read_table",
                        lambda paths, name, snapshot: pd.DataFrame(columns=["doc_id", "file", "sha256"]))
    monkeypatch.setattr(pipeline, "publish", full)
    monkeypatch.setattr(pipeline, "ensure_processed",
                        lambda paths, force=False, params=None, scheduler=None: {"dataset": "k"})
    assert main(["--root", str(project.root), "run", "--force"]) == 2
    assert capsys.readouterr().err == (
        f"error: {project.reports / 'index.html'}: No space left on device; "
        "the disk is full; free some space, then run again\n"
    )
    assert published.read_text(encoding="utf-8") == "published"
    assert not (project.reports / "index.html").exists()
    assert not list(project.reports.glob(".staging-*"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_reports_is_one_line(project: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    project.reports.chmod(0o555)
    try:
        assert main(["--root", str(project.root), "run"]) == 2
    finally:
        project.reports.chmod(0o755)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "Permission denied; make the folder writable" in err[0]


def test_reports_that_is_a_file_is_one_line(project: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    """A `reports` that is not a folder (the way root meets an unwritable reports/)."""
    project.reports.rmdir()
    project.reports.write_text("not a folder", encoding="utf-8")
    assert main(["--root", str(project.root), "run"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {project.reports}"), err
    assert project.reports.read_text(encoding="utf-8") == "not a folder"


def test_cluster_labels_and_term_lists_are_escaped_in_tables(paths: Paths) -> None:
    """Fields derived from plan text (cluster labels, year-over-year term lists) go through
    `fragments.table`, which escapes; a label made of markup stays text."""
    import pandas as pd

    from analysis.views.data import ReportData
    from analysis.views.fragments import table
    from analysis.views.similarity import cluster_mix_vs_others

    label = '<img src=x onerror=alert(1)>·</details>'
    data = ReportData(paths, load_params(paths.params), "", {
        "clusters": pd.DataFrame({"doc_id": ["a_2024", "b_2024"], "cluster": [1, 1]}),
        "cluster_summary": pd.DataFrame({"cluster": [1], "label": [label], "stable": [False]}),
    })
    shown = table(cluster_mix_vs_others(data, "a_2024", ["a_2024", "b_2024"])).data
    assert "&lt;img src=x onerror=alert(1)&gt;·&lt;/details&gt;" in shown and "<img" not in shown


@pytest.mark.parametrize("name", ["<script>", "x y", "</details>"])
def test_set_names_with_markup_are_refused_by_check(
    project: Paths, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    report = project.params / "report.yaml"
    report.write_text(report.read_text(encoding="utf-8").replace("  y2024:", f"  '{name}':"), encoding="utf-8")
    assert main(["--root", str(project.root), "check"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"error: {report}: set name {name!r} must be a simple word other than 'default'"]


def test_a_page_footer_lists_the_inputs_of_its_own_plans_only() -> None:
    from analysis.publish.pages import FOOTER_INPUTS, footer_inputs

    shared = {"data/raw/manifest.csv": "m", "data/annotations/item_themes.csv": "a"}
    plans = {f"data/raw/p{i:04d}_2024.txt": f"s{i}" for i in range(1000)}
    manifest = {"inputs": {**plans, **shared}}
    assert footer_inputs(manifest, ("p0007_2024",)) == {"data/raw/p0007_2024.txt": "s7", **shared}
    assert footer_inputs(manifest, tuple(f"p{i:04d}_2024" for i in range(FOOTER_INPUTS - 2))) is not None
    assert footer_inputs(manifest, tuple(f"p{i:04d}_2024" for i in range(500))) is None  # see run_manifest.json
    assert footer_inputs(manifest, None) is None
