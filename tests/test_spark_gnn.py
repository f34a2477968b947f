"""GNN training with TorchDistributor (2 DDP processes, gloo on CPU) against single-process training.

The synthetic cold-start protocol of benchmarks/bench_gnn.py, small: users active in the
source domains have their target-domain events hidden, and each model ranks the target
items for them. The 2-process model's per-user Recall@20 must be level with the
single-process model's: the paired-bootstrap CI of the difference (ikg.eval) contains 0.
"""

from __future__ import annotations

import numpy as np
import pytest

import gnn
from encoders.text_encoder import get_text_encoder
from gnn.synthetic import item_text, snapshot_from_frames
from gnn.train import GnnConfig
from ikg.eval.metrics import paired_bootstrap
from ikg.spark.torch_train import fit_vectors_distributed
from kg.synthetic import make_cross_domain

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.models]

TARGET, K = "films", 20


def _cold_start(seed: int = 1):
    """Visible events, held-out users and their hidden target-domain items (as bench_gnn.cold_start_split)."""
    syn = make_cross_domain(n_users=300, items_per_domain=60, events_per_user=20, seed=seed)
    domain = dict(zip(syn.items["item_id"], syn.items["domain"]))
    events = syn.events.assign(domain=syn.events["item_id"].map(domain))
    in_target = events[events["domain"] == TARGET].groupby("user_id")["item_id"].agg(set)
    elsewhere = set(events.loc[events["domain"] != TARGET, "user_id"])
    eligible = sorted(u for u in in_target.index if u in elsewhere)
    held = sorted(
        np.random.default_rng(seed).choice(eligible, size=len(eligible) // 4, replace=False).tolist()
    )
    visible = events[~(events["user_id"].isin(held) & (events["domain"] == TARGET))].drop(columns="domain")
    return syn, visible, {u: in_target[u] for u in held}


def _recall(result, held: dict, target_items: list[str]) -> np.ndarray:
    users = dict(zip(*result.vectors["User"]))
    items = dict(zip(*result.vectors["Item"]))
    matrix = np.stack([items[i] for i in target_items])
    out = []
    for user, truth in held.items():
        top = np.argsort(-(matrix @ users[user]), kind="stable")[:K]
        out.append(len({target_items[j] for j in top} & truth) / len(truth))
    return np.asarray(out)


def test_two_process_training_is_level_with_one_process(spark, tmp_path):
    syn, visible, held = _cold_start()
    snapshot = snapshot_from_frames(syn.items, visible).sorted()
    encoder = get_text_encoder()
    concepts = snapshot.node_keys("Concept")
    text = {
        "Item": (syn.items["item_id"].tolist(), encoder.encode(item_text(syn.items))),
        "Concept": (concepts, encoder.encode(concepts)),
    }
    config = GnnConfig(seed=0, epochs=60, threads=1, max_minutes=3)
    single = gnn.fit_vectors(snapshot, text, config, progress=False)
    multi = fit_vectors_distributed(spark, snapshot, text, config, scratch=tmp_path, num_processes=2)
    assert multi.metrics["processes"] == 2 and multi.checkpoint is not None and multi.checkpoint.exists()
    assert set(multi.vectors["User"][0]) == set(single.vectors["User"][0])

    target_items = syn.items.loc[syn.items["domain"] == TARGET, "item_id"].tolist()
    ours, theirs = _recall(multi, held, target_items), _recall(single, held, target_items)
    interval, _ = paired_bootstrap(ours, theirs)
    assert len(held) >= 30 and theirs.mean() > 0.1
    assert interval.low <= 0.0 <= interval.high, f"2 processes minus 1 process: {interval}"
