"""Themes: lexicon validation, exact counts on fixtures and seed plans, KWIC, keyness, figures."""

from __future__ import annotations

import io
import shutil
import warnings
from dataclasses import replace
from math import log, log2
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure

from analysis.corpus.manifest import Plan, sha256_of, write_manifest
from analysis.files import csv_bytes
from analysis.params import load_params
from analysis.params.themes import ThemesParams
from analysis.paths import ProjectError
from analysis.stages.dataset import structure_corpus
from analysis.stages.themes import (
    KEYNESS_COLUMNS,
    THEME_TABLE_NAMES,
    build_themes,
    sync_userdict,
    userdict_text,
    write_themes,
)
from analysis.text.dictionary import theme_lexicon
from analysis.text.stats import TEST_COLUMNS
from analysis.text.textstats import stat_keyness
from analysis.text.tokenize import load_segmenter
from analysis.views.plots import plot_theme_heatmap, plot_theme_intervals, use_cjk_font
from analysis.views.themes import theme_overview

FIXTURES = Path(__file__).parent / "fixtures"
SEED_MENTIONS = {  # doc_id: mentions of 思政, 双减, 数字化, 心理健康 (lexicon v2)
    "baoshan_2023": [6, 6, 30, 0],
    "chengzhong_2024": [20, 8, 15, 2],
    "minhang_2017": [10, 9, 23, 2],  # 心理健康: PATHS ×2
    "yangpu_2024": [13, 14, 12, 11],
    "zhoushan_2024": [7, 17, 13, 8],
}


@pytest.fixture(scope="module")
def themes(paths):
    return ThemesParams.from_yaml(paths.params / "themes.yaml")


@pytest.fixture(scope="module")
def lexicon(themes):
    return theme_lexicon(themes)


@pytest.fixture(scope="module")
def seed(corpus, paths):
    return build_themes(corpus, load_params(paths.params))


@pytest.fixture(scope="module")
def fixture_corpus(tmp_path_factory, paths):
    """Two hand-written plans: 甲 (a clean web page) and 乙 (PDF text with word breaks)."""
    raw = tmp_path_factory.mktemp("raw")
    plans = []
    for name, doc_id, district in (("web", "jia_2024", "甲"), ("pdf", "yi_2024", "乙")):
        shutil.copy(FIXTURES / f"themes_{name}.txt", raw / f"{doc_id}.txt")
        plans.append(Plan(doc_id, district, "测试市", "区", 2024, f"2024年{district}区教育工作要点", "fixture",
                          f"{doc_id}.txt", "complete", sha256_of(raw / f"{doc_id}.txt")))
    write_manifest(raw, plans)
    return structure_corpus(raw, load_params(paths.params))


@pytest.fixture(scope="module")
def fixture_themes(fixture_corpus, paths):
    return build_themes(fixture_corpus, load_params(paths.params))


# --- lexicon -------------------------------------------------------------------------------------


def _write_lexicon(tmp_path: Path, paths, change) -> Path:
    raw = yaml.safe_load((paths.params / "themes.yaml").read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "themes.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "message"), [
    (lambda raw: raw.update(colour="red"), "unknown key(s) colour"),
    (lambda raw: raw["themes"]["双减"].update(weight=2), "theme 双减 has missing or unknown key(s) weight"),
    (lambda raw: raw["themes"]["双减"].update(terms=[]), "theme 双减 terms must be a non-empty list"),
    (lambda raw: raw["themes"]["双减"]["terms"].append("心理"), "term 心理 is in themes 双减 and 心理健康"),
    (lambda raw: raw["themes"]["双减"]["terms"].append("双减"), "lists 双减 twice"),
    (lambda raw: raw["themes"]["双减"]["terms"].append("课后 服务"), "a term is a word without spaces"),
    (lambda raw: raw["themes"]["双减"].update(exclude=["核心理念"]), "exclude 核心理念 contains none of its terms"),
    (lambda raw: raw["keyness"].update(min_count=0), "keyness.min_count must be a whole number"),
    (lambda raw: raw["themes"]["双减"].update(since="2021"), "theme 双减 since must be a year between 1990 and 2100"),
    (lambda raw: raw["themes"]["思政"].update(until=24), "theme 思政 until must be a year"),
    (lambda raw: raw["themes"]["思政"].update(since=True), "theme 思政 since must be a year"),
    (lambda raw: raw["themes"]["双减"].update(until=2020), "theme 双减 since 2021 is after until 2020"),
])
def test_lexicon_mistakes_are_one_line_errors_naming_the_file(tmp_path, paths, change, message):
    path = _write_lexicon(tmp_path, paths, change)
    with pytest.raises(ProjectError) as error:
        ThemesParams.from_yaml(path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)
    assert "\n" not in str(error.value)


def test_committed_userdict_is_generated_from_the_lexicon(paths, themes):
    assert (paths.params / "userdict.txt").read_text(encoding="utf-8") == userdict_text(themes)
    assert not any(line.startswith("#") for line in userdict_text(themes).splitlines())


def test_userdict_keeps_plan_periods_and_platform_names_whole(paths):
    tokens = load_segmenter(paths.params).tokens("落实“十三五”规划，编制“十四五”规划，升级“三个助手”平台")
    assert {"十三五", "十四五", "三个助手"} <= set(tokens)  # not 十三 / 三个 / 助手


def test_since_and_until_name_the_years_a_theme_applies_to(lexicon):
    assert lexicon.years == {"双减": (2021, None)}
    assert not lexicon.applies("双减", 2020) and lexicon.applies("双减", 2021) and lexicon.applies("思政", 1990)
    bounded = replace(lexicon, years={"思政": (None, 2020)})
    assert bounded.applies("思政", 2020) and not bounded.applies("思政", 2021)


def test_a_fifth_theme_needs_only_a_yaml_edit(project, corpus):
    path = project.params / "themes.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["themes"]["劳动教育"] = {"description": "劳动教育 labour education", "terms": ["劳动教育", "劳动实践"]}
    raw["userdict"]["extra_terms"].remove("劳动教育")
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert sync_userdict(load_params(project.params)) and not sync_userdict(load_params(project.params))
    assert "劳动实践 2000 n" in (project.params / "userdict.txt").read_text(encoding="utf-8")
    counts = build_themes(corpus, load_params(project.params)).theme_counts.set_index(["doc_id", "theme"])["mentions"]
    assert counts["yangpu_2024", "劳动教育"] == 7
    assert counts["zhoushan_2024", "劳动教育"] == 4  # 劳动教育 twice, 劳动实践 twice


# --- counting ------------------------------------------------------------------------------------


def test_longest_term_first_without_double_counting(lexicon):
    text = "推进课程思政和大思政课，开好思政课，落实思政。加强心理健康教育，确立核心理念。"
    assert [term for _, term in lexicon.find(text)] == [
        "课程思政", "大思政课", "思政课", "思政", "心理健康教育",  # 核心理念 is not 心理
    ]
    assert lexicon.count(text) == {"思政": 4, "双减": 0, "数字化": 0, "心理健康": 1}


def test_exact_counts_on_fixtures(fixture_themes):
    table = fixture_themes.theme_counts.set_index(["doc_id", "theme"])
    columns = ["mentions", "items_with_theme", "n_items", "item_share", "first_section"]
    assert table.loc["jia_2024", columns].astype(object).values.tolist() == [
        [6, 1, 4, 0.25, 1],  # 思政: 2 in the preamble, 4 in item 1 (synonyms, overlaps); 立德树人 is a slogan
        [5, 1, 4, 0.25, 1],  # 双减: item 2; 校外培训机构 counted once
        [5, 1, 4, 0.25, 2],  # 数字化: heading 二 and item 3
        [3, 1, 4, 0.25, 2],  # 心理健康: item 4; 核心理念 in the preamble excluded
    ]
    # 乙 is PDF text: 思想政 治, 课程思 政, 大思政 课, 课后服 务, 数字化 转型 are repaired, then counted
    assert table.loc["yi_2024", columns].astype(object).values.tolist() == [
        [3, 1, 2, 0.5, 1], [1, 1, 2, 0.5, 1], [1, 1, 2, 0.5, 1], [0, 0, 2, 0.0, pd.NA],
    ]
    n_chars = {"jia_2024": 208, "yi_2024": 87}
    for (doc_id, _), row in table.iterrows():
        assert row["per_10k_chars"] == round(row["mentions"] * 10_000 / n_chars[doc_id], 2)


def test_term_counts_add_up_to_theme_counts(seed):
    by_term = seed.term_counts.groupby(["doc_id", "theme"])["mentions"].sum()
    assert by_term.to_dict() == seed.theme_counts.set_index(["doc_id", "theme"])["mentions"].to_dict()


def test_seed_plan_mentions(seed):
    table = seed.theme_counts.pivot(index="doc_id", columns="theme", values="mentions")
    assert table[["思政", "双减", "数字化", "心理健康"]].T.to_dict(orient="list") == SEED_MENTIONS


def test_baoshan_思想政治_is_found_after_word_break_repair(seed):
    kwic = seed.kwic.query("doc_id == 'baoshan_2023' and term == '思想政治'")
    assert kwic[["item_seq", "section_no"]].values.tolist() == [[2, 1]]
    assert kwic["right"].iloc[0].startswith("理论课程改革创新实施方案")


def test_a_2017_plan_has_no_双减_but_keeps_its_evidence(seed):
    """双减 applies since 2021: 闵行 2017's 双减 is n/a — counted in the tables, n/a on the pages."""
    counts = seed.theme_counts.set_index(["doc_id", "theme"])
    assert counts["applicable"].sum() == 19 and not counts.loc[("minhang_2017", "双减"), "applicable"]
    row = counts.loc[("minhang_2017", "双减")]
    assert (row["mentions"], row["items_with_theme"]) == (9, 3)  # 减负 precursors, still in kwic.csv
    assert row[["per_10k_low", "per_10k_high", "item_share_low", "item_share_high"]].isna().all()
    assert len(seed.kwic.query("doc_id == 'minhang_2017' and theme == '双减'")) == 9
    assert not seed.term_counts.query("doc_id == 'minhang_2017' and theme == '双减'")["applicable"].any()
    overview = theme_overview(seed.theme_counts)
    assert overview.loc[("闵行", 2017), ("每万字 per 10k chars [95% CI]", "双减")] == "n/a"
    assert overview.loc[("闵行", 2017), ("提及 mentions", "双减")] == "n/a"  # counted in kwic.csv, shown n/a


# --- KWIC ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["seed", "fixture_themes"])
def test_kwic_rows_equal_mentions_and_sit_at_their_item(request, name, corpus, fixture_corpus):
    themes = request.getfixturevalue(name)
    tables = corpus if name == "seed" else fixture_corpus
    per_doc = themes.kwic.groupby(["doc_id", "theme"]).size()
    counts = themes.theme_counts.set_index(["doc_id", "theme"])["mentions"]
    assert per_doc.reindex(counts.index, fill_value=0).equals(counts)
    plans = {done.plan.doc_id: done for done in tables.plans}
    for row in themes.kwic.itertuples():
        text = plans[row.doc_id].cleaned.text
        assert text[row.start: row.start + len(row.match)] == row.match
        assert text[row.start - len(row.left): row.start].replace("\n", " ") == row.left
        if pd.isna(row.item_seq):
            assert not any(i.start <= row.start < i.end for i in plans[row.doc_id].structure.items)
        else:
            item = plans[row.doc_id].structure.items[row.item_seq - 1]
            assert item.start <= row.start < item.end and row.match in item.text
            assert item.section_no == row.section_no


# --- keyness -------------------------------------------------------------------------------------


def test_keyness_against_hand_computed_values():
    counts = pd.DataFrame({"doc_id": ["a", "b", "b"], "term": ["思政", "思政", "双减"], "count": [10, 20, 12]})
    table = stat_keyness(counts, pd.Series({"a": 1000, "b": 3000}), min_count=1).set_index(["doc_id", "term"])
    # 2×2 table for 思政 in a: observed 10, 20, 990, 2980; expected 7.5, 22.5, 992.5, 2977.5
    g2 = 2 * (10 * log(10 / 7.5) + 20 * log(20 / 22.5) + 990 * log(990 / 992.5) + 2980 * log(2980 / 2977.5))
    row = table.loc["a", "思政"]
    assert (row["count"], row["expected"], row["count_other"], row["total"], row["total_other"]) == (
        10, 7.5, 20, 1000, 3000)
    assert row["g2"] == pytest.approx(1.0507, abs=1e-4) == pytest.approx(g2, abs=1e-4)
    assert row["p"] == pytest.approx(0.30537, abs=1e-4)
    assert row["log_ratio"] == pytest.approx(log2(1.5), abs=1e-4)
    assert table.loc["b", "思政"]["g2"] == row["g2"] and table.loc["b", "思政"]["log_ratio"] == -row["log_ratio"]
    # 双减 never occurs in a: the zero count becomes 0.5 in the log ratio, (0.5/1000)/(12/3000) = 1/8
    assert table.loc["a", "双减"]["log_ratio"] == -3.0
    assert table.loc["a", "双减"]["g2"] == pytest.approx(6.9164, abs=1e-4)
    # Benjamini–Hochberg within document a: p-values (0.305, 0.0085) → q = (0.305, 0.0171)
    assert table.loc["a", "双减"]["q"] == pytest.approx(2 * table.loc["a", "双减"]["p"], rel=1e-5)
    assert table.loc["a", "思政"]["q"] == pytest.approx(row["p"], rel=1e-5)


def test_keyness_min_count_and_single_plan():
    counts = pd.DataFrame({"doc_id": ["a", "b"], "term": ["思政", "双减"], "count": [4, 5]})
    totals = pd.Series({"a": 100, "b": 100})
    assert set(stat_keyness(counts, totals, min_count=5)["term"]) == {"双减"}
    assert stat_keyness(counts.head(1), totals.head(1)).empty


def test_seed_keyness_tables(seed, themes):
    tokens = seed.keyness  # themes are tested by item (theme_tests, tests/test_stats.py), not by character
    assert (tokens["kind"] == "token").all()
    assert (tokens["count"] + tokens["count_other"] >= themes.min_count).all()
    top = tokens.query("doc_id == 'minhang_2017'").iloc[0]
    assert top["term"] == "闵行区"


def test_keyness_keeps_used_tokens_and_recomputes_exactly(seed, themes):
    """Rows only for tokens a plan uses (plans × vocabulary would not scale); the zeros follow, so
    recomputing from the stored counts (what per-set keyness does) gives the same statistics."""
    tokens = seed.keyness
    assert (tokens["count"] > 0).all()
    again = stat_keyness(tokens[["doc_id", "term", "count"]], tokens.groupby("doc_id")["total"].first(),
                         themes.min_count)
    again = again[again["count"] > 0].set_index(["doc_id", "term"]).sort_index()
    stored = tokens.set_index(["doc_id", "term"]).sort_index()
    assert len(again) == len(stored)
    for column in ("g2", "q", "log_ratio", "count_other"):
        assert (again[column] == stored[column]).all(), column


def test_write_themes_is_atomic_and_reproducible(seed, corpus, paths, tmp_path):
    written = write_themes(seed, tmp_path)
    assert [p.name for p in written] == [f"{name}.csv" for name in THEME_TABLE_NAMES]
    again = build_themes(corpus, load_params(paths.params))
    assert all((tmp_path / f"{name}.csv").read_bytes() == csv_bytes(getattr(again, name)) for name in THEME_TABLE_NAMES)


# --- figures -------------------------------------------------------------------------------------


def _glyph_warnings(draw) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw().savefig(io.BytesIO(), format="png")
    return [str(w.message) for w in caught if "Glyph" in str(w.message)]


def test_chinese_labels_render_without_missing_glyphs(seed, corpus):
    use_cjk_font()
    assert _glyph_warnings(lambda: plot_theme_heatmap(seed.theme_counts)) == []
    assert _glyph_warnings(lambda: plot_theme_heatmap(seed.theme_counts, documents=corpus.documents)) == []
    for value in ("per_10k_chars", "item_share"):
        assert _glyph_warnings(lambda v=value: plot_theme_intervals(seed.theme_counts, corpus.documents, v)) == []


def test_heatmap_colour_scale_comes_from_complete_plans(seed, corpus):
    fig = plot_theme_heatmap(seed.theme_counts, "per_10k_chars", documents=corpus.documents)
    ax = fig.axes[0]
    shown = seed.theme_counts[seed.theme_counts["applicable"]]  # 闵行 2017 × 双减 is n/a
    complete = shown[shown["doc_id"] != "baoshan_2023"]["per_10k_chars"]
    norm = ax.collections[0].norm
    assert (norm.vmin, norm.vmax) == (complete.min(), complete.max())  # 宝山 2023（截断）: 61.18 is clipped
    assert "宝山 2023（截断）" in [label.get_text() for label in ax.get_yticklabels()]
    assert sum(bool(patch.get_hatch()) for patch in ax.patches) == 1
    assert ax.collections[0].colorbar.extend == "both"  # 61.18 above, 心理健康 0 below the complete range


def test_figures_draw_a_theme_that_does_not_apply_as_na(seed, corpus):
    ax = plot_theme_heatmap(seed.theme_counts, "item_share", documents=corpus.documents).axes[0]
    assert [(text.get_position(), text.get_text()) for text in ax.texts if text.get_text() == "n/a"] == [
        ((1.5, 2.5), "n/a")]  # column 双减, row 闵行 2017
    assert ax.collections[0].get_array().count() == 19  # the n/a cell has no colour
    panel = plot_theme_intervals(seed.theme_counts, corpus.documents, "item_share").axes[1]  # 双减
    assert [(text.get_text(), text.get_position()[1]) for text in panel.texts] == [("n/a", 1)]  # 闵行 2017
    assert sorted(y for line in panel.lines if line.get_marker() == "o" for y in line.get_ydata()) == [0, 2, 3, 4]


def test_interval_figure_puts_incomplete_plans_last_and_hollow(seed, corpus):
    ax = plot_theme_intervals(seed.theme_counts, corpus.documents).axes[0]
    assert [label.get_text() for label in ax.get_yticklabels()][-1] == "宝山 2023（截断）"
    dots = {line.get_markerfacecolor(): list(line.get_ydata()) for line in ax.lines if line.get_marker() == "o"}
    assert dots == {"#4c72b0": [0, 1, 2, 3], "white": [4]}  # filled: complete; hollow: 宝山 2023


def test_glyph_check_would_catch_a_font_without_chinese():
    def latin_only() -> Figure:
        fig = Figure()
        fig.subplots().set_title("思政 双减")
        return fig

    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
        assert _glyph_warnings(latin_only)


def test_one_plan_has_counts_but_no_keyness(paths):
    params = load_params(paths.params)
    themes = build_themes(structure_corpus(paths.raw, params, ["baoshan_2023"]), params)
    assert themes.theme_counts["mentions"].tolist() == SEED_MENTIONS["baoshan_2023"]
    assert themes.keyness.empty and list(themes.keyness.columns) == KEYNESS_COLUMNS
    assert themes.theme_tests.empty and list(themes.theme_tests.columns) == TEST_COLUMNS


def test_equal_rates_give_g2_zero_and_p_one_never_nan():
    """Float error made G² of equal rates slightly negative, p NaN, and the BH step raise (1,000 plans)."""
    counts = pd.DataFrame({"doc_id": ["a", "b"] * 3, "term": ["x", "x", "y", "y", "z", "z"],
                           "count": [7, 21, 3, 9, 11, 33]})
    table = stat_keyness(counts, pd.Series({"a": 1000 / 3, "b": 1000}), min_count=1)
    assert (table["g2"] >= 0).all() and table["p"].notna().all() and table["q"].notna().all()
