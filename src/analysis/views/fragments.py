"""Escaped HTML for notebooks: trusted markup with escaped values, and tables without a row index."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

import pandas as pd

from analysis.views import evidence
from analysis.views.evidence import esc
from analysis.views.tableformat import format_frame, header


def safe_html(template: str, **values):
    """`template` (trusted markup) with every value HTML-escaped: the way notebooks show a manifest,
    params or plan value. Never put such a value into `Markdown(…)`: Markdown turns `![](http://…)`
    into an external image and passes `<script>` through."""
    from IPython.display import HTML

    return HTML(template.format(**{name: esc(value) for name, value in values.items()}))


def table(frame: pd.DataFrame, index: bool = False, links: dict[str, pd.Series] | None = None):
    """Show a table formatted by the one formatter (`tableformat.format_frame`: bilingual headers,
    percents with one decimal, integer counts, no float noise; a labelled index shown as columns,
    never the meaningless 0..n); every cell escaped, the cells of the columns in `links` linked to
    the evidence anchors given there (same index as `frame`; `evidence.linked_table`)."""
    from IPython.display import HTML

    shown = format_frame(frame, index)
    targets = {header(column): pd.Series(found.reindex(frame.index).to_numpy(), index=shown.index)
               for column, found in (links or {}).items()}
    return HTML(evidence.linked_table(shown, targets))


def as_tables(section: Callable[..., list]) -> Callable[..., list]:
    """A page section whose DataFrames are shown through `table` (so every table of a page has the
    one format), whatever else it returns left as it is."""

    @wraps(section)
    def shown(*args, **kwargs) -> list:
        found = section(*args, **kwargs)
        return [table(item) if isinstance(item, pd.DataFrame) else item for item in found]

    return shown
