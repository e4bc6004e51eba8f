"""Where the CJK font is: Noto Sans CJK SC as the mplfonts package bundles it (figures and pages use it)."""

from __future__ import annotations

from functools import cache
from importlib.util import find_spec
from pathlib import Path

FONT_FILE = "NotoSansCJKsc-Regular.otf"


@cache
def font_path() -> Path:
    """The font file; RuntimeError when mplfonts is not installed."""
    spec = find_spec("mplfonts")
    if spec is None or spec.origin is None:
        raise RuntimeError("the mplfonts package is missing: pip install -e . installs it")
    return Path(spec.origin).parent / "fonts" / FONT_FILE
