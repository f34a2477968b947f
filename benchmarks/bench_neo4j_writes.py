"""Neo4j write rate of relationship deltas: the delta fast path vs the old batched MERGE, same run.

    python benchmarks/bench_neo4j_writes.py [--edges 100000] [--changed 20000] [--sample 2000]

On one server (NEO4J_URI, or a local one it starts), one process, in this order:
- old path as shipped before: `UNWIND $rows MATCH..MATCH.. MERGE (a)-[r]->(b) SET r += row.p`
  with a missing-endpoint pre-check, per-row property maps, and the driver's pure-Python codec
  (a child process that hides neo4j-rust-ext, so the reference is what the project did before);
- the same old statements with the Rust codec (what the codec alone gives);
- the fast path (`replace_edges` with `added` flags from the diff, a DataFrame as refresh passes
  it): CREATE for the new rows, rows as plain lists, endpoint checks by counters, one transaction;
- the fast path's MERGE branch for changed rows (`--changed` of them get new weights);
- a row-by-row MERGE of a `--sample`, the floor.
Every figure is relationships per second including the commit; ratios are against the old path.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

OLD_CHUNK = 10_000


def edge_rows(edges: int) -> tuple[int, int, list[dict]]:
    """`edges` distinct random user-item pairs as INTERACTED rows, with the user and item counts."""
    rng = np.random.default_rng(0)
    n_users, n_items = max(edges // 10, 10), max(edges // 5, 10)
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < edges:
        pairs.update(zip(rng.integers(0, n_users, edges).tolist(), rng.integers(0, n_items, edges).tolist()))
    rows = [
        {"src": f"u{u}", "dst": f"i{i}", "kind": "view", "weight": 1.0, "count": 1}
        for u, i in sorted(pairs)[:edges]
    ]
    return n_users, n_items, rows


def seed_nodes(store, n_users: int, n_items: int) -> None:
    store.clear()
    store.upsert_nodes("User", [{"id": f"u{u}"} for u in range(n_users)])
    store.upsert_nodes("Item", [{"id": f"i{i}", "domain": "books"} for i in range(n_items)])


def old_upsert(store, rows: list[dict]) -> None:
    """The write path before the fast path: pre-check, then MERGE + `SET r += map` per 10k rows."""
    payload = [
        {"s": r["src"], "d": r["dst"], "p": {k: v for k, v in r.items() if k not in ("src", "dst")}}
        for r in rows
    ]
    check = "UNWIND $keys AS k WITH k WHERE NOT EXISTS { MATCH (:`{label}` {id: k}) } RETURN k LIMIT 1"
    merge = (
        "UNWIND $rows AS row MATCH (a:User {id: row.s}) MATCH (b:Item {id: row.d}) "
        "MERGE (a)-[r:INTERACTED]->(b) SET r += row.p"
    )

    def work(tx):
        for end, label in (("s", "User"), ("d", "Item")):
            keys = sorted({row[end] for row in payload})
            assert tx.run(check.replace("{label}", label), keys=keys).single() is None
        for start in range(0, len(payload), OLD_CHUNK):
            tx.run(merge, rows=payload[start : start + OLD_CHUNK]).consume()

    with store._session() as session:
        session.execute_write(work)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def old_path_child(edges: int) -> None:
    """Run in a child process without the Rust codec: print the old path's seconds as JSON."""
    sys.modules["neo4j._rust"] = None  # type: ignore[assignment]  # hide neo4j-rust-ext: pure-Python codec
    from kg.neo4j_store import Neo4jConfig, Neo4jStore

    config = Neo4jConfig.from_env()
    assert config is not None
    store = Neo4jStore(config)
    n_users, n_items, rows = edge_rows(edges)
    seed_nodes(store, n_users, n_items)
    seconds = timed(lambda: old_upsert(store, rows))
    store.clear()
    store.close()
    print(json.dumps({"seconds": seconds}))


def bulk_import(n_users: int, n_items: int, rows: list[dict]) -> dict[str, tuple[int, float]]:
    """CSV files + `neo4j-admin database import full` into a new server home (JVM start included)."""
    import tempfile

    from ikg.neo4j_import import run_import, write_import_files
    from ikg.workdir import State
    from kg.schema import EDGE_TYPES, NODE_TYPES

    tables = {f"rows_{name}": pd.DataFrame() for name in (*NODE_TYPES, *EDGE_TYPES)}
    tables["rows_User"] = pd.DataFrame({"id": [f"u{u}" for u in range(n_users)]})
    tables["rows_Item"] = pd.DataFrame({"id": [f"i{i}" for i in range(n_items)], "domain": "books"})
    tables["rows_INTERACTED"] = pd.DataFrame(rows)
    state = State("bench", tables, {}, {}, {})
    folder = Path(tempfile.mkdtemp(prefix="ikg-bench-import-"))
    holder: dict = {}
    written = timed(lambda: holder.update(files=write_import_files(state, folder / "csv")))
    imported = timed(lambda: run_import(holder["files"], folder / "home", finish_after=False))
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "bulk: CSV files written": (len(rows), written),
        "bulk: neo4j-admin import (JVM incl.)": (len(rows), imported),
    }


def rust_codec() -> bool:
    from neo4j._codec.packstream import v1

    return getattr(v1, "_rust_pack", None) is not None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--edges", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=20_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument(
        "--bulk", action="store_true", help="also time the neo4j-admin bulk import of the same edges"
    )
    parser.add_argument("--old-path-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.old_path_child:
        old_path_child(args.edges)
        return

    import os

    from benchmarks._neo4j import neo4j_store

    n_users, n_items, rows = edge_rows(args.edges)
    figures: dict[str, tuple[int, float]] = {}
    with neo4j_store() as store:
        env = {
            **os.environ,
            "NEO4J_URI": store.config.uri,
            "NEO4J_USER": store.config.user,
            "NEO4J_PASSWORD": store.config.password,
            "NEO4J_DATABASE": store.config.database,
        }
        child = subprocess.run(
            [sys.executable, __file__, "--old-path-child", "--edges", str(args.edges)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        figures["old path, pure-Python codec (before)"] = (len(rows), json.loads(child.stdout)["seconds"])

        seed_nodes(store, n_users, n_items)
        figures["old path, Rust codec"] = (len(rows), timed(lambda: old_upsert(store, rows)))

        seed_nodes(store, n_users, n_items)
        frame = pd.DataFrame(rows)

        def fast_new() -> None:
            with store.atomic():
                store.replace_edges("INTERACTED", frame, added=np.ones(len(frame), dtype=bool))

        figures["fast path, new rows (CREATE)"] = (len(rows), timed(fast_new))
        changed = frame.iloc[: args.changed].assign(weight=2.0, count=2)

        def fast_changed() -> None:
            with store.atomic():
                store.replace_edges("INTERACTED", changed, added=np.zeros(len(changed), dtype=bool))

        figures["fast path, changed rows (MERGE)"] = (len(changed), timed(fast_changed))
        assert store.counts()["INTERACTED"] == len(rows)

        sample = [{"s": r["src"], "d": r["dst"]} for r in rows[: args.sample]]
        query = (
            "MATCH (a:User {id: $s}) MATCH (b:Item {id: $d}) "
            "MERGE (a)-[r:INTERACTED]->(b) SET r.kind = 'click', r.weight = 2.0"
        )

        def row_by_row() -> None:
            with store._session() as session:
                for row in sample:
                    session.execute_write(lambda tx, r=row: tx.run(query, **r).consume())

        figures["row-by-row MERGE"] = (len(sample), timed(row_by_row))
        store.clear()

    if args.bulk:
        figures.update(bulk_import(n_users, n_items, rows))
    reference = figures["old path, pure-Python codec (before)"]
    base_rate = reference[0] / reference[1]
    print(
        f"Neo4j relationship writes ({args.edges} new, {args.changed} changed; Rust codec here: {rust_codec()})"
    )
    for name, (count, seconds) in figures.items():
        rate = count / seconds
        print(
            f"{name:40s}: {count:>7} rels in {seconds:7.2f} s = {rate:8.0f} rels/s  ({rate / base_rate:5.2f}x)"
        )


if __name__ == "__main__":
    main()
