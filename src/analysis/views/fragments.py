"""Escaped HTML for notebooks: trusted markup with escaped values, and tables without a row index."""

from __future__ import annotations

import pandas as pd

from analysis.views import evidence
from analysis.views.evidence import esc


def safe_html(template: str, **values):
    """`template` (trusted markup) with every value HTML-escaped: the way notebooks show a manifest,
    params or plan value. Never put such a value into `Markdown(…)`: Markdown turns `![](http://…)`
    into an external image and passes `<script>` through."""
    from IPython.display import HTML

    return HTML(template.format(**{name: esc(value) for name, value in values.items()}))


def table(frame: pd.DataFrame, index: bool = False, links: dict[str, pd.Series] | None = None):
    """Show a table without the meaningless 0..n row index; every cell escaped, the cells of the
    columns in `links` linked to the evidence anchors given there (`evidence.linked_table`)."""
    from IPython.display import HTML

    return HTML(evidence.linked_table(frame, links or {}, index))
