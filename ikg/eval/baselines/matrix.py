"""The merged user-item matrix (all domains) that the collaborative baselines share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass
class InteractionMatrix:
    """Binary users x items CSR matrix over the training frame, with id <-> index maps.

    Columns cover every item of the item table (items nobody trained on have empty columns),
    rows cover every user of the training frame.
    """

    X: sp.csr_matrix
    user_index: dict[str, int]
    item_index: dict[str, int]
    item_ids: np.ndarray
    age: sp.csr_matrix
    """Same pattern as X; 1 + how many distinct items the user engaged with after this one."""

    @classmethod
    def build(cls, train: pd.DataFrame, items: pd.DataFrame) -> InteractionMatrix:
        item_ids = pd.Index(
            pd.unique(pd.concat([items["item_id"].astype(str), train["item_id"].astype(str)]))
        )
        events = train[["user_id", "item_id"]].astype(str).reset_index(drop=True)
        if "ts" in train.columns and train["ts"].notna().all():
            events = events.assign(_ts=train["ts"].to_numpy()).sort_values("_ts", kind="stable")
        events = events.drop_duplicates(["user_id", "item_id"], keep="last")
        age = events.groupby("user_id", sort=False).cumcount(ascending=False).to_numpy() + 1
        users = pd.Index(sorted(events["user_id"].unique()))
        rows = users.get_indexer(events["user_id"])
        cols = item_ids.get_indexer(events["item_id"])
        shape = (len(users), len(item_ids))
        X = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=shape)
        A = sp.csr_matrix((age.astype(np.float32), (rows, cols)), shape=shape)
        return cls(
            X,
            {u: i for i, u in enumerate(users)},
            {t: i for i, t in enumerate(item_ids)},
            np.asarray(item_ids),
            A,
        )

    def user_rows(self, user_ids: Sequence[str], decay: float | None = None) -> sp.csr_matrix:
        """History rows for `user_ids`; unknown users get an empty row.

        Binary by default; with `decay` in (0, 1) an item engaged with n items before the
        user's latest one weighs decay**n (the latest weighs 1), so recent taste counts more.
        """
        idx = np.array([self.user_index.get(str(u), -1) for u in user_ids], dtype=np.int64)
        if decay is None:
            rows = self.X[np.maximum(idx, 0)]
        else:
            rows = self.age[np.maximum(idx, 0)].copy()
            rows.data = np.power(decay, rows.data - 1.0).astype(np.float32)
        if (idx < 0).any():
            rows = (sp.diags((idx >= 0).astype(np.float32)) @ rows).tocsr()
            rows.eliminate_zeros()
        return rows

    def item_cols(self, item_ids: Sequence[str]) -> np.ndarray:
        """Column indices of `item_ids` (every candidate must be in the item table)."""
        return np.array([self.item_index[str(i)] for i in item_ids])

    @property
    def popularity(self) -> np.ndarray:
        """Number of training users per item."""
        return np.asarray(self.X.sum(axis=0)).ravel()


def prune_rows(W: sp.csr_matrix, neighbors: int | None) -> sp.csr_matrix:
    """Keep the `neighbors` largest entries of each row (all when None or 0)."""
    W = W.tocsr()
    W.eliminate_zeros()
    if not neighbors:
        return W
    counts = np.diff(W.indptr)
    keep = np.ones(W.nnz, dtype=bool)
    for r in np.flatnonzero(counts > neighbors):
        start, end = W.indptr[r], W.indptr[r + 1]
        drop = np.argpartition(-W.data[start:end], neighbors)[neighbors:]
        keep[start + drop] = False
    W.data[~keep] = 0.0
    W.eliminate_zeros()
    return W


_CACHE: dict[str, tuple[str, InteractionMatrix]] = {}


def frame_key(train: pd.DataFrame, items: pd.DataFrame) -> str:
    """A content hash of the training pairs and the catalogue (for in-process memoisation)."""
    frame = pd.util.hash_pandas_object(train[["user_id", "item_id"]].astype(str), index=False)
    catalogue = pd.util.hash_pandas_object(items["item_id"].astype(str), index=False)
    order = pd.util.hash_pandas_object(train["ts"], index=False) if "ts" in train.columns else frame
    weights = np.arange(1, len(frame) + 1, dtype=np.uint64)
    return (
        f"{int((frame.to_numpy() * weights).sum())}:{int(order.to_numpy().sum())}:"
        f"{int(catalogue.to_numpy().sum())}:{len(train)}:{len(items)}"
    )


def cached_matrix(train: pd.DataFrame, items: pd.DataFrame) -> InteractionMatrix:
    """InteractionMatrix.build, memoised on the content of the last training frame seen.

    Grid search fits many configurations on one training frame; this avoids rebuilding.
    """
    key = frame_key(train, items)
    hit = _CACHE.get("last")
    if hit is None or hit[0] != key:
        _CACHE["last"] = (key, InteractionMatrix.build(train, items))
    return _CACHE["last"][1]


def scores_from_item_weights(history: sp.csr_matrix, WT_candidates: sp.csr_matrix) -> np.ndarray:
    """Dense (users x candidates) scores sum_i history[u, i] * W[i, c], given W's candidate rows of W^T."""
    return np.asarray((history @ WT_candidates.T).toarray(), dtype=np.float32)
