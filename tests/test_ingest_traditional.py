"""A plan written in Traditional characters (UTF-8 or Big5) is counted like Simplified, never silently
zero: cleaning converts it (OpenCC t2s), documents.csv says so, `add` prints it, the raw file stays
as it was."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.corpus.add import add_plan
from analysis.corpus.clean import CONVERTED, SIMPLIFIED, clean_plan, traditional_share
from analysis.corpus.ingest import read_plan
from analysis.params import load_params
from analysis.params.themes import ThemesParams
from analysis.paths import Paths
from analysis.stages.dataset import structure_corpus
from analysis.stages.themes import stat_counts, stat_kwic
from analysis.text.dictionary import theme_lexicon
from support import LIMITS, cli

INGEST = Path(__file__).parent / "fixtures" / "ingest"
HANT = INGEST / "zh_hant_plan.txt"  # written in Simplified (zh_hans_plan.txt), then in Traditional
HANS = INGEST / "zh_hans_plan.txt"
NEW = {"region": "浙江省", "admin_level": "区", "title": "2025年临海区教育局工作要点"}


def test_traditional_text_is_detected_and_converted_simplified_is_left_alone(
    clean_rules, structure_rules, corpus
) -> None:
    hant = clean_plan(read_plan(HANT, structure_rules, LIMITS)[0], clean_rules)
    hans = clean_plan(read_plan(HANS, structure_rules, LIMITS)[0], clean_rules)
    assert traditional_share(read_plan(HANT, structure_rules, LIMITS)[0]) > 0.3
    assert (hant.script, hans.script) == (CONVERTED, SIMPLIFIED)
    assert hant.text == hans.text
    assert {p.cleaned.script for p in corpus.plans} == {SIMPLIFIED}  # the seeds: share 0.0


def test_traditional_plan_gets_the_theme_counts_of_its_simplified_text(project: Paths) -> None:
    raw_before = HANT.read_bytes()
    add_plan(project.raw, HANT, "临海", 2025, doc_id="linhai_2025", **NEW)
    add_plan(project.raw, HANS, "临海", 2026, doc_id="linhai_2026", **NEW)
    assert (project.raw / "linhai_2025.txt").read_bytes() == raw_before == HANT.read_bytes()
    tables = structure_corpus(project.raw, load_params(project.params), ["linhai_2025", "linhai_2026"])
    assert tables.documents.set_index("doc_id")["script"].to_dict() == {
        "linhai_2025": CONVERTED, "linhai_2026": SIMPLIFIED}
    themes = ThemesParams.from_yaml(project.params / "themes.yaml")
    counts = stat_counts(stat_kwic(tables, themes), tables.documents, theme_lexicon(themes))
    per_plan = {doc_id: frame.set_index("theme")[["mentions", "items_with_theme"]].to_dict()
                for doc_id, frame in counts.groupby("doc_id")}
    assert per_plan["linhai_2025"] == per_plan["linhai_2026"]
    mentions = per_plan["linhai_2025"]["mentions"]
    assert all(mentions[theme] > 0 for theme in ("双减", "数字化", "心理健康", "思政")), mentions
    items = tables.items.groupby("doc_id")["text"].apply(list)
    assert items["linhai_2025"] == items["linhai_2026"] and len(items["linhai_2025"]) == 6


def test_add_says_the_plan_was_converted(project: Paths) -> None:
    result = cli("--root", str(project.root), "add", str(HANT), "--district", "临海", "--year", "2025",
                 "--doc-id", "linhai_2025", "--region", "浙江省", "--admin-level", "区", "--title", NEW["title"])
    assert result.returncode == 0, result.stderr
    assert "  script: traditional→simplified (原文为繁体，已转为简体；原文件未改动)" in result.stdout.splitlines()
    assert "3 sections, 6 items" in result.stdout


def test_big5_file_is_read_as_traditional_chinese_and_stored_as_is(
    project: Paths, tmp_path: Path, structure_rules
) -> None:
    source = tmp_path / "plan.txt"
    source.write_bytes(HANT.read_text(encoding="utf-8").encode("big5"))
    plan = add_plan(project.raw, source, "临海", 2025, doc_id="linhai_2025", source="区教育局网站", **NEW)
    assert (project.raw / plan.file).read_bytes() == source.read_bytes()
    assert plan.source == "区教育局网站 (encoding Big5)"
    assert read_plan(project.raw / plan.file, structure_rules, LIMITS)[0] == read_plan(HANT, structure_rules, LIMITS)[0]
    tables = structure_corpus(project.raw, load_params(project.params), ["linhai_2025"])
    assert tables.documents["script"].tolist() == [CONVERTED] and len(tables.items) == 6


def test_a_district_page_says_the_plan_was_converted() -> None:
    from analysis.views.district import header_html

    row = {"doc_id": "taibei_2025", "region": "台北市", "district": "中正", "admin_level": "区", "year": 2025,
           "completeness": "complete", "n_sections": 2, "n_items": 4, "n_chars": 900, "source": "test"}
    converted = header_html(pd.DataFrame([{**row, "script": CONVERTED}]), "taibei_2025")
    assert "原文为繁体，已转为简体" in converted
    assert "原文为繁体" not in header_html(pd.DataFrame([{**row, "script": SIMPLIFIED}]), "taibei_2025")
