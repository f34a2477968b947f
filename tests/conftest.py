"""Shared fixtures: a real Neo4j server for the whole session, and both stores.

When NEO4J_URI is set the tests use that server (and its database is cleared between
tests: never point it at data you care about). Otherwise a local Neo4j 5.26 Community
server is started from Maven-resolved jars (ikg/neo4j_local.py) and stopped at the end.
A Neo4j that cannot be reached or started is a test failure, never a skip.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from kg.embedded import EmbeddedStore
from kg.neo4j_store import Neo4jConfig, Neo4jStore


@pytest.fixture(scope="session")
def neo4j_config():
    configured = Neo4jConfig.from_env()
    if configured is not None:
        yield configured
        return
    from ikg import neo4j_local

    home = Path(tempfile.mkdtemp(prefix="ikg-test-neo4j-"))
    server = neo4j_local.start(home, port=neo4j_local.free_port())
    try:
        yield Neo4jConfig(server.uri, "neo4j", server.password, "neo4j")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def neo4j_session_store(neo4j_config):
    store = Neo4jStore(neo4j_config)
    yield store
    store.close()


@pytest.fixture
def neo4j_store(neo4j_session_store):
    neo4j_session_store.clear()
    yield neo4j_session_store
    neo4j_session_store.clear()


@pytest.fixture(params=["embedded", "neo4j"])
def store(request, tmp_path):
    """Each contract test runs once per store, unchanged."""
    if request.param == "embedded":
        yield EmbeddedStore(tmp_path / "graph")
    else:
        request.applymarker(pytest.mark.neo4j)
        yield request.getfixturevalue("neo4j_store")


@pytest.fixture(scope="session", autouse=True)
def _quiet_tokenizers():
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    yield


@pytest.fixture(scope="session")
def spark():
    """One local[2] SparkSession for every Spark test (JVM start once); stopped at the end of the session."""
    from ikg.spark import spark_session

    with spark_session("local[2]", {"spark.sql.shuffle.partitions": "4"}) as session:
        yield session
