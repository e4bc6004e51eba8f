"""The sections of analysis notebook 05 (explore), each a list of objects to display."""

from __future__ import annotations

from analysis.stages.coword import POOLED
from analysis.views import explore, summaries
from analysis.views.data import ReportData, plan_names
from analysis.views.fragments import as_tables, safe_html, table
from analysis.views.overview import is_large
from analysis.views.plots import plot_coword_network, plot_top_terms, plot_word_cloud


def _listed(data: ReportData, doc_ids: list[str]) -> list[str]:
    """The plans whose rows are listed: a sample of a large set, else all."""
    return summaries.sample_ids(doc_ids) if is_large(data, doc_ids) else doc_ids


@as_tables
def header(data: ReportData, doc_ids: list[str], query: list[str]) -> list:
    """The snapshot, the plans explored and the query terms."""
    return [safe_html(
        "<p class='meta'>快照 snapshot <code>{snapshot}</code> · {shown}/{total} 份计划 plans · "
        "检索词 query：{terms}</p>", snapshot=data.snapshot, shown=len(doc_ids), total=len(data.documents),
        terms="、".join(explore.query_terms(query)))]


@as_tables
def concordance(data: ReportData, doc_ids: list[str], query: list[str], window: int) -> list:
    """Hits per plan and term, then every KWIC line (of a sample of plans for a large set)."""
    terms, listed = explore.query_terms(query), _listed(data, doc_ids)
    sample = [summaries.sample_html(data.documents, listed, len(doc_ids))] if is_large(data, doc_ids) else []
    lines = explore.concordance(data, terms, listed, window)
    counts = explore.counts(lines, listed, terms).rename(index=plan_names(data.documents))
    return [*sample, table(counts.rename_axis("计划 plan").reset_index()),
            lines[["district", "year", "term", "location", "left", "match", "right"]]]


@as_tables
def collocates(data: ReportData, doc_ids: list[str], query: list[str], top_n: int) -> list:
    """Per query term, its strongest collocates, or a line saying none reaches the minimum count."""
    terms = explore.query_terms(query)
    found, shown = explore.query_collocates(data, terms, doc_ids), []
    for term in terms:
        rows = found[found["term"] == term]
        shown += [safe_html("<h3>{term}（{n} 个搭配词 collocates）</h3>", term=term, n=len(rows)),
                  rows.drop(columns="term").head(top_n).reset_index(drop=True) if len(rows) else safe_html(
                      "<p class='meta'>没有达到最低次数的搭配词。 No collocate reaches the minimum count.</p>")]
    return shown


@as_tables
def frequencies(data: ReportData, doc_ids: list[str], top_n: int) -> list:
    """The most frequent words pooled (plot), then per plan (of a sample for a large set)."""
    found = explore.word_frequencies(data.item_tokens, doc_ids, top_n)
    pooled = found[found["scope"] == POOLED]
    per_plan = found[found["scope"].isin(_listed(data, doc_ids))]
    per_plan = per_plan.assign(plan=per_plan["scope"].map(plan_names(data.documents)),
                               term=per_plan["term"] + "（" + per_plan["count"].astype(str) + "）")
    return [plot_top_terms(pooled, f"合并 {len(doc_ids)} 份计划 pooled"),
            per_plan.pivot(index="rank", columns="plan", values="term")]


@as_tables
def cloud(data: ReportData, doc_ids: list[str], shown: bool) -> list:
    """A word cloud of the pooled word frequencies, when `shown`."""
    if not shown:
        return []
    found = explore.word_frequencies(data.item_tokens, doc_ids, 200)
    found = found[found["scope"] == POOLED]
    return [plot_word_cloud(dict(zip(found["term"], found["count"], strict=True)), data.params.explore.seed)]


@as_tables
def network(data: ReportData, doc_ids: list[str], top_n: int) -> list:
    """The co-word network of the plans by community, its communities and strongest edges."""
    nodes, edges = explore.plans_network(data, doc_ids)
    strongest = edges.sort_values(["count", "weight", "source", "target"], ascending=[False, False, True, True])
    return [plot_coword_network(nodes, strongest, max_edges=50, group="community", strength="count",
                                legend="社群 {}"),
            table(explore.community_table(nodes)), table(edges.drop(columns="scope").head(top_n))]
