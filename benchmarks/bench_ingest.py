"""Benchmark: ingest_events + aggregate_interactions on 200k synthetic events.

Prints events/s for each step and, as a same-run reference for the machine's speed, the
time of a plain `groupby(['user_id', 'item_id']).size()` on the same frame and the ratio.
Figures only; nothing is asserted.

    /tmp/probe-venv/bin/python benchmarks/bench_ingest.py [--events 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import pandas as pd

from kg.ingest import ingest_events, ingest_items
from kg.synthetic import make_cross_domain
from kg.weights import aggregate_interactions


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """The fastest of `repeat` runs (seconds) and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    per_user = 40
    data = make_cross_domain(
        n_users=-(-args.events // per_user), items_per_domain=2_000, events_per_user=per_user, seed=1
    )
    events = data.events.head(args.events)
    n = len(events)
    items = ingest_items(data.items)
    known = set(items.clean["item_id"])
    print(f"{n:,} events, {events['user_id'].nunique():,} users, {len(known):,} items")

    t_ingest, ingested = best_of(lambda: ingest_events(events, known_items=known), args.repeat)
    clean = ingested.clean
    t_agg, agg = best_of(lambda: aggregate_interactions(clean), args.repeat)
    t_ref, ref = best_of(lambda: events.groupby(["user_id", "item_id"]).size(), args.repeat)
    assert len(agg) == len(ref)  # same pairs: a sanity check of the run, not a speed target

    total = t_ingest + t_agg
    print(
        f"ingest_events          {t_ingest:7.3f} s  {n / t_ingest:12,.0f} events/s  report={ingested.report['accepted']:,} accepted"
    )
    print(f"aggregate_interactions {t_agg:7.3f} s  {n / t_agg:12,.0f} events/s  -> {len(agg):,} pairs")
    print(f"ingest + aggregate     {total:7.3f} s  {n / total:12,.0f} events/s")
    print(f"reference groupby.size {t_ref:7.3f} s  {n / t_ref:12,.0f} events/s")
    print(
        f"ratio (ingest+aggregate) / groupby.size = {total / t_ref:.1f}x "
        f"(ingest {t_ingest / t_ref:.1f}x, aggregate {t_agg / t_ref:.1f}x)"
    )
    print(f"pandas {pd.__version__}, best of {args.repeat}")


if __name__ == "__main__":
    main()
