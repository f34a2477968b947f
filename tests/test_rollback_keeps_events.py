"""Rollback never loses what users did: the events (and items) the rolled-back versions took in
go into the next refresh exactly once, and forgotten users stay forgotten.

One small synthetic world with the real spaCy and MiniLM models (no GNN), on the embedded store.
"""

from __future__ import annotations

import pandas as pd
import pytest

from ikg import InterestGraph
from kg.ingest import event_keys
from kg.synthetic import make_cross_domain

pytestmark = [pytest.mark.models, pytest.mark.slow]

LATE_ITEMS = 3
"""Items that arrive only with batch B (their events must survive the rollback too)."""


def _batches():
    """Batch A (most items, the older half of the events) and batch B (the rest, with new items)."""
    data = make_cross_domain(n_users=14, items_per_domain=8, events_per_user=12, seed=21)
    late = set(sorted(data.items["item_id"])[-LATE_ITEMS:])
    events = data.events.sort_values("ts", kind="stable").reset_index(drop=True)
    cut = events["ts"].median()
    in_a = (events["ts"] <= cut) & ~events["item_id"].isin(late)
    items_a = data.items[~data.items["item_id"].isin(late)]
    items_b = data.items[data.items["item_id"].isin(late)]
    return (items_a, events[in_a]), (items_b, events[~in_a])


def _stored(ig: InterestGraph) -> pd.DataFrame:
    return ig.workdir.load_state().table("events")


def _keys(frame: pd.DataFrame) -> list[int]:
    return sorted(int(k) for k in event_keys(frame.drop(columns=["event_key"], errors="ignore")))


@pytest.fixture
def rolled_back(tmp_path):
    """A folder that served v1 (batch A), then v2 (A + B), and was rolled back to v1."""
    (items_a, events_a), (items_b, events_b) = _batches()
    ig = InterestGraph.open(tmp_path / "kg", use_gnn=False)
    ig.ingest_items(items_a)
    ig.ingest_events(events_a)
    v1 = ig.refresh(progress=False).model_version
    ig.ingest_items(items_b)
    report_b = ig.ingest_events(events_b)
    assert report_b["accepted"] == len(events_b)
    v2 = ig.refresh(progress=False).model_version
    assert len(_stored(ig)) == len(events_a) + len(events_b)
    yield ig, v1, v2, events_a, events_b
    ig.close()


def test_after_rollback_the_next_refresh_holds_the_later_events_exactly_once(rolled_back):
    ig, v1, v2, events_a, events_b = rolled_back
    back = ig.rollback(v1)
    assert ig.version == v1 and back["previous"] == v2
    assert back["replayed_events"] == len(events_b) and back["replayed_items"] == LATE_ITEMS
    assert len(_stored(ig)) == len(events_a), "v1 itself serves as it was"

    v3 = ig.refresh(progress=False).model_version
    assert v3 not in (v1, v2)
    stored = _stored(ig)
    assert len(stored) == len(events_a) + len(events_b)
    assert _keys(stored) == sorted(_keys(events_a) + _keys(events_b))
    assert int(ig.workdir.load_state().table("interactions")["count"].sum()) == len(stored)
    late = set(events_b["item_id"]) - set(events_a["item_id"])
    assert late and late <= set(ig.workdir.load_state().table("items")["item_id"])

    again = ig.ingest_events(events_b)
    assert again["accepted"] == 0 and again["deduplicated"] == len(events_b)
    assert ig.refresh(progress=False).noop
    assert len(_stored(ig)) == len(events_a) + len(events_b)


def test_rolling_back_and_forward_again_counts_nothing_twice(rolled_back):
    ig, v1, v2, events_a, events_b = rolled_back
    ig.rollback(v1)
    forward = ig.rollback(v2)
    assert ig.version == v2 and forward["replayed_events"] == 0 and forward["replayed_items"] == 0
    ig.refresh(progress=False)
    stored = _stored(ig)
    assert _keys(stored) == sorted(_keys(events_a) + _keys(events_b))


def test_a_user_forgotten_before_the_rollback_is_not_brought_back(rolled_back):
    ig, v1, _v2, events_a, events_b = rolled_back
    in_both = events_b[events_b["user_id"].isin(set(events_a["user_id"]))]
    victim = in_both["user_id"].value_counts().index[0]  # history in v1 and later events in v2
    ig.forget_user(victim)
    back = ig.rollback(v1)
    assert back["replayed_events"] == int((events_b["user_id"] != victim).sum())
    ig.refresh(progress=False)
    stored = _stored(ig)
    assert victim not in set(stored["user_id"])
    others = pd.concat([events_a, events_b])
    others = others[others["user_id"] != victim]
    assert _keys(stored) == sorted(_keys(others))
    assert not ig.known_user(victim)
