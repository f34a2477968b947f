"""Neo4j write rate: 100k edges with batched UNWIND ... MERGE vs a row-by-row MERGE of a 5k sample.

    python benchmarks/bench_neo4j_writes.py [--edges 100000] [--sample 5000]

Both run in the same process against the same server (NEO4J_URI, or a local one it starts).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._neo4j import neo4j_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edges", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=5_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n_users, n_items = max(args.edges // 10, 10), max(args.edges // 5, 10)
    pairs = set()
    while len(pairs) < args.edges:
        pairs.update(
            zip(rng.integers(0, n_users, args.edges).tolist(), rng.integers(0, n_items, args.edges).tolist())
        )
    pairs = sorted(pairs)[: args.edges]
    rows = [{"src": f"u{u}", "dst": f"i{i}", "kind": "view", "weight": 1.0, "count": 1} for u, i in pairs]

    with neo4j_store() as store:
        store.clear()
        store.upsert_nodes("User", [{"id": f"u{u}"} for u in range(n_users)])
        store.upsert_nodes("Item", [{"id": f"i{i}", "domain": "books"} for i in range(n_items)])
        t0 = time.perf_counter()
        store.upsert_edges("INTERACTED", rows)
        batched = time.perf_counter() - t0

        sample = [{"s": f"u{u}", "d": f"i{i}"} for u, i in pairs[: args.sample]]
        query = (
            "MATCH (a:User {id: $s}) MATCH (b:Item {id: $d}) "
            "MERGE (a)-[r:INTERACTED]->(b) SET r.kind = 'click', r.weight = 2.0"
        )
        t0 = time.perf_counter()
        with store._driver.session(database=store.config.database) as session:
            for row in sample:
                session.execute_write(lambda tx, r=row: tx.run(query, **r).consume())
        single = time.perf_counter() - t0
        store.clear()

    batched_rate, single_rate = len(rows) / batched, len(sample) / single
    print(f"batched UNWIND MERGE : {len(rows):>7} edges in {batched:7.2f} s = {batched_rate:9.0f} edges/s")
    print(f"row-by-row MERGE     : {len(sample):>7} edges in {single:7.2f} s = {single_rate:9.0f} edges/s")
    print(f"ratio batched/row-by-row: {batched_rate / single_rate:.1f}x")


if __name__ == "__main__":
    main()
