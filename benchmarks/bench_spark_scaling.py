"""Scaling of the refresh's heavy stages: the local engine vs Spark local[2] on power-law events.

    python benchmarks/bench_spark_scaling.py [--sizes 1000000 5000000 20000000] [--timeout 1800]

For each size, synthetic events (users' activity and items' popularity follow power laws)
go through the three stages both engines share (weights -> INTERACTED, user interests, the
RP3beta item-item index), once with the local engine's pandas/scipy functions and once with
ikg.spark on local[2]. Each engine and size runs in its own process; printed per stage: wall
time and the peak resident memory of the whole process tree (driver, JVM, Python workers),
sampled every 0.1 s. A run that fails or exceeds --timeout is reported as such: that is the
size where the engine runs out of memory or time on this machine. The Spark figures are
next to the local engine's of the same run (the reference), with their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

CONCEPTS_PER_ITEM = 5


def power_law_events(n_events: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Events, items and item concepts: user activity ~ rank^-0.6, item popularity ~ rank^-1."""
    rng = np.random.default_rng(seed)
    n_users, n_items = max(n_events // 40, 10), max(n_events // 200, 100)
    user_p = np.arange(1, n_users + 1) ** -0.6
    item_p = np.arange(1, n_items + 1) ** -1.0
    users = rng.choice(n_users, n_events, p=user_p / user_p.sum())
    items = rng.choice(n_items, n_events, p=item_p / item_p.sum())
    kinds = np.array(["view", "view", "click", "cart", "purchase", "rating"])
    kind = kinds[rng.integers(0, len(kinds), n_events)]
    rating = np.where(kind == "rating", rng.integers(1, 6, n_events).astype(float), np.nan)
    events = pd.DataFrame(
        {
            "user_id": pd.Series(np.char.add("u", users.astype(str)), dtype="str"),
            "item_id": pd.Series(np.char.add("i", items.astype(str)), dtype="str"),
            "kind": pd.Series(kind, dtype="str"),
            "ts": 1_700_000_000.0 + rng.random(n_events) * 86_400 * 90,
            "rating": rating,
            "text": pd.Series([None] * n_events, dtype=object),
        }
    )
    item_ids = np.char.add("i", np.arange(n_items).astype(str))
    catalog = pd.DataFrame(
        {"item_id": item_ids, "domain": np.array(["books", "films", "music"])[np.arange(n_items) % 3]}
    )
    concepts = pd.DataFrame(
        {
            "item_id": np.repeat(item_ids, CONCEPTS_PER_ITEM),
            "key": np.char.add(
                "c", rng.integers(0, max(n_items // 20, 50), n_items * CONCEPTS_PER_ITEM).astype(str)
            ),
            "weight": rng.random(n_items * CONCEPTS_PER_ITEM).round(3),
        }
    ).drop_duplicates(["item_id", "key"])
    return events, catalog, concepts


class PeakMemory:
    """Peak resident memory (bytes) of this process and all its descendants, sampled in a thread."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _tree_rss() -> int:
        parents: dict[int, int] = {}
        rss: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(stat[1])
                rss[int(entry)] = int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, IndexError, ValueError):
                continue
        tree, frontier = {os.getpid()}, [os.getpid()]
        while frontier:
            pid = frontier.pop()
            kids = [p for p, parent in parents.items() if parent == pid and p not in tree]
            tree.update(kids)
            frontier.extend(kids)
        return sum(rss.get(p, 0) for p in tree)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, self._tree_rss())

    def reset(self) -> None:
        self.peak = self._tree_rss()

    def stop(self) -> None:
        self._stop.set()


def run_one(engine: str, n_events: int) -> dict[str, dict[str, float]]:
    """Time and peak memory of each stage for one engine and size (in this process)."""
    from kg import builder
    from kg.proximity import build_index
    from kg.store import GraphSnapshot
    from kg.weights import WeightConfig, aggregate_interactions

    events, catalog, concepts = power_law_events(n_events)
    review = pd.DataFrame(columns=["user_id", "item_id", "key", "weight"])
    memory, out = PeakMemory(), {}

    def stage(name, fn):
        memory.reset()
        start = time.perf_counter()
        result = fn()
        out[name] = {"seconds": round(time.perf_counter() - start, 2), "peak_mb": round(memory.peak / 2**20)}
        print(f"  {engine} {n_events:,} {name}: {out[name]}", file=sys.stderr, flush=True)
        return result

    if engine == "local":
        interactions = stage("weights", lambda: aggregate_interactions(events, WeightConfig()))
        stage("interests", lambda: builder.user_interests(interactions, concepts, catalog, review))

        def index():
            users, interacted = builder.interaction_rows(interactions)
            snapshot = GraphSnapshot(
                nodes={
                    "Item": catalog.rename(columns={"item_id": "key"}),
                    "User": users.rename(columns={"id": "key"}),
                },
                edges={"INTERACTED": interacted},
            )
            return build_index(snapshot).item_item.nnz

        stage("item_item", index)
    else:
        from ikg.spark import SparkStages, spark_session

        with (
            tempfile.TemporaryDirectory() as scratch,
            spark_session("local[2]", {"spark.driver.memory": "8g"}) as s,
        ):
            stages = SparkStages(s, Path(scratch))
            interactions = stage("weights", lambda: stages.interactions(events, WeightConfig()))
            stage("interests", lambda: stages.interests(interactions, concepts, catalog, review))
            stage("item_item", lambda: stages.item_item().write.parquet(str(Path(scratch) / "index")))
    memory.stop()
    history = events.groupby("user_id")["item_id"].nunique().clip(upper=2000)
    out["shuffle_pairs"] = {"sum_min_history_cap_sq": int((history.astype("int64") ** 2).sum())}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000, 20_000_000])
    parser.add_argument("--engines", nargs="+", default=["local", "spark"])
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "EVENTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]))))
        return 0
    results: dict[tuple[str, int], dict] = {}
    for n in args.sizes:
        for engine in args.engines:
            cmd = [sys.executable, __file__, "--one", engine, str(n)]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
                results[engine, n] = (
                    json.loads(done.stdout.strip().splitlines()[-1])
                    if done.returncode == 0
                    else {"failed": done.stderr.strip().splitlines()[-1:]}
                )
            except subprocess.TimeoutExpired:
                results[engine, n] = {"failed": f"over {args.timeout:.0f}s"}
    print(
        f"{'events':>12} {'stage':>10} | {'local s':>8} {'local MB':>9} | {'spark s':>8} {'spark MB':>9} | ratio s"
    )
    for n in args.sizes:
        local, spark = results.get(("local", n), {}), results.get(("spark", n), {})
        for name in ("weights", "interests", "item_item"):
            a, b = local.get(name, {}), spark.get(name, {})
            ratio = f"{b['seconds'] / a['seconds']:.2f}" if a.get("seconds") and b.get("seconds") else "-"
            print(
                f"{n:>12,} {name:>10} | {a.get('seconds', '-'):>8} {a.get('peak_mb', '-'):>9} | "
                f"{b.get('seconds', '-'):>8} {b.get('peak_mb', '-'):>9} | {ratio}"
            )
        pairs = (local.get("shuffle_pairs") or spark.get("shuffle_pairs") or {}).get("sum_min_history_cap_sq")
        print(f"{n:>12,} self-join pairs (sum of min(history, 2000)^2): {pairs}")
        for engine, res in (("local", local), ("spark", spark)):
            if "failed" in res:
                print(f"{n:>12,} {engine} FAILED: {res['failed']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
