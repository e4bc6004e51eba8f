"""The classifier check: per category, logistic regression on character n-gram TF-IDF plus dictionary hits, grouped CV.

The dictionary stays the counter; the classifier is a second opinion validated honestly: its F1
against the reference coding is measured by leave-one-plan-out cross-validation (every item is
predicted by a model that never saw its plan), with a seeded item-bootstrap interval; on a held-out
coding, the model fitted on every in-sample item scores the held-out items (F1 with the same seeded
interval). Every item where the classifier and the dictionary disagree goes to a review queue (coded
items: their out-of-fold prediction; other items: the model fitted on every coded item).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.params.coding import CodingParams
from analysis.params.statistics import StatisticsParams
from analysis.text.agreement import bootstrap_interval, f1_score

CHECK_COLUMNS = ["clf_f1", "clf_f1_low", "clf_f1_high"]
QUEUE_COLUMNS = ["doc_id", "item_seq", "category", "dictionary", "classifier", "probability", "coded"]


@dataclass(frozen=True)
class Items:
    """The items a check reads: keys, texts, dictionary hits (one 0/1 column per dictionary key)."""

    keys: pd.DataFrame  # doc_id, item_seq
    texts: list[str]
    hits: np.ndarray  # items × dictionary keys


def _fit_predict(train: Items, rows: np.ndarray, labels: dict[str, np.ndarray], test: Items, test_rows: np.ndarray,
                 coding: CodingParams, seed: int) -> dict[str, np.ndarray]:
    """Fit the TF-IDF on `train`'s `rows`, one model per category, and return each category's
    probability for `test`'s `test_rows` (a constant label: its value)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, coding.ngram_max), sublinear_tf=True, min_df=2)
    fit = hstack([vectorizer.fit_transform([train.texts[i] for i in rows]), csr_matrix(train.hits[rows])]).tocsr()
    new = hstack([vectorizer.transform([test.texts[i] for i in test_rows]), csr_matrix(test.hits[test_rows])]).tocsr()
    out = {}
    for category, labelled in labels.items():
        known = ~np.isnan(labelled[rows])  # an item outside the category's years (NaN) trains nothing
        y = labelled[rows][known].astype(int)
        if len(set(y)) < 2:
            out[category] = np.full(len(test_rows), float(y[0]) if len(y) else 0.0)
            continue
        model = LogisticRegression(C=coding.c, class_weight="balanced", solver="liblinear", random_state=seed)
        out[category] = model.fit(fit[known], y).predict_proba(new)[:, 1]
    return out


def grouped_cv(items: Items, labels: dict[str, np.ndarray], coding: CodingParams, seed: int) -> dict[str, np.ndarray]:
    """Out-of-fold probabilities: each plan's items predicted by a model fitted on the other plans."""
    groups = items.keys["doc_id"].to_numpy()
    out = {category: np.zeros(len(groups)) for category in labels}
    for plan in sorted(set(groups)):
        test, train = np.flatnonzero(groups == plan), np.flatnonzero(groups != plan)
        for category, probability in _fit_predict(items, train, labels, items, test, coding, seed).items():
            out[category][test] = probability
    return out


@dataclass(frozen=True)
class Held:
    """A held-out coding: its items (doc_id, item_seq, all in the corpus) and each category's 0/1 labels."""

    keys: pd.DataFrame
    labels: dict[str, np.ndarray]


def f1_row(y: np.ndarray, guess: np.ndarray, stats: StatisticsParams) -> list[float]:
    """F1 of `guess` against `y` over the items where `y` is not NaN (not applicable), and its seeded
    item-bootstrap interval (CHECK_COLUMNS, 4 decimals)."""
    keep = ~np.isnan(y)
    y, guess = y[keep].astype(int), guess[keep]
    low, high = bootstrap_interval(f1_score, y, guess, stats.replicates, stats.level, stats.seed)
    return [round(f1_score(y, guess), 4), round(low, 4), round(high, 4)]


def check(coded: Items, labels: dict[str, np.ndarray], corpus: Items, dictionary: dict[str, np.ndarray],
          coding: CodingParams, stats: StatisticsParams, held: Held | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per sample and category: the classifier's F1 with its bootstrap interval (CHECK_COLUMNS,
    indexed by sample, category) — in_sample: grouped CV against `labels` on the `coded` items;
    held_out: the model fitted on every `coded` item scoring the `held` items —; and the review queue
    over the `corpus` items whose classifier prediction differs from the `dictionary` prediction
    (QUEUE_COLUMNS; NaN in `dictionary`: not applicable, never queued). Nothing when the coded items
    come from fewer than two plans."""
    index = pd.MultiIndex.from_tuples([], names=["sample", "category"])
    if coded.keys.empty or coded.keys["doc_id"].nunique() < 2:
        return pd.DataFrame(columns=CHECK_COLUMNS, index=index), pd.DataFrame(columns=QUEUE_COLUMNS)
    folds = grouped_cv(coded, labels, coding, stats.seed)
    rows = {("in_sample", c): f1_row(y, (folds[c] >= 0.5).astype(int), stats) for c, y in labels.items()}
    everything = _fit_predict(coded, np.arange(len(coded.texts)), labels, corpus, np.arange(len(corpus.texts)),
                              coding, stats.seed)
    if held is not None and not held.keys.empty:
        at = pd.MultiIndex.from_frame(corpus.keys).get_indexer(pd.MultiIndex.from_frame(held.keys))
        rows |= {("held_out", c): f1_row(y, (everything[c][at] >= 0.5).astype(int), stats)
                 for c, y in held.labels.items()}
    metrics = pd.DataFrame.from_dict(rows, orient="index", columns=CHECK_COLUMNS)
    metrics.index = pd.MultiIndex.from_tuples(metrics.index, names=index.names)
    coded_at = {key: at for at, key in enumerate(zip(coded.keys["doc_id"], coded.keys["item_seq"], strict=True))}
    queue = []
    for category in labels:
        for at, key in enumerate(zip(corpus.keys["doc_id"], corpus.keys["item_seq"], strict=True)):
            probability = folds[category][coded_at[key]] if key in coded_at else everything[category][at]
            if np.isnan(dictionary[category][at]):  # the category does not apply to the item's plan: n/a
                continue
            guess, said = int(probability >= 0.5), int(dictionary[category][at])
            if guess != said:
                queue.append([*key, category, said, guess, round(float(probability), 4), key in coded_at])
    frame = pd.DataFrame(queue, columns=QUEUE_COLUMNS)
    frame = frame.assign(sure=(frame["probability"] - 0.5).abs()).sort_values(
        ["sure", "doc_id", "item_seq", "category"], ascending=[False, True, True, True], kind="stable")
    return metrics, frame[QUEUE_COLUMNS].reset_index(drop=True)
