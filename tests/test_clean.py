"""Cleaning on the real plans (what must be gone, what must stay) and on small fixtures."""

from __future__ import annotations

import pytest

from analysis.corpus.clean import clean_plan, normalize_chars, repair_spaces

GONE = {
    "yangpu_2024": ["2024-03-22", "\u00a0"],
    "minhang_2017": ["您现在的位置", "作者：党政办", "阅读：14771", "上一篇", "下一篇", "返回顶部",
                     "群益职业技术学校", "版权所有", "ICP备", "转：", "关于我们"],
    "baoshan_2023": ["购物车", "我的足迹", "加入Vip免费下载", "立即下载", "实 施", "思想政 治", "总书 记"],
    "chengzhong_2024": ["2024年5月13日"],
    "zhoushan_2024": ["当前位置", "索引号", "组配分类", "发布机构", "生成日期", "公开方式", "发布日期",
                      "访问次数", "字号", "法定主动公开内容"],
}
KEPT = {
    "yangpu_2024": ["大思政课", "心理健康", "巩固“双减”治理成果", "数字基座"],
    "minhang_2017": ["2017年闵行区教育局工作要点", "电子书包", "7. 完善区域“三级四类”教育评价体系"],
    "baoshan_2023": ["实施“十四五”规划", "思想政治理论课程", "习近平总书记", "3.0未来学校", "数字化转型"],
    "chengzhong_2024": ["“学习新思想 做好接班人”", "“大思政课”固本强基", "深化城中区教育局“一个中心”不动摇"],
    "zhoushan_2024": ["持续深化“双减”集成改革", "舟山市教育局2024年工作要点"],
}


@pytest.mark.parametrize("doc_id", sorted(GONE))
def test_boilerplate_gone_and_plan_kept(corpus, doc_id):
    text = next(p.cleaned.text for p in corpus.plans if p.plan.doc_id == doc_id)
    assert [s for s in GONE[doc_id] if s in text] == []
    assert [s for s in KEPT[doc_id] if s not in text] == []


def test_half_width_commas_become_full_width(corpus):
    for plan in corpus.plans:
        assert "," not in plan.cleaned.text, plan.plan.doc_id
        assert "，" in plan.cleaned.text


def test_removed_lines_are_recorded(corpus):
    rules = set(corpus.removed.query("doc_id == 'zhoushan_2024'")["rule"])
    assert rules == {"breadcrumb", "portal_metadata"}
    signature = corpus.removed.query("doc_id == 'chengzhong_2024'")
    assert list(signature["text"]) == ["2024年5月13日", "西宁市城中区教育局"]


def test_cover_notice_footer_and_signature(clean_rules):
    page = "\n".join([
        "当前位置：首页 > 通知公告 > 正文",
        "关于印发《2025年某区教育局工作要点》的通知",
        "各中小学、幼儿园：",
        "现将《2025年某区教育局工作要点》印发给你们，请认真贯彻落实。",
        "某区教育局",
        "2025年2月1日",
        "2025年某区教育局工作要点",
        "一、加强党建",
        "1.深化思政课改革。",
        "某区教育局",
        "2025年2月1日",
        "上一篇：无",
        "版权所有 某区教育局",
    ])
    result = clean_plan(page, clean_rules)
    assert result.text == "2025年某区教育局工作要点\n一、加强党建\n1.深化思政课改革。\n"
    assert result.title == "2025年某区教育局工作要点"
    assert [rule for rule, _ in result.removed].count("cover_notice") == 5


def test_long_paragraph_mentioning_boilerplate_words_is_kept(clean_rules):
    paragraph = "加强网站管理，" * 20 + "在当前位置显示版权所有信息。"
    assert clean_plan(paragraph, clean_rules).text.strip() == paragraph.replace("，", "，")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("落实,推进", "落实，推进"),
        ("任务(2022—2024)", "任务（2022—2024）"),
        ("１２３ＡＢＣ", "123ABC"),
        ("a\u00a0b\u3000c", "a b c"),
        ("1,000人", "1,000人"),  # a thousands separator between digits stays
        ("并举 ,提升", "并举，提升"),
    ],
)
def test_normalize_chars(raw, clean):
    assert normalize_chars(raw) == clean


def test_pdf_space_repair_keeps_separators():
    damaged = "是实 施“十四五”规划的关键之年，市第十 二次党代会。 一、加强思想政 治工作 12.推进新增41 所学校 2017 2018"
    repaired, count = repair_spaces(damaged, min_per_1k=2.0)
    assert repaired == (
        "是实施“十四五”规划的关键之年，市第十二次党代会。 一、加强思想政治工作 12.推进新增41所学校2017 2018"
    )
    assert count == 5


def test_pdf_space_repair_skips_clean_text():
    text = "“学习新思想 做好接班人”" + "主题教育活动持续开展。" * 100
    assert repair_spaces(text, min_per_1k=2.0) == (text, 0)


def test_inline_pdf_text_with_hundreds_of_sections_keeps_every_marker(clean_rules, structure_rules):
    """PDF text runs inline with word-break spaces; the space repair must not glue section 一百
    (or item 1000) onto the text before it, whatever the size of the number."""
    from analysis.corpus.structure import chinese_numeral, parse_plan

    sections = " ".join(
        f"{chinese_numeral(s)}、第{s}部分 {2 * s - 1}. 推 进第{s}项工作。 {2 * s}. 完善机制。"
        for s in range(1, 121)
    )
    cleaned = clean_plan(f"2025年某区教育工作要点\n{sections}\n", clean_rules).text
    structure = parse_plan(cleaned, structure_rules)
    assert len(structure.sections) == 120 and len(structure.items) == 240
    assert structure.sections[99] == (100, "第100部分")
    assert "推进第120项工作" in structure.items[-2].text


PLAN_START = ["2025年某区教育工作要点", "一、加强党建", "1.深化思政课改革。"]
PLAN_TEXT = "\n".join(PLAN_START) + "\n"
NOTICE_BODY = "现将《2025年某区教育工作要点》印发给你们，请结合实际认真贯彻落实。"


@pytest.mark.parametrize(("page", "notice"), [
    # the notice starts at its body: no notice title line before it (an unseen portal)
    (["各中小学、幼儿园：", NOTICE_BODY, "附件：2025年某区教育工作要点", "某区教育局", "2025年2月1日", *PLAN_START], 5),
    (["当前位置：首页 > 通知", NOTICE_BODY, "某区教育局", "2025年2月1日", *PLAN_START], 3),
    # the notice title followed by a 发布时间 line (the regression), or with it on the same line
    (["上海市某区教育局关于印发《2025年某区教育工作要点》的通知", "发布时间：2025-02-03 09:00", "各学校：",
      NOTICE_BODY, "特此通知。", "附件：2025年某区教育工作要点", *PLAN_START], 5),
    (["某区教育局关于印发《2025年某区教育工作要点》的通知 发布时间：2025-02-03", NOTICE_BODY, *PLAN_START], 2),
    # page-control lines
    (["返回上一级", *PLAN_START, "【返回上一级】 【打印本页】 【关闭窗口】"], 0),
])
def test_cover_notice_is_one_block_wherever_it_starts(clean_rules, page, notice):
    result = clean_plan("\n".join(page), clean_rules)
    assert result.text == PLAN_TEXT
    assert result.title == PLAN_START[0]
    assert [rule for rule, _ in result.removed].count("cover_notice") == notice


def test_a_notice_body_without_a_plan_title_ends_after_its_own_lines(clean_rules):
    preamble = "2025年，全区教育系统坚持稳中求进工作总基调，围绕优质均衡发展目标，着力解决群众关心的教育热点难点问题。"
    page = [NOTICE_BODY, "附件", "某区教育局", "2025年2月1日", preamble, "一、加强党建", "1.深化思政课改革。"]
    result = clean_plan("\n".join(page), clean_rules)
    assert result.text == "\n".join(page[4:]) + "\n"
    assert [text for rule, text in result.removed if rule == "cover_notice"] == page[:4]


def test_a_plan_item_that_issues_a_document_is_kept(clean_rules):
    page = ["2025年某区教育工作要点", "一、加强党建", "1.现将《学校安全工作手册》印发给各校，请认真贯彻执行。"]
    assert clean_plan("\n".join(page), clean_rules).text == "\n".join(page) + "\n"
