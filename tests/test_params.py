"""analysis.params: every params file loads into its typed model once, and every mistake in it is
one line naming the file, the key and what is allowed."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from analysis.params import (
    DOCUMENTS,
    FILES,
    Params,
    clean,
    clusters,
    exploratory,
    explore,
    load_params,
    params_files,
    report,
    statistics,
    themes,
    warnings,
)
from analysis.params.loader import load_yaml, parse_yaml
from analysis.params.rules import Real, Whole
from analysis.params.words import read_word_list
from analysis.paths import ProjectError

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ROOT / "params"

# file → {dotted key: constraint}: every numeric bound the models declare
NUMERIC = {
    "clean.yaml": {**clean.CLEAN_RULES, **{f"metadata_block.{k}": v for k, v in clean.METADATA_RULES.items()}},
    "structure.yaml": clean.STRUCTURE_RULES,
    "themes.yaml": themes.NUMBERS,
    "clusters.yaml": clusters.RULES,
    "statistics.yaml": statistics.RULES,
    "explore.yaml": explore.RULES,
    "exploratory.yaml": exploratory.RULES,
    "report.yaml": report.RULES,
}
BOUNDED = [(name, key, rule) for name, table in NUMERIC.items() for key, rule in table.items()
           if isinstance(rule, (Whole, Real))]


@pytest.fixture(scope="module")
def params() -> Params:
    return load_params(PARAMS)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the project's params/ to break."""
    return Path(shutil.copytree(PARAMS, tmp_path / "params"))


def edit(folder: Path, name: str, change: Callable[[dict], Any]) -> Path:
    """Rewrite params/`name` with `change` applied to its mapping (comments are lost)."""
    path = folder / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def setter(key: str, value: Any) -> Callable[[dict], None]:
    """Set a dotted key (`kwic.width`) of a mapping."""
    def change(data: dict) -> None:
        *outer, last = key.split(".")
        for part in outer:
            data = data[part]
        data[last] = value

    return change


def problems(folder: Path) -> list[str]:
    with pytest.raises(ProjectError) as error:
        load_params(folder)
    return error.value.problems


def one_line(folder: Path) -> str:
    """The one problem load_params reports for `folder`."""
    found = problems(folder)
    assert len(found) == 1, found
    assert "\n" not in found[0]
    return found[0]


# --- the project's own files ---------------------------------------------------------------------


def test_the_project_params_load_with_their_values(params: Params) -> None:
    assert params.folder == PARAMS
    assert params.clean.max_boilerplate_chars == 80 and params.clean.max_title_chars == 60
    assert params.clean.title.pattern == "(工作要点|工作计划|工作安排|工作思路|要点)$"
    assert params.clean.drop_lines["breadcrumb"][0].pattern == "^(您现在的位置|当前位置)"
    assert params.clean.metadata_key_only.search("索引号") and params.clean.max_label_chars == 4
    assert params.clean.traditional_min_share == 0.05 and params.clean.space_repair_min_per_1k == 2.0
    assert params.structure.max_title_chars == 60 and len(params.structure.item_markers) == 3
    assert params.structure.section_marker.search("前言\n二十、学校").group(1) == "二十"
    assert list(params.themes.terms) == ["思政", "双减", "数字化", "心理健康"]
    assert params.themes.years == {"双减": (2021, None)} and params.themes.exclude["心理健康"] == ("核心理念",)
    assert (params.themes.kwic_width, params.themes.userdict_freq) == (30, 2000)
    assert params.themes.theme_of["课后服务"] == "双减"
    assert not params.themes.applies("双减", 2020) and params.themes.applies("双减", 2021)
    assert list(params.policy_tools.tools) == ["供给型", "环境型", "需求型"]
    assert params.policy_tools.type_of["师资人才"] == "供给型" and params.policy_tools.tool_of["师资"] == "师资人才"
    assert params.policy_tools.exclude["资金投入"][:2] == ("资金使用", "经费使用")
    assert len(params.policy_tools.sub_tools()) == 15
    assert (params.clusters.ngram_range, params.clusters.k_min, params.clusters.k_max) == ((1, 2), 2, 12)
    assert params.clusters.neighbour_resamples == 200 and params.clusters.max_df == 0.5
    assert params.statistics.replicates == 2000 and params.statistics.seed == 20240601
    assert params.explore.measure == "jaccard" and params.explore.place_names == ("长三角", "浦东", "浦西", "华东")
    assert params.exploratory.keyness_min_items == 2 and list(params.exploratory.topic_ks) == [2, 3, 4, 5]
    assert params.report.detail_max_plans == 30 and params.report.cell_timeout == 300
    assert params.report.sets["y2024"].years == (2024,) and params.report.sets["y2024"].label == "2024年工作要点比较"
    assert params.report.rank_exclude == ("truncated", "partial") and len(params.report.analysis_notebooks) == 7
    assert params.stopwords.words == tuple(read_word_list(PARAMS / "stopwords.txt")) and "工作" in params.stopwords
    assert params.userdict.entries[0] == ("5G", 2000, "n")
    assert set(params.userdict.words) == {*params.themes.theme_of, *params.themes.extra_terms}
    assert warnings(params) == []


def test_models_are_frozen(params: Params) -> None:
    with pytest.raises(AttributeError):
        params.statistics.replicates = 10  # type: ignore[misc]
    with pytest.raises(AttributeError):
        params.report = None  # type: ignore[misc]


def test_each_file_is_read_exactly_once(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: Counter[str] = Counter()
    original = Path.read_text

    def counting(self: Path, *args: Any, **kwargs: Any) -> str:
        reads[self.name] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counting)
    load_params(PARAMS)
    assert reads == Counter(FILES.values())


def test_params_files_name_each_sections_file() -> None:
    assert params_files(PARAMS, ["clean", "structure"]) == [PARAMS / "clean.yaml", PARAMS / "structure.yaml"]
    assert params_files(PARAMS, ["themes", "userdict", "stopwords"]) == [
        PARAMS / "themes.yaml", PARAMS / "userdict.txt", PARAMS / "stopwords.txt"]
    assert {path.name for path in params_files(PARAMS, [*FILES, *DOCUMENTS])} == {p.name for p in PARAMS.iterdir()}
    assert params_files(PARAMS, ["themes", "codebook"]) == [PARAMS / "themes.yaml", PARAMS / "codebook.md"]
    with pytest.raises(ValueError, match="unknown params section"):
        params_files(PARAMS, ["themes.yaml"])


def test_a_one_character_term_is_a_warning(folder: Path) -> None:
    edit(folder, "themes.yaml", lambda data: data["themes"]["心理健康"]["terms"].append("心"))
    assert warnings(load_params(folder)) == [
        f"{folder / 'themes.yaml'}: theme 心理健康 term 心 is one character long; it will match inside unrelated "
        "words — use a longer term"]


# --- unknown keys, wrong types, values out of range ------------------------------------------------


def test_an_old_themes_yaml_with_keyness_is_one_line_saying_what_to_do(folder: Path) -> None:
    """keyness.min_count (token counts) is no longer read since keyness moved to exploratory.yaml:
    an older themes.yaml that still has it is refused, not silently ignored."""
    path = edit(folder, "themes.yaml", setter("keyness", {"min_count": 5}))
    assert one_line(folder) == (
        f"{path}: keyness is no longer read; keyness is set in params/exploratory.yaml (keyness_min_items: items "
        "holding a term, not token counts); delete the keyness block (min_count) from this file")
    assert not hasattr(load_params(PARAMS).themes, "min_count")


@pytest.mark.parametrize("name", [name for name in FILES.values() if name.endswith(".yaml")])
def test_an_unknown_key_is_one_line(folder: Path, name: str) -> None:
    path = edit(folder, name, setter("colour", 1))
    line = one_line(folder)
    assert line.startswith(f"{path}: unknown key(s) colour; allowed: ")


@pytest.mark.parametrize(("name", "key", "value", "says"), [
    ("clean.yaml", "max_boilerplate_chars", "80", "must be a whole number of at least 1, not '80'"),
    ("clean.yaml", "title", "(要点", "title: '(要点' is not a valid regular expression"),
    ("clean.yaml", "footer_start", "版权所有", "footer_start must be a list of regular expressions"),
    ("clean.yaml", "metadata_block.max_value_chars", True, "metadata_block.max_value_chars must be a whole number"),
    ("structure.yaml", "item_markers", [], "item_markers must be a non-empty list of regular expressions"),
    ("structure.yaml", "section_marker", "[一二三]、", "has no group (…) around its number"),
    ("themes.yaml", "kwic.width", 2.5, "kwic.width must be a whole number of at least 1, not 2.5"),
    ("themes.yaml", "themes.双减.since", "2021", "theme 双减 since must be a year between 1990 and 2100"),
    ("themes.yaml", "themes.双减.terms", "双减", "theme 双减 terms must be a non-empty list of terms"),
    ("policy_tools.yaml", "types.需求型.tools.试点示范", {"cues": ["试点"]}, "sub-tool 试点示范 is missing definition"),
    ("policy_tools.yaml", "types.环境型.tools.目标规划.cues", [2024], "2024 is not text"),
    ("clusters.yaml", "ngram_range", 2, "ngram_range = 2 must be two integers [low, high] with 1 <= low <= high"),
    ("clusters.yaml", "max_df", 1.5, "max_df = 1.5 must be an item count >= 1 or a share in (0, 1]"),
    ("statistics.yaml", "max_q", True, "max_q = True must be a number between 0 and 1 (both excluded)"),
    ("explore.yaml", "measure", "cosine", "measure = 'cosine' must be one of jaccard, pmi; fix it"),
    ("explore.yaml", "place_names", "浦东", "place_names = '浦东' must be a list of non-empty names"),
    ("report.yaml", "cell_timeout", "300", "cell_timeout must be a whole number of seconds of at least 1, not '300'"),
    ("report.yaml", "rank_exclude", "partial", "rank_exclude must be a list of completeness values"),
    ("report.yaml", "sets.y2024.years", 2024, "set y2024 years must be a list of years from 1990 to 2100"),
    ("report.yaml", "sets.default", {"years": [2024]}, "set name 'default' must be a simple word"),
])
def test_a_wrong_type_is_one_line(folder: Path, name: str, key: str, value: Any, says: str) -> None:
    path = edit(folder, name, setter(key, value))
    line = one_line(folder)
    assert line.startswith(f"{path}: ") and says in line


@pytest.mark.parametrize(("name", "key", "rule"), BOUNDED, ids=[f"{n}:{k}" for n, k, _ in BOUNDED])
def test_out_of_range_at_each_end_is_one_line(folder: Path, name: str, key: str, rule: Whole | Real) -> None:
    below = rule.low - 1 if isinstance(rule, Whole) else rule.low - (0 if rule.low_open else 0.5)
    above = rule.high + 1 if isinstance(rule, Whole) else rule.high + (0 if rule.high_open else 0.5)
    for value, bound in ((below, rule.low), (above, rule.high)):
        path = edit(folder, name, setter(key, value))
        line = one_line(folder)
        assert line.startswith(f"{path}: {key}") and str(bound) in line.replace(",", ""), line
    # the project's own value is inside the range
    shutil.copy(PARAMS / name, folder / name)
    load_params(folder)


def test_issue_22_values_that_cannot_finish_are_refused(folder: Path) -> None:
    statistics_path = edit(folder, "statistics.yaml", setter("replicates", 10_000_000))
    assert one_line(folder) == (f"{statistics_path}: replicates = 10000000 must be a whole number of at least 1 "
                                "and at most 100000; fix it")
    shutil.copy(PARAMS / "statistics.yaml", statistics_path)
    clusters_path = edit(folder, "clusters.yaml", setter("k_max", 100_000))
    assert one_line(folder) == f"{clusters_path}: k_max = 100000 must be an integer >= 2 and <= 200; fix it"


def test_problems_of_several_files_are_reported_together(folder: Path) -> None:
    edit(folder, "statistics.yaml", setter("level", 1.5))
    edit(folder, "explore.yaml", setter("top_n", 1))
    assert [line.split(": ")[0] for line in problems(folder)] == [
        str(folder / "statistics.yaml"), str(folder / "explore.yaml")]


def test_a_missing_file_is_one_line(folder: Path) -> None:
    (folder / "stopwords.txt").unlink()
    assert one_line(folder) == f"{folder / 'stopwords.txt'}: parameter file not found; restore it from git"


# --- YAML anchors and aliases ----------------------------------------------------------------------


BOMB = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))


def test_an_alias_bomb_is_refused_fast_in_one_line(folder: Path) -> None:
    assert len(BOMB.encode()) < 1000  # 9**9 lols once expanded
    path = folder / "clusters.yaml"
    path.write_text(BOMB, encoding="utf-8")
    start = time.perf_counter()
    line = one_line(folder)
    assert time.perf_counter() - start < 10  # expanding it took 74–83 s and 5.7 GB; refusing takes ms
    assert line == (f"{path}: line 1: YAML anchors and aliases (&name, *name) are not allowed in a parameter file; "
                    "write the values out")


def test_an_alias_is_refused_even_in_a_merge_key(folder: Path) -> None:
    path = folder / "explore.yaml"
    path.write_text("base: &b {top_n: 60}\n<<: *b\n", encoding="utf-8")
    assert "line 1: YAML anchors and aliases" in one_line(folder)
    path.write_text((PARAMS / "explore.yaml").read_text(encoding="utf-8") + "extra: *b\n", encoding="utf-8")
    assert f"line {len(path.read_text(encoding='utf-8').splitlines())}: YAML anchors" in one_line(folder)


def test_parse_yaml_keeps_merge_keys_for_other_files() -> None:
    text = "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\n"
    assert parse_yaml(text) == ({"base": {"x": 1, "y": 2}, "d": {"x": 3, "y": 2}}, [])


def test_no_project_params_file_uses_anchors() -> None:
    for path in sorted(PARAMS.glob("*.yaml")):
        load_yaml(path)


# --- today's wording, for the tests that pin it ----------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-3", "2.5", "true", "'30'", "null"])
def test_report_whole_numbers_keep_their_wording(folder: Path, value: str) -> None:
    path = folder / "report.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\ndetail_max_plans: 30\n", f"\ndetail_max_plans: {value}\n"), encoding="utf-8")
    with pytest.raises(ProjectError) as error:
        report.ReportParams.from_yaml(path)
    assert error.value.problems == [
        f"{path}: detail_max_plans must be a whole number of plans of at least 1, not {yaml.safe_load(value)!r}"]
    assert report.ReportParams.from_yaml(PARAMS / "report.yaml").detail_max_plans == 30


def test_statistics_report_every_bad_key(tmp_path: Path) -> None:
    path = tmp_path / "statistics.yaml"
    path.write_text(yaml.safe_dump({"replicates": 0, "level": 1.0, "seed": -1, "max_q": True, "min_items": 1}),
                    encoding="utf-8")
    with pytest.raises(ProjectError) as caught:
        statistics.StatisticsParams.from_yaml(path)
    assert len(caught.value.problems) == 5
    assert any("min_items = 1 must be a whole number of at least 2" in line for line in caught.value.problems)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"k_mni": 3}, "unknown override(s) k_mni"),
    ({"k_min": 1}, "k_min = 1 must be an integer >= 2"),
    ({"k_min": 6, "k_max": 4}, "k_max must be >= k_min"),
    ({"ngram_range": [2, 1]}, "ngram_range"),
    ({"max_df": 1.5}, "max_df = 1.5"),
])
def test_cluster_overrides_are_checked(params: Params, overrides: dict, message: str) -> None:
    with pytest.raises(ProjectError, match=r"clusters\.yaml") as error:
        params.clusters.with_overrides(params.path("clusters"), overrides)
    assert message in str(error.value)
    assert params.clusters.with_overrides(params.path("clusters"), {"seed": 7, "k_min": None}).seed == 7


@pytest.mark.parametrize(("change", "message"), [
    (lambda raw: raw["themes"]["双减"].update(weight=2), "theme 双减 has missing or unknown key(s) weight"),
    (lambda raw: raw["themes"]["双减"]["terms"].append("心理"), "term 心理 is in themes 双减 and 心理健康"),
    (lambda raw: raw["themes"]["双减"]["terms"].append("双减"), "lists 双减 twice"),
    (lambda raw: raw["themes"]["双减"].update(exclude=["核心理念"]), "exclude 核心理念 contains none of its terms"),
    (lambda raw: raw["themes"]["双减"].update(until=2020), "theme 双减 since 2021 is after until 2020"),
    (lambda raw: raw["themes"].update({"2024": raw["themes"].pop("双减")}), "theme name '2024' is not allowed"),
])
def test_lexicon_mistakes_keep_their_wording(folder: Path, change: Callable[[dict], None], message: str) -> None:
    path = edit(folder, "themes.yaml", change)
    line = one_line(folder)
    assert line.startswith(f"{path}: ") and message in line


@pytest.mark.parametrize(("change", "message"), [
    (setter("types", [1]), "types must map each name"),
    (lambda raw: raw["types"]["环境型"]["tools"]["法规制度"]["cues"].append("师资"),
     "cue 师资 is in sub-tools 师资人才 and 法规制度"),
    (setter("types.供给型.tools.资金投入.exclude", ["绩效"]), "contains none of its cues"),
    (setter("types.需求型.tools.示范试点.weight", 2), "sub-tool 示范试点: unknown key(s) weight"),
    (lambda raw: raw["types"]["环境型"]["tools"]["法规制度"]["cues"].append("资金使用"),
     "资金使用 is both a cue and an excluded phrase"),
])
def test_codebook_mistakes_keep_their_wording(folder: Path, change: Callable[[dict], None], message: str) -> None:
    path = edit(folder, "policy_tools.yaml", change)
    line = one_line(folder)
    assert line.startswith(f"{path}: ") and message in line
