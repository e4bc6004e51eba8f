"""Themes: lexicon validation, exact counts on fixtures and seed plans, KWIC, figures."""

from __future__ import annotations

import io
import shutil
import warnings
from dataclasses import replace
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
    THEME_TABLE_NAMES,
    build_themes,
    sync_userdict,
    userdict_text,
    write_themes,
)
from analysis.text.dictionary import theme_lexicon
from analysis.text.stats import TEST_COLUMNS
from analysis.text.tokenize import load_segmenter
from analysis.views.plots import plot_theme_heatmap, plot_theme_intervals, use_cjk_font
from analysis.views.themes import theme_overview

FIXTURES = Path(__file__).parent / "fixtures"
SEED_MENTIONS = {  # doc_id: mentions of 思政, 双减, 数字化, 心理健康 (lexicon v3)
    "baoshan_2023": [6, 6, 30, 0],
    "chengzhong_2024": [20, 8, 15, 2],
    "minhang_2017": [10, 9, 23, 2],  # 心理健康: PATHS ×2
    "yangpu_2024": [12, 14, 12, 11],  # 思政: "开展德育主任、班主任…分类研训" names trainees (排除8), not counted
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
    (lambda raw: raw["kwic"].update(width=0), "kwic.width must be a whole number"),
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


def test_one_plan_has_counts_but_no_tests(paths):
    params = load_params(paths.params)
    themes = build_themes(structure_corpus(paths.raw, params, ["baoshan_2023"]), params)
    assert themes.theme_counts["mentions"].tolist() == SEED_MENTIONS["baoshan_2023"]
    assert themes.theme_tests.empty and list(themes.theme_tests.columns) == TEST_COLUMNS


@pytest.mark.parametrize(("text", "counted"), [
    # codebook 思政 排除1/3: cadres' and party members' political study, 主题教育 pledges
    ("组织党员干部开展思想政治理论学习，深入开展主题教育，坚定理想信念。", 0),
    ("加强干部思想政治建设，提高党员思想政治素质。", 0),
    # 排除6: 中国梦 as a slogan
    ("凝心聚力，为实现中华民族伟大复兴的中国梦贡献教育力量，共筑中国梦。", 0),
    # 排除8: 德育 naming trainees
    ("组织德育干部、德育主任和教学副校长参加暑期培训。", 0),
    # still counted: students' political-moral education
    ("开展中国梦主题教育和理想信念教育，加强学校德育工作。", 3),
])
def test_the_codebook_exclusions_of_思政_are_never_counted(paths, text, counted):
    lexicon = theme_lexicon(ThemesParams.from_yaml(paths.params / "themes.yaml"))
    assert lexicon.count(text)["思政"] == counted
