"""Builder rows are DataFrames; refresh writes only the rows that differ from the last build."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kg import builder
from kg.embedded import EmbeddedStore


def test_diff_rows_returns_added_and_changed_rows_and_removed_keys():
    old = pd.DataFrame(
        {
            "src": ["u1", "u1", "u2", "u3"],
            "dst": ["a", "b", "a", "a"],
            "weight": [0.5, 0.25, 1.0, 2.0],
            "domains": [np.array(["books"]), ["films"], None, None],
            "updated": [1.0, 1.0, 1.0, 1.0],
        }
    )
    new = pd.DataFrame(
        {
            "src": ["u1", "u1", "u2", "u4"],
            "dst": ["a", "b", "a", "a"],
            "weight": [0.5 + 1e-9, 0.25, np.nan, 1.0],
            "domains": [["books"], ["music"], None, None],
            "updated": [9.0, 9.0, 9.0, 9.0],
        }
    )
    changed, removed = builder.diff_rows(old, new, ignore=["updated"])
    assert list(zip(changed["src"], changed["dst"])) == [("u1", "b"), ("u2", "a"), ("u4", "a")]
    assert changed["updated"].tolist() == [9.0, 9.0, 9.0]
    assert removed.to_dict("records") == [{"src": "u3", "dst": "a"}]


def test_diff_rows_against_nothing_is_everything():
    new = pd.DataFrame({"id": ["u1", "u2"], "first_ts": [1.0, 2.0]})
    changed, removed = builder.diff_rows(pd.DataFrame(), new)
    assert changed["id"].tolist() == ["u1", "u2"] and removed.empty
    changed, removed = builder.diff_rows(new, new.iloc[:1])
    assert changed.empty and removed["id"].tolist() == ["u2"]


def test_written_rows_and_deletions_reach_the_store():
    store = EmbeddedStore(None)
    items = pd.DataFrame(
        {
            "item_id": ["b1", "f1"],
            "domain": ["books", "films"],
            "title": ["Dune", "Alien"],
            "categories": [np.array(["sf"]), []],
        }
    )
    item_nodes, domains, in_domain = builder.item_rows(items)
    assert item_nodes["categories"].tolist() == [["sf"], []]
    rows = builder.GraphRows(nodes={"Domain": domains, "Item": item_nodes}, edges={"IN_DOMAIN": in_domain})
    assert builder.write_graph(store, rows) == {"Domain": 2, "Item": 2, "IN_DOMAIN": 2}
    gone = builder.GraphRows(
        nodes={"Item": pd.DataFrame({"id": ["f1"]})},
        edges={"IN_DOMAIN": pd.DataFrame({"src": ["b1"], "dst": ["books"]})},
    )
    assert builder.write_graph(store, builder.GraphRows(), gone) == {"-IN_DOMAIN": 1, "-Item": 1}
    assert store.counts()["Item"] == 1 and store.counts()["IN_DOMAIN"] == 0


def test_user_interests_weigh_concepts_by_behaviour_and_reviews():
    items = pd.DataFrame({"item_id": ["b1", "f1", "m1"], "domain": ["books", "films", "music"]})
    interactions = pd.DataFrame(
        {
            "user_id": ["u2", "u1", "u1", "u1"],
            "item_id": ["f1", "b1", "f1", "m1"],
            "weight": [1.0, 2.0, 1.0, -1.0],
        }
    )
    concepts = pd.DataFrame(
        {
            "item_id": ["b1", "b1", "f1", "m1"],
            "key": ["space", "desert", "space", "jazz"],
            "weight": [1.0, 0.5, 0.5, 1.0],
        }
    )
    reviews = pd.DataFrame({"user_id": ["u2"], "item_id": ["f1"], "key": ["robots"], "weight": [0.8]})
    out = builder.user_interests(interactions, concepts, items, reviews, top_n=2)
    assert out[["user_id", "key", "source"]].values.tolist() == [
        ["u1", "space", "behaviour"],
        ["u1", "desert", "behaviour"],
        ["u2", "space", "behaviour"],
        ["u2", "robots", "review"],
    ]
    assert out["weight"].tolist() == [1.0, 0.4, 1.0, 0.4]
    assert out["domains"].tolist() == [["books", "films"], ["books"], ["films"], ["films"]]
