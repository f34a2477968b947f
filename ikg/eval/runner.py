"""Fit, tune on validation users, rank test users, and collect an EvalReport."""

from __future__ import annotations

import logging
import time
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ikg.eval.base import Dataset, Method, Recommender
from ikg.eval.baselines import BASELINES, default_methods
from ikg.eval.leakage import assert_no_leakage
from ikg.eval.metrics import METRICS, coverage, top_k, user_metrics
from ikg.eval.protocols import EvalUsers, Split, make_split
from ikg.eval.report import EvalReport, MethodResult

log = logging.getLogger(__name__)


def rank(rec: Recommender, users: EvalUsers, candidates: Sequence[str], k: int,
         batch_size: int = 256) -> list[list[str]]:
    """Top-k candidates per user (user order of `users`), never including their visible history."""
    cand = np.asarray(candidates)
    col = {item: n for n, item in enumerate(cand)}
    ranked: list[list[str]] = []
    for start in range(0, len(users.user_ids), batch_size):
        batch = users.user_ids[start:start + batch_size]
        scores = np.array(rec.score(batch, list(cand)), dtype=np.float64)
        if scores.shape != (len(batch), len(cand)):
            raise ValueError(f"{rec.name}.score returned {scores.shape}, expected {(len(batch), len(cand))}")
        scores[~np.isfinite(scores)] = -np.inf
        for row, user in enumerate(batch):
            seen = [col[i] for i in users.exclude.get(user, ()) if i in col]
            scores[row, seen] = -np.inf
        ranked.extend([list(cand[r]) for r in top_k(scores, k)])
    return ranked


def per_user_metrics(ranked: list[list[str]], users: EvalUsers, k: int) -> dict[str, np.ndarray]:
    values = [user_metrics(r, users.targets[u], k) for r, u in zip(ranked, users.user_ids)]
    return {m: np.array([v[m] for v in values]) for m in METRICS}


def tune(method: Method, split: Split, items: pd.DataFrame, k: int,
         metric: str = "ndcg") -> tuple[Recommender, dict[str, Any], float, list[dict[str, Any]]]:
    """Fit every grid point on the split's training frame; keep the best on validation users."""
    best: tuple[Recommender, dict[str, Any], float] | None = None
    record = []
    for params in method.grid:
        rec = method.factory(**params)
        started = time.perf_counter()
        rec.fit(split.train, items)
        ranked = rank(rec, split.valid, split.candidates, k)
        score = float(per_user_metrics(ranked, split.valid, k)[metric].mean())
        record.append({"params": params, f"valid_{metric}": score,
                       "seconds": round(time.perf_counter() - started, 2)})
        log.info("%s %s: valid %s@%d = %.4f", method.name, params, metric, k, score)
        if best is None or score > best[2]:
            best = (rec, params, score)
    assert best is not None, f"{method.name} has an empty grid"
    return best[0], best[1], best[2], record


def _as_methods(methods: Iterable[str | Method | Recommender] | None, seed: int,
                text_encode=None) -> list[Method]:
    out: list[Method] = []
    for m in (BASELINES if methods is None else methods):
        if isinstance(m, str):
            out.extend(default_methods([m], seed=seed, text_encode=text_encode))
        elif isinstance(m, Method):
            out.append(m)
        else:
            out.append(Method.fixed(m))
    return out


def evaluate_split(split: Split, items: pd.DataFrame, methods: Sequence[Method], k: int = 20,
                   seed: int = 0, dataset_name: str = "dataset", n_boot: int = 1000) -> EvalReport:
    """Tune each method on `split.valid`, then measure it once on `split.test`."""
    assert_no_leakage(split.train, split)
    results = []
    for method in methods:
        started = time.perf_counter()
        rec, params, valid_score, record = tune(method, split, items, k)
        ranked = rank(rec, split.test, split.candidates, k)
        results.append(MethodResult(method.name, params, per_user_metrics(ranked, split.test, k),
                                    coverage(ranked, len(split.candidates)), valid_score, record,
                                    time.perf_counter() - started))
        log.info("%s done in %.1fs", method.name, results[-1].seconds)
    return EvalReport(dataset_name, split.protocol, k, seed, split.source_domain, split.target_domain,
                      len(split.train), len(split.valid), len(split.test), len(split.candidates),
                      list(split.test.user_ids), results, n_boot)


def run_evaluation(dataset: Dataset, protocol: str = "cold-start",
                   methods: Iterable[str | Method | Recommender] | None = None, k: int = 20,
                   seed: int = 0, source_domain: str | None = None, target_domain: str | None = None,
                   n_valid: int = 200, n_test: int = 500, extra: Iterable[Recommender | Method] = (),
                   n_boot: int = 1000, text_encode=None) -> EvalReport:
    """Split `dataset` by `protocol`, tune `methods` (baseline names, Methods or Recommenders)
    on validation users, and report them on test users.

    `extra` adds more methods after the baselines (e.g. the ikg system as a Recommender), so
    they are compared on exactly the same split and users.
    """
    split = make_split(dataset, protocol, source_domain, target_domain, seed, n_valid, n_test)
    all_methods = _as_methods(methods, seed, text_encode) + _as_methods(list(extra), seed)
    return evaluate_split(split, dataset.items, all_methods, k, seed, dataset.name, n_boot)
