"""Hostile input to verify, bundle, kwic and the command line (issue 22, item 6 and the low items).

- Paths in run_manifest.json that leave their folder (`..`, absolute, a symlink out) are errors in
  `verify`; `bundle` refuses them; SHA256SUMS names only paths inside the bundle.
- The manifest's own SHA-256 is printed by `run`, stored in the bundle, checked by
  `verify --manifest-sha256`.
- kwic file names are unique per query, bounded, never leave reports/kwic or start with `-`;
  `--window` is bounded; control characters of plan text are escaped on the terminal.
- `add … | head -1`: a closed stdout neither fails the command nor reports "Broken pipe".
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from analysis.corpus.manifest import read_manifest
from analysis.paths import Paths
from analysis.publish.kwic import query_name
from support import cli

ROOT = Path(__file__).resolve().parents[1]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def copy(published: Paths, tmp_path: Path) -> Paths:
    shutil.copytree(published.root, tmp_path / "project", symlinks=True)
    return Paths(tmp_path / "project")


def edit_manifest(project: Paths, key: str, name: str, sha: str) -> None:
    path = project.reports / "run_manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest[key][name] = sha
    path.write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize(("key", "name"), [("pages", "../../../../etc/hostname"), ("pages", "/etc/passwd"),
                                           ("tables", "../../reports/index.html"), ("tables", "/etc/hostname")])
def test_verify_and_bundle_refuse_a_manifest_path_outside_its_folder(
        copy: Paths, tmp_path: Path, key: str, name: str) -> None:
    edit_manifest(copy, key, name, sha256(Path("/etc/hostname")))
    result = cli("verify", str(copy.reports))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {copy.reports / 'run_manifest.json'}: lists paths outside its folder or without a hash "
        f"({key}: {name!r}); the manifest was edited, do not trust this folder"]
    bundled = cli("--root", str(copy.root), "bundle", "--out", str(tmp_path / "out"))
    assert bundled.returncode == 2 and not (tmp_path / "out").exists()


def test_a_listed_symlink_out_of_the_folder_is_an_error(copy: Paths, tmp_path: Path) -> None:
    outside = tmp_path / "outside.html"
    outside.write_text('<meta name="analysis-run" content="x">', encoding="utf-8")
    page = copy.reports / "districts" / "yangpu_2024.html"
    page.unlink()
    page.symlink_to(outside)
    edit_manifest(copy, "pages", "districts/yangpu_2024.html", sha256(outside))
    result = cli("verify", str(copy.reports))
    assert result.returncode == 2
    assert f"error: {page}: lies outside {copy.reports} (a symlink or an edited run_manifest.json); not trusted" \
        in result.stderr.splitlines()
    assert cli("--root", str(copy.root), "bundle", "--out", str(tmp_path / "out")).returncode == 2


def test_run_prints_the_manifest_sha256_the_bundle_stores_and_verify_checks(copy: Paths, tmp_path: Path) -> None:
    manifest = copy.reports / "run_manifest.json"
    ran = cli("--root", str(copy.root), "run")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[-1] == f"run manifest SHA-256 {sha256(manifest)} ({manifest})"

    assert cli("verify", str(copy.reports), "--manifest-sha256", sha256(manifest).upper()).returncode == 0
    wrong = "0" * 64
    result = cli("verify", str(copy.reports), "--manifest-sha256", wrong)
    assert result.returncode == 2 and result.stderr.splitlines() == [
        f"error: {manifest}: SHA-256 {sha256(manifest)} is not the pinned {wrong}; the manifest (and the pages it "
        "lists) is not the run you cite"]
    result = cli("verify", str(copy.reports), "--manifest-sha256", "abc")
    assert result.returncode == 2 and result.stderr.splitlines() == [
        "error: --manifest-sha256 abc: give the 64 hex digits the run printed (run manifest SHA-256)"]

    bundled = cli("--root", str(copy.root), "bundle", "--out", str(tmp_path / "out"))
    assert bundled.returncode == 0, bundled.stderr
    [zipped] = (tmp_path / "out").glob("*.zip")
    with zipfile.ZipFile(zipped) as archive:
        names = archive.namelist()
        stem = names[0].split("/")[0]
        pinned = archive.read(f"{stem}/RUN_MANIFEST.sha256").decode()
        sums = archive.read(f"{stem}/SHA256SUMS").decode().splitlines()
    assert pinned == f"{sha256(manifest)}  reports/run_manifest.json\n"
    listed = [line.split("  ", 1)[1] for line in sums]
    assert all(not p.startswith("/") and ".." not in Path(p).parts and f"{stem}/{p}" in names for p in listed)
    assert "RUN_MANIFEST.sha256" in listed


def test_a_consistent_edit_of_a_page_and_its_hash_is_caught_only_by_the_pinned_manifest(copy: Paths) -> None:
    """What README says verify cannot detect without the pinned SHA-256."""
    pinned = sha256(copy.reports / "run_manifest.json")
    page = copy.reports / "comparison.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</h1>", " (edited)</h1>", 1), encoding="utf-8")
    edit_manifest(copy, "pages", "comparison.html", sha256(page))
    assert cli("verify", str(copy.reports)).returncode == 0
    assert cli("verify", str(copy.reports), "--manifest-sha256", pinned).returncode == 2


HOSTILE = [["x"], ["../../x"], ["."], [".."], [".*"], ["~"], ["-rf"], ["学" * 80], ["学" * 81], ["a/b"], ["a_b"]]


def test_kwic_names_are_unique_bounded_and_never_leave_the_folder() -> None:
    names = [query_name(terms) for terms in HOSTILE]
    assert len(set(names)) == len(names)
    for name in names:
        assert "/" not in name and not name.startswith(("-", ".")) and name not in ("", ".", "..")
        assert len(f"{name}_collocates.csv".encode()) <= 255
    assert query_name(["x"]) == query_name(["x"])  # the same query replaces its own files only


def test_kwic_writes_hostile_queries_side_by_side(copy: Paths) -> None:
    for terms in HOSTILE[:9]:
        result = cli("--root", str(copy.root), "kwic", "--window", "2", "--", *terms)
        assert result.returncode == 0, (terms, result.stderr)
    written = sorted(p.name for p in (copy.reports / "kwic").iterdir())
    assert len(written) == 2 * 9 and all(not n.startswith("-") for n in written)
    assert {p.parent for p in copy.root.rglob("*.csv") if p.parent.name not in ("processed", "annotations",
                                                                                   "raw")} == {copy.reports / "kwic"}


def test_kwic_refuses_a_window_above_the_maximum_in_one_line(copy: Paths) -> None:
    result = cli("--root", str(copy.root), "kwic", "学校", "--window", "1000000")
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["error: --window 1000000: give 0 to 500 characters of context each side"]
    assert not (copy.reports / "kwic").exists()


def test_control_characters_of_plan_text_are_escaped_on_the_terminal(copy: Paths) -> None:
    clean = copy.clean / "yangpu_2024.txt"
    text = clean.read_text(encoding="utf-8")
    at = text.index("学校")
    clean.write_text(text[:at] + "\x1b]0;owned\x07\x1b[31m\x01" + text[at:], encoding="utf-8")
    result = cli("--root", str(copy.root), "kwic", "学校", "--plans", "yangpu_2024", "--window", "20")
    assert result.returncode == 0, result.stderr
    assert "\\x1b]0;owned\\x07\\x1b[31m\\x01【学校】" in result.stdout
    assert not any(c in result.stdout for c in "\x1b\x07\x01")


def test_add_with_a_closed_stdout_registers_the_plan_and_exits_0(project: Paths, tmp_path: Path) -> None:
    plan = tmp_path / "杨浦2025.txt"
    plan.write_bytes((project.raw / "yangpu_2024.txt").read_bytes().replace(b"2024", b"2025"))
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head -1` that has already gone
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-m", "analysis", "--root", str(project.root), "add", str(plan),
                             "--district", "杨浦", "--year", "2025"], stdout=write_end, stderr=subprocess.PIPE,
                            text=True, env=env, timeout=300)
    os.close(write_end)
    assert result.returncode == 0, result.stderr
    assert "Broken pipe" not in result.stderr and "Error" not in result.stderr
    assert "yangpu_2025" in {p.doc_id for p in read_manifest(project.raw)}
