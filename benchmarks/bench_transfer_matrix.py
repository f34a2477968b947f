"""Cold-start interest transfer measured on the interaction matrix alone (minutes, not a graph build).

    python benchmarks/bench_transfer_matrix.py --data /work/data/food-kitchen --source food --target kitchen

The `ikg.eval` cold-start split (seed 0: 200 validation and 500 test users lose their whole
target-domain history); every candidate component scores all target-domain items from the
training matrix only: target popularity (log users), item-kNN (asymmetric cosine + shrink),
RP3beta, the cross-domain ridge map over overlap users (dual form, `fit_ridge_map`), a
CGSP-style graph filter (normalised co-occurrence through overlap users, smoothed with the
target item-item graph), the low-pass filter of `kg.lowpass` (ranks 32-256), and optionally
EASE over the 6,000 most popular items. Each is tuned on the validation users; blends of their
per-user max-scaled scores are chosen on validation too.
Prints validation and test NDCG@20 / Recall@20, the ablation, and paired bootstrap CIs on test.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ikg.eval import load_dataset
from ikg.eval.baselines.ease import ease_weights
from ikg.eval.baselines.matrix import InteractionMatrix
from ikg.eval.baselines.ridge_map import _scaled, fit_ridge_map
from ikg.eval.metrics import paired_bootstrap
from ikg.eval.protocols import make_split
from kg.lowpass import RANKS, fit_lowpass, truncate

K = 20
GROUPS = ("valid", "test")


def metrics(scores: np.ndarray, targets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-user NDCG@K and Recall@K (binary relevance) of dense scores over the candidates."""
    part = np.argpartition(-scores, K, axis=1)[:, :K]
    top = np.take_along_axis(part, np.argsort(-np.take_along_axis(scores, part, 1), axis=1, kind="stable"), 1)
    disc = 1 / np.log2(np.arange(2, K + 2))
    ndcg, recall = [], []
    for row, t in zip(top, targets):
        hits = np.isin(row, t)
        ndcg.append((hits * disc).sum() / disc[: min(len(t), K)].sum())
        recall.append(hits.sum() / len(t))
    return np.array(ndcg), np.array(recall)


def unit_max(s: np.ndarray) -> np.ndarray:
    return s / np.maximum(np.abs(s).max(axis=1, keepdims=True), 1e-12)


def row_normalise(M: sp.spmatrix, alpha: float = 1.0) -> sp.csr_matrix:
    M = M.tocsr().astype(np.float32, copy=True)
    sums = np.asarray(M.sum(1)).ravel()
    M = (sp.diags(np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)) @ M).tocsr()
    if alpha != 1:
        M.data **= alpha
    return M


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ease", action="store_true", help="also EASE over the 6,000 most popular items (slow)")
    args = p.parse_args()
    data = load_dataset(args.data)
    split = make_split(data, "cold-start", args.source, args.target, seed=args.seed)
    m = InteractionMatrix.build(split.train, data.items)
    X = m.X.tocsr()
    domain = data.item_domain().reindex(m.item_ids).to_numpy()
    T = m.item_cols(split.candidates)
    S = np.flatnonzero(domain == args.source)
    pop = np.asarray(X.sum(0)).ravel()
    users = {g: getattr(split, g) for g in GROUPS}
    H = {g: m.user_rows(users[g].user_ids) for g in GROUPS}
    position = {item: n for n, item in enumerate(split.candidates)}
    targets = {
        g: [np.array([position[i] for i in users[g].targets[u]]) for u in users[g].user_ids] for g in GROUPS
    }
    for g in GROUPS:
        for u in users[g].user_ids:  # cold start: no visible target-domain item to exclude
            seen = [position[i] for i in users[g].exclude.get(u, ()) if i in position]
            assert not seen, "cold start hides the whole target domain"
    print(
        f"{args.source} -> {args.target}: {len(users['valid'])} validation, {len(users['test'])} test users"
    )

    def ev(scores):
        return {g: metrics(np.asarray(scores[g], np.float64), targets[g]) for g in GROUPS}

    chosen: dict[str, tuple[str, dict, dict]] = {}

    def family(name, candidates):
        best = None
        for label, scores in candidates:
            result = ev(scores)
            print(
                f"  {label:34s} valid NDCG {result['valid'][0].mean():.4f} | test NDCG {result['test'][0].mean():.4f}"
            )
            if best is None or result["valid"][0].mean() > best[2]["valid"][0].mean():
                best = (label, scores, result)
        chosen[name] = best

    family("popularity", [("popularity", {g: np.tile(np.log1p(pop[T]), (len(users[g]), 1)) for g in GROUPS})])
    C = (X.T @ X[:, T]).tocoo()

    def iknn(a, h):
        sim = C.data / (np.power(pop[C.row], a) * np.power(pop[T][C.col], 1 - a) + h)
        W = sp.csr_matrix((sim.astype(np.float32), (C.row, C.col)), shape=C.shape)
        return {g: (H[g] @ W).toarray() for g in GROUPS}

    family(
        "item-knn", [(f"item-knn a={a} shrink={h}", iknn(a, h)) for a in (0.75, 0.9) for h in (20, 100, 300)]
    )

    def rp3(a, b):
        P_ui, P_iu = row_normalise(X, a), row_normalise(X.T, a)
        penalty = np.power(np.maximum(pop[T], 1), -b).astype(np.float32)
        return {g: ((H[g] @ P_iu) @ P_ui[:, T]).toarray() * penalty for g in GROUPS}

    family("rp3beta", [(f"rp3beta a={a} b={b}", rp3(a, b)) for a in (0.5, 0.75) for b in (0.0, 0.2)])
    degree_u = np.asarray(X.sum(1)).ravel()
    Rn = (
        sp.diags(np.power(np.maximum(degree_u, 1), -0.5)) @ X @ sp.diags(np.power(np.maximum(pop, 1), -0.5))
    ).tocsr()
    inter = (Rn[:, S].T @ Rn[:, T]).tocsr()
    intra = (Rn[:, T].T @ Rn[:, T]).tocsr()
    first = {g: (H[g][:, S] @ inter).toarray() for g in GROUPS}
    second = {g: np.asarray(first[g] @ intra) for g in GROUPS}
    family(
        "graph filter",
        [
            (
                f"graph filter depth-2 mix={b}",
                {g: unit_max(first[g]) + b * unit_max(second[g]) for g in GROUPS},
            )
            for b in (0.0, 1.0, 3.0)
        ],
    )
    target_mask = domain == args.target

    def ridge(lam):
        A, dual, cols = fit_ridge_map(X, target_mask, lam)
        pos = np.full(X.shape[1], -1)
        pos[cols] = np.arange(len(cols))
        return {g: np.asarray((_scaled(H[g][:, ~target_mask]) @ A.T) @ dual)[:, pos[T]] for g in GROUPS}

    family("ridge map", [(f"ridge map lambda={lam}", ridge(lam)) for lam in (10.0, 50.0, 200.0)])
    if args.ease:
        kept = np.sort(np.argsort(-pop, kind="stable")[:6000])
        where = np.full(X.shape[1], -1)
        where[kept] = np.arange(len(kept))
        inside = where[T] >= 0

        def ease(lam):
            B = ease_weights(X[:, kept].tocsc(), lam)
            out = {}
            for g in GROUPS:
                s = np.full((len(users[g]), len(T)), -1e9, dtype=np.float32)
                s[:, inside] = H[g][:, kept] @ B[:, where[T][inside]]
                out[g] = s
            return out

        family("ease", [(f"ease lambda={lam}", ease(lam)) for lam in (200.0, 1000.0)])

    lowpass = fit_lowpass(X, list(m.item_ids), max(RANKS), seed=args.seed)

    def lowpass_scores(rank):
        f = truncate(lowpass, rank)
        return {g: np.asarray(H[g] @ f.item_in) @ f.item_out[T].T for g in GROUPS}

    family("lowpass", [(f"lowpass rank={r}", lowpass_scores(r)) for r in RANKS])

    names = list(chosen)
    scaled = {n: {g: unit_max(np.asarray(chosen[n][1][g], np.float64)) for g in GROUPS} for n in names}
    grid = {n: ((0.0, 0.05, 0.1, 0.2) if n == "popularity" else (0.0, 0.5, 1.0)) for n in names}
    grid["lowpass"] = (0.0, 0.5, 1.0, 2.0)

    def blended(w, g):
        return sum(w[n] * scaled[n][g] for n in names if w[n])

    best = None
    for combo in itertools.product(*(grid[n] for n in names)):
        w = dict(zip(names, combo))
        if not any(w[n] for n in names if n != "popularity"):
            continue
        score = metrics(blended(w, "valid"), targets["valid"])[0].mean()
        if best is None or score > best[1]:
            best = (w, score)
    weights = best[0]
    blend = {g: metrics(blended(weights, g), targets[g]) for g in GROUPS}
    print("\n| component | chosen | valid NDCG@20 | test NDCG@20 | test Recall@20 |\n|---|---|---|---|---|")
    for n in names:
        label, _, r = chosen[n]
        print(
            f"| {n} alone | {label} | {r['valid'][0].mean():.4f} | {r['test'][0].mean():.4f} | {r['test'][1].mean():.4f} |"
        )
    for n in names:
        if weights[n] and any(weights[o] for o in names if o not in (n, "popularity")):
            w = {**weights, n: 0.0}
            r = {g: metrics(blended(w, g), targets[g]) for g in GROUPS}
            print(
                f"| blend without {n} | | {r['valid'][0].mean():.4f} | {r['test'][0].mean():.4f} | {r['test'][1].mean():.4f} |"
            )
    print(
        f"| blend | {weights} | {blend['valid'][0].mean():.4f} | {blend['test'][0].mean():.4f} | {blend['test'][1].mean():.4f} |"
    )
    baselines = [n for n in ("popularity", "item-knn", "rp3beta", "ease") if n in chosen]
    base = max(baselines, key=lambda n: chosen[n][2]["valid"][0].mean())
    print(f"\nbest baseline on validation: {chosen[base][0]}")
    for n in names:
        if n == base:
            continue
        for i, metric in enumerate(("NDCG@20", "Recall@20")):
            diff, p_win = paired_bootstrap(chosen[n][2]["test"][i], chosen[base][2]["test"][i])
            print(f"  {n} - {base} test {metric}: {diff}, P(win) {p_win:.2f}")
    for i, metric in enumerate(("NDCG@20", "Recall@20")):
        diff, p_win = paired_bootstrap(blend["test"][i], chosen[base][2]["test"][i])
        ratio = blend["test"][i].mean() / max(chosen[base][2]["test"][i].mean(), 1e-12)
        print(f"  blend - {base} test {metric}: {diff}, P(win) {p_win:.2f}, ratio {ratio:.3f}")


if __name__ == "__main__":
    main()
