"""Bad inputs as users bring them (issue 7): fail clearly, never silently, never damage data.

Rejected inputs run the real CLI (`analysis.cli.main`, in process) on a copy that has never been
run: validation comes before any stage or notebook, so each case takes a fraction of a second. Every
case must give exit code 2, only `error: …` lines on stderr naming the file (or manifest row)
and what to do, no traceback, data/raw and params/ byte-for-byte unchanged, and nothing new in
data/processed or reports/ except the `.lock` files of the run's FileLocks (created before the
inputs are read; empty, and never a product).

Accepted inputs (other encodings, an HTML page) are checked at the structure level, against the
result for the original UTF-8 file; warnings (a plan without structure, a lexicon term that
segmentation splits) through `ensure_processed`, whose log is what the CLI prints.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import html
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from analysis.corpus.add import add_plan
from analysis.corpus.manifest import MANIFEST_COLUMNS, accept_checksum
from analysis.params import load_params
from analysis.paths import Paths
from analysis.pipeline import ensure_processed
from analysis.stages.dataset import CorpusTables, structure_corpus
from support import cli

ALLOWED_AFTER_FAILURE = {".lock"}  # FileLock files: the only entries a rejected run may leave
EXTRACT_CACHE = ".extract"  # besides the extraction cache of the plans that were read (not a product)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00" + bytes(range(256))
SCRIPT_ONLY_PAGE = (
    "<!DOCTYPE html><html><head><title></title><script>var tracker = 1;</script>"
    "<style>body { font-family: SimSun; }</style></head><body><div></div></body></html>"
)


def tree(folder: Path) -> dict[str, str]:
    """Every entry under `folder` (files with their sha256, folders as "dir")."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
    }


# --- ways to damage a project copy ---------------------------------------------------------------

Damage = Callable[[Paths], None]


def plan_bytes(doc_id: str, make: Callable[[str], bytes], accept: bool = True) -> Damage:
    """Replace a plan's file with `make(its text)`; `accept` records the new sha256 (as `check
    --accept` would), so the run gets past the checksum to the decoding."""

    def damage(project: Paths) -> None:
        path = project.raw / f"{doc_id}.txt"
        path.write_bytes(make(path.read_text(encoding="utf-8")))
        if accept:
            accept_checksum(project.raw, doc_id)

    return damage


def manifest_rows(change: Callable[[list[dict[str, str]]], list[dict[str, str]]]) -> Damage:
    def damage(project: Paths) -> None:
        with project.manifest.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        with project.manifest.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(MANIFEST_COLUMNS)
            writer.writerows([row[c] for c in MANIFEST_COLUMNS] for row in change(rows))

    return damage


def set_value(doc_id: str, **values: str) -> Damage:
    return manifest_rows(lambda rows: [{**row, **values} if row["doc_id"] == doc_id else row for row in rows])


def edit_file(relative: str, change: Callable[[str], str]) -> Damage:
    def damage(project: Paths) -> None:
        path = project.root / relative
        path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")

    return damage


def reencode(relative: str, codec: str) -> Damage:
    """Save a UTF-8 file in another encoding, as a Chinese Windows editor (or Excel) would."""

    def damage(project: Paths) -> None:
        path = project.root / relative
        path.write_bytes(path.read_text(encoding="utf-8").encode(codec))

    return damage


def empty_corpus(project: Paths) -> None:
    """Every plan removed: the manifest keeps only its header."""
    for path in project.raw.glob("*.txt"):
        path.unlink()
    manifest_rows(lambda rows: [])(project)


def delete(relative: str) -> Damage:
    return lambda project: (project.root / relative).unlink()


def write(relative: str, data: bytes) -> Damage:
    return lambda project: (project.root / relative).write_bytes(data)


@dataclass(frozen=True)
class Case:
    id: str
    damage: Damage
    expected: str | tuple[str, ...]  # substrings of stderr; {raw}, {manifest}, {params}: the copy's folders
    lines: int = 1  # error lines expected


CASES = [
    Case("empty-file", plan_bytes("yangpu_2024", lambda text: b""),
         "{raw}/yangpu_2024.txt: file is empty; export the plan text again"),
    Case("blank-file", plan_bytes("yangpu_2024", lambda text: "\u3000\n \n".encode()),
         "{raw}/yangpu_2024.txt: file is empty"),
    Case("binary-file", plan_bytes("minhang_2017", lambda text: PNG),
         "{raw}/minhang_2017.txt: binary data (NUL bytes), not a text file; export the plan as UTF-8 text"),
    Case("utf16-le-without-bom", plan_bytes("zhoushan_2024", lambda text: text.encode("utf-16-le")),
         "{raw}/zhoushan_2024.txt: looks like UTF-16 without a byte-order mark (BOM); save it as UTF-8"),
    Case("utf16-be-without-bom", plan_bytes("zhoushan_2024", lambda text: text.encode("utf-16-be")),
         "{raw}/zhoushan_2024.txt: looks like UTF-16 without a byte-order mark (BOM); save it as UTF-8"),
    Case("latin1-text", plan_bytes("zhoushan_2024", lambda text: "Résumé du plan d'éducation.\n".encode("latin-1")),
         "{raw}/zhoushan_2024.txt: not UTF-8 and not recognisably Chinese (GB18030/GBK, Big5); it may be Japanese "
         "or Korean (Shift-JIS, EUC-KR) — save it as UTF-8"),
    Case("html-page-without-text", plan_bytes("baoshan_2023", lambda text: SCRIPT_ONLY_PAGE.encode()),
         "{raw}/baoshan_2023.txt: HTML page without visible text; save the plan's text instead"),
    Case("duplicate-district-year", set_value("chengzhong_2024", district="杨浦"),
         "{manifest}:5 (chengzhong_2024): duplicate district+year 杨浦 2024, already row yangpu_2024; "
         "each plan appears once"),
    Case("row-without-file", delete("data/raw/minhang_2017.txt"),
         "{raw}/minhang_2017.txt: file missing for manifest row minhang_2017; restore it or delete the row"),
    Case("file-without-row", write("data/raw/jingan_2024.txt", "一、加强党建\n1.推进工作。\n".encode()),
         "{raw}/jingan_2024.txt: no manifest row; register it with `python -m analysis add` or remove it"),
    Case("checksum-drift", plan_bytes("baoshan_2023", lambda text: (text + "补充。\n").encode(), accept=False),
         ("{raw}/baoshan_2023.txt: sha256", "raw files are immutable — restore it, or accept the change with "
          "`python -m analysis check --accept baoshan_2023`")),
    Case("unknown-completeness", set_value("yangpu_2024", completeness="finished"),
         "{manifest}:2 (yangpu_2024): completeness 'finished' must be one of complete, truncated, partial"),
    # The year and the doc_id's year disagree too: one line each, both naming the row.
    Case("year-out-of-range", set_value("minhang_2017", year="2170"),
         "{manifest}:3 (minhang_2017): year 2170 is outside 1990–2100; write the plan's four-digit year", lines=2),
    Case("district-with-slash", set_value("yangpu_2024", district="杨浦/../x"),
         "{manifest}:2 (yangpu_2024): district '杨浦/../x' must be a short Chinese name such as 杨浦"),
    Case("district-dotdot", set_value("yangpu_2024", district=".."),
         "{manifest}:2 (yangpu_2024): district '..' must be a short Chinese name such as 杨浦 (no /, \\, .., spaces)"),
    Case("manifest-missing", delete("data/raw/manifest.csv"),
         "{manifest}: manifest not found; create it or run `python -m analysis add`"),
    Case("manifest-without-rows", empty_corpus,
         "{manifest}: lists no plans; add one with `python -m analysis add FILE"),
    Case("manifest-short-row",  # the last row loses its sha256 column
         edit_file("data/raw/manifest.csv", lambda text: text.rstrip("\n").rsplit(",", 1)[0] + "\n"),
         "{manifest}:6: wrong number of fields; quote values that contain commas"),
    Case("params-file-missing", delete("params/clusters.yaml"),
         "{params}/clusters.yaml: parameter file not found; restore it from git"),
    Case("manifest-saved-as-gbk", reencode("data/raw/manifest.csv", "gbk"),
         ("{manifest}: not UTF-8 text (byte ", "); save it as UTF-8 (in Excel: CSV UTF-8)")),
    Case("malformed-yaml", edit_file("params/clean.yaml", lambda text: text + "\nbroken: [unclosed\n"),
         "{params}/clean.yaml: line"),
    Case("yaml-not-a-mapping", edit_file("params/structure.yaml", lambda text: "- just\n- a list\n"),
         "{params}/structure.yaml: expected a mapping of keys to values at the top level"),
    Case("yaml-saved-as-gbk", reencode("params/themes.yaml", "gbk"),
         "{params}/themes.yaml: not UTF-8 text (byte"),
    Case("stopwords-saved-as-gbk", reencode("params/stopwords.txt", "gbk"),
         "{params}/stopwords.txt: not UTF-8 text (byte"),
    Case("yaml-unknown-key", edit_file("params/clusters.yaml", lambda text: text + "\nsead: 7\n"),
         "{params}/clusters.yaml: unknown key(s) sead; allowed:"),
    Case("yaml-unknown-nested-key",
         edit_file("params/themes.yaml", lambda text: text.replace("  双减:\n    description:", "  双减:\n    descr:")),
         "{params}/themes.yaml: theme 双减 has missing or unknown key(s) descr, description; allowed:"),
]



def inputs_of(project: Paths) -> dict[str, str]:
    return {**tree(project.raw), **{f"params/{k}": v for k, v in tree(project.params).items()}}


@dataclass
class Outcome:
    project: Paths
    before: dict[str, dict[str, str]]  # inputs, processed and reports before the run
    result: subprocess.CompletedProcess[str] | None = None


@pytest.fixture(scope="module")
def outcomes(paths: Paths, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every case damaged in its own copy, then `run` in each copy (in this process: the CLI is the
    same, and validation fails before any stage)."""
    prepared = {}
    for case in CASES:
        project = paths.copy_inputs(tmp_path_factory.mktemp(case.id))
        case.damage(project)
        before = {"inputs": inputs_of(project), "processed": tree(project.processed), "reports": tree(project.reports)}
        prepared[case.id] = Outcome(project, before)
    for outcome in prepared.values():
        outcome.result = cli("--root", str(outcome.project.root), "run")
    return prepared


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_fails_clearly_and_touches_nothing(outcomes: dict[str, Outcome], case: Case) -> None:
    outcome = outcomes[case.id]
    project, result = outcome.project, outcome.result
    assert result is not None
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == case.lines, result.stderr
    for line in lines:
        assert line.startswith("error: "), line
        assert str(project.root) in line, line  # names a file of this project
    for expected in (case.expected,) if isinstance(case.expected, str) else case.expected:
        assert expected.format(raw=project.raw, manifest=project.manifest, params=project.params) in result.stderr
    assert "ran   stage" not in result.stdout  # failed before any stage
    assert inputs_of(project) == outcome.before["inputs"]
    for name, folder in (("processed", project.processed), ("reports", project.reports)):
        before, after = outcome.before[name], tree(folder)
        new = {name for name in set(after) - set(before) if name.split("/")[0] != EXTRACT_CACHE}
        assert new <= ALLOWED_AFTER_FAILURE, folder
        assert {k: v for k, v in after.items() if k in before} == before, folder


# --- accepted inputs -------------------------------------------------------------------------------


def as_html_page(text: str) -> bytes:
    """The plan as a portal page saved with "Save as… .txt": markup, scripts, one <p> per line."""
    body = "\n".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines())
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>工作要点</title>"
        "<script>document.write('<p>广告</p>');</script><style>p { margin: 0 }</style></head>\n"
        f"<body><div class=\"content\">\n{body}\n</div></body></html>\n"
    ).encode()


ACCEPTED = {
    # GBK cannot encode the NBSP lines of yangpu_2024, so GBK is tried on a plan without them and
    # GB18030 (its superset, what a Chinese Windows editor writes) on yangpu_2024.
    "gbk": ("zhoushan_2024", lambda text: text.encode("gbk")),
    "gb18030": ("yangpu_2024", lambda text: text.encode("gb18030")),
    "utf-8-bom": ("yangpu_2024", lambda text: codecs.BOM_UTF8 + text.encode()),
    "utf-16-le-bom": ("yangpu_2024", lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le")),
    "utf-16-be-bom": ("minhang_2017", lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be")),
    "html-page": ("chengzhong_2024", as_html_page),
}


def _plan_tables(tables: CorpusTables, doc_id: str) -> tuple[str, pd.DataFrame]:
    done = next(d for d in tables.plans if d.plan.doc_id == doc_id)
    items = tables.items[tables.items["doc_id"] == doc_id].reset_index(drop=True)
    return done.cleaned.text, items


@pytest.mark.parametrize("encoding", list(ACCEPTED))
def test_other_encodings_and_html_give_the_same_items(project: Paths, corpus: CorpusTables, encoding: str) -> None:
    doc_id, encode = ACCEPTED[encoding]
    path = project.raw / f"{doc_id}.txt"
    data = encode(path.read_text(encoding="utf-8"))
    assert data != path.read_bytes()
    path.write_bytes(data)

    accepted = cli("--root", str(project.root), "check", "--accept", doc_id)
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stderr == ""
    assert f"accepted the current sha256 of {doc_id}" in accepted.stdout and "ok: 5 plans" in accepted.stdout
    assert path.read_bytes() == data  # accepting records the checksum, never rewrites the file

    text, items = _plan_tables(structure_corpus(project.raw, load_params(project.params), [doc_id]), doc_id)
    original_text, original_items = _plan_tables(corpus, doc_id)
    pd.testing.assert_frame_equal(items, original_items)
    if encoding != "html-page":  # the page's visible text differs from the file only in blank lines
        assert text == original_text


# --- warnings, not errors ----------------------------------------------------------------------------

NO_STRUCTURE = (
    "静安区2025年教育工作简述\n"
    "今年全区教育系统坚持立德树人，深化“双减”，推进教育数字化转型，加强学生心理健康教育。"
    "各校要办好每一所家门口的学校，让每个孩子都能享有公平而有质量的教育。\n"
)
SPLIT_TERM = "教育数字化"  # in 教育数字化转型 jieba prefers 教育 / 数字化转型, user dictionary or not


def add_unstructured_plan(project: Paths, tmp_path: Path, text: str = NO_STRUCTURE) -> None:
    source = tmp_path / "jingan.txt"
    source.write_text(text, encoding="utf-8")
    add_plan(project.raw, source, "静安", 2025, doc_id="jingan_2025", region="上海市", admin_level="区",
             title="2025年静安区教育工作要点")


@pytest.mark.parametrize(
    ("text", "item"),
    [(NO_STRUCTURE, NO_STRUCTURE.splitlines()[1]), ("2025年静安区教育工作要点\n", ""), ("静安区教育工作要点", "")],
    ids=["paragraph", "title-only", "title-without-newline"],
)
def test_plan_without_sections_or_items_is_one_section_with_warnings(
    project: Paths, tmp_path: Path, text: str, item: str
) -> None:
    add_unstructured_plan(project, tmp_path, text)
    tables = structure_corpus(project.raw, load_params(project.params), ["jingan_2025"])
    structure = tables.plans[0].structure
    assert structure.sections == [(1, "")]
    assert [i.text for i in structure.items] == [item]
    assert any("no section headings" in w for w in structure.warnings)
    assert any("no numbered items" in w for w in structure.warnings)
    assert tables.documents[["n_sections", "n_items"]].values.tolist() == [[0, 1]]


def test_processing_warns_about_unstructured_plans_and_split_terms(project: Paths, tmp_path: Path) -> None:
    """One run without notebooks: the log (the CLI's stdout) carries both warnings, and the outputs
    are written anyway."""
    add_unstructured_plan(project, tmp_path)
    themes = project.params / "themes.yaml"
    text = themes.read_text(encoding="utf-8")
    themes.write_text(text.replace("terms: [数字化, ", f"terms: [数字化, {SPLIT_TERM}, ", 1), encoding="utf-8")
    lines: list[str] = []

    ensure_processed(project, log=lines.append)

    plan = project.raw / "jingan_2025.txt"
    assert f"warning: {plan}: no section headings (一、二、…) found: the plan is treated as one section" in lines
    assert f"warning: {plan}: no numbered items found: each section is treated as one item" in lines
    split = [line for line in lines if f"term {SPLIT_TERM} is split" in line]
    assert len(split) == 1, lines
    assert split[0].startswith(f"warning: {themes}: ") and "数字化转型" in split[0]
    assert not any(line.startswith("warning:") and "themes.yaml" in line and SPLIT_TERM not in line for line in lines)
    items = pd.read_csv(project.processed / "items.csv", encoding="utf-8-sig")
    assert (items["doc_id"] == "jingan_2025").sum() == 1
    assert (project.processed / "segmentation.csv").is_file()
