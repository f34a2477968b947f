"""The merged user-item matrix (all domains) that the collaborative baselines share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

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

    @classmethod
    def build(cls, train: pd.DataFrame, items: pd.DataFrame) -> "InteractionMatrix":
        item_ids = pd.Index(pd.unique(pd.concat([items["item_id"].astype(str),
                                                 train["item_id"].astype(str)])))
        users = pd.Index(sorted(train["user_id"].astype(str).unique()))
        rows = users.get_indexer(train["user_id"].astype(str))
        cols = item_ids.get_indexer(train["item_id"].astype(str))
        X = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                          shape=(len(users), len(item_ids)))
        X.data[:] = 1.0
        X.sum_duplicates()
        X.data[:] = 1.0
        return cls(X, {u: i for i, u in enumerate(users)}, {t: i for i, t in enumerate(item_ids)},
                   np.asarray(item_ids))

    def user_rows(self, user_ids: Sequence[str]) -> sp.csr_matrix:
        """History rows for `user_ids`; unknown users get an empty row."""
        idx = np.array([self.user_index.get(str(u), -1) for u in user_ids], dtype=np.int64)
        rows = self.X[np.maximum(idx, 0)]
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


def cached_matrix(train: pd.DataFrame, items: pd.DataFrame) -> InteractionMatrix:
    """InteractionMatrix.build, memoised on the content of the last training frame seen.

    Grid search fits many configurations on one training frame; this avoids rebuilding.
    """
    key = str(pd.util.hash_pandas_object(train[["user_id", "item_id"]].astype(str), index=False).sum()
              + pd.util.hash_pandas_object(items["item_id"].astype(str), index=False).sum())
    key = f"{key}:{len(train)}:{len(items)}"
    hit = _CACHE.get("last")
    if hit is None or hit[0] != key:
        _CACHE["last"] = (key, InteractionMatrix.build(train, items))
    return _CACHE["last"][1]


def scores_from_item_weights(history: sp.csr_matrix, WT_candidates: sp.csr_matrix) -> np.ndarray:
    """Dense (users x candidates) scores sum_i history[u, i] * W[i, c], given W's candidate rows of W^T."""
    return np.asarray((history @ WT_candidates.T).toarray(), dtype=np.float32)
