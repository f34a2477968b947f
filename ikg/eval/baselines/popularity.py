"""Most-popular baseline: training interaction counts, ranked within the candidate domain."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


class Popularity:
    """Scores each candidate by how many training users interacted with it.

    The harness only ranks target-domain candidates, so this is popularity within the target
    domain. `recent_share` < 1 counts only the latest share of events (by ts) when ts exists.
    """

    def __init__(self, recent_share: float = 1.0) -> None:
        self.name = "popularity"
        self.recent_share = recent_share
        self._counts: pd.Series = pd.Series(dtype=float)

    def fit(self, train: pd.DataFrame, items: pd.DataFrame) -> None:
        events = train.drop_duplicates(["user_id", "item_id"], keep="last")
        if self.recent_share < 1.0 and "ts" in events.columns and events["ts"].notna().all():
            events = events[events["ts"] >= events["ts"].quantile(1.0 - self.recent_share)]
        self._counts = events.groupby("item_id").size().astype(float)

    def score(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        row = self._counts.reindex([str(i) for i in item_ids]).fillna(0.0).to_numpy()
        return np.tile(row, (len(user_ids), 1))
