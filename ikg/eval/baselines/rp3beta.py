"""RP3beta: a 3-step random walk user -> item -> user -> item with a popularity penalty.

Paudel et al. (2017); the strong graph baseline of Dacrema et al. (2019). Reusable as a
proximity core: `rp3beta_similarity` gives the item-to-item transition weights once, and
scoring a user is one sparse product with their history.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ikg.eval.baselines.matrix import InteractionMatrix, cached_matrix, prune_rows, scores_from_item_weights


def _row_normalise(M: sp.csr_matrix) -> sp.csr_matrix:
    sums = np.asarray(M.sum(axis=1)).ravel()
    inv = np.divide(1.0, sums, out=np.zeros_like(sums, dtype=np.float64), where=sums > 0)
    return (sp.diags(inv.astype(np.float32)) @ M).tocsr()


def rp3beta_similarity(
    X: sp.csr_matrix, alpha: float = 1.0, beta: float = 0.5, neighbors: int | None = None
) -> sp.csr_matrix:
    """Item-item walk weights W[i, j] = sum_u P(i->u)^alpha P(u->j)^alpha / pop_j^beta.

    P(i->u) = 1/deg(i) over the users of item i, P(u->j) = 1/deg(u) over the items of user u
    (X binary users x items). The diagonal is zeroed; each source item i keeps its
    `neighbors` largest outgoing weights. beta = 0 gives P3alpha.
    """
    X = X.tocsr().astype(np.float32)
    P_ui = _row_normalise(X)
    P_iu = _row_normalise(X.T.tocsr())
    if alpha != 1.0:
        P_ui.data **= alpha
        P_iu.data **= alpha
    W = (P_iu @ P_ui).tocsr()
    pop = np.asarray(X.sum(axis=0)).ravel()
    penalty = np.divide(1.0, np.power(pop, beta), out=np.zeros_like(pop, dtype=np.float64), where=pop > 0)
    W = (W @ sp.diags(penalty.astype(np.float32))).tocsr()
    W.setdiag(0.0)
    return prune_rows(W, neighbors)


def rp3beta_scores(history: sp.csr_matrix, W: sp.csr_matrix, candidates: np.ndarray) -> np.ndarray:
    """Dense (users x candidates) scores: history rows (users x items) times W's candidate columns."""
    return scores_from_item_weights(history, W.T.tocsr()[candidates])


class RP3beta:
    """Recommender wrapper around `rp3beta_similarity` over the merged user-item matrix.

    The walk starts from the user's history, uniformly or weighted by recency (`decay`).
    """

    def __init__(
        self, alpha: float = 1.0, beta: float = 0.5, neighbors: int | None = None, decay: float | None = None
    ) -> None:
        self.name = "rp3beta"
        self.alpha, self.beta, self.neighbors, self.decay = alpha, beta, neighbors, decay
        self._m: InteractionMatrix | None = None
        self._WT: sp.csr_matrix | None = None

    def fit(self, train: pd.DataFrame, items: pd.DataFrame) -> None:
        self._m = cached_matrix(train, items)
        self._WT = rp3beta_similarity(self._m.X, self.alpha, self.beta, self.neighbors).T.tocsr()

    def score(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        assert self._m is not None and self._WT is not None, "fit first"
        return scores_from_item_weights(
            self._m.user_rows(user_ids, self.decay), self._WT[self._m.item_cols(item_ids)]
        )
