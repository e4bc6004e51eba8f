"""Figures. Chinese labels use Noto Sans CJK SC shipped by the `mplfonts` wheel (no system font)."""

from __future__ import annotations

from collections.abc import Collection
from functools import cache

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import PercentFormatter

from analysis.stages.dataset import plan_labels
from analysis.text.stats import INTERVAL_COLUMNS, NOT_APPLICABLE
from analysis.views.font import font_path

NOT_APPLICABLE_GREY = "#eeeeee"  # background of an n/a cell


@cache
def cjk_font() -> str:
    """Register the packaged CJK font with matplotlib once; return its family name."""
    path = font_path()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def use_cjk_font() -> str:
    """Make the CJK font the default for every later figure (seaborn themes included)."""
    family = cjk_font()
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [family, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return family


def plot_item_lengths(items: pd.DataFrame) -> Figure:
    """Box plot of item length (characters) per plan."""
    import seaborn as sns

    use_cjk_font()
    frame = items.assign(
        length=items["text"].str.len(), plan=plan_labels(items)
    )
    fig = Figure(figsize=(7, 0.6 * frame["plan"].nunique() + 1.2), layout="constrained")
    ax = fig.subplots()
    sns.boxplot(data=frame, x="length", y="plan", ax=ax, color="#9ecae1")
    ax.set_xlabel("条目长度（字）item length, characters")
    ax.set_ylabel("")
    return fig


def plot_heatmap(
    matrix: pd.DataFrame, title: str, fmt: str = ".1f", cmap: str = "YlOrRd", incomplete: Collection[str] = (),
    diagonal: bool = True,
) -> Figure:
    """Annotated heatmap of a labelled matrix (rows and columns as given).

    Rows named in `incomplete` (plans that are not complete) are hatched and left out of the colour
    scale: their colours are clipped to the other rows' range, their annotations keep the values.
    Empty cells (NaN: a theme that does not apply to the plan's year) are grey and read "n/a".
    `diagonal=False` (a plan × plan similarity): the diagonal (each plan with itself, 1.00) is left
    blank and out of the colour scale, so the scale shows the differences between plans."""
    import seaborn as sns

    use_cjk_font()
    values = matrix.astype(float)
    mask = np.eye(*values.shape, dtype=bool) if not diagonal else np.zeros(values.shape, dtype=bool)
    hatched = [at for at, label in enumerate(values.index) if label in incomplete]
    scale = values.mask(mask).drop(index=values.index[hatched]) if len(hatched) < len(values) else values.mask(mask)
    if scale.isna().all(axis=None):
        scale = values
    vmin, vmax = np.nanmin(scale.to_numpy()), np.nanmax(scale.to_numpy())
    extend = {(False, False): "neither", (True, False): "min", (False, True): "max", (True, True): "both"}
    fig = Figure(figsize=(1.1 * matrix.shape[1] + 2.5, 0.55 * matrix.shape[0] + 1.5), layout="constrained")
    ax = fig.subplots()
    below, above = bool((values.mask(mask) < vmin).any(axis=None)), bool((values.mask(mask) > vmax).any(axis=None))
    sns.heatmap(values, annot=True, fmt=fmt, cmap=cmap, linewidths=0.5, ax=ax, cbar=True, vmin=vmin, vmax=vmax,
                cbar_kws={"extend": extend[below, above]}, mask=mask)
    for at in np.flatnonzero(mask.diagonal()):
        ax.text(at + 0.5, at + 0.5, "—", ha="center", va="center", color="#999999")
    for at in hatched:
        ax.add_patch(Rectangle((0, at), values.shape[1], 1, fill=False, hatch="///", edgecolor="#777777", linewidth=0))
    for row, column in zip(*np.nonzero(values.isna().to_numpy() & ~mask), strict=True):
        ax.add_patch(Rectangle((column, row), 1, 1, facecolor=NOT_APPLICABLE_GREY, edgecolor="white", linewidth=0.5))
        ax.text(column + 0.5, row + 0.5, NOT_APPLICABLE, ha="center", va="center", color="#555555")
    if hatched:
        title += "\n斜线：不完整计划，不参与色标 hatched: incomplete plan, outside the colour scale"
    ax.set_title(title)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="x", rotation=30)
    ax.tick_params(axis="y", rotation=0)
    return fig


THEME_VALUES = {  # theme_counts column → (axis label, annotation format)
    "mentions": ("提及次数 mentions", ".0f"),
    "per_10k_chars": ("每万字提及次数 mentions per 10,000 characters", ".1f"),
    "item_share": ("提及主题的条目占比 share of items", ".1%"),
}


def _plan_frame(theme_counts: pd.DataFrame, documents: pd.DataFrame | None) -> pd.DataFrame:
    """theme_counts with each plan's completeness (from `documents`, when given) and label."""
    frame = theme_counts if documents is None else theme_counts.merge(
        documents[["doc_id", "completeness"]], on="doc_id", how="left"
    )
    return frame.assign(plan=plan_labels(frame), complete=frame.get("completeness", "complete") == "complete")


def plot_theme_heatmap(
    theme_counts: pd.DataFrame, value: str = "per_10k_chars", documents: pd.DataFrame | None = None,
) -> Figure:
    """Plan × theme heatmap of one column of theme_counts (themes in table order). With `documents`,
    incomplete plans are labelled, hatched and kept out of the colour scale. A theme that does not
    apply to the plan's year (not `applicable`) is an "n/a" cell, outside the colour scale."""
    frame = _plan_frame(theme_counts, documents)
    matrix = frame.assign(**{value: frame[value].where(frame["applicable"])}).pivot(
        index="plan", columns="theme", values=value)
    label, fmt = THEME_VALUES[value]
    return plot_heatmap(matrix.loc[pd.unique(frame["plan"]), pd.unique(frame["theme"])], label, fmt=fmt,
                        incomplete=set(frame.loc[~frame["complete"], "plan"]))


def plot_theme_intervals(theme_counts: pd.DataFrame, documents: pd.DataFrame, value: str = "per_10k_chars") -> Figure:
    """One panel per theme: each plan's estimate (dot) and item-bootstrap interval (line) of
    `value` (per_10k_chars or item_share). Complete plans on top; incomplete plans below a dashed
    line, with hollow markers and their label mark. A theme that does not apply to the plan's year
    reads "n/a" in place of dot and line."""
    use_cjk_font()
    frame = _plan_frame(theme_counts, documents)
    low, high = INTERVAL_COLUMNS[value]
    complete_plans = pd.unique(frame.loc[frame["complete"], "plan"])
    plans = [*complete_plans, *pd.unique(frame.loc[~frame["complete"], "plan"])]
    frame = frame.assign(y=frame["plan"].map({plan: at for at, plan in enumerate(plans)}))
    themes = pd.unique(frame["theme"])
    fig = Figure(figsize=(2.4 * len(themes) + 2, 0.45 * len(plans) + 1.6), layout="constrained")
    axes = fig.subplots(1, len(themes), sharey=True, squeeze=False)[0]
    for ax, theme in zip(axes, themes, strict=True):
        rows = frame[frame["theme"] == theme]
        for y in rows.loc[~rows["applicable"], "y"]:
            ax.text(0.02, y, NOT_APPLICABLE, transform=ax.get_yaxis_transform(), va="center", color="#555555")
        for complete, group in rows[rows["applicable"]].groupby("complete"):
            colour = "#4c72b0" if complete else "#c44e52"
            ax.hlines(group["y"], group[low], group[high], color=colour, linewidth=2)
            ax.plot(group[value], group["y"], "o", color=colour, markerfacecolor=colour if complete else "white")
        if 0 < len(complete_plans) < len(plans):
            ax.axhline(len(complete_plans) - 0.5, color="#999999", linestyle="--", linewidth=0.8)
        ax.set_title(theme)
        ax.grid(axis="x", alpha=0.3)
        if value == "item_share":
            ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes[0].set_yticks(range(len(plans)), plans)
    axes[0].set_ylim(len(plans) - 0.5, -0.5)
    fig.suptitle(THEME_VALUES[value][0])
    fig.supxlabel("点：估计值；线：条目自助法区间；空心：不完整计划 dot: estimate, line: item-bootstrap interval, "
                  "hollow: incomplete plan", fontsize=9)
    return fig


GROUP_LABELS = {"region": "地区 region", "admin_level": "行政级别 level", "year": "年份 year"}


def plot_theme_distribution(rows: pd.DataFrame, value: str = "per_10k_chars", by: str = "region") -> Figure:
    """One panel per theme: a box plot of `value` per group of `by` (region, admin_level or year;
    groups in sorted order, labelled with their number of complete plans), over the complete plans
    the theme applies to. `rows`: plan × theme rows with theme, applicable, complete, `by` and
    `value` (`overview.plan_rows`). A group where the theme applies to no complete plan reads
    "n/a" (or "—" without complete plans). One row per group, whatever the number of plans."""
    use_cjk_font()
    themes = pd.unique(rows["theme"])
    groups = sorted(pd.unique(rows[by]))
    counted = rows[rows["complete"] & rows["applicable"]]
    complete = rows[rows["complete"]].groupby(by)["doc_id"].nunique()
    fig = Figure(figsize=(2.6 * len(themes) + 2.5, 0.4 * len(groups) + 1.8), layout="constrained")
    axes = fig.subplots(1, len(themes), sharey=True, squeeze=False)[0]
    for ax, theme in zip(axes, themes, strict=True):
        values = counted[counted["theme"] == theme].groupby(by)[value]
        boxes = [(at, values.get_group(group).to_numpy(float)) for at, group in enumerate(groups)
                 if group in values.groups]
        if boxes:
            ax.boxplot([v for _, v in boxes], positions=[at for at, _ in boxes], orientation="horizontal",
                       widths=0.6, patch_artist=True, boxprops={"facecolor": "#9ecae1"},
                       medianprops={"color": "#08306b"}, flierprops={"markersize": 3})
        for at, group in enumerate(groups):
            if group not in values.groups:
                ax.text(0.02, at, NOT_APPLICABLE if complete.get(group, 0) else "—",
                        transform=ax.get_yaxis_transform(), va="center", color="#555555")
        ax.set_title(theme)
        ax.grid(axis="x", alpha=0.3)
        if value == "item_share":
            ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes[0].set_yticks(range(len(groups)), [f"{group}（{complete.get(group, 0)}）" for group in groups])
    axes[0].set_ylim(len(groups) - 0.5, -0.5)
    zh, en = GROUP_LABELS[by].split(" ", 1)
    fig.suptitle(f"{THEME_VALUES[value][0]}：按{zh}分布 by {en}")
    fig.supxlabel("箱：四分位数与中位数；点：离群计划；括号内：完整计划数；不完整计划不计入 box: quartiles and "
                  "median, dots: outlying plans, (n): complete plans; incomplete plans left out", fontsize=9)
    return fig


def _cluster_names(summary: pd.DataFrame) -> dict[int, str]:
    """Cluster id → "3 课后服务·培训·劳动" for axes and legends."""
    return {row.cluster: f"{row.cluster} {row.label}" for row in summary.itertuples()}


def plot_k_selection(k_selection: pd.DataFrame, ari_min: float) -> Figure:
    """Per k: mean subsample ARI ± one standard error against the pass line `ari_min`, and the
    cosine silhouette (the tie-breaker); the chosen k circled."""
    use_cjk_font()
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    chosen = k_selection[k_selection["chosen"]]
    left.errorbar(k_selection["k"], k_selection["ari"], yerr=k_selection["ari_se"], marker="o", color="#4c72b0",
                  capsize=3)
    left.axhline(ari_min, color="#c44e52", linestyle="--", linewidth=1)
    left.annotate(f"通过线 pass: ARI ≥ {ari_min:.2f}", (k_selection["k"].min(), ari_min), textcoords="offset points",
                  xytext=(0, 4), color="#c44e52", fontsize=8)
    left.set_ylim(min(0, k_selection["ari"].min() - 0.05), 1.02)
    right.plot(k_selection["k"], k_selection["silhouette"], marker="o", color="#4c72b0")
    for ax, column, title in (
        (left, "ari", "子样本稳定性 mean subsample ARI"), (right, "silhouette", "轮廓系数（余弦）silhouette, cosine"),
    ):
        ax.plot(chosen["k"], chosen[column], marker="o", markersize=12, fillstyle="none", color="#c44e52")
        ax.set_xlabel("k")
        ax.set_title(title)
        ax.set_xticks(k_selection["k"])
    return fig


def plot_cluster_mix(mix: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """Heatmap: share of each plan's items (columns) in each cluster (rows)."""
    return plot_heatmap(mix.T.rename(index=_cluster_names(summary)), "各计划条目在各簇中的占比 share of plan items",
                        fmt=".0%", cmap="Blues")


def plot_cluster_scatter(clusters: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """Items in the 2-D projection, coloured by cluster, one marker per plan."""
    import seaborn as sns

    use_cjk_font()
    names = _cluster_names(summary)
    frame = clusters.assign(簇=clusters["cluster"].map(names), 计划=plan_labels(clusters))
    fig = Figure(figsize=(10, 6), layout="constrained")
    ax = fig.subplots()
    sns.scatterplot(data=frame, x="x", y="y", hue="簇", style="计划", hue_order=list(names.values()),
                    palette="tab20", s=60, ax=ax)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    ax.set_xlabel("SVD 1")
    ax.set_ylabel("SVD 2")
    return fig


def plot_similarity(square: pd.DataFrame) -> Figure:
    """Heatmap of plan × plan cosine similarity, its colour scale set by the pairs of different plans
    (the diagonal, each plan with itself, is blank)."""
    return plot_heatmap(square, "整份计划 TF-IDF 余弦相似度 plan similarity（对角线为计划自身，不参与色标 diagonal: "
                        "a plan with itself, outside the scale）", fmt=".2f", cmap="Blues", diagonal=False)


def plot_stability(stability: pd.DataFrame, summary: pd.DataFrame, jaccard_min: float) -> Figure:
    """The chosen k's refits. Left: ARI of each refit with the full fit; right: best-match Jaccard
    per cluster, with 0.5 (dissolved) and the stability line `jaccard_min` marked."""
    import seaborn as sns

    use_cjk_font()
    names = _cluster_names(summary)
    stability = stability[stability["k"] == len(summary)]
    runs = stability.drop_duplicates("run")
    frame = stability.assign(簇=stability["cluster"].map(names))
    fig = Figure(figsize=(11, 0.35 * len(names) + 2.2), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1, 2.2])
    sns.boxplot(data=runs, x="kind", y="ari", ax=left, color="#dddddd")
    sns.swarmplot(data=runs, x="kind", y="ari", ax=left, color="#4c72b0", size=4)  # no random jitter
    left.set_title("调整兰德指数 ARI vs full fit")
    left.set_xlabel("")
    left.set_ylim(min(0, runs["ari"].min() - 0.05), 1.02)
    sns.boxplot(data=frame, x="jaccard", y="簇", hue="kind", order=list(names.values()), ax=right, fliersize=2)
    for line in (0.5, jaccard_min):
        right.axvline(line, color="#c44e52", linestyle="--", linewidth=1)
    right.legend(loc="lower right", fontsize=8)
    right.set_title("每簇最佳匹配 Jaccard per cluster")
    right.set_xlim(0, 1.02)
    right.set_ylabel("")
    return fig


def plot_dispersion(kwic: pd.DataFrame, items: pd.DataFrame, themes: list[str] | None = None) -> Figure:
    """Dispersion ("x-ray") plot: one panel per theme, one row per plan, a tick at the relative
    position (item_seq / n_items, 0 = first item, 1 = last) of every mention inside a numbered item.
    Mentions in the title, preamble or section headings (no item_seq) are not drawn."""
    use_cjk_font()
    n_items = items.groupby("doc_id")["item_seq"].max()
    plans = items.drop_duplicates("doc_id").sort_values(["year", "district", "doc_id"])
    labels = dict(zip(plans["doc_id"], plan_labels(plans), strict=True))
    order = list(plans["doc_id"])
    themes = themes or list(dict.fromkeys(kwic["theme"]))
    mentions = kwic[kwic["item_seq"].notna() & kwic["doc_id"].isin(order)]
    fig = Figure(figsize=(8, 0.32 * len(order) * max(len(themes), 1) + 0.9 * max(len(themes), 1) + 0.6),
                 layout="constrained")
    axes = fig.subplots(max(len(themes), 1), 1, sharex=True, squeeze=False)[:, 0]
    for ax, theme in zip(axes, themes, strict=False):
        rows = mentions[mentions["theme"] == theme]
        y = rows["doc_id"].map({d: i for i, d in enumerate(order)})
        x = (rows["item_seq"].astype(float) - 0.5) / rows["doc_id"].map(n_items).astype(float)
        ax.scatter(x, y, marker="|", s=120, linewidths=1.2, color="#0b5cad")
        ax.set_yticks(range(len(order)), [labels[d] for d in order])
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.set_xlim(0, 1)
        ax.set_title(f"{theme}（{len(rows)} 次 mentions in items）", loc="left", fontsize=10)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    axes[-1].xaxis.set_major_formatter(PercentFormatter(1.0))
    axes[-1].set_xlabel("在计划中的位置（条目序号 / 条目数）position in the plan (item / number of items)")
    return fig


def plot_coword_network(nodes: pd.DataFrame, edges: pd.DataFrame, max_edges: int = 40, group: str = "theme",
                        strength: str = "items", legend: str = "{}") -> Figure:
    """Co-word network (analysis.views.explore.coword_edges, or coword_network with group="community",
    strength="weight"): terms as nodes coloured by `group` (legend entries `legend`.format(value))
    and sized by the items that mention them, links as wide as `strength`; the first `max_edges`
    links (the strongest). Layout: networkx spring layout with a fixed seed (same figure every run)."""
    import networkx as nx
    from matplotlib.lines import Line2D

    use_cjk_font()
    graph = nx.Graph()
    for row in nodes.itertuples():
        graph.add_node(row.term, theme=getattr(row, group), items=row.items)
    for row in edges.head(max_edges).itertuples():
        graph.add_edge(row.source, row.target, weight=getattr(row, strength))
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    fig = Figure(figsize=(8, 6.5), layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    if not graph.number_of_edges():
        ax.text(0.5, 0.5, "没有共同出现在条目中的词语 no terms share an item", ha="center", va="center")
        return fig
    position = _component_layout(graph)
    themes = list(dict.fromkeys(nodes.loc[nodes["term"].isin(list(graph)), group]))
    palette = matplotlib.colormaps["tab10"]
    colour = {theme: palette(i % 10) for i, theme in enumerate(themes)}
    weights = np.array([graph.edges[e]["weight"] for e in graph.edges], dtype=float)
    nx.draw_networkx_edges(graph, position, ax=ax, width=0.6 + 3 * weights / weights.max(), edge_color="#9aa5b1",
                           alpha=0.7)
    nx.draw_networkx_nodes(graph, position, ax=ax, node_color=[colour[graph.nodes[n]["theme"]] for n in graph],
                           node_size=[60 + 25 * graph.nodes[n]["items"] for n in graph], alpha=0.85)
    _labels(ax, fig, position)
    ax.legend(handles=[Line2D([], [], marker="o", linestyle="", color=colour[t], label=legend.format(t))
                       for t in themes], frameon=False, loc="lower right")
    return fig


def _labels(ax, fig: Figure, position: dict) -> None:
    """The node labels, pushed apart so that none overlaps another (views.labels.repel); a label
    moved off its node gets a thin line back to it."""
    from analysis.views.labels import repel

    names = list(position)
    points = np.array([position[n] for n in names], dtype=float)
    ax.autoscale_view()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    width, height = fig.get_size_inches()
    char = np.array([(x1 - x0) / (width * 72 / LABEL_POINTS), (y1 - y0) / (height * 72 / LABEL_POINTS)]) * 1.3
    sizes = np.array([[char[0] * len(n), char[1]] for n in names])
    placed = repel(points, sizes)
    for name, start, end in zip(names, points, placed, strict=True):
        if np.abs(end - start).max() > char[1] / 2:
            ax.plot(*zip(start, end, strict=True), color="#bbbbbb", linewidth=0.5)
        ax.text(*end, name, ha="center", va="center", fontsize=LABEL_POINTS, fontfamily=cjk_font())


LABEL_POINTS = 9  # network label font size


def _component_layout(graph) -> dict:
    """Each connected component laid out on its own (spring layout, fixed seed) in a cell of a
    grid, largest first, so small components neither drift off nor pile onto the large one."""
    import networkx as nx

    components = sorted((sorted(c) for c in nx.connected_components(graph)), key=lambda c: (-len(c), c))
    columns = int(np.ceil(np.sqrt(len(components))))
    position = {}
    for number, members in enumerate(components):
        sub = nx.Graph()  # nodes in sorted order: a subgraph view may follow set order (string hashing)
        sub.add_nodes_from(members)
        sub.add_edges_from(graph.subgraph(members).edges(data=True))
        local = nx.spring_layout(sub, seed=7, k=1.5 / np.sqrt(len(members)), iterations=200) if len(members) > 2 \
            else {n: np.array([i - 0.5 * (len(members) - 1), 0.0]) * 0.8 for i, n in enumerate(members)}
        scale = 0.42 * min(1.0, 0.35 + np.sqrt(len(members) / max(len(components[0]), 1)))
        centre = np.array([number % columns, -(number // columns)], dtype=float)
        position |= {n: centre + scale * np.asarray(xy) / max(1.0, np.abs(np.asarray(list(local.values()))).max())
                     for n, xy in local.items()}
    return position


def plot_top_terms(frequencies: pd.DataFrame, title: str = "") -> Figure:
    """Horizontal bars of one scope's top terms (analysis.views.explore.word_frequencies rows: term,
    count, items), the most frequent on top."""
    use_cjk_font()
    rows = frequencies.iloc[::-1]
    fig = Figure(figsize=(6, 0.28 * len(rows) + 1.0), layout="constrained")
    ax = fig.subplots()
    ax.barh(rows["term"], rows["count"], color="#4c78a8")
    ax.set_xlabel("出现次数 occurrences")
    ax.set_title(title)
    return fig


def plot_word_cloud(frequencies: dict[str, int], seed: int = 42) -> Figure:
    """A word cloud of term → count (wordcloud package, the figures' CJK font, fixed layout seed)."""
    from wordcloud import WordCloud

    cloud = WordCloud(font_path=str(font_path()), width=900, height=450, background_color="white", random_state=seed,
                      prefer_horizontal=1.0).generate_from_frequencies(frequencies)
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.imshow(cloud.to_array(), interpolation="bilinear")
    ax.set_axis_off()
    return fig


def plot_district_trajectories(trajectories: pd.DataFrame, ylabel: str, incomplete: Collection[str] = ()) -> Figure:
    """One panel per theme: each district's value by year with its interval (error bars;
    analysis.views.explore.district_trajectories); plans whose completeness is in `incomplete` hollow."""
    use_cjk_font()
    themes = list(dict.fromkeys(trajectories["theme"]))
    fig = Figure(figsize=(3.2 * max(len(themes), 1) + 1.5, 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, max(len(themes), 1), sharey=True))
    palette = matplotlib.colormaps["tab10"]
    districts = sorted(trajectories["district"].unique())
    for ax, theme in zip(axes, themes, strict=False):
        for number, district in enumerate(districts):
            rows = trajectories[(trajectories["theme"] == theme) & (trajectories["district"] == district)]
            colour = palette(number % 10)
            ax.errorbar(rows["year"], rows["value"], yerr=[rows["value"] - rows["low"], rows["high"] - rows["value"]],
                        color=colour, marker="", capsize=3, label=district)
            hollow = rows["completeness"].isin(list(incomplete))
            ax.scatter(rows["year"], rows["value"], color=colour, zorder=3, s=30,
                       facecolors=[("white" if h else colour) for h in hollow])
        ax.set_title(theme)
        ax.set_xticks(sorted(trajectories["year"].unique()))
        ax.set_xlabel("年份 year")
    axes[0].set_ylabel(ylabel)
    axes[-1].legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig
