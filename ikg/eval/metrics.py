"""Ranking metrics per user, catalogue coverage, and bootstrap confidence intervals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

METRICS = ("recall", "ndcg", "hit")


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k best scores per row, best first (ties broken by lower index)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part.sort(axis=1)
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def user_metrics(ranked: Sequence[str], targets: set[str], k: int) -> dict[str, float]:
    """Recall@k, NDCG@k (binary relevance) and HitRate@k for one user's ranked list."""
    hits = np.array([item in targets for item in list(ranked)[:k]], dtype=float)
    discounts = 1.0 / np.log2(np.arange(2, len(hits) + 2))
    ideal = discounts[: min(len(targets), k)].sum()
    return {
        "recall": hits.sum() / len(targets) if targets else 0.0,
        "ndcg": float((hits * discounts).sum() / ideal) if ideal > 0 else 0.0,
        "hit": float(hits.any()),
    }


def coverage(ranked_lists: Sequence[Sequence[str]], n_candidates: int) -> float:
    """Share of the candidate catalogue that appears in at least one user's top-k."""
    shown = {item for ranked in ranked_lists for item in ranked}
    return len(shown) / n_candidates if n_candidates else 0.0


@dataclass
class Interval:
    """A mean with a bootstrap confidence interval."""

    mean: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.mean:.4f} [{self.low:.4f}, {self.high:.4f}]"


def bootstrap_ci(values: np.ndarray, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> Interval:
    """Percentile bootstrap CI of the mean, resampling users with replacement."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(n_boot, len(values)))
    means = values[idx].mean(axis=1)
    tail = (1 - level) / 2
    return Interval(
        float(values.mean()), float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))
    )


@dataclass
class PairedComparison:
    """Paired bootstrap of method a minus method b on the same users."""

    a: str
    b: str
    metric: str
    diff: Interval
    p_win: float

    def __str__(self) -> str:
        return f"{self.a} - {self.b} on {self.metric}: {self.diff} (P({self.a} better) = {self.p_win:.3f})"


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[Interval, float]:
    """CI of mean(a - b) and the share of resamples where a's mean beats b's.

    Users are resampled jointly, so per-user difficulty cancels out.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("paired bootstrap needs per-user values for the same users")
    diff = a - b
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(diff), size=(n_boot, len(diff)))
    means = diff[idx].mean(axis=1)
    tail = (1 - level) / 2
    interval = Interval(
        float(diff.mean()), float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))
    )
    p_win = float((means > 0).mean() + 0.5 * (means == 0).mean())
    return interval, p_win
