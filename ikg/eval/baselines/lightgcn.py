"""ID-only LightGCN on the merged user-item graph (PyG), trained with BPR on CPU."""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch_geometric.nn.models import LightGCN
from torch_geometric.utils import to_torch_csr_tensor

from ikg.eval.baselines.matrix import InteractionMatrix, cached_matrix


def normalised_adjacency(X: sp.csr_matrix) -> torch.Tensor:
    """Symmetric D^-1/2 A D^-1/2 of the bipartite graph [[0, X], [X^T, 0]] as a torch CSR tensor.

    Nodes 0..U-1 are users, U..U+I-1 items. Normalised once, so the convolutions run with
    normalize=False (the fast CSR path the design notes measure).
    """
    n_users, n_items = X.shape
    coo = X.tocoo()
    rows = np.concatenate([coo.row, coo.col + n_users])
    cols = np.concatenate([coo.col + n_users, coo.row])
    deg = np.bincount(rows, minlength=n_users + n_items).astype(np.float64)
    inv_sqrt = np.divide(1.0, np.sqrt(deg), out=np.zeros_like(deg), where=deg > 0)
    weight = torch.tensor(inv_sqrt[rows] * inv_sqrt[cols], dtype=torch.float32)
    edge_index = torch.tensor(np.vstack([rows, cols]), dtype=torch.long)
    return to_torch_csr_tensor(edge_index, weight, size=(n_users + n_items, n_users + n_items))


class LightGCNRecommender:
    """LightGCN (He et al. 2020) with IDs only; BPR with negatives from the positive's domain.

    Deterministic for a fixed seed (single-threaded sampling, seeded torch init).
    """

    def __init__(self, dim: int = 64, layers: int = 3, epochs: int = 20, lr: float = 0.005,
                 batch_size: int = 8192, reg: float = 1e-4, seed: int = 0) -> None:
        self.name = "lightgcn"
        self.dim, self.layers, self.epochs, self.lr = dim, layers, epochs, lr
        self.batch_size, self.reg, self.seed = batch_size, reg, seed
        self._m: InteractionMatrix | None = None
        self._users: np.ndarray | None = None
        self._items: np.ndarray | None = None
        self.train_seconds = 0.0

    def _negative_sampler(self, items: pd.DataFrame, m: InteractionMatrix):
        domain = pd.Series(m.item_ids).map(items.set_index("item_id")["domain"]).fillna("?")
        codes, _ = pd.factorize(domain)
        order = np.argsort(codes, kind="stable")
        counts = np.bincount(codes)
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])

        def sample(pos: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            d = codes[pos]
            return order[offsets[d] + (rng.random(len(pos)) * counts[d]).astype(np.int64)]
        return sample

    def fit(self, train: pd.DataFrame, items: pd.DataFrame) -> None:
        start = time.perf_counter()
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        m = cached_matrix(train, items)
        n_users, n_items = m.X.shape
        adj = normalised_adjacency(m.X)
        coo = m.X.tocoo()
        users, pos_items = coo.row.astype(np.int64), coo.col.astype(np.int64)
        sample_neg = self._negative_sampler(items, m)
        model = LightGCN(n_users + n_items, self.dim, self.layers, normalize=False)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        for _ in range(self.epochs):
            perm = rng.permutation(len(users))
            for b in range(0, len(perm), self.batch_size):
                idx = perm[b:b + self.batch_size]
                u = torch.from_numpy(users[idx])
                p = torch.from_numpy(pos_items[idx] + n_users)
                n = torch.from_numpy(sample_neg(pos_items[idx], rng) + n_users)
                emb = model.get_embedding(adj)
                pos_rank = (emb[u] * emb[p]).sum(-1)
                neg_rank = (emb[u] * emb[n]).sum(-1)
                node_id = torch.unique(torch.cat([u, p, n]))
                loss = model.recommendation_loss(pos_rank, neg_rank, node_id=node_id,
                                                 lambda_reg=self.reg)
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            emb = model.get_embedding(adj).numpy()
        self._m, self._users, self._items = m, emb[:n_users], emb[n_users:]
        self.train_seconds = time.perf_counter() - start

    def score(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        assert self._m is not None and self._users is not None and self._items is not None, "fit first"
        idx = np.array([self._m.user_index.get(str(u), -1) for u in user_ids], dtype=np.int64)
        U = np.where((idx >= 0)[:, None], self._users[np.maximum(idx, 0)], 0.0)
        return (U @ self._items[self._m.item_cols(item_ids)].T).astype(np.float32)
