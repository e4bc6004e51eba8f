"""The per-plan tables of a comparison page (notebook 20): plans, theme matrices, caveats,
evidence, lexicon validation."""

from __future__ import annotations

import pandas as pd

from analysis.stages.dataset import plan_labels
from analysis.text.stats import NOT_APPLICABLE
from analysis.views import evidence
from analysis.views.data import ReportData, applicable_rows, plan_names, themes_of
from analysis.views.evidence import esc
from analysis.views.fragments import table


def plans_overview(data: ReportData, doc_ids: list[str]) -> pd.DataFrame:
    """The plans of a set: name with year, region and level, completeness, size."""
    docs = data.documents[data.documents["doc_id"].isin(doc_ids)].sort_values(["year", "district"])
    return pd.DataFrame({
        "计划 plan": plan_labels(docs),
        "地区 region": docs["region"] + " · " + docs["admin_level"],
        "标题 title": docs["title"], "完整性 completeness": docs["completeness"],
        "部分 sections": docs["n_sections"], "条目 items": docs["n_items"], "字数 chars": docs["n_chars"],
    })


def theme_matrix(data: ReportData, doc_ids: list[str], value: str = "per_10k_chars") -> pd.DataFrame:
    """Plans (labelled with year) × themes, in lexicon order."""
    counts = data.theme_counts[data.theme_counts["doc_id"].isin(doc_ids)]
    matrix = counts.pivot(index="doc_id", columns="theme", values=value)
    matrix = matrix[list(dict.fromkeys(counts["theme"]))]
    return matrix.rename(index=plan_names(data.documents)).rename_axis(index="plan", columns="theme")


def mentions_table(data: ReportData, doc_ids: list[str]):
    """Plans × themes, raw mention counts, each linked to its block in the evidence appendix; n/a
    (no link) for a theme that does not apply to the plan's year."""
    matrix = theme_matrix(data, doc_ids, "mentions")
    applies = theme_matrix(data, doc_ids, "applicable").astype(bool)
    ids = {label: doc_id for doc_id, label in plan_names(data.documents).items()}
    links = {
        theme: pd.Series([evidence.anchor(ids[label], theme) if applies.loc[label, theme] else ""
                          for label in matrix.index], index=matrix.index)
        for theme in matrix.columns
    }
    matrix = matrix.astype(object).where(applies, NOT_APPLICABLE)
    return table(matrix, index=True, links=links)


def caveats_html(data: ReportData, doc_ids: list[str]) -> str:
    """What a reader must keep in mind: differing years and levels, incomplete plans (listed by
    name, or counted when the set has more than `detail_max_plans` plans)."""
    docs = data.documents[data.documents["doc_id"].isin(doc_ids)]
    large = len(docs) > data.params.report.detail_max_plans
    notes = []
    if docs["year"].nunique() > 1:
        notes.append(f"计划年份不同（{docs['year'].min()}–{docs['year'].max()}）："
                     f"{'分布也按年份给出' if large else '比较的是各地最新的计划'}，年份写在每个地名旁。"
                     "Plans of different years are compared.")
    if docs["admin_level"].nunique() > 1:
        levels = (docs["admin_level"].value_counts().sort_index().items() if large else
                  ((f"{r.district}{r.admin_level}", None) for r in docs.itertuples()))
        notes.append("行政级别不同（" + "、".join(esc(level) + (f" {n} 份" if n else "") for level, n in levels)
                     + "）：市级计划统筹全市，区级计划更具体。Administrative levels differ.")
    incomplete = docs[docs["completeness"] != "complete"]
    if large and len(incomplete):
        notes.append(f"{len(incomplete)} 份计划不完整（截断或节选）：计数偏低，不计入分布与排名。"
                     "Incomplete plans are left out of distributions and rankings.")
    elif not large:
        notes += [f"{esc(row.district)} {row.year} 为 {esc(row.completeness)}：计数偏低，不参与排名。"
                  for row in incomplete.itertuples()]
    notes.append("每万字提及次数以清洗后正文的非空白字符数为分母；主题词按最长匹配计数，不重复计数。")
    return "<ul>" + "".join(f"<li>{n}</li>" for n in notes) + "</ul>"


def evidence_html(data: ReportData, doc_ids: list[str]) -> str:
    """Every theme count expands (<details id=…>) to all its mentions, cited as printed."""
    counts = data.theme_counts
    outside = counts.loc[~counts["applicable"].astype(bool), ["doc_id", "theme"]]
    return evidence.evidence_html(applicable_rows(data, data.kwic), data.items, data.documents, doc_ids,
                                  themes_of(data), set(map(tuple, outside.to_numpy())))


def disagreements_table(data: ReportData) -> pd.DataFrame:
    """Every coded item × theme where the lexicon and the reference coding differ, cited as printed."""
    sections = data.items[["doc_id", "item_seq", "section_no"]]
    rows = data.lexicon_disagreements.merge(sections, on=["doc_id", "item_seq"], how="left").assign(where="item")
    return pd.DataFrame({
        "计划 plan": rows["doc_id"].map(plan_names(data.documents)),
        "位置 location": evidence.locations(rows, data.items), "主题 theme": rows["theme"],
        "参考编码 reference": rows["code"], "词表 lexicon": rows["predicted"], "计数词 terms": rows["terms"].fillna(""),
        "编码理由 coder's note": rows["note"].fillna(""), "条目原文 item": rows["text"],
    })
