"""Tables and verdicts of the exploratory analyses (notebook 06, comparison page): cross-tabs, CA, trees, topics."""

from __future__ import annotations

import pandas as pd

from analysis.stages.coword import SET_PREFIX
from analysis.views.data import ReportData, plan_names
from analysis.views.evidence import esc, locations
from analysis.views.fragments import safe_html
from analysis.views.tableformat import percent

TITLES = {
    "plan_theme": "计划 × 主题（含主题的条目）plan × theme (items with the theme)",
    "plan_tool_type": "计划 × 政策工具类型（使用该类型的条目）plan × tool type (items using it)",
    "theme_tool_type": "主题 × 政策工具类型（同一条目，只计完整计划）theme × tool type (same item, complete plans)",
    "region_theme": "地区 × 主题（只计完整计划）region × theme (complete plans)",
    "admin_level_theme": "行政级别 × 主题（只计完整计划）admin level × theme (complete plans)",
    "year_theme": "年份 × 主题（只计完整计划）year × theme (complete plans)",
}
METHODS = {"chi2": "χ² 近似 asymptotic", "fisher": "Fisher 精确检验 exact",
           "monte_carlo": "蒙特卡洛 Monte-Carlo（同边际随机表）"}


def scope_of(name: str) -> str:
    """The scope of the processed tables for plan set `name` (set_default, set_<name>)."""
    return SET_PREFIX + name


def rows_of(frame: pd.DataFrame, scope: str, **where) -> pd.DataFrame:
    """The rows of a scope (and of the given column values) of an exploratory table."""
    keep = frame["scope"] == scope
    for column, value in where.items():
        keep &= frame[column] == value
    return frame[keep].reset_index(drop=True)


def cell_text(row) -> str:
    """“12 · 34.0% · +2.1▲”: count, row %, adjusted residual, ▲/▼ when |residual| ≥ 1.96."""
    mark = ("▲" if row.residual > 0 else "▼") if row.marked else ""
    return f"{row.count} · {percent(row.row_share)} · {row.residual:+.1f}{mark}"


def crosstab_frame(data: ReportData, scope: str, name: str) -> pd.DataFrame:
    """One cross-tab for reading: rows × columns of `cell_text`, plans by name."""
    cells = rows_of(data.crosstab_cells, scope, table=name)
    names = plan_names(data.documents)
    cells = cells.assign(row=cells["row"].map(lambda r: names.get(r, r)),
                         text=[cell_text(r) for r in cells.itertuples()])
    frame = cells.pivot(index="row", columns="col", values="text").fillna("")
    return frame.rename_axis(index=None, columns=None).reset_index(names="")


def crosstab_test_html(test: pd.Series):
    """χ², df, p (and which p), Cramér's V and the small-expected flag of one cross-tab."""
    flag = ("；{low} 个单元格期望值 < 5（最小 {least}），p 取自{method}。".format(
        low=int(test["low_expected"]), least=f"{test['min_expected']:.2f}", method=METHODS[test["method"]])
        if test["low_expected"] else "。")
    dropped = f" 不适用于部分计划年份而未列入 n/a, left out: {test['dropped']}。" if test["dropped"] else ""
    return safe_html("<p class='meta'>χ² = {chi2}，df = {df}，p = {p}，Cramér's V = {v}，n = {n}{flag}{dropped}"
                     " 单元格：数量 · 行百分比 · 调整标准化残差（▲▼：|残差| ≥ 1.96）。</p>",
                     chi2=f"{test['chi2']:.2f}", df=int(test["df"]), p=f"{test['p']:.3g}",
                     v=f"{test['cramers_v']:.2f}", n=int(test["n"]), flag=flag, dropped=dropped)


def crosstab_names(data: ReportData, scope: str, plans: bool = True) -> list[str]:
    """The cross-tabs of a scope in display order (`plans` False: only those without plan rows)."""
    present = set(rows_of(data.crosstab_tests, scope)["table"])
    return [name for name in TITLES if name in present and (plans or not name.startswith("plan_"))]


def overlap_frame(data: ReportData) -> pd.DataFrame:
    """Sub-tool × theme pairs whose cues and theme terms share words (cue_overlap.csv), for reading."""
    o = data.cue_overlap
    return pd.DataFrame({"类型 type": o["type"], "子工具 sub-tool": o["sub_tool"], "主题 theme": o["theme"],
                         "共有词 shared cues/terms": o["shared"]})


def inertia_frame(inertia: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"维度 dim": inertia["dim"], "特征值 eigenvalue": inertia["eigenvalue"].round(4),
                         "惯量占比 share": inertia["share"].map("{:.1%}".format),
                         "累计 cumulative": inertia["cumulative"].map("{:.1%}".format)})


def points_frame(points: pd.DataFrame, names: dict[str, str], top: int) -> pd.DataFrame:
    """Plans, then the `top` columns contributing most to the first two dimensions: mass,
    coordinates, contributions and cos², and each plan's bootstrap spread."""
    plans = points[points["kind"] == "plan"]
    columns = points[points["kind"] == "column"]
    columns = columns.assign(_c=columns["contrib_x"] + columns["contrib_y"]).nlargest(top, "_c")
    shown = pd.concat([plans, columns], ignore_index=True)
    return pd.DataFrame({
        "点 point": shown["label"].map(lambda label: names.get(label, label)),
        "类别 kind": shown["kind"].map({"plan": "计划 plan", "column": "列 column"}),
        "质量 mass": shown["mass"].round(3), "x": shown["x"].round(3), "y": shown["y"].round(3),
        "贡献 ctr 1": shown["contrib_x"].map("{:.1%}".format), "贡献 ctr 2": shown["contrib_y"].map("{:.1%}".format),
        "cos² 第1维": shown["cos2_x"].round(2), "cos² 第2维": shown["cos2_y"].round(2),
        "重抽样离散 spread": shown["spread"].map(lambda s: "" if pd.isna(s) else f"{s:.3f}"),
    })


def tree_note_html(summary: pd.Series, nodes: pd.DataFrame, names: dict[str, str], keep_share: float):
    """Cophenetic correlation and the merges that survive item resampling (leaves listed)."""
    leaves = nodes[nodes["left"] < 0].set_index("node")["label"]
    members: dict[int, list[str]] = {int(n): [names.get(label, label)] for n, label in leaves.items()}
    kept = []
    for row in nodes[nodes["left"] >= 0].sort_values("node").itertuples():
        members[int(row.node)] = members[int(row.left)] + members[int(row.right)]
        if row.support >= keep_share and len(members[int(row.node)]) < len(leaves):
            kept.append(f"{'、'.join(members[int(row.node)])}（{percent(row.support)}）")
    listed = "；".join(kept) if kept else "没有 none" if summary["replicates"] else "未重抽样 not resampled"
    return safe_html("<p class='meta'>共表相关 cophenetic correlation = {c}（{method} 连接，{metric}）。"
                     "在 {r} 次条目重抽样中至少 {share} 保留的合并 "
                     "merges kept in at least {share} of {r} item resamples：{kept}</p>",
                     c=f"{summary['cophenetic']:.2f}", method=summary["method"], metric=summary["metric"],
                     r=int(summary["replicates"]), share=percent(keep_share), kept=listed)


def large_tree_html(title: str, summary: pd.Series, detail_max_plans: int):
    """What stands for the plan dendrogram of a set too large to draw: its size, its cophenetic
    correlation, whether it was resampled, and where its merges are."""
    resampled = (f"{int(summary['replicates'])} 次条目重抽样 item resamples" if summary["replicates"]
                 else "未做条目重抽样（计划数超过 tree_resample_max_plans）not resampled (more plans than "
                      "tree_resample_max_plans)")
    return safe_html("<h3>{title}</h3><p class='meta'>本集合 {n} 份计划，多于 detail_max_plans（{m}）：不画计划树。"
                     "树本身（共表相关 cophenetic correlation = {c}；{resampled}）的全部合并在 tree_nodes.csv，"
                     "摘要在 tree_summary.csv。 The plan dendrogram of "
                     "{n} plans is not drawn (more than detail_max_plans = {m}); its merges are in tree_nodes.csv.</p>",
                     title=title, n=int(summary["leaves"]), m=detail_max_plans, c=f"{summary['cophenetic']:.2f}",
                     resampled=resampled)


def selection_frame(selection: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"模型 model": selection["model"].str.upper(), "k": selection["k"],
                         "条目 items": selection["items"], "一致性 NPMI": selection["npmi"].round(3),
                         "稳定性 stability": selection["stability"].round(2),
                         "稳定 stable": selection["stable"].map({True: "是 yes", False: "否 no"}),
                         "选中 chosen": selection["chosen"].map({True: "✓", False: ""})})


def topic_verdict_html(selection: pd.DataFrame, model: str, threshold: float):
    """Which k was chosen for `model`, or that no k is stable and no topic mix is shown."""
    rows = selection[selection["model"] == model]
    chosen = rows[rows["chosen"]]
    if chosen.empty:
        best = rows.nlargest(1, "stability")
        most = f"{best['stability'].iloc[0]:.2f}（k = {int(best['k'].iloc[0])}）" if len(best) else "—"
        return safe_html("<p><strong>{model}：没有稳定的 k。</strong>最高稳定性 {most} 低于门槛 {t}："
                         "主题只是条目的一种分法，本页不给出主题构成，也不据此比较计划。 "
                         "No stable k (best {most}, threshold {t}): no topic "
                         "mix is shown as a finding.</p>", model=model.upper(), most=most, t=f"{threshold:.2f}")
    row = chosen.iloc[0]
    return safe_html("<p><strong>{model}：k = {k}</strong>，稳定性 stability {s} ≥ {t}，NPMI {npmi}（稳定性最高的 k，"
                     "两位小数相同时取 NPMI 较高、再取较小的 k）。</p>", model=model.upper(), k=int(row["k"]),
                     s=f"{row['stability']:.2f}", t=f"{threshold:.2f}", npmi=f"{row['npmi']:.3f}")


def topic_labels(terms: pd.DataFrame, n: int = 3) -> dict[int, str]:
    """Topic → its first `n` terms joined."""
    return {int(t): "、".join(group.sort_values("rank")["term"].head(n)) for t, group in terms.groupby("topic")}


def typical_items_html(data: ReportData, items: pd.DataFrame, terms: pd.DataFrame) -> str:
    """Per topic: its top terms, then its three most typical items, printed place linked to the plan's
    district page, with the item text (everything escaped)."""
    names = plan_names(data.documents)
    texts = data.items.set_index(["doc_id", "item_seq"])
    located = items.assign(where="item", section_no=[texts.loc[(d, s), "section_no"] for d, s in
                                                     zip(items["doc_id"], items["item_seq"], strict=True)])
    places = locations(located, data.items) if len(located) else pd.Series(dtype=str)
    parts = []
    for topic, group in located.assign(place=places.to_numpy()).groupby("topic"):
        top = "、".join(terms[terms["topic"] == topic].sort_values("rank")["term"])
        rows = "".join(
            f"<li><a href='../districts/{esc(r.doc_id)}.html'>{esc(names.get(r.doc_id, r.doc_id))} {esc(r.place)}</a>"
            f"（权重 {r.weight:.2f}）：{esc(texts.loc[(r.doc_id, r.item_seq), 'text'])}</li>"
            for r in group.sort_values("rank").itertuples())
        parts.append(f"<h4>主题 {int(topic)}：{esc(top)}</h4><ul>{rows}</ul>")
    return "".join(parts)
