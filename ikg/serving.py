"""The serving model of one version: proximity index, GNN vectors and item facts, and the scorer.

Score of item i for user u over the candidate items of a request:

    score(u, i) = sum_k w_k * c_k(u, i) / sum_k w_k,
    k in {collaborative, concepts, gnn, popularity, transitions, lowpass}

collaborative = RP3beta walk, concepts = concept walk and transitions = the learned-bridge walk
user -> item of another domain -> concept -LEADS_TO-> concept -> item (all `kg.proximity`, each scaled
to [0, 1] by its per-user maximum), gnn = the GNN's score u . i with the user's vector at unit
length and the item's divided by the largest item norm (in [-1, 1]: the model is trained on the
dot product, and the item norms it learns carry how broadly an item is liked; ranking by the
cosine instead threw that away and left cold-start users near random on Food-Kitchen, NDCG@20
0.003 against 0.05 with the norms kept), popularity = log
engagement scaled by the candidates' maximum, lowpass = the ideal low-pass graph filter of
`kg.lowpass` (the user's history through the strongest spectral components of the whole
user-item graph, scaled by its per-user maximum). The readable 0-1 `similarity` ("88% match")
is the cosine of the user's and the item's GNN vectors (clipped at 0), or the clipped score
when there are no vectors. The weights start from `DEFAULT_BLEND` (the collaborative walk leads: DESIGN.md's evaluation
found the collaborative signal carries most of a migration); every refresh re-chooses the
concept and popularity weights on a migration-style validation split of your own graph
(`ikg.tuning`) and keeps the defaults unless a choice gains at least 2% NDCG there.

A batch is served as whole-batch array work: one matmul of [w_gnn * user | w_pop] against
[item | popularity], the walks' nonzeros added with one index_add, seen items set to -inf,
one top-k; only the result objects are made per item.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ikg.inputs import cold_start_reason
from ikg.results import Recommendation
from kg.lowpass import LowPass, from_arrays, truncate
from kg.proximity import ProximityIndex, build_index
from kg.store import GraphSnapshot

DEFAULT_BLEND: dict[str, float] = {
    "collaborative": 1.0,
    "concepts": 0.35,
    "gnn": 0.25,
    "popularity": 0.1,
    "transitions": 0.0,
    "lowpass": 0.0,
}
COMPONENTS = tuple(DEFAULT_BLEND)
OPTIONAL_WALKS = ("transitions",)
"""Walks computed only when the blend weighs them (their component shows 0 otherwise): the
learned-bridge walk is off in the default blend and on where tuning found it gains."""


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


@dataclass
class WalkScores:
    """One walk's nonzero scores over a batch: batch row, candidate position, scaled value."""

    rows: np.ndarray
    positions: np.ndarray
    values: np.ndarray


@dataclass
class Scores:
    """Blended scores (batch x candidates), the candidates' item columns, the scaled walks, user rows.

    `dense` holds the scaled dense components (batch x candidates) that were weighted.
    """

    total: np.ndarray
    cols: np.ndarray
    parts: dict[str, WalkScores]
    rows: np.ndarray
    dense: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class _Candidates:
    """The candidate items of one domain: columns, column -> position, and [vector | popularity]."""

    cols: np.ndarray
    position: np.ndarray
    vectors: np.ndarray
    lowpass_out: np.ndarray | None = None


@dataclass
class ServingModel:
    """Everything `recommend` needs, built once per active version."""

    version: str | None
    index: ProximityIndex
    titles: dict[str, str]
    concept_names: dict[str, str]
    user_vectors: np.ndarray | None = None  # rows aligned with index.users (zeros when unknown)
    item_vectors: np.ndarray | None = None  # rows aligned with index.items, divided by the largest norm
    item_norms: np.ndarray | None = None  # each item vector's norm over the largest (for cosines)
    blend: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_BLEND))
    domain_blends: dict[str, dict[str, float]] = field(default_factory=dict)
    """Blends tuned for one target domain (`ikg.tuning`), used when recommending into it."""
    lowpass: LowPass | None = None
    """The low-pass filter's item factors, truncated to the tuned rank (None: component scores 0)."""
    _domains: dict[str | None, _Candidates] = field(default_factory=dict, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @classmethod
    def build(
        cls,
        snapshot: GraphSnapshot,
        version: str | None,
        arrays: Mapping[str, np.ndarray],
        blend: Mapping[str, float] | None = None,
        walk: Mapping[str, float] | None = None,
        domain_blends: Mapping[str, Mapping[str, float]] | None = None,
        lowpass_rank: int | None = None,
    ) -> ServingModel:
        """Build from a snapshot; `walk` gives the RP3beta alpha and beta (defaults of build_index).

        `lowpass_rank` keeps the first components of the stored low-pass factors (all when None).
        """
        index = build_index(snapshot, **dict(walk or {}))
        items = snapshot.nodes.get("Item", pd.DataFrame(columns=["key", "title"]))
        concepts = snapshot.nodes.get("Concept", pd.DataFrame(columns=["key", "name"]))
        model = cls(
            version,
            index,
            dict(zip(items["key"], items.get("title", items["key"]))),
            dict(zip(concepts["key"], concepts.get("name", concepts["key"]))),
            blend=dict(blend or DEFAULT_BLEND),
            domain_blends={d: dict(b) for d, b in (domain_blends or {}).items()},
        )
        model.user_vectors = _aligned(arrays, "User", index.users)
        items_raw = _aligned(arrays, "Item", index.items, unit=False)
        if items_raw is not None:
            norms = np.linalg.norm(items_raw, axis=1)
            largest = max(float(norms.max(initial=0.0)), 1e-12)
            model.item_vectors = (items_raw / np.float32(largest)).astype(np.float32)
            model.item_norms = (norms / largest).astype(np.float32)
        model.lowpass = truncate(from_arrays(arrays, index.items), lowpass_rank)
        return model

    def set_lowpass(self, lowpass: LowPass | None) -> None:
        """Serve with other low-pass factors (e.g. another rank); candidate caches are rebuilt."""
        self.lowpass = lowpass
        self._domains.clear()

    @cached_property
    def _seen_matrix(self) -> sp.csr_matrix:
        """users x items, nonzero where the user engaged with or rejected the item."""
        return (abs(self.index.R) + self.index.disliked).tocsr()

    def _workspace(self, size: int) -> torch.Tensor:
        """This thread's score buffer of at least `size` floats, reused across requests.

        Writing each batch's scores into memory that is already mapped makes the matmul about
        twice as fast as into a fresh allocation of the same size (page faults).
        """
        buffer = getattr(self._local, "buffer", None)
        if buffer is None or buffer.numel() < size:
            buffer = self._local.buffer = torch.empty(size, dtype=torch.float32)
        return buffer

    @cached_property
    def _titles_by_column(self) -> list[str]:
        """Each item column's title (its id when it has none)."""
        return [self.titles.get(item, item) for item in self.index.items]

    @cached_property
    def _id_rank(self) -> np.ndarray:
        """Each item column's rank in item-id order: the tie-break of equal scores."""
        rank = np.empty(len(self.index.items), dtype=np.int64)
        rank[np.argsort(np.asarray(self.index.items, dtype=object), kind="stable")] = np.arange(
            len(self.index.items)
        )
        return rank

    # ---- scoring ------------------------------------------------------------------------
    def score(
        self, user_ids: Sequence[str], domain: str | None = None, blend: Mapping[str, float] | None = None
    ) -> Scores:
        """Blended scores in [0, 1] over the candidate items of `domain` (all when None).

        The GNN and popularity terms are one dense matmul over the candidates, as in a plain
        vector search; the walks are sparse and only their nonzeros are added (one index_add).
        """
        return self._score(user_ids, domain, blend, out=None)

    def _score(
        self,
        user_ids: Sequence[str],
        domain: str | None,
        blend: Mapping[str, float] | None,
        out: torch.Tensor | None,
        rowwise: bool = False,
    ) -> Scores:
        """`score`, writing the batch x candidates matrix into `out` when given (a reused buffer).

        `rowwise` runs the dense matmul one user row at a time: the same kernel as a one-user call,
        so each row's scores are bit-identical to scoring that user alone (a batched matmul may
        round the last bit differently, which can reorder near-ties).
        """
        weights = dict(blend or self.domain_blends.get(domain or "") or self.blend)
        total_weight = max(sum(weights.values()), 1e-12)
        candidates = self._candidates(domain)
        rows = self.index.user_rows(user_ids)
        w_gnn = weights.get("gnn", 0.0) / total_weight
        w_pop = weights.get("popularity", 0.0) / total_weight
        if self.user_vectors is not None and self.item_vectors is not None:
            user_vecs = self.user_vectors[np.maximum(rows, 0)] * (np.float32(w_gnn) * (rows >= 0))[:, None]
        else:
            user_vecs = np.zeros((len(rows), 0), dtype=np.float32)
        augmented = np.hstack([user_vecs, np.full((len(rows), 1), w_pop, dtype=np.float32)]).astype(
            np.float32
        )
        shape = (len(rows), len(candidates.cols))
        users_t, items_t = torch.from_numpy(augmented), torch.from_numpy(candidates.vectors).T
        target = out[: shape[0] * shape[1]].view(shape) if out is not None else None
        if rowwise and len(rows) > 1:
            total = target if target is not None else torch.empty(shape, dtype=torch.float32)
            for b in range(shape[0]):
                torch.matmul(users_t[b : b + 1], items_t, out=total[b : b + 1])
        else:
            total = torch.matmul(users_t, items_t, out=target)
        flat_total = total.view(-1)
        parts: dict[str, WalkScores] = {}
        walks = {
            "collaborative": self.index.collaborative,
            "concepts": self.index.concept_walk,
            "transitions": lambda r: self.index.transition_walk(r, domain),
        }
        for name, walk in walks.items():
            w = weights.get(name, 0.0) / total_weight
            if name in OPTIONAL_WALKS and not w:
                parts[name] = WalkScores(*(np.zeros(0, dtype=t) for t in (np.int64, np.int64, np.float32)))
                continue
            parts[name] = _scaled_walk(walk(rows), candidates)
            if w and len(parts[name].values):
                flat = parts[name].rows * shape[1] + parts[name].positions
                flat_total.index_add_(
                    0, torch.from_numpy(flat), torch.from_numpy(parts[name].values), alpha=w
                )
        dense: dict[str, np.ndarray] = {}
        w_lowpass = weights.get("lowpass", 0.0) / total_weight
        if w_lowpass and self.lowpass is not None and candidates.lowpass_out is not None:
            dense["lowpass"] = self._lowpass_scores(rows, candidates.lowpass_out, rowwise)
            total.add_(torch.from_numpy(dense["lowpass"]), alpha=w_lowpass)
        return Scores(total.numpy(), candidates.cols, parts, rows, dense)

    def _lowpass_scores(self, rows: np.ndarray, item_out: np.ndarray, rowwise: bool = False) -> np.ndarray:
        """The low-pass filter over the candidates, scaled to [-1, 1] by each user's maximum.

        `rowwise`: one matmul per user row, as in `_score` (bit-identical to a one-user call).
        """
        assert self.lowpass is not None
        history = self.index.R[np.maximum(rows, 0)]
        user_in = np.asarray(history @ self.lowpass.item_in, dtype=np.float32)
        user_in[rows < 0] = 0.0
        users_t, items_t = torch.from_numpy(user_in), torch.from_numpy(item_out).T
        if rowwise and len(rows) > 1:
            out = torch.empty((len(rows), item_out.shape[0]), dtype=torch.float32)
            for b in range(len(rows)):
                torch.matmul(users_t[b : b + 1], items_t, out=out[b : b + 1])
            scores = out.numpy()
        else:
            scores = torch.matmul(users_t, items_t).numpy()
        peak = np.abs(scores).max(axis=1, keepdims=True) if scores.shape[1] else np.ones((len(rows), 1))
        return scores / np.maximum(peak, 1e-12)

    def _candidates(self, domain: str | None) -> _Candidates:
        """Candidate item vectors with the scaled popularity appended as one more dimension.

        So one matmul gives w_gnn * gnn(u, i) + w_pop * popularity(i) for every candidate.
        """
        if domain not in self._domains:
            cols = np.flatnonzero(self.index.domain_mask(domain))
            position = np.full(len(self.index.items), -1, dtype=np.int64)
            position[cols] = np.arange(len(cols))
            pop = self.index.popularity[cols]
            pop = pop / pop.max() if len(pop) and pop.max() > 0 else np.zeros(len(cols), np.float32)
            vectors = (
                self.item_vectors[cols]
                if self.item_vectors is not None
                else np.zeros((len(cols), 0), np.float32)
            )
            self._domains[domain] = _Candidates(
                cols,
                position,
                np.ascontiguousarray(np.hstack([vectors, pop[:, None]]).astype(np.float32)),
                np.ascontiguousarray(self.lowpass.item_out[cols]) if self.lowpass is not None else None,
            )
        return self._domains[domain]

    def seen(self, rows: np.ndarray) -> list[np.ndarray]:
        """Item columns each user engaged with or rejected (empty for unknown users)."""
        picked = self._seen_matrix[np.maximum(rows, 0)]
        return [
            picked.indices[picked.indptr[b] : picked.indptr[b + 1]] if r >= 0 else np.zeros(0, dtype=np.int64)
            for b, r in enumerate(rows)
        ]

    def _banned(
        self,
        rows: np.ndarray,
        user_ids: Sequence[str],
        position: np.ndarray,
        exclude_seen: bool,
        exclude: Mapping[str, set[str]] | None,
    ) -> np.ndarray:
        """Flat positions (row * n_candidates + candidate) of the items each user must not get."""
        n = position.max(initial=-1) + 1
        flats = []
        if exclude_seen:
            picked = self._seen_matrix[np.maximum(rows, 0)]
            at = np.repeat(np.arange(len(rows)), np.diff(picked.indptr))
            pos = position[picked.indices]
            keep = (pos >= 0) & (rows[at] >= 0)
            flats.append(at[keep] * n + pos[keep])
        for b, user in enumerate(user_ids):
            extra = [
                self.index.item_index[i] for i in (exclude or {}).get(user, ()) if i in self.index.item_index
            ]
            if extra:
                pos = position[np.asarray(extra, dtype=np.int64)]
                flats.append(b * n + pos[pos >= 0])
        return np.concatenate(flats) if flats else np.zeros(0, dtype=np.int64)

    def recommend(
        self,
        user_ids: Sequence[str],
        k: int = 20,
        domain: str | None = None,
        exclude_seen: bool = True,
        exclude: Mapping[str, set[str]] | None = None,
        with_reasons: bool = True,
        diversity: float = 0.0,
        rowwise: bool = False,
    ) -> list[list[Recommendation]]:
        """Top-k per user; `exclude[user]` adds item ids to filter (e.g. fresh dislikes).

        `rowwise=True` gives each user exactly what a one-user call gives (see `_score`).

        Scoring, filtering, top-k and every component of the results are whole-batch array
        operations; only the result objects (and the reasons, when asked) are made per item.
        """
        candidates = self._candidates(domain)
        scores = self._score(
            user_ids, domain, None, out=self._workspace(len(user_ids) * len(candidates.cols)), rowwise=rowwise
        )
        rows = scores.rows
        total = scores.total
        total.reshape(-1)[self._banned(rows, user_ids, candidates.position, exclude_seen, exclude)] = -np.inf
        if diversity > 0 and self.item_vectors is not None:
            tops = [self._top(total[b], k, diversity, scores.cols) for b in range(len(rows))]
            top = np.zeros((len(rows), max((len(t) for t in tops), default=0)), dtype=np.int64)
            valid = np.zeros(top.shape, dtype=bool)
            for b, chosen in enumerate(tops):
                top[b, : len(chosen)], valid[b, : len(chosen)] = chosen, True
        else:
            top, valid = self._top_batch(total, k, scores.cols)
        with _collector_paused():
            table = self._result_table(scores, rows, top, valid)
            return self._results(user_ids, rows, table, valid, with_reasons)

    def _results(
        self,
        user_ids: Sequence[str],
        rows: np.ndarray,
        table: dict[str, list[list]],
        valid: np.ndarray,
        with_reasons: bool,
    ) -> list[list[Recommendation]]:
        """The Recommendation objects of a scored batch."""
        items, titles = self.index.items, self._titles_by_column
        results = []
        for b, user in enumerate(user_ids):
            count = int(valid[b].sum())
            item_cols = table["item_col"][b][:count]
            cold = bool(rows[b] < 0)
            if cold:
                reasons = [[cold_start_reason(d)] for d in table["domain"][b][:count]]
            else:
                reasons = self.reasons_batch(rows[b], item_cols) if with_reasons else [[] for _ in item_cols]
            components = zip(*(table[name][b] for name in COMPONENTS))
            results.append(
                [
                    Recommendation(
                        user_id=user,
                        item_id=items[col],
                        title=titles[col],
                        domain=domain,
                        score=score,
                        similarity=similarity,
                        components=dict(zip(COMPONENTS, parts)),
                        reasons=why,
                        cold_start=cold,
                    )
                    for col, domain, score, similarity, parts, why in zip(
                        item_cols,
                        table["domain"][b],
                        table["score"][b],
                        table["similarity"][b],
                        components,
                        reasons,
                    )
                ]
            )
        return results

    def _top_batch(self, total: np.ndarray, k: int, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row, positions of the k best scores, best first, ties by item id; and which are finite."""
        k = min(k, total.shape[1])
        if k == 0:
            return np.zeros((total.shape[0], 0), dtype=np.int64), np.zeros((total.shape[0], 0), dtype=bool)
        found = torch.topk(torch.from_numpy(total), k, dim=1, sorted=False)
        values, top = found.values.numpy(), found.indices.numpy()
        order = np.lexsort((self._id_rank[cols[top]], -values), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        return top, np.isfinite(np.take_along_axis(values, order, axis=1))

    def _result_table(
        self, scores: Scores, rows: np.ndarray, top: np.ndarray, valid: np.ndarray
    ) -> dict[str, list[list]]:
        """Score, similarity, components, item column and domain of each (user, top position)."""
        n = scores.total.shape[1]
        item_cols = scores.cols[top]
        known = (rows >= 0)[:, None]
        table: dict[str, np.ndarray] = {"score": np.take_along_axis(scores.total, top, axis=1)}
        batch_rows = np.broadcast_to(np.arange(len(rows))[:, None], top.shape)
        walk_values = _values_at(list(scores.parts.values()), batch_rows[valid], top[valid], n)
        for name, values in zip(scores.parts, walk_values):
            table[name] = np.zeros(top.shape, dtype=np.float32)
            table[name][valid] = values
        for name in ("lowpass",):
            table[name] = (
                np.where(valid, np.take_along_axis(scores.dense[name], top, axis=1), 0.0)
                if name in scores.dense
                else np.zeros(top.shape, dtype=np.float32)
            )
        pop_max = max(float(self.index.popularity[scores.cols].max(initial=0.0)), 1e-12)
        table["popularity"] = self.index.popularity[item_cols] / pop_max
        if self.user_vectors is not None and self.item_vectors is not None:
            gnn = np.einsum(
                "bd,bkd->bk", self.user_vectors[np.maximum(rows, 0)], self.item_vectors[item_cols]
            )
            table["gnn"] = np.where(known, gnn, 0.0)
            assert self.item_norms is not None
            cosine = gnn / np.maximum(self.item_norms[item_cols], 1e-12)
            similarity = np.where(known, np.clip(cosine, 0.0, 1.0), np.clip(table["score"], 0.0, 1.0))
        else:
            table["gnn"] = np.zeros(top.shape)
            similarity = np.clip(table["score"], 0.0, 1.0)
        out: dict[str, list[list]] = {
            name: np.round(table[name].astype(np.float64), 4).tolist() for name in COMPONENTS
        }
        out["score"] = np.round(table["score"].astype(np.float64), 6).tolist()
        out["similarity"] = np.round(similarity.astype(np.float64), 4).tolist()
        out["item_col"] = item_cols.tolist()
        out["domain"] = self.index.item_domain[item_cols].astype(str).tolist()
        return out

    def _top(self, row: np.ndarray, k: int, diversity: float, cols: np.ndarray) -> list[int]:
        """MMR re-ranking: trade score against similarity to the items already chosen."""
        finite = np.flatnonzero(np.isfinite(row))
        if len(finite) == 0:
            return []
        pool = finite[np.argsort(-row[finite], kind="stable")[: 5 * k]].tolist()
        assert self.item_vectors is not None, "diversity needs item vectors"
        vectors = dict(zip(pool, _unit_rows(self.item_vectors[cols[pool]])))
        chosen: list[int] = []
        while pool and len(chosen) < k:
            best = max(
                pool,
                key=lambda i: (
                    (1 - diversity) * row[i]
                    - diversity * max((float(vectors[i] @ vectors[j]) for j in chosen), default=0.0)
                ),
            )
            chosen.append(best)
            pool.remove(best)
        return chosen

    # ---- reasons ------------------------------------------------------------------------
    def reasons(self, row: int, item_col: int, limit: int = 3) -> list[str]:
        """Short readable reasons from the strongest shared concepts and co-engaged items."""
        return self.reasons_batch(row, [item_col], limit)[0]

    @cached_property
    def _engaged_by_item(self) -> sp.csc_matrix:
        """The interaction matrix by columns, for co-engagement counts of a few items."""
        return self.index.R.tocsc()

    def reasons_batch(self, row: int, item_cols: Sequence[int], limit: int = 3) -> list[list[str]]:
        """`reasons` for several items of one user: the user's concept profile is built once."""
        if row < 0:
            return [["popular in this domain"] for _ in item_cols]
        idx = self.index
        cols = np.asarray(item_cols, dtype=np.int64)
        user_concepts = np.asarray((idx.P_ui[row] @ idx.P_ic + idx.P_uc[row]).todense()).ravel()
        shared = idx.IC[cols].multiply(user_concepts[None, :]).tocsr()
        history = idx.R[row].indices
        co = (
            (self._engaged_by_item[:, history].T @ self._engaged_by_item[:, cols]).toarray()
            if len(history)
            else None
        )
        out = []
        for n in range(len(cols)):
            values = shared.data[shared.indptr[n] : shared.indptr[n + 1]]
            concepts = shared.indices[shared.indptr[n] : shared.indptr[n + 1]]
            order = np.lexsort((concepts, -values))[:2]
            best = concepts[order][values[order] > 0]
            texts = [
                f"matches your interest in '{self.concept_names.get(idx.concepts[c], idx.concepts[c])}'"
                for c in best
            ]
            if co is not None and co[:, n].max() > 0:
                j = history[int(np.argmax(co[:, n]))]
                texts.append(
                    f"people who engaged with '{self.titles.get(idx.items[j], idx.items[j])}' also engaged with it"
                )
            out.append((texts or ["popular in this domain"])[:limit])
        return out


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while result objects are made.

    A batch makes tens of thousands of small acyclic objects; with a large graph in memory
    each collection they trigger walks every tracked object of the process, which cost more
    than making the results. Reference counting still frees everything as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _scaled_walk(matrix: sp.csr_matrix, candidates: _Candidates) -> WalkScores:
    """A batch's walk scores on the candidates, each row scaled by its maximum."""
    matrix = matrix.tocsr()
    at = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    every_item = len(candidates.cols) == len(candidates.position)
    pos = matrix.indices.astype(np.int64) if every_item else candidates.position[matrix.indices]
    data = matrix.data.astype(np.float32, copy=False)
    if not every_item or (data <= 0).any():
        keep = (pos >= 0) & (data > 0)
        at, pos, data = at[keep], pos[keep], data[keep]
    top = np.zeros(matrix.shape[0], dtype=np.float32)
    if len(at):
        starts = np.flatnonzero(np.r_[True, at[1:] != at[:-1]])
        top[at[starts]] = np.maximum.reduceat(data, starts)
    return WalkScores(at, pos, data / top[at])


def _values_at(
    parts: Sequence[WalkScores], rows: np.ndarray, positions: np.ndarray, n: int
) -> list[np.ndarray]:
    """Each walk's values at the distinct pairs (rows[j], positions[j]) (0 where it did not reach).

    A walk has thousands of nonzeros per user and a result only k: a bitmap over the
    candidates drops most nonzeros in one cheap gather, a binary search matches the rest.
    """
    wanted = rows.astype(np.int64) * n + positions
    order = np.argsort(wanted)
    wanted = wanted[order]
    marked = np.zeros(n, dtype=bool)
    marked[positions] = True
    out = []
    for part in parts:
        found_values = np.zeros(len(rows), dtype=np.float32)
        near = np.flatnonzero(marked[part.positions])
        keys = part.rows[near] * n + part.positions[near]
        at = np.minimum(np.searchsorted(wanted, keys), max(len(wanted) - 1, 0))
        match = wanted[at] == keys if len(wanted) else np.zeros(len(keys), dtype=bool)
        found_values[order[at[match]]] = part.values[near[match]]
        out.append(found_values)
    return out


def _aligned(
    arrays: Mapping[str, np.ndarray], label: str, keys: Sequence[str], unit: bool = True
) -> np.ndarray | None:
    """GNN vectors of `label` reordered to `keys` (zero rows where missing), at unit length if `unit`."""
    if f"gnn_{label}" not in arrays:
        return None
    stored = arrays[f"gnn_{label}"]
    where = {k: i for i, k in enumerate(arrays[f"gnn_{label}_keys"].tolist())}
    out = np.zeros((len(keys), stored.shape[1]), dtype=np.float32)
    for i, key in enumerate(keys):
        j = where.get(key)
        if j is not None:
            out[i] = stored[j]
    return _unit_rows(out) if unit else out
