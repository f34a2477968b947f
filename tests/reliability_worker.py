"""A separate process for the reliability tests: refresh, ingest, feedback or read one data folder.

    python tests/reliability_worker.py refresh PATH [--full] [--wait S] [--neo4j URI PASSWORD]
    python tests/reliability_worker.py ingest PATH TAG N          N event batches, one row each
    python tests/reliability_worker.py feedback PATH TAG N        N feedback events (half dislikes)
    python tests/reliability_worker.py read PATH SECONDS USERS THREADS STOPFILE   recommend until STOPFILE exists

Each prints one JSON object per line on stdout (the reads: version and item ids of each answer).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

FAST_GNN = dict(epochs=8, eval_every=4, patience=1)


def open_graph(path: str, neo4j: tuple[str, str] | None = None):
    import gnn
    from ikg import InterestGraph

    config = gnn.GnnConfig(**FAST_GNN)
    if neo4j:
        return InterestGraph.open(path, neo4j_uri=neo4j[0], auth=("neo4j", neo4j[1]), gnn_config=config)
    return InterestGraph.open(path, gnn_config=config)


def main(argv: list[str]) -> int:
    command, path = argv[0], argv[1]
    if command == "refresh":
        wait = float(argv[argv.index("--wait") + 1]) if "--wait" in argv else 0.0
        neo4j = (
            tuple(argv[argv.index("--neo4j") + 1 : argv.index("--neo4j") + 3]) if "--neo4j" in argv else None
        )
        from ikg.locks import RefreshBusyError
        from kg.neo4j_store import Neo4jUnavailableError

        ig = open_graph(path, neo4j)
        start = time.monotonic()
        try:
            report = ig.refresh(full="--full" in argv, progress=False, wait=wait)
        except RefreshBusyError as exc:
            print(json.dumps({"busy": str(exc)}), flush=True)
            return 3
        except Neo4jUnavailableError as exc:
            print(json.dumps({"unreachable": str(exc), "after": time.monotonic() - start}), flush=True)
            return 4
        print(json.dumps({"version": report.model_version, "noop": report.noop}), flush=True)
        ig.close()
        return 0
    if command == "ingest":
        import pandas as pd

        tag, n = argv[2], int(argv[3])
        ig = open_graph(path)
        items = sorted(ig.model().index.items)
        for i in range(n):
            frame = pd.DataFrame(
                [
                    {
                        "user_id": f"{tag}-u{i:03d}",
                        "item_id": items[i % len(items)],
                        "kind": "view",
                        "ts": 1.7e9 + i,
                    }
                ]
            )
            ig.ingest_events(frame)
        print(json.dumps({"done": n}), flush=True)
        return 0
    if command == "feedback":
        tag, n = argv[2], int(argv[3])
        ig = open_graph(path)
        items = sorted(ig.model().index.items)
        for i in range(n):
            ig.feedback(
                f"{tag}-fb", items[i % len(items)], "dislike" if i % 2 == 0 else "click", ts=1.7e9 + i
            )
        print(json.dumps({"done": n}), flush=True)
        return 0
    if command == "read":
        import threading

        seconds, users, threads, stop = float(argv[2]), argv[3].split(","), int(argv[4]), Path(argv[5])
        ig = open_graph(path)
        end = time.monotonic() + seconds
        lines: list[str] = []

        def loop(offset: int) -> None:
            n = offset
            while time.monotonic() < end and not stop.exists():
                user = users[n % len(users)]
                try:
                    recs = ig.recommend(user, k=5)
                    row = {"user": user, "version": recs[0].version, "items": [r.item_id for r in recs]}
                except Exception as exc:  # every failure is reported, the test counts them
                    row = {"user": user, "error": f"{type(exc).__name__}: {exc}"}
                lines.append(json.dumps(row))
                n += 1
                time.sleep(0.002)  # leave the (shared) CPU to the refreshes under test

        workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        print("\n".join(lines), flush=True)
        return 0
    raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
