"""When a refresh retrains the GNN, and when it only infers vectors with the model it has.

Training is the most expensive step of a refresh; a few new events do not change what the
model has learned, and the model is inductive (gnn.infer_vectors gives new users and items a
vector from their text and neighbours). So an incremental refresh reuses the last trained
model and retrains only when:

- the refresh is full (`refresh(full=True)`), or there is no trained model yet;
- at least GNN_RETRAIN_FRACTION of the events or of the items are new since the model was
  trained (the setting `gnn_retrain_fraction` of `InterestGraph` / `run_refresh`;
  0 retrains on every refresh, as before);
- a user the model has an ID row for was forgotten (`forget_user`): retraining drops what it
  learned about them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GNN_RETRAIN_FRACTION = 0.1
"""Share of new events or items (since the model was trained) at which an incremental refresh retrains."""


@dataclass(frozen=True)
class GnnDecision:
    """Whether this refresh retrains the GNN, and the reason shown in the refresh report."""

    retrain: bool
    reason: str


def decide_gnn(
    full: bool,
    has_model: bool,
    trained_on: Mapping[str, Any] | None,
    n_events: int,
    n_items: int,
    forgotten: Collection[str] = (),
    fraction: float = GNN_RETRAIN_FRACTION,
) -> GnnDecision:
    """Retrain or infer (rule in the module docstring); trained_on = {"events": n, "items": n} at training."""
    if fraction < 0:
        raise ValueError(f"gnn_retrain_fraction must be >= 0 (got {fraction}); 0 retrains on every refresh")
    if full:
        return GnnDecision(True, "full refresh")
    if not has_model:
        return GnnDecision(True, "no trained model yet")
    if not trained_on:
        return GnnDecision(True, "no record of what the model was trained on")
    if forgotten:
        return GnnDecision(True, f"{len(forgotten)} forgotten user(s) still in the model")
    old_events, old_items = int(trained_on.get("events", 0)), int(trained_on.get("items", 0))
    new_events, new_items = max(n_events - old_events, 0), max(n_items - old_items, 0)
    since = (
        f"{new_events} new events, {new_items} new items since it was trained on {old_events} / {old_items}"
    )
    if new_events >= fraction * max(old_events, 1) or new_items >= fraction * max(old_items, 1):
        return GnnDecision(True, f"{since} (retrains at {fraction:.0%})")
    return GnnDecision(
        False,
        f"{since}: vectors inferred with the existing model (retrains at {fraction:.0%} or with --full)",
    )


def gnn_step(
    snapshot: Any,
    text_vectors: Mapping[str, tuple[list[str], Any]],
    previous: Path | None,
    previous_info: Mapping[str, Any],
    checkpoint_dir: Path,
    full: bool,
    config: Any,
    n_events: int,
    n_items: int,
    fraction: float = GNN_RETRAIN_FRACTION,
    progress: bool = True,
    fit: Any = None,
) -> tuple[Any, dict[str, Any]]:
    """Retrain (warm-started) or infer with the previous checkpoint; (gnn.GnnResult, report info).

    `fit` trains in place of gnn.fit_vectors (same arguments): the Spark engine's TorchDistributor.

    The checkpoint used is saved under checkpoint_dir either way (a link or copy of the previous
    one when only inferring), so the new version owns the model that made its vectors.
    """
    import gnn
    from gnn.train import load_checkpoint

    has_model = previous is not None and previous.exists()
    forgotten: list[str] = []
    if previous is not None and has_model and not full:
        users = set(snapshot.node_keys("User"))
        forgotten = [u for u in load_checkpoint(previous).get("user_keys", []) if u not in users]
    decision = decide_gnn(
        full, has_model, previous_info.get("trained_on"), n_events, n_items, forgotten, fraction
    )
    if decision.retrain:
        result = (fit or gnn.fit_vectors)(
            snapshot,
            text_vectors,
            config or gnn.GnnConfig(),
            checkpoint_dir=checkpoint_dir,
            warm_start=previous if has_model and not full else None,
            progress=progress,
        )
        trained_on = {"events": n_events, "items": n_items, "version": result.version}
        metrics = {k: v for k, v in result.metrics.items() if isinstance(v, (int, float, str))}
    else:
        assert previous is not None
        checkpoint = _carry(previous, checkpoint_dir)
        vectors = gnn.infer_vectors(checkpoint, snapshot, text_vectors)
        result = gnn.GnnResult(gnn.checkpoint_version(checkpoint), vectors, {}, checkpoint)
        trained_on = dict(previous_info["trained_on"])
        metrics = {}
    info = {
        "model_version": result.version,
        **metrics,
        "retrained": decision.retrain,
        "reason": decision.reason,
        "trained_on": trained_on,
    }
    return result, info


def _carry(previous: Path, checkpoint_dir: Path) -> Path:
    """Hard-link (or copy) the previous checkpoint file into this version's model folder."""
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    target = checkpoint_dir / previous.name
    if target.exists():
        target.unlink()
    try:
        os.link(previous, target)
    except OSError:
        shutil.copy2(previous, target)
    return target
