"""The store contract: every test here runs unchanged against the embedded store and a real Neo4j."""

from __future__ import annotations

import numpy as np
import pytest

from kg.schema import BatchError, SchemaError


def seed_graph(store) -> None:
    store.upsert_nodes("Domain", [{"name": "books"}, {"name": "films"}])
    store.upsert_nodes(
        "Item",
        [
            {"id": "b1", "domain": "books", "title": "Dune", "categories": ["science fiction"]},
            {"id": "f1", "domain": "films", "title": "Alien", "popularity": 3.0},
        ],
    )
    store.upsert_nodes("User", [{"id": "u1"}, {"id": "u2"}])
    store.upsert_nodes(
        "Concept",
        [
            {"key": "science-fiction", "name": "science fiction", "df": 2},
            {"key": "desert-planet", "name": "desert planet", "df": 1},
            {"key": "private-note", "name": "private note", "origin": "review"},
        ],
    )
    store.upsert_edges("IN_DOMAIN", [{"src": "b1", "dst": "books"}, {"src": "f1", "dst": "films"}])
    store.upsert_edges(
        "INTERACTED",
        [
            {"src": "u1", "dst": "b1", "kind": "purchase", "weight": 4.0, "count": 1, "last_ts": 1.7e9},
            {"src": "u2", "dst": "b1", "kind": "view", "weight": 1.0, "count": 2},
            {"src": "u2", "dst": "f1", "kind": "view", "weight": 1.5, "count": 3},
        ],
    )
    store.upsert_edges(
        "HAS_CONCEPT",
        [
            {"src": "b1", "dst": "science-fiction", "weight": 0.9, "source": "category"},
            {"src": "b1", "dst": "desert-planet", "weight": 0.6, "source": "noun_chunk"},
            {"src": "f1", "dst": "science-fiction", "weight": 0.8, "source": "category"},
        ],
    )
    store.upsert_edges(
        "INTERESTED_IN",
        [
            {"src": "u1", "dst": "science-fiction", "weight": 0.7, "source": "behaviour"},
            {"src": "u1", "dst": "private-note", "weight": 0.3, "source": "review"},
            {"src": "u2", "dst": "science-fiction", "weight": 0.5, "source": "behaviour"},
        ],
    )
    store.upsert_edges("RELATED_TO", [{"src": "science-fiction", "dst": "desert-planet", "score": 0.61}])


def canonical(snapshot) -> dict:
    """A snapshot as sorted plain records, for equality checks."""
    out = {}
    for label, frame in snapshot.nodes.items():
        out[label] = sorted(
            tuple(sorted((k, str(v)) for k, v in rec.items() if not _missing(v)))
            for rec in frame.to_dict("records")
        )
    for rel, frame in snapshot.edges.items():
        out[rel] = sorted(
            tuple(sorted((k, str(v)) for k, v in rec.items() if not _missing(v)))
            for rec in frame.to_dict("records")
        )
    return out


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def test_upserting_the_same_batch_twice_gives_the_same_graph(store):
    seed_graph(store)
    first = canonical(store.snapshot())
    seed_graph(store)
    assert canonical(store.snapshot()) == first
    counts = store.counts()
    assert counts["Item"] == 2 and counts["INTERACTED"] == 3 and counts["HAS_CONCEPT"] == 3


def test_an_upsert_sets_given_properties_and_keeps_the_others(store):
    seed_graph(store)
    store.upsert_nodes("Item", [{"id": "b1", "title": "Dune (1965)"}])
    store.upsert_edges("INTERACTED", [{"src": "u1", "dst": "b1", "weight": 5.0, "count": 2}])
    item = store.get_nodes("Item", ["b1"])["b1"]
    assert item["title"] == "Dune (1965)"
    assert item["domain"] == "books" and item["categories"] == ["science fiction"]
    edge = next(n.edge for n in store.neighbourhood("User", "u1", ["INTERACTED"], "out"))
    assert edge == {"kind": "purchase", "weight": 5.0, "count": 2, "last_ts": 1.7e9}


def test_neighbourhood_reads_edges_both_ways_heaviest_first(store):
    seed_graph(store)
    out = store.neighbourhood("Item", "b1", ["HAS_CONCEPT"], "out")
    assert [(n.key, n.edge["weight"]) for n in out] == [("science-fiction", 0.9), ("desert-planet", 0.6)]
    assert out[0].node["name"] == "science fiction" and out[0].label == "Concept"
    users = store.neighbourhood("Item", "b1", ["INTERACTED"], "in")
    assert [(n.key, n.direction) for n in users] == [("u1", "in"), ("u2", "in")]
    both = store.neighbourhood("Concept", "science-fiction")
    assert {(n.rel, n.direction) for n in both} == {
        ("HAS_CONCEPT", "in"),
        ("INTERESTED_IN", "in"),
        ("RELATED_TO", "out"),
    }
    assert len(store.neighbourhood("Concept", "science-fiction", limit=2)) == 2
    assert store.neighbourhood("User", "nobody") == []


def test_a_snapshot_exported_and_loaded_into_an_empty_store_is_the_same_graph(store):
    from kg.embedded import EmbeddedStore
    from kg.schema import NODE_TYPES

    seed_graph(store)
    store.set_meta("model_version", "v1")
    snap = store.snapshot()
    assert sorted(snap.node_keys("Item")) == ["b1", "f1"]
    assert set(snap.edge_frame("INTERACTED").columns) >= {"src", "dst", "kind", "weight", "count"}
    assert snap.meta["model_version"] == "v1"

    copy = EmbeddedStore(None)
    for label in ["Domain", "Item", "User", "Concept", "Topic"]:
        key = NODE_TYPES[label].key
        frame = snap.nodes[label].rename(columns={"key": key})
        copy.upsert_nodes(
            label, [{k: v for k, v in r.items() if not _missing(v)} for r in frame.to_dict("records")]
        )
    for rel, frame in snap.edges.items():
        copy.upsert_edges(
            rel, [{k: v for k, v in r.items() if not _missing(v)} for r in frame.to_dict("records")]
        )
    copy.set_meta("model_version", "v1")
    assert canonical(copy.snapshot()) == canonical(snap)


def test_vectors_are_written_and_read_back_with_their_model_version(store):
    seed_graph(store)
    vectors = np.arange(2 * 64, dtype=np.float32).reshape(2, 64) / 100
    assert store.write_vectors("Item", ["b1", "f1"], vectors, model_version="gnn-1") == 2
    keys, read = store.read_vectors("Item")
    order = [keys.index("b1"), keys.index("f1")]
    np.testing.assert_allclose(read[order], vectors, rtol=1e-6)
    assert store.get_nodes("Item", ["b1"])["b1"]["model_version"] == "gnn-1"
    assert "embedding" not in store.get_nodes("Item", ["b1"])["b1"]
    keys, read = store.read_vectors("Item", ["f1", "nope"])
    assert keys == ["f1"] and read.shape == (1, 64)
    assert store.read_vectors("User")[0] == []


def test_vectors_for_a_missing_node_write_nothing(store):
    seed_graph(store)
    with pytest.raises(BatchError, match="'ghost' does not exist"):
        store.write_vectors("Item", ["b1", "ghost"], np.ones((2, 8), dtype=np.float32))
    assert store.read_vectors("Item")[0] == []


def test_deleting_a_user_leaves_nothing_of_them(store):
    seed_graph(store)
    removed = store.delete_user("u1")
    assert removed == {"User": 1, "Concept": 1}
    assert store.get_nodes("User", ["u1"]) == {}
    assert store.get_nodes("Concept", ["private-note"]) == {}, "a concept only u1 held goes with them"
    assert store.get_nodes("Concept", ["science-fiction"]) != {}, "shared concepts stay"
    snap = store.snapshot()
    for rel in ("INTERACTED", "INTERESTED_IN"):
        assert "u1" not in set(snap.edge_frame(rel)["src"])
    assert store.counts()["INTERACTED"] == 2
    assert store.delete_user("u1") == {"User": 0, "Concept": 0}


def test_a_node_batch_with_a_missing_key_writes_nothing(store):
    seed_graph(store)
    before = canonical(store.snapshot())
    with pytest.raises(BatchError) as err:
        store.upsert_nodes("Item", [{"id": "b9", "title": "ok"}, {"title": "no id"}])
    assert (
        err.value.row == 1
        and "'id'" in str(err.value)
        and "Nothing of this batch was written" in str(err.value)
    )
    assert canonical(store.snapshot()) == before


def test_a_batch_with_a_wrongly_typed_property_writes_nothing(store):
    seed_graph(store)
    before = canonical(store.snapshot())
    with pytest.raises(BatchError, match="row 1: property 'weight': expected a number"):
        store.upsert_edges(
            "INTERACTED",
            [
                {"src": "u1", "dst": "f1", "weight": 1.0},
                {"src": "u2", "dst": "f1", "weight": "heavy"},
            ],
        )
    with pytest.raises(BatchError, match="unknown property 'colour'"):
        store.upsert_nodes("Item", [{"id": "b1", "colour": "red"}])
    assert canonical(store.snapshot()) == before


def test_an_edge_batch_with_an_unknown_endpoint_writes_nothing(store):
    seed_graph(store)
    before = canonical(store.snapshot())
    with pytest.raises(BatchError, match="row 1: Item 'ghost' does not exist"):
        store.upsert_edges("INTERACTED", [{"src": "u1", "dst": "f1"}, {"src": "u1", "dst": "ghost"}])
    assert canonical(store.snapshot()) == before


def test_unknown_labels_and_types_are_refused_before_any_query(store):
    with pytest.raises(SchemaError, match="unknown node label 'Person'"):
        store.upsert_nodes("Person", [{"id": "x"}])
    with pytest.raises(SchemaError, match="unknown relationship type 'LIKES'"):
        store.upsert_edges("LIKES", [{"src": "a", "dst": "b"}])


def test_deleting_edges_and_nodes_reports_what_existed(store):
    seed_graph(store)
    assert store.delete_edges("INTERACTED", [("u2", "f1"), ("u2", "nope")]) == 1
    assert store.delete_nodes("Item", ["f1", "nope"]) == 1
    assert store.counts()["HAS_CONCEPT"] == 2 and store.counts()["IN_DOMAIN"] == 1


def test_a_version_marker_is_kept(store):
    assert store.get_meta("active_version") is None
    store.set_meta("active_version", "v2")
    store.set_meta("active_version", "v3")
    assert store.get_meta("active_version") == "v3"
