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
        length=items["text"].str.len(), plan=items["district"] + " " + items["year"].astype(str)
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
