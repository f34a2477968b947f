"""Delta writes into the real Neo4j: the CREATE/MERGE fast path against the plain upserts it replaces.

The fast path (`GraphStore.replace_*` with `added` flags from a diff, rows sent as lists) must give
exactly the graph the upserts give, stay idempotent, and leave each written row with exactly its own
properties (a stale one removed; vectors and properties outside the model untouched).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kg import builder
from kg.row_snapshot import rows_from_snapshot
from kg.schema import BatchError
from tests.test_store_contract import canonical


def graph_rows(seed: int = 0, users: int = 60, items: int = 80) -> builder.GraphRows:
    """A small random graph with missing cells, list properties and every endpoint present."""
    rng = np.random.default_rng(seed)
    domains = ["books", "films"]
    item_ids = [f"i{i:03d}" for i in range(items)]
    item_nodes = pd.DataFrame(
        {
            "id": item_ids,
            "domain": [domains[i % 2] for i in range(items)],
            "title": [f"title {i}" for i in range(items)],
            "description": [None if i % 3 else f"about {i}" for i in range(items)],
            "categories": [[f"c{i % 5}", "all"] if i % 4 else None for i in range(items)],
            "popularity": [float(i) if i % 2 else np.nan for i in range(items)],
        }
    )
    concept_keys = [f"k{i:02d}" for i in range(30)]
    concepts = pd.DataFrame(
        {"key": concept_keys, "name": [k.upper() for k in concept_keys], "df": list(range(30))}
    )
    pairs = sorted(
        {(int(u), int(i)) for u, i in zip(rng.integers(0, users, 600), rng.integers(0, items, 600))}
    )
    interacted = pd.DataFrame(
        {
            "src": [f"u{u:03d}" for u, _ in pairs],
            "dst": [item_ids[i] for _, i in pairs],
            "kind": ["view" if n % 3 else "purchase" for n in range(len(pairs))],
            "weight": rng.random(len(pairs)).round(4),
            "count": rng.integers(1, 5, len(pairs)),
            "rating": [float(n % 5) if n % 7 == 0 else np.nan for n in range(len(pairs))],
        }
    )
    has_concept = pd.DataFrame(
        {
            "src": [item_ids[i] for i in range(items) for j in range(2)],
            "dst": [concept_keys[(i + 7 * j) % 30] for i in range(items) for j in range(2)],
            "weight": [0.5] * (2 * items),
            "source": ["noun_chunk"] * (2 * items),
        }
    )
    return builder.GraphRows(
        nodes={
            "Domain": pd.DataFrame({"name": domains}),
            "Item": item_nodes,
            "User": pd.DataFrame({"id": [f"u{u:03d}" for u in range(users)]}),
            "Concept": concepts,
        },
        edges={
            "IN_DOMAIN": pd.DataFrame({"src": item_ids, "dst": item_nodes["domain"]}),
            "INTERACTED": interacted,
            "HAS_CONCEPT": has_concept,
        },
    )


def upsert_all(store, rows: builder.GraphRows) -> None:
    """The old path: plain upserts, row by row properties merged into what is there."""
    for label in builder.NODE_ORDER:
        if label in rows.nodes:
            store.upsert_nodes(label, rows.nodes[label])
    for rel in builder.EDGE_ORDER:
        if rel in rows.edges:
            store.upsert_edges(rel, rows.edges[rel])


def delta(store, new: builder.GraphRows) -> tuple[builder.GraphRows, builder.GraphRows]:
    """What a refresh writes: `new` diffed against the store's content, with the `added` flags."""
    have = rows_from_snapshot(store.snapshot(), {**new.nodes, **new.edges})
    changed, removed = builder.GraphRows(), builder.GraphRows()
    for name, frame in {**new.nodes, **new.edges}.items():
        kind = "nodes" if name in new.nodes else "edges"
        diff, gone = builder.diff_rows(have[name], frame)
        getattr(changed, kind)[name] = diff
        getattr(removed, kind)[name] = gone
        changed.added[name] = builder.added_mask(have[name], diff)
    return changed, removed


@pytest.mark.neo4j
def test_the_fast_path_writes_the_same_graph_as_the_upserts(neo4j_store):
    rows = graph_rows()
    upsert_all(neo4j_store, rows)
    expected, expected_counts = canonical(neo4j_store.snapshot()), neo4j_store.counts()
    neo4j_store.clear()
    changed, removed = delta(neo4j_store, rows)
    assert all(mask.all() for mask in changed.added.values())
    with neo4j_store.atomic():
        builder.write_graph(neo4j_store, changed, removed)
    assert neo4j_store.counts() == expected_counts
    assert canonical(neo4j_store.snapshot()) == expected
    assert expected_counts["INTERACTED"] == len(rows.edges["INTERACTED"])


@pytest.mark.neo4j
def test_rerunning_a_delta_changes_nothing_and_merging_everything_again_is_idempotent(neo4j_store):
    rows = graph_rows()
    with neo4j_store.atomic():
        builder.write_graph(neo4j_store, *delta(neo4j_store, rows))
    first, counts = canonical(neo4j_store.snapshot()), neo4j_store.counts()
    changed, _ = delta(neo4j_store, rows)
    assert sum(len(f) for f in [*changed.nodes.values(), *changed.edges.values()]) == 0
    builder.write_graph(neo4j_store, builder.GraphRows(nodes=rows.nodes, edges=rows.edges))
    assert neo4j_store.counts() == counts
    assert canonical(neo4j_store.snapshot()) == first


@pytest.mark.neo4j
def test_a_changed_delta_matches_a_fresh_write_of_the_new_rows(neo4j_store):
    old, new = graph_rows(seed=0), graph_rows(seed=1)
    new.nodes["Item"].loc[::5, "title"] = "retitled"
    builder.write_graph(neo4j_store, *delta(neo4j_store, new))
    expected = canonical(neo4j_store.snapshot())
    neo4j_store.clear()
    builder.write_graph(neo4j_store, *delta(neo4j_store, old))
    changed, removed = delta(neo4j_store, new)
    assert changed.added["INTERACTED"].any() and not changed.added["Item"].any()
    assert len(removed.edges["INTERACTED"]) > 0
    with neo4j_store.atomic():
        builder.write_graph(neo4j_store, changed, removed)
    assert canonical(neo4j_store.snapshot()) == expected


def test_a_full_rewrite_removes_stale_properties_and_keeps_vectors_and_foreign_ones(store):
    rows = graph_rows(users=4, items=6)
    builder.write_graph(store, *delta(store, rows))
    store.write_vectors("Item", ["i000"], np.ones((1, 64), dtype=np.float32), model_version="v1")
    if hasattr(store, "_session"):
        with store._session() as session:
            session.run("MATCH (n:Item {id: 'i000'}) SET n.note = 'analyst'").consume()
    assert store.get_nodes("Item", ["i000"])["i000"]["description"] == "about 0"
    newer = graph_rows(users=4, items=6)
    newer.nodes["Item"] = newer.nodes["Item"].drop(columns=["description"])
    newer.edges["INTERACTED"] = newer.edges["INTERACTED"].drop(columns=["rating"])
    changed, removed = delta(store, newer)
    assert len(changed.nodes["Item"]) == 2 and not changed.added["Item"].any()
    with store.atomic():
        builder.write_graph(store, changed, removed)
    item = store.get_nodes("Item", ["i000"])["i000"]
    assert "description" not in item and item["title"] == "title 0"
    keys, vectors = store.read_vectors("Item", ["i000"])
    assert keys == ["i000"] and vectors.shape == (1, 64)
    if hasattr(store, "_session"):
        assert item["note"] == "analyst"
    ratings = store.snapshot().edges["INTERACTED"].get("rating", pd.Series(dtype=float))
    assert ratings.isna().all()


@pytest.mark.neo4j
def test_a_created_edge_with_a_missing_endpoint_rolls_the_whole_delta_back(neo4j_store):
    rows = graph_rows(users=4, items=6)
    builder.write_graph(neo4j_store, *delta(neo4j_store, rows))
    before = canonical(neo4j_store.snapshot())
    bad = pd.DataFrame({"src": ["u000", "u999"], "dst": ["i001", "i002"], "kind": ["view", "view"]})
    with pytest.raises(BatchError, match=r"INTERACTED batch row 1: User 'u999' does not exist"):
        with neo4j_store.atomic():
            neo4j_store.replace_nodes("Item", pd.DataFrame({"id": ["i001"], "domain": ["books"]}))
            neo4j_store.replace_edges("INTERACTED", bad, added=[True, True])
    assert canonical(neo4j_store.snapshot()) == before


@pytest.mark.neo4j
def test_a_node_marked_new_that_exists_is_refused_not_duplicated(neo4j_store):
    rows = graph_rows(users=4, items=6)
    builder.write_graph(neo4j_store, *delta(neo4j_store, rows))
    before = canonical(neo4j_store.snapshot())
    with pytest.raises(BatchError, match=r"marked as new already exists.*ikg refresh --full"):
        neo4j_store.replace_nodes("User", pd.DataFrame({"id": ["u000"]}), added=[True])
    assert canonical(neo4j_store.snapshot()) == before
