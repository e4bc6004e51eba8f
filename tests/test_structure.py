"""Exact structure of the five real plans, and marker edge cases on small texts."""

from __future__ import annotations

import pytest

from analysis.corpus.structure import chinese_numeral, parse_plan

EXPECTED = {  # doc_id: (sections, items per section, numbering)
    "yangpu_2024": (6, [6, 5, 4, 3, 7, 4], "continuous"),
    "minhang_2017": (4, [2, 13, 10, 5], "per-section"),
    "baoshan_2023": (4, [3, 7, 5, 2], "continuous"),
    "chengzhong_2024": (6, [4, 4, 2, 2, 3, 4], "continuous"),
    "zhoushan_2024": (6, [3, 3, 8, 3, 3, 4], "per-section"),
}


def _plan(corpus, doc_id):
    return next(p for p in corpus.plans if p.plan.doc_id == doc_id)


@pytest.mark.parametrize("doc_id", sorted(EXPECTED))
def test_sections_and_items_per_plan(corpus, doc_id):
    n_sections, per_section, numbering = EXPECTED[doc_id]
    structure = _plan(corpus, doc_id).structure
    counts = [sum(i.section_no == no for i in structure.items) for no, _ in structure.sections]
    assert (len(structure.sections), counts, structure.numbering) == (n_sections, per_section, numbering)
    assert [i.item_seq for i in structure.items] == list(range(1, sum(per_section) + 1))
    assert structure.warnings == []


def test_documents_table_counts(corpus):
    table = corpus.documents.set_index("doc_id")
    for doc_id, (n_sections, per_section, _) in EXPECTED.items():
        assert table.loc[doc_id, "n_sections"] == n_sections
        assert table.loc[doc_id, "n_items"] == sum(per_section)


def test_titles_and_preambles(corpus):
    titles = {p.plan.doc_id: p.structure.title for p in corpus.plans}
    assert titles == {
        "yangpu_2024": "2024年杨浦区教育局工作要点",
        "minhang_2017": "2017年闵行区教育局工作要点",
        "baoshan_2023": "2023年某区教育工作要点",
        "chengzhong_2024": None,  # the page has no title line; the manifest title is used
        "zhoushan_2024": "中共舟山市委教育工作委员会 舟山市教育局2024年工作要点",
    }
    assert _plan(corpus, "chengzhong_2024").structure.preamble.startswith("2024年是新中国成立75周年")
    assert _plan(corpus, "baoshan_2023").structure.preamble.startswith("2023年是全面贯彻落实党的二十大精神")


def test_item_texts_are_whole(corpus):
    items = corpus.items.set_index(["doc_id", "item_seq"])["text"]
    assert items["yangpu_2024", 1].startswith("坚持不懈用习近平新时代中国特色社会主义思想铸魂育人。")
    assert items["yangpu_2024", 29].endswith("继续推进学校体育场地向社会应开尽开。")
    assert items["minhang_2017", 22].startswith("完善区域“三级四类”教育评价体系")  # printed "7. " with a space
    # 3.0未来学校 is a name inside item 7, not an item marker
    assert "3.0未来学校" in items["baoshan_2023", 7]
    assert items["baoshan_2023", 17].endswith("针对不同学生身")  # truncated mid-item
    assert items["zhoushan_2024", 24].endswith("优化退休教师服务管理。")
    assert items["chengzhong_2024", 19].endswith("近视率同比下降0.5%以上。")


def test_items_csv_columns(corpus):
    assert list(corpus.items.columns) == [
        "doc_id", "district", "year", "section_no", "section_title", "item_no", "item_seq", "text"
    ]
    row = corpus.items.query("doc_id == 'zhoushan_2024' and item_seq == 4").iloc[0]
    assert (row.section_no, row.item_no, row.section_title) == (2, "1", "落实五育并举，提升素质教育内涵质量")


@pytest.mark.parametrize(
    ("numeral", "value"), [("一", 1), ("九", 9), ("十", 10), ("十二", 12), ("二十", 20), ("二十三", 23)]
)
def test_chinese_numerals(numeral, value):
    assert chinese_numeral(value) == numeral


def test_inline_plan_with_paren_items(structure_rules):
    text = "某区工作要点\n前言。 一、第一部分 （1）甲事项。 （2）乙事项，含2.5亿元。 二、第二部分 （3）丙事项。\n"
    plan = parse_plan(text, structure_rules)
    assert [i.text for i in plan.items] == ["甲事项。", "乙事项，含2.5亿元。", "丙事项。"]
    assert [s for _, s in plan.sections] == ["第一部分", "第二部分"]
    assert plan.preamble == "前言。"


def test_out_of_sequence_numbers_are_not_items(structure_rules):
    text = "要点\n一、总体\n1.甲。 3.不是条目。\n2.乙，共 5.不是条目。\n"
    plan = parse_plan(text, structure_rules)
    assert [i.item_no for i in plan.items] == ["1", "2"]
    assert plan.items[0].text == "甲。 3.不是条目。"


def test_plan_without_structure_is_one_section_with_warning(structure_rules):
    plan = parse_plan("一段没有任何编号的文字。第二句。\n", structure_rules)
    assert len(plan.items) == 1 and plan.items[0].text == "一段没有任何编号的文字。第二句。"
    assert len(plan.warnings) == 2
