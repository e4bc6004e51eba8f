"""The coding workflow: agreement by hand, export → fill → import → κ/α, strict sheets, adjudication, held-out."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis.files import write_csv_atomic
from analysis.params import load_params
from analysis.params.annotations import load_codings
from analysis.paths import ProjectError
from analysis.stages import coding, coding_sheets
from analysis.stages.themes import stat_kwic
from analysis.stages.validation import frozen_notes, validate_lexicon
from analysis.text.agreement import bootstrap_interval, cohen_kappa, f1_score, krippendorff_alpha, percent_agreement
from analysis.text.dictionary import theme_lexicon

THEMES = ["思政", "双减", "数字化", "心理健康"]


# --- the statistics, against hand computation ------------------------------------------------------

A = [1, 1, 0, 0, 1, 0, 0, 0, 1, 0]
B = [1, 0, 0, 0, 1, 0, 1, 0, 1, 0]


def test_agreement_statistics_by_hand():
    assert percent_agreement(A, B) == 0.8
    # p_o 0.8; marginals 0.4 and 0.4: p_e = 0.16 + 0.36 = 0.52; κ = 0.28 / 0.48
    assert cohen_kappa(A, B) == pytest.approx(0.28 / 0.48)
    # 20 values, 8 ones and 12 zeros, 2 disagreeing items: α = 1 − 19 · 2 / (12 · 8)
    assert krippendorff_alpha(A, B) == pytest.approx(1 - 38 / 96)
    assert f1_score(A, B) == 0.75  # tp 3, fp 1, fn 1
    assert math.isnan(cohen_kappa([0, 0], [0, 0])) and math.isnan(krippendorff_alpha([1, 1], [1, 1]))
    low, high = bootstrap_interval(cohen_kappa, A, B, 200, 0.95, 7)
    assert (low, high) == bootstrap_interval(cohen_kappa, A, B, 200, 0.95, 7)  # seeded
    assert -1 <= low <= cohen_kappa(A, B) <= high <= 1


# --- the round trip on a copy of the project ---------------------------------------------------------


@pytest.fixture
def coding_project(project, corpus):
    """A project copy with the seed plans' items.csv and documents.csv in data/processed."""
    write_csv_atomic(project.processed / "items.csv", corpus.items)
    write_csv_atomic(project.processed / "documents.csv", corpus.documents)
    return project


def fill(sheet, codes: dict[tuple[str, int], dict[str, int]], target):
    """Fill an exported xlsx the way a coder would (cell by cell) and save it as `target`."""
    book = load_workbook(sheet)
    rows = book.active
    header = [cell.value for cell in rows[1]]
    for row in rows.iter_rows(min_row=2):
        key = (row[header.index("doc_id")].value, int(row[header.index("item_seq")].value))
        for theme, code in codes[key].items():
            row[header.index(theme)].value = code
    book.save(target)
    return target


def seed_codes(paths, doc_id):
    frame = pd.read_csv(paths.annotations, encoding="utf-8-sig")
    frame = frame[frame["doc_id"] == doc_id]
    return {key: dict(zip(g["theme"], g["code"], strict=True)) for key, g in frame.groupby(["doc_id", "item_seq"])}


def test_export_is_blind_seeded_and_in_random_order(coding_project, corpus):
    params = load_params(coding_project.params)
    target = coding_project.root / "sheet"
    files, n = coding_sheets.export_sheet(coding_project, params, corpus.items, corpus.documents, target,
                                          which="themes", plans=["yangpu_2024"], seed=3)
    assert n == 29 and [f.name for f in files] == ["sheet.xlsx", "sheet.csv"]
    sheet = pd.read_csv(files[1], encoding="utf-8-sig", keep_default_na=False)
    assert list(sheet.columns) == ["row", "doc_id", "item_seq", "unit", "text", *THEMES, "note"]
    assert sorted(sheet["item_seq"]) == list(range(1, 30)) and sheet["item_seq"].tolist() != list(range(1, 30))
    assert (sheet[THEMES] == "").all().all()  # blind: nothing a dictionary found
    again, _ = coding_sheets.export_sheet(coding_project, params, corpus.items, corpus.documents,
                                          coding_project.root / "again", which="themes", plans=["yangpu_2024"],
                                          seed=3)
    assert again[1].read_bytes() == files[1].read_bytes()


def test_stratified_sample_of_plans_not_yet_coded(corpus):
    documents = corpus.documents.assign(region=["上海市", "青海省", "上海市", "上海市", "浙江省"])
    chosen = coding_sheets.sample_plans(documents, {"yangpu_2024"}, 3, "region", seed=1)
    assert len(chosen) == 3 and "yangpu_2024" not in chosen
    assert {"chengzhong_2024", "zhoushan_2024"} <= set(chosen)  # one of each smaller stratum first
    with pytest.raises(ProjectError, match=r"--stratify colour: not a column of documents\.csv"):
        coding_sheets.sample_plans(documents, set(), 2, "colour", seed=1)


def test_export_fill_import_agreement_and_adjudication(coding_project, corpus):
    params = load_params(coding_project.params)
    files, _ = coding_sheets.export_sheet(coding_project, params, corpus.items, corpus.documents,
                                          coding_project.root / "sheet", which="themes", plans=["yangpu_2024"])
    first = seed_codes(coding_project, "yangpu_2024")
    second = {key: dict(codes) for key, codes in first.items()}
    second["yangpu_2024", 1]["思政"] = 1 - first["yangpu_2024", 1]["思政"]  # a 1 → 0 …
    flipped_to_one = next(k for k, c in first.items() if c["思政"] == 0)
    second[flipped_to_one]["思政"] = 1  # … and a 0 → 1
    assert first["yangpu_2024", 1]["思政"] == 1 and sum(c["思政"] for c in first.values()) == 4
    for name, codes in (("甲", first), ("乙", second)):
        sheet = fill(files[0], codes, coding_project.root / f"{name}.xlsx")
        stored, record, n = coding_sheets.import_sheet(coding_project, params, corpus.items, sheet, name, "human",
                                                       False)
        assert n == 29 and stored.name == f"{name}.csv" and record.coder_kind == "human"
    table = coding.all_agreement(coding_project, 200, 0.95, 1).set_index("category")
    row = table.loc["思政"]
    assert (row["n_items"], row["both_1"], row["only_a"], row["only_b"], row["both_0"]) == (29, 3, 1, 1, 24)
    # p_o 27/29, p_e (4/29)² + (25/29)² = 641/841: κ = (783 − 641) / (841 − 641) = 0.71;
    # α = 1 − 57 · 2 / (8 · 50) = 0.715
    assert (row["kappa"], row["alpha"], row["percent"]) == (0.71, 0.715, round(27 / 29, 4))
    assert row["kappa_low"] <= row["kappa"] <= row["kappa_high"]
    assert table.loc[["双减", "数字化", "心理健康"], "percent"].tolist() == [1.0, 1.0, 1.0]
    queue = coding.adjudication_queue(coding_project)
    assert sorted(queue["item_seq"]) == sorted([1, flipped_to_one[1]]) and set(queue["category"]) == {"思政"}
    decided = queue.assign(decision=queue["code_a"])  # the adjudicator sides with 甲
    write_csv_atomic(coding_project.root / "adjudicated.csv", decided)
    _, record, _ = coding_sheets.import_adjudication(coding_project, params, corpus.items,
                                                     coding_project.root / "adjudicated.csv", "丙", "human")
    assert record.coders == "multiple" and record.adjudicates == ("coders/甲.csv", "coders/乙.csv")
    reference, notes = coding.reference_codes(coding_project, "themes", THEMES)
    assert notes == []
    yangpu = reference[reference["doc_id"] == "yangpu_2024"]
    assert set(yangpu["file"]) == {"coders/adjudicated_丙.csv"} and len(yangpu) == 29 * 4
    assert yangpu.set_index(["item_seq", "category"])["code"].to_dict() == {
        (s, t): c for (_, s), codes in first.items() for t, c in codes.items()}
    assert coding.adjudication_queue(coding_project).empty and len(load_codings(coding_project.codings)) == 5


def test_a_malformed_sheet_is_one_line_per_problem(coding_project, corpus):
    params = load_params(coding_project.params)
    files, _ = coding_sheets.export_sheet(coding_project, params, corpus.items, corpus.documents,
                                          coding_project.root / "sheet", which="themes", plans=["yangpu_2024"])
    sheet = pd.read_csv(files[1], encoding="utf-8-sig", keep_default_na=False, dtype=str)
    sheet[THEMES] = "0"
    sheet.loc[0, "思政"] = "2"
    sheet.loc[1, "双减"] = ""
    sheet.loc[2, "doc_id"] = "nowhere_2024"
    sheet = pd.concat([sheet, sheet.iloc[[3]]], ignore_index=True)
    bad = coding_project.root / "bad.csv"
    write_csv_atomic(bad, sheet)
    with pytest.raises(ProjectError) as error:
        coding_sheets.import_sheet(coding_project, params, corpus.items, bad, "甲", "human", False)
    assert error.value.problems == [
        f"{bad}: row 2, column 思政: '2' is not 0 or 1; write 0 or 1",
        f"{bad}: row 3, column 双减: empty cell; write 0 or 1",
        f"{bad}: row 4, column doc_id/item_seq: unknown item nowhere_2024 {sheet.loc[2, 'item_seq']}; keep the "
        "doc_id and item_seq the sheet was exported with",
        f"{bad}: row 31: item yangpu_2024 {sheet.loc[3, 'item_seq']} repeats row 5; keep one",
    ]
    assert not (coding_project.coders / "甲.csv").exists() and len(load_codings(coding_project.codings)) == 2


def test_held_out_coding_is_reported_apart_and_its_hash_checked(coding_project, corpus):
    # zhoushan_2024 leaves the in-sample reference and comes back as a held-out coding
    seed = pd.read_csv(coding_project.annotations, encoding="utf-8-sig", keep_default_na=False)
    write_csv_atomic(coding_project.annotations, seed[seed["doc_id"] != "zhoushan_2024"])
    params = load_params(coding_project.params)
    files, _ = coding_sheets.export_sheet(coding_project, params, corpus.items, corpus.documents,
                                          coding_project.root / "sheet", which="themes", plans=["zhoushan_2024"])
    codes = {(d, s): dict(zip(g["theme"], g["code"], strict=True))
             for (d, s), g in seed[seed["doc_id"] == "zhoushan_2024"].groupby(["doc_id", "item_seq"])}
    sheet = fill(files[0], codes, coding_project.root / "held.xlsx")
    _, record, _ = coding_sheets.import_sheet(coding_project, params, corpus.items, sheet, "丁", "human", True)
    assert record.sample == "held_out" and len(record.dictionary_sha256["themes"]) == 64
    with pytest.raises(ProjectError, match="the dictionary was tuned on this item"):
        yangpu, _ = coding_sheets.export_sheet(coding_project, params, corpus.items, corpus.documents,
                                               coding_project.root / "y", which="themes", plans=["yangpu_2024"])
        coding_sheets.import_sheet(coding_project, params, corpus.items,
                                   fill(yangpu[0], seed_codes(coding_project, "yangpu_2024"),
                                        coding_project.root / "y.xlsx"), "戊", "human", True)
    reference, _ = coding.reference_codes(coding_project, "themes", THEMES)
    reference = reference.rename(columns={"category": "theme"})
    themes = params.themes
    table = validate_lexicon(corpus, stat_kwic(corpus, themes), theme_lexicon(themes), coding_project.annotations,
                             params.coding, params.statistics, reference=reference).lexicon_validation
    held = table[table["sample"] == "held_out"].set_index("theme")
    # zhoushan_2024: 24 items; 思政 1, 双减 4, 数字化 5 (数字家校 #6 missed), 心理健康 2 positive items
    assert held[["n_items", "tp", "fp", "fn"]].values.tolist() == [[24, 1, 0, 0], [24, 4, 0, 0], [24, 4, 0, 1],
                                                                  [24, 2, 0, 0]]
    assert held["estimable"].tolist() == [False, False, True, False]
    # the classifier (trained on the in-sample items) scores the held-out items; too few positives: n/a
    assert held["clf_f1"].isna().tolist() == [True, True, False, True]
    assert held.loc["数字化", "clf_f1_low"] <= held.loc["数字化", "clf_f1"] <= held.loc["数字化", "clf_f1_high"]
    assert table[table["sample"] == "in_sample"]["n_items"].tolist() == [95, 65, 95, 95]
    assert frozen_notes(coding_project, "themes", coding_project.params / "themes.yaml") == []
    with (coding_project.params / "themes.yaml").open("a", encoding="utf-8") as handle:
        handle.write("# changed after freezing\n")
    assert [line.split(":")[0] for line in frozen_notes(coding_project, "themes",
                                                        coding_project.params / "themes.yaml")] == ["coders/丁.csv"]


def test_codings_yaml_is_strict(tmp_path):
    path = tmp_path / "codings.yaml"
    path.write_text("codings:\n- &a {file: x.csv}\n- *a\n", encoding="utf-8")
    with pytest.raises(ProjectError, match="anchors and aliases"):
        load_codings(path)
    path.write_text("codings:\n- file: x.csv\n  schemes: [themes]\n  coder: A\n  coder_kind: robot\n  coders: single\n"
                    "  date: '2026-12-01'\n  codebook: v1\n  sample: held_out\n", encoding="utf-8")
    with pytest.raises(ProjectError) as error:
        load_codings(path)
    assert error.value.problems == [f"{path}: coding 1: coder_kind must be automated or human, not 'robot'",
                                    f"{path}: coding 1: a held_out coding records dictionary_sha256 for each of its "
                                    "schemes"]


def test_the_seed_codings_are_recorded_as_automated_single_coder(paths):
    records = {r.file: r for r in load_codings(paths.codings)}
    assert set(records) == {"item_themes.csv", "policy_tools.csv"}
    assert all(r.automated and r.coders == "single" and r.sample == "in_sample" for r in records.values())
    assert (records["item_themes.csv"].date, records["policy_tools.csv"].date) == ("2026-11-23", "2026-11-30")


def test_the_coding_commands(coding_project, capsys):
    from analysis.cli import main

    root = ["--root", str(coding_project.root)]
    out = coding_project.root / "sheet"
    assert main([*root, "coding", "export", "--scheme", "policy_tools", "--plans", "zhoushan_2024", "--out",
                 str(out), "--seed", "5"]) == 0
    assert capsys.readouterr().out.startswith("wrote 24 items to code: ")
    sheet = pd.read_csv(out.with_suffix(".csv"), encoding="utf-8-sig", keep_default_na=False, dtype=str)
    tools = [c for c in sheet.columns if c not in ("row", "doc_id", "item_seq", "unit", "text", "note")]
    assert len(tools) == 15 and tools[0] == "师资人才"
    sheet[tools] = "0"
    write_csv_atomic(out.with_suffix(".csv"), sheet)
    assert main([*root, "coding", "import", str(out.with_suffix(".csv")), "--coder", "己"]) == 0
    assert "stored 24 rows of 己 (in_sample)" in capsys.readouterr().out
    sheet.loc[0, "师资人才"] = "yes"
    write_csv_atomic(bad := coding_project.root / "bad.csv", sheet)
    assert main([*root, "coding", "import", str(bad), "--coder", "庚"]) == 2
    assert capsys.readouterr().err == f"error: {bad}: row 2, column 师资人才: 'yes' is not 0 or 1; write 0 or 1\n"
    assert main([*root, "coding", "export", "--disputed"]) == 2
    assert "no review queue yet; run `make reports` first" in capsys.readouterr().err


def test_a_held_out_policy_tool_coding_is_reported_apart(coding_project, corpus):
    from analysis.stages.policy_tools import build_policy_tools
    from analysis.text.dictionary import tool_codebook

    params = load_params(coding_project.params)
    files, _ = coding_sheets.export_sheet(coding_project, params, corpus.items, corpus.documents,
                                          coding_project.root / "sheet", which="policy_tools",
                                          plans=["zhoushan_2024"])
    sheet = pd.read_csv(files[1], encoding="utf-8-sig", keep_default_na=False, dtype=str)
    book = tool_codebook(params.policy_tools)
    sheet[book.keys] = "0"
    sheet.loc[sheet["item_seq"].astype(int) <= 3, "师资人才"] = "1"  # items 1–3 use 师资人才, nothing else is used
    write_csv_atomic(files[1], sheet)
    coding_sheets.import_sheet(coding_project, params, corpus.items, files[1], "辛", "human", True)
    reference, _ = coding.reference_codes(coding_project, "policy_tools", book.keys)
    assert set(reference.groupby("sample")["doc_id"].unique().map(tuple)) == {
        ("chengzhong_2024", "yangpu_2024"), ("zhoushan_2024",)}
    kwic = stat_kwic(corpus, params.themes)
    table = build_policy_tools(corpus, book, kwic, list(params.themes.terms), coding_project.policy_tool_annotations,
                               params.statistics, params.coding, reference).policy_tool_validation
    held = table[table["sample"] == "held_out"].set_index(["level", "type", "sub_tool"])
    supply = held.loc[("type", "供给型", "")]
    assert (supply["n_items"], supply["tp"] + supply["fn"]) == (24, 3)
    assert held.loc[("type", "环境型", ""), "tp"] + held.loc[("type", "环境型", ""), "fn"] == 0
    assert not supply["estimable"] and held["clf_f1"].isna().all()
    assert table[table["sample"] == "in_sample"].query("level == 'type'")["n_items"].tolist() == [48, 48, 48]
