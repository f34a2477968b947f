"""Core types of the evaluation harness: the recommender interface and the dataset container."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd


@runtime_checkable
class Recommender(Protocol):
    """What the harness evaluates.

    `fit` sees only the training frame of a split (user_id, item_id, [kind, ts, rating]) and
    the item table (item_id, domain, title, [description, categories]). `score` returns an
    (n_users, n_items) array, higher is better, over the candidate items it is given; the
    harness removes each user's visible history and takes the top-k itself.
    """

    name: str

    def fit(self, train: pd.DataFrame, items: pd.DataFrame) -> None: ...

    def score(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray: ...


@dataclass
class Method:
    """A recommender family with a small hyper-parameter grid, tuned on validation users.

    `factory(**params)` builds a fresh recommender for one grid point. A fixed system with
    nothing to tune is a Method with `grid=[{}]` (see `Method.fixed`).
    """

    name: str
    factory: Callable[..., Recommender]
    grid: list[dict[str, Any]] = field(default_factory=lambda: [{}])

    @classmethod
    def fixed(cls, recommender: Recommender) -> Method:
        """Wrap an already-built recommender (for example the ikg system) as an untuned method."""
        return cls(recommender.name, lambda: recommender, [{}])


@dataclass
class Dataset:
    """Items and interaction events in the ingest columns, plus an optional predefined split.

    items: item_id, domain, title, [description, categories, tags]
    events: user_id, item_id, [kind, ts, rating]
    split: user_id, split ("valid" | "test"), item_id (the held-out target), when the
    dataset ships its own evaluation users (protocol "given").
    """

    name: str
    items: pd.DataFrame
    events: pd.DataFrame
    split: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        for col in ("item_id", "domain", "title"):
            if col not in self.items.columns:
                raise ValueError(f"{self.name}: items lack column {col!r}")
        for col in ("user_id", "item_id"):
            if col not in self.events.columns:
                raise ValueError(f"{self.name}: events lack column {col!r}")
        self.items = self.items.assign(
            item_id=self.items["item_id"].astype(str), domain=self.items["domain"].astype(str)
        )
        self.events = self.events.assign(
            user_id=self.events["user_id"].astype(str), item_id=self.events["item_id"].astype(str)
        )
        if self.split is not None:
            self.split = self.split.assign(
                user_id=self.split["user_id"].astype(str), item_id=self.split["item_id"].astype(str)
            )

    @property
    def domains(self) -> list[str]:
        return sorted(self.items["domain"].unique())

    def item_domain(self) -> pd.Series:
        """item_id -> domain."""
        return self.items.set_index("item_id")["domain"]
