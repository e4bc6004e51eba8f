"""Many plans at once: clean → structure → tokenise items → count themes, in parallel (joblib).

Each worker process loads the rules, the lexicon and the segmenter once (cached per process)
and receives the plans in chunks, so process start-up, dictionary loading and pickling are paid
per worker and per chunk, never per plan. Any joblib backend works: "loky" (processes, the
default; a fresh worker spends about 2 s importing and loading the jieba dictionary, then is
reused by later calls), "multiprocessing" (on Linux, workers forked from this process, which
loads everything first, so they start with nothing to load; avoid it in a process that runs
threads), or "dask" inside `joblib.parallel_config` with a dask.distributed Client.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs

from analysis.corpus.clean import CleanRules, clean_plan
from analysis.corpus.structure import StructureRules, parse_plan
from analysis.stages.dataset import n_chars
from analysis.stages.themes import Lexicon, load_lexicon, theme_hits
from analysis.text.tokenize import Segmenter, clear_segmentations, load_segmenter

PLAN_COLUMNS = ["title", "numbering", "n_chars", "n_sections", "n_items", "n_tokens"]
CHUNKS_PER_WORKER = 8  # enough to balance the last chunks, few enough to amortise dispatch


@dataclass(frozen=True)
class Resources:
    """Everything processing a plan needs, loaded from params/."""

    clean: CleanRules
    structure: StructureRules
    segmenter: Segmenter
    lexicon: Lexicon


@cache
def load_resources(params_dir: Path) -> Resources:
    """Rules, segmenter and lexicon of `params_dir`, loaded once per process."""
    return Resources(
        clean=CleanRules.from_yaml(params_dir / "clean.yaml"),
        structure=StructureRules.from_yaml(params_dir / "structure.yaml"),
        segmenter=load_segmenter(params_dir),
        lexicon=load_lexicon(params_dir / "themes.yaml"),
    )


def process_plan(text: str, resources: Resources) -> dict:
    """One raw plan → its title, numbering, sizes, content tokens of its items and theme mentions."""
    cleaned = clean_plan(text, resources.clean)
    structure = parse_plan(cleaned.text, resources.structure)
    return {
        "title": structure.title,
        "numbering": structure.numbering,
        "n_chars": n_chars(cleaned.text),
        "n_sections": structure.n_sections,
        "n_items": len(structure.items),
        "n_tokens": sum(len(resources.segmenter.tokens(item.text)) for item in structure.items),
        **theme_hits(cleaned.text, resources.lexicon),
    }


def _process_chunk(texts: list[str], params_dir: Path) -> list[dict]:
    resources = load_resources(params_dir)
    rows = [process_plan(text, resources) for text in texts]
    clear_segmentations()  # a worker keeps no tokens between tasks: each text is segmented once anyway
    return rows


def chunked(texts: list[str], size: int) -> list[list[str]]:
    return [texts[i:i + size] for i in range(0, len(texts), size)]


def process_texts(
    texts: list[str], params_dir: Path, n_jobs: int = 1, backend: str = "loky", chunk_size: int | None = None
) -> pd.DataFrame:
    """Process raw plan texts with `n_jobs` workers; one row per text, in input order.

    Columns: PLAN_COLUMNS, then one column of mentions per theme (lexicon order). `chunk_size`
    (plans per task) defaults to an even split into CHUNKS_PER_WORKER tasks per worker.
    """
    params_dir = Path(params_dir).resolve()
    if backend == "multiprocessing" and effective_n_jobs(n_jobs) > 1:
        load_resources(params_dir)  # workers forked (Linux) from this process inherit it: no start-up load
    size = chunk_size or max(1, -(-len(texts) // (effective_n_jobs(n_jobs) * CHUNKS_PER_WORKER)))
    parts = Parallel(n_jobs=n_jobs, backend=backend)(
        delayed(_process_chunk)(chunk, params_dir) for chunk in chunked(texts, size)
    )
    themes = list(load_lexicon(params_dir / "themes.yaml").terms)
    return pd.DataFrame([row for part in parts for row in part], columns=[*PLAN_COLUMNS, *themes])
