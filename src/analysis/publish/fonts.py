"""The CJK font a page carries inside itself: a subset of the Noto Sans CJK SC font that the mplfonts
package bundles (the one the figures use), holding only the glyphs the page shows, as an @font-face
with a data: URI — so a page reads right on a computer without any Chinese font."""

from __future__ import annotations

import base64
import html
import io
from functools import cache, lru_cache

from analysis.views.font import font_path

FAMILY = "Embedded Noto Sans CJK SC"  # the @font-face family name style.css lists
KEEP_NAMES = [0, 1, 2, 13, 14]  # copyright, family, subfamily, license (SIL OFL) and its URL


def page_characters(page: str) -> str:
    """The characters of a page the embedded font is for: every non-ASCII character of its text,
    attributes (alt, title) and entities included, sorted (ASCII is left to the Latin fonts)."""
    return "".join(sorted({c for c in html.unescape(page) if ord(c) > 127 and not c.isspace()}))


@cache
def _face():
    """The CJK font, parsed once per process (harfbuzz reads its tables in place, on demand)."""
    import uharfbuzz as hb

    return hb.Face(hb.Blob.from_file_path(str(font_path())))


@lru_cache(maxsize=64)
def subset_woff(characters: str) -> bytes:
    """A WOFF font with the glyphs of `characters` the CJK font has (no hinting, no layout
    features), cut by harfbuzz's hb-subset (tens of milliseconds for a page's 1,000 characters, where
    fontTools' subsetter took seconds; the glyph outlines are the same). Deterministic: same
    characters, same bytes (head.modified kept as in the source)."""
    import uharfbuzz as hb
    from fontTools.ttLib import TTFont

    wanted = hb.SubsetInput()
    wanted.sets(hb.SubsetInputSets.UNICODE).update(ord(c) for c in characters)
    names = wanted.sets(hb.SubsetInputSets.NAME_ID)
    names.clear()
    names.update(KEEP_NAMES)
    wanted.sets(hb.SubsetInputSets.LAYOUT_FEATURE_TAG).clear()
    wanted.flags = hb.SubsetFlags.NO_HINTING | hb.SubsetFlags.NOTDEF_OUTLINE
    font = TTFont(io.BytesIO(hb.subset(_face(), wanted).blob.data), recalcTimestamp=False, recalcBBoxes=False)
    font.flavor = "woff"  # zlib; woff2 would need brotli
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def font_face_css(page: str) -> str:
    """The @font-face rule embedding the glyphs `page` uses ("" when it uses no non-ASCII character)."""
    characters = page_characters(page)
    if not characters:
        return ""
    data = base64.b64encode(subset_woff(characters)).decode("ascii")
    return (f'@font-face {{ font-family: "{FAMILY}"; font-style: normal; font-weight: 400 700; '
            f'font-display: swap; src: url(data:font/woff;base64,{data}) format("woff"); }}')
