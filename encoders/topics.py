"""Topics: clusters of concept embeddings across all domains, and concept-to-concept links.

induce_topics runs k-means (fixed seed, keys in sorted order, so unchanged data gives the
same clusters) on the vocabulary's name vectors. A topic's id is derived from its medoid
concept key ("topic:science-fiction"), not from a cluster index, so ids stay the same between
runs on unchanged data and usually survive small changes. Topics span domains whenever
their member concepts do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from encoders.resolution import ConceptVocabulary

MIN_MEMBER_SIM = 0.05
"""Concepts less similar than this to their cluster centroid belong to no topic."""
_BLOCK = 2048


@dataclass(frozen=True)
class Topic:
    """A named cluster of concepts; members maps concept key -> membership weight in (0, 1]."""

    id: str
    name: str
    members: dict[str, float]
    domains: tuple[str, ...] = ()


def default_n_topics(n_concepts: int) -> int:
    """sqrt(n / 2) topics, at least 1 and at most 500 (about 2x sqrt(n) concepts per topic)."""
    return max(1, min(500, round(math.sqrt(n_concepts / 2))))


def induce_topics(
    vocab: ConceptVocabulary,
    concept_domains: Mapping[str, set[str]] | None = None,
    n_topics: int | None = None,
    seed: int = 0,
) -> list[Topic]:
    """Cluster the vocabulary into topics; every concept is in at most one topic.

    Membership weight = cosine to the topic centroid. Topic name = its three most central
    member names. Topic.domains = sorted union of its members' domains (when given).
    Returned sorted by id.
    """
    n = len(vocab.keys)
    if n == 0:
        return []
    k = min(n, n_topics or default_n_topics(n))
    x = np.asarray(vocab.vectors, dtype=np.float32)
    if k == 1:
        labels = np.zeros(n, dtype=int)
    elif n > 20_000:
        from sklearn.cluster import MiniBatchKMeans

        labels = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=4096).fit_predict(x)
    else:
        from sklearn.cluster import KMeans

        labels = KMeans(n_clusters=k, random_state=seed, n_init=4).fit_predict(x)
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
