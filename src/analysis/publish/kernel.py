"""Run inside a warm report kernel between two notebooks (analysis.publish.runner): the next notebook starts
as in a fresh kernel, except that imported modules and the snapshot's tables stay loaded."""

from __future__ import annotations

import gc
import warnings

_rc: dict | None = None  # matplotlib settings of the fresh kernel, before its first notebook


def reset() -> None:
    """Clear the user namespace and history, pandas options, matplotlib settings and figures; then
    move what stays loaded (modules, the snapshot's tables, caches) out of the garbage collector's
    sight (`gc.freeze`): IPython's reset runs two full collections, which otherwise walk the whole
    heap of pandas, matplotlib and the tables for every page. Only what a page leaves is collected."""
    import matplotlib
    import matplotlib.pyplot as plt
    import pandas as pd
    from IPython import get_ipython

    global _rc
    plt.close("all")  # before the collections: a closed figure is garbage with cycles
    get_ipython().run_line_magic("reset", "-f")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd.reset_option("all")
    if _rc is None:
        _rc = matplotlib.rcParams.copy()
    matplotlib.rcParams.update(_rc)
    gc.freeze()
