"""Fit, tune on validation users, rank test users, and collect an EvalReport."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ikg.eval.base import Dataset, Method, Recommender
from ikg.eval.baselines import BASELINES, default_methods
from ikg.eval.leakage import assert_no_leakage
from ikg.eval.metrics import METRICS, coverage, top_k, user_metrics
from ikg.eval.protocols import EvalUsers, Split, make_split
from ikg.eval.report import EvalReport, MethodResult

log = logging.getLogger(__name__)


def rank(
    rec: Recommender, users: EvalUsers, candidates: Sequence[str], k: int, batch_size: int = 256
) -> list[list[str]]:
    """Top-k candidates per user (user order of `users`), never including their visible history."""
    cand = np.asarray(candidates)
    col = {item: n for n, item in enumerate(cand)}
    ranked: list[list[str]] = []
    for start in range(0, len(users.user_ids), batch_size):
        batch = users.user_ids[start : start + batch_size]
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


def tune(
    method: Method, split: Split, items: pd.DataFrame, k: int, metric: str = "ndcg"
) -> tuple[Recommender, dict[str, Any], float, list[dict[str, Any]]]:
    """Fit every grid point on the split's training frame; keep the best on validation users."""
    return tune_many(method, [split], items, k, metric)[0]


def tune_many(
    method: Method, splits: Sequence[Split], items: pd.DataFrame, k: int, metric: str = "ndcg"
) -> list[tuple[Recommender, dict[str, Any], float, list[dict[str, Any]]]]:
    """`tune` for several splits that share one training frame (e.g. both target domains of a
    predefined split): each grid point is fitted once and scored on every split's validation users."""
    train = splits[0].train
    if any(len(s.train) != len(train) or not s.train.equals(train) for s in splits[1:]):
        raise ValueError("tune_many needs splits with the same training frame")
    best: list[tuple[Recommender, dict[str, Any], float] | None] = [None] * len(splits)
    records: list[list[dict[str, Any]]] = [[] for _ in splits]
    for params in method.grid:
        rec = method.factory(**params)
        started = time.perf_counter()
        rec.fit(train, items)
        fit_seconds = time.perf_counter() - started
        for n, split in enumerate(splits):
            ranked = rank(rec, split.valid, split.candidates, k)
            score = float(per_user_metrics(ranked, split.valid, k)[metric].mean())
            records[n].append(
                {"params": params, f"valid_{metric}": score, "fit_seconds": round(fit_seconds, 2)}
            )
            log.info(
                "%s %s [%s]: valid %s@%d = %.4f", method.name, params, split.target_domain, metric, k, score
            )
            current = best[n]
            if current is None or score > current[2]:
                best[n] = (rec, params, score)
    out = []
    for n, chosen in enumerate(best):
        assert chosen is not None, f"{method.name} has an empty grid"
        out.append((chosen[0], chosen[1], chosen[2], records[n]))
    return out


def as_methods(
    methods: Iterable[str | Method | Recommender] | None, seed: int = 0, text_encode=None
) -> list[Method]:
    """Baseline names become their default tuned Methods; a bare Recommender becomes untuned."""
    out: list[Method] = []
    for m in BASELINES if methods is None else methods:
        if isinstance(m, str):
            out.extend(default_methods([m], seed=seed, text_encode=text_encode))
        elif isinstance(m, Method):
            out.append(m)
        else:
            out.append(Method.fixed(m))
    return out


def evaluate_split(
    split: Split,
    items: pd.DataFrame,
    methods: Sequence[Method],
    k: int = 20,
    seed: int = 0,
    dataset_name: str = "dataset",
    n_boot: int = 1000,
) -> EvalReport:
    """Tune each method on `split.valid`, then measure it once on `split.test`."""
    return evaluate_splits([split], items, methods, k, seed, dataset_name, n_boot)[0]


def evaluate_splits(
    splits: Sequence[Split],
    items: pd.DataFrame,
    methods: Sequence[Method],
    k: int = 20,
    seed: int = 0,
    dataset_name: str = "dataset",
    n_boot: int = 1000,
) -> list[EvalReport]:
    """`evaluate_split` for splits sharing one training frame, fitting each grid point once.

    Each split still gets its own tuning (its validation users) and its own report.
    """
    for split in splits:
        assert_no_leakage(split.train, split)
    results: list[list[MethodResult]] = [[] for _ in splits]
    for method in methods:
        started = time.perf_counter()
        for n, (rec, params, valid_score, record) in enumerate(tune_many(method, splits, items, k)):
            split = splits[n]
            ranked = rank(rec, split.test, split.candidates, k)
            results[n].append(
                MethodResult(
                    method.name,
                    params,
                    per_user_metrics(ranked, split.test, k),
                    coverage(ranked, len(split.candidates)),
                    valid_score,
                    record,
                    time.perf_counter() - started,
                )
            )
        log.info("%s done in %.1fs", method.name, time.perf_counter() - started)
    return [
        EvalReport(
            dataset_name,
            s.protocol,
            k,
            seed,
            s.source_domain,
            s.target_domain,
            len(s.train),
            len(s.valid),
            len(s.test),
            len(s.candidates),
            list(s.test.user_ids),
            r,
            n_boot,
            dict(s.params),
        )
        for s, r in zip(splits, results)
    ]


def run_evaluation(
    dataset: Dataset,
    protocol: str = "cold-start",
    methods: Iterable[str | Method | Recommender] | None = None,
    k: int = 20,
    seed: int = 0,
    source_domain: str | None = None,
    target_domain: str | None = None,
    n_valid: int = 200,
    n_test: int = 500,
    extra: Iterable[Recommender | Method] = (),
    n_boot: int = 1000,
    text_encode=None,
) -> EvalReport:
    """Split `dataset` by `protocol`, tune `methods` (baseline names, Methods or Recommenders)
    on validation users, and report them on test users.

    `extra` adds more methods after the baselines (e.g. the ikg system as a Recommender), so
    they are compared on exactly the same split and users.
    """
    split = make_split(dataset, protocol, source_domain, target_domain, seed, n_valid, n_test)
    all_methods = as_methods(methods, seed, text_encode) + as_methods(list(extra), seed)
    return evaluate_split(split, dataset.items, all_methods, k, seed, dataset.name, n_boot)


def add_to_report(
    report: EvalReport | str | Path, dataset: Dataset, *methods: Method | Recommender
) -> EvalReport:
    """Evaluate more methods (e.g. the ikg system) against a stored baseline report.

    The split is rebuilt from the report's recorded arguments, checked to give the same test
    users, and the new methods are tuned and measured on it exactly like the baselines; the
    result is the baseline report with the new rows appended (paired comparisons included).
    """
    base = EvalReport.from_json(report) if isinstance(report, (str, Path)) else report
    params = base.split_params or {
        "protocol": base.protocol,
        "source_domain": base.source_domain,
        "target_domain": base.target_domain,
        "seed": base.seed,
    }
    split = make_split(dataset, **params)
    if list(split.test.user_ids) != list(base.test_users):
        raise ValueError("rebuilt split has different test users than the stored report")
    new = evaluate_split(
        split,
        dataset.items,
        as_methods(list(methods), base.seed),
        base.k,
        base.seed,
        base.dataset,
        base.n_boot,
    )
    return base.merge(new)
