"""ID-only LightGCN on the merged user-item graph (PyG), trained with BPR on CPU."""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch_geometric.nn.models import LightGCN
from torch_geometric.utils import to_torch_csr_tensor

from ikg.eval.baselines.matrix import InteractionMatrix, cached_matrix, frame_key


def normalised_adjacency(X: sp.csr_matrix) -> torch.Tensor:
    """Symmetric D^-1/2 A D^-1/2 of the bipartite graph [[0, X], [X^T, 0]] as a torch CSR tensor.

    Nodes 0..U-1 are users, U..U+I-1 items.
    """
    n_users, n_items = X.shape
    coo = X.tocoo()
    rows = np.concatenate([coo.row, coo.col + n_users])
    cols = np.concatenate([coo.col + n_users, coo.row])
    deg = np.bincount(rows, minlength=n_users + n_items).astype(np.float64)
    inv_sqrt = np.divide(1.0, np.sqrt(deg), out=np.zeros_like(deg), where=deg > 0)
    weight = torch.tensor(inv_sqrt[rows] * inv_sqrt[cols], dtype=torch.float32)
    edge_index = torch.tensor(np.vstack([rows, cols]), dtype=torch.long)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ss]parse invariant checks.*")
        warnings.filterwarnings("ignore", message=".*[Ss]parse CSR tensor support.*")
        return to_torch_csr_tensor(edge_index, weight, size=(n_users + n_items, n_users + n_items))


class _SymmetricSpmm(torch.autograd.Function):
    """adj @ x for a symmetric CSR adj; the backward is adj @ grad.

    torch's own CSR backward transposes the matrix on every step (about 10x slower on CPU).
    """

    @staticmethod
    def forward(ctx: Any, adj: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ctx.adj = adj
        return torch.sparse.mm(adj, x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, torch.sparse.mm(ctx.adj, grad)


def propagate(model: LightGCN, adj: torch.Tensor) -> torch.Tensor:
    """LightGCN's layer-weighted sum of propagated embeddings (same result as
    `model.get_embedding(adj)` with normalize=False, with the fast symmetric backward)."""
    x = model.embedding.weight
    out = x * model.alpha[0]
    for layer in range(model.num_layers):
        x = _SymmetricSpmm.apply(adj, x)
        out = out + x * model.alpha[layer + 1]
    return out


@dataclass
class _Checkpoint:
    epochs: int
    model: dict
    optimizer: dict
    rng: Mapping[str, Any]


_CHECKPOINTS: dict[tuple, list[_Checkpoint]] = {}


class LightGCNRecommender:
    """LightGCN (He et al. 2020) with IDs only: PyG's model and BPR loss, negatives drawn from
    the positive item's domain, full-graph propagation per mini-batch.

    Deterministic for a fixed seed. Within a process, a fit resumes from the longest checkpoint
    of an identical fit with no more epochs (same data and other settings), which gives the
    same result as training from scratch: an epochs grid costs only its largest value, and a
    second evaluation on the same training frame (the other direction) costs nothing.
    """

    def __init__(
        self,
        dim: int = 64,
        layers: int = 3,
        epochs: int = 20,
        lr: float = 0.01,
        batch_size: int = 65536,
        reg: float = 1e-4,
        seed: int = 0,
    ) -> None:
        self.name = "lightgcn"
        self.dim, self.layers, self.epochs, self.lr = dim, layers, epochs, lr
        self.batch_size, self.reg, self.seed = batch_size, reg, seed
        self._m: InteractionMatrix | None = None
        self._users: np.ndarray | None = None
        self._items: np.ndarray | None = None
        self.train_seconds = 0.0

    @staticmethod
    def _negative_sampler(items: pd.DataFrame, m: InteractionMatrix):
        domain = pd.Series(m.item_ids).map(items.drop_duplicates("item_id").set_index("item_id")["domain"])
        codes, _ = pd.factorize(domain.fillna("?"))
        order = np.argsort(codes, kind="stable")
        counts = np.bincount(codes)
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])

        def sample(pos: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            d = codes[pos]
            return order[offsets[d] + (rng.random(len(pos)) * counts[d]).astype(np.int64)]

        return sample

    def fit(self, train: pd.DataFrame, items: pd.DataFrame) -> None:
        start = time.perf_counter()
        m = cached_matrix(train, items)
        n_users, n_items = m.X.shape
        key = (frame_key(train, items), self.dim, self.layers, self.lr, self.batch_size, self.reg, self.seed)
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        model = LightGCN(n_users + n_items, self.dim, self.layers, normalize=False)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        done = 0
        earlier = [c for c in _CHECKPOINTS.get(key, []) if c.epochs <= self.epochs]
        ckpt = max(earlier, key=lambda c: c.epochs) if earlier else None
        if ckpt is not None:
            model.load_state_dict(ckpt.model)
            opt.load_state_dict(ckpt.optimizer)
            rng.bit_generator.state = ckpt.rng
            done = ckpt.epochs
        adj = normalised_adjacency(m.X)
        coo = m.X.tocoo()
        users, pos_items = coo.row.astype(np.int64), coo.col.astype(np.int64)
        sample_neg = self._negative_sampler(items, m)
        for _ in range(done, self.epochs):
            perm = rng.permutation(len(users))
            for b in range(0, len(perm), self.batch_size):
                idx = perm[b : b + self.batch_size]
                u = torch.from_numpy(users[idx])
                p = torch.from_numpy(pos_items[idx] + n_users)
                n = torch.from_numpy(sample_neg(pos_items[idx], rng) + n_users)
                emb = propagate(model, adj)
                pos_rank = (emb[u] * emb[p]).sum(-1)
                neg_rank = (emb[u] * emb[n]).sum(-1)
                node_id = torch.unique(torch.cat([u, p, n]))
                loss = model.recommendation_loss(pos_rank, neg_rank, node_id=node_id, lambda_reg=self.reg)
                opt.zero_grad()
                loss.backward()
                opt.step()
        if done < self.epochs:
            _CHECKPOINTS.setdefault(key, []).append(
                _Checkpoint(
                    self.epochs,
                    copy.deepcopy(model.state_dict()),
                    copy.deepcopy(opt.state_dict()),
                    rng.bit_generator.state,
                )
            )
        with torch.no_grad():
            vectors = propagate(model, adj).numpy()
        self._m, self._users, self._items = m, vectors[:n_users], vectors[n_users:]
        self.train_seconds = time.perf_counter() - start

    def score(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        assert self._m is not None and self._users is not None and self._items is not None, "fit first"
        idx = np.array([self._m.user_index.get(str(u), -1) for u in user_ids], dtype=np.int64)
        U = np.where((idx >= 0)[:, None], self._users[np.maximum(idx, 0)], 0.0)
        return (U @ self._items[self._m.item_cols(item_ids)].T).astype(np.float32)
