"""Strict inputs (hardening): legacy encodings, manifest years, what `add` reads, and error lines
that are relevant and printable. CLI cases run `analysis.cli.main` in-process."""

from __future__ import annotations

import csv
import hashlib
import os
import re
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.corpus.add import add_plan
from analysis.corpus.decode import MIN_CJK_PAIRS, MIN_WORD_PAIR_SHARE, decode_plan, detect_encoding, word_pair_share
from analysis.corpus.ingest import read_plan
from analysis.corpus.manifest import MANIFEST_COLUMNS, accept_checksum, parse_year, read_manifest, validate
from analysis.paths import Paths, ProjectError
from support import LIMITS

FIXTURES = Path(__file__).parent / "fixtures"
YANGPU_2025 = FIXTURES / "corpus_yangpu_2025.txt"
JAPANESE = (FIXTURES / "inputs_ja_plan.txt").read_text(encoding="utf-8")
KOREAN = (FIXTURES / "inputs_ko_plan.txt").read_text(encoding="utf-8")
TRADITIONAL = (FIXTURES / "inputs_zh_hant_plan.txt").read_text(encoding="utf-8")
SHORT_JAPANESE = "令和七年度の教育方針について、学校と家庭の連携を強化します。"
SHORT_KOREAN = "2025년 교육 계획: 학생 맞춤형 교육을 강화합니다."
FOREIGN = {
    "ja-shift_jis": (JAPANESE, "shift_jis"),
    "ja-cp932": (JAPANESE, "cp932"),
    "ja-euc_jp": (JAPANESE, "euc_jp"),
    "ja-short-shift_jis": (SHORT_JAPANESE, "shift_jis"),
    "ko-euc_kr": (KOREAN, "euc_kr"),
    "ko-cp949": (KOREAN, "cp949"),
    "ko-short-euc_kr": (SHORT_KOREAN, "euc_kr"),
    "zh-hant-big5": (TRADITIONAL, "big5"),
}
NOT_CHINESE = (
    "not UTF-8 and not recognisably Chinese (GB18030/GBK, Big5); it may be Japanese or Korean "
    "(Shift-JIS, EUC-KR) — save it as UTF-8"
)
REFUSED = {sample: case for sample, case in FOREIGN.items() if case[1] != "big5"}  # Big5: test_ingest_traditional
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def cli(capsys: pytest.CaptureFixture[str], project: Paths, *args: str) -> tuple[int, list[str]]:
    """Exit code and stderr lines of `python -m analysis --root PROJECT ARGS…`, run in-process."""
    code = main(["--root", str(project.root), *args])
    return code, capsys.readouterr().err.splitlines()


def refused(capsys: pytest.CaptureFixture[str], project: Paths, *args: str) -> list[str]:
    """The stderr lines of a CLI command that must exit 2 and leave data/raw byte-for-byte unchanged."""
    before = tree(project.raw)
    code, lines = cli(capsys, project, *args)
    assert code == 2, lines
    assert tree(project.raw) == before
    return lines


def set_year(project: Paths, doc_id: str, year: str) -> None:
    with project.manifest.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with project.manifest.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(MANIFEST_COLUMNS)
        writer.writerows([year if c == "year" and row["doc_id"] == doc_id else row[c] for c in MANIFEST_COLUMNS]
                         for row in rows)


# --- 1. legacy encodings ------------------------------------------------------------------------


@pytest.mark.parametrize("sample", REFUSED, ids=list(REFUSED))
def test_japanese_and_korean_bytes_are_refused(sample: str) -> None:
    text, codec = REFUSED[sample]
    data = text.encode(codec)
    data.decode("gb18030")  # they do decode, as mojibake: the plausibility score refuses them
    with pytest.raises(ProjectError) as caught:
        decode_plan(data, "plan.txt")
    assert caught.value.problems == [f"plan.txt: {NOT_CHINESE}"]


def test_threshold_separates_chinese_from_mojibake_with_margin(paths: Paths, structure_rules) -> None:
    texts = [read_plan(paths.raw / plan.file, structure_rules, LIMITS)[0] for plan in read_manifest(paths.raw)]
    chinese = [word_pair_share(text) for text in texts]
    mojibake = [word_pair_share(text.encode(codec).decode("gb18030")) for text, codec in FOREIGN.values()]
    assert min(share for share, _ in chinese) >= 1.5 * MIN_WORD_PAIR_SHARE  # measured 0.69
    assert max(share for share, _ in mojibake) <= MIN_WORD_PAIR_SHARE / 3  # measured 0.02
    lines = [line for text in texts for line in text.splitlines()]
    scored = [word_pair_share(line) for line in lines]
    assert min(share for share, pairs in scored if pairs >= MIN_CJK_PAIRS) >= MIN_WORD_PAIR_SHARE + 0.1  # 0.50


@pytest.mark.parametrize("codec", ["gbk", "gb18030"])
def test_real_plans_in_gbk_and_gb18030_are_decoded(paths: Paths, structure_rules, codec: str) -> None:
    for plan in read_manifest(paths.raw):
        text = read_plan(paths.raw / plan.file, structure_rules, LIMITS)[0]
        if codec == "gbk" and "\xa0" in text:  # GBK has no NBSP; GB18030 is what editors write then
            continue
        data = text.encode(codec)
        assert detect_encoding(data, plan.file) == "gb18030"
        assert decode_plan(data, plan.file) == text


@pytest.mark.parametrize(
    ("encode", "label"),
    [
        (lambda text: text.encode("gb18030"), "GB18030"),
        (lambda text: text.encode("utf-16"), "UTF-16"),
        (lambda text: b"\xef\xbb\xbf" + text.encode(), "UTF-8 with BOM"),
    ],
    ids=["gb18030", "utf-16-bom", "utf-8-bom"],
)
def test_add_stores_the_original_bytes(project: Paths, tmp_path: Path, structure_rules, encode, label: str) -> None:
    text = (project.raw / "yangpu_2024.txt").read_text(encoding="utf-8").replace("2024", "2025")
    source = tmp_path / "plan.txt"
    source.write_bytes(encode(text))
    plan = add_plan(project.raw, source, "杨浦", 2025, source="区教育局网站")
    assert (project.raw / "yangpu_2025.txt").read_bytes() == source.read_bytes()
    assert plan.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert plan.source == f"区教育局网站 (encoding {label})"
    assert read_plan(project.raw / plan.file, structure_rules, LIMITS)[0] == text
    assert validate(project.raw)[-1] == plan


def test_add_refuses_korean_file_in_one_line(project: Paths, tmp_path: Path, capsys) -> None:
    source = tmp_path / "plan.txt"
    source.write_bytes(KOREAN.encode("euc_kr"))
    lines = refused(capsys, project, "add", str(source), "--district", "杨浦", "--year", "2025")
    assert lines == [f"error: {source}: {NOT_CHINESE}"]


# --- 2. manifest years -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["２０２５", "202²", "二〇二五", "25", "20250", "2025年", ""])
def test_year_must_be_four_ascii_digits(text: str) -> None:
    with pytest.raises(ProjectError) as caught:
        parse_year(text)
    assert caught.value.problems == [f"year {text!r} is not a four-digit year in ASCII digits 0-9; write e.g. 2025"]


def test_year_in_ascii_digits_is_parsed() -> None:
    assert (parse_year("2025"), parse_year(" 2025\n")) == (2025, 2025)


def test_superscript_year_in_manifest_is_one_error_line(project: Paths, capsys) -> None:
    set_year(project, "minhang_2017", "202²")
    lines = refused(capsys, project, "check")
    assert lines == [
        f"error: {project.manifest}:3: year '202²' is not a four-digit year in ASCII digits 0-9; write e.g. 2025"
    ]


def test_full_width_year_in_manifest_is_refused_never_rewritten(project: Paths, capsys) -> None:
    set_year(project, "minhang_2017", "２０１７")
    expected = f"{project.manifest}:3: year '２０１７' is not a four-digit year in ASCII digits 0-9; write e.g. 2025"
    for call in (
        lambda: validate(project.raw),
        lambda: accept_checksum(project.raw, "minhang_2017"),
        lambda: add_plan(project.raw, YANGPU_2025, "杨浦", 2025),
    ):
        before = tree(project.raw)
        with pytest.raises(ProjectError) as caught:
            call()
        assert caught.value.problems == [expected]
        assert tree(project.raw) == before


@pytest.mark.parametrize("year", ["２０２５", "202²"])
def test_cli_year_is_refused_like_the_manifest(project: Paths, capsys, year: str) -> None:
    lines = refused(capsys, project, "add", str(YANGPU_2025), "--district", "杨浦", "--year", year)
    assert lines == [f"error: year {year!r} is not a four-digit year in ASCII digits 0-9; write e.g. 2025"]


# --- 3. what `add` reads, and links in data/raw ---------------------------------------------------


def folder(path: Path) -> None:
    path.mkdir()


def symlink(path: Path) -> None:
    path.symlink_to(YANGPU_2025)


def fifo(path: Path) -> None:
    os.mkfifo(path)  # reading it would block: the check must not open it


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (folder, "is a folder; give the plan's file"),
        (symlink, "is a symbolic link; give the file itself"),
        (fifo, "is not a regular file (a pipe, socket or device); give the plan's text file"),
    ],
    ids=["folder", "symlink", "fifo"],
)
def test_add_refuses_what_is_not_a_regular_file(project: Paths, tmp_path: Path, capsys, make, expected: str) -> None:
    path = tmp_path / "plan.txt"
    make(path)
    lines = refused(capsys, project, "add", str(path), "--district", "杨浦", "--year", "2025")
    assert lines == [f"error: {path}: {expected}"]


def link_problem(path: Path) -> str:
    return (
        f"{path}: is a symbolic link; data/raw holds real, immutable files — "
        "replace the link with a copy of the file it points to"
    )


def replace_with_link(path: Path, target: Path) -> None:
    """Move `path` to `target` and leave a symbolic link to it: same bytes, same checksum."""
    path.rename(target)
    path.symlink_to(target)


def test_symlinked_plan_is_reported_and_not_accepted(project: Paths, tmp_path: Path, capsys) -> None:
    plan = project.raw / "minhang_2017.txt"
    replace_with_link(plan, tmp_path / "elsewhere.txt")
    with pytest.raises(ProjectError) as caught:
        validate(project.raw)
    assert caught.value.problems == [link_problem(plan)]
    assert refused(capsys, project, "check", "--accept", "minhang_2017") == [f"error: {link_problem(plan)}"]
    assert plan.is_symlink()


def test_symlinked_manifest_is_reported(project: Paths, tmp_path: Path, capsys) -> None:
    replace_with_link(project.manifest, tmp_path / "manifest.csv")
    assert refused(capsys, project, "check") == [f"error: {link_problem(project.manifest)}"]
    assert refused(capsys, project, "add", str(YANGPU_2025), "--district", "杨浦", "--year", "2025") == [
        f"error: {link_problem(project.manifest)}"
    ]


# --- 4. only relevant problems ---------------------------------------------------------------------


def test_invalid_district_is_the_only_problem(project: Paths, capsys) -> None:
    lines = refused(capsys, project, "add", str(YANGPU_2025), "--district", "x/y", "--year", "2025")
    assert lines == [
        f"error: {project.manifest} (new row x/y 2025): district 'x/y' must be a short Chinese name such as 杨浦 "
        "(no /, \\, .., spaces)"
    ]


@pytest.mark.parametrize(
    ("district", "year", "given"),
    [
        ("静安", 1890, {"doc_id": "jingan_1890", "region": "上海市", "admin_level": "区"}),  # title moot
        ("杨浦", 20250, {}),  # doc_id yangpu_20250 moot
    ],
    ids=["new-district-no-title", "derived-doc-id"],
)
def test_invalid_year_is_the_only_problem(project: Paths, district: str, year: int, given: dict[str, str]) -> None:
    with pytest.raises(ProjectError) as caught:
        add_plan(project.raw, YANGPU_2025, district, year, **given)
    assert caught.value.problems == [
        f"{project.manifest} (new row {district} {year}): year {year} is outside 1990–2100; "
        "write the plan's four-digit year, e.g. 2024"
    ]


# --- 5. error lines are printable ------------------------------------------------------------------


def test_control_characters_in_arguments_never_split_or_colour_a_line(project: Paths, tmp_path: Path, capsys) -> None:
    missing = tmp_path / "pl\nan\x1b[31m.txt"
    args = ["--district", "杨\n浦\x1b[31m", "--year", "2025", "--title", "标题\x1b[31m\n第二行"]
    lines = refused(capsys, project, "add", str(missing), *args)
    assert len(lines) == 3, lines  # district, title, file: no derived hints
    assert all(line.startswith("error: ") and not CONTROL.search(line) for line in lines), lines
    assert "district '杨\\n浦\\x1b[31m' must be a short Chinese name" in lines[0]
    assert lines[1].endswith("title '标题\\x1b[31m\\n第二行' contains a line break or control character; "
                             "write it on one line")
    assert lines[2] == f"error: {tmp_path}/pl\\nan\\x1b[31m.txt: no such file; give the path of the plan's text file"


def test_file_name_with_control_characters_is_recorded_escaped(project: Paths, tmp_path: Path, capsys) -> None:
    source = tmp_path / "pl\nan\x1b[31m.txt"
    source.write_bytes(YANGPU_2025.read_bytes())
    code, errors = cli(capsys, project, "add", str(source), "--district", "杨浦", "--year", "2025")
    assert (code, errors) == (0, [])
    assert read_manifest(project.raw)[-1].source == "added from pl\\nan\\x1b[31m.txt"
    assert not CONTROL.search(project.manifest.read_text(encoding="utf-8").replace("\n", ""))
