"""The sections of analysis notebook 07 (coding workflow): coders, agreement, the adjudication and review queues."""

from __future__ import annotations

import pandas as pd

from analysis.views import coding
from analysis.views.data import ReportData, plan_names
from analysis.views.fragments import safe_html, table

QUEUE_ROWS = 50  # rows of each queue shown; the full queue is the CSV (and `coding export --disputed`)


def coders(data: ReportData) -> list:
    """Every recorded coding: who, automated or human, single or adjudicated, date, codebook, sample."""
    return [table(coding.coders_table(data.paths))]


def _interval(frame: pd.DataFrame, name: str) -> pd.Series:
    return (frame[name].map("{:.2f}".format) + " [" + frame[f"{name}_low"].map("{:.2f}".format) + ", "
            + frame[f"{name}_high"].map("{:.2f}".format) + "]").str.replace("nan", "–")


def agreement(data: ReportData) -> list:
    """Per pair of coders and category: percent agreement, Cohen's κ and Krippendorff's α with their
    bootstrap intervals (coder_agreement.csv), or a line saying there is no second coder yet."""
    found = data.coder_agreement
    if found.empty:
        line = "还没有两名编码者编码同一批条目，没有编码员间一致性。 No two coders have coded the same items yet."
        return [safe_html("<p>{line}</p>", line=line)]
    return [table(pd.DataFrame({
        "编码者 A": found["coder_a"], "编码者 B": found["coder_b"], "类别 category": found["category"],
        "条目 items": found["n_items"], "都为 1": found["both_1"], "仅 A": found["only_a"], "仅 B": found["only_b"],
        "一致率 percent [95%]": _interval(found, "percent"), "Cohen's κ [95%]": _interval(found, "kappa"),
        "Krippendorff's α [95%]": _interval(found, "alpha")}))]


def adjudication(data: ReportData) -> list:
    """Every disagreement between two coders that no adjudicated coding settles yet."""
    queue = data.adjudication_queue
    if queue.empty:
        return [safe_html("<p>{line}</p>", line="没有待裁决的不一致。 Nothing to adjudicate.")]
    return [safe_html("<p>共 {n} 处待裁决（data/processed/adjudication_queue.csv）。</p>", n=len(queue)),
            table(queue.head(QUEUE_ROWS))]


def review(data: ReportData) -> list:
    """The items where the classifier check and the dictionary disagree (surest first): code these first."""
    shown = []
    for title, queue in (("主题 Themes", data.lexicon_review_queue), ("政策工具类型 Tool types",
                                                                     data.policy_tool_review_queue)):
        shown.append(safe_html("<h3>{title}：{n} 条 items</h3>", title=title, n=len(queue)))
        if len(queue):
            rows = queue.head(QUEUE_ROWS)
            shown.append(table(pd.DataFrame({
                "计划 plan": rows["doc_id"].map(plan_names(data.documents)), "条目 item": rows["item_seq"],
                "类别 category": rows["category"], "词典 dictionary": rows["dictionary"],
                "分类器 classifier": rows["classifier"], "概率 probability": rows["probability"].map("{:.2f}".format),
                "已编码 coded": rows["coded"].map({True: "是", False: "否"})})))
    return shown
