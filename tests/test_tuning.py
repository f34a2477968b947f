"""Blend tuning: a migration-style validation split, a GNN that never sees the hidden edges, coordinate ascent."""

import numpy as np
import pytest

from ikg.eval import synthetic_dataset
from ikg.serving import DEFAULT_BLEND
from ikg.tuning import GRID, MIN_GAIN, _ascend, _holdout, tune_blend

pytestmark = [pytest.mark.models, pytest.mark.slow]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from ikg import InterestGraph

    data = synthetic_dataset(
        3, n_users=160, items_per_domain=40, events_per_user=14, noise=0.1, bridge_users=0.5
    )
    graph = InterestGraph.open(tmp_path_factory.mktemp("tuning") / "graph", use_gnn=False)
    graph.ingest_items(data.items[["item_id", "domain", "title", "description", "categories"]])
    graph.ingest_events(data.events[["user_id", "item_id", "kind", "ts"]])
    graph.refresh(progress=False)
    state = graph.workdir.load_state()
    return graph.store.snapshot(), state


def _pairs(frame):
    return set(zip(frame["src"], frame["dst"]))


def _refit_recording(state, seen):
    import gnn
    from ikg.refresh import _gnn_arrays

    text = {"Item": (state.table("items")["item_id"].tolist(), state.arrays["item_text"])}

    def refit(reduced):
        seen.append(reduced)
        config = gnn.GnnConfig(epochs=5, threads=1)
        return _gnn_arrays(gnn.fit_vectors(reduced, text, config, progress=False).vectors)

    return refit


def test_the_validation_gnn_is_trained_without_any_hidden_edge_and_its_weight_is_tuned(built):
    snapshot, state = built
    seen = []
    tuning = tune_blend(snapshot, state.arrays, n_users=40, refit_gnn=_refit_recording(state, seen))
    _, hidden = _holdout(snapshot, 40, 0)
    assert len(seen) == 1 and len(hidden)
    assert not _pairs(hidden) & _pairs(seen[0].edge_frame("INTERACTED"))
    assert _pairs(hidden) <= _pairs(snapshot.edge_frame("INTERACTED"))
    assert {row["gnn"] for row in tuning["table"]} == set(GRID["gnn"]) | {DEFAULT_BLEND["gnn"]}
    assert tuning["gnn"] == "retrained on the validation graph"


def test_without_a_refit_the_leaky_gnn_weight_is_held_at_its_default(built):
    snapshot, state = built
    tuning = tune_blend(snapshot, state.arrays, n_users=40)
    assert {row["gnn"] for row in tuning["table"]} == {DEFAULT_BLEND["gnn"]}
    assert tuning["gnn"] == "held at its default weight"


def test_the_default_blend_stays_unless_the_chosen_one_gains_min_gain(built):
    snapshot, state = built
    tuning = tune_blend(snapshot, state.arrays, n_users=40)
    default, chosen = tuning["default_ndcg@20"], tuning["chosen_ndcg@20"]
    if tuning["chosen"] == "default":
        assert tuning["blend"] == DEFAULT_BLEND and chosen == default
    else:
        assert chosen >= default * (1 + MIN_GAIN) - 1e-5
    best_row = max(tuning["table"], key=lambda r: r["ndcg@20"])
    assert chosen <= best_row["ndcg@20"]
    for domain, entry in tuning["by_domain"].items():
        if entry["chosen"]:
            assert entry["best_ndcg@20"] >= entry["global_ndcg@20"] * (1 + MIN_GAIN) - 1e-5
            assert tuning["blend_by_domain"][domain] == entry["blend"]


def test_coordinate_ascent_finds_the_peak_of_a_separable_objective_with_few_evaluations():
    grid = {"a": (0.0, 1.0, 2.0, 3.0), "b": (0.0, 0.5, 1.0)}
    calls = []

    def objective(blend):
        calls.append(dict(blend))
        return -((blend["a"] - 2.0) ** 2) - (blend["b"] - 0.5) ** 2

    best, score = _ascend(objective, {"a": 0.0, "b": 0.0}, grid)
    assert best == {"a": 2.0, "b": 0.5} and np.isclose(score, 0.0)
    assert len(calls) < 2 * (len(grid["a"]) + len(grid["b"])) + 1
