"""Figures. Chinese labels use Noto Sans CJK SC shipped by the `mplfonts` wheel (no system font)."""

from __future__ import annotations

from functools import cache
from importlib.util import find_spec
from pathlib import Path

import matplotlib
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure

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


def plan_labels(frame: pd.DataFrame) -> pd.Series:
    """"杨浦 2024" for every row of a table with district and year."""
    return frame["district"] + " " + frame["year"].astype(str)


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
