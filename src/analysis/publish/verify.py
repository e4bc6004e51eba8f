"""Check a reports folder against its run manifest, and bundle it for reviewers.

`verify` needs nothing but the folder (and the processed tables beside it, as in a project or an
unpacked bundle): every page and table the manifest lists must have its SHA-256, every page must
name the manifest's run digest, and nothing unlisted may sit among them; every listed path must
lie inside its folder. Standard library only (and analysis.files).
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

from analysis.files import inside

MANIFEST = "run_manifest.json"
SUMS = "SHA256SUMS"
MANIFEST_SUM = "RUN_MANIFEST.sha256"  # in a bundle: the manifest's own SHA-256, what a paper cites
SHA256 = re.compile(r"[0-9a-f]{64}")
RUN_META = re.compile(r'<meta name="analysis-run" content="([^"]*)">')
NOT_PAGES = {MANIFEST}  # in reports/ but not listed: the manifest itself (hidden files are bookkeeping)
NOT_PAGE_FOLDERS = {"failed", "kwic"}  # a failed run's executed notebook; `analysis kwic` query outputs


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, as `sha256sum` prints it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_manifest(reports: Path) -> dict:
    """reports/run_manifest.json, or ValueError naming what is wrong with it."""
    path = reports / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: missing; not a reports folder built by `make reports`") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not readable JSON ({exc.__class__.__name__}); the manifest is damaged") from None
    if not isinstance(manifest, dict) or not all(isinstance(manifest.get(k), dict) for k in ("pages", "tables")):
        raise ValueError(f"{path}: lists no page and table hashes; rebuild with `python -m analysis run --force`")
    if bad := [f"{key}: {name!r}" for key in ("pages", "tables") for name, sha in manifest[key].items()
               if not isinstance(sha, str) or not _inside(None, name)]:
        raise ValueError(f"{path}: lists paths outside its folder or without a hash ({', '.join(bad[:3])}); "
                         "the manifest was edited, do not trust this folder")
    return manifest


def _inside(folder: Path | None, name: str) -> bool:
    """Whether `name` is a relative path that stays inside `folder` (lexically only when None)."""
    try:
        inside(folder or Path("/nonexistent-folder"), name)
    except ValueError:
        return False
    return True


def listed_files(folder: Path) -> set[str]:
    """Every non-hidden file under `folder`, as a relative POSIX path."""
    return {
        p.relative_to(folder).as_posix() for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    }


def hash_problems(folder: Path, expected: dict[str, str], ignore: set[str] = frozenset()) -> list[str]:
    """One line per file of `expected` that is missing or has other bytes, and per unlisted file."""
    problems = []
    for name, sha in sorted(expected.items()):
        path = folder / name
        if not _inside(folder, name):
            problems.append(f"{path}: lies outside {folder} (a symlink or an edited {MANIFEST}); not trusted")
        elif not path.is_file():
            problems.append(f"{path}: missing (listed in {MANIFEST})")
        elif (actual := sha256_file(path)) != sha:
            problems.append(f"{path}: SHA-256 {actual[:12]}… differs from {sha[:12]}… in {MANIFEST}")
    extra = {n for n in listed_files(folder) - set(expected) - ignore if n.split("/")[0] not in NOT_PAGE_FOLDERS}
    problems += [f"{folder / name}: not listed in {MANIFEST}" for name in sorted(extra)]
    return problems


def digest_problems(reports: Path, pages: list[str], run: str) -> list[str]:
    """One line per HTML page that does not name the manifest's run digest."""
    problems = []
    for page in pages:
        path = reports / page
        if page.endswith(".html") and path.is_file():
            named = RUN_META.search(path.read_text(encoding="utf-8", errors="replace"))
            if not named or named.group(1) != run:
                problems.append(f"{path}: names run {named.group(1) if named else 'none'}, the manifest {run}")
    return problems


def verify(reports: Path, tables: Path | None = None, manifest_sha256: str | None = None) -> tuple[dict, list[str]]:
    """The manifest of `reports` and every way the folder and its tables (default: data/processed
    beside it) differ from it; no problems means the folder is what the run published. With
    `manifest_sha256` (as printed at the end of the run) the manifest itself must have that hash."""
    try:
        manifest = load_manifest(reports)
    except ValueError as exc:
        return {}, [str(exc)]
    if manifest_sha256 is not None and (actual := sha256_file(reports / MANIFEST)) != manifest_sha256.lower():
        return manifest, [f"{reports / MANIFEST}: SHA-256 {actual} is not the pinned {manifest_sha256}; "
                          "the manifest (and the pages it lists) is not the run you cite"]
    tables = tables or reports.parent / "data" / "processed"
    problems = hash_problems(reports, manifest["pages"], NOT_PAGES)
    problems += digest_problems(reports, sorted(manifest["pages"]), str(manifest.get("digest")))
    if not tables.is_dir():
        problems.append(f"{tables}: no processed tables here; pass --tables or unpack the whole bundle")
    else:
        problems += hash_problems(tables, manifest["tables"])
    return manifest, problems


def sha256sums(files: dict[str, bytes]) -> str:
    """`sha256sum` format (`<hash>  <path>`) for the files of a bundle, so `sha256sum -c` checks it."""
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items()))


def bundle_files(root: Path, manifest: dict, extra: list[str]) -> dict[str, bytes]:
    """What a bundle holds, by path inside it: reports/ (pages and the manifest), the tables under
    data/processed/, and the `extra` project files that exist (citation, lock)."""
    files = {f"reports/{name}": (root / "reports" / name).read_bytes() for name in [*manifest["pages"], MANIFEST]}
    processed = root / "data" / "processed"
    files |= {f"data/processed/{name}": (processed / name).read_bytes() for name in manifest["tables"]}
    files |= {name: (root / name).read_bytes() for name in extra if (root / name).is_file()}
    return files


def write_bundle(root: Path, out: Path, extra: list[str]) -> Path:
    """Zip a verified reports folder as `out/reports-YYYY-MM-DD.zip` (the build date), all files under
    one folder of that name beside a SHA256SUMS; entries carry the build date, so the same build
    bundles to the same bytes. Raises ValueError with one problem per line if it does not verify."""
    manifest, problems = verify(root / "reports")
    if problems:
        raise ValueError("\n".join(problems))
    day = str(manifest.get("built_at", ""))[:10] or "undated"
    name = f"reports-{day}"
    files = bundle_files(root, manifest, extra)
    files[MANIFEST_SUM] = f"{hashlib.sha256(files[f'reports/{MANIFEST}']).hexdigest()}  reports/{MANIFEST}\n".encode()
    files[SUMS] = sha256sums(files).encode()
    stamp = (*(int(x) for x in day.split("-")), 0, 0, 0) if day != "undated" else (1980, 1, 1, 0, 0, 0)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{name}.zip"
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in sorted(files.items()):
            info = zipfile.ZipInfo(f"{name}/{path}", date_time=stamp)
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            archive.writestr(info, data)
    tmp.replace(target)
    return target
