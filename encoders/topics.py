"""Topics: clusters of concept embeddings across all domains, and concept-to-concept links.

induce_topics runs scikit-learn k-means (fixed random_state, keys in sorted order, so
unchanged data gives the same clusters) on the vocabulary's L2-normalised name vectors. A
topic's id is derived from its medoid concept key ("topic:science-fiction"), not from a
cluster index, so ids stay the same between runs on unchanged data and usually survive small
changes. Topics span domains whenever their member concepts do.

No catch-all topic: with too few clusters for a small vocabulary (sqrt(n/2) gave 7 topics
for 92 concepts of podcasts, board games and hiking gear), k-means put every concept that fits
no theme well ("history", "city", "question", "family") into one broad cluster around the
global mean, and since a user's topic weight sums their interests in its members, that topic
led every user's profile ("military, history, science"). So: about TOPIC_SIZE concepts per
topic, a cluster larger than MAX_TOPIC_SHARE of the vocabulary is split in two (again while
needed), and a concept less similar than MIN_MEMBER_SIM to its topic's centroid is in no topic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from encoders.resolution import ConceptVocabulary

TOPIC_SIZE = 8
"""Concepts per topic the default topic count aims at (at most sqrt(2n) topics, at most 500)."""
MAX_TOPIC_SHARE = 0.2
"""A cluster holding more than this share of the concepts (and at least 2 x TOPIC_SIZE) is split."""
MIN_MEMBER_SIM = 0.4
"""Concepts less similar than this to their cluster centroid belong to no topic (they fit no theme:
measured on MiniLM, members of a coherent topic score 0.5-0.9, stragglers 0.2-0.4)."""
_BLOCK = 2048


@dataclass(frozen=True)
class Topic:
    """A named cluster of concepts; members maps concept key -> membership weight in (0, 1]."""

    id: str
    name: str
    members: dict[str, float]
    domains: tuple[str, ...] = ()


def default_n_topics(n_concepts: int) -> int:
    """About n / TOPIC_SIZE topics, at most sqrt(2n) (bounds the k-means cost) and 500, at least 1."""
    n = max(n_concepts, 0)
    return max(1, min(500, round(min(n / TOPIC_SIZE, math.sqrt(2 * n)))))


def _kmeans(x: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Cluster labels from scikit-learn (MiniBatchKMeans above 20,000 rows), deterministic for a seed."""
    if k <= 1 or len(x) <= 1:
        return np.zeros(len(x), dtype=int)
    if len(x) > 20_000:
        from sklearn.cluster import MiniBatchKMeans

        return MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=4096).fit_predict(x)
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, random_state=seed, n_init=4).fit_predict(x)


def _split_oversized(x: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """Split every cluster above MAX_TOPIC_SHARE of the rows in two, until none is (or it cannot be)."""
    labels = labels.copy()
    limit = max(MAX_TOPIC_SHARE * len(x), 2 * TOPIC_SIZE)
    todo = [c for c in np.unique(labels) if (labels == c).sum() > limit]
    next_label = int(labels.max()) + 1 if len(labels) else 0
    while todo:
        idx = np.nonzero(labels == todo.pop())[0]
        halves = _kmeans(x[idx], 2, seed)
        if halves.min() == halves.max():
            continue
        labels[idx[halves == 1]] = next_label
        for c in (int(labels[idx[halves == 0][0]]), next_label):
            if (labels == c).sum() > limit:
                todo.append(c)
        next_label += 1
    return labels


def induce_topics(
    vocab: ConceptVocabulary,
    concept_domains: Mapping[str, set[str]] | None = None,
    n_topics: int | None = None,
    seed: int = 0,
) -> list[Topic]:
    """Cluster the vocabulary into topics; every concept is in at most one topic.

    Membership weight = cosine to the topic centroid (members below MIN_MEMBER_SIM dropped).
    Topic name = its three most central member names. Topic.domains = sorted union of its
    members' domains (when given). Returned sorted by id.
    """
    n = len(vocab.keys)
    if n == 0:
        return []
    k = min(n, n_topics or default_n_topics(n))
    x = np.asarray(vocab.vectors, dtype=np.float32)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    labels = _kmeans(x, k, seed)
    if n_topics is None:
        labels = _split_oversized(x, labels, seed)
    topics: list[Topic] = []
    for c in np.unique(labels):
        idx = np.nonzero(labels == c)[0]
        centroid = x[idx].mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        sims = x[idx] @ centroid
        ranked = sorted(zip(idx.tolist(), sims.tolist()), key=lambda t: (-round(t[1], 6), vocab.keys[t[0]]))
        members = {vocab.keys[i]: round(min(1.0, s), 4) for i, s in ranked if s >= MIN_MEMBER_SIM}
        if not members:
            continue
        medoid = vocab.keys[ranked[0][0]]
        name = ", ".join(vocab.names[vocab.keys[i]] for i, _ in ranked[:3])
        domains: tuple[str, ...] = ()
        if concept_domains is not None:
            domains = tuple(sorted({d for key in members for d in concept_domains.get(key, ())}))
        topics.append(Topic(id=f"topic:{medoid}", name=name, members=members, domains=domains))
    return sorted(topics, key=lambda t: t.id)


def related_concepts(
    vocab: ConceptVocabulary, k: int = 5, min_score: float = 0.5
) -> list[tuple[str, str, float]]:
    """Directed (src, dst, cosine) pairs: each concept's k nearest other concepts with cosine >= min_score.

    Sorted by src, then score descending, then dst. Used for RELATED_TO edges.
    """
    n = len(vocab.keys)
    if n < 2 or k <= 0:
        return []
    x = np.asarray(vocab.vectors, dtype=np.float32)
    kk = min(k, n - 1)
    out: list[tuple[str, str, float]] = []
    for start in range(0, n, _BLOCK):
        sims = x[start : start + _BLOCK] @ x.T
        for r in range(sims.shape[0]):
            sims[r, start + r] = -np.inf
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        for r in range(sims.shape[0]):
            src = vocab.keys[start + r]
            pairs = [(vocab.keys[j], round(float(sims[r, j]), 4)) for j in top[r] if sims[r, j] >= min_score]
            pairs.sort(key=lambda t: (-t[1], t[0]))
            out.extend((src, dst, s) for dst, s in pairs)
    return out
