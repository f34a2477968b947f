"""An ideal low-pass filter over the user-item graph: the global, smooth part of collaborative signal.

The walks of `kg.proximity` see two or three hops around a user; the low-pass filter sees the
whole graph through its `rank` strongest spectral components (the global part of GF-CF, Shen et
al. 2021, "How Powerful is Graph Convolution for Recommendation?"). With the interaction
matrix B (users x items, 1 where the user engaged), D_u and D_i its degrees and

    R~ = D_u^-1/2  B  D_i^-a  ~  U S V^T     (truncated to `rank`),

a user with interaction row r_u scores item j as

    lowpass(u, j) = (r_u D_i^-a V) . (V^T D_i^a)_j

so only two item-side matrices are kept: `item_in` = D_i^-a V maps a history into the spectral
space, `item_out` = D_i^a V scores items from it. New users need no refit (their row is enough);
new items score 0 until the next refresh. Across domains this carries a cold user's source-domain
history to target items through every user active in both, not only the immediate co-buyers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from kg.proximity import _matrix
from kg.store import GraphSnapshot

DEFAULT_RANK = 256
"""Spectral components fitted; serving keeps the first `rank` of them, chosen by `ikg.tuning`
(the strongest components come first, so one fit serves every rank)."""
RANKS = (32, 64, 128, 256)
DEGREE_EXPONENT = 0.5


@dataclass(frozen=True)
class LowPass:
    """The two item-side factors of the filter, rows aligned with `items`."""

    items: list[str]
    item_in: np.ndarray  # items x rank, float32
    item_out: np.ndarray  # items x rank, float32

    @property
    def rank(self) -> int:
        return int(self.item_in.shape[1])


def fit_lowpass(
    interactions: sp.csr_matrix,
    items: list[str],
    rank: int = DEFAULT_RANK,
    exponent: float = DEGREE_EXPONENT,
    seed: int = 0,
) -> LowPass | None:
    """Factor a users x items interaction matrix (any positive entry counts as 1); None if too small."""
    from sklearn.utils.extmath import randomized_svd

    binary = (interactions > 0).astype(np.float32).tocsr()
    binary.eliminate_zeros()
    rank = min(rank, min(binary.shape) - 1)
    if rank < 1 or binary.nnz == 0:
        return None
    user_degree = np.asarray(binary.sum(axis=1)).ravel()
    item_degree = np.maximum(np.asarray(binary.sum(axis=0)).ravel(), 1.0)
    normalised = (
        sp.diags(1.0 / np.sqrt(np.maximum(user_degree, 1.0))) @ binary @ sp.diags(item_degree**-exponent)
    )
    _, _, vt = randomized_svd(normalised.astype(np.float32), rank, n_iter=4, random_state=seed)
    v = vt.T.astype(np.float32)
    return LowPass(
        list(items),
        np.ascontiguousarray(v * (item_degree**-exponent)[:, None].astype(np.float32)),
        np.ascontiguousarray(v * (item_degree**exponent)[:, None].astype(np.float32)),
    )


def lowpass_from_snapshot(snapshot: GraphSnapshot, rank: int = DEFAULT_RANK, seed: int = 0) -> LowPass | None:
    """Fit the filter on a snapshot's positive INTERACTED edges (dislikes are not engagement)."""
    items = snapshot.nodes.get("Item", pd.DataFrame(columns=["key"]))["key"].tolist()
    edges = snapshot.edge_frame("INTERACTED")
    if edges.empty or not items:
        return None
    if "weight" in edges:
        edges = edges[edges["weight"].astype(float) > 0]
    users = {u: i for i, u in enumerate(sorted(set(edges["src"])))}
    matrix = _matrix(edges, users, {k: i for i, k in enumerate(items)}, None)
    return fit_lowpass(matrix, items, rank, seed=seed)


def truncate(lowpass: LowPass | None, rank: int | None) -> LowPass | None:
    """The filter with only its first `rank` components (the strongest; unchanged when None)."""
    if lowpass is None or rank is None or rank >= lowpass.rank:
        return lowpass
    return LowPass(
        lowpass.items,
        np.ascontiguousarray(lowpass.item_in[:, :rank]),
        np.ascontiguousarray(lowpass.item_out[:, :rank]),
    )


def to_arrays(lowpass: LowPass | None) -> dict[str, np.ndarray]:
    """The factors as named arrays of a version's state (empty when there is no filter)."""
    if lowpass is None:
        return {}
    return {
        "lowpass_in": lowpass.item_in,
        "lowpass_out": lowpass.item_out,
        "lowpass_keys": np.array(lowpass.items, dtype=str),
    }


def from_arrays(arrays: Mapping[str, np.ndarray], items: list[str]) -> LowPass | None:
    """The factors of a version's state reordered to `items` (zero rows for items it has not seen)."""
    if "lowpass_in" not in arrays:
        return None
    stored_in, stored_out = arrays["lowpass_in"], arrays["lowpass_out"]
    where = {k: i for i, k in enumerate(arrays["lowpass_keys"].tolist())}
    picked = np.array([where.get(k, -1) for k in items], dtype=np.int64)
    found = picked >= 0
    item_in = np.zeros((len(items), stored_in.shape[1]), dtype=np.float32)
    item_out = np.zeros_like(item_in)
    item_in[found] = stored_in[picked[found]]
    item_out[found] = stored_out[picked[found]]
    return LowPass(list(items), item_in, item_out)
