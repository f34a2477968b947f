"""Neo4j refreshes that cannot half-apply: the server killed mid-transaction, a refresh killed after
its store commit. A separate Neo4j server (not the session one) is started and SIGKILLed here.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time

import pytest

import gnn
from ikg import InterestGraph, neo4j_local
from ikg.workdir import Workdir
from kg import builder
from kg.neo4j_store import Neo4jConfig, Neo4jStore, Neo4jUnavailableError
from kg.row_snapshot import rows_from_snapshot
from kg.schema import EDGE_TYPES, NODE_TYPES
from tests.reliability_support import answers, extra_events, run, start, world

pytestmark = [pytest.mark.models, pytest.mark.slow, pytest.mark.neo4j]

FAST_GNN = gnn.GnnConfig(epochs=8, eval_every=4, patience=1)


class Server:
    """A Neo4j server of this test module that can be killed and restarted on the same data."""

    def __init__(self, home) -> None:
        self.home, self.port = home, neo4j_local.free_port()
        self.server = neo4j_local.start(home, port=self.port, heap="512m", pagecache="128m")

    @property
    def config(self) -> Neo4jConfig:
        return Neo4jConfig(self.server.uri, "neo4j", self.server.password, retry_seconds=5.0)

    def kill(self) -> None:
        os.kill(self.server.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.server.pid, 0)

    def restart(self) -> None:
        deadline = time.monotonic() + 30
        while neo4j_local._bolt_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.server = neo4j_local.start(self.home, port=self.port, heap="512m", pagecache="128m")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("neo4j-faults"))
    yield srv
    srv.server.stop()


def assert_store_is_version(store: Neo4jStore, folder) -> None:
    """The store holds exactly the active version's rows: no missing, extra, duplicate or orphan row."""
    state = Workdir(folder).load_state()
    wanted = {name: state.table(f"rows_{name}") for name in (*NODE_TYPES, *EDGE_TYPES)}
    have = rows_from_snapshot(store.snapshot(), wanted)
    for name, rows in wanted.items():
        ignore = ["updated"] if name == "INTERESTED_IN" else []
        changed, removed = builder.diff_rows(have[name], rows, ignore=ignore)
        assert len(changed) == 0 and len(removed) == 0, (name, len(changed), len(removed))
    assert store.get_meta("active_version") == state.version
    with store._driver.session(database=store.config.database) as session:
        for label, nt in NODE_TYPES.items():
            dup = session.run(
                f"MATCH (n:`{label}`) WITH n.`{nt.key}` AS k, count(*) AS c WHERE c > 1 RETURN count(k) AS n"
            ).single()["n"]
            assert dup == 0, label
        lonely_users = session.run("MATCH (u:User) WHERE NOT (u)--() RETURN count(u) AS n").single()["n"]
        lonely_concepts = session.run(
            "MATCH (c:Concept) WHERE NOT ()-[:HAS_CONCEPT|INTERESTED_IN]->(c) RETURN count(c) AS n"
        ).single()["n"]
        assert lonely_users == 0 and lonely_concepts == 0


def test_neo4j_killed_during_incremental_and_full_refresh_loses_nothing(server, tmp_path):
    folder = tmp_path / "state"
    data = world()
    store = Neo4jStore(server.config)
    store.clear()
    ig = InterestGraph(store, folder, gnn_config=FAST_GNN)
    ig.ingest_items(data.items)
    ig.ingest_events(data.events)
    ig.refresh(progress=False)
    assert_store_is_version(store, folder)
    figures = []
    for n, full in enumerate((False, True)):
        before = answers(ig)
        ig.ingest_events(extra_events(data, f"neo{n}", offset=n * 86_400.0))
        paused = tmp_path / f"paused-{n}"
        args = ["refresh", str(folder), "--neo4j", server.server.uri, server.server.password]
        proc = start(
            [*args, *(["--full"] if full else [])],
            IKG_PAUSE_AT="neo4j_mid_transaction",
            IKG_PAUSE_FILE=str(paused),
            IKG_PAUSE_SECONDS="120",
        )
        deadline = time.monotonic() + 240
        while not paused.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert paused.exists(), proc.communicate()[1][-3000:]
        server.kill()
        paused.unlink()
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 4, err[-3000:]
        assert "is unreachable" in out and "Traceback" not in out + err
        assert answers(ig) == before  # served from the version folder while the server is down
        server.restart()
        assert answers(ig) == before
        assert_store_is_version(store, folder)  # the killed transaction left nothing behind
        after = json.loads(out.strip().splitlines()[-1])["after"]
        figures.append(
            (
                "full" if full else "incremental",
                "server SIGKILL mid-transaction",
                f"clear error after {after:.0f}s",
            )
        )
        report = ig.refresh(full=full, progress=False)
        assert answers(ig)[0] == report.model_version != before[0]
        assert_store_is_version(store, folder)

    before = answers(ig)
    ig.ingest_events(extra_events(data, "neo-commit", offset=5 * 86_400.0))
    code, _, _ = run(
        ["refresh", str(folder), "--neo4j", server.server.uri, server.server.password],
        IKG_CRASH_AT="graph_written",
    )
    assert code == -signal.SIGKILL
    assert answers(ig) == before  # the store already holds the new graph; the old version still serves
    assert store.get_meta("active_version") != before[0]
    report = ig.refresh(progress=False)
    assert_store_is_version(store, folder)
    assert answers(ig)[0] == report.model_version
    figures.append(
        ("incremental", "refresh SIGKILL after store commit", "old version served, re-run converged")
    )
    print("\n" + "\n".join(" | ".join(f) for f in figures))
    ig.close()


def test_an_unreachable_server_is_one_clear_error_without_secrets():
    config = Neo4jConfig(f"bolt://127.0.0.1:{neo4j_local.free_port()}", "neo4j", "s3cret-pw", retry_seconds=1)
    with pytest.raises(Neo4jUnavailableError) as err:
        Neo4jStore(config)
    assert str(err.value).startswith(f"Neo4j at {config.uri} is unreachable")
    assert "s3cret-pw" not in str(err.value) and err.value.__cause__ is None
