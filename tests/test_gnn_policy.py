"""The GNN retrain policy: small deltas infer with the existing model, large ones and --full retrain.

The rule is tested on its own, then end to end: a real refresh (spaCy, MiniLM, a short GNN
training) followed by three feedback events from a new user (no retrain, the user gets a
vector from the existing model), then a batch of new events above the threshold (retrain).
"""

from __future__ import annotations

import numpy as np
import pytest

import gnn
from ikg import InterestGraph
from ikg.gnn_policy import decide_gnn
from kg.synthetic import make_cross_domain

FAST_GNN = gnn.GnnConfig(epochs=10, eval_every=5, patience=2)
TRAINED = {"events": 1000, "items": 100}


def test_a_full_refresh_or_a_missing_model_retrains():
    assert decide_gnn(True, True, TRAINED, 1001, 100).retrain
    assert decide_gnn(False, False, None, 1001, 100).reason == "no trained model yet"
    assert decide_gnn(False, True, None, 1001, 100).retrain


def test_new_events_or_items_below_the_fraction_only_infer():
    decision = decide_gnn(False, True, TRAINED, 1003, 100, fraction=0.1)
    assert not decision.retrain
    assert "3 new events" in decision.reason and "inferred" in decision.reason


def test_enough_new_events_or_items_retrain():
    assert decide_gnn(False, True, TRAINED, 1100, 100, fraction=0.1).retrain
    assert decide_gnn(False, True, TRAINED, 1001, 110, fraction=0.1).retrain
    assert decide_gnn(False, True, TRAINED, 1001, 100, fraction=0.0).retrain


def test_a_forgotten_user_in_the_model_forces_a_retrain():
    decision = decide_gnn(False, True, TRAINED, 1001, 100, forgotten=["u1"])
    assert decision.retrain and "forgotten" in decision.reason


def test_a_negative_fraction_is_a_clear_error():
    with pytest.raises(ValueError, match="gnn_retrain_fraction"):
        decide_gnn(False, True, TRAINED, 1001, 100, fraction=-0.5)


@pytest.mark.models
@pytest.mark.slow
def test_three_feedback_events_infer_and_a_large_batch_retrains(tmp_path):
    data = make_cross_domain(n_users=30, items_per_domain=16, events_per_user=12, seed=5)
    ig = InterestGraph.open(tmp_path, gnn_config=FAST_GNN, gnn_retrain_fraction=0.1)
    ig.ingest_items(data.items)
    ig.ingest_events(data.events)
    first = ig.refresh(progress=False)
    assert first.gnn["retrained"] and first.gnn["reason"] == "no trained model yet"

    items = data.items["item_id"].tolist()
    for item in items[:3]:
        ig.feedback("u-new", item, "like")
    small = ig.refresh(progress=False)
    assert not small.gnn["retrained"], small.gnn["reason"]
    assert "3 new events" in small.gnn["reason"]
    assert small.gnn["model_version"] == first.gnn["model_version"]
    arrays = ig.workdir.load_state().arrays
    users = arrays["gnn_User_keys"].tolist()
    assert "u-new" in users
    vector = arrays["gnn_User"][users.index("u-new")]
    assert np.isfinite(vector).all() and np.linalg.norm(vector) > 0
    assert ig.recommend("u-new", k=3)

    more = data.events.sample(frac=0.15, random_state=1).assign(user_id=lambda f: "x-" + f["user_id"])
    ig.ingest_events(more)
    large = ig.refresh(progress=False)
    assert large.gnn["retrained"], large.gnn["reason"]
    assert large.gnn["model_version"] != first.gnn["model_version"]

    ig.forget_user("u0001")
    checkpoint = gnn.load_checkpoint(ig.workdir.model_dir(ig.version) / "checkpoint.pt")
    assert "u0001" not in checkpoint["user_keys"]  # forget drops the learned row at once
    ig.feedback("u-new", items[3], "like")
    after_forget = ig.refresh(progress=False)
    assert not after_forget.gnn["retrained"], after_forget.gnn["reason"]
    ig.close()
