"""Ingest + graph build rate into the embedded store (text extraction excluded), and refresh cost.

Part 1: 200k events -> ingest_events -> aggregate_interactions -> user_interests -> node and
edge rows -> EmbeddedStore upserts + flush, reported as events/s (target >= 50k events/s).
Item concepts come from the items' categories and description words, so no model runs here.
Same-run reference: pandas reading the same events back from Parquet.

Part 2: a full refresh (real extraction, no GNN) of a smaller world vs a refresh after adding
1% new events, as a ratio (incremental work should be a small fraction of a full build).

    python benchmarks/bench_build.py [--events 200000] [--refresh-users 400]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kg import builder
from kg.embedded import EmbeddedStore
from kg.ingest import ingest_events, ingest_items
from kg.synthetic import make_cross_domain
from kg.weights import aggregate_interactions


def cheap_concepts(items: pd.DataFrame) -> pd.DataFrame:
    """Item concepts without models: each category, plus words after 'about' (whole-column string ops)."""
    order = pd.Series(range(len(items)), index=items.index)
    cats = pd.DataFrame({"item_id": items["item_id"], "key": items["categories"], "order": order}).explode(
        "key"
    )
    cats = cats.dropna(subset=["key"]).assign(
        key=lambda f: f["key"].str.lower().str.replace(" ", "-"), weight=0.9, source="category", part=0
    )
    about = items["description"].map(str).str.lower().str.replace(".", "").str.split(" about ").str[-1]
    words = pd.DataFrame(
        {"item_id": items["item_id"], "key": about.str.split(" and "), "order": order}
    ).explode("key")
    words = words.assign(
        key=words["key"].str.strip().str.replace(" ", "-"), weight=0.6, source="noun_chunk", part=1
    )
    rows = pd.concat([cats, words]).sort_values(["order", "part"], kind="stable")
    return rows.drop_duplicates(["item_id", "key"])[["item_id", "key", "weight", "source"]].reset_index(
        drop=True
    )


def build(items_raw: pd.DataFrame, events_raw: pd.DataFrame, folder: Path) -> dict[str, float]:
    timings = {}
    start = time.perf_counter()
    items = ingest_items(items_raw).clean
    events = ingest_events(events_raw, known_items=set(items["item_id"])).clean
    timings["ingest"] = time.perf_counter() - start
    t = time.perf_counter()
    concepts = cheap_concepts(items)
    interactions = aggregate_interactions(events)
    interests = builder.user_interests(interactions, concepts, items)
    item_nodes, domains, in_domain = builder.item_rows(items)
    users, interacted = builder.interaction_rows(interactions)
    names = {k: k.replace("-", " ") for k in concepts["key"].unique()}
    rows = builder.GraphRows(
        nodes={
            "Domain": domains,
            "Item": item_nodes,
            "User": users,
            "Concept": builder.concept_rows(names, {}, concepts),
        },
        edges={
            "IN_DOMAIN": in_domain,
            "HAS_CONCEPT": builder.has_concept_rows(concepts),
            "INTERACTED": interacted,
            "INTERESTED_IN": builder.interest_rows(interests, time.time()),
        },
    )
    timings["derive"] = time.perf_counter() - t
    t = time.perf_counter()
    store = EmbeddedStore(folder)
    builder.write_graph(store, rows)
    store.flush()
    timings["store"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - start
    timings["edges"] = sum(len(v) for v in rows.edges.values())
    return timings


def refresh_ratio(n_users: int) -> tuple[float, float]:
    from ikg import InterestGraph

    data = make_cross_domain(n_users=n_users, items_per_domain=100, events_per_user=20, seed=1)
    events = data.events.sample(frac=1.0, random_state=0)
    cut = int(len(events) * 0.99)
    with tempfile.TemporaryDirectory() as tmp:
        ig = InterestGraph.open(tmp, use_gnn=False)
        ig.ingest_items(data.items)
        ig.ingest_events(events.iloc[:cut])
        t = time.perf_counter()
        ig.refresh(progress=False)
        full = time.perf_counter() - t
        ig.ingest_events(events.iloc[cut:])
        t = time.perf_counter()
        ig.refresh(progress=False)
        incremental = time.perf_counter() - t
    return full, incremental


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--refresh-users", type=int, default=400)
    args = parser.parse_args()
    per_user = 20
    data = make_cross_domain(
        n_users=args.events // per_user, items_per_domain=2000, events_per_user=per_user, seed=0
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        timings = build(data.items, data.events, folder / "graph")
        data.events.to_parquet(folder / "events.parquet")
        t = time.perf_counter()
        pd.read_parquet(folder / "events.parquet")
        reference = time.perf_counter() - t
    n = len(data.events)
    print(f"events: {n}, edges written: {int(timings['edges'])}")
    for step in ("ingest", "derive", "store", "total"):
        print(f"  {step:<7} {timings[step]:7.2f} s")
    rate = n / timings["total"]
    print(f"ingest + build into the embedded store: {rate:,.0f} events/s (target >= 50,000)")
    print(
        f"reference, read the same events from Parquet: {n / reference:,.0f} events/s "
        f"(build is {timings['total'] / reference:.1f}x that time)"
    )
    full, incremental = refresh_ratio(args.refresh_users)
    print(
        f"refresh: full build {full:.2f} s, +1% events {incremental:.2f} s, "
        f"ratio incremental/full = {incremental / full:.2f}"
    )


if __name__ == "__main__":
    main()
