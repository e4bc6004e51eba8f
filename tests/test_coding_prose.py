"""Prose about agreement: never 人工/hand coding for an automated reference; every quoted F1/κ equals its table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from analysis.params import load_params
from analysis.params.annotations import load_codings
from analysis.stages.policy_tools import build_policy_tools
from analysis.stages.themes import stat_kwic
from analysis.stages.validation import validate_lexicon
from analysis.text.dictionary import theme_lexicon, tool_codebook

FORBIDDEN = re.compile(r"人工编码|人工 code|hand[- ]?cod|hand-coded|手工判定|human coding")
NEGATION = "不是人工编码 / not human coding"  # the annotation README saying what the reference is not
NAMES = "思政|双减|数字化|心理健康|供给型|环境型|需求型"
QUOTES = [  # "心理健康 … F1 0.83", "F1 is 0.83 (心理健康", "κ 0.54 (供给型"
    re.compile(rf"(?P<name>{NAMES})[^\n。；;]{{0,30}}?(?P<metric>F1|κ)\s*(?:=|is|为|:|：)?\s*(?P<value>[01]\.\d+)"),
    re.compile(rf"(?P<metric>F1|κ)\s*(?:=|is|为|:|：)?\s*(?P<value>[01]\.\d+)\s*\((?P<name>{NAMES})"),
]


def prose(root: Path) -> dict[str, str]:
    """The text a reader is shown about agreement: READMEs, notebook markdown and code, the views."""
    texts = {str(p.relative_to(root)): p.read_text(encoding="utf-8")
             for p in [root / "README.md", root / "data" / "annotations" / "README.md",
                       *sorted((root / "src" / "analysis" / "views").rglob("*.py")),
                       *sorted((root / "src" / "analysis" / "publish").rglob("*.py"))]}
    for notebook in sorted((root / "notebooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        texts[str(notebook.relative_to(root))] = "\n".join("".join(c["source"]) for c in cells)
    return texts


def quoted(text: str) -> list[tuple[str, str, float]]:
    """Every (category, F1 or κ, value) quoted in `text`."""
    return sorted({(m["name"], m["metric"], float(m["value"])) for pattern in QUOTES for m in pattern.finditer(text)})


def test_the_quote_finder_finds_quotes():
    text = "On the seed plans F1 is 1.00 (思政) and 0.90; 心理健康 F1 0.83 without PATHS; κ 0.54 (供给型)."
    assert quoted(text) == sorted([("心理健康", "F1", 0.83), ("思政", "F1", 1.0), ("供给型", "κ", 0.54)])


def test_no_human_coding_wording_for_an_automated_reference(paths):
    assert all(r.automated for r in load_codings(paths.codings))  # so no page may say 人工/hand coding
    found = [f"{name}: {m.group()}" for name, text in prose(paths.root).items()
             for m in FORBIDDEN.finditer(text.replace(NEGATION, ""))]
    assert found == []


@pytest.fixture(scope="module")
def tables(corpus, paths):
    params = load_params(paths.params)
    kwic = stat_kwic(corpus, params.themes)
    lexicon = validate_lexicon(corpus, kwic, theme_lexicon(params.themes), paths.annotations, params.coding,
                               params.statistics).lexicon_validation
    tools = build_policy_tools(corpus, tool_codebook(params.policy_tools), kwic, list(params.themes.terms),
                               paths.policy_tool_annotations, params.statistics, params.coding
                               ).policy_tool_validation
    values = {(t, "F1"): f for t, f in zip(lexicon["theme"], lexicon["f1"], strict=True)}
    types = tools[tools["level"] == "type"]
    for kind, f1, kappa in zip(types["type"], types["f1"], types["kappa"], strict=True):
        values |= {(kind, "F1"): f1, (kind, "κ"): kappa}
    return values


def test_every_number_quoted_in_prose_equals_its_table(paths, tables):
    wrong = [f"{name}: {category} {metric} {value} but the table says {tables[category, metric]:.2f}"
             for name, text in prose(paths.root).items() for category, metric, value in quoted(text)
             if round(tables[category, metric], 2) != value]
    assert wrong == []


# --- percents: the one formatter of the tables (views/tableformat.percent: one decimal) -------------

PROSE = re.compile(r"<p[^>]*>(.*?)</p>", re.S)
PERCENT = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s?%")
LEVEL = {"95", "100"}  # the intervals' level (params/statistics.yaml) and "adds up to 100%": no table numbers
FORMAT = re.compile(r"\{(?P<expression>[^{}]*):\.(?P<digits>\d)%\}")  # f"{share:.0%}", "{:.0%}".format


def test_the_percent_finders_find_percents():
    assert [m[1] for m in PERCENT.finditer("在 82% 的重抽样中，门槛 80.0 %；95% 区间；近视率0.5%")] == [
        "82", "80.0", "95", "0.5"]
    assert [(m["expression"], m["digits"]) for m in FORMAT.finditer('f"{share:.0%}" "{:.1%}" {level:.0%}')] == [
        ("share", "0"), ("", "1"), ("level", "0")]


def test_prose_formats_percents_with_the_tables_one_decimal(paths):
    """No view, publisher or notebook formats a percent in prose with another precision than the
    tables (the interval level, a parameter, is the one exception)."""
    wrong = [f"{name}: {m.group()}" for name, text in prose(paths.root).items() for m in FORMAT.finditer(text)
             if m["digits"] != "1" and "level" not in m["expression"]]
    assert wrong == []


def test_every_percent_in_page_prose_is_a_table_percent(published):
    """Every percent in the paragraphs of the published pages reads like its table (one decimal),
    but the 95 % of an interval's level and a 100 % total."""
    found = [(page.name, paragraph, m) for page in sorted(published.reports.rglob("*.html"))
             for paragraph in PROSE.findall(page.read_text(encoding="utf-8")) for m in PERCENT.finditer(paragraph)]
    wrong = [f"{name}: {m.group()} in {paragraph[:80]}" for name, paragraph, m in found
             if "." not in m[1] and m[1] not in LEVEL]
    assert wrong == [] and sum("." in m[1] for *_, m in found) >= 5  # verdicts and findings quote table percents
