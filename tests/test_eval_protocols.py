"""Protocols hide exactly the right interactions, keep validation and test users apart,
and the leakage guard catches any hidden interaction in a training frame."""

import pandas as pd
import pytest

from ikg.eval import (
    Dataset,
    LeakageError,
    assert_no_leakage,
    cold_start_split,
    given_split,
    leave_last_out_split,
    synthetic_dataset,
    temporal_split,
)


@pytest.fixture(scope="module")
def data() -> Dataset:
    return synthetic_dataset(0, n_users=200, items_per_domain=40)


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["user_id"], frame["item_id"]))


def test_cold_start_hides_all_target_domain_history_of_held_out_users(data):
    split = cold_start_split(data, "books", "films", n_valid=30, n_test=40, seed=3)
    domain = data.item_domain()
    held = set(split.valid.user_ids) | set(split.test.user_ids)
    train_held = split.train[split.train["user_id"].isin(held)]
    assert not (train_held["item_id"].map(domain) == "films").any()
    assert (train_held["item_id"].map(domain) == "books").any()
    assert set(split.valid.user_ids).isdisjoint(split.test.user_ids)
    assert len(split.test) == 40 and len(split.valid) == 30
    assert set(split.candidates) == set(data.items.loc[data.items["domain"] == "films", "item_id"])
    for user in split.test.user_ids:
        assert split.test.targets[user] == set(
            data.events.loc[
                (data.events["user_id"] == user) & (data.events["item_id"].map(domain) == "films"), "item_id"
            ]
        )
    assert len(split.train) + len(split.hidden) == len(data.events)


def test_cold_start_keeps_most_bridge_users_in_training(data):
    split = cold_start_split(data, "books", "films", n_valid=10_000, n_test=10_000)
    assert len(split.valid) + len(split.test) <= len(data.events["user_id"].unique()) // 2


def test_leave_last_out_hides_each_held_out_users_last_event(data):
    split = leave_last_out_split(data, n_valid=20, n_test=30, seed=1)
    events = data.events.sort_values(["user_id", "ts"])
    last = events.groupby("user_id").tail(1).set_index("user_id")["item_id"]
    for user in split.test.user_ids:
        assert split.test.targets[user] == {last[user]}
        assert last[user] not in split.test.exclude[user]
    assert set(split.valid.user_ids).isdisjoint(split.test.user_ids)


def test_leave_last_out_in_a_target_domain_only_picks_users_ending_there(data):
    split = leave_last_out_split(data, target_domain="music", n_valid=10, n_test=10)
    domain = data.item_domain()
    assert all(domain[next(iter(t))] == "music" for t in split.test.targets.values())


def test_temporal_split_trains_strictly_before_the_cut(data):
    split = temporal_split(data, quantile=0.75, n_valid=10, n_test=20)
    assert split.train["ts"].max() < split.hidden["ts"].min()
    for user in split.test.user_ids:
        assert split.test.targets[user].isdisjoint(split.test.exclude[user])


def test_given_split_uses_the_datasets_own_users_and_targets():
    items = pd.DataFrame(
        {"item_id": list("abcdef"), "domain": ["x", "x", "x", "y", "y", "y"], "title": list("ABCDEF")}
    )
    events = pd.DataFrame(
        {
            "user_id": ["u", "u", "u", "v", "v", "w", "w"],
            "item_id": ["a", "d", "e", "b", "f", "a", "c"],
            "ts": range(7),
        }
    )
    split_df = pd.DataFrame(
        {"user_id": ["u", "v", "w"], "split": ["test", "valid", "test"], "item_id": ["e", "f", "c"]}
    )
    split = given_split(Dataset("toy", items, events, split_df), target_domain="y")
    assert split.test.user_ids == ["u"] and split.valid.user_ids == ["v"]
    assert split.test.targets["u"] == {"e"} and split.test.exclude["u"] == {"a", "d"}
    assert ("w", "c") not in _pairs(split.train)
    assert split.candidates == ["d", "e", "f"]


def test_leakage_guard_accepts_the_split_and_rejects_a_hidden_interaction(data):
    split = cold_start_split(data, "books", "films", n_valid=20, n_test=20)
    assert_no_leakage(split.train, split)
    user = split.test.user_ids[0]
    leaked = pd.DataFrame({"user_id": [user], "item_id": [next(iter(split.test.targets[user]))]})
    with pytest.raises(LeakageError, match="1 held-out"):
        assert_no_leakage(pd.concat([split.train, leaked]), split)
    assert_no_leakage(pd.concat([split.train, leaked.assign(user_id="someone-else")]), split)
