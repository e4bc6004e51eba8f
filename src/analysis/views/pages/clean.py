"""The sections of analysis notebook 01 (clean and structure), each a list of objects to display."""

from __future__ import annotations

import pandas as pd

from analysis.views import summaries
from analysis.views.data import ReportData
from analysis.views.dataset import item_length_summary, plan_structure, removal_counts, section_table
from analysis.views.fragments import as_tables, table
from analysis.views.overview import is_large, plan_counts
from analysis.views.plots import plot_item_lengths

DOCUMENT_COLUMNS = ["doc_id", "district", "region", "admin_level", "year", "completeness", "n_chars", "n_sections",
                    "n_items", "script"]


def _rows(frame: pd.DataFrame, doc_ids: list[str]) -> pd.DataFrame:
    return frame[frame["doc_id"].isin(doc_ids)]


@as_tables
def corpus(data: ReportData, doc_ids: list[str]) -> list:
    """The plans: their documents.csv rows, or counts by region and year and size distributions."""
    documents = _rows(data.documents, doc_ids)
    if not is_large(data, doc_ids):
        return [documents[DOCUMENT_COLUMNS]]
    return [summaries.summarised_html(data, doc_ids, "本节给出按地区与年份的计划数，以及字数、部分数、条目数的分布",
                                      "data/processed/documents.csv"),
            table(plan_counts(data, doc_ids)), table(summaries.corpus_summary(documents))]


@as_tables
def removed(data: ReportData, doc_ids: list[str]) -> list:
    """What cleaning removed: counts and every removed line, or per rule counts and a sample."""
    lines = _rows(data.removed, doc_ids)
    if not is_large(data, doc_ids):
        return [removal_counts(lines), lines]
    return [
        summaries.summarised_html(
            data, doc_ids, f"本节给出每条规则删除的行数，以及每条规则的前 {summaries.SAMPLE_LINES} 行",
            "data/processed/removed.csv", district_pages=False),
        table(summaries.removal_summary(lines)),
        summaries.listing_html(summaries.removed_sample(lines), len(lines), "行 lines",
                               "没有删除任何行。 Nothing was removed."),
    ]


@as_tables
def structure(data: ReportData, doc_ids: list[str], n_examples: int) -> list:
    """Each plan's structure, or counts of numbering kinds and the plans to check."""
    documents = _rows(data.documents, doc_ids)
    found = plan_structure(documents, data.items, data.paths.processed / "clean")
    if not is_large(data, doc_ids):
        return [found]
    check = summaries.plans_to_check(found)
    return [
        summaries.summarised_html(
            data, doc_ids, f"本节给出各种条目编号方式的计划数、结构未被识别的计划（前 {n_examples} 份）、"
            "部分数与每部分条目数的分布", "data/processed/items.csv"),
        table(summaries.structure_counts(found)),
        summaries.listing_html(
            check.head(n_examples), len(check), "份需检查的计划 plans to check",
            "每份计划都找到了部分标题和条目编号。 Section headings and item numbers were found in every plan."),
    ]


@as_tables
def sections(data: ReportData, doc_ids: list[str], n_examples: int) -> list:
    """Sections with their item counts (or their distribution), then the first items."""
    items = _rows(data.items, doc_ids)
    counts = table(summaries.section_summary(items)) if is_large(data, doc_ids) else section_table(items)
    return [counts, items[["doc_id", "section_no", "item_no", "item_seq", "text"]].head(n_examples)]


@as_tables
def lengths(data: ReportData, doc_ids: list[str]) -> list:
    """Item lengths per plan (table and box plot), or their distribution and histograms."""
    items = _rows(data.items, doc_ids)
    if not is_large(data, doc_ids):
        return [item_length_summary(items), plot_item_lengths(items)]
    return [
        summaries.summarised_html(
            data, doc_ids, "本节给出全部条目的长度分布、每份计划中位长度的分布，以及条目长度和每份计划条目数的直方图",
            "data/processed/items.csv", district_pages=False),
        table(summaries.length_summary(items)), summaries.plot_item_length_histogram(items),
    ]
