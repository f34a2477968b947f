"""The interest-kg system as a `Recommender` of the evaluation harness.

`fit` runs the real pipeline through the public API (ingest, refresh: extraction, concepts,
topics, GNN, blend tuning) in a temporary folder; `score` blends the walks and vectors of the
serving model over the candidate items. Several blends can be compared on validation users
without rebuilding: the graph built for one training frame is reused (`_BUILT`).
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ikg.eval.base import Method

log = logging.getLogger(__name__)

CF_ONLY = {"collaborative": 1.0, "concepts": 0.0, "gnn": 0.0, "popularity": 0.0}
"""The collaborative walk alone: the grid's check that concepts and the GNN earn their weight."""

_BUILT: dict[tuple[str, bool, float | None, str | None], Any] = {}
"""Training-frame fingerprint -> built InterestGraph, so grid points share one build."""

_FOLDERS: list[str] = []
"""Temporary graph folders this process made for its builds (hundreds of MB each on real data)."""
KEEP_BUILDS = False
"""Set to keep the build folders after exit (for analysis); their paths are logged."""


@atexit.register
def _remove_build_folders() -> None:
    """Delete the temporary build folders this process created (and nothing else) when it exits."""
    for folder in _FOLDERS:
        if KEEP_BUILDS:
            log.info("ikg eval build kept in %s", folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _fingerprint(train: pd.DataFrame, items: pd.DataFrame) -> str:
    digest = hashlib.sha1()
    digest.update(pd.util.hash_pandas_object(train[["user_id", "item_id"]], index=False).values.tobytes())
    digest.update(pd.util.hash_pandas_object(items[["item_id"]], index=False).values.tobytes())
    return digest.hexdigest()


class InterestGraphSystem:
    """interest-kg end to end; `blend=None` uses the blend the refresh tuned on its own data.

    `catalog` is an optional graph folder built from the items alone (ingest_items + refresh):
    each build starts from a copy of it, so item extraction, concepts and text vectors are paid
    once for all builds over the same catalog (a refresh re-extracts only items that differ).
    """

    def __init__(
        self,
        blend: Mapping[str, float] | None = None,
        use_gnn: bool = True,
        gnn_epochs: int = 60,
        name: str = "ikg",
        half_life_events: float | None = None,
        catalog: str | Path | None = None,
    ) -> None:
        self.name = name
        self.catalog = Path(catalog) if catalog is not None else None
        self.half_life_events = half_life_events
        self.blend = dict(blend) if blend else None
        self.use_gnn = use_gnn
        self.gnn_epochs = gnn_epochs
        self.graph = None

    def fit(self, train: pd.DataFrame, items: pd.DataFrame) -> None:
        import gnn
        from ikg import InterestGraph
        from kg.weights import WeightConfig

        catalog = str(self.catalog) if self.catalog is not None else None
        key = (_fingerprint(train, items), self.use_gnn, self.half_life_events, catalog)
        if key not in _BUILT:
            folder = tempfile.mkdtemp(prefix="ikg-eval-")
            _FOLDERS.append(folder)
            if self.catalog is not None:
                shutil.copytree(self.catalog, folder, dirs_exist_ok=True)
            weights = WeightConfig(half_life_events=self.half_life_events)
            graph = InterestGraph.open(
                folder,
                use_gnn=self.use_gnn,
                weights=weights,
                gnn_config=gnn.GnnConfig(epochs=self.gnn_epochs, threads=1),
            )
            columns = [
                c for c in ("item_id", "domain", "title", "description", "categories", "tags") if c in items
            ]
            graph.ingest_items(items[columns])
            events = [c for c in ("user_id", "item_id", "kind", "ts", "rating") if c in train]
            graph.ingest_events(train[events])
            report = graph.refresh(progress=False)
            log.info("ikg eval build: %s", report.blend)
            _BUILT[key] = graph
        self.graph = _BUILT[key]

    def score(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        assert self.graph is not None, "fit first"
        model = self.graph.model()
        index = model.index
        cols = np.array([index.item_index.get(i, -1) for i in item_ids])
        domains = set(index.item_domain[cols[cols >= 0]].tolist())
        domain = domains.pop() if len(domains) == 1 else None
        scores = model.score(list(user_ids), domain, self.blend)
        position = np.full(len(index.items), -1)
        position[scores.cols] = np.arange(len(scores.cols))
        out = np.full((len(user_ids), len(item_ids)), -np.inf, dtype=np.float32)
        known = (cols >= 0) & (position[np.maximum(cols, 0)] >= 0)
        out[:, known] = scores.total[:, position[cols[known]]]
        return out


def system_method(
    blends: Sequence[Mapping[str, float] | None] = (None,),
    use_gnn: bool = True,
    gnn_epochs: int = 60,
    half_lives: Sequence[float | None] = (None,),
    catalog: str | Path | None = None,
) -> Method:
    """The system as a Method whose grid is blends x positional half-lives (None = refresh's own blend).

    Each half-life is one build of the graph; blends on the same build cost only scoring.
    `catalog`: an items-only graph folder each build starts from (see InterestGraphSystem).
    """
    grid = [{"blend": dict(b) if b else None, "half_life_events": h} for h in half_lives for b in blends]
    return Method(
        "ikg",
        lambda blend=None, half_life_events=None: InterestGraphSystem(
            blend, use_gnn, gnn_epochs, half_life_events=half_life_events, catalog=catalog
        ),
        grid,
    )
