"""The Spark engine's inputs: only the inbox batches new since the active version, plus its pair state.

Two refreshes on Spark local[2] (the session fixture of tests/conftest.py) with a batch of
events ingested on each of two days: the second refresh reads that one batch file and the
first version's pair state, never the first batch again, and its INTERACTED rows (weights,
kinds, counts, times, last ratings, review texts) equal kg.weights over all events, the
local engine's full recompute (weights to 1e-9: the sums run in another order); so does the
refresh after a rollback to the first version, from its state plus the replayed batch. The first
refresh trains the GNN with TorchDistributor (the Spark engine's trainer); the second, with
few new events, infers vectors from that model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gnn.train import GnnConfig
from ikg import InterestGraph
from ikg.spark.increments import STATE_META, STATE_TABLE, weights_of
from kg.synthetic import make_cross_domain
from kg.weights import aggregate_interactions

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.models]

DAY_ONE, DAY_TWO = 1_764_460_800.0, 1_764_547_200.0  # 2025-11-30 and 2025-12-01, 00:00 UTC


def _stamp_new_batches(ig: InterestGraph, when: float) -> list[Path]:
    """Give the pending event batches an ingest time (file mtime) of `when`; return their paths."""
    paths = [path for _, kind, path in ig.workdir.pending() if kind == "events"]
    for path in paths:
        os.utime(path, (when, when))
    return paths


def _read_log(ig: InterestGraph) -> dict:
    folder = ig.workdir.state_dir(ig.workdir.active()["version"])
    return json.loads((folder / STATE_META).read_text())


def _assert_equals_full_recompute(spark, ig: InterestGraph, n_events: int) -> None:
    """The active version's INTERACTED rows equal kg.weights over all its events (texts via its pair state)."""
    state = ig.workdir.load_state()
    expected = aggregate_interactions(state.table("events"), ig.weights)
    assert len(state.table("events")) == n_events
    ours = state.table("interactions")
    pd.testing.assert_frame_equal(
        ours.drop(columns="weight"), expected.drop(columns=["weight", "text"]), check_dtype=False
    )
    np.testing.assert_allclose(ours["weight"], expected["weight"], rtol=1e-9, atol=1e-12)
    pairs = spark.read.parquet(str(ig.workdir.state_dir(ig.workdir.active()["version"]) / STATE_TABLE))
    texts = weights_of(pairs, ig.weights).select("user_id", "item_id", "text").toPandas()
    texts = texts.sort_values(["user_id", "item_id"]).reset_index(drop=True)
    joined = [t if isinstance(t, str) else None for t in texts["text"]]
    assert sum(t is not None for t in joined) > 0
    assert joined == expected["text"].tolist()


def test_second_refresh_reads_only_the_new_batch_and_equals_a_full_recompute(spark, tmp_path):
    syn = make_cross_domain(n_users=300, items_per_domain=20, events_per_user=16, seed=5)
    events = syn.events.copy()
    rng = np.random.default_rng(0)
    texts = rng.random(len(events)) < 0.03
    events["text"] = np.where(texts, "loved the " + events["item_id"] + " part, a slow start though", None)
    cut = int(len(events) * 0.7)
    ig = InterestGraph.open(tmp_path / "graph", gnn_config=GnnConfig(epochs=20), gnn_retrain_fraction=1.0)
    ig.ingest_items(syn.items)
    ig.ingest_events(events.iloc[:cut])
    first_batches = _stamp_new_batches(ig, DAY_ONE)
    report = ig.refresh(progress=False, engine="spark")
    assert report.gnn["retrained"] and report.gnn["processes"] == 2  # TorchDistributor, 2 DDP processes
    first = _read_log(ig)
    first_version = ig.workdir.active()["version"]
    assert first["read"]["mode"] == "full"

    ig.ingest_events(events.iloc[cut:])
    second_batches = _stamp_new_batches(ig, DAY_TWO)
    ig.refresh(progress=False, engine="spark")
    read = _read_log(ig)["read"]
    assert read["mode"] == "incremental"
    assert {Path(f.removeprefix("file:")).name for f in read["event_files"]} == {
        p.name for p in second_batches
    }
    assert not {p.name for p in first_batches} & {Path(f).name for f in read["event_files"]}
    assert [b["ingest_date"] for b in read["batches"]] == ["2025-12-01"] * len(second_batches)
    state_root = ig.workdir.state_dir(first_version) / STATE_TABLE
    assert read["state_files"] and all(str(state_root) in f for f in read["state_files"])

    _assert_equals_full_recompute(spark, ig, len(events))

    # a rollback puts what the second version took in back into the inbox as a new batch: the
    # next refresh builds on the first version's pair state plus that batch, and is exact again
    ig.rollback(first_version)
    ig.refresh(progress=False, engine="spark")
    read = _read_log(ig)["read"]
    assert read["mode"] == "incremental" and all(str(state_root) in f for f in read["state_files"])
    _assert_equals_full_recompute(spark, ig, len(events))
    ig.close()
