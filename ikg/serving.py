"""The serving model of one version: proximity index, GNN vectors and item facts, and the scorer.

Score of item i for user u (each component scaled to [0, 1] by its maximum over the
candidate items of the request, so weights compare like with like):

    score(u, i) = sum_k w_k * c_k(u, i) / sum_k w_k,   k in {collaborative, concepts, gnn, popularity}

collaborative = RP3beta walk, concepts = concept walk (both `kg.proximity`), gnn = cosine
of the GNN user and item vectors (negatives clipped to 0), popularity = log engagement.
`score` is also the readable 0-1 similarity ("88% match"). The default weights
(`DEFAULT_BLEND`) were chosen on validation users of the synthetic cross-domain data and
the Food <-> Kitchen data (docs/evaluation.md); `InterestGraph.tune_blend` re-chooses them
on a validation split of your own data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from kg.proximity import ProximityIndex, build_index
from kg.store import GraphSnapshot

from ikg.results import Recommendation

DEFAULT_BLEND: dict[str, float] = {"collaborative": 1.0, "concepts": 0.35, "gnn": 0.25, "popularity": 0.1}
COMPONENTS = tuple(DEFAULT_BLEND)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


@dataclass
class ServingModel:
    """Everything `recommend` needs, built once per active version."""

    version: str | None
    index: ProximityIndex
    titles: dict[str, str]
    concept_names: dict[str, str]
    user_vectors: np.ndarray | None = None     # rows aligned with index.users (zeros when unknown)
    item_vectors: np.ndarray | None = None     # rows aligned with index.items
    blend: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_BLEND))

    @classmethod
    def build(cls, snapshot: GraphSnapshot, version: str | None, arrays: Mapping[str, np.ndarray],
              blend: Mapping[str, float] | None = None) -> "ServingModel":
        index = build_index(snapshot)
        items = snapshot.nodes.get("Item", pd.DataFrame(columns=["key", "title"]))
        concepts = snapshot.nodes.get("Concept", pd.DataFrame(columns=["key", "name"]))
        model = cls(version, index, dict(zip(items["key"], items.get("title", items["key"]))),
                    dict(zip(concepts["key"], concepts.get("name", concepts["key"]))),
                    blend=dict(blend or DEFAULT_BLEND))
        model.user_vectors = _aligned(arrays, "User", index.users)
        model.item_vectors = _aligned(arrays, "Item", index.items)
        return model

    # ---- scoring ------------------------------------------------------------------------
    def components(self, user_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Raw component scores (batch x items) for the users."""
        rows = self.index.user_rows(user_ids)
        out = {
            "collaborative": self.index.collaborative(rows),
            "concepts": self.index.concept_walk(rows),
            "popularity": np.broadcast_to(self.index.popularity, (len(rows), len(self.index.items))).copy(),
        }
        gnn = np.zeros_like(out["collaborative"])
        if self.user_vectors is not None and self.item_vectors is not None:
            known = rows >= 0
            if known.any():
                gnn[known] = np.clip(self.user_vectors[rows[known]] @ self.item_vectors.T, 0, None)
        out["gnn"] = gnn
        return out

    def score(self, user_ids: Sequence[str], domain: str | None = None,
              blend: Mapping[str, float] | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Blended scores in [0, 1] (batch x items; -inf outside `domain`) and the scaled components."""
        weights = dict(blend or self.blend)
        mask = self.index.domain_mask(domain)
        raw = self.components(user_ids)
        scaled = {}
        total = np.zeros((len(user_ids), len(self.index.items)), dtype=np.float32)
        for name, matrix in raw.items():
            matrix = np.where(mask, matrix, 0.0)
            top = matrix.max(axis=1, keepdims=True)
            scaled[name] = np.divide(matrix, top, out=np.zeros_like(matrix), where=top > 0).astype(np.float32)
            total += weights.get(name, 0.0) * scaled[name]
        total /= max(sum(weights.values()), 1e-12)
        total[:, ~mask] = -np.inf
        return total, scaled

    def seen(self, rows: np.ndarray) -> list[set[int]]:
        """Item columns each user engaged with or rejected (empty for unknown users)."""
        out = []
        for r in rows:
            if r < 0:
                out.append(set())
            else:
                out.append(set(self.index.R[r].indices.tolist()) | set(self.index.disliked[r].indices.tolist()))
        return out

    def recommend(self, user_ids: Sequence[str], k: int = 20, domain: str | None = None,
                  exclude_seen: bool = True, exclude: Mapping[str, set[str]] | None = None,
                  with_reasons: bool = True, diversity: float = 0.0) -> list[list[Recommendation]]:
        """Top-k per user; `exclude[user]` adds item ids to filter (e.g. fresh dislikes)."""
        scores, scaled = self.score(user_ids, domain)
        rows = self.index.user_rows(user_ids)
        seen = self.seen(rows) if exclude_seen else [set() for _ in rows]
        results = []
        for b, user in enumerate(user_ids):
            row = scores[b]
            banned = set(seen[b])
            for item in (exclude or {}).get(user, ()):
                if item in self.index.item_index:
                    banned.add(self.index.item_index[item])
            if banned:
                row = row.copy()
                row[list(banned)] = -np.inf
            top = self._top(row, k, diversity)
            recs = []
            for i in top:
                item = self.index.items[i]
                comps = {name: round(float(scaled[name][b, i]), 4) for name in COMPONENTS}
                recs.append(Recommendation(
                    user_id=user, item_id=item, title=self.titles.get(item, item),
                    domain=str(self.index.item_domain[i]), score=round(float(row[i]), 6),
                    similarity=round(float(np.clip(row[i], 0.0, 1.0)), 4), components=comps,
                    reasons=self.reasons(rows[b], i) if with_reasons else []))
            results.append(recs)
        return results

    def _top(self, row: np.ndarray, k: int, diversity: float) -> list[int]:
        finite = np.flatnonzero(np.isfinite(row))
        if len(finite) == 0:
            return []
        k = min(k, len(finite))
        if diversity <= 0 or self.item_vectors is None:
            part = finite[np.argpartition(-row[finite], k - 1)[:k]] if k < len(finite) else finite
            return sorted(part.tolist(), key=lambda i: (-row[i], self.index.items[i]))
        pool = finite[np.argsort(-row[finite], kind="stable")[: 5 * k]].tolist()
        vectors = _unit_rows(self.item_vectors)
        chosen: list[int] = []
        while pool and len(chosen) < k:
            best = max(pool, key=lambda i: (1 - diversity) * row[i]
                       - diversity * max((float(vectors[i] @ vectors[j]) for j in chosen), default=0.0))
            chosen.append(best)
            pool.remove(best)
        return chosen

    # ---- reasons ------------------------------------------------------------------------
    def reasons(self, row: int, item_col: int, limit: int = 3) -> list[str]:
        """Short readable reasons from the strongest shared concepts and co-engaged items."""
        if row < 0:
            return ["popular in this domain"]
        idx = self.index
        out: list[str] = []
        user_concepts = np.asarray((idx.P_ui[row] @ idx.P_ic + idx.P_uc[row]).todense()).ravel()
        item_concepts = idx.IC[item_col].toarray().ravel()
        shared = user_concepts * item_concepts
        for c in np.argsort(-shared)[:2]:
            if shared[c] > 0:
                out.append(f"matches your interest in '{self.concept_names.get(idx.concepts[c], idx.concepts[c])}'")
        history = idx.R[row].indices
        if len(history):
            co = (idx.R[:, history].T @ idx.R[:, item_col]).toarray().ravel()
            if co.max() > 0:
                j = history[int(np.argmax(co))]
                out.append(f"people who engaged with '{self.titles.get(idx.items[j], idx.items[j])}' also engaged with it")
        if not out:
            out.append("popular in this domain")
        return out[:limit]


def _aligned(arrays: Mapping[str, np.ndarray], label: str, keys: Sequence[str]) -> np.ndarray | None:
    """GNN vectors of `label` reordered to `keys` (zero rows where missing), unit length."""
    if f"gnn_{label}" not in arrays:
        return None
    stored = arrays[f"gnn_{label}"]
    where = {k: i for i, k in enumerate(arrays[f"gnn_{label}_keys"].tolist())}
    out = np.zeros((len(keys), stored.shape[1]), dtype=np.float32)
    for i, key in enumerate(keys):
        j = where.get(key)
        if j is not None:
            out[i] = stored[j]
    return _unit_rows(out)
