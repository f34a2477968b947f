"""GNN benchmarks: speed / memory next to PyG LightGCN, and a synthetic cold-start quality check.

    python benchmarks/bench_gnn.py                 # speed: 200k interactions, ours vs PyG LightGCN
    python benchmarks/bench_gnn.py --full          # ... plus one full fit_vectors run (wall time)
    python benchmarks/bench_gnn.py --quality       # cold start on kg.synthetic.make_cross_domain
    python benchmarks/bench_gnn.py --quality --users 2000 --bridge-users 0.2   # few users bridge domains

Speed: 20k users x 12 events (~200k distinct user-item pairs) over 20k items in 3 domains
(kg.synthetic, so popularity is Zipf-like), concepts from categories + description words
(gnn.synthetic), random 384-d "text" features (encoding 20k titles would take a minute and
does not change the timing). Each model runs in its own subprocess so its peak RSS
(resource.getrusage) is its own. One epoch = one full-batch step: forward over the CSR
adjacency, BPR with one same-domain negative per positive edge, backward, Adam. For PyG
LightGCN (64-d, 3 layers) that is all; ours is timed with its real training step
(`gnn.train`: supervision split that rebuilds the graph, auxiliary concept BPR, item,
concept and user ID rows) at K=2 (the default) and K=3.

Quality: some users' whole target-domain history is hidden; they keep their other
domains. Every method ranks all target-domain items for them; Recall@20 / NDCG@20 with
95% bootstrap intervals over users, and a paired bootstrap of ours minus each method.
LightGCN picks its learning rate (0.005, 0.02, 0.05) on its own validation edges; ours
runs its defaults, which were chosen on other seeds (4 5 6), not on these. Printed,
never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.nn.models import LightGCN
from torch_geometric.utils import to_torch_csr_tensor

from gnn import GnnConfig, fit_vectors
from gnn.export import to_heterodata
from gnn.model import InterestGNN, build_prop_graph
from gnn.synthetic import item_text, snapshot_from_frames
from gnn.train import (
    DomainSampler,
    bpr,
    id_rows,
    recall_at_k,
    seed_everything,
    split_validation,
    supervision_split,
    train_step,
)
from kg.schema import TEXT_VECTOR_DIM
from kg.synthetic import make_cross_domain

K = 20
OURS = "InterestGNN (ours, K=2)"
PREVIOUS = "no user ID, aux 0.1 (old)"


# ---- shared ----------------------------------------------------------------------------
def random_text(snapshot, seed: int = 0) -> dict[str, tuple[list[str], np.ndarray]]:
    rng = np.random.default_rng(seed)
    return {
        label: (
            snapshot.node_keys(label),
            rng.normal(size=(len(snapshot.node_keys(label)), TEXT_VECTOR_DIM)).astype(np.float32),
        )
        for label in ("Item", "Concept")
    }


def lightgcn_adjacency(pairs: torch.Tensor, n_users: int, n_items: int) -> torch.Tensor:
    """Symmetric-normalised bipartite user-item adjacency as torch CSR (unit weights)."""
    n = n_users + n_items
    index = torch.cat(
        [torch.stack([pairs[0], pairs[1] + n_users]), torch.stack([pairs[1] + n_users, pairs[0]])], 1
    )
    degree = torch.bincount(index[0], minlength=n).float()
    inv = degree.clamp(min=1).pow(-0.5)
    return to_torch_csr_tensor(index, inv[index[0]] * inv[index[1]], size=(n, n))


def lightgcn_step(model: LightGCN, adj, pairs, n_users, sampler, generator, optimizer) -> float:
    optimizer.zero_grad()
    out = model.get_embedding(adj)
    neg = sampler.sample(pairs[1], 1, generator)
    loss = bpr(out[pairs[0]], out[n_users + pairs[1]], out[n_users + neg], 1)
    loss.backward()
    optimizer.step()
    return float(loss.item())


def train_lightgcn(
    pairs: torch.Tensor,
    n_users: int,
    item_domain: torch.Tensor,
    epochs: int,
    lr: float,
    seed: int,
    threads: int | None = None,
    patience: int = 4,
    eval_every: int = 5,
) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """ID-only LightGCN (PyG, 64-d, 3 layers) with the same split / early stopping as ours."""
    seed_everything(seed, threads)
    generator = torch.Generator().manual_seed(seed)
    n_items = item_domain.numel()
    val = split_validation(pairs[0], 0.1, generator)
    train_pairs, val_pairs = pairs[:, ~val], pairs[:, val]
    adj = lightgcn_adjacency(train_pairs, n_users, n_items)
    model = LightGCN(n_users + n_items, 64, 3, normalize=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    sampler = DomainSampler(item_domain)
    best, stale, best_state = -1.0, 0, None
    for epoch in range(1, epochs + 1):
        lightgcn_step(model, adj, train_pairs, n_users, sampler, generator, optimizer)
        if epoch % eval_every == 0:
            with torch.no_grad():
                out = model.get_embedding(adj)
            found = recall_at_k(
                out[:n_users],
                out[n_users:],
                train_pairs,
                val_pairs,
                K,
                2000,
                torch.Generator().manual_seed(seed),
            )["recall"]
            if found > best:
                best, stale, best_state = found, 0, {k: v.clone() for k, v in model.state_dict().items()}
            else:
                stale += 1
                if stale >= patience:
                    break
    model.load_state_dict(best_state)
    with torch.no_grad():
        out = model.get_embedding(lightgcn_adjacency(pairs, n_users, n_items))
    return out[:n_users], out[n_users:], {"val_recall": best, "epochs": epoch}


# ---- speed -----------------------------------------------------------------------------
def speed_graph(seed: int = 0):
    syn = make_cross_domain(n_users=20_000, items_per_domain=6_667, events_per_user=12, seed=seed)
    snapshot = snapshot_from_frames(syn.items, syn.events)
    return snapshot, random_text(snapshot, seed)


def run_part(part: str, epochs: int, threads: int | None) -> dict:
    """One model's epoch time and peak RSS, measured in this (fresh) process."""
    snapshot, text = speed_graph()
    data, ids = to_heterodata(snapshot, text)
    seed_everything(0, threads)
    generator = torch.Generator().manual_seed(0)
    inter = data["user", "interacted", "item"]
    pairs = inter.edge_index[:, inter.edge_weight > 0]
    sampler = DomainSampler(data["item"].domain)
    n_users = data["user"].num_nodes
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if part == "lightgcn":
        adj = lightgcn_adjacency(pairs, n_users, data["item"].num_nodes)
        model = LightGCN(adj.shape[0], 64, 3, normalize=False)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        step = lambda: lightgcn_step(model, adj, pairs, n_users, sampler, generator, optimizer)  # noqa: E731
        nnz = adj._nnz()
    else:
        config = GnnConfig(layers=int(part[-1]))
        rows = id_rows(ids, ids.keys["item"], ids.keys["concept"], ids.keys["user"])
        model = InterestGNN(
            TEXT_VECTOR_DIM,
            64,
            config.layers,
            len(ids.keys["item"]),
            len(ids.keys["concept"]),
            len(ids.keys["user"]),
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        interest = data["user", "interested_in", "concept"].edge_index
        no_val = torch.zeros(inter.edge_weight.numel(), dtype=torch.bool)
        train_edges = torch.nonzero(inter.edge_weight > 0).flatten()

        def step() -> float:
            graph, sup = supervision_split(data, rows, config, no_val, train_edges, generator)
            return train_step(model, graph, optimizer, sup, interest, sampler, config, generator)

        nnz = build_prop_graph(data, rows).adj._nnz()
    step()
    times = []
    for _ in range(epochs):
        tick = time.perf_counter()
        step()
        times.append(time.perf_counter() - tick)
    return {
        "part": part,
        "epoch_s": float(np.median(times)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": base_rss / 1024,
        "interactions": int(pairs.shape[1]),
        "adj_nnz": int(nnz),
        "nodes": {t: int(data[t].num_nodes) for t in ("user", "item", "concept")},
    }


def speed(epochs: int, threads: int | None, full: bool) -> None:
    results = {}
    for part in ("lightgcn", "ours-K2", "ours-K3"):
        cmd = [sys.executable, __file__, "--part", part, "--epochs", str(epochs)]
        if threads:
            cmd += ["--threads", str(threads)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results[part] = json.loads(out.strip().splitlines()[-1])
    pyg = results["lightgcn"]
    print(f"graph: {pyg['interactions']:,} positive interactions, nodes {results['ours-K2']['nodes']}")
    print(
        "peak RSS = whole process (torch + data); 'training MB' = peak minus RSS before the model was built"
    )
    print(
        f"{'model':<30}{'adj nnz':>10}{'s/epoch':>10}{'peak RSS MB':>13}{'training MB':>13}"
        f"{'ratio time':>12}{'ratio RSS':>11}"
    )
    for part, name in (
        ("lightgcn", "PyG LightGCN K=3 (ID, CSR)"),
        ("ours-K2", "InterestGNN K=2 (default)"),
        ("ours-K3", "InterestGNN K=3"),
    ):
        r = results[part]
        print(
            f"{name:<30}{r['adj_nnz']:>10,}{r['epoch_s']:>10.3f}{r['peak_rss_mb']:>13.0f}"
            f"{r['peak_rss_mb'] - r['rss_before_mb']:>13.0f}"
            f"{r['epoch_s'] / pyg['epoch_s']:>11.2f}x{r['peak_rss_mb'] / pyg['peak_rss_mb']:>10.2f}x"
        )
    print(
        f"target: epoch-time ratio ours / LightGCN <= 3x; 1-min load average now {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores (timings are only comparable within one run)"
    )
    if full:
        snapshot, text = speed_graph()
        tick = time.perf_counter()
        result = fit_vectors(snapshot, text, GnnConfig(threads=threads), progress=True)
        m = result.metrics
        print(
            f"full fit_vectors: {time.perf_counter() - tick:.1f} s wall (target <= 600 s), "
            f"{m['epochs_run']} epochs, best epoch {m['best_epoch']}, val recall@20 {m['val_recall@k']:.4f}"
        )


# ---- quality ---------------------------------------------------------------------------
def bootstrap(values: np.ndarray, seed: int = 0, n: int = 1000) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n, len(values)))].mean(1)
    return float(values.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def rank_metrics(scores: np.ndarray, truth: list[set[int]]) -> dict[str, np.ndarray]:
    top = np.argsort(-scores, axis=1, kind="stable")[:, :K]
    discount = 1.0 / np.log2(np.arange(2, K + 2))
    recall, ndcg = [], []
    for row, wanted in zip(top, truth):
        hits = np.isin(row, list(wanted)).astype(float)
        recall.append(hits.sum() / len(wanted))
        ndcg.append((hits * discount).sum() / discount[: min(len(wanted), K)].sum())
    return {"recall": np.asarray(recall), "ndcg": np.asarray(ndcg)}


def cold_start_split(syn, target: str, fraction: float, seed: int):
    """Visible events, held-out users and their hidden target-domain items."""
    domain = dict(zip(syn.items["item_id"], syn.items["domain"]))
    events = syn.events.assign(domain=syn.events["item_id"].map(domain))
    in_target = events[events["domain"] == target].groupby("user_id")["item_id"].agg(set)
    elsewhere = set(events.loc[events["domain"] != target, "user_id"])
    eligible = sorted(u for u in in_target.index if u in elsewhere)
    rng = np.random.default_rng(seed)
    held = sorted(rng.choice(eligible, size=int(len(eligible) * fraction), replace=False).tolist())
    visible = events[~(events["user_id"].isin(held) & (events["domain"] == target))].drop(columns="domain")
    return visible, held, {u: in_target[u] for u in held}


def quality(
    seeds: list[int], target: str, threads: int | None, users: int = 600, bridge_users: float = 1.0
) -> None:
    from encoders.text_encoder import get_text_encoder

    encoder = get_text_encoder()
    rows = []
    for seed in seeds:
        syn = make_cross_domain(
            n_users=users, items_per_domain=150, events_per_user=24, seed=seed, bridge_users=bridge_users
        )
        visible, held, truth_items = cold_start_split(syn, target, 0.2, seed)
        snapshot = snapshot_from_frames(syn.items, visible)
        concepts = snapshot.node_keys("Concept")
        text = {
            "Item": (syn.items["item_id"].tolist(), encoder.encode(item_text(syn.items))),
            "Concept": (concepts, encoder.encode(concepts)),
        }
        data, ids = to_heterodata(snapshot, text)
        items = ids.keys["item"]
        target_idx = np.asarray(
            [ids.index("item")[i] for i in syn.items.loc[syn.items.domain == target, "item_id"]]
        )
        local = {int(g): j for j, g in enumerate(target_idx)}
        user_idx = np.asarray([ids.index("user")[u] for u in held])
        truth = [{local[ids.index("item")[i]] for i in truth_items[u]} for u in held]
        scores: dict[str, np.ndarray] = {}

        inter = data["user", "interacted", "item"]
        pairs = inter.edge_index[:, inter.edge_weight > 0]
        pop = np.bincount(pairs[1].numpy(), minlength=len(items)).astype(float)
        scores["popularity"] = np.tile(pop[target_idx], (len(held), 1))

        x = data["item"].x.numpy()
        profile = np.zeros((len(held), x.shape[1]), dtype=np.float32)
        for row, u in enumerate(user_idx):
            profile[row] = x[pairs[1][pairs[0] == int(u)].numpy()].mean(0)
        scores["text-only (mean MiniLM)"] = profile @ x[target_idx].T

        tick = time.perf_counter()
        runs = [
            train_lightgcn(pairs, data["user"].num_nodes, data["item"].domain, 400, lr, seed, threads)
            for lr in (0.005, 0.02, 0.05)
        ]
        users_v, items_v, info = max(runs, key=lambda run: run[2]["val_recall"])
        scores["LightGCN ID-only (PyG)"] = (users_v[user_idx] @ items_v[target_idx].T).numpy()
        lgcn_s = time.perf_counter() - tick

        timings, val = {}, {}
        for name, config in (
            (OURS, GnnConfig(seed=seed, threads=threads)),
            ("InterestGNN K=3", GnnConfig(seed=seed, threads=threads, layers=3)),
            (
                PREVIOUS,
                GnnConfig(seed=seed, threads=threads, use_user_id_embedding=False, aux_concept_weight=0.1),
            ),
        ):
            tick = time.perf_counter()
            result = fit_vectors(snapshot, text, config, progress=False)
            timings[name] = time.perf_counter() - tick
            val[name] = result.metrics["val_recall@k"]
            uv = result.vectors["User"][1][user_idx]
            iv = result.vectors["Item"][1][target_idx]
            scores[name] = uv @ iv.T
        print(
            f"seed {seed}: {len(held)} held-out users, {len(target_idx)} {target} items; "
            f"LightGCN {lgcn_s:.1f}s for 3 learning rates (best: {info['epochs']} ep, "
            f"val recall {info['val_recall']:.3f}), "
            + ", ".join(f"{k} {v:.1f}s (val recall {val[k]:.3f})" for k, v in timings.items())
        )
        for name, s in scores.items():
            found = rank_metrics(s, truth)
            rows.append({"seed": seed, "method": name, **{m: v for m, v in found.items()}})
    print(
        f"\ncold start, target domain = {target}, ranking all target items, K={K}; "
        f"{users} users, {bridge_users:.0%} of them active in every domain"
    )
    print(f"{'method':<28}{'Recall@20 [95% CI]':>28}{'NDCG@20 [95% CI]':>28}")
    frame = pd.DataFrame(rows)
    per_user = {
        m: {metric: np.concatenate(g[metric].tolist()) for metric in ("recall", "ndcg")}
        for m, g in frame.groupby("method", sort=False)
    }
    for method, found in per_user.items():
        cells = []
        for metric in ("recall", "ndcg"):
            mean, lo, hi = bootstrap(found[metric])
            cells.append(f"{mean:.4f} [{lo:.4f}, {hi:.4f}]")
        print(f"{method:<28}{cells[0]:>28}{cells[1]:>28}")
    ours = per_user[OURS]
    print(f"\npaired bootstrap, {OURS} minus each method (same users; CI excluding 0 = a real difference)")
    for method, found in per_user.items():
        if method != OURS:
            cells = [
                ("{:+.4f} [{:+.4f}, {:+.4f}]").format(*bootstrap(ours[m] - found[m]))
                for m in ("recall", "ndcg")
            ]
            print(f"{method:<28}{cells[0]:>28}{cells[1]:>28}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quality", action="store_true", help="run the cold-start quality check")
    parser.add_argument("--full", action="store_true", help="also time one full fit_vectors run")
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per model")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--target", default="films")
    parser.add_argument("--users", type=int, default=600, help="users in the quality check's world")
    parser.add_argument(
        "--bridge-users",
        type=float,
        default=1.0,
        help="share of users active in every domain (the rest stay in one domain)",
    )
    parser.add_argument("--part", choices=["lightgcn", "ours-K2", "ours-K3"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        print(json.dumps(run_part(args.part, args.epochs, args.threads)))
    elif args.quality:
        quality(args.seeds, args.target, args.threads, args.users, args.bridge_users)
    else:
        speed(args.epochs, args.threads, args.full)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
