"""What pages reuse from one page to the next: the font subset cached by character set, the params a
report kernel validated once; and that the cheaper subsetter draws the same glyphs."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from fontTools.pens.recordingPen import RecordingPen
from fontTools.ttLib import TTFont

from analysis.publish.fonts import KEEP_NAMES, subset_woff
from analysis.views.data import kernel_params
from analysis.views.font import font_path

ROOT = Path(__file__).resolve().parents[1]


def characters(woff: bytes) -> set[str]:
    return {chr(code) for code in TTFont(io.BytesIO(woff)).getBestCmap()}


def outlines(font: TTFont) -> dict[str, tuple]:
    """Each character's glyph as drawn (pen operations) with its advance width."""
    glyphs, found = font.getGlyphSet(), {}
    for code, name in font.getBestCmap().items():
        pen = RecordingPen()
        glyphs[name].draw(pen)
        found[chr(code)] = (tuple(pen.value), glyphs[name].width)
    return found


def test_font_subset_is_cached_by_character_set() -> None:
    subset_woff.cache_clear()
    first = subset_woff("教育，甲")
    assert characters(first) == set("教育，甲")  # exactly the page's characters
    assert subset_woff("教育，甲") is first and subset_woff.cache_info().hits == 1
    changed = subset_woff("教育，乙")  # another page: another subset, with its own glyphs
    assert characters(changed) == set("教育，乙") and changed != first
    subset_woff.cache_clear()
    assert subset_woff("教育，甲") == first  # rebuilt from nothing: the same bytes
    assert characters(subset_woff("教\U0010fffd")) == {"教"}  # a character the font lacks is left out


def test_font_subset_draws_what_the_full_font_draws() -> None:
    """hb-subset keeps the glyph outlines and widths of fontTools' subsetter (what pages used before)
    and the licence names."""
    from fontTools import subset

    options = subset.Options()
    options.layout_features, options.hinting, options.notdef_outline, options.name_IDs = [], False, True, KEEP_NAMES
    reference = TTFont(font_path(), recalcTimestamp=False, recalcBBoxes=False, lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in "教育，①"])
    subsetter.subset(reference)
    ours = TTFont(io.BytesIO(subset_woff("教育，①")))
    assert outlines(ours) == outlines(reference) and len(outlines(ours)) == 4
    assert sorted({n.nameID for n in ours["name"].names}) == KEEP_NAMES


def test_kernel_params_are_loaded_once_until_a_file_changes(tmp_path: Path) -> None:
    folder = shutil.copytree(ROOT / "params", tmp_path / "params")
    first = kernel_params(folder)
    assert kernel_params(folder) is first
    report = folder / "report.yaml"
    report.write_text(report.read_text(encoding="utf-8").replace("cell_timeout: 300", "cell_timeout: 299"),
                      encoding="utf-8")
    changed = kernel_params(folder)
    assert changed is not first and changed.report.cell_timeout == 299 and first.report.cell_timeout == 300
