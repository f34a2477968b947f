"""Ingest + graph build rate into the embedded store (text extraction excluded), and refresh cost.

Part 1: 200k events -> ingest_events -> aggregate_interactions -> user_interests -> node and
edge rows -> EmbeddedStore upserts + flush, reported as events/s (target >= 50k events/s).
Item concepts come from the items' categories and description words, so no model runs here.
Same-run reference: pandas reading the same events back from Parquet.

Part 2: a full refresh (real extraction, without and with the GNN) of a small and a larger
world vs a refresh after adding 1% new events and vs one after three feedback events, as
ratios (incremental work should be a small fraction of a full build; the GNN is retrained only
at ikg.gnn_policy's threshold, otherwise new users get inferred vectors). Same-run reference:
three more feedback events with gnn_retrain_fraction=0, which retrain as every refresh used to.

    python benchmarks/bench_build.py [--events 200000] [--refresh-users 40,400]
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


def refresh_costs(n_users: int, use_gnn: bool = True) -> dict[str, float | str]:
    """Seconds of a full build, then of a refresh after +1% events, then after 3 feedback events."""
    from ikg import InterestGraph

    data = make_cross_domain(n_users=n_users, items_per_domain=100, events_per_user=20, seed=1)
    events = data.events.sample(frac=1.0, random_state=0)
    cut = int(len(events) * 0.99)
    out: dict[str, float | str] = {"events": len(events)}
    with tempfile.TemporaryDirectory() as tmp:
        ig = InterestGraph.open(tmp, use_gnn=use_gnn)
        ig.ingest_items(data.items)
        ig.ingest_events(events.iloc[:cut])
        t = time.perf_counter()
        ig.refresh(progress=False)
        out["full"] = time.perf_counter() - t
        ig.ingest_events(events.iloc[cut:])
        t = time.perf_counter()
        report = ig.refresh(progress=False)
        out["plus_1pct"] = time.perf_counter() - t
        out["plus_1pct_gnn"] = report.gnn.get("reason", "no GNN")
        for item in data.items["item_id"].iloc[:3]:
            ig.feedback("u-bench-new", item, "like")
        t = time.perf_counter()
        report = ig.refresh(progress=False)
        out["feedback_3"] = time.perf_counter() - t
        out["feedback_3_gnn"] = report.gnn.get("reason", "no GNN")
        if use_gnn:
            ig.gnn_retrain_fraction = 0.0
            for item in data.items["item_id"].iloc[3:6]:
                ig.feedback("u-bench-new", item, "like")
            t = time.perf_counter()
            ig.refresh(progress=False)
            out["feedback_3_retrain"] = time.perf_counter() - t
        ig.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--refresh-users",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[40, 400],
        help="comma-separated world sizes for the refresh costs (default 40,400)",
    )
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
    for n_users in args.refresh_users:
        for use_gnn in (False, True):
            c = refresh_costs(n_users, use_gnn)
            label = "with GNN" if use_gnn else "no GNN  "
            print(
                f"refresh, {n_users} users / {c['events']} events, {label}: full build {c['full']:.2f} s; "
                f"+1% events {c['plus_1pct']:.2f} s ({c['plus_1pct'] / c['full']:.2f}x); "
                f"3 feedback events {c['feedback_3']:.2f} s ({c['feedback_3'] / c['full']:.2f}x)"
            )
            if use_gnn:
                print(
                    f"    GNN at +1%: {c['plus_1pct_gnn']}\n    GNN at 3 feedback events: {c['feedback_3_gnn']}\n"
                    f"    reference, 3 feedback events that retrain the GNN (gnn_retrain_fraction=0, the old "
                    f"behaviour): {c['feedback_3_retrain']:.2f} s ({c['feedback_3_retrain'] / c['full']:.2f}x)"
                )


if __name__ == "__main__":
    main()
