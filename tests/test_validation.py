"""Lexicon validation against the hand coding: exact counts on a hand-made fixture, the seed
plans' agreement, the pipeline stage, and a coding file that is only ever read."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from analysis import pipeline
from analysis.params import load_params
from analysis.params.themes import ThemesParams
from analysis.paths import Paths, ProjectError
from analysis.stages import registry as stages
from analysis.stages.themes import stat_kwic
from analysis.stages.validation import (
    CHECKS,
    DISAGREEMENT_COLUMNS,
    METRIC_COLUMNS,
    VALIDATION_FILES,
    agreement,
    compare,
    coverage_notes,
    disagreements,
    read_annotations,
    validate_lexicon,
)
from analysis.text.dictionary import Dictionary, theme_lexicon

# --- a hand-made fixture: plans P (2024, items 1–4) and Q (2017, items 1–2); themes 甲 and 乙 (since 2021)

TOY_LEXICON = Dictionary(
    terms={"甲": ("甲一", "甲二"), "乙": ("乙一",)}, descriptions={"甲": "", "乙": ""}, years={"乙": (2021, None)},
)
TOY_ITEMS = pd.DataFrame({
    "doc_id": ["P"] * 4 + ["Q"] * 2, "year": [2024] * 4 + [2017] * 2, "item_seq": [1, 2, 3, 4, 1, 2],
    "text": ["p1", "p2", "p3", "p4", "q1", "q2"],
})
TOY_CODES = {  # (doc_id, item_seq): codes of 甲, 乙
    ("P", 1): (1, 0), ("P", 2): (1, 1), ("P", 3): (0, 1), ("P", 4): (0, 0), ("Q", 1): (1, 1), ("Q", 2): (0, 0),
}
TOY_MENTIONS = [  # doc_id, item_seq (None: outside items), theme, term, start
    ("P", 1, "甲", "甲二", 10), ("P", 1, "甲", "甲一", 12), ("P", 1, "甲", "甲二", 14),  # 甲: TP
    ("P", None, "甲", "甲一", 1),  # preamble: never an item's prediction
    ("P", 2, "乙", "乙一", 20),  # 乙: TP (甲: FN)
    ("P", 3, "甲", "甲一", 30),  # 甲: FP (乙: FN)
    ("P", 4, "乙", "乙一", 40),  # 乙: FP (甲: TN)
    ("Q", 1, "甲", "甲一", 5), ("Q", 1, "乙", "乙一", 7),  # 甲: TP; 乙: 2017, n/a
    ("Q", 2, "甲", "甲二", 9),  # 甲: FP; 乙: n/a
]


@pytest.fixture
def toy() -> tuple[pd.DataFrame, pd.DataFrame]:
    annotations = pd.DataFrame([
        {"doc_id": d, "item_seq": s, "theme": theme, "code": code, "note": f"{d}{s}{theme}"}
        for (d, s), codes in TOY_CODES.items() for theme, code in zip(("甲", "乙"), codes, strict=True)
    ])
    kwic = pd.DataFrame(TOY_MENTIONS, columns=["doc_id", "item_seq", "theme", "term", "start"]).astype(
        {"item_seq": "Int64"})
    return annotations, kwic


def test_exact_confusion_counts_on_the_fixture(toy):
    compared = compare(*toy, TOY_ITEMS, TOY_LEXICON)
    table = agreement(compared, ["甲", "乙"])
    assert list(table.columns) == METRIC_COLUMNS[:-len(CHECKS)]
    assert table.to_dict(orient="records") == [
        {"theme": "甲", "sample": "in_sample", "n_items": 6, "tp": 2, "fp": 2, "fn": 1, "tn": 1, "precision": 0.5,
         "recall": 0.6667, "f1": 0.5714, "not_applicable": 0},  # F1 = 2·2 / (2·2 + 2 + 1)
        {"theme": "乙", "sample": "in_sample", "n_items": 4, "tp": 1, "fp": 1, "fn": 1, "tn": 1, "precision": 0.5,
         "recall": 0.5, "f1": 0.5, "not_applicable": 2},  # Q is a 2017 plan: 乙 applies since 2021
    ]
    terms = compared.set_index(["doc_id", "item_seq", "theme"])["terms"]
    assert terms["P", 1, "甲"] == "甲二、甲一"  # distinct, in text order; the preamble mention is not P1's


def test_disagreements_one_row_per_item_and_theme(toy):
    compared = compare(*toy, TOY_ITEMS, TOY_LEXICON)
    table = disagreements(compared, ["甲", "乙"])
    assert list(table.columns) == DISAGREEMENT_COLUMNS
    assert table[["doc_id", "item_seq", "theme", "code", "predicted", "terms"]].values.tolist() == [
        ["P", 2, "甲", 1, 0, ""], ["P", 3, "甲", 0, 1, "甲一"], ["Q", 2, "甲", 0, 1, "甲二"],
        ["P", 3, "乙", 1, 0, ""], ["P", 4, "乙", 0, 1, "乙一"],
    ]
    assert table["note"].tolist()[:1] == ["P2甲"] and table["text"].tolist()[:1] == ["p2"]


def test_undefined_ratios_are_empty():
    compared = pd.DataFrame({"theme": ["甲"], "code": [0], "predicted": [0], "applicable": [True],
                             "sample": ["in_sample"]})
    row = agreement(compared, ["甲", "丙"]).set_index("theme")
    assert row.loc["甲", ["tn", "precision", "recall", "f1"]].isna().tolist() == [False, True, True, True]
    assert row.loc["丙", "n_items"] == 0  # a lexicon theme nobody coded: listed, not validated


def test_coded_items_out_of_step_with_items_are_warnings(toy):
    annotations, _ = toy
    extra = pd.DataFrame([{"doc_id": "P", "item_seq": 9, "theme": "甲", "code": 0, "note": ""},
                          {"doc_id": "R", "item_seq": 1, "theme": "甲", "code": 1, "note": ""}])
    coded = pd.concat([annotations[annotations["item_seq"] != 2], extra])
    path = Path("coding.csv")
    assert coverage_notes(coded, TOY_ITEMS, path) == [
        "coding.csv: plan P: coded items 9 are not in items.csv (has its structure changed?); they are left out "
        "of the lexicon validation",
        "coding.csv: plan P: items 2 of items.csv are not coded (has its structure changed?); they are left out "
        "of the lexicon validation",
        "coding.csv: plan Q: items 2 of items.csv are not coded (has its structure changed?); they are left out "
        "of the lexicon validation",
        "coding.csv: plan R is coded but not in the corpus; its coded items (1) are left out of the lexicon "
        "validation",
    ]
    assert coverage_notes(annotations, TOY_ITEMS, path) == []


@pytest.mark.parametrize(("text", "message"), [
    ("doc_id,item_seq,theme,code\n", "missing column(s) note"),
    ("doc_id,item_seq,theme,code,note\nP,1,甲,2,\n", "line 2: item_seq must be a whole number and code 0 or 1"),
    ("doc_id,item_seq,theme,code,note\nP,1.5,甲,1,\n", "line 2: item_seq must be a whole number"),
    ("doc_id,item_seq,theme,code,note\nP,1,甲,1,\nP,1,甲,0,\n", "line 3: this item × theme is coded twice"),
])
def test_a_malformed_coding_is_a_one_line_error(tmp_path, text, message):
    path = tmp_path / "item_themes.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProjectError) as error:
        read_annotations(path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)


def test_no_coding_file_gives_empty_tables_and_a_note(tmp_path, corpus, themes, settings):
    result = validate_lexicon(corpus, stat_kwic(corpus, themes), theme_lexicon(themes), tmp_path / "item_themes.csv",
                              *settings)
    assert result.lexicon_validation.empty and list(result.lexicon_validation.columns) == METRIC_COLUMNS
    assert result.lexicon_disagreements.empty and list(result.lexicon_disagreements.columns) == DISAGREEMENT_COLUMNS
    assert result.notes == [f"{tmp_path / 'item_themes.csv'}: not found, so the lexicon is not validated against "
                            "a reference coding (lexicon_validation.csv, lexicon_disagreements.csv, "
                            "lexicon_review_queue.csv are empty)"]


# --- the seed plans --------------------------------------------------------------------------------

SEED_AGREEMENT = [  # theme, n_items, tp, fp, fn, tn, precision, recall, f1, not_applicable (lexicon v2)
    ["思政", 119, 12, 0, 0, 107, 1.0, 1.0, 1.0, 0],
    ["双减", 89, 9, 2, 0, 78, 0.8182, 1.0, 0.9, 30],  # since 2021: 闵行 2017's 30 items are n/a
    ["数字化", 119, 26, 1, 5, 87, 0.963, 0.8387, 0.8966, 0],
    ["心理健康", 119, 7, 0, 0, 112, 1.0, 1.0, 1.0, 0],  # PATHS (纳入5) is a term; without it F1 0.8333
]
SEED_DISAGREEMENTS = [  # doc_id, item_seq, theme, code, predicted, terms — every one a borderline (边界) cell
    ["baoshan_2023", 6, "双减", 0, 1, "作业"],  # 三个助手 … 作业辅导: a digital tool's use (排除4)
    ["yangpu_2024", 6, "双减", 0, 1, "双减"],  # 在教育“双减”中 … 科学教育加法: a frame (排除3)
    ["baoshan_2023", 10, "数字化", 1, 0, ""],  # 课后服务管理平台 (纳入2)
    ["minhang_2017", 16, "数字化", 1, 0, ""],  # 资产管理平台开发建设 (排除7 → 纳入2)
    ["minhang_2017", 17, "数字化", 1, 0, ""],  # 管理系统 … 贯通 (排除7 → 纳入2)
    ["yangpu_2024", 4, "数字化", 1, 0, ""],  # 劳动教育实践电子护照 (纳入2/3)
    ["yangpu_2024", 23, "数字化", 0, 1, "线上"],  # 线上远程巡查: safety inspection (排除1)
    ["zhoushan_2024", 6, "数字化", 1, 0, ""],  # 数字家校 (纳入2)
]


@pytest.fixture(scope="module")
def themes(paths):
    return ThemesParams.from_yaml(paths.params / "themes.yaml")


@pytest.fixture(scope="module")
def settings(paths):
    params = load_params(paths.params)
    return params.coding, params.statistics


@pytest.fixture(scope="module")
def seed_validation(corpus, themes, paths, settings):
    return validate_lexicon(corpus, stat_kwic(corpus, themes), theme_lexicon(themes), paths.annotations, *settings)


BASE = ["theme", *METRIC_COLUMNS[2:-len(CHECKS)]]  # the columns of SEED_AGREEMENT
# leave-one-plan-out F1 of the classifier check, measured on the seed coding (lexicon v2); every
# theme has at least min_positives (5) positive items; 双减 over the 89 applicable items only (闵行 2017
# is before since: n/a, neither trained on nor scored)
SEED_CLASSIFIER = {"思政": 1.0, "双减": 0.9, "数字化": 0.8966, "心理健康": 1.0}


def test_seed_agreement(seed_validation):
    table = seed_validation.lexicon_validation
    assert table[BASE].values.tolist() == SEED_AGREEMENT
    assert table["sample"].eq("in_sample").all() and table["estimable"].all()
    assert table.set_index("theme")["clf_f1"].to_dict() == SEED_CLASSIFIER
    assert (table["clf_f1_low"] <= table["clf_f1"]).all() and (table["clf_f1"] <= table["clf_f1_high"]).all()
    assert seed_validation.notes == []


def test_seed_disagreements_item_by_item(seed_validation):
    table = seed_validation.lexicon_disagreements
    assert table[["doc_id", "item_seq", "theme", "code", "predicted", "terms"]].values.tolist() == SEED_DISAGREEMENTS
    assert table["note"].str.startswith("边界:").all()


def test_a_selection_of_plans_is_validated_alone(corpus, themes, paths, settings):
    result = validate_lexicon(corpus, stat_kwic(corpus, themes), theme_lexicon(themes), paths.annotations,
                              *settings, ["yangpu_2024"])
    assert result.lexicon_validation["n_items"].tolist() == [29] * 4 and result.notes == []


# --- the pipeline stage ----------------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_stage(project: Paths, monkeypatch) -> list[str]:
    """ensure_processed with the dataset, themes (kwic.csv) and validation stages only; returns the log."""
    monkeypatch.setattr(stages, "STAGES", [s for s in stages.STAGES if s.name in ("dataset", "themes", "validation")])
    lines: list[str] = []
    pipeline.ensure_processed(project, log=lines.append)
    return lines


def test_stage_writes_the_seed_tables_and_never_touches_the_coding(project, paths, monkeypatch):
    before = sha256(project.annotations), project.annotations.stat().st_mtime_ns
    lines = run_stage(project, monkeypatch)
    assert "ran   stage validation" in lines and not any(line.startswith("warning:") for line in lines)
    table = pd.read_csv(project.processed / "lexicon_validation.csv", encoding="utf-8-sig")
    assert table[BASE].values.tolist() == SEED_AGREEMENT
    assert len(pd.read_csv(project.processed / "lexicon_disagreements.csv", encoding="utf-8-sig")) == 8
    assert (sha256(project.annotations), project.annotations.stat().st_mtime_ns) == before
    assert sha256(paths.annotations) == before[0]  # the project's own coding, copied unchanged


def test_stage_key_holds_the_coding_bytes(project):
    keys = pipeline.stage_keys(project)
    with project.annotations.open("a", encoding="utf-8") as handle:  # a throw-away copy of the coding
        handle.write("\n")
    changed = pipeline.stage_keys(project)
    assert [name for name in keys if keys[name] != changed[name]] == ["validation"]


def test_stage_without_a_coding_writes_empty_tables_and_a_note(project, monkeypatch):
    project.annotations.unlink()
    lines = run_stage(project, monkeypatch)
    assert f"warning: {project.annotations}: not found, so the lexicon is not validated against a reference coding " \
           f"({', '.join(VALIDATION_FILES)} are empty)" in lines
    for name in VALIDATION_FILES:
        assert pd.read_csv(project.processed / name, encoding="utf-8-sig").empty
