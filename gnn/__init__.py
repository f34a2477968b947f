"""Graph -> vectors: export a GraphSnapshot to HeteroData, train InterestGNN, infer vectors.

The public API used by the `ikg` facade:

- `fit_vectors(snapshot, text_vectors, config, checkpoint_dir, warm_start)` trains and returns
  a `GnnResult` with one (keys, vectors) pair per label (User, Item, Concept, Topic);
- `infer_vectors(checkpoint, snapshot, text_vectors)` is a forward pass only: it gives a
  vector to every node of the current graph, including users and items added after training;
- `write_vectors(store, result)` stores them as the `embedding` property with the version.

Vectors are 64-d float32 and NOT L2-normalised: the model's score is the dot product
`user @ item`. Normalise them when a cosine / 0-1 similarity is wanted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gnn._pyg import HeteroData
from gnn.export import LABEL_OF, IdMaps, to_heterodata
from gnn.model import NODE_ORDER, InterestGNN, build_prop_graph
from gnn.train import (
    GnnConfig,
    id_rows,
    load_checkpoint,
    model_from_checkpoint,
    model_version,
    save_checkpoint,
    train,
)
from kg.store import GraphSnapshot, GraphStore

Vectors = dict[str, tuple[list[str], np.ndarray]]


@dataclass
class GnnResult:
    """A trained model's version, its vectors per label, training metrics and checkpoint path."""

    version: str
    vectors: Vectors
    metrics: dict[str, Any] = field(default_factory=dict)
    checkpoint: Path | None = None


@torch.no_grad()
def _vectors(
    model: InterestGNN,
    config: GnnConfig,
    data: HeteroData,
    ids: IdMaps,
    item_keys: list[str],
    concept_keys: list[str],
    user_keys: list[str],
) -> Vectors:
    """One forward pass over the whole graph (every edge, nothing held out)."""
    model.eval()
    rows = id_rows(ids, item_keys, concept_keys, user_keys)
    graph = build_prop_graph(data, rows, config.user_concept_beta, config.use_related)
    out = model.split(graph, model(graph))
    return {
        LABEL_OF[t]: (list(ids.keys[t]), out[t].numpy().astype(np.float32, copy=True)) for t in NODE_ORDER
    }


def fit_vectors(
    snapshot: GraphSnapshot,
    text_vectors: Mapping[str, tuple[list[str], np.ndarray]],
    config: GnnConfig = GnnConfig(),
    checkpoint_dir: Path | None = None,
    warm_start: Path | None = None,
    progress: bool = True,
) -> GnnResult:
    """Train on the snapshot and return vectors for every User, Item, Concept and Topic.

    `text_vectors[label] = (keys, (n, 384) matrix)` gives the MiniLM vectors of Items,
    Concepts and Topics. The model is saved as `checkpoint_dir/checkpoint.pt` (state dict,
    config, id maps, version). `warm_start` is a previous checkpoint file or folder: its
    projections and the ID rows of items, concepts and users that still exist are copied before
    training (`dim` and `layers` are taken from it). Vectors are not L2-normalised.
    """
    data, ids = to_heterodata(snapshot, text_vectors)
    previous = load_checkpoint(warm_start) if warm_start is not None else None
    if previous is not None:
        old = previous["config"]
        config = GnnConfig(**{**config.__dict__, "dim": old["dim"], "layers": old["layers"]})
    outcome = train(data, ids, config, previous, progress)
    version = model_version(outcome.model)
    path = save_checkpoint(Path(checkpoint_dir), outcome, config, ids, version) if checkpoint_dir else None
    vectors = _vectors(
        outcome.model, config, data, ids, outcome.item_keys, outcome.concept_keys, outcome.user_keys
    )
    metrics = {**outcome.metrics, "warm_start": str(warm_start) if warm_start else None}
    return GnnResult(version, vectors, metrics, path)


def infer_vectors(
    checkpoint: Path, snapshot: GraphSnapshot, text_vectors: Mapping[str, tuple[list[str], np.ndarray]]
) -> Vectors:
    """Vectors for every node of `snapshot` from a saved model, without training.

    Nodes unseen in training get their vector from their text and neighbours (their ID
    embedding is zero), so new users and items are covered.
    """
    payload = load_checkpoint(Path(checkpoint))
    model, config = model_from_checkpoint(payload)
    data, ids = to_heterodata(snapshot, text_vectors)
    return _vectors(
        model, config, data, ids, payload["item_keys"], payload["concept_keys"], payload.get("user_keys", [])
    )


def checkpoint_version(checkpoint: Path) -> str:
    """The model version string stored in a checkpoint."""
    return str(load_checkpoint(Path(checkpoint))["version"])


def write_vectors(store: GraphStore, result: GnnResult) -> None:
    """Store each label's vectors as `embedding`, tagged with `result.version`."""
    for label, (keys, matrix) in result.vectors.items():
        if keys:
            store.write_vectors(label, keys, matrix, prop="embedding", model_version=result.version)


__all__ = [
    "GnnConfig",
    "GnnResult",
    "IdMaps",
    "checkpoint_version",
    "fit_vectors",
    "infer_vectors",
    "to_heterodata",
    "write_vectors",
]
