"""Ingest through the public API is idempotent, keeps forgotten users out and measures recency
against the data's own time (issue #13 "Data safety" and "Correct by default", #14 item 2).

Each test builds a small synthetic world with the real spaCy and MiniLM models (no GNN).
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from ikg import InterestGraph
from kg.synthetic import make_cross_domain

pytestmark = [pytest.mark.models, pytest.mark.slow]

DAY = 86_400.0


def _world(seed: int = 4):
    return make_cross_domain(n_users=16, items_per_domain=8, events_per_user=24, seed=seed)


def _stored_events(ig: InterestGraph) -> int:
    return len(ig.workdir.load_state().table("events"))


def test_ingesting_the_same_file_twice_changes_nothing(tmp_path):
    data = _world()
    path = tmp_path / "events.csv"
    data.events.to_csv(path, index=False)
    ig = InterestGraph.open(tmp_path / "kg", use_gnn=False)
    ig.ingest_items(data.items)
    first = ig.ingest_events(path)
    assert first["read"] == 384 and first["accepted"] + first["deduplicated"] == 384
    staged_again = ig.ingest_events(path)
    assert staged_again["accepted"] == 0 and staged_again["deduplicated"] == 384
    ig.refresh(progress=False)
    stored = _stored_events(ig)
    assert stored == first["accepted"]

    again = ig.ingest_events(path)
    assert again["accepted"] == 0 and again["deduplicated"] == 384
    assert again["read"] == again["accepted"] + again["quarantined"] + again["deduplicated"]
    assert ig.refresh(progress=False).noop
    assert _stored_events(ig) == stored
    interactions = ig.workdir.load_state().table("interactions")
    assert int(interactions["count"].sum()) == stored

    one_more = data.events.head(1).assign(ts=data.events["ts"].max() + 60.0)
    assert ig.ingest_events(one_more)["accepted"] == 1
    ig.refresh(progress=False)
    assert _stored_events(ig) == stored + 1
    ig.close()


def test_ids_are_normalised_at_ingest_and_an_event_id_is_an_identity(tmp_path):
    data = _world(seed=6)
    item = data.items["item_id"].iloc[0]
    ig = InterestGraph.open(tmp_path, use_gnn=False)
    ig.ingest_items(data.items)
    as_ints = pd.DataFrame({"user_id": [1001, 1002], "item_id": item, "kind": "view", "ts": 1_700_000_000})
    assert ig.ingest_events(as_ints)["accepted"] == 2
    as_text = pd.DataFrame(
        {"user_id": [" 1001 ", 1002.0], "item_id": item, "kind": "view", "ts": "2023-11-14T22:13:20Z"}
    )
    report = ig.ingest_events(as_text)
    assert report["accepted"] == 0 and report["deduplicated"] == 2
    with_ids = pd.DataFrame({"user_id": [1001.0, 1001], "item_id": item, "event_id": ["e-1", "e-1"]})
    report = ig.ingest_events(with_ids)
    assert report["accepted"] == 1 and report["deduplicated"] == 1
    assert ig.ingest_events(with_ids.head(1))["deduplicated"] == 1
    ig.ingest_events(data.events)
    ig.refresh(progress=False)
    users = set(ig.workdir.load_state().table("events")["user_id"])
    assert {"1001", "1002"} <= users and not {" 1001 ", "1002.0"} & users
    ig.close()


def test_a_forgotten_user_stays_forgotten_unless_the_caller_allows_it(tmp_path):
    data = _world(seed=7)
    numbers = {u: str(1000 + n) for n, u in enumerate(sorted(set(data.events["user_id"])))}
    events = data.events.assign(user_id=data.events["user_id"].map(numbers))
    victim = events["user_id"].iloc[0]
    mine = int((events["user_id"] == victim).sum())
    path = tmp_path / "events.jsonl"
    events.assign(user_id=[int(u) if u == victim else u for u in events["user_id"]]).to_json(
        path, orient="records", lines=True
    )
    ig = InterestGraph.open(tmp_path / "kg", use_gnn=False)
    ig.ingest_items(data.items)
    ig.ingest_events(path)
    ig.refresh(progress=False)
    ig.forget_user(f" {victim} ")

    again = ig.ingest_events(path)
    assert again["quarantined"] == mine and again["by_reason"] == {"forgotten_user": mine}
    assert again["accepted"] == 0
    lines = (ig.workdir.quarantine_dir / "quarantine.jsonl").read_text().splitlines()
    forgotten_rows = [json.loads(line) for line in lines if "forgotten user" in line]
    assert len(forgotten_rows) == mine
    assert all(victim not in row["raw"] for row in forgotten_rows)
    registry = (ig.workdir.path / "forgotten.json").read_text()
    assert victim not in registry and len(json.loads(registry)["sha256"]) == 1
    ig.refresh(progress=False)
    assert victim not in set(ig.workdir.load_state().table("events")["user_id"])

    allowed = ig.ingest_events(path, allow_forgotten=True)
    assert allowed["accepted"] == mine and allowed["deduplicated"] == len(events) - mine
    ig.close()


def test_one_new_like_does_not_wipe_a_profile_built_from_a_year_of_history(tmp_path):
    data = make_cross_domain(n_users=16, items_per_domain=32, events_per_user=24, seed=8)
    themes = data.item_theme
    old_theme = "space"
    old_items = [i for i, t in themes.items() if t == old_theme][:10]
    new_item = next(i for i, t in themes.items() if t != old_theme)
    year_ago = time.time() - 365 * DAY
    history = pd.DataFrame(
        {"user_id": "hiker", "item_id": old_items, "kind": "view", "ts": year_ago + np.arange(10) * 60.0}
    )
    ig = InterestGraph.open(tmp_path, use_gnn=False)
    ig.ingest_items(data.items)
    ig.ingest_events(pd.concat([data.events, history], ignore_index=True))
    ig.refresh(progress=False)
    before = {p.key: p.weight for p in ig.profile("hiker", top=10).interests}
    assert before

    ig.feedback("hiker", new_item, "like")
    ig.refresh(progress=False)
    after = {p.key: p.weight for p in ig.profile("hiker", top=30).interests}
    strongest_old = max(before, key=before.get)
    assert after.get(strongest_old, 0.0) >= 0.25, (strongest_old, after)
    kept = [k for k in sorted(before, key=before.get, reverse=True)[:5] if after.get(k, 0.0) >= 0.1]
    assert len(kept) >= 3, (before, after)
    ig.close()
