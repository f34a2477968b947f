"""The serving model of one version: proximity index, GNN vectors and item facts, and the scorer.

Score of item i for user u over the candidate items of a request:

    score(u, i) = sum_k w_k * c_k(u, i) / sum_k w_k,   k in {collaborative, concepts, gnn, popularity}

collaborative = RP3beta walk and concepts = concept walk (both `kg.proximity`, each scaled
to [0, 1] by its per-user maximum), gnn = cosine of the GNN user and item vectors (in
[-1, 1]: an item pointing away from the user's vector is pushed down), popularity = log
engagement scaled by the candidates' maximum. The readable 0-1 `similarity` ("88% match")
is the cosine of the user's and the item's GNN vectors (clipped at 0), or the clipped score
when there are no vectors. The weights start from `DEFAULT_BLEND` (the collaborative walk leads: DESIGN.md's evaluation
found the collaborative signal carries most of a migration); every refresh re-chooses the
concept and popularity weights on a migration-style validation split of your own graph
(`ikg.tuning`) and keeps the defaults unless a choice gains at least 2% NDCG there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from kg.proximity import ProximityIndex, build_index
from kg.store import GraphSnapshot

from ikg.results import Recommendation

DEFAULT_BLEND: dict[str, float] = {"collaborative": 1.0, "concepts": 0.35, "gnn": 0.25, "popularity": 0.1}
COMPONENTS = tuple(DEFAULT_BLEND)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


@dataclass
class Scores:
    """Blended scores (batch x candidates), the candidates' item columns, and the scaled walks."""

    total: np.ndarray
    cols: np.ndarray
    parts: dict[str, sp.csr_matrix]


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
    _domain_vectors: dict[str | None, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, snapshot: GraphSnapshot, version: str | None, arrays: Mapping[str, np.ndarray],
              blend: Mapping[str, float] | None = None,
              walk: Mapping[str, float] | None = None) -> "ServingModel":
        """Build from a snapshot; `walk` gives the RP3beta alpha and beta (defaults of build_index)."""
        index = build_index(snapshot, **dict(walk or {}))
        items = snapshot.nodes.get("Item", pd.DataFrame(columns=["key", "title"]))
        concepts = snapshot.nodes.get("Concept", pd.DataFrame(columns=["key", "name"]))
        model = cls(version, index, dict(zip(items["key"], items.get("title", items["key"]))),
                    dict(zip(concepts["key"], concepts.get("name", concepts["key"]))),
                    blend=dict(blend or DEFAULT_BLEND))
        model.user_vectors = _aligned(arrays, "User", index.users)
        model.item_vectors = _aligned(arrays, "Item", index.items)
        return model

    # ---- scoring ------------------------------------------------------------------------
    def score(self, user_ids: Sequence[str], domain: str | None = None,
              blend: Mapping[str, float] | None = None) -> "Scores":
        """Blended scores in [0, 1] over the candidate items of `domain` (all when None).

        The walks are sparse and only their nonzeros are added; the GNN term is one dense
        matmul over the candidate items, as in a plain vector search.
        """
        weights = dict(blend or self.blend)
        total_weight = max(sum(weights.values()), 1e-12)
        cols = np.flatnonzero(self.index.domain_mask(domain))
        rows = self.index.user_rows(user_ids)
        parts: dict[str, sp.csr_matrix] = {}
        walks = {"collaborative": self.index.collaborative, "concepts": self.index.concept_walk}
        for name, walk in walks.items():
            matrix = walk(rows)[:, cols].tocsr() if domain is not None else walk(rows)
            top = matrix.max(axis=1).toarray().ravel()
            inv = np.divide(1.0, top, out=np.zeros_like(top, dtype=np.float32), where=top > 0)
            parts[name] = (sp.diags(inv.astype(np.float32)) @ matrix).tocsr()
        w_gnn = weights.get("gnn", 0.0) / total_weight
        w_pop = weights.get("popularity", 0.0) / total_weight
        known = (rows >= 0)[:, None]
        if self.user_vectors is not None and self.item_vectors is not None:
            user_vecs = self.user_vectors[np.where(rows >= 0, rows, 0)] * np.float32(w_gnn) * known
        else:
            user_vecs = np.zeros((len(rows), 0), dtype=np.float32)
        augmented = np.hstack([user_vecs, np.full((len(rows), 1), w_pop, dtype=np.float32)])
        total = (torch.from_numpy(augmented.astype(np.float32)) @ torch.from_numpy(self._candidates(domain, cols)).T).numpy()
        for name, matrix in parts.items():
            w = weights.get(name, 0.0) / total_weight
            if w and matrix.nnz:
                at = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
                total[at, matrix.indices] += w * matrix.data
        return Scores(total, cols, parts)

    def _candidates(self, domain: str | None, cols: np.ndarray) -> np.ndarray:
        """Candidate item vectors with the scaled popularity appended as one more dimension.

        So one matmul gives w_gnn * cos(u, i) + w_pop * popularity(i) for every candidate.
        """
        if domain not in self._domain_vectors:
            pop = self.index.popularity[cols]
            pop = pop / pop.max() if len(pop) and pop.max() > 0 else np.zeros(len(cols), np.float32)
            vectors = self.item_vectors[cols] if self.item_vectors is not None else np.zeros((len(cols), 0), np.float32)
            self._domain_vectors[domain] = np.ascontiguousarray(np.hstack([vectors, pop[:, None]]).astype(np.float32))
        return self._domain_vectors[domain]

    def seen(self, rows: np.ndarray) -> list[np.ndarray]:
        """Item columns each user engaged with or rejected (empty for unknown users)."""
        out = []
        for r in rows:
            if r < 0:
                out.append(np.zeros(0, dtype=np.int64))
            else:
                out.append(np.concatenate([self.index.R[r].indices, self.index.disliked[r].indices]))
        return out

    def recommend(self, user_ids: Sequence[str], k: int = 20, domain: str | None = None,
                  exclude_seen: bool = True, exclude: Mapping[str, set[str]] | None = None,
                  with_reasons: bool = True, diversity: float = 0.0) -> list[list[Recommendation]]:
        """Top-k per user; `exclude[user]` adds item ids to filter (e.g. fresh dislikes)."""
        scores = self.score(user_ids, domain)
        rows = self.index.user_rows(user_ids)
        position = np.full(len(self.index.items), -1, dtype=np.int64)
        position[scores.cols] = np.arange(len(scores.cols))
        seen = self.seen(rows) if exclude_seen else [np.zeros(0, dtype=np.int64) for _ in rows]
        gnn_on = self.user_vectors is not None and self.item_vectors is not None
        pop_max = max(float(self.index.popularity[scores.cols].max(initial=0.0)), 1e-12)
        for matrix in scores.parts.values():
            matrix.sort_indices()
        total = scores.total
        banned_rows, banned_cols = [], []
        for b, user in enumerate(user_ids):
            extra = [self.index.item_index[i] for i in (exclude or {}).get(user, ()) if i in self.index.item_index]
            banned = position[np.concatenate([seen[b], np.asarray(extra, dtype=np.int64)])]
            banned = banned[banned >= 0]
            banned_rows.append(np.full(len(banned), b))
            banned_cols.append(banned)
        if banned_rows:
            total[np.concatenate(banned_rows), np.concatenate(banned_cols)] = -np.inf
        mmr = diversity > 0 and self.item_vectors is not None
        tops = None if mmr else self._top_batch(total, k, scores.cols)
        results = []
        for b, user in enumerate(user_ids):
            row = total[b]
            recs = []
            top = tops[b] if tops is not None else self._top(row, k, diversity, scores.cols)
            walk_values = {name: _row_values(m, b, top) for name, m in scores.parts.items()}
            for n, j in enumerate(top):
                i = int(scores.cols[j])
                item = self.index.items[i]
                comps = {name: round(float(values[n]), 4) for name, values in walk_values.items()}
                comps["gnn"] = round(float(self.user_vectors[rows[b]] @ self.item_vectors[i]), 4) \
                    if gnn_on and rows[b] >= 0 else 0.0
                comps["popularity"] = round(float(self.index.popularity[i] / pop_max), 4)
                similarity = max(comps["gnn"], 0.0) if gnn_on and rows[b] >= 0 else float(np.clip(row[j], 0.0, 1.0))
                recs.append(Recommendation(
                    user_id=user, item_id=item, title=self.titles.get(item, item),
                    domain=str(self.index.item_domain[i]), score=round(float(row[j]), 6),
                    similarity=round(similarity, 4), components=comps,
                    reasons=self.reasons(rows[b], i) if with_reasons else []))
            results.append(recs)
        return results

    def _top_batch(self, total: np.ndarray, k: int, cols: np.ndarray) -> list[list[int]]:
        """Per row, positions of the k best finite scores, best first, ties by item id."""
        k = min(k, total.shape[1])
        if k == 0:
            return [[] for _ in range(total.shape[0])]
        part = torch.topk(torch.from_numpy(total), k, dim=1, sorted=False).indices.numpy()
        out = []
        for b, candidates in enumerate(part):
            values = total[b, candidates]
            keep = candidates[np.isfinite(values)]
            out.append(sorted(keep.tolist(), key=lambda j: (-total[b, j], self.index.items[cols[j]])))
        return out

    def _top(self, row: np.ndarray, k: int, diversity: float, cols: np.ndarray) -> list[int]:
        """MMR re-ranking: trade score against similarity to the items already chosen."""
        finite = np.flatnonzero(np.isfinite(row))
        if len(finite) == 0:
            return []
        pool = finite[np.argsort(-row[finite], kind="stable")[: 5 * k]].tolist()
        vectors = dict(zip(pool, _unit_rows(self.item_vectors[cols[pool]])))
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


def _row_values(matrix: sp.csr_matrix, row: int, positions: Sequence[int]) -> np.ndarray:
    """matrix[row, positions] for a CSR matrix with sorted indices, without per-element indexing."""
    lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
    idx, data = matrix.indices[lo:hi], matrix.data[lo:hi]
    pos = np.asarray(positions, dtype=idx.dtype if len(idx) else np.int64)
    at = np.searchsorted(idx, pos)
    found = (at < len(idx)) & (idx[np.minimum(at, max(len(idx) - 1, 0))] == pos) if len(idx) else np.zeros(len(pos), bool)
    out = np.zeros(len(pos), dtype=np.float32)
    out[found] = data[at[found]]
    return out


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
