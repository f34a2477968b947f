"""gnn.export: a GraphSnapshot becomes HeteroData and every id comes back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gnn.export import NODE_TYPE_OF, edge_type_of, reverse_of, to_heterodata
from kg.embedded import EmbeddedStore
from kg.schema import EDGE_TYPES, TEXT_VECTOR_DIM
from kg.store import GraphSnapshot


@pytest.fixture()
def snapshot() -> GraphSnapshot:
    store = EmbeddedStore(None)
    store.upsert_nodes("User", [{"id": "alice"}, {"id": "bob"}, {"id": "carol"}])
    store.upsert_nodes("Domain", [{"name": "books"}, {"name": "films"}])
    store.upsert_nodes(
        "Item",
        [
            {"id": "b1", "domain": "books", "title": "Dune"},
            {"id": "b2", "domain": "books", "title": "Emma"},
            {"id": "f1", "domain": "films", "title": "Alien"},
        ],
    )
    store.upsert_nodes("Concept", [{"key": "space"}, {"key": "romance"}, {"key": "desert"}])
    store.upsert_nodes("Topic", [{"id": "t-scifi"}, {"id": "t-love"}])
    store.upsert_edges(
        "INTERACTED",
        [
            {"src": "alice", "dst": "b1", "weight": 2.0, "kind": "purchase"},
            {"src": "alice", "dst": "f1", "weight": 1.0},
            {"src": "bob", "dst": "b2", "weight": -1.0, "kind": "dislike"},
            {"src": "carol", "dst": "b2", "weight": 1.5},
        ],
    )
    store.upsert_edges("INTERESTED_IN", [{"src": "alice", "dst": "space", "weight": 0.9}])
    store.upsert_edges(
        "HAS_CONCEPT",
        [
            {"src": "b1", "dst": "space", "weight": 1.0},
            {"src": "b1", "dst": "desert", "weight": 0.5},
            {"src": "f1", "dst": "space", "weight": 1.0},
            {"src": "b2", "dst": "romance", "weight": 1.0},
        ],
    )
    store.upsert_edges(
        "IN_DOMAIN",
        [{"src": "b1", "dst": "books"}, {"src": "b2", "dst": "books"}, {"src": "f1", "dst": "films"}],
    )
    store.upsert_edges(
        "IN_TOPIC",
        [
            {"src": "space", "dst": "t-scifi", "weight": 0.8},
            {"src": "romance", "dst": "t-love", "weight": 0.7},
        ],
    )
    store.upsert_edges("RELATED_TO", [{"src": "space", "dst": "desert", "score": 0.4}])
    return store.snapshot()


def _text(keys: list[str], seed: int) -> tuple[list[str], np.ndarray]:
    return keys, np.random.default_rng(seed).normal(size=(len(keys), TEXT_VECTOR_DIM)).astype(np.float32)


def test_round_trip_keeps_every_node_id(snapshot: GraphSnapshot) -> None:
    data, ids = to_heterodata(snapshot, {})
    for label, nt in NODE_TYPE_OF.items():
        assert ids.keys[nt] == snapshot.node_keys(label)
        assert data[nt].num_nodes == len(snapshot.node_keys(label))
        assert all(ids.keys[nt][ids.index(nt)[k]] == k for k in snapshot.node_keys(label))


def test_round_trip_keeps_every_edge_with_its_weight_and_reverse(snapshot: GraphSnapshot) -> None:
    data, ids = to_heterodata(snapshot, {})
    for rel in EDGE_TYPES:
        edge = edge_type_of(rel)
        frame = snapshot.edge_frame(rel)
        index = data[edge].edge_index
        back = {
            (ids.keys[edge[0]][s], ids.keys[edge[2]][d]): float(w)
            for s, d, w in zip(index[0].tolist(), index[1].tolist(), data[edge].edge_weight.tolist())
        }
        column = "score" if rel == "RELATED_TO" else "weight"
        expected = {
            (s, d): float(row.get(column, 1.0)) if column in frame.columns else 1.0
            for s, d, row in zip(frame["src"], frame["dst"], frame.to_dict("records"))
        }
        assert back == pytest.approx(expected), rel
        assert data[reverse_of(edge)].edge_index.flip(0).tolist() == index.tolist()
    assert -1.0 in data["user", "interacted", "item"].edge_weight.tolist()


def test_text_features_follow_node_order_and_missing_ones_are_flagged(snapshot: GraphSnapshot) -> None:
    given = _text(["f1", "b1"], 0)
    data, ids = to_heterodata(snapshot, {"Item": given, "Concept": _text(["space"], 1)})
    x, has = data["item"].x.numpy(), data["item"].has_text.tolist()
    assert x.shape == (3, TEXT_VECTOR_DIM)
    np.testing.assert_array_equal(x[ids.index("item")["f1"]], given[1][0])
    np.testing.assert_array_equal(x[ids.index("item")["b1"]], given[1][1])
    assert has[ids.index("item")["b2"]] is False and not x[ids.index("item")["b2"]].any()
    assert data["concept"].has_text.sum().item() == 1
    assert data["topic"].x.shape == (2, TEXT_VECTOR_DIM) and not data["topic"].has_text.any()


def test_item_domains_and_unknown_endpoints_are_kept(snapshot: GraphSnapshot) -> None:
    snapshot.edges["INTERACTED"] = pd.concat(
        [snapshot.edges["INTERACTED"], pd.DataFrame([{"src": "dave", "dst": "b1", "weight": 1.0}])]
    )
    data, ids = to_heterodata(snapshot, {})
    assert ids.keys["user"][-1] == "dave" and data["user"].num_nodes == 4
    domain = data["item"].domain.tolist()
    assert ids.keys["domain"][domain[ids.index("item")["f1"]]] == "films"
    assert ids.keys["domain"][domain[ids.index("item")["b2"]]] == "books"


def test_a_graph_with_every_edge_type_fits_and_every_node_gets_a_finite_vector(
    snapshot: GraphSnapshot,
) -> None:
    from gnn import GnnConfig, fit_vectors

    text = {
        "Item": _text(snapshot.node_keys("Item"), 2),
        "Concept": _text(snapshot.node_keys("Concept"), 3),
        "Topic": _text(snapshot.node_keys("Topic"), 4),
    }
    result = fit_vectors(snapshot, text, GnnConfig(epochs=3, eval_every=1, threads=1), progress=False)
    for label in ("User", "Item", "Concept", "Topic"):
        keys, matrix = result.vectors[label]
        assert keys == snapshot.node_keys(label)
        assert matrix.shape == (len(keys), 64) and np.isfinite(matrix).all()
    keys, users = result.vectors["User"]
    assert not users[keys.index("bob")].any()  # bob only disliked: nothing propagates to him
    assert np.linalg.norm(users[keys.index("alice")]) > 0
