r"""Training InterestGNN: full-batch BPR, domain-aware negatives, early stopping, checkpoints.

Loss per epoch (one full-batch step, Adam with a linear learning-rate warm-up over
`warmup_epochs` so that a warm start is not thrown off by Adam's first steps), over a
random `supervision_fraction` :math:`P` of the positive training INTERACTED edges
:math:`(u, i)`, which are removed from the graph for that step (message / supervision
split: the user vector is built from their *other* items, so the model cannot score an
edge by finding the item in the user's own mean; with 0 every training edge both
propagates and is scored, as in plain LightGCN), with :math:`n` negatives :math:`j` drawn uniformly from the items
of :math:`i`'s own domain (so the model learns to rank *within* a domain, which is what
serving and migration ask of it):

.. math::
    \mathcal{L} = -\frac{1}{|P|\,n}\sum_{(u,i)\in P}\sum_{j}\log\sigma(e_u^\top e_i - e_u^\top e_j)
                  \;+\; \lambda_c \Big(-\frac{1}{|Q|}\sum_{(u,c)\in Q}\log\sigma(e_u^\top e_c - e_u^\top e_{c'})\Big)

with the optional auxiliary term on INTERESTED_IN links :math:`Q` (random negative
concepts :math:`c'`), plus Adam's L2 weight decay. A fraction of each user's interactions is
held out for validation (they neither propagate nor count in the user mean); training
stops when Recall@20 on them has not improved for `patience` evaluations, and the best
parameters are kept. Final vectors come from a forward pass over the whole graph.
"""

from __future__ import annotations

import copy
import hashlib
import io
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import HeteroData
from tqdm.auto import tqdm

from gnn.export import IdMaps
from gnn.model import InterestGNN, PropGraph, build_prop_graph, id_rows_for, score

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1
CHECKPOINT_NAME = "checkpoint.pt"
INTERACTED = ("user", "interacted", "item")
INTERESTED_IN = ("user", "interested_in", "concept")


@dataclass
class GnnConfig:
    """Model and training settings (`dim` and `layers` come from the checkpoint on warm start).

    dim, layers: vector size and propagation depth K (see gnn.model; K=2 by measurement:
        K=3 was no better on validation or cold start and costs a third more per epoch).
    epochs, lr, warmup_epochs, weight_decay: full-batch Adam steps, learning rate, linear
        warm-up length, L2 on all parameters.
    neg_per_pos: same-domain negative items per positive edge.
    aux_concept_weight: weight of the auxiliary BPR on INTERESTED_IN links (0 = off); 0.5 by
        measurement (synthetic cold start, dev seeds 4-6: +0.004 Recall@20 over 0.1, 1.0 no better).
    val_fraction, eval_every, eval_k, max_eval_users, patience: validation split per user,
        how often Recall@eval_k is measured (on at most max_eval_users users), and how
        many evaluations without improvement stop training.
    supervision_fraction, resplit_every: share of training edges hidden from the graph and
        scored each step, and how often that split is redrawn (see the module docstring).
    seed, threads: reproducibility (threads=None keeps torch's setting; results do not
        depend on it). max_minutes: wall-clock budget; the best parameters so far are kept.
    use_id_embedding: add a learned ID vector to items and concepts seen in training.
    use_user_id_embedding: add a learned ID vector to users with a positive edge in training
        (new users get none, so the model stays inductive); see gnn.model for why it is on.
    use_related: let RELATED_TO concept links propagate. user_concept_beta: weight of a
        user's interest concepts against their items in the user's initial vector.
    """

    dim: int = 64
    layers: int = 2
    epochs: int = 200
    lr: float = 0.01
    warmup_epochs: int = 5
    weight_decay: float = 1e-5
    neg_per_pos: int = 1
    aux_concept_weight: float = 0.5
    patience: int = 4
    eval_every: int = 5
    val_fraction: float = 0.1
    supervision_fraction: float = 0.3
    resplit_every: int = 1
    eval_k: int = 20
    max_eval_users: int = 2000
    seed: int = 0
    max_minutes: float = 10.0
    threads: int | None = None
    use_id_embedding: bool = True
    use_related: bool = True
    user_concept_beta: float = 1.0
    use_user_id_embedding: bool = True


@dataclass
class TrainOutcome:
    """What `train` produced: the model (best parameters) and how it got there."""

    model: InterestGNN
    item_keys: list[str]
    concept_keys: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)
    user_keys: list[str] = field(default_factory=list)


def seed_everything(seed: int, threads: int | None) -> None:
    """Seed torch (training draws all its randomness from torch generators; numpy is not
    used for sampling), set the thread count, and make torch kernels deterministic."""
    torch.manual_seed(seed)
    if threads is not None:
        torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)


def split_validation(users: Tensor, fraction: float, generator: torch.Generator) -> Tensor:
    """Flag ~`fraction` of each user's edges for validation; users with < 3 edges keep all."""
    n = users.numel()
    if n == 0 or fraction <= 0:
        return torch.zeros(n, dtype=torch.bool)
    noise = torch.rand(n, generator=generator)
    order = np.lexsort((noise.numpy(), users.numpy()))
    sorted_users = users.numpy()[order]
    starts = np.searchsorted(sorted_users, sorted_users, side="left")
    rank = np.arange(n) - starts
    degree = np.bincount(sorted_users)[sorted_users]
    held = (degree >= 3) & (rank < np.floor(degree * fraction).clip(min=1))
    flags = np.zeros(n, dtype=bool)
    flags[order[held]] = True
    return torch.from_numpy(flags)


class DomainSampler:
    """Draws negative items uniformly from the domain of each positive item (all items if none)."""

    def __init__(self, item_domain: Tensor) -> None:
        groups = item_domain + 1
        order = torch.argsort(groups, stable=True)
        count = torch.bincount(groups, minlength=int(groups.max().item()) + 1 if groups.numel() else 1)
        start = torch.cumsum(count, 0) - count
        self.pool = torch.cat([torch.arange(item_domain.numel()), order])
        self.start = torch.cat([torch.zeros(1, dtype=torch.long), start[1:] + item_domain.numel()])
        self.count = torch.cat([torch.tensor([item_domain.numel()]), count[1:]])
        self.group = groups

    def sample(self, positives: Tensor, per_pos: int, generator: torch.Generator) -> Tensor:
        group = self.group[positives].repeat(per_pos)
        pick = (torch.rand(group.numel(), generator=generator) * self.count[group]).long()
        return self.pool[self.start[group] + pick]


def bpr(users: Tensor, pos: Tensor, neg: Tensor, per_pos: int) -> Tensor:
    pos_score = (users * pos).sum(-1).repeat(per_pos)
    neg_score = (users.repeat(per_pos, 1) * neg).sum(-1)
    return -F.logsigmoid(pos_score - neg_score).mean()


def recall_at_k(
    users: Tensor,
    items: Tensor,
    train_index: Tensor,
    val_index: Tensor,
    k: int,
    max_users: int,
    generator: torch.Generator,
) -> dict[str, float]:
    """Recall@k and NDCG@k of held-out items, ranking all items minus each user's training items."""
    val_users = torch.unique(val_index[0])
    if val_users.numel() == 0:
        return {"recall": 0.0, "ndcg": 0.0, "users": 0}
    if val_users.numel() > max_users:
        val_users = (
            val_users[torch.randperm(val_users.numel(), generator=generator)[:max_users]].sort().values
        )
    local = torch.full((users.shape[0],), -1, dtype=torch.long)
    local[val_users] = torch.arange(val_users.numel())
    scores = score(users[val_users], items)
    seen = local[train_index[0]] >= 0
    scores[local[train_index[0][seen]], train_index[1][seen]] = float("-inf")
    top = scores.topk(min(k, items.shape[0]), dim=1).indices
    truth = torch.zeros_like(scores, dtype=torch.bool)
    wanted = local[val_index[0]] >= 0
    truth[local[val_index[0][wanted]], val_index[1][wanted]] = True
    hits = truth.gather(1, top).float()
    n_true = truth.sum(1).float()
    discount = 1.0 / torch.log2(torch.arange(2, top.shape[1] + 2).float())
    ideal = torch.stack([discount[: int(min(t, k))].sum() for t in n_true.tolist()])
    recall = (hits.sum(1) / n_true).mean().item()
    ndcg = ((hits * discount).sum(1) / ideal).mean().item()
    return {"recall": recall, "ndcg": ndcg, "users": int(val_users.numel())}


def make_model(
    config: GnnConfig,
    data: HeteroData,
    item_keys: list[str],
    concept_keys: list[str],
    user_keys: list[str] | None = None,
) -> InterestGNN:
    """A fresh InterestGNN with one ID row per given item, concept and user key."""
    text_dim = int(data["item"].x.shape[1])
    return InterestGNN(
        text_dim, config.dim, config.layers, len(item_keys), len(concept_keys), len(user_keys or [])
    )


def id_rows(
    ids: IdMaps, item_keys: list[str], concept_keys: list[str], user_keys: list[str] | None = None
) -> dict[str, Tensor]:
    """ID-table row (or -1) of every item, concept and, when `user_keys` is given, user of `ids`."""
    rows = {
        "item": id_rows_for(ids.keys["item"], item_keys),
        "concept": id_rows_for(ids.keys["concept"], concept_keys),
    }
    if user_keys:
        rows["user"] = id_rows_for(ids.keys.get("user", []), user_keys)
    return rows


def trained_users(data: HeteroData, ids: IdMaps) -> list[str]:
    """Users with a positive INTERACTED or INTERESTED_IN edge: the ones that get an ID row.

    A user with no positive edge (only dislikes) has nothing to learn an ID vector from,
    so, like a user added after training, its vector is its (empty) neighbourhood.
    """
    has = torch.zeros(len(ids.keys["user"]), dtype=torch.bool)
    for edge in (INTERACTED, INTERESTED_IN):
        if edge in data.edge_types:
            has[data[edge].edge_index[0, data[edge].edge_weight > 0]] = True
    return [key for key, keep in zip(ids.keys["user"], has.tolist()) if keep]


def warm_start_from(
    model: InterestGNN,
    checkpoint: dict[str, Any],
    item_keys: list[str],
    concept_keys: list[str],
    user_keys: list[str] | None = None,
) -> int:
    """Copy a checkpoint's projections and the ID rows of matching keys into `model`. Returns rows copied.

    User rows are copied only when `user_keys` is given and the checkpoint has user IDs.
    """
    state = checkpoint["state_dict"]
    with torch.no_grad():
        for name in ("item_proj", "concept_proj"):
            getattr(model, name).load_state_dict(
                {k.split(".", 1)[1]: v for k, v in state.items() if k.startswith(name + ".")}
            )
        copied = 0
        tables = [
            ("item_id", item_keys, checkpoint["item_keys"]),
            ("concept_id", concept_keys, checkpoint["concept_keys"]),
        ]
        if user_keys and checkpoint.get("user_keys"):
            tables.append(("user_id", user_keys, checkpoint["user_keys"]))
        for name, new_keys, old_keys in tables:
            old = id_rows_for(new_keys, old_keys)
            hit = torch.nonzero(old >= 0).flatten()
            if hit.numel():
                getattr(model, name).weight[hit] = state[f"{name}.weight"][old[hit]]
            copied += int(hit.numel())
    return copied


def _aux_step(out: dict[str, Tensor], interest: Tensor, generator: torch.Generator) -> Tensor:
    if interest.shape[1] == 0 or out["concept"].shape[0] < 2:
        return torch.zeros(())
    neg = torch.randint(0, out["concept"].shape[0], (interest.shape[1],), generator=generator)
    return bpr(out["user"][interest[0]], out["concept"][interest[1]], out["concept"][neg], 1)


def train(
    data: HeteroData,
    ids: IdMaps,
    config: GnnConfig,
    warm_start: dict[str, Any] | None = None,
    progress: bool = True,
) -> TrainOutcome:
    """Fit an InterestGNN on `data` (see the module docstring).

    Torch's global RNG state, thread count and deterministic-algorithms setting are
    restored afterwards, so training leaves the caller's process as it found it.
    """
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        with torch.random.fork_rng(devices=[]):
            return _train(data, ids, config, warm_start, progress)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def _train(
    data: HeteroData, ids: IdMaps, config: GnnConfig, warm_start: dict[str, Any] | None, progress: bool
) -> TrainOutcome:
    seed_everything(config.seed, config.threads)
    generator = torch.Generator().manual_seed(config.seed)
    started = time.perf_counter()
    item_keys = list(ids.keys["item"]) if config.use_id_embedding else []
    concept_keys = list(ids.keys["concept"]) if config.use_id_embedding else []
    index, weight = data[INTERACTED].edge_index, data[INTERACTED].edge_weight
    positive = weight > 0
    user_keys = trained_users(data, ids) if config.use_user_id_embedding else []
    model = make_model(config, data, item_keys, concept_keys, user_keys)
    copied = warm_start_from(model, warm_start, item_keys, concept_keys, user_keys) if warm_start else 0
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
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    warmup = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda e: min(1.0, (e + 1) / max(config.warmup_epochs, 1))
    )

    best: dict[str, Any] = {"recall": -1.0, "epoch": 0, "state": copy.deepcopy(model.state_dict())}
    history: list[dict[str, float]] = []
    stale, epoch_times, out_of_time = 0, [], False
    bar = tqdm(range(1, config.epochs + 1), desc="gnn", disable=not progress, leave=False)
    for epoch in bar:
        tick = time.perf_counter()
        if config.supervision_fraction > 0 and (epoch - 1) % config.resplit_every == 0:
            step_graph, step_pairs = supervision_split(data, rows, config, val_flags, train_edges, generator)
            if step_pairs.shape[1] == 0:
                step_graph, step_pairs = graph, train_pairs
        loss = train_step(model, step_graph, optimizer, step_pairs, interest, sampler, config, generator)
        warmup.step()
        epoch_times.append(time.perf_counter() - tick)
        out_of_time = time.perf_counter() - started > config.max_minutes * 60
        if epoch % config.eval_every == 0 or epoch == config.epochs or out_of_time:
            found = _evaluate(model, graph, train_pairs, val_pairs, config, config.seed)
            history.append({"epoch": epoch, "loss": loss, **found})
            bar.set_postfix(loss=f"{loss:.4f}", recall=f"{found['recall']:.4f}")
            if found["recall"] > best["recall"] or val_pairs.shape[1] == 0:
                best = {**found, "epoch": epoch, "state": copy.deepcopy(model.state_dict())}
                stale = 0
            else:
                stale += 1
        if out_of_time:
            log.warning("gnn training stopped at epoch %d: max_minutes=%s reached", epoch, config.max_minutes)
            break
        if stale >= config.patience:
            break
    bar.close()
    model.load_state_dict(best.pop("state"))
    metrics = {
        "best_epoch": best["epoch"],
        "val_recall@k": best.get("recall", 0.0),
        "val_ndcg@k": best.get("ndcg", 0.0),
        "val_users": best.get("users", 0),
        "epochs_run": len(epoch_times),
        "epoch_seconds": float(np.mean(epoch_times)) if epoch_times else 0.0,
        "train_seconds": time.perf_counter() - started,
        "warm_start_rows": copied,
        "timed_out": bool(out_of_time),
        "train_edges": int(train_pairs.shape[1]),
        "val_edges": int(val_pairs.shape[1]),
        "history": history,
    }
    return TrainOutcome(model, item_keys, concept_keys, metrics, user_keys)


def supervision_split(
    data: HeteroData,
    rows: dict[str, Tensor],
    config: GnnConfig,
    val_flags: Tensor,
    train_edges: Tensor,
    generator: torch.Generator,
) -> tuple[PropGraph, Tensor]:
    """A graph without a random `supervision_fraction` of the training edges, and those edges.

    The model is then scored on edges it cannot see in its own neighbourhood, which is
    exactly the situation of held-out and new interactions.
    """
    chosen = train_edges[torch.rand(train_edges.numel(), generator=generator) < config.supervision_fraction]
    drop = val_flags.clone()
    drop[chosen] = True
    graph = build_prop_graph(data, rows, config.user_concept_beta, config.use_related, drop)
    return graph, data[INTERACTED].edge_index[:, chosen]


def train_step(
    model: InterestGNN,
    graph: PropGraph,
    optimizer: torch.optim.Optimizer,
    pairs: Tensor,
    interest: Tensor,
    sampler: DomainSampler,
    config: GnnConfig,
    generator: torch.Generator,
) -> float:
    model.train()
    optimizer.zero_grad()
    out = model.split(graph, model(graph))
    neg = sampler.sample(pairs[1], config.neg_per_pos, generator)
    loss = bpr(out["user"][pairs[0]], out["item"][pairs[1]], out["item"][neg], config.neg_per_pos)
    if config.aux_concept_weight > 0:
        loss = loss + config.aux_concept_weight * _aux_step(out, interest, generator)
    loss.backward()
    optimizer.step()
    return float(loss.item())


@torch.no_grad()
def _evaluate(
    model: InterestGNN, graph: PropGraph, train_pairs: Tensor, val_pairs: Tensor, config: GnnConfig, seed: int
) -> dict[str, float]:
    model.eval()
    out = model.split(graph, model(graph))
    return recall_at_k(
        out["user"],
        out["item"],
        train_pairs,
        val_pairs,
        config.eval_k,
        config.max_eval_users,
        torch.Generator().manual_seed(seed),
    )


def model_version(model: InterestGNN) -> str:
    """`gnn-YYYYMMDDHHMMSS-<hash of the parameters>`."""
    digest = hashlib.sha1()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().numpy().tobytes())
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    return f"gnn-{stamp}-{digest.hexdigest()[:8]}"


def save_checkpoint(
    folder: Path, outcome: TrainOutcome, config: GnnConfig, ids: IdMaps, version: str
) -> Path:
    """Write `<folder>/checkpoint.pt` atomically (temp file + rename) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": version,
        "config": asdict(config),
        "text_dim": outcome.model.item_proj.in_features,
        "state_dict": outcome.model.state_dict(),
        "item_keys": outcome.item_keys,
        "concept_keys": outcome.concept_keys,
        "user_keys": outcome.user_keys,
        "id_maps": ids.to_dict(),
        "metrics": {k: v for k, v in outcome.metrics.items() if k != "history"},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path = folder / CHECKPOINT_NAME
    tmp = folder / f".{CHECKPOINT_NAME}.{version}.tmp"
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)
    return path


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint file, or the `checkpoint.pt` inside a checkpoint folder."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    payload = torch.load(path, map_location="cpu", weights_only=False)
    if payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a gnn checkpoint of format {CHECKPOINT_FORMAT}")
    return payload


def model_from_checkpoint(payload: dict[str, Any]) -> tuple[InterestGNN, GnnConfig]:
    config = GnnConfig(**payload["config"])
    model = InterestGNN(
        payload["text_dim"],
        config.dim,
        config.layers,
        len(payload["item_keys"]),
        len(payload["concept_keys"]),
        len(payload.get("user_keys", [])),
    )
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return model, config
