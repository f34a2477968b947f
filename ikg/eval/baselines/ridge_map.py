"""A closed-form cross-domain mapping learned on users active in both domains (kernel ridge).

For a target domain T, the overlap users are training users with events in T and elsewhere.
With A = their non-T history rows (scaled by 1/sqrt(history size)) and Y = their T rows, the
ridge map M = argmin ||Y - A M||^2 + lambda ||M||^2 is M = A^T (A A^T + lambda I)^-1 Y (the
dual form: one solve over overlap users instead of over source items). A cold user's T scores
are a M for their scaled non-T row a: a user-kNN over overlap users with redundancy removed.
lambda is relative to the mean of diag(A A^T).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.linalg as sla
import scipy.sparse as sp

from ikg.eval.baselines.matrix import InteractionMatrix, cached_matrix


def _scaled(rows: sp.csr_matrix) -> sp.csr_matrix:
    sizes = np.asarray(rows.sum(axis=1)).ravel()
    scale = np.divide(1.0, np.sqrt(sizes), out=np.zeros_like(sizes, dtype=np.float64), where=sizes > 0)
    return (sp.diags(scale.astype(np.float32)) @ rows).tocsr()


def fit_ridge_map(
    X: sp.csr_matrix, target: np.ndarray, lam: float, max_users: int = 12000, seed: int = 0
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """(A, dual weights (A A^T + lam I)^-1 Y as dense overlap-users x target items, target columns).

    `target` is a boolean mask of the target domain's item columns; at most `max_users` overlap
    users (a fixed random sample beyond that) bound the O(n^3) solve.
    """
    X = X.tocsr()
    inside, outside = X[:, target], X[:, ~target]
    both = np.flatnonzero((np.diff(inside.indptr) > 0) & (np.diff(outside.tocsr().indptr) > 0))
    if len(both) > max_users:
        both = np.sort(np.random.default_rng(seed).choice(both, max_users, replace=False))
    A = _scaled(outside[both])
    K = np.asarray((A @ A.T).toarray(), dtype=np.float64)
    ridge = lam * max(float(np.trace(K)) / max(len(both), 1), 1e-12)
    K[np.diag_indices_from(K)] += ridge
    Y = np.asarray(inside[both].toarray(), dtype=np.float64)
    dual = sla.cho_solve(sla.cho_factor(K, overwrite_a=True, check_finite=False), Y, check_finite=False)
    return A, dual.astype(np.float32), np.flatnonzero(target)


class RidgeMap:
    """Cross-domain ridge mapping (dual form) as a recommender; one fit per target domain scored."""

    def __init__(self, lam: float = 50.0, max_users: int = 12000) -> None:
        self.name = "ridge-map"
        self.lam, self.max_users = lam, max_users
        self._m: InteractionMatrix | None = None
        self._domain: np.ndarray | None = None
        self._fits: dict[str, tuple[sp.csr_matrix, np.ndarray, np.ndarray]] = {}

    def fit(self, train: pd.DataFrame, items: pd.DataFrame) -> None:
        self._m = cached_matrix(train, items)
        domains = items.drop_duplicates("item_id").set_index("item_id")["domain"].astype(str)
        self._domain = domains.reindex(self._m.item_ids).fillna("").to_numpy()
        self._fits = {}

    def score(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        assert self._m is not None and self._domain is not None, "fit first"
        cols = self._m.item_cols(item_ids)
        values, counts = np.unique(self._domain[cols], return_counts=True)
        target = str(values[np.argmax(counts)])
        if target not in self._fits:
            self._fits[target] = fit_ridge_map(self._m.X, self._domain == target, self.lam, self.max_users)
        A, dual, target_cols = self._fits[target]
        mask = self._domain == target
        query = _scaled(self._m.user_rows(user_ids)[:, np.flatnonzero(~mask)])
        mapped = np.asarray((query @ A.T) @ dual, dtype=np.float32)  # users x target items
        position = np.full(len(self._domain), -1, dtype=np.int64)
        position[target_cols] = np.arange(len(target_cols))
        where = position[cols]
        scores = np.zeros((len(user_ids), len(cols)), dtype=np.float32)
        scores[:, where >= 0] = mapped[:, where[where >= 0]]
        return scores
