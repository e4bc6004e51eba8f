"""Figures. Chinese labels use Noto Sans CJK SC shipped by the `mplfonts` wheel (no system font)."""

from __future__ import annotations

from functools import cache
from importlib.util import find_spec
from pathlib import Path

import matplotlib
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure

from analysis.dataset import plan_labels

FONT_FILE = "NotoSansCJKsc-Regular.otf"


@cache
def cjk_font() -> str:
    """Register the packaged CJK font with matplotlib once; return its family name."""
    spec = find_spec("mplfonts")
    if spec is None or spec.origin is None:
        raise RuntimeError("the mplfonts package is missing: pip install -e . installs it")
    path = Path(spec.origin).parent / "fonts" / FONT_FILE
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


def plot_heatmap(matrix: pd.DataFrame, title: str, fmt: str = ".1f", cmap: str = "YlOrRd") -> Figure:
    """Annotated heatmap of a labelled matrix (rows and columns as given)."""
    import seaborn as sns

    use_cjk_font()
    fig = Figure(figsize=(1.1 * matrix.shape[1] + 2.5, 0.55 * matrix.shape[0] + 1.5), layout="constrained")
    ax = fig.subplots()
    sns.heatmap(matrix.astype(float), annot=True, fmt=fmt, cmap=cmap, linewidths=0.5, ax=ax, cbar=True)
    ax.set_title(title)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="x", rotation=30)
    ax.tick_params(axis="y", rotation=0)
    return fig


THEME_VALUES = {  # theme_counts column → (axis label, annotation format)
    "mentions": ("提及次数 mentions", ".0f"),
    "per_10k_chars": ("每万字提及次数 mentions per 10,000 characters", ".1f"),
    "item_share": ("提及主题的条目占比 share of items", ".0%"),
}


def plot_theme_heatmap(theme_counts: pd.DataFrame, value: str = "per_10k_chars") -> Figure:
    """Plan × theme heatmap of one column of theme_counts (themes in table order)."""
    frame = theme_counts.assign(plan=plan_labels(theme_counts))
    matrix = frame.pivot(index="plan", columns="theme", values=value)
    label, fmt = THEME_VALUES[value]
    return plot_heatmap(matrix.loc[pd.unique(frame["plan"]), pd.unique(frame["theme"])], label, fmt=fmt)


def plot_theme_bars(theme_counts: pd.DataFrame, value: str = "per_10k_chars") -> Figure:
    """Grouped bars: one group per theme, one bar per plan."""
    import seaborn as sns

    use_cjk_font()
    frame = theme_counts.assign(plan=plan_labels(theme_counts))
    fig = Figure(figsize=(1.6 * frame["theme"].nunique() + 3, 4), layout="constrained")
    ax = fig.subplots()
    sns.barplot(data=frame, x="theme", y=value, hue="plan", ax=ax, palette="Set2")
    ax.set_xlabel("")
    ax.set_ylabel(THEME_VALUES[value][0])
    ax.legend(title="", frameon=False)
    return fig


def _cluster_names(summary: pd.DataFrame) -> dict[int, str]:
    """Cluster id → "3 课后服务·培训·劳动" for axes and legends."""
    return {row.cluster: f"{row.cluster} {row.label}" for row in summary.itertuples()}


def plot_k_selection(k_selection: pd.DataFrame) -> Figure:
    """Silhouette (cosine) and inertia per k; the chosen k marked."""
    use_cjk_font()
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    chosen = k_selection[k_selection["chosen"]]
    for ax, column, title in (
        (left, "silhouette", "轮廓系数（余弦）silhouette, cosine"), (right, "inertia", "簇内平方和 inertia"),
    ):
        ax.plot(k_selection["k"], k_selection[column], marker="o", color="#4c72b0")
        ax.plot(chosen["k"], chosen[column], marker="o", markersize=12, fillstyle="none", color="#c44e52")
        ax.set_xlabel("k")
        ax.set_title(title)
        ax.set_xticks(k_selection["k"])
    left.annotate(f"k = {int(chosen['k'].iloc[0])}", (chosen["k"].iloc[0], chosen["silhouette"].iloc[0]),
                  textcoords="offset points", xytext=(-45, -4), color="#c44e52")
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
    """Heatmap of plan × plan cosine similarity."""
    return plot_heatmap(square, "整份计划 TF-IDF 余弦相似度 plan similarity", fmt=".2f", cmap="Blues")


def plot_stability(stability: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """Left: ARI of each refit run with the reference; right: Jaccard per cluster (0.5 / 0.75 marked)."""
    import seaborn as sns

    use_cjk_font()
    names = _cluster_names(summary)
    runs = stability.drop_duplicates("run")
    frame = stability.assign(簇=stability["cluster"].map(names))
    fig = Figure(figsize=(11, 0.35 * len(names) + 2.2), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1, 2.2])
    sns.boxplot(data=runs, x="kind", y="ari", ax=left, color="#dddddd")
    sns.stripplot(data=runs, x="kind", y="ari", ax=left, color="#4c72b0", size=4)
    left.set_title("调整兰德指数 ARI vs reference")
    left.set_xlabel("")
    left.set_ylim(0, 1.02)
    sns.boxplot(data=frame, x="jaccard", y="簇", hue="kind", order=list(names.values()), ax=right, fliersize=2)
    for line in (0.5, 0.75):
        right.axvline(line, color="#c44e52", linestyle="--", linewidth=1)
    right.legend(loc="lower right", fontsize=8)
    right.set_title("每簇最佳匹配 Jaccard per cluster")
    right.set_xlim(0, 1.02)
    right.set_ylabel("")
    return fig
