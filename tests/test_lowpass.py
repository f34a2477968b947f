"""The low-pass graph filter: what it ranks, what it stores, and how the blend serves it."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from ikg.eval import synthetic_dataset
from ikg.eval.protocols import make_split
from kg.lowpass import RANKS, fit_lowpass, from_arrays, lowpass_from_snapshot, to_arrays, truncate
from kg.store import GraphSnapshot


def _two_taste_groups(n_users: int = 40) -> tuple[sp.csr_matrix, list[str]]:
    """Users 0..n/2 buy books b0-b4 and films f0-f4; the rest buy books b5-b9 and films f5-f9."""
    items = [f"b{i}" for i in range(10)] + [f"f{i}" for i in range(10)]
    rng = np.random.default_rng(0)
    rows, cols = [], []
    for user in range(n_users):
        offset = 0 if user < n_users // 2 else 5
        for start in (0, 10):
            for item in rng.choice(5, size=3, replace=False):
                rows.append(user)
                cols.append(start + offset + item)
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, len(items)))
    return matrix, items


def _scores(lowpass, history: np.ndarray) -> np.ndarray:
    return (history @ lowpass.item_in) @ lowpass.item_out.T


def test_a_history_in_one_domain_ranks_the_same_taste_group_first_in_the_other():
    matrix, items = _two_taste_groups()
    lowpass = fit_lowpass(matrix, items, rank=2)  # the two smoothest components: one per taste group
    cold = np.zeros(len(items), np.float32)
    cold[[0, 1]] = 1.0  # two books of the first group, no films at all
    films = _scores(lowpass, cold)[10:]
    assert films[:5].min() > films[5:].max()


def test_an_item_nobody_engaged_with_scores_nothing():
    matrix, items = _two_taste_groups()
    matrix = matrix.tolil()
    matrix[:, 19] = 0.0
    lowpass = fit_lowpass(matrix.tocsr(), items, rank=4)
    assert not lowpass.item_out[19].any() and not lowpass.item_in[19].any()


def test_stored_factors_follow_the_serving_item_order_and_new_items_get_zero_rows():
    matrix, items = _two_taste_groups()
    lowpass = fit_lowpass(matrix, items, rank=4)
    order = [*items[::-1], "new-item"]
    loaded = from_arrays(to_arrays(lowpass), order)
    assert loaded.items == order
    np.testing.assert_array_equal(loaded.item_out[0], lowpass.item_out[items.index(order[0])])
    assert not loaded.item_in[-1].any()
    assert from_arrays({}, order) is None


def test_a_smaller_rank_is_the_strongest_components_of_the_one_fit():
    matrix, items = _two_taste_groups()
    lowpass = fit_lowpass(matrix, items, rank=8)
    small = truncate(lowpass, 2)
    assert small.rank == 2
    np.testing.assert_array_equal(small.item_in, lowpass.item_in[:, :2])
    assert truncate(lowpass, None) is lowpass and truncate(lowpass, 100) is lowpass


def test_dislikes_and_edges_outside_the_snapshot_do_not_shape_the_filter():
    items = pd.DataFrame({"key": ["a", "b", "c"], "domain": ["books", "books", "films"]})
    edges = pd.DataFrame(
        {"src": ["u1", "u1", "u2", "u2"], "dst": ["a", "c", "b", "c"], "weight": [1.0, 1.0, 1.0, -1.0]}
    )
    lowpass = lowpass_from_snapshot(GraphSnapshot({"Item": items}, {"INTERACTED": edges}, {}), rank=1)
    assert lowpass is not None and lowpass.items == ["a", "b", "c"]
    without_dislike = lowpass_from_snapshot(
        GraphSnapshot({"Item": items}, {"INTERACTED": edges.iloc[:3]}, {}), rank=1
    )
    np.testing.assert_allclose(np.abs(lowpass.item_out), np.abs(without_dislike.item_out), atol=1e-6)


@pytest.mark.models
@pytest.mark.slow
class TestInTheSystem:
    @pytest.fixture(scope="class")
    def graph(self):
        from ikg.eval.system import InterestGraphSystem

        data = synthetic_dataset(
            2, n_users=200, items_per_domain=40, events_per_user=16, noise=0.1, bridge_users=0.5
        )
        split = make_split(data, "cold-start", "books", "films", seed=0, n_valid=15, n_test=20)
        system = InterestGraphSystem(use_gnn=False)
        system.fit(split.train, data.items)
        return system.graph

    def test_each_refresh_fits_the_filter_and_tuning_chooses_its_rank(self, graph):
        state = graph._current_state()
        assert {"lowpass_in", "lowpass_out", "lowpass_keys"} <= set(state.arrays)
        tuning = state.meta["blend_tuning"]
        assert state.meta["lowpass_rank"] in RANKS or state.meta["lowpass_rank"] < RANKS[0]
        assert set(tuning["lowpass_ranks"]) <= {str(r) for r in RANKS}
        assert any(row["lowpass"] > 0 for row in tuning["table"]), "the grid weighs the filter"

    def test_a_weighted_filter_is_part_of_every_score_and_shown_as_a_component(self, graph):
        model = graph.model()  # shared with other tests through the system's build cache: restore it
        saved = model.blend, model.domain_blends
        model.blend, model.domain_blends = {"collaborative": 1.0, "lowpass": 1.0}, {}
        try:
            batches = model.recommend(model.index.users[:5], k=10, domain="films", with_reasons=False)
        finally:
            model.blend, model.domain_blends = saved
        for recs in batches:
            for r in recs:
                assert -1.0 <= r.components["lowpass"] <= 1.0
                expected = (r.components["collaborative"] + r.components["lowpass"]) / 2
                assert r.score == pytest.approx(expected, abs=2e-4)
            assert any(r.components["lowpass"] != 0 for r in recs)
