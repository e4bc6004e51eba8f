"""Batch processing: the same rows whatever the number of workers, and the same numbers as the
single-plan path (dataset + themes stages)."""

from __future__ import annotations

import importlib.util
import re
import sys

import pandas as pd
import pytest

from analysis.batch import PLAN_COLUMNS, chunked, process_texts
from analysis.corpus.manifest import load_text, validate
from analysis.stages.themes import load_lexicon, stat_counts, stat_kwic


@pytest.fixture(scope="module")
def synthetic(paths):
    """benchmarks/synthetic.py (not a package), imported from its file."""
    spec = importlib.util.spec_from_file_location("synthetic", paths.root / "benchmarks" / "synthetic.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def texts(paths, synthetic) -> list[str]:
    return synthetic.synthetic_plans(synthetic.real_parts(paths.raw, paths.params), 12)


def test_synthetic_plans_are_reproducible_and_fully_parsed(paths, synthetic, texts):
    parts = synthetic.real_parts(paths.raw, paths.params)
    assert synthetic.synthetic_plans(parts, 12) == texts
    assert synthetic.synthetic_plans(parts, 12, seed=1) != texts
    frame = process_texts(texts, paths.params)
    expected = [len(re.findall(r"(?m)^\d+\.", text)) for text in texts]
    assert frame["n_items"].tolist() == expected  # every generated item is found
    assert frame["title"].notna().all()


def test_one_and_two_workers_give_identical_rows(paths, texts):
    one = process_texts(texts, paths.params, n_jobs=1)
    two = process_texts(texts, paths.params, n_jobs=2, chunk_size=5)
    pd.testing.assert_frame_equal(one, two)
    pd.testing.assert_frame_equal(one, process_texts(texts, paths.params, n_jobs=2, backend="multiprocessing"))
    assert list(one.columns) == [*PLAN_COLUMNS, *load_lexicon(paths.params / "themes.yaml").terms]
    assert len(one) == len(texts)


def test_rows_equal_the_single_plan_path(paths, corpus):
    plans = sorted(validate(paths.raw), key=lambda p: p.doc_id)
    frame = process_texts([load_text(paths.raw, p) for p in plans], paths.params, n_jobs=2)
    documents = corpus.documents.set_index("doc_id").loc[[p.doc_id for p in plans]]
    for column in ("n_chars", "n_sections", "n_items"):
        assert frame[column].tolist() == documents[column].tolist(), column
    lexicon = load_lexicon(paths.params / "themes.yaml")
    counts = stat_counts(stat_kwic(corpus, lexicon), corpus.documents, lexicon)
    mentions = counts.pivot(index="doc_id", columns="theme", values="mentions").loc[[p.doc_id for p in plans]]
    assert frame[list(lexicon.terms)].to_numpy().tolist() == mentions[list(lexicon.terms)].to_numpy().tolist()


def test_chunks_keep_order_and_cover_everything():
    assert chunked(list("abcdefg"), 3) == [["a", "b", "c"], ["d", "e", "f"], ["g"]]
    assert chunked([], 3) == []
