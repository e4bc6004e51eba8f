"""Exploration features: the embedded CJK font of every page, any-term KWIC, the Excel workbook."""

from __future__ import annotations

import base64
import io
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis.paths import Paths
from analysis.publish.fonts import FAMILY, page_characters
from analysis.publish.pages import render_page
from support import cli

MANIFEST = {"digest": "abc", "git_commit": "1234567", "python": "3.11", "packages": {"analysis": "0"},
            "params": {}, "inputs": {}}
FONT_FACE = re.compile(r"@font-face \{[^}]*url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)")


def embedded_font(page: str):
    from fontTools.ttLib import TTFont

    match = FONT_FACE.search(page)
    assert match, "no @font-face with a data: URI"
    return TTFont(io.BytesIO(base64.b64decode(match.group(1))))


def cjk_text(page: str) -> set[str]:
    """The CJK characters (and full-width punctuation) of a page's text, title and alt texts."""
    return {c for c in page_characters(page) if "\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef"}


def test_page_embeds_the_glyphs_it_uses() -> None:
    body = "<h2>教育工作要点</h2><p>落实“双减”，推进思政课①。</p><img src='data:image/png;base64,AA' alt='图 甲'>"
    page = render_page("测试页 title", body, MANIFEST, depth=0)
    cmap = embedded_font(page).getBestCmap()
    assert cjk_text(page) and cjk_text(page) <= {chr(c) for c in cmap}
    assert {"图", "甲", "测", "录"} <= {chr(c) for c in cmap}  # alt text, title, template (目录)
    assert "乙" not in {chr(c) for c in cmap} and "A" not in {chr(c) for c in cmap}  # only what is used
    assert f'"{FAMILY}"' in page.split("</style>")[0].split("font-family:", 2)[-1] or FAMILY in page
    assert render_page("测试页 title", body, MANIFEST, depth=0) == page  # deterministic


def test_ascii_page_has_no_font_face() -> None:
    from analysis.publish.fonts import font_face_css

    assert font_face_css("<p>plain</p>") == ""


def test_published_pages_cover_their_text(published: Paths) -> None:
    pages = [published.reports / "index.html", published.reports / "comparison.html",
             *sorted((published.reports / "districts").glob("*.html"))[:1]]
    for path in pages:
        page = path.read_text(encoding="utf-8")
        missing = cjk_text(page) - {chr(c) for c in embedded_font(page).getBestCmap()}
        assert not missing, f"{path.name}: {''.join(sorted(missing))[:40]}"


@pytest.mark.skipif(not shutil.which("chromium"), reason="chromium not installed")
def test_chromium_without_fonts_draws_the_embedded_glyphs(tmp_path: Path) -> None:
    """Headless Chromium whose fontconfig knows only Latin fonts (DejaVu): the page with its
    @font-face renders differently from the same page without it (boxes instead of glyphs)."""
    import subprocess

    from PIL import Image, ImageChops

    latin = Path("/usr/share/fonts/truetype/dejavu")
    if not latin.is_dir():
        pytest.skip("no DejaVu fonts to stand for a machine without Chinese fonts")
    (tmp_path / "fonts.conf").write_text(f"<fontconfig><dir>{latin}</dir>"
                                         f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>", encoding="utf-8")
    body = "<h1>教育工作要点</h1><p>落实立德树人根本任务，推进教育数字化转型。</p>"
    page = render_page("字体", body, MANIFEST, depth=0)
    without = re.sub(r"@font-face \{[^}]*\}", "", page)
    shots = []
    for name, html in (("with", page), ("without", without)):
        (tmp_path / f"{name}.html").write_text(html, encoding="utf-8")
        shot = tmp_path / f"{name}.png"
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        f"--user-data-dir={tmp_path / name}-profile", "--window-size=800,400",
                        f"--screenshot={shot}", (tmp_path / f"{name}.html").as_uri()],
                       capture_output=True, timeout=120, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin",
                                                              "FONTCONFIG_FILE": str(tmp_path / "fonts.conf")})
        shots.append(Image.open(shot).convert("L"))
    assert ImageChops.difference(*shots).getbbox() is not None


# --- any-term KWIC


@pytest.fixture(scope="module")
def explored(published: Paths, tmp_path_factory) -> Paths:
    root = tmp_path_factory.mktemp("explore") / "project"
    shutil.copytree(published.root, root, symlinks=True)
    return Paths(root)


@pytest.mark.parametrize("terms", [["学校"], ["家校", "协同"], ["ＡＩ"], ["不存在的词语"]])
def test_kwic_counts_equal_a_literal_count(explored: Paths, terms: list[str]) -> None:
    result = cli("--root", str(explored.root), "kwic", *terms, "--window", "8")
    assert result.returncode == 0, result.stderr
    from analysis.publish.kwic import query_name
    from analysis.views.explore import normalise_term

    wanted = [normalise_term(t) for t in terms]
    frame = pd.read_csv(explored.reports / "kwic" / f"{query_name(wanted)}.csv", encoding="utf-8-sig")
    for doc_id in ("yangpu_2024", "zhoushan_2024"):
        text = (explored.clean / f"{doc_id}.txt").read_text(encoding="utf-8")
        for term in wanted:
            assert ((frame["doc_id"] == doc_id) & (frame["term"] == term)).sum() == text.count(term)
    for row in frame.itertuples():
        text = (explored.clean / f"{row.doc_id}.txt").read_text(encoding="utf-8")
        assert text[row.start:row.start + len(row.match)] == row.match
    assert f"{wanted[0]} " in result.stdout and "wrote" in result.stdout
    page = (explored.reports / "kwic" / f"{query_name(wanted)}.html").read_text(encoding="utf-8")
    assert "@font-face" in page and not re.search(r"(?:src|href)=['\"]?(?:https?:)?//", page)


def test_kwic_locations_match_the_lexicon_kwic(explored: Paths) -> None:
    """For a lexicon term, the any-term KWIC places each mention where kwic.csv does."""
    from analysis.views.data import load_report_data
    from analysis.views.explore import concordance

    data = load_report_data(explored.root)
    lexicon = data.kwic.drop_duplicates(["doc_id", "start"])
    term = lexicon["term"].value_counts().index[0]
    ours = concordance(data, [term]).set_index(["doc_id", "start"])
    theirs = lexicon[lexicon["term"] == term].set_index(["doc_id", "start"])
    common = theirs.index.intersection(ours.index)
    assert len(common) == len(theirs)
    for column in ("where", "item_seq", "section_no"):
        assert ours.loc[common, column].astype(str).tolist() == theirs.loc[common, column].astype(str).tolist()
    assert ours["location"].str.len().gt(0).all()


def test_kwic_refuses_unknown_plans_and_empty_terms(explored: Paths) -> None:
    result = cli("--root", str(explored.root), "kwic", "学校", "--plans", "nowhere_2024")
    assert result.returncode == 2 and "nowhere_2024" in result.stderr
    result = cli("--root", str(explored.root), "kwic", " ")
    assert result.returncode == 2 and "term" in result.stderr


# --- Excel workbook


def test_run_writes_the_workbook(published: Paths) -> None:
    """reports/tables.xlsx: every processed CSV one sheet, header frozen, listed in the run manifest."""
    import json

    from openpyxl import load_workbook

    path = published.reports / "tables.xlsx"
    book = load_workbook(path, read_only=False)
    tables = sorted(p.stem for p in published.processed.glob("*.csv"))
    assert sorted(book.sheetnames) == tables
    items = book["items"]
    assert items.freeze_panes == "A2"
    assert [c.value for c in items[1]] == list(pd.read_csv(published.processed / "items.csv",
                                                           encoding="utf-8-sig", nrows=0).columns)
    assert items.max_row == len(pd.read_csv(published.processed / "items.csv", encoding="utf-8-sig")) + 1
    assert 6 <= items.column_dimensions["H"].width <= 60
    manifest = json.loads((published.reports / "run_manifest.json").read_text(encoding="utf-8"))
    assert "tables.xlsx" in manifest["pages"]


def test_workbook_is_deterministic_and_keeps_text_as_text(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from analysis.publish.workbook import workbook_bytes

    frame = pd.DataFrame({"文本 text": ["=1+1", "双减", None], "n": [1, 2, 3]})
    first = workbook_bytes({"t": frame})
    assert first == workbook_bytes({"t": frame})
    (tmp_path / "t.xlsx").write_bytes(first)
    sheet = load_workbook(tmp_path / "t.xlsx")["t"]
    assert sheet["A2"].value == "=1+1" and sheet["A2"].data_type == "s" and sheet["B4"].value == 3


# --- dispersion, co-word network, trends

KWIC = pd.DataFrame({
    "doc_id": ["a", "a", "a", "a", "b", "b"], "theme": ["T1", "T1", "T2", "T1", "T1", "T2"],
    "term": ["甲", "乙", "丙", "甲", "甲", "丙"], "item_seq": [1, 1, 1, 3, 2, None],
})


def test_coword_edges_count_items_that_share_terms() -> None:
    from analysis.views.explore import coword_edges

    nodes, edges = coword_edges(KWIC, min_items=1)
    assert dict(zip(nodes["term"], nodes["items"], strict=True)) == {"乙": 1, "甲": 3, "丙": 1}
    assert {(r.source, r.target, r.items) for r in edges.itertuples()} == {("丙", "乙", 1), ("丙", "甲", 1),
                                                                             ("乙", "甲", 1)}
    nodes, edges = coword_edges(KWIC, min_items=2)
    assert list(nodes["term"]) == ["甲"] and edges.empty


def test_trends_stay_within_a_district_with_intervals() -> None:
    """Issue 21 §3: a 2017 plan is compared with its own district's later plan only, never with other
    districts' medians; the intervals say whether the change is more than item sampling."""
    from analysis.views.explore import district_changes, district_trajectories

    counts = pd.DataFrame({
        "doc_id": ["m17", "m24", "y24", "z24", "m17"], "district": ["闵行", "闵行", "杨浦", "舟山", "闵行"],
        "year": [2017, 2024, 2024, 2024, 2017], "theme": ["T", "T", "T", "T", "U"],
        "applicable": [True, True, True, True, False], "per_10k_chars": [10.0, 2.0, 50.0, 60.0, 5.0],
        "per_10k_low": [6.0, 1.0, 40.0, 45.0, None], "per_10k_high": [14.0, 3.0, 60.0, 75.0, None]})
    documents = pd.DataFrame({"doc_id": ["m17", "m24", "y24", "z24"], "district": ["闵行", "闵行", "杨浦", "舟山"],
                              "year": [2017, 2024, 2024, 2024], "completeness": "complete"})
    changes = district_changes(district_trajectories(counts, documents))
    assert changes.to_dict("records") == [{
        "district": "闵行", "theme": "T", "from_year": 2017, "to_year": 2024, "before": "10.0 [6.0, 14.0]",
        "after": "2.0 [1.0, 3.0]", "change": -8.0, "overlap": False}]  # U is n/a in 2017: no row
    wide = counts.assign(per_10k_high=[14.0, 7.0, 60.0, 75.0, None])
    assert district_changes(district_trajectories(wide, documents))["overlap"].tolist() == [True]


def test_exploration_figures_draw(published: Paths) -> None:
    from analysis.files import read_csv
    from analysis.views.explore import coword_edges
    from analysis.views.plots import plot_coword_network, plot_dispersion

    kwic, items = read_csv(published.processed / "kwic.csv"), read_csv(published.processed / "items.csv")
    fig = plot_dispersion(kwic, items)
    assert len(fig.axes) == kwic["theme"].nunique()
    assert plot_coword_network(*coword_edges(kwic)).axes


def test_a_table_too_long_for_a_sheet_is_named_in_the_readme_sheet(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from analysis.files import write_csv_atomic
    from analysis.publish.workbook import write_workbook

    write_csv_atomic(tmp_path / "small.csv", pd.DataFrame({"a": [1, 2]}))
    write_csv_atomic(tmp_path / "pairs.csv", pd.DataFrame({"a": range(11)}))
    book = load_workbook(write_workbook(tmp_path, tmp_path / "t.xlsx", max_rows=10))
    assert book.sheetnames == ["README", "small"]
    assert [c.value for c in book["README"][2]] == ["pairs", 11, "more than 10 rows: open data/processed/pairs.csv"]
