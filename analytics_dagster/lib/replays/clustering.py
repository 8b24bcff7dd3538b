"""Sessions grouped by what happened in them: TF-IDF over session texts, then KMeans (k by silhouette) or HDBSCAN.

Cluster ids are ordered by size (0 = largest); HDBSCAN's noise, if any, is cluster -1. Every step is deterministic
(fixed random state) so a rerun of a day gives the same clusters and so the same cached LLM prompts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import silhouette_samples

from analytics_dagster.lib.replays.text import StemmingAnalyzer

METHODS = ("kmeans", "hdbscan")
NOISE = -1
# Silhouette is quadratic in the number of sessions: past this many, k is chosen on a fixed sample.
_SILHOUETTE_SAMPLE = 2000


@dataclass(frozen=True)
class ClusterInfo:
    cluster_id: int
    size: int
    top_terms: list[str]
    representatives: list[int]  # indexes of the sessions nearest the cluster's centre, nearest first
    silhouette: float | None  # mean silhouette of its members (cosine); None when undefined


@dataclass
class ClusteringResult:
    method: str
    labels: list[int]
    clusters: list[ClusterInfo]
    silhouette: float | None  # of the whole clustering
    sample_silhouettes: list[float | None] = field(default_factory=list)
    k_scores: dict[int, float] = field(default_factory=dict)  # KMeans: silhouette of every k tried


def _vectorize(documents: Sequence[str]):
    analyzer = StemmingAnalyzer()
    vectorizer = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, min_df=1)
    try:
        matrix = vectorizer.fit_transform(documents)
    except ValueError:  # no document has a single term
        return None, [], analyzer
    return matrix, list(vectorizer.get_feature_names_out()), analyzer


def _silhouettes(matrix, labels: np.ndarray) -> np.ndarray | None:
    """Per-session silhouette (cosine), NaN for noise; None when fewer than 2 clusters or all singletons."""
    clustered = labels != NOISE
    groups = len(set(labels[clustered].tolist()))
    if groups < 2 or groups >= clustered.sum():
        return None
    values = np.full(len(labels), np.nan)
    values[clustered] = silhouette_samples(matrix[clustered], labels[clustered], metric="cosine")
    return values


def _sampled_score(matrix, labels: np.ndarray, random_state: int) -> float:
    rows = np.arange(matrix.shape[0])
    if len(rows) > _SILHOUETTE_SAMPLE:
        rows = np.random.default_rng(random_state).choice(rows, _SILHOUETTE_SAMPLE, replace=False)
    if len(set(labels[rows].tolist())) < 2:
        return -1.0
    return float(silhouette_samples(matrix[rows], labels[rows], metric="cosine").mean())


def _distinct_rows(matrix) -> int:
    csr = matrix.tocsr()
    return len(
        {
            (csr.indices[start:end].tobytes(), np.round(csr.data[start:end], 9).tobytes())
            for start, end in zip(csr.indptr[:-1], csr.indptr[1:])
        }
    )


def _kmeans(matrix, max_clusters: int, random_state: int) -> tuple[np.ndarray, dict[int, float]]:
    """KMeans for every k from 2 up, keeping the k with the best silhouette (the smaller k on a tie)."""
    scores: dict[int, float] = {}
    best_labels = np.zeros(matrix.shape[0], dtype=int)  # too few distinct sessions to split: one cluster
    for k in range(2, min(max_clusters, matrix.shape[0] - 1, _distinct_rows(matrix)) + 1):
        labels = KMeans(n_clusters=k, n_init=10, random_state=random_state).fit_predict(matrix)
        scores[k] = _sampled_score(matrix, labels, random_state)
        if scores[k] > max((v for key, v in scores.items() if key < k), default=-np.inf):
            best_labels = labels
    return best_labels, scores


def _hdbscan(matrix, min_cluster_size: int | None) -> np.ndarray:
    # A cluster of about sqrt(n) sessions: small days still split, large days do not shatter into fragments.
    min_cluster_size = min_cluster_size or max(3, round(math.sqrt(matrix.shape[0])))
    if matrix.shape[0] <= min_cluster_size:
        return np.zeros(matrix.shape[0], dtype=int)
    return HDBSCAN(min_cluster_size=min_cluster_size, metric="euclidean", copy=True).fit_predict(matrix)


def _ordered_by_size(labels: np.ndarray) -> np.ndarray:
    """Relabels clusters 0..n-1 by decreasing size (ties by first appearance); noise stays -1."""
    ids, first_seen, counts = np.unique(labels[labels != NOISE], return_index=True, return_counts=True)
    order = sorted(range(len(ids)), key=lambda i: (-counts[i], first_seen[i]))
    mapping = {int(ids[i]): new for new, i in enumerate(order)}
    return np.array([mapping.get(int(label), NOISE) for label in labels], dtype=int)


def _row_mean(matrix, rows: np.ndarray) -> np.ndarray:
    return np.asarray(matrix[rows].mean(axis=0)).ravel()


def _describe(matrix, terms, analyzer, labels, silhouettes, top_terms: int, representatives: int):
    clusters = []
    for cluster_id in sorted(set(labels.tolist()), key=lambda c: (c == NOISE, c)):
        members = np.flatnonzero(labels == cluster_id)
        others = np.flatnonzero(labels != cluster_id)
        top: list[str] = []
        nearest = members[:representatives].tolist()
        if matrix is not None:
            inside = _row_mean(matrix, members)
            # Terms that set the cluster apart, not those every session has.
            distinctive = inside - (_row_mean(matrix, others) if len(others) else 0.0)
            ranked = np.argsort(-distinctive, kind="stable")[:top_terms]
            top = [analyzer.readable(terms[i]) for i in ranked if inside[i] > 0]
            similarity = matrix[members] @ (inside / (np.linalg.norm(inside) or 1.0))
            nearest = members[np.argsort(-similarity, kind="stable")[:representatives]].tolist()
        member_values = silhouettes[members] if silhouettes is not None else np.array([np.nan])
        mean = None if np.all(np.isnan(member_values)) else float(np.nanmean(member_values))
        clusters.append(ClusterInfo(int(cluster_id), len(members), top, nearest, mean))
    return clusters


def cluster_documents(
    documents: Sequence[str],
    *,
    method: str = "kmeans",
    max_clusters: int = 8,
    min_cluster_size: int | None = None,
    top_terms: int = 8,
    representatives: int = 3,
    random_state: int = 0,
) -> ClusteringResult:
    """Clusters ``documents`` (one per session); any number of documents, including none or one, is fine."""
    if method not in METHODS:
        raise ValueError(f"REPLAY_CLUSTERING={method!r} is not supported; choose one of {METHODS}")
    if not documents:
        return ClusteringResult(method, [], [], None)
    matrix, terms, analyzer = _vectorize(documents)
    k_scores: dict[int, float] = {}
    if matrix is None or matrix.shape[0] < 3:
        labels = np.zeros(len(documents), dtype=int)
    elif method == "kmeans":
        labels, k_scores = _kmeans(matrix, max_clusters, random_state)
    else:
        labels = _hdbscan(matrix, min_cluster_size)
    labels = _ordered_by_size(labels)
    silhouettes = _silhouettes(matrix, labels) if matrix is not None else None
    overall = None if silhouettes is None else float(np.nanmean(silhouettes[labels != NOISE]))
    per_session = (
        [None] * len(labels) if silhouettes is None else [None if np.isnan(v) else float(v) for v in silhouettes]
    )
    return ClusteringResult(
        method=method,
        labels=labels.tolist(),
        clusters=_describe(matrix, terms, analyzer, labels, silhouettes, top_terms, representatives),
        silhouette=overall,
        sample_silhouettes=per_session,
        k_scores=k_scores,
    )
