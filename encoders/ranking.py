"""Ranking and diversification of candidate concepts with sentence embeddings.

relevance = cos(phrase, whole text) + source/position bonuses; the final list is chosen by
Maximal Marginal Relevance (Carbonell & Goldstein 1998): each step takes the candidate with
the best  lam * relevance - (1 - lam) * max cos(candidate, already chosen),  so that
"science fiction", "science fiction novel" and "sci-fi saga" do not fill the list together.
"""

from __future__ import annotations

import numpy as np

SOURCE_BONUS = {"category": 0.12, "tag": 0.12, "entity": 0.03, "noun_chunk": 0.0, "review": 0.0, "llm": 0.0}
TITLE_BONUS = 0.05
LENGTH_PENALTY = 0.03
"""Subtracted per word beyond two: among near-equal phrases the shorter, more reusable one wins."""
DUPLICATE_SIM = 0.8
"""A candidate this similar to one already chosen is a near-duplicate and is skipped."""
REPEAT_BONUS = 0.03
"""Added per extra occurrence (log-scaled): repeated phrases are central to the text."""


def relevance(
    doc_vec: np.ndarray,
    cand_vecs: np.ndarray,
    sources: list[str],
    counts: list[int],
    in_title: list[bool],
    specificity: list[float],
    n_words: list[int],
) -> np.ndarray:
    """Relevance of each candidate to the text it came from (higher is better).

    Category and tag bonuses scale with specificity: the leaf of a category path is a
    deliberate label, its root ("Books", "Home & Kitchen") is store navigation.
    """
    sims = cand_vecs @ doc_vec
    bonus = np.array([SOURCE_BONUS.get(s, 0.0) for s in sources], dtype=np.float32)
    bonus *= np.asarray(specificity, dtype=np.float32)
    bonus += TITLE_BONUS * np.asarray(in_title, dtype=np.float32)
    bonus += REPEAT_BONUS * np.log(np.asarray(counts, dtype=np.float32))
    bonus -= LENGTH_PENALTY * np.maximum(np.asarray(n_words, dtype=np.float32) - 2.0, 0.0)
    return sims + bonus


def mmr(rel: np.ndarray, cand_vecs: np.ndarray, k: int, lam: float = 0.6, min_relevance: float = -1.0) -> list[int]:
    """Indices of up to k candidates chosen by MMR, best first; ties broken by index (deterministic)."""
    n = len(rel)
    if n == 0 or k <= 0:
        return []
    pool = [i for i in range(n) if rel[i] >= min_relevance]
    if not pool:
        return []
    sim = cand_vecs[pool] @ cand_vecs[pool].T
    r = rel[pool]
    chosen: list[int] = []
    max_sim = np.full(len(pool), -np.inf, dtype=np.float32)
    available = np.ones(len(pool), dtype=bool)
    for _ in range(min(k, len(pool))):
        penalty = np.where(np.isfinite(max_sim), max_sim, 0.0)
        score = lam * r - (1.0 - lam) * penalty
        score = np.where(available & (max_sim < DUPLICATE_SIM), score, -np.inf)
        if not np.isfinite(score).any():
            break
        j = int(np.argmax(score))
        chosen.append(j)
        available[j] = False
        max_sim = np.maximum(max_sim, sim[j])
    return [pool[j] for j in chosen]


def to_weight(rel: float) -> float:
    """Relevance -> weight in (0, 1], rounded so that equal inputs give equal weights."""
    return float(round(min(1.0, max(0.01, rel)), 4))
