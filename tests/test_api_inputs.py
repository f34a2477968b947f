"""What a new user passes to the API: unknown and oddly typed ids, bad k and diversity, and
`to_frame` on every result type. One small synthetic world, built once with the real models."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

import gnn
from ikg import InterestGraph, to_frame
from ikg.results import Explanation, Migration, Profile, Recommendations
from kg.synthetic import make_cross_domain

pytestmark = [pytest.mark.models, pytest.mark.slow]

FAST_GNN = gnn.GnnConfig(epochs=6, eval_every=3, patience=1)
NUMERIC_USER = 1001


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    data = make_cross_domain(n_users=24, items_per_domain=16, events_per_user=10, seed=5)
    numeric = data.events[data.events["user_id"] == "u0001"].assign(user_id=str(NUMERIC_USER))
    events = pd.concat([data.events, numeric], ignore_index=True)
    ig = InterestGraph.open(tmp_path_factory.mktemp("inputs"), gnn_config=FAST_GNN)
    ig.ingest_items(data.items)
    ig.ingest_events(events)
    ig.refresh(progress=False)
    yield ig, data
    ig.close()


def test_an_unknown_user_gets_popular_items_flagged_as_cold_start_with_a_warning(built, caplog):
    ig, _ = built
    with caplog.at_level(logging.WARNING, logger="ikg.graph"):
        recs = ig.recommend("nobody-here", k=5, domain="films")
    assert isinstance(recs, Recommendations) and recs.cold_start
    assert len(recs) == 5
    assert all(r.cold_start for r in recs)
    assert all(r.reasons == ["popular in films: no history for this user"] for r in recs)
    assert any("no history" in m and "nobody-here" in m for m in caplog.messages)


def test_a_known_user_is_not_flagged(built, caplog):
    ig, _ = built
    with caplog.at_level(logging.WARNING, logger="ikg.graph"):
        recs = ig.recommend("u0002", k=5)
    assert not recs.cold_start and not any(r.cold_start for r in recs)
    assert not any("no history" in m for m in caplog.messages)


def test_an_int_id_is_the_same_user_as_its_string(built):
    ig, _ = built
    as_int = ig.recommend(NUMERIC_USER, k=5)
    as_str = ig.recommend(str(NUMERIC_USER), k=5)
    assert not as_int.cold_start
    assert [r.item_id for r in as_int] == [r.item_id for r in as_str]
    assert ig.profile(NUMERIC_USER).interests == ig.profile("1001").interests
    assert ig.migrate(np.int64(NUMERIC_USER), "music", k=3).items == ig.migrate(" 1001 ", "music", k=3).items
    batch = ig.recommend_batch([NUMERIC_USER, "u0002"], k=3)
    assert list(batch) == ["1001", "u0002"]


def test_a_forgotten_user_is_flagged_as_cold_start(tmp_path):
    data = make_cross_domain(n_users=10, items_per_domain=8, events_per_user=6, seed=2)
    ig = InterestGraph.open(tmp_path, use_gnn=False)
    ig.ingest_items(data.items)
    ig.ingest_events(data.events)
    ig.refresh(progress=False)
    assert not ig.recommend("u0003", k=3).cold_start
    ig.forget_user("u0003")
    recs = ig.recommend("u0003", k=3)
    assert recs.cold_start and all(r.cold_start for r in recs)
    assert ig.profile("u0003").cold_start
    ig.close()


def test_migrate_profile_and_explain_of_an_unknown_user_say_so(built):
    ig, data = built
    migration = ig.migrate("nobody-here", "music", k=4)
    assert migration.cold_start and migration.bridges == []
    assert all(r.cold_start for r in migration.items)
    profile = ig.profile("nobody-here")
    assert profile.cold_start and profile.interests == []
    assert ig.explain("nobody-here", data.items["item_id"].iloc[0]) == []
    assert not ig.known_user("nobody-here") and ig.known_user("u0002") and ig.known_user(NUMERIC_USER)


@pytest.mark.parametrize("bad", [["u1"], None, "", "   ", {"id": 1}, True, float("nan")])
def test_an_invalid_user_id_is_a_clear_value_error_in_every_method(built, bad):
    ig, data = built
    item = data.items["item_id"].iloc[0]
    calls = [
        lambda: ig.recommend(bad),
        lambda: ig.recommend_batch([bad]),
        lambda: ig.migrate(bad, "music"),
        lambda: ig.explain(bad, item),
        lambda: ig.profile(bad),
        lambda: ig.feedback(bad, item, "like"),
        lambda: ig.forget_user(bad),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="user_id"):
            call()


def test_recommend_batch_refuses_a_single_string():
    from ikg.inputs import user_ids_arg

    with pytest.raises(ValueError, match="list of ids"):
        user_ids_arg("u0001")


@pytest.mark.parametrize("k", [-1, 0, 2.5, "5", True, None])
def test_a_bad_k_is_a_clear_value_error(built, k):
    ig, _ = built
    with pytest.raises(ValueError, match="k must be"):
        ig.recommend("u0002", k=k)
    with pytest.raises(ValueError, match="k must be"):
        ig.migrate("u0002", "music", k=k)


@pytest.mark.parametrize("diversity", [-0.1, 1.5, 5, float("nan"), "0.3"])
def test_diversity_outside_zero_one_is_a_clear_value_error(built, diversity):
    ig, _ = built
    with pytest.raises(ValueError, match=r"diversity must be"):
        ig.recommend("u0002", diversity=diversity)


def test_diversity_at_the_bounds_is_accepted(built):
    ig, _ = built
    assert len(ig.recommend("u0002", k=4, diversity=0)) == 4
    assert len(ig.recommend("u0002", k=4, diversity=1)) == 4


def test_to_frame_takes_every_result_type(built):
    ig, _ = built
    recs = ig.recommend("u0002", k=4)
    frame = to_frame(recs)
    assert list(frame["item_id"]) == [r.item_id for r in recs]
    assert {"score", "similarity", "cold_start", "reasons"} <= set(frame.columns)

    batch = ig.recommend_batch(["u0002", "u0003"], k=3)
    frame = to_frame(batch)
    assert len(frame) == 6 and list(frame["user_id"]) == ["u0002"] * 3 + ["u0003"] * 3

    migration = ig.migrate("u0002", "music", k=3)
    assert isinstance(migration, Migration)
    frame = to_frame(migration)
    assert list(frame["item_id"]) == [r.item_id for r in migration.items]
    assert set(frame["target_domain"]) == {"music"}
    assert "migration_cold_start" in frame
    assert len(to_frame(migration.bridges)) == len(migration.bridges)

    profile = ig.profile("u0002")
    assert isinstance(profile, Profile) and profile.interests
    frame = to_frame(profile)
    assert list(frame["key"]) == [i.key for i in profile.interests]
    assert set(frame["user_id"]) == {"u0002"}

    item = recs[0].item_id
    paths = ig.explain("u0002", item)
    assert paths and all(isinstance(p, Explanation) for p in paths)
    frame = to_frame(paths)
    assert list(frame["kind"]) == [p.kind for p in paths] and "cypher" in frame

    assert to_frame([]).empty
    assert "item_id" in to_frame(Recommendations([])).columns
    one = to_frame(recs[0])
    assert len(one) == 1 and one["item_id"][0] == recs[0].item_id


def test_to_frame_says_what_it_takes():
    with pytest.raises(TypeError, match="to_frame takes"):
        to_frame(42)
    with pytest.raises(TypeError, match="not an ikg result"):
        to_frame([{"item_id": "x"}])
