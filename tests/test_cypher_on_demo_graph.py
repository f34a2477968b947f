"""Every saved query, run with its header example against the demo graph loaded into a real Neo4j.

The graph is what `ikg demo --neo4j` builds (catalog, synthetic users, extraction, topics, GNN),
so these rows are what an analyst sees on day one.
"""

from __future__ import annotations

import shlex

import pytest

import gnn
from cypher import list_queries
from ikg import InterestGraph
from ikg.cypher_kit import run_saved
from ikg.demo_data import COLD_USER, THEMES, load_catalog, make_demo_events
from kg.neo4j_store import Neo4jStore

pytestmark = [pytest.mark.neo4j, pytest.mark.models, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo_graph(neo4j_config, tmp_path_factory):
    store = Neo4jStore(neo4j_config)
    store.clear()
    ig = InterestGraph(store, tmp_path_factory.mktemp("demo-neo4j"), gnn_config=gnn.GnnConfig(epochs=20))
    ig.ingest_items(load_catalog())
    ig.ingest_events(make_demo_events())
    report = ig.refresh(progress=False)
    yield ig, report
    store.clear()
    ig.close()


def example_params(query) -> dict[str, str]:
    words = shlex.split(query.example)
    return dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w in ("--param", "-p"))


def rows_of(ig, name, **params):
    query = next(q for q in list_queries() if q.name == name)
    return run_saved(ig.store.config, name, {**example_params(query), **params})


def test_every_saved_query_returns_rows_for_its_example(demo_graph):
    ig, _ = demo_graph
    for query in list_queries():
        rows = run_saved(ig.store.config, query.name, example_params(query))
        assert rows, f"{query.name} returned nothing for its example {query.example!r}"


def test_graph_health_counts_match_what_the_refresh_built(demo_graph):
    ig, report = demo_graph
    health = {(r["check"], r["name"]): r["value"] for r in rows_of(ig, "graph_health")}
    assert health[("meta", "active_version")] == report.model_version
    for label in ("User", "Item", "Concept", "Topic"):
        assert health[("nodes", label)] == report.counts[label]
    for rel in ("INTERACTED", "INTERESTED_IN", "HAS_CONCEPT", "RELATED_TO", "LEADS_TO"):
        assert health[("relationships", rel)] == report.counts[rel]
    assert health[("items", "without_embedding")] == 0 and health[("items", "without_text_embedding")] == 0


def test_migration_bridges_carry_the_cold_user_into_their_themes(demo_graph):
    ig, _ = demo_graph
    rows = rows_of(ig, "migration_bridges", user_id=COLD_USER, source_domain="books", target_domain="music")
    liked = set(THEMES["space"]) | set(THEMES["cyberpunk"])
    items = list(dict.fromkeys(r.get("item_id") or r.get("item") for r in rows))
    assert items and items[0] in liked, items[:3]
    assert sum(i in liked for i in items[:5]) >= 3


def test_user_top_interests_follow_the_users_history(demo_graph):
    ig, _ = demo_graph
    rows = rows_of(ig, "user_top_interests", user_id=COLD_USER)
    weights = [r["weight"] for r in rows]
    assert weights == sorted(weights, reverse=True) and weights[0] == 1.0
    names = " ".join(str(r.get("name") or r.get("concept")) for r in rows).lower()
    assert any(word in names for word in ("space", "science fiction", "dystop", "cyberpunk", "planet"))


def test_item_neighbours_come_from_the_vector_index(demo_graph):
    ig, _ = demo_graph
    rows = rows_of(ig, "item_concepts_and_neighbours", item_id="book:dune", k="5")
    assert rows and str(rows).count("film:") + str(rows).count("book:") + str(rows).count("music:") >= 3


def test_the_explanation_query_finds_paths_to_a_recommended_item(demo_graph):
    ig, _ = demo_graph
    item = ig.recommend("demo-u001", k=1)[0].item_id
    rows = rows_of(ig, "explanation_paths", user_id="demo-u001", item_id=item)
    assert rows and item in str(rows)
