"""Cluster stage: TF-IDF clusters of plan items, their labels, stability, and plan similarity.

Items are the unit (five plans are too few to cluster). Each item is tokenised once with the
project segmenter; n-grams of those tokens feed every TF-IDF matrix. KMeans runs on the
L2-normalised TF-IDF rows (so Euclidean KMeans follows cosine similarity); k is the one with the
largest cosine silhouette in the configured range. Cluster ids are renumbered deterministically
(largest cluster first, ties by the first item in (doc_id, item_seq) order), so the same input
always gives the same ids and labels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.metrics.cluster import contingency_matrix

from analysis.dataset import plan_labels
from analysis.files import write_tables
from analysis.params import load_yaml
from analysis.paths import ProjectError
from analysis.themes import load_lexicon, theme_hits
from analysis.tokenize import load_segmenter

ITEM_KEY = ["doc_id", "item_seq"]
DECIMALS = 6  # floats are rounded so reruns on other machines write the same bytes
LABEL_SEPARATOR = "·"

ThemeCounter = Callable[[str], Mapping[str, int]]


def _is_int(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_df(value: Any) -> bool:
    """A document-frequency bound: a count (int >= 1) or a share (float in (0, 1])."""
    return _is_int(value, 1) or (isinstance(value, float) and 0 < value <= 1)


def _is_share(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1


def _is_ngram_range(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple)) and len(value) == 2
        and all(_is_int(v, 1) for v in value) and value[0] <= value[1]
    )


RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "ngram_range": (_is_ngram_range, "two integers [low, high] with 1 <= low <= high"),
    "min_df": (_is_df, "an item count >= 1 or a share in (0, 1]"),
    "max_df": (_is_df, "an item count >= 1 or a share in (0, 1]"),
    "doc_min_df": (_is_df, "a plan count >= 1 or a share in (0, 1]"),
    "doc_max_df": (_is_df, "a plan count >= 1 or a share in (0, 1]"),
    "k_min": (lambda v: _is_int(v, 2), "an integer >= 2"),
    "k_max": (lambda v: _is_int(v, 2), "an integer >= 2"),
    "seed": (lambda v: _is_int(v, 0), "an integer >= 0"),
    "n_init": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "silhouette_sample": (lambda v: _is_int(v, 10), "an integer >= 10"),
    "minibatch_above": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "n_init_large": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "stability_seeds": (lambda v: _is_int(v, 0), "an integer >= 0"),
    "stability_subsamples": (lambda v: _is_int(v, 0), "an integer >= 0"),
    "stability_runs_large": (lambda v: _is_int(v, 0), "an integer >= 0"),
    "subsample_share": (_is_share, "a share in (0, 1]"),
    "n_top_terms": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "label_terms": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "n_examples": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "theme_min_share": (_is_share, "a share in (0, 1]"),
}


@dataclass(frozen=True)
class ClusterParams:
    """Settings from params/clusters.yaml (see the comments there)."""

    ngram_range: tuple[int, int]
    min_df: int | float
    max_df: int | float
    doc_min_df: int | float
    doc_max_df: int | float
    k_min: int
    k_max: int
    seed: int
    n_init: int
    silhouette_sample: int
    minibatch_above: int
    n_init_large: int
    stability_seeds: int
    stability_subsamples: int
    stability_runs_large: int
    subsample_share: float
    n_top_terms: int
    label_terms: int
    n_examples: int
    theme_min_share: float

    @classmethod
    def from_yaml(cls, path: Path, overrides: Mapping[str, Any] | None = None) -> ClusterParams:
        """Load and check the file; `overrides` (None values ignored) replace its keys."""
        names = [f.name for f in fields(cls)]
        data = load_yaml(path, required=names)
        given = {key: value for key, value in (overrides or {}).items() if value is not None}
        if unknown := sorted(given.keys() - set(names)):
            raise ProjectError(
                f"{path}: unknown override(s) {', '.join(unknown)}; allowed: {', '.join(names)}"
            )
        data |= given
        for key, (valid, what) in RULES.items():
            if not valid(data[key]):
                raise ProjectError(f"{path}: {key} = {data[key]!r} must be {what}; fix it")
        if data["k_max"] < data["k_min"]:
            raise ProjectError(f"{path}: k_max must be >= k_min; fix the k range")
        if data["label_terms"] > data["n_top_terms"]:
            raise ProjectError(f"{path}: label_terms must be <= n_top_terms; fix one of them")
        return cls(**{**data, "ngram_range": tuple(data["ngram_range"])})


@dataclass
class ClusterTables:
    """Everything the cluster stage produces, as tables (see `write_clusters` for file names)."""

    clusters: pd.DataFrame  # one row per item: cluster id and label, 2-D projection x, y
    cluster_terms: pd.DataFrame  # top centroid terms per cluster
    cluster_summary: pd.DataFrame  # one row per cluster: label, size, theme, stability
    examples: pd.DataFrame  # the items closest to each centroid
    k_selection: pd.DataFrame  # silhouette and inertia per k; the chosen k flagged
    stability: pd.DataFrame  # one row per refit run and reference cluster: ARI and Jaccard
    doc_similarity: pd.DataFrame  # plan × plan cosine similarity, long format


# --- features ---------------------------------------------------------------------------------


def word_ngrams(tokens: list[str], ngram_range: tuple[int, int]) -> list[str]:
    """All n-grams of consecutive tokens (joined by a space) for n in `ngram_range`."""
    low, high = ngram_range
    return [" ".join(tokens[i:i + n]) for n in range(low, high + 1) for i in range(len(tokens) - n + 1)]


def _as_is(terms: list[str]) -> list[str]:
    """Analyzer for pre-computed term lists (a named function, so vectorizers pickle)."""
    return terms


def tfidf(
    term_lists: list[list[str]], min_df: int | float, max_df: int | float, source: Path
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """L2-normalised TF-IDF rows and the vocabulary; `source` names the params file in errors."""
    vectorizer = TfidfVectorizer(analyzer=_as_is, min_df=min_df, max_df=max_df, dtype=np.float64)
    try:
        matrix = vectorizer.fit_transform(term_lists)
    except ValueError as exc:
        raise ProjectError(f"{source}: TF-IDF kept no terms ({exc}); lower min_df or raise max_df") from None
    return matrix.tocsr(), vectorizer.get_feature_names_out()


# --- clustering -------------------------------------------------------------------------------


def fit_kmeans(matrix: sparse.csr_matrix, k: int, random_state: int, params: ClusterParams) -> np.ndarray:
    """Cluster labels from KMeans, or MiniBatchKMeans above `params.minibatch_above` rows."""
    if matrix.shape[0] > params.minibatch_above:
        model = MiniBatchKMeans(n_clusters=k, n_init=params.n_init_large, random_state=random_state)
    else:
        model = KMeans(n_clusters=k, n_init=params.n_init, random_state=random_state)
    return model.fit(matrix).labels_


def select_k(matrix: sparse.csr_matrix, params: ClusterParams, source: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Fit every k in range; keep the largest cosine silhouette (ties: smaller k).

    Silhouette runs on a fixed-seed sample of `silhouette_sample` items when there are more. A k
    whose fit yields fewer than k distinct clusters (duplicate items) scores NaN.
    Returns the table (k, silhouette, inertia, chosen) and the labels of the chosen fit.
    """
    n = matrix.shape[0]
    ks = range(params.k_min, min(params.k_max, n - 1) + 1)
    if not ks:
        raise ProjectError(f"{source}: {n} items are too few for k_min = {params.k_min}; lower k_min")
    sample = params.silhouette_sample if n > params.silhouette_sample else None
    rows, fits = [], {}
    for k in ks:
        labels = fit_kmeans(matrix, k, params.seed, params)
        distinct = len(np.unique(labels)) == k
        score = (
            silhouette_score(matrix, labels, metric="cosine", sample_size=sample, random_state=params.seed)
            if distinct else np.nan
        )
        rows.append({"k": k, "silhouette": _round(score), "inertia": _round(_inertia(matrix, labels))})
        fits[k] = labels
    table = pd.DataFrame(rows)
    if table["silhouette"].isna().all():
        raise ProjectError(f"{source}: no k in [{params.k_min}, {params.k_max}] gives distinct clusters")
    best = int(table.loc[table["silhouette"].idxmax(), "k"])
    return table.assign(chosen=table["k"] == best), fits[best]


def _inertia(matrix: sparse.csr_matrix, labels: np.ndarray) -> float:
    """Within-cluster sum of squared distances to the centroids: sum |x|² - sum_c n_c |mean_c|²."""
    centroids, index = centroids_of(matrix, labels)
    sizes = np.bincount(index)
    return float(matrix.multiply(matrix).sum() - (sizes * (centroids**2).sum(axis=1)).sum())


def centroids_of(matrix: sparse.csr_matrix, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean row per cluster (dense, clusters in ascending id order) and each row's centroid index."""
    ids, index = np.unique(labels, return_inverse=True)
    n = len(labels)
    members = sparse.csr_matrix((np.ones(n), (index, np.arange(n))), shape=(len(ids), n))
    sizes = np.bincount(index)
    return np.asarray((members @ matrix).todense()) / sizes[:, None], index


def renumber(labels: np.ndarray) -> np.ndarray:
    """Cluster ids 1..k: largest cluster first, ties by the earliest row (rows in item-key order)."""
    ids, first, sizes = np.unique(labels, return_index=True, return_counts=True)
    order = sorted(range(len(ids)), key=lambda i: (-sizes[i], first[i]))
    mapping = {ids[i]: rank for rank, i in enumerate(order, start=1)}
    return np.array([mapping[label] for label in labels])


def top_terms(centroids: np.ndarray, vocabulary: np.ndarray, n_top: int) -> pd.DataFrame:
    """The `n_top` heaviest centroid terms per cluster (ties: alphabetical); cluster ids from 1."""
    rows = []
    for cluster, weights in enumerate(np.round(centroids, DECIMALS), start=1):
        order = np.argsort(-weights, kind="stable")[:n_top]  # vocabulary is sorted: ties alphabetical
        rows += [
            {"cluster": cluster, "term": vocabulary[j], "weight": weights[j], "rank": rank}
            for rank, j in enumerate(order, start=1) if weights[j] > 0
        ]
    return pd.DataFrame(rows, columns=["cluster", "term", "weight", "rank"])


def labels_from_terms(terms: pd.DataFrame, n_label: int) -> dict[int, str]:
    """A cluster's label: its first `n_label` terms (by rank) joined with "·", skipping a term
    that shares a word with one already taken (so not "家庭教育·家庭教育 指导")."""
    labels = {}
    for cluster, group in terms.sort_values(["cluster", "rank"]).groupby("cluster"):
        taken: list[str] = []
        for term in group["term"]:
            if len(taken) < n_label and not set(term.split(" ")) & {w for t in taken for w in t.split(" ")}:
                taken.append(term)
        labels[cluster] = LABEL_SEPARATOR.join(taken)
    return labels


def centrality(matrix: sparse.csr_matrix, centroids: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row with its cluster centroid (rows are unit length)."""
    norms = np.linalg.norm(centroids, axis=1)
    projections = np.asarray(matrix @ centroids.T)[np.arange(len(index)), index]
    return np.divide(projections, norms[index], out=np.zeros_like(projections), where=norms[index] > 0)


def project_2d(matrix: sparse.csr_matrix, seed: int) -> np.ndarray:
    """A 2-D TruncatedSVD projection of the TF-IDF rows (for the scatter plot only)."""
    n_components = min(2, matrix.shape[1] - 1)
    coords = TruncatedSVD(n_components=n_components, random_state=seed).fit_transform(matrix)
    return np.pad(coords, ((0, 0), (0, 2 - n_components)))


# --- stability --------------------------------------------------------------------------------


def best_jaccard(reference: np.ndarray, labels: np.ndarray) -> dict[int, float]:
    """For each reference cluster C: max over clusters D of `labels` of |C ∩ D| / |C ∪ D|."""
    ref_ids, ref_index = np.unique(reference, return_inverse=True)
    table = contingency_matrix(reference, labels)
    ref_sizes, run_sizes = np.bincount(ref_index), table.sum(axis=0)
    jaccard = table / (ref_sizes[:, None] + run_sizes[None, :] - table)
    return dict(zip(ref_ids.tolist(), jaccard.max(axis=1).tolist(), strict=True))


def stability_runs(matrix: sparse.csr_matrix, reference: np.ndarray, params: ClusterParams) -> pd.DataFrame:
    """Refit the chosen k and compare each run with the reference partition.

    Runs of kind "seed" use all items and another KMeans seed; runs of kind "subsample" draw
    `subsample_share` of the items without replacement (fixed-seed generator) and another seed.
    Per run: the adjusted Rand index (ARI) against the reference on the run's items, and for each
    reference cluster the Jaccard index of its best-matching run cluster (Hennig's clusterwise
    stability). A mean Jaccard of 0.75 or more marks a solid cluster; 0.5 or less, one that
    dissolves under perturbation (noise).
    """
    k, n = len(np.unique(reference)), matrix.shape[0]
    rng = np.random.default_rng(params.seed)
    size = max(k + 1, round(params.subsample_share * n))
    n_seeds, n_subsamples = params.stability_seeds, params.stability_subsamples
    if n > params.minibatch_above:  # large corpora: fewer, equally split runs
        n_seeds = params.stability_runs_large // 2
        n_subsamples = params.stability_runs_large - n_seeds
    runs = [("seed", np.arange(n)) for _ in range(n_seeds)]
    runs += [("subsample", np.sort(rng.choice(n, size=min(size, n), replace=False)))
             for _ in range(n_subsamples)]
    rows = []
    for run, (kind, rows_used) in enumerate(runs, start=1):
        random_state = params.seed + run
        labels = fit_kmeans(matrix[rows_used], k, random_state, params)
        ari = _round(adjusted_rand_score(reference[rows_used], labels))
        rows += [
            {"kind": kind, "run": run, "random_state": random_state, "n_items": len(rows_used),
             "ari": ari, "cluster": cluster, "jaccard": _round(jaccard)}
            for cluster, jaccard in best_jaccard(reference[rows_used], labels).items()
        ]
    columns = ["kind", "run", "random_state", "n_items", "ari", "cluster", "jaccard"]
    return pd.DataFrame(rows, columns=columns)


# --- themes and similarity --------------------------------------------------------------------


def lexicon_counter(params_dir: Path) -> ThemeCounter:
    """Theme hits of a text by the lexicon in params/themes.yaml."""
    return partial(theme_hits, lexicon=load_lexicon(Path(params_dir) / "themes.yaml"))


def cluster_themes(
    cluster_ids: np.ndarray, texts: list[str], count_hits: ThemeCounter, min_share: float
) -> pd.DataFrame:
    """Per cluster, the theme hit by most of its items (ties: lexicon order) and that share.

    `theme` is empty when fewer than `min_share` of the cluster's items hit any one theme.
    """
    hits = pd.DataFrame([count_hits(text) for text in texts], index=cluster_ids) > 0
    if hits.shape[1] == 0:
        return pd.DataFrame({"theme": "", "theme_share": 0.0}, index=np.unique(cluster_ids))
    share = hits.groupby(level=0).mean()
    theme = share.idxmax(axis=1).where(share.max(axis=1) >= min_share, "")
    return pd.DataFrame({"theme": theme, "theme_share": share.max(axis=1).map(_round)})


def doc_similarity(
    items: pd.DataFrame, grams: list[list[str]], params: ClusterParams, source: Path
) -> pd.DataFrame:
    """Cosine similarity of whole-plan TF-IDF (each plan = the n-grams of all its items).

    Long format, every ordered pair including the diagonal (1.0):
    doc_a, doc_b, district_a, year_a, district_b, year_b, similarity.
    """
    plans = items[["doc_id", "district", "year"]].drop_duplicates("doc_id").reset_index(drop=True)
    by_doc = {doc: [] for doc in plans["doc_id"]}
    for doc, terms in zip(items["doc_id"], grams, strict=True):
        by_doc[doc].extend(terms)
    matrix, _ = tfidf(list(by_doc.values()), params.doc_min_df, params.doc_max_df, source)
    cosine = (matrix @ matrix.T).toarray()
    cosine = (cosine + cosine.T) / 2
    a, b = np.meshgrid(np.arange(len(plans)), np.arange(len(plans)), indexing="ij")
    left = plans.iloc[a.ravel()].reset_index(drop=True).add_suffix("_a")
    right = plans.iloc[b.ravel()].reset_index(drop=True).add_suffix("_b")
    frame = pd.concat([left, right], axis=1).assign(similarity=_round_all(cosine.ravel()))
    return frame[["doc_id_a", "doc_id_b", "district_a", "year_a", "district_b", "year_b", "similarity"]].rename(
        columns={"doc_id_a": "doc_a", "doc_id_b": "doc_b"}
    )


def cluster_mix(clusters: pd.DataFrame) -> pd.DataFrame:
    """Share of each plan's items in each cluster: rows plans ("闵行 2017"), columns cluster ids."""
    plans = plan_labels(clusters)
    return pd.crosstab(plans, clusters["cluster"], normalize="index").rename_axis(index="plan")


def example_texts(tables: ClusterTables, items: pd.DataFrame) -> pd.DataFrame:
    """The central items of each cluster with label, plan and item text (for reading)."""
    labels = tables.cluster_summary[["cluster", "label"]]
    texts = items[[*ITEM_KEY, "district", "year", "text"]]
    frame = tables.examples.merge(labels, on="cluster").merge(texts, on=ITEM_KEY)
    return frame.assign(plan=plan_labels(frame))[
        ["cluster", "label", "rank", "plan", "item_seq", "centrality", "text"]
    ].sort_values(["cluster", "rank"]).reset_index(drop=True)


def similarity_matrix(similarity: pd.DataFrame) -> pd.DataFrame:
    """The long `doc_similarity` table as a square plan × plan matrix with plan labels."""
    frame = similarity.assign(
        plan_a=plan_labels(similarity, "district_a", "year_a"),
        plan_b=plan_labels(similarity, "district_b", "year_b"),
    )
    return frame.pivot(index="plan_a", columns="plan_b", values="similarity")


# --- the stage --------------------------------------------------------------------------------


def _round(value: float) -> float:
    """Round to DECIMALS, and turn -0.0 into 0.0 (platform jitter must not change the bytes)."""
    return float(np.round(value, DECIMALS)) + 0.0


def _round_all(values: np.ndarray) -> np.ndarray:
    """`_round` for a whole array at once."""
    return np.round(np.asarray(values, dtype=np.float64), DECIMALS) + 0.0


def build_clusters(
    items: pd.DataFrame,
    params_dir: Path,
    overrides: Mapping[str, Any] | None = None,
    count_hits: ThemeCounter | None = None,
    tokens: list[list[str]] | None = None,
) -> ClusterTables:
    """Cluster the plan items (items.csv columns) with params/clusters.yaml (+ `overrides`).

    `count_hits(text) -> {theme: hits}` maps clusters to themes; by default the lexicon of
    params/themes.yaml (longest match, no double counting). `tokens` are the items' content
    tokens in the order of `items`, when the tokenize stage already made them (for instance in
    parallel with `analysis.batch`); by default every item is segmented here.
    """
    source = Path(params_dir) / "clusters.yaml"
    params = ClusterParams.from_yaml(source, overrides)
    if tokens is None:
        segmenter = load_segmenter(params_dir)
        tokens = [segmenter(text) for text in items["text"]]
    items = items.reset_index(drop=True)
    order = items.sort_values(ITEM_KEY, kind="stable").index.to_numpy()
    items = items.iloc[order].reset_index(drop=True)
    grams = [word_ngrams(tokens[i], params.ngram_range) for i in order]
    matrix, vocabulary = tfidf(grams, params.min_df, params.max_df, source)

    k_selection, labels = select_k(matrix, params, source)
    cluster_ids = renumber(labels)
    centroids, index = centroids_of(matrix, cluster_ids)
    terms = top_terms(centroids, vocabulary, params.n_top_terms)
    names = labels_from_terms(terms, params.label_terms)
    coords = project_2d(matrix, params.seed)

    clusters = items[["doc_id", "district", "year", "item_seq"]].assign(
        cluster=cluster_ids,
        cluster_label=[names.get(c, "") for c in cluster_ids],
        x=_round_all(coords[:, 0]),
        y=_round_all(coords[:, 1]),
    )
    examples = _examples(clusters, centrality(matrix, centroids, index), params.n_examples)
    stability = stability_runs(matrix, cluster_ids, params)
    themes = cluster_themes(cluster_ids, list(items["text"]), count_hits or lexicon_counter(params_dir),
                            params.theme_min_share)
    summary = _summary(clusters, themes, stability)
    return ClusterTables(
        clusters=clusters, cluster_terms=terms, cluster_summary=summary, examples=examples,
        k_selection=k_selection, stability=stability,
        doc_similarity=doc_similarity(items, grams, params, source),
    )


def _examples(clusters: pd.DataFrame, central: np.ndarray, n: int) -> pd.DataFrame:
    """The `n` items closest to each centroid (ties: item-key order)."""
    frame = clusters[["cluster", "doc_id", "item_seq"]].assign(centrality=_round_all(central))
    frame = frame.sort_values(["cluster", "centrality", *ITEM_KEY], ascending=[True, False, True, True])
    frame = frame.groupby("cluster").head(n)
    return frame.assign(rank=frame.groupby("cluster").cumcount() + 1)[
        ["cluster", "rank", "doc_id", "item_seq", "centrality"]
    ].reset_index(drop=True)


def _summary(clusters: pd.DataFrame, themes: pd.DataFrame, stability: pd.DataFrame) -> pd.DataFrame:
    """One row per cluster: label, size, plans, theme, and mean Jaccard per kind of run."""
    grouped = clusters.groupby("cluster")
    summary = pd.DataFrame({
        "label": grouped["cluster_label"].first(),
        "n_items": grouped.size(),
        "n_plans": grouped["doc_id"].nunique(),
    }).join(themes)
    mean_jaccard = stability.pivot_table(index="cluster", columns="kind", values="jaccard", aggfunc="mean")
    summary["stability"] = mean_jaccard.get("subsample", pd.Series(dtype=float)).reindex(summary.index)
    summary["seed_stability"] = mean_jaccard.get("seed", pd.Series(dtype=float)).reindex(summary.index)
    for column in ("stability", "seed_stability"):
        summary[column] = summary[column].map(_round)
    return summary.rename_axis("cluster").reset_index()


CLUSTER_FILES = {
    "clusters": "clusters.csv",
    "cluster_terms": "cluster_terms.csv",
    "cluster_summary": "cluster_summary.csv",
    "examples": "cluster_examples.csv",
    "k_selection": "cluster_k_selection.csv",
    "stability": "cluster_stability.csv",
    "doc_similarity": "doc_similarity.csv",
}


def write_clusters(tables: ClusterTables, processed_dir: Path) -> list[Path]:
    """Write every cluster table under `processed_dir` atomically (rows already in stable order)."""
    return write_tables(processed_dir, {name: getattr(tables, field) for field, name in CLUSTER_FILES.items()})
