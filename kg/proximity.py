"""Graph proximity: short random walks over the interest graph, as sparse matrix products.

All transition matrices are built once from a snapshot (`build_index`); a query for a
batch of users is a few sparse products, milliseconds per user. Walks (row-stochastic P):

    collaborative (RP3beta):  s_cf(u) = P_ui[u] · T_iu · T_ui  / pop^beta,   T = P^alpha
        user -> item -> co-engaged user -> item, with popular items damped (beta).
    concept walk:             s_kg(u) = (P_ui[u] · P_ic + P_uc[u] + P_uc[u] · P_cc) · P_ci
        user -> (item ->) concept (-> related concept) -> item; this is what carries a user's
        interests into a domain where they have no history (the concepts are shared).
    popularity:               s_pop = log(1 + engagements) of each item.

The collaborative walk raises each transition probability to `alpha` (RP3beta, Paudel et al.
2017): alpha < 1 lifts the co-engagements of heavy users and popular items towards the others.
The walk starts from the user's plain probabilities, so recency and kind weights keep their
full effect (FK next-item validation NDCG@20 0.126 -> 0.147 towards food), and the concept
walk uses them too. Disliked interactions (weight <= 0) take no part
in walks.

For speed the two-step item -> user -> item walk is precomputed once as a sparse item-item
matrix keeping each item's `ITEM_NEIGHBOURS` strongest neighbours after the popularity
penalty (pruning before it would keep popular neighbours that the penalty then demotes), and each concept keeps
its `CONCEPT_ITEMS` strongest items; a query is then sparse x sparse with small rows, and
its results stay sparse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from kg.store import GraphSnapshot

ITEM_NEIGHBOURS = 300
"""Strongest neighbours kept per item (Food-Kitchen cold start: 200 -> 0.047, 300 -> 0.049 NDCG@20)."""
CONCEPT_ITEMS = 300
_BLOCK = 4096


def _index(keys: Sequence[str]) -> dict[str, int]:
    return {k: i for i, k in enumerate(keys)}


def _matrix(
    frame: pd.DataFrame, rows: dict[str, int], cols: dict[str, int], weight: str | None
) -> sp.csr_matrix:
    if frame is None or len(frame) == 0:
        return sp.csr_matrix((len(rows), len(cols)), dtype=np.float32)
    r = frame["src"].map(rows)
    c = frame["dst"].map(cols)
    ok = r.notna() & c.notna()
    values = (
        frame.loc[ok, weight].astype(float).to_numpy()
        if weight and weight in frame
        else np.ones(int(ok.sum()))
    )
    return sp.csr_matrix(
        (values.astype(np.float32), (r[ok].astype(int), c[ok].astype(int))), shape=(len(rows), len(cols))
    )


def top_k_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the `k` largest entries of each row; among equal values the lowest column (item index) wins.

    Deterministic whatever order the row's entries are stored in, so a version's neighbour lists
    (and the recommendations built on them) do not depend on how a matrix product laid them out.
    """
    m = matrix.tocsr()
    m.sum_duplicates()
    counts = np.diff(m.indptr)
    if counts.max(initial=0) <= k:
        return m
    rows, cols, vals = [], [], []
    for r in np.flatnonzero(counts):
        lo, hi = m.indptr[r], m.indptr[r + 1]
        data, idx = m.data[lo:hi], m.indices[lo:hi]
        if hi - lo > k:
            keep = _top_k_lowest_index(data, idx, k)
            data, idx = data[keep], idx[keep]
        rows.append(np.full(len(idx), r))
        cols.append(idx)
        vals.append(data)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=m.shape)


def _top_k_lowest_index(data: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    """Positions of the `k` largest values; ties at the cut go to the lowest `idx` (linear time)."""
    kth = np.partition(data, len(data) - k)[len(data) - k]
    above = np.flatnonzero(data > kth)
    tied = np.flatnonzero(data == kth)
    tied = tied[np.argsort(idx[tied], kind="stable")][: k - len(above)]
    return np.concatenate([above, tied])


def row_normalise(matrix: sp.csr_matrix, alpha: float = 1.0) -> sp.csr_matrix:
    """Rows scaled to sum 1 (transition probabilities), then raised to `alpha`; empty rows stay empty."""
    m = matrix.tocsr(copy=True)
    m.data = np.maximum(m.data, 0).astype(np.float32)
    sums = np.asarray(m.sum(axis=1)).ravel()
    inv = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    m = (sp.diags(inv.astype(np.float32)) @ m).tocsr()
    if alpha != 1.0:
        m.data = np.power(m.data, alpha).astype(np.float32)
    return m


@dataclass
class ProximityIndex:
    """Transition matrices over users, items and concepts, built once per model version."""

    users: list[str]
    items: list[str]
    concepts: list[str]
    user_index: dict[str, int]
    item_index: dict[str, int]
    concept_index: dict[str, int]
    item_domain: np.ndarray
    R: sp.csr_matrix  # users x items, positive interaction weights
    disliked: sp.csr_matrix  # users x items, 1 where the user rejected the item
    IC: sp.csr_matrix  # items x concepts (HAS_CONCEPT weight)
    UC: sp.csr_matrix  # users x concepts (INTERESTED_IN weight)
    CC: sp.csr_matrix  # concepts x concepts (RELATED_TO score, symmetric)
    popularity: np.ndarray  # log(1 + engagement count) per item
    topics: list[str]
    CT: sp.csr_matrix  # concepts x topics (IN_TOPIC weight)
    alpha: float = 0.5
    beta: float = 0.0
    LT: sp.csr_matrix | None = None  # concepts x concepts (LEADS_TO weight, learned from behaviour)
    LT_support: sp.csr_matrix | None = None  # concepts x concepts (LEADS_TO support: bridging users)

    def __post_init__(self) -> None:
        self.P_ui = row_normalise(self.R)
        walk_ui = row_normalise(self.R, self.alpha)
        walk_iu = row_normalise(self.R.T.tocsr(), self.alpha)
        self.P_ic = row_normalise(self.IC)
        self.P_ci = row_normalise(self.IC.T.tocsr())
        self.P_uc = row_normalise(self.UC)
        self.P_cc = row_normalise(self.CC)
        degree = np.asarray((self.R > 0).sum(axis=0)).ravel().astype(np.float32)
        self.pop_penalty = np.power(np.maximum(degree, 1.0), -self.beta).astype(np.float32)
        penalty = sp.diags(self.pop_penalty)
        blocks = [
            top_k_per_row(walk_iu[start : start + _BLOCK] @ walk_ui @ penalty, ITEM_NEIGHBOURS)
            for start in range(0, len(self.items), _BLOCK)
        ]
        empty = sp.csr_matrix((0, len(self.items)), dtype=np.float32)
        self.item_item = (sp.vstack(blocks).tocsr() if blocks else empty).astype(np.float32)
        self.concept_items = top_k_per_row(self.P_ci, CONCEPT_ITEMS)
        n_concepts = len(self.concepts)
        self.P_lt = row_normalise(self.LT if self.LT is not None else sp.csr_matrix((n_concepts, n_concepts)))
        self._domain_concept_items: dict[str | None, sp.csr_matrix] = {}
        self._transition_items: dict[str | None, sp.csr_matrix] = {}
        self._outside_concepts: dict[str | None, sp.csr_matrix] = {}
        if self.P_lt.nnz:
            for domain in [None, *sorted(set(self.item_domain.tolist()))]:
                self.transition_items(domain)

    def domain_mask(self, domain: str | None) -> np.ndarray:
        if domain is None:
            return np.ones(len(self.items), dtype=bool)
        return self.item_domain == domain

    def user_rows(self, user_ids: Sequence[str]) -> np.ndarray:
        return np.array([self.user_index.get(u, -1) for u in user_ids])

    def _starts(self, rows: np.ndarray, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """Rows of `matrix` for user rows (-1 = unknown user -> an empty row).

        Unknown rows are emptied by slicing, not by a diagonal product, so each known row keeps
        the nonzero order it has when picked alone: a user's walk scores are then bit-identical
        whether or not the batch holds unknown users.
        """
        safe = np.where(rows >= 0, rows, 0)
        picked = matrix[safe].tocsr()
        known = rows >= 0
        if not known.all():
            lengths = np.diff(picked.indptr)
            keep = np.repeat(known, lengths)
            indptr = np.concatenate([[0], np.cumsum(np.where(known, lengths, 0))]).astype(picked.indptr.dtype)
            picked = sp.csr_matrix((picked.data[keep], picked.indices[keep], indptr), shape=picked.shape)
        return picked

    def collaborative(self, rows: np.ndarray) -> sp.csr_matrix:
        """RP3beta scores (batch x items, sparse) for user row indices (-1 = unknown user)."""
        return (self._starts(rows, self.P_ui) @ self.item_item).tocsr()

    def concept_walk(self, rows: np.ndarray) -> sp.csr_matrix:
        """Concept-walk scores (batch x items, sparse): interests reach items of any domain."""
        concepts = 0.5 * (self._starts(rows, self.P_ui) @ self.P_ic) + 0.5 * self._starts(rows, self.P_uc)
        concepts = concepts + 0.5 * (concepts @ self.P_cc)
        return (concepts @ self.concept_items).tocsr()

    def concept_items_in(self, domain: str | None) -> sp.csr_matrix:
        """Concept -> item transition probabilities over the items of `domain` only (cached)."""
        if domain not in self._domain_concept_items:
            mask = sp.diags(self.domain_mask(domain).astype(np.float32))
            self._domain_concept_items[domain] = top_k_per_row(
                row_normalise((self.IC.T.tocsr() @ mask).tocsr()), CONCEPT_ITEMS
            )
        return self._domain_concept_items[domain]

    def transition_items(self, domain: str | None) -> sp.csr_matrix:
        """Concept -LEADS_TO-> concept -> item of `domain`, folded into one concept x items matrix
        (the `CONCEPT_ITEMS` strongest per concept), so the walk costs what the concept walk costs.
        Built for every domain with the index (a first request never pays for it)."""
        if domain not in self._transition_items:
            self._transition_items[domain] = top_k_per_row(
                (self.P_lt @ self.concept_items_in(domain)).tocsr(), CONCEPT_ITEMS
            )
        return self._transition_items[domain]

    def transition_walk(self, rows: np.ndarray, domain: str | None = None) -> sp.csr_matrix:
        """Learned-bridge walk (batch x items): user -> item outside `domain` -> concept -LEADS_TO->
        concept -> item of `domain` (any domain when None)."""
        if not self.P_lt.nnz:
            return sp.csr_matrix((len(rows), len(self.items)), dtype=np.float32)
        if domain not in self._outside_concepts:
            outside = sp.diags((~self.domain_mask(domain)).astype(np.float32)) if domain is not None else None
            self._outside_concepts[domain] = (
                (outside @ self.P_ic).tocsr() if outside is not None else self.P_ic
            )
        starts = self._starts(rows, self.P_ui)
        return ((starts @ self._outside_concepts[domain]) @ self.transition_items(domain)).tocsr()


def build_index(snapshot: GraphSnapshot, alpha: float = 0.5, beta: float = 0.0) -> ProximityIndex:
    """Build the transition matrices of a graph snapshot."""
    items_frame = snapshot.nodes.get("Item", pd.DataFrame(columns=["key", "domain"]))
    users = sorted(snapshot.node_keys("User"))
    items = items_frame["key"].tolist()
    concepts = sorted(snapshot.node_keys("Concept"))
    ui, ii, ci = _index(users), _index(items), _index(concepts)
    interacted = snapshot.edge_frame("INTERACTED")
    if "weight" not in interacted:
        interacted = interacted.assign(weight=1.0)
    positive = interacted[interacted["weight"].astype(float) > 0]
    negative = interacted[interacted["weight"].astype(float) <= 0]
    R = _matrix(positive, ui, ii, "weight")
    disliked = _matrix(negative, ui, ii, None)
    counts = positive["count"].astype(float) if "count" in positive else pd.Series(1.0, index=positive.index)
    engagement = np.bincount(
        positive["dst"].map(ii).dropna().astype(int),
        weights=counts.loc[positive["dst"].map(ii).notna()].to_numpy(),
        minlength=len(items),
    )
    related = _matrix(snapshot.edge_frame("RELATED_TO"), ci, ci, "score")
    topics = sorted(snapshot.node_keys("Topic"))
    return ProximityIndex(
        users=users,
        items=items,
        concepts=concepts,
        user_index=ui,
        item_index=ii,
        concept_index=ci,
        item_domain=items_frame["domain"].astype(str).to_numpy() if len(items) else np.array([], dtype=str),
        R=R,
        disliked=disliked,
        IC=_matrix(snapshot.edge_frame("HAS_CONCEPT"), ii, ci, "weight"),
        UC=_matrix(snapshot.edge_frame("INTERESTED_IN"), ui, ci, "weight"),
        CC=(related + related.T).tocsr(),
        popularity=np.log1p(engagement).astype(np.float32),
        topics=topics,
        CT=_matrix(snapshot.edge_frame("IN_TOPIC"), ci, _index(topics), "weight"),
        alpha=alpha,
        beta=beta,
        LT=_matrix(snapshot.edge_frame("LEADS_TO"), ci, ci, "weight"),
        LT_support=_matrix(snapshot.edge_frame("LEADS_TO"), ci, ci, "support"),
    )
