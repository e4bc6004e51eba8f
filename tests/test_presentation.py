"""Presentation (issue 21 §4): one table formatter, label placement, the similarity colour scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
from bs4 import BeautifulSoup

from analysis.views.fragments import table
from analysis.views.labels import overlaps, repel
from analysis.views.tableformat import format_frame, header, interval, number, rank


def test_one_formatter_for_percents_intervals_counts_and_headers():
    frame = pd.DataFrame({
        "plan": ["杨浦 2024", "城中 2024"], "codes": [6.0, 12.0], "share": [0.23199999999999998, 0.5],
        "share_low": [0.1, np.nan], "others_median": [0.4625, 0.0], "q": [0.000123456, 0.5],
        "silhouette": [0.046436, 0.23199999999999998], "stable": [True, False], "G²": [12.3456, 1.0],
    })
    shown = format_frame(frame)
    assert list(shown.columns) == ["计划 plan", "编码数 codes", "占比 share", "区间下限 share_low",
                                   "其他完整计划中位数 others_median", "q", "轮廓系数 silhouette", "稳定 stable", "G²"]
    assert shown.iloc[0].tolist() == ["杨浦 2024", "6", "23.2%", "10.0%", "46.2%", "0.00012", "0.046", "是 yes",
                                      "12.346"]
    assert shown.iloc[1].tolist() == ["城中 2024", "12", "50.0%", "—", "0.0%", "0.5", "0.232", "否 no", "1"]
    assert interval(0.0, 0.0, 0.19506, as_percent=True) == "0.0% [0.0%, 19.5%]"
    assert interval(19.274, 0.0, 58.66) == "19.3 [0.0, 58.7]" and interval(3.0, np.nan, np.nan) == "3.0"
    assert number(0.1 + 0.2) == "0.3" and number(6.0) == "6" and number(np.nan) == "—"
    assert rank(1, 1, 4) == "1/4" and rank(1, 3, 4) == "1–3/4（区间重叠，并列 tied）"
    assert header(("mentions", "双减")) == "提及 mentions · 双减" and header("κ") == "κ"


def test_a_table_shows_its_labelled_index_as_columns_and_keeps_links():
    matrix = pd.DataFrame({"思政": [3, 4], "双减": ["n/a", 7]}, index=pd.Index(["闵行 2017", "杨浦 2024"], name="plan"))
    links = {"思政": pd.Series(["a", "b"], index=matrix.index), "双减": pd.Series(["", "d"], index=matrix.index)}
    soup = BeautifulSoup(table(matrix, index=True, links=links).data, "html.parser")
    assert [th.get_text() for th in soup.find_all("th")] == ["计划 plan", "思政", "双减"]
    rows = [[td.decode_contents() for td in tr.find_all("td")] for tr in soup.find("tbody").find_all("tr")]
    assert rows == [["闵行 2017", '<a href="#a">3</a>', "n/a"],
                    ["杨浦 2024", '<a href="#b">4</a>', '<a href="#d">7</a>']]


def test_repel_separates_every_label_deterministically():
    centres = np.array([[0.0, 0.0], [0.1, 0.0], [0.05, 0.02], [3.0, 3.0], [0.0, 0.0]])
    sizes = np.array([[1.0, 0.3]] * 5)
    assert overlaps(centres, sizes).sum() == 2 * 6  # the four labels near the origin all overlap
    placed = repel(centres, sizes)
    assert not overlaps(placed, sizes).any()
    assert np.array_equal(placed, repel(centres, sizes))
    assert np.array_equal(placed[3], centres[3])  # a label that overlapped nothing stays


def test_the_similarity_scale_is_set_by_pairs_of_different_plans():
    from analysis.views.plots import plot_similarity

    square = pd.DataFrame([[1.0, 0.30, 0.25], [0.30, 1.0, 0.33], [0.25, 0.33, 1.0]],
                          index=list("abc"), columns=list("abc"))
    fig = plot_similarity(square)
    mesh = fig.axes[0].collections[0]
    assert mesh.get_clim() == (0.25, 0.33)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("—") == 3 and "1.00" not in texts


def test_the_seed_network_labels_do_not_overlap(corpus, paths):
    from analysis.params import load_params
    from analysis.stages.themes import build_themes
    from analysis.views.explore import coword_edges
    from analysis.views.plots import plot_coword_network

    kwic = build_themes(corpus, load_params(paths.params)).kwic
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = plot_coword_network(*coword_edges(kwic))
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts]
    assert len(boxes) > 10
    crossing = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]
    assert not crossing
