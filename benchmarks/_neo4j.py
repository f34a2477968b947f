"""A Neo4j store for benchmarks: NEO4J_URI when set, else a throwaway local server."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kg.neo4j_store import Neo4jConfig, Neo4jStore


@contextlib.contextmanager
def neo4j_store() -> Iterator[Neo4jStore]:
    config = Neo4jConfig.from_env()
    server = None
    if config is None:
        from ikg import neo4j_local

        server = neo4j_local.start(
            Path(tempfile.mkdtemp(prefix="ikg-bench-neo4j-")), port=neo4j_local.free_port()
        )
        config = Neo4jConfig(server.uri, "neo4j", server.password)
    store = Neo4jStore(config)
    try:
        yield store
    finally:
        store.close()
        if server is not None:
            server.stop()
