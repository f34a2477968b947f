"""The Spark engine's extraction, incremental inputs and distributed GNN training, each next to its reference.

    python benchmarks/bench_spark_stages.py [--parts extract inputs gnn] [--items 900]
        [--events 1000000] [--new 0.01] [--users 600]

- extract: concepts of `--items` synthetic items (kg.synthetic texts), the local extractor in
  this process (reference) against SparkStages.extract_items on local[2] (mapInPandas; the
  first run includes each Python worker loading spaCy and MiniLM, the second reuses them).
- inputs: the INTERACTED stage after `--new` of `--events` power-law events arrive as one
  batch: from the previous version's pair state plus the new batch (what a second
  `refresh --engine spark` reads) against the full recompute on Spark and the local
  aggregate_interactions over all events (reference).
- gnn: the synthetic cold-start graph (`--users` users, 150 items per domain), gnn.fit_vectors
  in one process with 2 and with 1 thread (references) against fit_vectors_distributed with TorchDistributor, 2 processes.

Wall times on this machine (2 cores, shared): compare the rows of one run, not across runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def extract(spark, n_items: int, scratch: Path) -> None:
    from encoders import ItemText, get_extractor
    from ikg.refresh import LocalStages, _merge_items
    from ikg.spark import SparkStages
    from kg.synthetic import make_cross_domain

    items = _merge_items(pd.DataFrame(), make_cross_domain(n_users=10, items_per_domain=n_items // 3).items)
    get_extractor("local").extract_items([ItemText("w", "warm up", "the models load here in the driver")])
    local, t_local = _timed(lambda: LocalStages().extract_items(get_extractor("local"), items, False))
    stages = SparkStages(spark, scratch)
    _, t_cold = _timed(lambda: stages.extract_items(get_extractor("local"), items))
    warm, t_warm = _timed(lambda: stages.extract_items(get_extractor("local"), items))
    stages.close()
    same = local[["item_id", "surface"]].equals(warm[["item_id", "surface"]])
    diff = (
        float(np.abs(local["weight"].to_numpy() - warm["weight"].to_numpy()).max()) if same else float("nan")
    )
    workers = pd.DataFrame(stages.extraction_workers)
    print(f"extract {len(items)} items ({len(local)} concept rows):")
    print(f"  local extractor, one process (reference) {t_local:7.1f} s  {len(items) / t_local:6.1f} items/s")
    print(
        f"  Spark local[2], workers load models      {t_cold:7.1f} s  {len(items) / t_cold:6.1f} items/s"
        f"  ({t_cold / t_local:.2f}x)"
    )
    print(
        f"  Spark local[2], models already loaded    {t_warm:7.1f} s  {len(items) / t_warm:6.1f} items/s"
        f"  ({t_warm / t_local:.2f}x)"
    )
    print(
        f"  same rows as local: {same}; max weight difference {diff:.1e}; "
        f"workers {workers['pid'].nunique()}, extractor builds {int(workers['built'].sum())}"
    )


def inputs(spark, n_events: int, new: float, scratch: Path) -> None:
    from bench_spark_scaling import power_law_events

    from ikg.spark import SparkStages
    from ikg.spark.increments import read_meta
    from kg.weights import WeightConfig, aggregate_interactions

    events, catalog, _ = power_law_events(n_events)
    cut = int(len(events) * (1 - new))
    config = WeightConfig()
    first = SparkStages(spark, scratch)
    first.interactions(events.iloc[:cut], config)
    folder = scratch / "state-v1"
    folder.mkdir()
    first.keep_state(folder)
    batch = scratch / "inbox" / "000002-events.parquet"
    batch.parent.mkdir()
    events.iloc[cut:].to_parquet(batch, index=False)

    second = SparkStages(spark, scratch)
    meta = read_meta(folder)
    assert meta is not None
    second.previous, second.new_batches, second.known_items = (
        (folder, meta),
        [(2, batch)],
        catalog[["item_id"]],
    )
    incremental, t_inc = _timed(lambda: second.interactions(events, config))
    full_stage = SparkStages(spark, scratch)
    _, t_full = _timed(lambda: full_stage.interactions(events, config))
    local, t_local = _timed(lambda: aggregate_interactions(events, config))
    rel = np.abs(incremental["weight"].to_numpy() - local["weight"].to_numpy()) / np.maximum(
        np.abs(local["weight"].to_numpy()), 1e-12
    )
    read = second.pair_meta["read"]
    print(f"INTERACTED after {len(events) - cut:,} new of {len(events):,} events ({len(local):,} pairs):")
    print(f"  local aggregate_interactions, all events (reference) {t_local:7.1f} s")
    print(
        f"  Spark, all events                                    {t_full:7.1f} s  ({t_full / t_local:.2f}x)"
    )
    print(
        f"  Spark, pair state + new batch                        {t_inc:7.1f} s  ({t_inc / t_local:.2f}x, "
        f"{t_inc / t_full:.2f}x of Spark's full run)"
    )
    print(
        f"  read: {len(read['event_files'])} event file, {len(read['state_files'])} state files; "
        f"max relative weight difference to local {rel.max():.1e}"
    )
    for stage in (first, second, full_stage):
        stage.close()


def gnn_part(spark, users: int, scratch: Path) -> None:
    import gnn
    from encoders.text_encoder import get_text_encoder
    from gnn.synthetic import item_text, snapshot_from_frames
    from gnn.train import GnnConfig
    from ikg.spark.torch_train import fit_vectors_distributed
    from kg.synthetic import make_cross_domain

    syn = make_cross_domain(n_users=users, items_per_domain=150, events_per_user=24, seed=0)
    snapshot = snapshot_from_frames(syn.items, syn.events).sorted()
    encoder = get_text_encoder()
    concepts = snapshot.node_keys("Concept")
    text = {
        "Item": (syn.items["item_id"].tolist(), encoder.encode(item_text(syn.items))),
        "Concept": (concepts, encoder.encode(concepts)),
    }
    single, t_single = _timed(
        lambda: gnn.fit_vectors(snapshot, text, GnnConfig(seed=0, threads=2), progress=False)
    )
    one, t_one = _timed(lambda: gnn.fit_vectors(snapshot, text, GnnConfig(seed=0, threads=1), progress=False))
    multi, t_multi = _timed(
        lambda: fit_vectors_distributed(
            spark, snapshot, text, GnnConfig(seed=0, threads=1), scratch=scratch, num_processes=2
        )
    )
    print(f"GNN on {users} users, {len(syn.items)} items, {len(syn.events):,} events:")
    print(
        f"  gnn.fit_vectors, 1 process x 2 threads (reference) {t_single:7.1f} s  "
        f"{single.metrics['epochs_run']} epochs, {single.metrics['epoch_seconds']:.3f} s/epoch, "
        f"val Recall@20 {single.metrics['val_recall@k']:.4f}"
    )
    print(
        f"  gnn.fit_vectors, 1 process x 1 thread             {t_one:7.1f} s  "
        f"{one.metrics['epochs_run']} epochs, {one.metrics['epoch_seconds']:.3f} s/epoch, "
        f"val Recall@20 {one.metrics['val_recall@k']:.4f}"
    )
    print(
        f"  TorchDistributor, 2 processes x 1 thread            {t_multi:7.1f} s  "
        f"{multi.metrics['epochs_run']} epochs, {multi.metrics['epoch_seconds']:.3f} s/epoch, "
        f"val Recall@20 {multi.metrics['val_recall@k']:.4f}  ({t_multi / t_single:.2f}x)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parts", nargs="+", default=["extract", "inputs", "gnn"])
    parser.add_argument("--items", type=int, default=900)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--new", type=float, default=0.01)
    parser.add_argument("--users", type=int, default=600)
    args = parser.parse_args()
    from ikg.spark import spark_session

    with (
        tempfile.TemporaryDirectory() as tmp,
        spark_session("local[2]", {"spark.driver.memory": "6g"}) as spark,
    ):
        for part in args.parts:
            scratch = Path(tmp) / part
            scratch.mkdir()
            if part == "extract":
                extract(spark, args.items, scratch)
            elif part == "inputs":
                inputs(spark, args.events, args.new, scratch)
            elif part == "gnn":
                gnn_part(spark, args.users, scratch)
            else:
                parser.error(f"unknown part {part!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
