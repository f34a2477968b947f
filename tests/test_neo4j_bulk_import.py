"""The neo4j-admin bulk import against the real Neo4j: same graph and same saved-query rows as a batched load.

The demo graph is built once (embedded store); its active version is loaded into the session's
Neo4j with the batched writes (`project_state`) and, separately, written as neo4j-admin CSV files and
imported into a new server home with the Maven-resolved `neo4j-admin` (org.neo4j.cli.AdminTool).
"""

from __future__ import annotations

import shlex

import numpy as np
import pytest

import gnn
from cypher import list_queries
from ikg import InterestGraph, neo4j_local
from ikg.cypher_kit import run_saved
from ikg.demo_data import load_catalog, make_demo_events
from ikg.neo4j_import import ImportRefusedError, run_import, write_import_files
from ikg.versions import project_state
from ikg.workdir import Workdir
from kg.neo4j_store import Neo4jConfig, Neo4jStore
from tests.test_store_contract import canonical

pytestmark = [pytest.mark.neo4j, pytest.mark.models, pytest.mark.slow]


def example_params(query) -> dict[str, str]:
    words = shlex.split(query.example)
    return dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w in ("--param", "-p"))


def _unordered(value):
    """`collect()` lists come in storage order, which differs between two loads of the same graph."""
    if isinstance(value, list):
        items = [_unordered(v) for v in value]
        return sorted(items, key=repr)
    if isinstance(value, dict):
        return {k: _unordered(v) for k, v in value.items()}
    return value


def answers(config: Neo4jConfig) -> dict:
    """Every saved query's rows for its example, the graph, counts and two vector sets."""
    store = Neo4jStore(config)
    try:
        with store._session() as session:
            session.run("CALL db.awaitIndexes(300)").consume()
        out = {
            "queries": {q.name: run_saved(config, q.name, example_params(q)) for q in list_queries()},
            "graph": canonical(store.snapshot()),
            "counts": store.counts(),
            "vectors": {
                label: store.read_vectors(label, prop=prop)
                for label, prop in (("Item", "text_embedding"), ("User", "embedding"))
            },
        }
    finally:
        store.close()
    return out


@pytest.fixture(scope="module")
def demo_state(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo-embedded")
    ig = InterestGraph.open(folder, gnn_config=gnn.GnnConfig(epochs=10))
    ig.ingest_items(load_catalog())
    ig.ingest_events(make_demo_events())
    ig.refresh(progress=False)
    ig.close()
    return Workdir(folder).load_state()


def test_bulk_import_gives_the_batched_graph_and_the_same_saved_query_rows(
    demo_state, neo4j_config, neo4j_store, tmp_path
):
    project_state(neo4j_store, demo_state)
    batched = answers(neo4j_config)

    files = write_import_files(demo_state, tmp_path / "csv")
    assert (tmp_path / "csv" / "import.sh").read_text().count("neo4j-admin database import full") == 1
    home = tmp_path / "neo4j-home"
    result = run_import(files, home)
    assert result["counts"]["LEADS_TO"] == batched["counts"]["LEADS_TO"] > 0

    server = neo4j_local.start(home, port=neo4j_local.free_port())
    try:
        config = Neo4jConfig(server.uri, "neo4j", server.password)
        imported = answers(config)
        store = Neo4jStore(config, apply_schema=False)
        with store._session() as session:
            session.run("CREATE (:AnalystNote {text: 'not interest-kg data'})").consume()
        store.close()
    finally:
        server.stop()

    assert imported["counts"] == batched["counts"]
    assert imported["graph"] == batched["graph"]
    for label, (keys, vectors) in batched["vectors"].items():
        assert imported["vectors"][label][0] == keys and len(keys) > 0
        assert np.array_equal(imported["vectors"][label][1], vectors)
    assert set(imported["queries"]) == set(batched["queries"])
    for name, rows in batched["queries"].items():
        assert rows, f"{name} returned nothing after the batched load"
        assert _unordered(imported["queries"][name]) == _unordered(rows), name

    with pytest.raises(ImportRefusedError, match="already holds a 'neo4j' database"):
        run_import(files, home)
    with pytest.raises(ImportRefusedError, match="holds 1 nodes interest-kg did not write"):
        run_import(files, home, overwrite=True)
