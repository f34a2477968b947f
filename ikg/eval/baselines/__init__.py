"""Built-in baselines, each a Recommender with a small validation grid (see `default_methods`)."""

from __future__ import annotations

import gnn._pyg  # noqa: F401  (imports PyG first, without its import-time jit FutureWarning)
from ikg.eval.base import Method
from ikg.eval.baselines.ease import EASE, ease_weights
from ikg.eval.baselines.itemknn import ItemKNN, asymmetric_cosine
from ikg.eval.baselines.lightgcn import LightGCNRecommender
from ikg.eval.baselines.lowpass import LowPassFilter
from ikg.eval.baselines.popularity import Popularity
from ikg.eval.baselines.ridge_map import RidgeMap, fit_ridge_map
from ikg.eval.baselines.rp3beta import RP3beta, rp3beta_scores, rp3beta_similarity
from ikg.eval.baselines.text import TextSimilarity

BASELINES = ("popularity", "item-knn", "rp3beta", "lightgcn", "text")
EXTRA_BASELINES = ("ease", "ridge-map", "lowpass")
"""Selectable with --methods: each solves a dense system (items or overlap users) or a truncated SVD,
minutes on real data."""


def default_methods(
    names: tuple[str, ...] | list[str] = BASELINES,
    seed: int = 0,
    lightgcn_epochs: tuple[int, ...] = (10, 30),
    lightgcn_lrs: tuple[float, ...] = (0.01, 0.05),
    text_encode=None,
) -> list[Method]:
    """The baselines with their validation grids (small on purpose: a few fits each)."""
    grids = {
        "popularity": Method("popularity", Popularity, [{"recent_share": s} for s in (1.0, 0.25)]),
        "item-knn": Method(
            "item-knn",
            ItemKNN,
            [
                {"alpha": a, "shrink": h, "neighbors": n, "decay": d}
                for a in (0.5, 0.75, 0.9)
                for h in (0.0, 20.0, 100.0)
                for n in (100, None)
                for d in (None, 0.5, 0.8)
            ],
        ),
        "rp3beta": Method(
            "rp3beta",
            RP3beta,
            [
                {"alpha": a, "beta": b, "neighbors": n, "decay": d}
                for a in (0.5, 0.75, 1.0)
                for b in (0.0, 0.2, 0.4)
                for n in (200, None)
                for d in (None, 0.5, 0.8)
            ],
        ),
        "lightgcn": Method(
            "lightgcn",
            LightGCNRecommender,
            [
                {"epochs": e, "lr": lr, "layers": 3, "dim": 64, "seed": seed}
                for lr in lightgcn_lrs
                for e in sorted(lightgcn_epochs)
            ],
        ),
        "text": Method(
            "text",
            lambda **kw: TextSimilarity(encode=text_encode, **kw),
            [{"user": u} for u in ("mean", "recent", "last")],
        ),
        "ease": Method("ease", EASE, [{"lam": lam, "max_items": 6000} for lam in (50.0, 200.0, 1000.0)]),
        "ridge-map": Method("ridge-map", RidgeMap, [{"lam": lam} for lam in (10.0, 50.0, 200.0)]),
        "lowpass": Method("lowpass", LowPassFilter, [{"rank": r, "seed": seed} for r in (32, 64, 128, 256)]),
    }
    unknown = set(names) - set(grids)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; choose from {BASELINES + EXTRA_BASELINES}")
    return [grids[n] for n in names]


__all__ = [
    "BASELINES",
    "EASE",
    "EXTRA_BASELINES",
    "ItemKNN",
    "LightGCNRecommender",
    "LowPassFilter",
    "Popularity",
    "RP3beta",
    "RidgeMap",
    "TextSimilarity",
    "asymmetric_cosine",
    "default_methods",
    "ease_weights",
    "fit_ridge_map",
    "rp3beta_scores",
    "rp3beta_similarity",
]
