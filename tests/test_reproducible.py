"""Reproducible research (issue 16): an honest run manifest, a verifiable reports folder, a bundle
a reviewer checks offline, and pages that say how to cite them. Uses the one `published` run."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from analysis.paths import Paths
from analysis.publish.verify import RUN_META, digest_problems
from support import cli


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_of(project: Paths) -> dict:
    return json.loads((project.reports / "run_manifest.json").read_text(encoding="utf-8"))


@pytest.fixture
def copy(published: Paths, tmp_path: Path) -> Paths:
    """A private copy of the published project that a test may damage."""
    shutil.copytree(published.root, tmp_path / "project")
    return Paths(tmp_path / "project")


def flip_one_byte(path: Path, at: int = -40) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_manifest_hashes_are_the_sha256_of_the_files(published: Paths) -> None:
    manifest = manifest_of(published)
    plans = sorted(p.name for p in published.raw.glob("*.txt"))
    assert sorted(manifest["inputs"]) == sorted([*(f"data/raw/{p}" for p in plans), "data/raw/manifest.csv",
                                                 "data/annotations/item_themes.csv",
                                                 "data/annotations/policy_tools.csv"])
    for name, sha in manifest["inputs"].items():
        assert sha == sha256(published.root / name), name
    assert manifest["params"] == {p.name: sha256(p) for p in published.params.iterdir() if p.is_file()}
    assert manifest["notebooks"] == {f"notebooks/{p.name}": sha256(p) for p in published.notebooks.glob("*.ipynb")}
    assert manifest["environment"]["lock_sha256"] == sha256(published.lock)
    assert manifest["pages"] and manifest["tables"]
    for page, sha in manifest["pages"].items():
        assert sha == sha256(published.reports / page), page
    for table, sha in manifest["tables"].items():
        assert sha == sha256(published.processed / table), table
    assert {"index.html", "comparison.html", "districts/yangpu_2024.html", "notebooks/comparison.ipynb"} <= set(
        manifest["pages"])
    assert {"items.csv", "documents.csv", "theme_counts.csv"} <= set(manifest["tables"])


def test_manifest_records_the_installed_versions_against_the_lock(published: Paths) -> None:
    environment = manifest_of(published)["environment"]
    assert environment["lock"] == "requirements.lock"
    assert {"pandas", "scikit-learn", "jieba", "pytest"} <= set(environment["installed"])
    assert environment["matches_lock"] == (environment["differs_from_lock"] == [])
    git = manifest_of(published)["git"]
    assert git == {"commit": "unknown", "dirty": None}  # the published copy is not a git checkout


def test_manifest_hashes_agree_with_sha256sum(published: Paths) -> None:
    sha256sum = shutil.which("sha256sum")
    if not sha256sum:
        pytest.skip("no sha256sum on this machine")
    manifest = manifest_of(published)
    out = subprocess.run([sha256sum, "index.html", "comparison.html"], cwd=published.reports, capture_output=True,
                         text=True, check=True).stdout
    assert out == "".join(f"{manifest['pages'][p]}  {p}\n" for p in ("index.html", "comparison.html"))


def test_every_page_names_the_manifest_digest(published: Paths) -> None:
    manifest = manifest_of(published)
    for page in (p for p in manifest["pages"] if p.endswith(".html")):
        named = RUN_META.search((published.reports / page).read_text(encoding="utf-8"))
        assert named and named.group(1) == manifest["digest"], page


def test_verify_passes_on_a_fresh_build(published: Paths) -> None:
    result = cli("verify", str(published.reports))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"ok: {published.reports} matches its run manifest")
    assert cli("--root", str(published.root), "verify").returncode == 0


@pytest.mark.parametrize("changed", ["reports/districts/yangpu_2024.html", "reports/index.html",
                                     "data/processed/items.csv", "reports/notebooks/comparison.ipynb"])
def test_verify_fails_naming_the_file_after_one_byte_changes(copy: Paths, changed: str) -> None:
    flip_one_byte(copy.root / changed)
    result = cli("verify", str(copy.reports))
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {copy.root / changed}: SHA-256 ") and "differs" in line


def test_verify_names_missing_and_unlisted_files(copy: Paths) -> None:
    (copy.reports / "comparison.html").rename(copy.reports / "comparison_extra.html")
    result = cli("verify", str(copy.reports))
    assert result.returncode == 2
    assert f"error: {copy.reports / 'comparison.html'}: missing (listed in run_manifest.json)" in result.stderr
    assert f"error: {copy.reports / 'comparison_extra.html'}: not listed in run_manifest.json" in result.stderr


def test_verify_refuses_a_folder_without_a_manifest(tmp_path: Path) -> None:
    result = cli("verify", str(tmp_path))
    assert result.returncode == 2 and "run_manifest.json: missing" in result.stderr


def test_a_page_naming_another_run_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text('<meta name="analysis-run" content="abc">', encoding="utf-8")
    (tmp_path / "b.html").write_text("<p>no run</p>", encoding="utf-8")
    assert digest_problems(tmp_path, ["a.html", "b.html"], "abc") == [
        f"{tmp_path / 'b.html'}: names run none, the manifest abc"]


def test_bundle_holds_reports_tables_manifest_and_sha256sums(copy: Paths, tmp_path: Path) -> None:
    result = cli("--root", str(copy.root), "bundle", "--out", str(tmp_path / "bundles"))
    assert result.returncode == 0, result.stderr
    manifest = manifest_of(copy)
    name = f"reports-{manifest['built_at'][:10]}"
    target = tmp_path / "bundles" / f"{name}.zip"
    assert str(target) in result.stdout and not (tmp_path / "bundles" / f"{name}.zip.tmp").exists()
    with zipfile.ZipFile(target) as archive:
        archive.extractall(tmp_path / "unpacked")
    folder = tmp_path / "unpacked" / name
    sums = (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in sums}
    assert {"reports/index.html", "reports/run_manifest.json", "data/processed/items.csv", "CITATION.cff",
            "requirements.lock"} <= set(listed)
    assert all(sha256(folder / path) == sha for path, sha in listed.items())
    assert cli("verify", str(folder / "reports")).returncode == 0  # offline, no project needed

    again = tmp_path / "again"
    assert cli("--root", str(copy.root), "bundle", "--out", str(again)).returncode == 0
    assert (again / f"{name}.zip").read_bytes() == target.read_bytes()  # the same build bundles to the same bytes


def test_bundle_refuses_reports_that_do_not_verify(copy: Paths, tmp_path: Path) -> None:
    flip_one_byte(copy.processed / "theme_counts.csv")
    result = cli("--root", str(copy.root), "bundle", "--out", str(tmp_path / "bundles"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {copy.processed / 'theme_counts.csv'}: SHA-256 ")
    assert not (tmp_path / "bundles").exists() or not list((tmp_path / "bundles").iterdir())


def test_comparison_page_says_how_to_cite_it(published: Paths) -> None:
    manifest = manifest_of(published)
    page = (published.reports / "comparison.html").read_text(encoding="utf-8")
    assert "如何引用 How to cite" in page and manifest["digest"] in page
    assert "Education work plan comparison project team" in page and "version 0.1.0" in page
    for doc_id in ("yangpu_2024", "zhoushan_2024"):
        assert doc_id in page and manifest["inputs"][f"data/raw/{doc_id}.txt"] in page
    for name in ("themes.yaml", "codebook.md"):
        assert sha256(published.params / name) in page
    district = (published.reports / "districts" / "yangpu_2024.html").read_text(encoding="utf-8")
    assert "如何引用 How to cite" in district and "CITATION.cff" in district


def test_citation_cff_is_valid_and_matches_pyproject(paths: Paths) -> None:
    import tomllib

    import yaml

    cff = yaml.safe_load(paths.citation.read_text(encoding="utf-8"))
    version = tomllib.loads((paths.root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert cff["cff-version"] == "1.2.0" and cff["version"] == version
    assert cff["title"] and cff["authors"] and cff["message"] and str(cff["date-released"])
