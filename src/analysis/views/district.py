"""The sections of a district page (notebook 10): header, structure, theme profile, distinctive
terms, changes over the years."""

from __future__ import annotations

import pandas as pd

from analysis.corpus.clean import CONVERTED
from analysis.stages.plansets import ranked_ids
from analysis.text.stats import rank_bounds
from analysis.views import evidence
from analysis.views.data import ReportData, plan_names
from analysis.views.evidence import esc
from analysis.views.fragments import safe_html, table
from analysis.views.setstats import distinctive_terms, theme_significance
from analysis.views.tableformat import interval, rank


def header_html(documents: pd.DataFrame, doc_id: str) -> str:
    """Title block of a district report, with a visible warning for incomplete plans."""
    row = documents.set_index("doc_id").loc[doc_id]
    parts = [
        f"<p class='meta'>{esc(row['region'])} · {esc(row['district'])}{esc(row['admin_level'])} · "
        f"{row['year']}年 · completeness: <strong>{esc(row['completeness'])}</strong> · "
        f"{row['n_sections']} 部分 sections · {row['n_items']} 条目 items · {row['n_chars']} 字 characters</p>",
        f"<p class='meta'>来源 Source: {esc(row['source'])}</p>",
    ]
    if row["completeness"] != "complete":
        what = {"truncated": "文本中途截断 the text stops mid-plan", "partial": "仅为节选 only an excerpt"}
        what = what.get(row["completeness"], row["completeness"])
        parts.append(
            f"<div class='warning'>⚠ 本计划{what}：计数偏低，不参与排名。 Counts understate the plan; "
            "it is left out of rankings.</div>"
        )
    if row.get("script") == CONVERTED:
        parts.append("<p class='meta'>原文为繁体，已转为简体后清洗与计数，本页引文为简体（原文件未改动）。 "
                     "Written in Traditional characters: converted to Simplified before cleaning and counting; "
                     "quotes on this page are the converted text.</p>")
    return "\n".join(parts)


def compared_with_html(data: ReportData, doc_id: str, doc_ids: list[str]):
    """The plans a district page compares with: named (with years), or counted above detail_max_plans."""
    names = plan_names(data.documents)
    others = [names[d] for d in doc_ids if d != doc_id]
    if len(others) > data.params.report.detail_max_plans:
        return safe_html("<p>比较对象 Compared with: 本比较集中其他 {n} 份计划 the other {n} plans of the set"
                         "（名单见报告索引 listed in the index）。</p>", n=len(others))
    return safe_html("<p>比较对象 Compared with: {others}（年份不同时，比较的是不同年度的计划 plans of different "
                     "years）。</p>", others="、".join(others))


def structure_table(items: pd.DataFrame, doc_id: str) -> pd.DataFrame:
    """Sections of one plan with their item numbers and counts."""
    plan = items[items["doc_id"] == doc_id]
    return (
        plan.groupby(["section_no", "section_title"], sort=True)
        .agg(n_items=("item_seq", "size"), items=("item_seq", lambda s: f"{s.min()}–{s.max()}"))
        .reset_index()
        .rename(columns={"section_no": "部分 section", "section_title": "标题 title", "n_items": "条目数 items",
                         "items": "条目序号 item_seq"})
    )


def theme_profile(data: ReportData, doc_id: str, doc_ids: list[str]) -> pd.DataFrame:
    """One plan's theme figures with 95 % intervals (per 10k: item bootstrap; item share: exact
    Clopper–Pearson), beside the median of the other complete plans of the set, its rank among them
    with its uncertainty (tied where intervals overlap, as on the comparison page), and the item-level
    test against them. A theme that does not apply to the plan's year (lexicon `since`/`until`) shows
    n/a in every column, its mentions included."""
    counts = data.theme_counts[data.theme_counts["doc_id"].isin([*doc_ids, doc_id])]
    ranked = ranked_ids(data.documents, [*doc_ids, doc_id], data.params.report)
    significance = theme_significance(data, doc_id, [*doc_ids, doc_id])
    rows = []
    for theme, group in counts.groupby("theme", sort=False):
        group = group[group["applicable"]] if "applicable" in group else group
        own = group[group["doc_id"] == doc_id]
        if own.empty:
            rows.append({"主题 theme": theme, "提及 mentions": NOT_APPLICABLE_TEXT})
            continue
        own = own.iloc[0]
        pool = group[group["doc_id"].isin(ranked)].sort_values(["per_10k_chars", "doc_id"], ascending=[False, True])
        others = pool[pool["doc_id"] != doc_id]["per_10k_chars"]
        rows.append({
            "主题 theme": theme, "提及 mentions": own["mentions"],
            "每万字 per 10k chars [95% CI]": interval(own["per_10k_chars"], own["per_10k_low"], own["per_10k_high"]),
            "含主题条目 items": f"{own['items_with_theme']}/{own['n_items']}",
            "条目占比 item share [95% CI]": interval(own["item_share"], own["item_share_low"], own["item_share_high"],
                                                  as_percent=True),
            "其他完整计划中位数 median of the other complete plans (per 10k)":
                f"{others.median():.1f}（{len(others)} 份 plans）" if len(others) else "—",
            "排名 rank (per 10k, complete plans)": _rank(pool, doc_id) if doc_id in ranked else "—（不参与排名）",
            "条目检验 item test vs other complete plans": significance.get(theme, "—"),
        })
    return pd.DataFrame(rows)


NOT_APPLICABLE_TEXT = "n/a（该年份不适用 not applicable to the plan's year）"


def _rank(pool: pd.DataFrame, doc_id: str) -> str:
    """The plan's per-10k rank in `pool` (ranked plans, highest first) with its uncertainty."""
    best, worst = rank_bounds(pool["per_10k_low"], pool["per_10k_high"])
    at = list(pool["doc_id"]).index(doc_id)
    return rank(int(best[at]), int(worst[at]), len(pool))


def theme_profile_table(data: ReportData, doc_id: str, doc_ids: list[str]):
    """`theme_profile` with each mention count linked to its evidence block."""
    profile = theme_profile(data, doc_id, doc_ids)
    links = pd.Series([evidence.anchor(doc_id, theme) if mentions != NOT_APPLICABLE_TEXT else ""
                       for theme, mentions in zip(profile["主题 theme"], profile["提及 mentions"], strict=True)],
                      index=profile.index)
    return table(profile, links={"提及 mentions": links})


def distinctive_terms_table(data: ReportData, doc_id: str, doc_ids: list[str]):
    """`distinctive_terms` as a table, or a sentence saying that no term passes the threshold."""
    from IPython.display import HTML

    terms = distinctive_terms(data, doc_id, doc_ids)
    if terms.empty:
        return HTML(f"<p>本计划没有显著多用的词（q < {esc(data.params.report.max_q)}）。 No term is used significantly "
                    "more than in the other plans of the set.</p>")
    return table(terms)


def year_over_year(data: ReportData, doc_id: str) -> dict[str, pd.DataFrame] | None:
    """Against the same district's previous plan: themes up/down, terms new/dropped, item counts."""
    documents = data.documents.set_index("doc_id")
    row = documents.loc[doc_id]
    earlier = documents[(documents["district"] == row["district"]) & (documents["year"] < row["year"])]
    if earlier.empty:
        return None
    previous = earlier["year"].idxmax()
    names = plan_names(data.documents)
    counts = data.theme_counts.set_index(["doc_id", "theme"])
    themes = counts["per_10k_chars"].where(counts["applicable"])  # NaN: the theme does not apply that year
    now, before = themes.loc[doc_id], themes.loc[previous]
    theme_change = pd.DataFrame({
        f"{documents.loc[previous, 'year']} 每万字": before, f"{row['year']} 每万字": now,
        "变化 change": (now - before).round(2),
    }).rename_axis("主题 theme").reset_index().astype(object).fillna("n/a")
    terms = data.term_counts[data.term_counts["mentions"] > 0]
    now_terms = set(terms.loc[terms["doc_id"] == doc_id, "term"])
    old_terms = set(terms.loc[terms["doc_id"] == previous, "term"])
    summary = pd.DataFrame({
        "": ["计划 plan", "部分 sections", "条目 items", "字数 characters"],
        "before": [names[previous], *documents.loc[previous, ["n_sections", "n_items", "n_chars"]]],
        "now": [names[doc_id], *row[["n_sections", "n_items", "n_chars"]]],
    })
    terms_change = pd.DataFrame({
        "新出现的词 new terms": ["、".join(sorted(now_terms - old_terms)) or "—"],
        "不再出现的词 dropped terms": ["、".join(sorted(old_terms - now_terms)) or "—"],
    })
    return {"summary": summary, "themes": theme_change, "terms": terms_change}
