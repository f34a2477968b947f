"""DataFrame batches: both stores take them, with the same meaning and errors as lists of dicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kg.embedded import EmbeddedStore
from kg.schema import BatchError, validate_edge_frame, validate_edges, validate_node_frame, validate_nodes
from tests.test_store_contract import canonical, seed_graph


def seed_graph_from_frames(store) -> None:
    """The contract's seed graph, written as DataFrames (a missing cell is a property not given)."""
    store.upsert_nodes("Domain", pd.DataFrame({"name": ["books", "films"]}))
    store.upsert_nodes(
        "Item",
        pd.DataFrame(
            {
                "id": ["b1", "f1"],
                "domain": ["books", "films"],
                "title": ["Dune", "Alien"],
                "categories": [["science fiction"], None],
                "popularity": [np.nan, 3.0],
            }
        ),
    )
    store.upsert_nodes("User", pd.DataFrame({"id": ["u1", "u2"]}))
    store.upsert_nodes(
        "Concept",
        pd.DataFrame(
            {
                "key": ["science-fiction", "desert-planet", "private-note"],
                "name": ["science fiction", "desert planet", "private note"],
                "df": [2, 1, np.nan],
                "origin": [None, None, "review"],
            }
        ),
    )
    store.upsert_edges("IN_DOMAIN", pd.DataFrame({"src": ["b1", "f1"], "dst": ["books", "films"]}))
    store.upsert_edges(
        "INTERACTED",
        pd.DataFrame(
            {
                "src": ["u1", "u2", "u2"],
                "dst": ["b1", "b1", "f1"],
                "kind": ["purchase", "view", "view"],
                "weight": [4.0, 1.0, 1.5],
                "count": [1, 2, 3],
                "last_ts": [1.7e9, np.nan, np.nan],
            }
        ),
    )
    store.upsert_edges(
        "HAS_CONCEPT",
        pd.DataFrame(
            {
                "src": ["b1", "b1", "f1"],
                "dst": ["science-fiction", "desert-planet", "science-fiction"],
                "weight": [0.9, 0.6, 0.8],
                "source": ["category", "noun_chunk", "category"],
            }
        ),
    )
    store.upsert_edges(
        "INTERESTED_IN",
        pd.DataFrame(
            {
                "src": ["u1", "u1", "u2"],
                "dst": ["science-fiction", "private-note", "science-fiction"],
                "weight": [0.7, 0.3, 0.5],
                "source": ["behaviour", "review", "behaviour"],
            }
        ),
    )
    store.upsert_edges(
        "RELATED_TO", pd.DataFrame({"src": ["science-fiction"], "dst": ["desert-planet"], "score": [0.61]})
    )


def test_frames_and_dicts_build_the_same_graph(store):
    seed_graph_from_frames(store)
    reference = EmbeddedStore(None)
    seed_graph(reference)
    assert canonical(store.snapshot()) == canonical(reference.snapshot())
    assert store.get_nodes("Concept", ["science-fiction"])["science-fiction"]["df"] == 2
    assert store.get_nodes("Item", ["b1"])["b1"]["categories"] == ["science fiction"]


def test_a_missing_cell_keeps_the_stored_value(store):
    seed_graph_from_frames(store)
    store.upsert_edges(
        "INTERACTED",
        pd.DataFrame(
            {"src": ["u1", "u2"], "dst": ["b1", "b1"], "weight": [5.0, np.nan], "count": [2, np.nan]}
        ),
    )
    edges = {(n.key, n.direction): n.edge for n in store.neighbourhood("Item", "b1", ["INTERACTED"], "in")}
    assert edges[("u1", "in")] == {"kind": "purchase", "weight": 5.0, "count": 2, "last_ts": 1.7e9}
    assert edges[("u2", "in")] == {"kind": "view", "weight": 1.0, "count": 2}


def test_later_rows_of_one_frame_update_earlier_ones(store):
    seed_graph_from_frames(store)
    store.upsert_nodes(
        "Item", pd.DataFrame({"id": ["n1", "n1"], "title": ["New", None], "domain": [None, "books"]})
    )
    assert store.get_nodes("Item", ["n1"])["n1"] == {"title": "New", "domain": "books"}


@pytest.mark.parametrize(
    "rel, frame, message",
    [
        (
            "INTERACTED",
            pd.DataFrame({"src": ["u1", "u2"], "dst": ["f1", "f1"], "weight": [1.0, "heavy"]}),
            "row 1: property 'weight': expected a number",
        ),
        (
            "INTERACTED",
            pd.DataFrame({"src": ["u1", None], "dst": ["f1", "f1"]}),
            "row 1: missing or empty endpoint 'src'",
        ),
        (
            "INTERACTED",
            pd.DataFrame({"src": ["u1", "u1"], "dst": ["f1", "ghost"]}),
            "row 1: Item 'ghost' does not exist",
        ),
        (
            "INTERACTED",
            pd.DataFrame({"src": ["u1"], "dst": ["f1"], "count": [1.5]}),
            "row 0: property 'count': expected an integer",
        ),
    ],
)
def test_a_bad_edge_frame_writes_nothing(store, rel, frame, message):
    seed_graph_from_frames(store)
    before = canonical(store.snapshot())
    with pytest.raises(BatchError, match=message):
        store.upsert_edges(rel, frame)
    assert canonical(store.snapshot()) == before


def test_a_bad_node_frame_writes_nothing(store):
    seed_graph_from_frames(store)
    before = canonical(store.snapshot())
    with pytest.raises(BatchError) as err:
        store.upsert_nodes("Item", pd.DataFrame({"id": ["b9", None], "title": ["ok", "no id"]}))
    assert err.value.row == 1 and "'id'" in str(err.value)
    with pytest.raises(BatchError, match="unknown property 'colour'"):
        store.upsert_nodes("Item", pd.DataFrame({"id": ["b1"], "colour": ["red"]}))
    with pytest.raises(BatchError, match="row 0: property 'categories': expected a list of strings"):
        store.upsert_nodes("Item", pd.DataFrame({"id": ["b1"], "categories": ["science fiction"]}))
    assert canonical(store.snapshot()) == before


@pytest.mark.parametrize(
    "rows",
    [
        [{"src": "a", "dst": "b", "weight": 1}, {"src": "a", "dst": "c", "weight": True}],
        [{"src": "a", "dst": "b", "source": 3}],
        [{"src": "a", "dst": ""}],
        [{"src": "a", "dst": "b", "domains": ["x", 2]}],
    ],
)
def test_frame_validation_refuses_what_row_validation_refuses(rows):
    with pytest.raises(BatchError) as by_rows:
        validate_edges("INTERESTED_IN", rows)
    with pytest.raises(BatchError) as by_frame:
        validate_edge_frame("INTERESTED_IN", pd.DataFrame(rows))
    assert str(by_frame.value) == str(by_rows.value)


def test_frame_validation_coerces_to_the_stored_types():
    frame = validate_node_frame(
        "Concept", pd.DataFrame({"key": ["a", "b"], "df": [1.0, np.nan], "aliases": [["x"], None]})
    )
    assert str(frame["df"].dtype) == "Int64" and frame["df"].tolist()[0] == 1
    assert validate_nodes("Concept", [{"key": "a", "df": 1.0}]) == [{"key": "a", "df": 1}]
    empty = validate_edge_frame("HAS_CONCEPT", pd.DataFrame({"src": [], "dst": [], "weight": []}))
    assert len(empty) == 0 and {"src", "dst"} <= set(empty.columns)
