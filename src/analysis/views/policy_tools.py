"""Policy-tool views for the notebooks and pages: shares with intervals, verdicts, the X–Y matrix, evidence, plots.

They read the processed snapshot (policy_tools.csv, policy_tool_summary.csv, …), never process.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.params.statistics import StatisticsParams
from analysis.paths import ProjectError
from analysis.stages.plansets import ranked_ids
from analysis.stages.tool_coding import joined_cues
from analysis.stages.tool_shares import pooled_replicates, replicate_shares, share_bounds
from analysis.text.dictionary import Dictionary, tool_codebook
from analysis.text.stats import percentile_interval
from analysis.views.data import applicable_rows, plan_names
from analysis.views.evidence import anchor, esc, marked
from analysis.views.fragments import safe_html, table
from analysis.views.tableformat import interval, percent

LABEL_CHARS = 14  # a heatmap row label longer than this is cut, with …
POOLED = "合并 pooled（完整计划 complete plans）"  # the row of the shown plans that may be pooled, together
ALL_TOOLS = "（合计 all）"  # plan_vs_others' sub_tool of a type's row
VERDICT_BASIS = ("主导/稀缺的判断只依据对条目重抽样的自助法区间，不包含提示词编码本身的误差"
                 "（提示词漏编或误编的条目不在区间之内）")


def toolbook_table(book: Dictionary) -> pd.DataFrame:
    """One row per sub-tool: type, definition, cues, verb + object rules and excluded phrases, for display."""
    return pd.DataFrame(
        [{"type": book.group_of[tool], "sub_tool": tool, "definition": book.descriptions[tool],
          "cues": "、".join(book.terms[tool]),
          "rules": "；".join(f"（{'/'.join(verbs)}）+（{'/'.join(objects)}）"
                            for verbs, objects in book.rules.get(tool, ())),
          "exclude": "、".join(book.exclude.get(tool, ()))}
         for tool in book.keys],
        columns=["type", "sub_tool", "definition", "cues", "rules", "exclude"],
    )


def type_order(summary: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(summary.loc[summary["level"] == "type", "type"]))


def share_table(data, doc_ids: list[str], level: str = "type") -> pd.DataFrame:
    """Plans × types (or sub-tools): each one's share of the plan's codes, with the plan's items and
    codes; one row per plan in `doc_ids`, labelled by district and year."""
    summary = data.policy_tool_summary
    rows = summary[(summary["level"] == level) & summary["doc_id"].isin(doc_ids)]
    column = "type" if level == "type" else "sub_tool"
    wide = rows.pivot_table(index="doc_id", columns=column, values="share", aggfunc="first", sort=False)
    wide = wide.reindex(columns=list(dict.fromkeys(rows[column])))
    totals = rows.groupby("doc_id").agg(n_items=("n_items", "first"), codes=("codes", "sum"),
                                        n_uncoded=("n_uncoded", "first"))
    out = totals.join(wide).reset_index()
    out.insert(0, "plan", out["doc_id"].map(plan_names(data.documents)))
    return out.drop(columns="doc_id")


def pooled_items(data, doc_ids: list[str]) -> int:
    """The items of the plans in `doc_ids` together (the summary's n_items)."""
    summary = data.policy_tool_summary
    rows = summary[(summary["level"] == "type") & summary["doc_id"].isin(doc_ids)]
    return int(rows.drop_duplicates("doc_id")["n_items"].sum())


def pooled_bootstrap(data, doc_ids: list[str]) -> np.ndarray:
    """(replicates, types): the pooled type shares of the plans in `doc_ids` in each replicate of the
    item bootstrap (items resampled within each plan; replicates without any code left out); no
    replicate at all when the plans have fewer than `min_items` items together (no interval)."""
    params, kinds = data.params.statistics, type_order(data.policy_tool_summary)
    if not params.enough_items(pooled_items(data, doc_ids)):
        return np.empty((0, len(kinds)))
    return replicate_shares(pooled_replicates(data.policy_tools, doc_ids, kinds, params))


def pooled_shares(data, doc_ids: list[str], shares: np.ndarray | None = None) -> pd.DataFrame:
    """Per type over the plans in `doc_ids`: pooled codes and share with its item-bootstrap interval
    (`share_low`, `share_high`; from `shares` when given, else pooled_bootstrap; NaN, n/a, with fewer
    than `min_items` items in all), the plans' items together (`n_items`), and the median and range
    of the plans' own shares."""
    summary = data.policy_tool_summary
    rows = summary[(summary["level"] == "type") & summary["doc_id"].isin(doc_ids)]
    total = rows["codes"].sum()
    out = rows.groupby("type", sort=False).agg(codes=("codes", "sum"), median_share=("share", "median"),
                                               min_share=("share", "min"), max_share=("share", "max"))
    out.insert(1, "share", (out["codes"] / total).round(4) if total else float("nan"))
    shares = pooled_bootstrap(data, doc_ids) if shares is None else shares
    bounds = share_bounds(shares, len(out), data.params.statistics.level)
    out.insert(2, "share_low", bounds[0])
    out.insert(3, "share_high", bounds[1])
    out.insert(4, "n_items", pooled_items(data, doc_ids))
    return out.reset_index()


def dominant_types(data, doc_ids: list[str]) -> pd.Series:
    """doc_id → the type with the largest share of the plan's codes (ties joined by ＝)."""
    summary = data.policy_tool_summary
    rows = summary[(summary["level"] == "type") & summary["doc_id"].isin(doc_ids) & (summary["codes"] > 0)]
    return rows.groupby("doc_id").apply(
        lambda plan: "＝".join(plan.loc[plan["codes"] == plan["codes"].max(), "type"]), include_groups=False)


def margin_low(shares: np.ndarray, at: int, level: float) -> float:
    """Lower bound of the percentile interval of column `at` minus the largest other column, over
    the replicates of `shares`: above 0 when the data support "column `at` is the largest"."""
    if len(shares) == 0 or shares.shape[1] < 2:
        return float("nan")
    lead = shares[:, at] - np.delete(shares, at, axis=1).max(axis=1)
    return float(percentile_interval(lead, level)[0])


def too_few(n_items: int, params: StatisticsParams) -> str:
    """Why a share has no interval: the reason shown in place of it."""
    return f"仅 {n_items} 个条目，少于 {params.min_items} 个不计算区间"


def _interval_text(row: pd.Series, n_items: int, params: StatisticsParams) -> str:
    if pd.isna(row["share_low"]):
        return f"{percent(row['share'])}，区间 n/a：{too_few(n_items, params)}"
    return f"{params.level:.0%} 区间 " + interval(row["share"], row["share_low"], row["share_high"], as_percent=True)


def share_verdicts(shares: pd.Series, replicates: np.ndarray, n_items: int, params: StatisticsParams
                   ) -> tuple[str, str]:
    """What may be said of the largest and of the smallest of `shares` (type → share, in the order of
    the columns of `replicates`, pooled_bootstrap): 主导 (稀缺) only when the interval of its margin
    over (under) every other type excludes 0, else that the gap to the nearest type is uncertain;
    with fewer than `min_items` items, that there are too few items to judge either."""
    if not params.enough_items(n_items):
        return "条目太少，不据此判断是否主导", "也不判断是否稀缺"
    top, low = int(np.argmax(shares.to_numpy())), int(np.argmin(shares.to_numpy()))
    second, next_low = shares.drop(index=shares.index[top]).idxmax(), shares.drop(index=shares.index[low]).idxmin()
    return ("高于其他各类型的幅度在自助法区间内不含 0，可称为主导" if margin_low(replicates, top, params.level) > 0
            else f"但与{second}的差距在自助法区间内不确定，不宜称为主导",
            "低于其他各类型的幅度在自助法区间内不含 0，可称为稀缺" if margin_low(-replicates, low, params.level) > 0
            else f"但与{next_low}的差距在自助法区间内不确定，不宜称为稀缺")


def pool_ids(data, doc_ids: list[str]) -> list[str]:
    """The plans of `doc_ids` that may be pooled or serve as the others' median: not truncated or
    partial (report.yaml `rank_exclude`); the same plans that are ranked."""
    return ranked_ids(data.documents, doc_ids, data.params.report)


def left_out_html(data, doc_ids: list[str]) -> str:
    """" 截断或节选的 宝山 2023 不计入合并与中位数。" for the plans of `doc_ids` outside pool_ids (escaped)."""
    names = plan_names(data.documents)
    out = [names[d] for d in doc_ids if d not in pool_ids(data, doc_ids)]
    return ("截断或节选的 " + "、".join(esc(n) for n in out) + " 不计入合并与中位数 (incomplete plans are not pooled)。"
            if out else "")


def findings_html(data, doc_ids: list[str]):
    """One paragraph stated from the data on the plans of `doc_ids` that may be pooled (pool_ids):
    the types with the largest and smallest pooled share with their intervals — called 主导
    (dominant) or 稀缺 (scarce) only as share_verdicts allows (never with fewer than `min_items`
    items in all) — and in how many plans each type has the largest share."""
    note, doc_ids = left_out_html(data, doc_ids), pool_ids(data, doc_ids)
    shares, params = pooled_bootstrap(data, doc_ids), data.params.statistics
    pooled = pooled_shares(data, doc_ids, shares)
    if pooled.empty or pooled["codes"].sum() == 0:
        return safe_html("<p>这些计划中没有编码到任何政策工具。</p>")
    top, low = int(pooled["share"].idxmax()), int(pooled["share"].idxmin())
    n_items = pooled_items(data, doc_ids)
    top_verdict, low_verdict = share_verdicts(pooled.set_index("type")["share"], shares, n_items, params)
    counts = dominant_types(data, doc_ids).value_counts()
    return safe_html(
        "<p>在所选 {n} 份完整计划的 {codes} 个“条目 × 子工具”编码中，<b>{top}</b>占比最高（{top_share}），"
        "{top_verdict}；"
        "<b>{low}</b>最低（{low_share}），{low_verdict}。以各计划自身占比最高的类型计：{spread}。"
        "（区间：在每份计划内对条目重抽样的自助法；{basis}。）" + note + "</p>",
        n=len(doc_ids), codes=int(pooled["codes"].sum()), top=pooled.loc[top, "type"],
        top_share=_interval_text(pooled.loc[top], n_items, params), low=pooled.loc[low, "type"],
        low_share=_interval_text(pooled.loc[low], n_items, params), top_verdict=top_verdict,
        low_verdict=low_verdict, spread="、".join(f"{kind} {n} 份" for kind, n in counts.items()), basis=VERDICT_BASIS,
    )


def _share_cell(row, params: StatisticsParams) -> str:
    """"46.2% [40.0%, 52.1%]"; "100.0%（n/a：仅 1 个条目，…）" without an interval; "—" without a share."""
    if pd.isna(row.share):
        return "—"
    if pd.isna(row.share_low):
        return f"{percent(row.share)}（n/a：{too_few(row.n_items, params)}）"
    return interval(row.share, row.share_low, row.share_high, as_percent=True)


def interval_table(data, doc_ids: list[str]) -> pd.DataFrame:
    """Plans (and, with two or more, the pooled row 合并) × types: share of the item × sub-tool codes
    with its item-bootstrap interval (params/statistics.yaml `level`), as text "46.2% [40.0%, 52.1%]" (n/a and
    why with fewer than `min_items` items), and the items and codes."""
    long, params = type_intervals(data, doc_ids), data.params.statistics
    long = long.assign(cell=[_share_cell(row, params) for row in long.itertuples(index=False)])
    wide = long.pivot_table(index="plan", columns="type", values="cell", aggfunc="first", sort=False)
    wide = wide.reindex(columns=type_order(data.policy_tool_summary))
    totals = long.groupby("plan", sort=False).agg(n_items=("n_items", "first"), codes=("codes", "sum"))
    return totals.join(wide).reset_index()


def type_intervals(data, doc_ids: list[str]) -> pd.DataFrame:
    """Long: plan, type, n_items, codes, share, share_low, share_high (NaN, n/a, with fewer than
    `min_items` items) for each plan of `doc_ids` (summary order) and, with two or more plans, the
    pooled row `合并 pooled`."""
    summary = data.policy_tool_summary
    rows = summary[(summary["level"] == "type") & summary["doc_id"].isin(doc_ids)]
    out = rows.assign(plan=rows["doc_id"].map(plan_names(data.documents)))[
        ["plan", "type", "n_items", "codes", "share", "share_low", "share_high"]]
    if len(set(rows["doc_id"])) > 1 and pool_ids(data, doc_ids):
        pooled = pooled_shares(data, pool_ids(data, doc_ids))[
            ["type", "n_items", "codes", "share", "share_low", "share_high"]]
        out = pd.concat([out, pooled.assign(plan=POOLED)[out.columns]], ignore_index=True)
    return out.reset_index(drop=True)


def sentence_overview(data, doc_ids: list[str]) -> pd.DataFrame:
    """Per plan of `doc_ids`: its items, the coded ones, those mixing two or more types, those whose
    codes come from two or more sentences, and its item × sub-tool and sentence × sub-tool codes
    (two counting units, side by side: never to be added)."""
    codes = data.policy_tools[data.policy_tools["doc_id"].isin(doc_ids)]
    coded = codes[codes["sub_tool"] != ""]
    per_item = coded.groupby(["doc_id", "item_seq"]).agg(types=("type", "nunique"), sentences=("sentence", "nunique"))
    out = pd.DataFrame({
        "n_items": codes.groupby("doc_id")["item_seq"].nunique(),
        "coded_items": per_item.groupby("doc_id").size(),
        "mixed_items": (per_item["types"] > 1).groupby("doc_id").sum(),
        "multi_sentence_items": (per_item["sentences"] > 1).groupby("doc_id").sum(),
        "codes": coded.drop_duplicates(["doc_id", "item_seq", "sub_tool"]).groupby("doc_id").size(),
        "sentence_codes": coded.groupby("doc_id").size(),
    }).fillna(0).astype(int)
    out.insert(0, "plan", out.index.map(plan_names(data.documents)))
    return out.reset_index(drop=True)


def mixed_examples(data, doc_ids: list[str], limit: int = 20) -> pd.DataFrame:
    """The sentence codes (unit, sentence, type, sub-tool, cue, sentence text) of the first items of
    `doc_ids` that mix two or more types, at most `limit` rows: where each code of an item comes from."""
    codes = data.policy_tools[data.policy_tools["doc_id"].isin(doc_ids) & (data.policy_tools["sub_tool"] != "")]
    mixed = codes.groupby(["doc_id", "item_seq"])["type"].transform("nunique") > 1
    return codes.loc[mixed, ["unit", "sentence", "type", "sub_tool", "cue", "sentence_text"]].head(limit)


def xy_table(data, doc_ids: list[str], dimension: str = "theme") -> pd.DataFrame:
    """The X–Y matrix summed over the plans in `doc_ids`: rows = themes (dimension "theme") or, per
    plan, its sections ("section"), columns = types, cells = item × sub-tool codes. A theme row sums
    only the plans the theme applies to (a plan before the theme's `since` year adds nothing: n/a)."""
    if dimension not in ("theme", "section"):
        raise ProjectError(f"dimension: {dimension!r} is not allowed; use theme or section")
    frame = data.policy_tool_matrix
    rows = frame[(frame["dimension"] == dimension) & frame["doc_id"].isin(doc_ids)]
    if dimension == "theme":
        themed = rows["y"].isin(set(data.theme_counts["theme"]))
        rows = pd.concat([rows[~themed], applicable_rows(data, rows[themed], "y")]).sort_index()
    kinds = type_order(data.policy_tool_summary)
    keys = ["y_order", "y"] if dimension == "theme" else ["doc_id", "y_order", "y"]
    wide = rows.pivot_table(index=keys, columns="type", values="codes", aggfunc="sum", fill_value=0)
    wide = wide.reindex(columns=kinds, fill_value=0).astype(int)
    wide["合计"] = wide.sum(axis=1)
    out = wide.reset_index().drop(columns="y_order")
    if dimension == "section":
        out.insert(0, "plan", out.pop("doc_id").map(plan_names(data.documents)))
    return out.rename(columns={"y": "主题 theme" if dimension == "theme" else "部分 section"})


def plan_vs_others(data, doc_id: str, doc_ids: list[str]) -> pd.DataFrame:
    """One plan's share of each type and sub-tool (with its item-bootstrap interval) against the
    median share of the other plans of `doc_ids` that may be pooled (pool_ids: a truncated plan is
    never in the median)."""
    summary = data.policy_tool_summary
    others = [d for d in pool_ids(data, doc_ids) if d != doc_id]
    rows = summary[summary["doc_id"] == doc_id][["level", "type", "sub_tool", "codes", "share", "share_low",
                                                  "share_high"]]
    median = (summary[summary["doc_id"].isin(others)].groupby(["level", "type", "sub_tool"], sort=False)["share"]
              .median().rename("others_median").reset_index())
    out = rows.merge(median, on=["level", "type", "sub_tool"], how="left")
    out["sub_tool"] = out["sub_tool"].where(out["level"] == "sub_tool", ALL_TOOLS)
    return out.drop(columns="level")


def plan_findings_html(data, doc_id: str, doc_ids: list[str]):
    """One paragraph stated from the data: the plan's type with the largest share, with its interval,
    against the median share of the other plans of `doc_ids`, and whether it may be called 主导
    (share_verdicts: never with fewer than `min_items` items)."""
    summary = data.policy_tool_summary
    rows = summary[(summary["level"] == "type") & (summary["doc_id"] == doc_id)]
    if rows.empty or rows["codes"].sum() == 0:
        return safe_html("<p>本计划没有编码到任何政策工具。</p>")
    compared = plan_vs_others(data, doc_id, doc_ids)
    types = compared[compared["sub_tool"] == ALL_TOOLS].set_index("type")
    top = rows.loc[rows["codes"].idxmax(), "type"]
    median = types.loc[top, "others_median"]
    params, n_items = data.params.statistics, int(rows["n_items"].iloc[0])
    verdict, _ = share_verdicts(types["share"].reindex(type_order(summary)), pooled_bootstrap(data, [doc_id]),
                                n_items, params)
    return safe_html(
        "<p>本计划共 {n_items} 个条目、{codes} 个“条目 × 子工具”编码，占比最高的是<b>{top}</b>（{share}；"
        "比较对象中其他计划的中位数 {median}），{verdict}。（{basis}。）</p>",
        n_items=n_items, codes=int(rows["codes"].sum()), top=top, share=_interval_text(types.loc[top], n_items, params),
        median=percent(median), verdict=verdict, basis=VERDICT_BASIS,
    )


def evidence_spans(book: Dictionary, text: str, tool: str) -> list[tuple[int, str]]:
    """(offset, phrase) to mark in `text` for `tool`: its counted cues and the verb and object of each
    of its rule matches, in text order, a span overlapping an earlier (or longer) one left out."""
    spans = [(at, cue) for at, cue in book.find(text) if book.key_of[cue] == tool]
    spans += [span for at, verb, where, thing, key in book.rule_matches(text) if key == tool
              for span in ((at, verb), (where, thing))]
    kept: list[tuple[int, str]] = []
    for at, phrase in sorted(set(spans), key=lambda span: (span[0], -len(span[1]))):
        if not kept or at >= kept[-1][0] + len(kept[-1][1]):
            kept.append((at, phrase))
    return kept


def code_evidence(codes: pd.DataFrame, book: Dictionary) -> pd.DataFrame:
    """One row per item × sub-tool code of the sentence codes `codes` (code_items; the uncoded rows
    left out), in item order: doc_id, item_seq, unit (as printed), type, sub_tool, cue (its distinct
    cues), `sentences` (the numbers of the item's sentences coded with it, joined by 、), `n_sentences`
    and `html`: those sentences exactly, escaped, the cues the matcher counted for the sub-tool in
    <mark> (a rule's verb and object each), joined by " … "."""
    coded = codes[codes["sub_tool"] != ""]
    shown = coded.assign(html=[
        marked(text, evidence_spans(book, text, tool))
        for text, tool in zip(coded["sentence_text"], coded["sub_tool"], strict=True)
    ])
    grouped = shown.groupby(["doc_id", "item_seq", "sub_tool"], sort=False)
    out = grouped[["unit", "type"]].first().join(grouped.agg(
        cue=("cue", joined_cues),
        sentences=("sentence", lambda numbers: "、".join(map(str, numbers))),
        n_sentences=("sentence", "size"), html=("html", " … ".join),
    )).reset_index()
    return out.sort_values(["doc_id", "item_seq"], kind="stable").reset_index(drop=True)


def tool_anchor(doc_id: str, name: str) -> str:
    """The id of a plan's evidence block for one type or sub-tool (names are unique across both)."""
    return anchor(doc_id, name, "tools")


def evidence_blocks(evidence: pd.DataFrame, doc_id: str, book: Dictionary) -> str:
    """Per type of the plan with codes, an open <details> block (id = tool_anchor) holding one closed
    block per sub-tool with codes: one list entry per item × sub-tool code — the unit as printed,
    its sentence numbers and cues, then the sentences with the cues marked (code_evidence). Each
    block's summary gives its codes (= the `codes` of plan_vs_others) and sentences; types and
    sub-tools without codes get no block."""
    plan = evidence[evidence["doc_id"] == doc_id]
    blocks = []
    for kind, tools in book.groups.items():
        inner = []
        for tool in tools:
            rows = plan[plan["sub_tool"] == tool]
            if rows.empty:
                continue
            lis = "".join(f"<li><span class='where'>{esc(r.unit)} · 句 {esc(r.sentences)} · {esc(r.cue)}</span>"
                          f"{r.html}</li>" for r in rows.itertuples())
            inner.append(f"<details class='kwic' id='{esc(tool_anchor(doc_id, tool))}'><summary>{esc(tool)}："
                         f"{len(rows)} 个编码（条目）· {rows['n_sentences'].sum()} 句</summary>"
                         f"<ol class='kwic'>{lis}</ol></details>")
        of_kind = plan[plan["type"] == kind]
        if inner:
            blocks.append(f"<details class='kwic' id='{esc(tool_anchor(doc_id, kind))}' open><summary>{esc(kind)}："
                          f"{len(of_kind)} 个“条目 × 子工具”编码 · {of_kind['n_sentences'].sum()} 句</summary>"
                          f"{''.join(inner)}</details>")
    return "\n".join(blocks)


def plan_evidence_html(data, doc_id: str):
    """The evidence of every number of plan_vs_others_table: evidence_blocks of the plan's codes in
    the snapshot, cues marked as the codebook (params/policy_tools.yaml, checked with the snapshot)
    finds them."""
    from IPython.display import HTML

    book = tool_codebook(data.params.policy_tools)
    codes = data.policy_tools[data.policy_tools["doc_id"] == doc_id]
    blocks = evidence_blocks(code_evidence(codes, book), doc_id, book)
    if not blocks:
        return HTML("<p>本计划没有编码到任何政策工具，没有可列的句子。</p>")
    return HTML("<p>证据 Evidence：上表 codes 列中大于 0 的数字都链接到这里；每个类型、子工具展开后逐条列出"
                "编码单位（编号-章-条，按印刷编号）、句号（条目内第几句）、命中的提示词和原句，提示词以底色标出。"
                "全部编码另见 data/processed/policy_tools.csv。</p>" + blocks)


def plan_vs_others_table(data, doc_id: str, doc_ids: list[str]):
    """plan_vs_others as a table whose `codes` cells (those above 0) link to their evidence block
    (plan_evidence_html)."""
    compared = plan_vs_others(data, doc_id, doc_ids)
    names = compared["sub_tool"].where(compared["sub_tool"] != ALL_TOOLS, compared["type"])
    links = pd.Series([tool_anchor(doc_id, name) if codes > 0 else ""
                       for name, codes in zip(names, compared["codes"], strict=True)], index=compared.index)
    return table(compared, links={"codes": links})


def district_plans(data, doc_id: str) -> list[str]:
    """doc_ids of every plan of `doc_id`'s district (all its years)."""
    documents = data.documents
    district = documents.loc[documents["doc_id"] == doc_id, "district"]
    return sorted(documents.loc[documents["district"].isin(district), "doc_id"])


def trend_table(data, doc_ids: list[str]) -> pd.DataFrame:
    """Type shares year by year for each district with plans of two or more years among `doc_ids`:
    district, year, plan, type, codes, share, share_low, share_high (item-bootstrap interval of each
    plan; NaN, n/a, for a plan with fewer than `min_items` items); empty when no district has two years."""
    documents = data.documents[data.documents["doc_id"].isin(doc_ids)]
    documents = documents[documents.groupby("district")["year"].transform("nunique") > 1]
    summary = data.policy_tool_summary
    rows = summary[summary["level"] == "type"].merge(documents[["doc_id", "district", "year"]], on="doc_id")
    rows = rows.assign(plan=rows["doc_id"].map(plan_names(data.documents)))
    columns = ["district", "year", "plan", "type", "codes", "share", "share_low", "share_high"]
    return rows.sort_values(["district", "year", "doc_id"], kind="stable")[columns].reset_index(drop=True)


def _whiskers(rows: pd.DataFrame) -> np.ndarray:
    """(2, rows) distances from `share` down to `share_low` and up to `share_high`, for error bars."""
    return np.vstack([rows["share"] - rows["share_low"], rows["share_high"] - rows["share"]]).clip(min=0)


def plot_type_shares(intervals: pd.DataFrame):
    """Grouped bars: each plan's (and the pooled row's) share of each type, whiskers the item-bootstrap
    interval; `intervals` as type_intervals."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    from analysis.views.plots import use_cjk_font

    use_cjk_font()
    plans, kinds = list(dict.fromkeys(intervals["plan"])), list(dict.fromkeys(intervals["type"]))
    width = 0.8 / max(len(kinds), 1)
    fig = Figure(figsize=(max(6.0, 1.1 * len(plans) + 2), 4), layout="constrained")
    ax = fig.subplots()
    for at, kind in enumerate(kinds):
        rows = intervals[intervals["type"] == kind].set_index("plan").reindex(plans)
        ax.bar(np.arange(len(plans)) + (at - (len(kinds) - 1) / 2) * width, rows["share"], width, yerr=_whiskers(rows),
               capsize=3, label=kind)
    ax.set_xticks(range(len(plans)), plans, rotation=30, ha="right")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("占“条目 × 子工具”编码的比例 share of codes")
    ax.set_title("须线：条目自助法 95% 区间（条目太少则无）whiskers: item-bootstrap interval (none: too few items)",
                 fontsize=9)
    ax.legend(frameon=False, ncols=len(kinds))
    return fig


def plot_xy(data, doc_ids: list[str], dimension: str = "theme"):
    """Heatmap of the X–Y matrix (xy_table): rows the themes or each plan's sections (labels cut to
    LABEL_CHARS characters), columns the types, cells item × sub-tool codes."""
    from analysis.views.plots import plot_heatmap

    table = xy_table(data, doc_ids, dimension).drop(columns="合计")
    label = table.columns[1] if dimension == "section" else table.columns[0]
    shorten = table[label].map(lambda text: text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "…")
    index = shorten if dimension == "theme" else table["plan"] + " · " + shorten
    values = table.drop(columns=[c for c in ("plan", label) if c in table]).set_axis(index, axis=0)
    title = "政策工具 × " + ("主题" if dimension == "theme" else "部分") + "（条目 × 子工具编码数）"
    return plot_heatmap(values, title, fmt=".0f", cmap="Blues")


def plot_type_trends(trend: pd.DataFrame):
    """One panel per district (trend_table): each type's share by year, bars the item-bootstrap interval."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    from analysis.views.plots import use_cjk_font

    use_cjk_font()
    districts = list(dict.fromkeys(trend["district"]))
    fig = Figure(figsize=(4.2 * len(districts) + 1, 3.6), layout="constrained")
    axes = fig.subplots(1, len(districts), sharey=True, squeeze=False)[0]
    for ax, district in zip(axes, districts, strict=True):
        for kind, rows in trend[trend["district"] == district].groupby("type", sort=False):
            ax.errorbar(rows["year"], rows["share"], yerr=_whiskers(rows), marker="o", capsize=3, label=kind)
        ax.set_title(district)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("年份 year")
    axes[0].yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes[0].set_ylabel("占“条目 × 子工具”编码的比例 share of codes")
    axes[-1].legend(frameon=False)
    fig.suptitle("竖线：条目自助法 95% 区间（条目太少则无）bars: item-bootstrap interval (none: too few items)",
                 fontsize=9)
    return fig
