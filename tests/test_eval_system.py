"""The ikg system in the evaluation harness: planted cross-domain interests, cold start, no leakage."""

import pytest

from ikg.eval import run_evaluation, synthetic_dataset
from ikg.eval.leakage import find_leaks
from ikg.eval.protocols import make_split
from ikg.eval.system import InterestGraphSystem, system_method

pytestmark = [pytest.mark.models, pytest.mark.slow]


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(0, n_users=300, items_per_domain=240, events_per_user=60, noise=0.1)


@pytest.fixture(scope="module")
def split(data):
    return make_split(data, "cold-start", "books", "films", seed=1, n_valid=30, n_test=40)


@pytest.fixture(scope="module")
def scratch(data, split):
    """The system built from scratch (real extraction, no GNN) on the split's training events; read only."""
    system = InterestGraphSystem(use_gnn=False)
    system.fit(split.train, data.items)
    return system


def test_the_system_recovers_planted_interests_at_least_twice_as_well_as_popularity(data):
    report = run_evaluation(
        data,
        "cold-start",
        ["popularity"],
        k=20,
        source_domain="books",
        target_domain="films",
        n_valid=60,
        n_test=75,
        extra=[system_method(gnn_epochs=20)],
    )
    popularity = report.result("popularity").per_user["recall"].mean()
    system = report.result("ikg").per_user["recall"].mean()
    assert system >= 2 * popularity, (system, popularity)
    assert report.compare("ikg", "popularity", "recall").p_win > 0.99


def test_nothing_hidden_from_a_test_user_reaches_the_built_graph(data, split, scratch):
    system = scratch
    snapshot = system.graph.store.snapshot()
    built = snapshot.edge_frame("INTERACTED").rename(columns={"src": "user_id", "dst": "item_id"})
    assert not len(find_leaks(built[["user_id", "item_id"]], split))
    hidden_users = set(split.test.user_ids)
    interests = snapshot.edge_frame("INTERESTED_IN")
    films = set(data.items.loc[data.items["domain"] == "films", "item_id"])
    for user, domains in zip(interests["src"], interests["domains"]):
        if user in hidden_users:
            assert "films" not in domains, "a test user's interests come only from what they showed"
    state = system.graph.workdir.load_state()
    events = state.table("events")
    assert not len(events[events["user_id"].isin(hidden_users) & events["item_id"].isin(films)])


def test_builds_from_an_items_only_catalog_reuse_its_extraction_and_match_a_build_from_scratch(
    data, split, scratch, tmp_path
):
    from benchmarks.bench_eval_system import build_catalog

    build_catalog(data.items, tmp_path / "catalog")
    from_catalog = InterestGraphSystem(use_gnn=False, catalog=tmp_path / "catalog")
    from_catalog.fit(split.train, data.items)
    reused = from_catalog.graph.workdir.load_state().meta
    assert reused["timings"]["extract"] < scratch.graph.workdir.load_state().meta["timings"]["extract"]
    a = from_catalog.graph.store.snapshot()
    b = scratch.graph.store.snapshot()
    for label in ("Item", "Concept"):
        assert sorted(a.node_keys(label)) == sorted(b.node_keys(label))
    pairs = {(s, d) for s, d in zip(a.edge_frame("HAS_CONCEPT")["src"], a.edge_frame("HAS_CONCEPT")["dst"])}
    assert pairs == {
        (s, d) for s, d in zip(b.edge_frame("HAS_CONCEPT")["src"], b.edge_frame("HAS_CONCEPT")["dst"])
    }
