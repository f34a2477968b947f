"""Item-kNN over the merged user-item matrix with asymmetric cosine and shrinkage."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ikg.eval.baselines.matrix import InteractionMatrix, cached_matrix, prune_rows, scores_from_item_weights


def asymmetric_cosine(
    X: sp.csr_matrix, alpha: float = 0.5, shrink: float = 0.0, neighbors: int | None = None
) -> sp.csr_matrix:
    """Item-item similarity, returned transposed: row j holds sim(i -> j) for source items i.

    sim(i -> j) = c_ij / (n_i^alpha * n_j^(1 - alpha) + shrink), where c_ij counts users with
    both items and n_i users with item i (Aiolli's asymmetric cosine; alpha = 0.5 is cosine).
    Each target j keeps its `neighbors` most similar source items.
    """
    X = X.tocsr().astype(np.float32)
    C = (X.T @ X).tocoo()
    off = C.row != C.col
    i, j, c = C.row[off], C.col[off], C.data[off]
    n = np.asarray(X.sum(axis=0)).ravel()
    sim = c / (np.power(n[i], alpha) * np.power(n[j], 1.0 - alpha) + shrink)
    WT = sp.csr_matrix((sim.astype(np.float32), (j, i)), shape=C.shape)
    return prune_rows(WT, neighbors)


class ItemKNN:
    """Score(u, j) = sum over u's history items i of w_ui * sim(i -> j), all domains merged.

    w_ui = 1, or decay**(items u engaged with after i) when `decay` is set.
    """

    def __init__(
        self,
        alpha: float = 0.5,
        shrink: float = 10.0,
        neighbors: int | None = 100,
        decay: float | None = None,
    ) -> None:
        self.name = "item-knn"
        self.alpha, self.shrink, self.neighbors, self.decay = alpha, shrink, neighbors, decay
        self._m: InteractionMatrix | None = None
        self._WT: sp.csr_matrix | None = None

    def fit(self, train: pd.DataFrame, items: pd.DataFrame) -> None:
        self._m = cached_matrix(train, items)
        self._WT = asymmetric_cosine(self._m.X, self.alpha, self.shrink, self.neighbors)

    def score(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        assert self._m is not None and self._WT is not None, "fit first"
        return scores_from_item_weights(
            self._m.user_rows(user_ids, self.decay), self._WT[self._m.item_cols(item_ids)]
        )
