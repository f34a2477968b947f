"""EASE (Steck 2019): a closed-form item-item ridge regression with a zero diagonal.

B = I - P / diag(P) with P = (X^T X + lambda I)^-1. The inverse is dense, so it is taken over
the `max_items` most popular items only (items outside score nothing); with 36k items the
full inverse would need 5 GB and minutes of a busy CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.linalg as sla

from ikg.eval.baselines.matrix import InteractionMatrix, cached_matrix


def ease_weights(X, lam: float) -> np.ndarray:
    """The EASE item-item matrix B (items x items, zero diagonal) of a binary users x items matrix."""
    gram = np.asarray((X.T @ X).toarray(), dtype=np.float64)
    gram[np.diag_indices_from(gram)] += lam
    P = sla.inv(gram, overwrite_a=True, check_finite=False)
    B = -P / np.diag(P)[None, :]
    B[np.diag_indices_from(B)] = 0.0
    return B.astype(np.float32)


class EASE:
    """Score(u, j) = sum over u's history items i of B[i, j], all domains merged."""

    def __init__(self, lam: float = 100.0, max_items: int = 6000) -> None:
        self.name = "ease"
        self.lam, self.max_items = lam, max_items
        self._m: InteractionMatrix | None = None
        self._B: np.ndarray | None = None
        self._kept: np.ndarray | None = None

    def fit(self, train: pd.DataFrame, items: pd.DataFrame) -> None:
        self._m = cached_matrix(train, items)
        pop = self._m.popularity
        kept = np.argsort(-pop, kind="stable")[: self.max_items]
        self._kept = np.sort(kept[pop[kept] > 0])
        self._B = ease_weights(self._m.X[:, self._kept].tocsc(), self.lam)

    def score(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        assert self._m is not None and self._B is not None and self._kept is not None, "fit first"
        position = np.full(self._m.X.shape[1], -1, dtype=np.int64)
        position[self._kept] = np.arange(len(self._kept))
        history = self._m.user_rows(user_ids)[:, self._kept]
        cand = position[self._m.item_cols(item_ids)]
        scores = np.zeros((len(user_ids), len(cand)), dtype=np.float32)
        inside = cand >= 0
        scores[:, inside] = np.asarray(history @ self._B[:, cand[inside]], dtype=np.float32)
        return scores
