"""Hardening: plan structure of any size, strict params YAML, and theme names and terms that every
later step (tables, plots, reports) can carry."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from analysis.corpus.structure import chinese_numeral, parse_plan
from analysis.params import load_params
from analysis.params.loader import load_yaml, parse_yaml
from analysis.params.themes import ThemesParams
from analysis.paths import Paths, ProjectError
from analysis.pipeline import check_params, ensure_processed
from analysis.stages import registry as stages
from analysis.stages.themes import build_themes
from analysis.text.dictionary import theme_lexicon
from analysis.views.plots import plot_theme_heatmap
from test_cli import run_cli

NAME_RULE = (
    "a theme name is 1–20 characters: Chinese characters, ASCII letters and digits, _ - ·, at least one "
    "Chinese character or letter, not a number (no spaces, quotes, $ ; < > & / \\); rename it"
)
TERM_RULE = (
    "a term is a word without spaces: Chinese characters, half-width ASCII letters and digits, and + - · "
    "inside a word (互联网+, 5G)"
)


# --- structure: numbering of any size -----------------------------------------------------------


def numeral(n: int) -> str:
    """Test oracle for 1 ≤ n < 10⁸, built from the digit string (0105 → 一百零五), independently of
    analysis.corpus.structure."""

    def group(four: str) -> str:
        text = "".join("零" if d == "0" else "零一二三四五六七八九"[int(d)] + unit
                       for d, unit in zip(four, ("千", "百", "十", ""), strict=True))
        return re.sub("零+", "零", text).strip("零")

    high, low = int(f"{n:08d}"[:4]), int(f"{n:08d}"[4:])
    text = (group(f"{high:04d}") + "万" if high else "") + ("零" if high and 0 < low < 1000 else "")
    text += group(f"{low:04d}")
    return text[1:] if text.startswith("一十") else text


DECOYS = "，投入 2.5亿元，建设 3.0未来学校， 2024年完成， 9999.非条目， 三百、非部分。"  # never markers


def make_plan(sections: int, items: int, continuous: bool, write: Callable[[int], str] = numeral) -> str:
    """A plan of `sections` × `items`, one marker per line, with decoys that must stay item text."""
    lines = ["某区教育局工作要点", "前言。"]
    for s in range(1, sections + 1):
        lines.append(f"{write(s)}、第{s}部分")
        for i in range(1, items + 1):
            number = (s - 1) * items + i if continuous else i
            lines.append(f"{number}.事项{s}-{i}{DECOYS}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("continuous", [True, False], ids=["continuous", "per-section"])
def test_200_sections_of_5_items(structure_rules, continuous):
    plan = parse_plan(make_plan(200, 5, continuous), structure_rules)
    assert (len(plan.sections), plan.n_sections, len(plan.items)) == (200, 200, 1000)
    assert [title for _, title in plan.sections] == [f"第{s}部分" for s in range(1, 201)]
    assert [(i.section_no, i.item_seq) for i in plan.items] == [(s, (s - 1) * 5 + i)
                                                                for s in range(1, 201) for i in range(1, 6)]
    assert plan.items[-1].text == f"事项200-5{DECOYS}"
    assert plan.items[-1].item_no == ("1000" if continuous else "5")
    assert plan.numbering == ("continuous" if continuous else "per-section")
    assert plan.warnings == []


def test_one_section_of_1005_items(structure_rules):
    plan = parse_plan(make_plan(1, 1005, True), structure_rules)
    assert (len(plan.sections), len(plan.items)) == (1, 1005)
    assert [i.item_no for i in plan.items] == [str(n) for n in range(1, 1006)]
    assert plan.items[999].text.startswith("事项1-1000，") and plan.items[-1].text.startswith("事项1-1005，")
    assert plan.warnings == []


def test_variant_section_numerals(structure_rules):
    """〇 for 零 (一百〇五) and 一十 for 十 (一十二) are read too."""
    def variant(n: int) -> str:
        return ("一" if 10 <= n < 20 else "") + numeral(n).replace("零", "〇")

    plan = parse_plan(make_plan(120, 1, False, variant), structure_rules)
    assert (len(plan.sections), len(plan.items)) == (120, 120)


@pytest.mark.parametrize(("number", "written"), [
    (100, "一百"), (101, "一百零一"), (105, "一百零五"), (110, "一百一十"), (119, "一百一十九"), (200, "二百"),
    (999, "九百九十九"), (1000, "一千"), (1001, "一千零一"), (1010, "一千零一十"), (1100, "一千一百"),
    (10_000, "一万"), (10_010, "一万零一十"), (100_000, "十万"), (110_000, "十一万"), (10**8, "一亿"),
    (10**8 + 10**4, "一亿零一万"), (10**12, "一万亿"),
])
def test_large_chinese_numerals(number, written):
    assert chinese_numeral(number) == written


def test_chinese_numerals_agree_with_the_oracle():
    assert [chinese_numeral(n) for n in range(1, 120_001)] == [numeral(n) for n in range(1, 120_001)]


# --- strict YAML ----------------------------------------------------------------------------------


def line_of(path: Path, start: str) -> int:
    """1-based number of the first line of `path` that starts with `start`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if line.startswith(start))


def replace_line(path: Path, old: str, new: str) -> int:
    """Replace the line `old` by `new`; return its line number."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = lines.index(old + "\n")
    lines[at] = new + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    return at + 1


def test_every_params_file_reads_as_safe_load(paths):
    for path in sorted(paths.params.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert parse_yaml(text) == (yaml.safe_load(text), []), path


def test_merge_keys_keep_their_meaning():
    assert parse_yaml("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\n") == (
        {"base": {"x": 1, "y": 2}, "d": {"x": 3, "y": 2}}, [])


def test_repeated_nested_key_names_both_lines(project):
    path = project.params / "themes.yaml"
    first = line_of(path, "  思政:")
    again = replace_line(path, "  双减:", "  思政:")
    with pytest.raises(ProjectError) as error:
        load_yaml(path)
    assert error.value.problems == [f"{path}: line {again}: key 思政 repeated (first at line {first}); keep one"]


def test_repeated_top_level_key(project):
    path = project.params / "clusters.yaml"
    first = line_of(path, "seed:")
    path.write_text(path.read_text(encoding="utf-8") + "seed: 7\n", encoding="utf-8")
    again = len(path.read_text(encoding="utf-8").splitlines())
    with pytest.raises(ProjectError) as error:
        check_params(project)
    assert error.value.problems == [f"{path}: line {again}: key seed repeated (first at line {first}); keep one"]


@pytest.mark.parametrize(("key", "read_as"), [
    ("null", "None"), ("~", "None"), ("yes", "True"), ("no", "False"), ("on", "True"), ("off", "False"),
    ("1", "1"), ("2024", "2024"),
])
def test_keys_that_are_not_text(project, key, read_as):
    path = project.params / "themes.yaml"
    line = replace_line(path, "  双减:", f"  {key}:")
    with pytest.raises(ProjectError) as error:
        ThemesParams.from_yaml(path)
    assert error.value.problems == [
        f"{path}: line {line}: key {key} is not text (YAML reads it as {read_as}); "
        f"quote the key (\"{key}\") or rename it"
    ]


def test_a_quoted_key_is_text(project):
    path = project.params / "themes.yaml"
    replace_line(path, "  双减:", '  "yes":')
    assert list(theme_lexicon(ThemesParams.from_yaml(path)).terms) == ["思政", "yes", "数字化", "心理健康"]


def test_every_key_problem_is_one_line_in_line_order(project):
    path = project.params / "report.yaml"
    path.write_text("2024: x\n" + path.read_text(encoding="utf-8") + "top_terms: 3\nno: 1\n", encoding="utf-8")
    n = len(path.read_text(encoding="utf-8").splitlines())
    first = line_of(path, "top_terms:")
    with pytest.raises(ProjectError) as error:
        load_yaml(path)
    assert error.value.problems == [
        f"{path}: line 1: key 2024 is not text (YAML reads it as 2024); quote the key (\"2024\") or rename it",
        f"{path}: line {n - 1}: key top_terms repeated (first at line {first}); keep one",
        f"{path}: line {n}: key no is not text (YAML reads it as False); quote the key (\"no\") or rename it",
    ]


def test_check_reports_key_problems_one_line_each(project):
    path = project.params / "themes.yaml"
    first = line_of(path, "  思政:")
    again = replace_line(path, "  双减:", "  思政:")
    result = run_cli("--root", str(project.root), "check")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {path}: line {again}: key 思政 repeated (first at line {first}); keep one"
    ]


# --- theme names and terms ------------------------------------------------------------------------


def write_lexicon(tmp_path: Path, paths: Paths, change: Callable[[dict], None]) -> Path:
    raw = yaml.safe_load((paths.params / "themes.yaml").read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "themes.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def rename_themes(names: list[str]) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        raw["themes"] = dict(zip(names, raw["themes"].values(), strict=True))

    return change


@pytest.mark.parametrize("name", [
    ";", "$x^$", "$\\q$", "a$b", "课后 服务", "<b>", "A&B", '"q"', "it's", "a/b", "a\\b", "{0}", "%s", "a.b",
    "1e5", "nan", "inf", "2024", "-", "_·_", "", "思" * 21, "思政\n", "思政\x1b[31m",
])
def test_theme_names_refused(tmp_path, paths, name):
    path = write_lexicon(tmp_path, paths, rename_themes([name, "双减", "数字化", "心理健康"]))
    with pytest.raises(ProjectError) as error:
        ThemesParams.from_yaml(path)
    assert error.value.problems == [f"{path}: theme name {name!r} is not allowed; {NAME_RULE}"]


@pytest.mark.parametrize(("term", "problem"), [
    ("课后 服务", f"'课后 服务' is not a term; {TERM_RULE}"),
    ("课后\t服务", f"'课后\\t服务' is not a term; {TERM_RULE}"),
    ("<script>", f"'<script>' is not a term; {TERM_RULE}"),
    ("A&B", f"'A&B' is not a term; {TERM_RULE}"),
    ("3.0", f"'3.0' is not a term; {TERM_RULE}"),
    ("５Ｇ", f"'５Ｇ' is not a term; {TERM_RULE}"),
    ("+", f"'+' is not a term; {TERM_RULE}"),
    ("", f"'' is not a term; {TERM_RULE}"),
    (2024, "2024 is not text (YAML reads unquoted numbers, yes/no and null as such); quote it"),
    (True, "True is not text (YAML reads unquoted numbers, yes/no and null as such); quote it"),
    (None, "None is not text (YAML reads unquoted numbers, yes/no and null as such); quote it"),
])
def test_terms_refused(tmp_path, paths, term, problem):
    path = write_lexicon(tmp_path, paths, lambda raw: raw["themes"]["双减"]["terms"].append(term))
    with pytest.raises(ProjectError) as error:
        ThemesParams.from_yaml(path)
    assert error.value.problems == [f"{path}: theme 双减 terms: {problem}"]


def test_every_bad_term_is_one_line(tmp_path, paths):
    path = write_lexicon(tmp_path, paths, lambda raw: raw["themes"]["心理健康"].update(exclude=["核心 理念", "a;b"]))
    with pytest.raises(ProjectError) as error:
        ThemesParams.from_yaml(path)
    assert error.value.problems == [
        f"{path}: theme 心理健康 exclude: '核心 理念' is not a term; {TERM_RULE}",
        f"{path}: theme 心理健康 exclude: 'a;b' is not a term; {TERM_RULE}",
    ]


def test_in_word_symbols_and_latin_terms_are_accepted(tmp_path, paths):
    path = write_lexicon(tmp_path, paths, lambda raw: raw["themes"]["数字化"]["terms"].extend(
        ["互联网+", "6G", "AI", "人工智能+教育", "产教·融合", "K-12"]))
    terms = theme_lexicon(ThemesParams.from_yaml(path)).terms["数字化"]
    assert terms[-6:] == ("互联网+", "6G", "AI", "人工智能+教育", "产教·融合", "K-12")


def test_one_character_term_is_a_warning(project):
    path = project.params / "themes.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("心理, 心育,", "心理, 心育, 心,"), encoding="utf-8")
    expected = [f"{path}: theme 心理健康 term 心 is one character long; it will match inside unrelated words "
                "— use a longer term"]
    assert ThemesParams.from_yaml(path).warnings(path) == expected
    assert check_params(project)[1] == expected


def test_committed_params_give_no_warnings(paths):
    assert check_params(paths)[1] == []


def test_processing_logs_params_warnings(project, monkeypatch):
    """`run` prints check_params' warnings (stages left out: they have nothing to add here)."""
    path = project.params / "themes.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("terms: [双减, ", "terms: [双减, 减, "), encoding="utf-8")
    monkeypatch.setattr(stages, "STAGES", [])
    lines: list[str] = []
    ensure_processed(project, log=lines.append)
    assert lines[0] == (f"warning: {path}: theme 双减 term 减 is one character long; it will match inside "
                        "unrelated words — use a longer term")


# --- allowed theme names go through the themes stage and its figures -------------------------------

ODD_NAMES = ["A_B", "x-y·z", "_私_", "2024年"]


def test_allowed_odd_theme_names_through_the_themes_stage(tmp_path, paths, corpus):
    """The names reach table columns and figure labels intact; figures draw (matplotlib would fail on
    $…$ in a label, which validation refuses)."""
    path = write_lexicon(tmp_path, paths, rename_themes(ODD_NAMES))
    themes = build_themes(corpus, replace(load_params(paths.params), themes=ThemesParams.from_yaml(path)))
    plain = build_themes(corpus, load_params(paths.params))
    assert list(dict.fromkeys(themes.theme_counts["theme"])) == ODD_NAMES
    assert themes.theme_counts["mentions"].tolist() == plain.theme_counts["mentions"].tolist()
    assert set(themes.kwic["theme"]) == set(ODD_NAMES)
    figures = [plot_theme_heatmap(themes.theme_counts, "per_10k_chars"),
               plot_theme_heatmap(themes.theme_counts, "item_share")]
    for figure in figures:
        figure.savefig(io.BytesIO(), format="png")
        assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == ODD_NAMES
