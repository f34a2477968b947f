"""The ideal low-pass graph filter of `kg.lowpass` alone, as a baseline (the system blends it).

Score(u, j) = (x_u D_i^-1/2 V) . (V^T D_i^1/2)_j with V the top right singular vectors of the
normalised binary training matrix; one fit per rank, all domains merged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ikg.eval.baselines.matrix import InteractionMatrix, cached_matrix
from kg.lowpass import LowPass, fit_lowpass


class LowPassFilter:
    """The low-pass filter over the training interactions, ranking every candidate."""

    def __init__(self, rank: int = 64, seed: int = 0) -> None:
        self.name = "lowpass"
        self.rank, self.seed = rank, seed
        self._m: InteractionMatrix | None = None
        self._filter: LowPass | None = None

    def fit(self, train: pd.DataFrame, items: pd.DataFrame) -> None:
        self._m = cached_matrix(train, items)
        self._filter = fit_lowpass(self._m.X, list(self._m.item_ids), self.rank, seed=self.seed)

    def score(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        assert self._m is not None, "fit first"
        if self._filter is None:
            return np.zeros((len(user_ids), len(item_ids)), dtype=np.float32)
        spectral = np.asarray(self._m.user_rows(user_ids) @ self._filter.item_in, dtype=np.float32)
        return spectral @ self._filter.item_out[self._m.item_cols(item_ids)].T
