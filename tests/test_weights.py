"""Behaviour weights: kinds ordered, dislikes negative, ratings centred, saturation, half-life."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

from kg.weights import OUTPUT_COLUMNS, WeightConfig, aggregate_interactions, reference_time

DAY = 86_400.0
NOW = 1_700_000_000.0


def events(*rows: dict) -> pd.DataFrame:
    """Events with defaults: user 'u', kind 'view', ts NOW, no rating or text."""
    base = {"user_id": "u", "kind": "view", "ts": NOW, "rating": np.nan, "text": None}
    return pd.DataFrame([{**base, **r} for r in rows])


def weight_of(*rows: dict, config: WeightConfig = WeightConfig(), now: float | None = NOW) -> float:
    out = aggregate_interactions(events(*rows), config, now=now)
    assert len(out) == 1
    return float(out["weight"].iloc[0])


def test_one_row_per_user_item_with_the_documented_columns():
    out = aggregate_interactions(
        events({"item_id": "a"}, {"item_id": "a"}, {"item_id": "b"}, {"user_id": "v", "item_id": "a"})
    )
    assert list(out.columns) == OUTPUT_COLUMNS
    assert out[["user_id", "item_id", "count"]].values.tolist() == [
        ["u", "a", 2],
        ["u", "b", 1],
        ["v", "a", 1],
    ]


def test_kind_order_view_lt_click_lt_cart_lt_purchase():
    w = {k: weight_of({"item_id": "i", "kind": k}) for k in ("view", "click", "cart", "purchase")}
    assert w["view"] < w["click"] < w["cart"] < w["purchase"]
    assert w["view"] == pytest.approx(1.0)
    assert w["purchase"] == pytest.approx(4.0)


def test_dislike_is_negative_and_outweighs_a_view():
    assert weight_of({"item_id": "i", "kind": "dislike"}) == pytest.approx(-4.0)
    both = aggregate_interactions(events({"item_id": "i"}, {"item_id": "i", "kind": "dislike"}), now=NOW)
    assert both["weight"].iloc[0] < 0
    assert both["kind"].iloc[0] == "dislike"


def test_ratings_are_centred_on_the_scale_midpoint():
    w = {r: weight_of({"item_id": "i", "kind": "rating", "rating": float(r)}) for r in range(1, 6)}
    assert w[1] < w[2] < w[3] < w[4] < w[5]
    assert w[1] < 0 < w[5]
    assert w[5] - w[3] == pytest.approx(w[3] - w[1])  # symmetric around 3 of 1..5
    assert w[5] >= weight_of({"item_id": "i", "kind": "purchase"})  # 5/5 is strongly positive
    pure = WeightConfig(kind_weights={**WeightConfig().kind_weights, "rating": 0.0})
    assert weight_of({"item_id": "i", "kind": "rating", "rating": 3.0}, config=pure) == pytest.approx(0.0)
    ten_scale = WeightConfig(rating_scale=(0.0, 10.0))
    assert weight_of({"item_id": "i", "kind": "rating", "rating": 10.0}, config=ten_scale) == pytest.approx(
        w[5]
    )


def test_explicit_low_rating_beats_implicit_purchase():
    w = weight_of(
        {"item_id": "i", "kind": "purchase", "ts": NOW - DAY},
        {"item_id": "i", "kind": "rating", "rating": 1.0},
        config=WeightConfig(half_life_days=None),
    )
    assert w < 0


@pytest.mark.parametrize("frequency", ["exp", "log"])
def test_frequency_saturates(frequency):
    config = WeightConfig(frequency=frequency)
    one = weight_of({"item_id": "i"}, config=config)
    ten = weight_of(*[{"item_id": "i"}] * 10, config=config)
    hundred = weight_of(*[{"item_id": "i"}] * 100, config=config)
    assert one < ten < 10 * one
    assert ten < hundred < 10 * ten
    if frequency == "exp":
        assert hundred < one / (1 - math.exp(-1 / config.saturation)) + 1e-9  # bounded


def test_an_event_one_half_life_old_counts_half():
    config = WeightConfig(half_life_days=30.0, recency_floor=0.0)
    fresh = weight_of({"item_id": "i", "kind": "purchase", "ts": NOW}, config=config)
    old = weight_of({"item_id": "i", "kind": "purchase", "ts": NOW - 30 * DAY}, config=config)
    older = weight_of({"item_id": "i", "kind": "purchase", "ts": NOW - 60 * DAY}, config=config)
    assert old == pytest.approx(fresh / 2)
    assert older == pytest.approx(fresh / 4)


def test_reference_time_defaults_to_the_latest_event_and_untimed_events_do_not_decay():
    out = aggregate_interactions(
        events(
            {"item_id": "old", "ts": NOW - 30 * DAY},
            {"item_id": "new", "ts": NOW},
            {"item_id": "untimed", "ts": np.nan},
        ),
        WeightConfig(half_life_days=30.0, recency_floor=0.0),
    )
    w = dict(zip(out["item_id"], out["weight"]))
    assert w == pytest.approx({"new": 1.0, "old": 0.5, "untimed": 1.0})
    no_decay = aggregate_interactions(
        events({"item_id": "old", "ts": NOW - 300 * DAY}, {"item_id": "new"}),
        WeightConfig(half_life_days=None),
    )
    assert no_decay["weight"].tolist() == pytest.approx([1.0, 1.0])


def test_pair_fields_strongest_kind_last_rating_timestamps_and_texts():
    out = aggregate_interactions(
        events(
            {"item_id": "i", "kind": "view", "ts": NOW - 3 * DAY},
            {"item_id": "i", "kind": "review", "ts": NOW - DAY, "rating": 2.0, "text": "Too long."},
            {"item_id": "i", "kind": "purchase", "ts": NOW - 2 * DAY},
            {"item_id": "i", "kind": "rating", "ts": NOW, "rating": 4.0, "text": "Grew on me."},
            {"item_id": "j", "kind": "click", "ts": np.nan},
        ),
        now=NOW,
    )
    i, j = out.iloc[0], out.iloc[1]
    assert (i["kind"], i["count"], i["rating"]) == ("purchase", 4, 4.0)
    assert (i["first_ts"], i["last_ts"]) == (NOW - 3 * DAY, NOW)
    assert i["text"] == "Too long.\n\nGrew on me."
    assert j["kind"] == "click" and j["text"] is None
    assert np.isnan(j["rating"]) and np.isnan(j["first_ts"]) and np.isnan(j["last_ts"])


def test_kind_weights_are_configurable():
    config = WeightConfig(kind_weights={**WeightConfig().kind_weights, "view": 0.25})
    assert weight_of({"item_id": "i"}, config=config) == pytest.approx(0.25)


def test_unknown_kind_and_missing_columns_raise():
    with pytest.raises(ValueError, match="no weight for event kind"):
        aggregate_interactions(events({"item_id": "i", "kind": "teleport"}))
    with pytest.raises(ValueError, match="user_id"):
        aggregate_interactions(pd.DataFrame({"item_id": ["i"]}))


def test_minimal_events_and_empty_input():
    out = aggregate_interactions(pd.DataFrame({"user_id": ["u", "u"], "item_id": ["i", "i"]}))
    assert out["kind"].tolist() == ["view"] and out["count"].tolist() == [2]
    empty = aggregate_interactions(pd.DataFrame({"user_id": [], "item_id": []}))
    assert list(empty.columns) == OUTPUT_COLUMNS and len(empty) == 0


def test_ingested_synthetic_events_aggregate_to_positive_weights():
    from kg.ingest import ingest_events
    from kg.synthetic import make_cross_domain

    data = make_cross_domain(n_users=30, items_per_domain=16)
    clean = ingest_events(data.events).clean
    out = aggregate_interactions(clean)
    assert out["count"].sum() == len(clean)
    assert len(out) == len(clean.groupby(["user_id", "item_id"]).size())
    assert (out["weight"] > 0).all()  # synthetic ratings are 3..5 and there are no dislikes


def test_a_positional_half_life_halves_an_event_followed_by_that_many_others():
    events = pd.DataFrame(
        {"user_id": ["u"] * 4, "item_id": ["a", "b", "c", "d"], "kind": "view", "ts": [0.0, 1.0, 2.0, 3.0]}
    )
    out = aggregate_interactions(events, WeightConfig(half_life_days=None, half_life_events=3.0))
    weights = dict(zip(out["item_id"], out["weight"]))
    assert weights["d"] == pytest.approx(1.0)
    assert weights["a"] == pytest.approx(0.5)
    assert weights["c"] > weights["b"] > weights["a"]


def test_a_stray_future_timestamp_does_not_become_now():
    wall = NOW + 10 * DAY
    ts = np.array([NOW - 30 * DAY, NOW, 4e10, np.nan])
    assert reference_time(ts, wall=wall) == NOW
    assert reference_time(ts, as_of=NOW - DAY, wall=wall) == NOW - DAY
    config = WeightConfig(half_life_days=30.0, recency_floor=0.0)
    poisoned = aggregate_interactions(
        events(
            {"item_id": "a", "ts": time.time() - 30 * DAY},
            {"item_id": "c", "ts": time.time() - 60.0},
            {"item_id": "b", "ts": 4e10},
        ),
        config,
    )
    assert dict(zip(poisoned["item_id"], poisoned["weight"]))["a"] == pytest.approx(0.5, rel=1e-3)


def test_old_history_keeps_the_recency_floor():
    config = WeightConfig(half_life_days=30.0, recency_floor=0.2)
    out = aggregate_interactions(
        events({"item_id": "old", "ts": NOW - 3650 * DAY}, {"item_id": "new", "ts": NOW}),
        WeightConfig(half_life_days=30.0, recency_floor=0.2, as_of=NOW),
    )
    assert dict(zip(out["item_id"], out["weight"])) == pytest.approx({"new": 1.0, "old": 0.2})
    assert config.as_of is None
