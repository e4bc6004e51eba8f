"""Figures of the exploratory analyses: CA biplot with repelled CJK labels, dendrograms, keyness bars, topic shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis.views.plots import use_cjk_font
from analysis.views.tableformat import percent

PLAN_COLOUR, TERM_COLOUR = "#b2182b", "#2166ac"


def _renderer(fig: Figure):
    """An Agg renderer of `fig` (its layout done), to measure text in display pixels."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    return canvas.get_renderer()


def _boxes(fig: Figure, texts: list) -> list:
    renderer = _renderer(fig)
    return [t.get_window_extent(renderer) for t in texts]


def overlapping_labels(fig: Figure) -> list[tuple[str, str]]:
    """Pairs of text labels drawn inside the axes of `fig` whose boxes overlap (display pixels)."""
    texts = [t for ax in fig.axes for t in ax.texts if t.get_text()]
    boxes = _boxes(fig, texts)
    return [(texts[i].get_text(), texts[j].get_text()) for i in range(len(texts)) for j in range(i + 1, len(texts))
            if boxes[i].overlaps(boxes[j])]


def repel_labels(fig: Figure, ax, texts: list, iterations: int = 300, pad: float = 2.0) -> None:
    """Move overlapping labels apart (a small label-repel step, in display pixels): each overlapping
    pair is pushed apart along the line between their centres (vertically when they coincide) by
    half the overlap, until none overlap or `iterations` rounds have run. Deterministic."""
    FigureCanvasAgg(fig).draw()  # the constrained layout fixes the axes before anything is measured
    to_data = ax.transData.inverted()
    for _ in range(iterations):
        boxes = _boxes(fig, texts)
        moved = False
        shift = np.zeros((len(texts), 2))
        for i in range(len(texts)):
            for j in range(i + 1, len(texts)):
                a, b = boxes[i], boxes[j]
                dx = min(a.x1, b.x1) - max(a.x0, b.x0) + pad
                dy = min(a.y1, b.y1) - max(a.y0, b.y0) + pad
                if dx <= pad or dy <= pad:
                    continue
                direction = np.array([(b.x0 + b.x1) - (a.x0 + a.x1), (b.y0 + b.y1) - (a.y0 + a.y1)], dtype=float)
                if not direction.any():
                    direction = np.array([0.0, 1.0])
                step = (np.array([dx, 0.0]) if dx < dy else np.array([0.0, dy])) / 2 + 0.5
                step = step * np.sign(np.where(direction == 0, 1, direction))
                shift[i] -= step
                shift[j] += step
                moved = True
        if not moved:
            return
        for text, (sx, sy) in zip(texts, shift, strict=True):
            x, y = ax.transData.transform(text.get_position())
            text.set_position(to_data.transform((x + sx, y + sy)))


def plot_ca_biplot(points: pd.DataFrame, inertia: pd.DataFrame, names: dict[str, str], title: str) -> Figure:
    """Symmetric CA map of one analysis: plans (red, with a circle of their bootstrap spread) and
    columns (blue), labels repelled so that none overlap; axes give each dimension's inertia share."""
    use_cjk_font()
    fig = Figure(figsize=(9, 7), layout="constrained")
    ax = fig.subplots()
    plans, columns = points[points["kind"] == "plan"], points[points["kind"] == "column"]
    ax.scatter(columns["x"], columns["y"], s=12, color=TERM_COLOUR, alpha=0.7)
    ax.scatter(plans["x"], plans["y"], s=36, color=PLAN_COLOUR, marker="s")
    for row in plans.itertuples():
        if pd.notna(row.spread):
            ax.add_patch(matplotlib_circle((row.x, row.y), row.spread))
    texts = [ax.text(r.x, r.y, names.get(r.label, r.label), fontsize=8, color=TERM_COLOUR)
             for r in columns.itertuples()]
    texts += [ax.text(r.x, r.y, names.get(r.label, r.label), fontsize=10, color=PLAN_COLOUR)
              for r in plans.itertuples()]
    share = dict(zip(inertia["dim"], inertia["share"], strict=True))
    ax.axhline(0, color="#999999", lw=0.5)
    ax.axvline(0, color="#999999", lw=0.5)
    ax.set_xlabel(f"维度 1 dimension 1（{share.get(1, 0):.1%} 惯量 inertia）")
    ax.set_ylabel(f"维度 2 dimension 2（{share.get(2, 0):.1%}）")
    ax.set_title(title)
    x = pd.concat([points["x"] - points["spread"].fillna(0), points["x"] + points["spread"].fillna(0)])
    y = pd.concat([points["y"] - points["spread"].fillna(0), points["y"] + points["spread"].fillna(0)])
    margin = 0.15 * max(np.ptp(x), np.ptp(y), 1e-6)
    ax.set_xlim(x.min() - margin, x.max() + margin)
    ax.set_ylim(y.min() - margin, y.max() + margin)
    repel_labels(fig, ax, texts)
    return fig


def matplotlib_circle(centre: tuple[float, float], radius: float):
    from matplotlib.patches import Circle

    return Circle(centre, radius, fill=False, color=PLAN_COLOUR, alpha=0.4, lw=1, ls="--")


def linkage_of(nodes: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """(scipy linkage matrix, leaf labels) of one tree of tree_nodes.csv."""
    leaves = nodes[nodes["left"] < 0].sort_values("node")
    merges = nodes[nodes["left"] >= 0].sort_values("node")
    matrix = merges[["left", "right", "height", "size"]].to_numpy(dtype=float)
    return matrix, leaves["label"].tolist()


def plot_dendrogram(nodes: pd.DataFrame, names: dict[str, str], title: str, keep_share: float) -> Figure:
    """A dendrogram (leaves on the left, one row each) of one tree; a merge whose cluster survives
    item resampling in at least `keep_share` of the replicates is drawn with its support."""
    from scipy.cluster.hierarchy import dendrogram

    use_cjk_font()
    matrix, labels = linkage_of(nodes)
    fig = Figure(figsize=(8, 0.28 * len(labels) + 1.4), layout="constrained")
    ax = fig.subplots()
    shown = dendrogram(matrix, labels=[names.get(label, label) for label in labels], orientation="left", ax=ax,
                       color_threshold=0, above_threshold_color="#555555", leaf_font_size=9)
    merges = nodes[nodes["left"] >= 0].sort_values("node")
    heights = dict(zip(merges["height"].round(6), merges["support"], strict=True))
    for xs, ys in zip(shown["dcoord"], shown["icoord"], strict=True):
        support = heights.get(round(xs[1], 6))
        if support is not None and support >= keep_share:
            ax.text(xs[1], (ys[1] + ys[2]) / 2, percent(support), fontsize=7, va="center", ha="left", color="#b2182b")
    ax.set_xlabel("距离 distance（红字：重抽样中保留的比例 red: share of resamples keeping the merge）")
    ax.set_title(title)
    return fig


def plot_keyness(rows: pd.DataFrame, plan: str, n: int) -> Figure:
    """quanteda textplot_keyness style: the `n` key terms with the largest G² used more by the plan
    (bars to the right) and the `n` used more by the reference (to the left), G² signed by
    direction (dark: key — significant and dispersed; pale: not); each bar labelled with q and the
    items holding the term."""
    use_cjk_font()
    more = rows[(rows["log_ratio"] > 0)].nlargest(n, "g2")
    less = rows[(rows["log_ratio"] < 0)].nlargest(n, "g2")
    shown = pd.concat([more, less]).assign(signed=lambda f: np.where(f["log_ratio"] > 0, f["g2"], -f["g2"]))
    shown = shown.sort_values(["signed", "term"], ignore_index=True)
    fig = Figure(figsize=(8, 0.32 * max(len(shown), 2) + 1.3), layout="constrained")
    ax = fig.subplots()
    key = shown["key"].astype(bool)
    colours = np.where(shown["signed"] > 0, np.where(key, PLAN_COLOUR, "#f4a582"), np.where(key, "#4d4d4d", "#cccccc"))
    ax.barh(range(len(shown)), shown["signed"], color=colours)
    ax.set_yticks(range(len(shown)), shown["term"].tolist(), fontsize=9)
    for at, row in shown.iterrows():
        side = "left" if row["signed"] > 0 else "right"
        ax.text(row["signed"], at, f" q={row['q']:.2g} · {row['n_items']}/{row['items']} 条目 ",
                va="center", ha=side, fontsize=7)
    ax.axvline(0, color="#333333", lw=0.6)
    limit = max(float(shown["g2"].max()) if len(shown) else 1.0, 1.0) * 1.6
    ax.set_xlim(-limit, limit)
    ax.set_xlabel(f"G²（右：{plan} 多用 right: more in the plan；左：参照多用 left: more in the reference）")
    return fig


def plot_topic_shares(shares: pd.DataFrame, names: dict[str, str], labels: dict[int, str]) -> Figure:
    """Per plan, each topic's share of its items with the bootstrap interval (one panel per topic)."""
    use_cjk_font()
    topics = sorted(shares["topic"].unique())
    fig = Figure(figsize=(3.2 * len(topics), 0.35 * shares["doc_id"].nunique() + 1.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(topics), sharey=True))
    for ax, topic in zip(axes, topics, strict=True):
        rows = shares[shares["topic"] == topic].sort_values("doc_id", ignore_index=True)
        errors = [rows["share"] - rows["share_low"], rows["share_high"] - rows["share"]]
        ax.errorbar(rows["share"], range(len(rows)), xerr=errors, fmt="o", color=TERM_COLOUR)
        ax.set_yticks(range(len(rows)), [names.get(d, d) for d in rows["doc_id"]])
        ax.set_title(f"{topic}: {labels.get(topic, '')}", fontsize=9)
        ax.set_xlim(0, 1)
    fig.supxlabel("条目主题权重的平均 mean topic weight of the plan's items（线：条目自助法区间 bootstrap interval）")
    return fig
