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
LENGTH_PENALTY = 0.05
"""Subtracted per word beyond one: among near-equal phrases the shorter one wins; it is more
likely to be shared by other items and other domains, which is what a concept is for."""
FORMAT_PENALTY = 0.1
"""Subtracted from phrases headed by a format noun ("sci-fi epic", "jazz album"): the
modifier ("science fiction", "jazz") is also a candidate and is the shareable concept."""
DUPLICATE_SIM = 0.8
"""A candidate this similar to one already chosen is a near-duplicate and is skipped."""
REPEAT_BONUS = 0.03
"""Added per extra occurrence (log-scaled): repeated phrases are central to the text."""


CONTEXT_DOC_FIT = (0.911, -0.128)
CONTEXT_PAIR_FIT = (0.624, 0.073)
"""Linear maps from contextual-span cosines to standalone-phrase cosines (a, b: y = a x + b).

Fitted by least squares on the eval set's candidates (scripts/eval_extraction.py data):
a span vector taken from its own text is closer to that text (mean 0.58 vs 0.40) and to
the text's other spans (0.37 vs 0.30) than the phrase encoded alone, so contextual and
standalone (category / tag) cosines are mapped onto one scale before they compete.
"""


def calibrated_sims(
    doc_vec: np.ndarray, cand_vecs: np.ndarray, contextual: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(candidate-to-text, candidate-to-candidate) cosines on the standalone scale."""
    to_doc = cand_vecs @ doc_vec
    a, b = CONTEXT_DOC_FIT
    to_doc = np.where(contextual, a * to_doc + b, to_doc)
    pair = cand_vecs @ cand_vecs.T
    a, b = CONTEXT_PAIR_FIT
    both = np.outer(contextual, contextual)
    pair = np.where(both, a * pair + b, pair)
    np.fill_diagonal(pair, 1.0)
    return to_doc.astype(np.float32), pair.astype(np.float32)


def mark_nested_variants(pair_sims: np.ndarray, spans: list[list[tuple[int, int]]]) -> None:
    """Treat two phrases as near-duplicates when every occurrence of one lies inside the other.

    "sci-fi epic" and "sweeping sci-fi epic" are readings of the same words; MMR should pick
    one of them, whatever their cosine.
    """
    n = len(spans)
    for i in range(n):
        if not spans[i]:
            continue
        for j in range(n):
            if (
                i != j
                and spans[j]
                and all(any(a2 <= a and b <= b2 for a2, b2 in spans[j]) for a, b in spans[i])
            ):
                pair_sims[i, j] = pair_sims[j, i] = max(pair_sims[i, j], DUPLICATE_SIM)


def relevance(
    sims: np.ndarray,
    sources: list[str],
    counts: list[int],
    in_title: list[bool],
    specificity: list[float],
    n_words: list[int],
    format_head: list[bool] | None = None,
) -> np.ndarray:
    """Relevance of each candidate to the text it came from (higher is better).

    Category and tag bonuses scale with specificity: the leaf of a category path is a
    deliberate label, its root ("Books", "Home & Kitchen") is store navigation.
    """
    bonus = np.array([SOURCE_BONUS.get(s, 0.0) for s in sources], dtype=np.float32)
    bonus *= np.asarray(specificity, dtype=np.float32)
    bonus += TITLE_BONUS * np.asarray(in_title, dtype=np.float32)
    bonus += REPEAT_BONUS * np.log(np.asarray(counts, dtype=np.float32))
    bonus -= LENGTH_PENALTY * np.maximum(np.asarray(n_words, dtype=np.float32) - 1.0, 0.0)
    if format_head is not None:
        bonus -= FORMAT_PENALTY * np.asarray(format_head, dtype=np.float32)
    return sims + bonus


def mmr(
    rel: np.ndarray,
    pair_sims: np.ndarray,
    k: int,
    lam: float = 0.7,
    min_relevance: float = -1.0,
    exempt: np.ndarray | None = None,
) -> list[int]:
    """Indices of up to k candidates chosen by MMR, best first; ties broken by index (deterministic).

    pair_sims: candidate-to-candidate cosines (n, n); candidates below min_relevance are
    dropped unless exempt (leaf categories and tags: deliberate labels, and often all a
    title-only item has).
    """
    n = len(rel)
    if n == 0 or k <= 0:
        return []
    pool = [i for i in range(n) if rel[i] >= min_relevance or (exempt is not None and exempt[i])]
    if not pool:
        return []
    sim = pair_sims[np.ix_(pool, pool)]
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
