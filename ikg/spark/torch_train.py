"""GNN training with Spark's TorchDistributor: torch DDP (gloo, CPU) over training files Spark writes.

Spark writes the graph the GNN learns from (node keys, edges with their weights, MiniLM text
vectors) as Parquet; each of `num_processes` DDP processes reads those files, builds the same
HeteroData and runs gnn.train's loop with one difference: every full-batch step splits the
scored pairs (and the auxiliary concept pairs) across the processes, each process computes
the BPR loss of its share, and DDP averages the gradients. All processes draw the same
random numbers (same seed, same generator calls), so the splits, negatives and early stopping
agree, and each share's loss is scaled so the averaged gradient equals the single-process
one: the trained model is gnn.train's model up to float summation order. Each process
holds the whole graph (data parallelism over the loss, not graph partitioning). Rank 0
writes a checkpoint; the vectors are inferred on the driver from it (gnn.infer_vectors).
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kg.store import GraphSnapshot

WEIGHT_COLUMNS = ("weight", "score")


def write_training_files(
    spark: Any,
    snapshot: GraphSnapshot,
    text_vectors: Mapping[str, tuple[list[str], np.ndarray]],
    folder: Path,
) -> Path:
    """The snapshot's keys, weighted edges and text vectors as Parquet datasets written by Spark."""
    folder = Path(folder)
    for label, frame in snapshot.nodes.items():
        columns = [c for c in ("key", "domain") if c in frame]
        _write(spark, frame[columns].astype({c: str for c in columns}), folder / "nodes" / label)
    for rel, frame in snapshot.edges.items():
        columns = ["src", "dst", *[c for c in WEIGHT_COLUMNS if c in frame]]
        _write(spark, frame[columns].astype({"src": str, "dst": str}), folder / "edges" / rel)
    for label, (keys, matrix) in text_vectors.items():
        vectors = pd.DataFrame(
            {"key": [str(k) for k in keys], "vector": list(np.asarray(matrix, np.float32))}
        )
        _write(spark, vectors, folder / "text" / label)
    return folder


def _write(spark: Any, frame: pd.DataFrame, path: Path) -> None:
    if frame.empty:
        path.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path / "empty.parquet", index=False)
        return
    spark.createDataFrame(frame.reset_index(drop=True)).coalesce(1).write.mode("overwrite").parquet(str(path))


def read_training_files(folder: Path) -> tuple[GraphSnapshot, dict[str, tuple[list[str], np.ndarray]]]:
    """What write_training_files wrote, back as a GraphSnapshot (in canonical order) and text vectors."""
    folder = Path(folder)
    nodes = {p.name: pd.read_parquet(p) for p in sorted((folder / "nodes").iterdir())}
    edges = {p.name: pd.read_parquet(p) for p in sorted((folder / "edges").iterdir())}
    text = {}
    for p in sorted((folder / "text").iterdir()):
        frame = pd.read_parquet(p)
        matrix = np.stack(frame["vector"].to_numpy()) if len(frame) else np.zeros((0, 384), np.float32)
        text[p.name] = (frame["key"].tolist(), matrix.astype(np.float32))
    return GraphSnapshot(nodes, edges).sorted(), text


def ddp_train(
    folder: str, config: dict[str, Any], checkpoint_dir: str, warm_start: str | None = None
) -> dict[str, Any]:
    """One DDP process (run by TorchDistributor): train on the files in `folder`; rank 0 saves the checkpoint.

    `warm_start`: a previous checkpoint whose projections and matching ID rows start the model
    (gnn.train.warm_start_from), as in a local incremental retrain.
    """
    import torch.distributed as dist

    from gnn.export import to_heterodata
    from gnn.train import GnnConfig, load_checkpoint, model_version, save_checkpoint

    dist.init_process_group("gloo")
    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        settings = GnnConfig(**{**config, "threads": config.get("threads") or 1})
        snapshot, text = read_training_files(Path(folder))
        data, ids = to_heterodata(snapshot, text)
        previous = load_checkpoint(Path(warm_start)) if warm_start else None
        outcome = _train(data, ids, settings, rank, world, previous)
        if rank == 0:
            save_checkpoint(Path(checkpoint_dir), outcome, settings, ids, model_version(outcome.model))
        return {k: v for k, v in outcome.metrics.items() if k != "history"} | {"processes": world}
    finally:
        dist.destroy_process_group()


def _share(n: int, rank: int, world: int) -> Any:
    import torch

    return torch.arange(rank, n, world)


def _train(
    data: Any, ids: Any, config: Any, rank: int, world: int, warm: dict[str, Any] | None = None
) -> Any:
    """gnn.train._train with each step's loss split across the DDP processes (see the module docstring)."""
    import torch
    from torch.nn.parallel import DistributedDataParallel

    from gnn.model import build_prop_graph
    from gnn.train import (
        INTERACTED,
        INTERESTED_IN,
        DomainSampler,
        TrainOutcome,
        bpr,
        id_rows,
        make_model,
        recall_at_k,
        seed_everything,
        split_validation,
        supervision_split,
        trained_users,
        warm_start_from,
    )

    seed_everything(config.seed, config.threads)
    generator = torch.Generator().manual_seed(config.seed)
    started = time.perf_counter()
    item_keys = list(ids.keys["item"]) if config.use_id_embedding else []
    concept_keys = list(ids.keys["concept"]) if config.use_id_embedding else []
    index, weight = data[INTERACTED].edge_index, data[INTERACTED].edge_weight
    positive = weight > 0
    user_keys = trained_users(data, ids) if config.use_user_id_embedding else []
    model = make_model(config, data, item_keys, concept_keys, user_keys)
    copied = warm_start_from(model, warm, item_keys, concept_keys, user_keys) if warm else 0
    val_flags = torch.zeros_like(positive)
    val_flags[positive] = split_validation(index[0, positive], config.val_fraction, generator)
    train_pairs = index[:, positive & ~val_flags]
    if train_pairs.shape[1] == 0:
        raise ValueError("no positive INTERACTED edges to train on; ingest events before fitting the GNN")
    val_pairs = index[:, val_flags]
    interest = (
        data[INTERESTED_IN].edge_index[:, data[INTERESTED_IN].edge_weight > 0]
        if INTERESTED_IN in data.edge_types
        else torch.zeros((2, 0), dtype=torch.long)
    )
    rows = id_rows(ids, item_keys, concept_keys, user_keys)
    graph = build_prop_graph(data, rows, config.user_concept_beta, config.use_related, val_flags)
    train_edges = torch.nonzero(positive & ~val_flags).flatten()
    step_graph, step_pairs = graph, train_pairs
    sampler = DomainSampler(data["item"].domain)
    ddp = DistributedDataParallel(model, find_unused_parameters="user" not in rows)
    optimizer = torch.optim.Adam(ddp.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    warmup = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda e: min(1.0, (e + 1) / max(config.warmup_epochs, 1))
    )
    best: dict[str, Any] = {"recall": -1.0, "epoch": 0, "state": copy.deepcopy(model.state_dict())}
    stale, epoch_times, out_of_time = 0, [], False
    for epoch in range(1, config.epochs + 1):
        tick = time.perf_counter()
        if config.supervision_fraction > 0 and (epoch - 1) % config.resplit_every == 0:
            step_graph, step_pairs = supervision_split(data, rows, config, val_flags, train_edges, generator)
            if step_pairs.shape[1] == 0:
                step_graph, step_pairs = graph, train_pairs
        ddp.train()
        optimizer.zero_grad()
        out = model.split(step_graph, ddp(step_graph))
        n, per = step_pairs.shape[1], config.neg_per_pos
        neg = sampler.sample(step_pairs[1], per, generator).view(per, n)
        mine = _share(n, rank, world)
        pairs = step_pairs[:, mine]
        loss = bpr(out["user"][pairs[0]], out["item"][pairs[1]], out["item"][neg[:, mine].reshape(-1)], per)
        loss = loss * (len(mine) * world / n)
        if config.aux_concept_weight > 0 and interest.shape[1] and out["concept"].shape[0] >= 2:
            m = interest.shape[1]
            aux_neg = torch.randint(0, out["concept"].shape[0], (m,), generator=generator)
            share = _share(m, rank, world)
            aux = bpr(
                out["user"][interest[0, share]],
                out["concept"][interest[1, share]],
                out["concept"][aux_neg[share]],
                1,
            )
            loss = loss + config.aux_concept_weight * aux * (len(share) * world / m)
        loss.backward()
        optimizer.step()
        warmup.step()
        epoch_times.append(time.perf_counter() - tick)
        out_of_time = time.perf_counter() - started > config.max_minutes * 60
        if epoch % config.eval_every == 0 or epoch == config.epochs or out_of_time:
            with torch.no_grad():
                model.eval()
                final = model.split(graph, model(graph))
                found = recall_at_k(
                    final["user"],
                    final["item"],
                    train_pairs,
                    val_pairs,
                    config.eval_k,
                    config.max_eval_users,
                    torch.Generator().manual_seed(config.seed),
                )
            if found["recall"] > best["recall"] or val_pairs.shape[1] == 0:
                best = {**found, "epoch": epoch, "state": copy.deepcopy(model.state_dict())}
                stale = 0
            else:
                stale += 1
        if out_of_time or stale >= config.patience:
            break
    model.load_state_dict(best.pop("state"))
    metrics = {
        "best_epoch": best["epoch"],
        "val_recall@k": best.get("recall", 0.0),
        "val_ndcg@k": best.get("ndcg", 0.0),
        "epochs_run": len(epoch_times),
        "epoch_seconds": float(np.mean(epoch_times)) if epoch_times else 0.0,
        "train_seconds": time.perf_counter() - started,
        "train_edges": int(train_pairs.shape[1]),
        "val_edges": int(val_pairs.shape[1]),
        "warm_start_rows": copied,
    }
    return TrainOutcome(model, item_keys, concept_keys, metrics, user_keys)


def fit_vectors_distributed(
    spark: Any,
    snapshot: GraphSnapshot,
    text_vectors: Mapping[str, tuple[list[str], np.ndarray]],
    config: Any = None,
    checkpoint_dir: Path | None = None,
    scratch: Path | None = None,
    num_processes: int = 2,
    warm_start: Path | None = None,
    progress: bool = False,
) -> Any:
    """gnn.fit_vectors with the training on `num_processes` DDP processes (TorchDistributor, local mode).

    Returns a gnn.GnnResult; its checkpoint is gnn's format, so serving and warm starts read it
    unchanged. `warm_start` (a previous checkpoint) fixes `dim` and `layers` as in gnn.fit_vectors;
    `progress` is accepted for that signature (TorchDistributor prints its own log). The
    training files go under `scratch` (default: a new temp folder, left in place since it also
    holds the checkpoint when `checkpoint_dir` is None).
    """
    import tempfile
    from dataclasses import asdict

    from pyspark.ml.torch.distributor import TorchDistributor

    import gnn
    from gnn.train import GnnConfig, load_checkpoint

    config = config or GnnConfig()
    if warm_start is not None:
        old = load_checkpoint(Path(warm_start))["config"]
        config = GnnConfig(**{**asdict(config), "dim": old["dim"], "layers": old["layers"]})
    scratch = Path(scratch or tempfile.mkdtemp(prefix="ikg-ddp-"))
    files = write_training_files(spark, snapshot, text_vectors, scratch / "training")
    target = Path(checkpoint_dir or scratch / "model")
    tick = time.perf_counter()
    threads = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(config.threads or 1)  # per DDP process, inherited by torchrun
    try:
        metrics = TorchDistributor(num_processes=num_processes, local_mode=True, use_gpu=False).run(
            ddp_train, str(files), asdict(config), str(target), str(warm_start) if warm_start else None
        )
    finally:
        if threads is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = threads
    metrics = {
        **(metrics or {}),
        "distributed_seconds": time.perf_counter() - tick,
        "warm_start": str(warm_start) if warm_start else None,
    }
    checkpoint = target / "checkpoint.pt"
    vectors = gnn.infer_vectors(checkpoint, snapshot, text_vectors)
    return gnn.GnnResult(gnn.checkpoint_version(checkpoint), vectors, metrics, checkpoint)
