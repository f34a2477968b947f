"""Choose the walk parameters and blend weights of `ikg.serving` on a validation split of the graph.

Validation mimics interest migration: for sampled users active in two or more domains, all
their interactions in one domain are hidden (for single-domain users, their latest one); the
walks, interests, transitions and the low-pass filter are rebuilt without the hidden edges,
and each weight combination ranks the hidden domain's items. The GNN vectors of the version
were trained with those edges, so tuning either retrains the GNN on the reduced graph
(`refit_gnn`, what a refresh does) and tunes its weight with the rest, or, without a refit,
holds the GNN weight at its default (tuning leaked vectors would reward the leak).

Weights are chosen by coordinate ascent per walk setting: from the default blend, each
component's grid is swept with the others held, until a sweep changes nothing (at most
`MAX_SWEEPS`). The default blend is kept unless the best beats it by at least `MIN_GAIN` in
NDCG@k; a target domain gets its own blend (ascended on its users only) by the same rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ikg.serving import DEFAULT_BLEND, ServingModel
from kg import builder
from kg.lowpass import RANKS, lowpass_from_snapshot, to_arrays, truncate
from kg.store import GraphSnapshot
from kg.transitions import learn_transitions

MIN_GAIN = 0.02
GRID = {
    "concepts": (0.0, 0.15, 0.35, 0.7, 1.5),
    "gnn": (0.0, 0.25, 0.5, 1.0, 2.0),
    "popularity": (0.0, 0.05, 0.1, 0.3),
    "transitions": (0.0, 0.35, 1.0),
    "lowpass": (0.0, 0.5, 1.0, 2.0, 4.0),
}
WALK_GRID: tuple[dict[str, float], ...] = (
    {"alpha": 0.5, "beta": 0.0},
    {"alpha": 0.5, "beta": 0.2},
    {"alpha": 0.3, "beta": 0.0},
    {"alpha": 0.8, "beta": 0.0},
    {"alpha": 0.5, "beta": 0.5},
)
"""RP3beta walk settings tried (the first is the default); each needs one index build.

The default is what the tuned RP3beta baseline chose for cold start on Food-Kitchen; the walk
alone then matches that baseline there (validation NDCG@20 0.049 vs 0.049)."""
NAMES = ("collaborative", "concepts", "gnn", "popularity", "transitions", "lowpass")
MAX_SWEEPS = 3
"""Coordinate-ascent sweeps over the components' grids per walk setting (it stops earlier when one changes nothing)."""


MIN_BRIDGING_USERS = 50
"""With at least this many users active in several domains, validation uses only them (a migration)."""


def _holdout(snapshot: GraphSnapshot, n_users: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split INTERACTED into kept and hidden rows for up to `n_users` users.

    Users active in several domains lose one whole domain (a migration, as in cold start);
    only when too few such users exist do single-domain users lose their last item instead.
    """
    edges = snapshot.edge_frame("INTERACTED")
    if edges.empty:
        return edges, edges
    items = snapshot.nodes["Item"][["key", "domain"]].rename(columns={"key": "dst"})
    positive = edges[edges["weight"].astype(float) > 0].merge(items, on="dst")
    counts = positive.groupby("src").size()
    eligible = counts[counts >= 3].index.to_numpy()
    spans = positive.groupby("src")["domain"].nunique().reindex(eligible)
    bridging = eligible[spans.to_numpy() > 1]
    if len(bridging) >= min(n_users, MIN_BRIDGING_USERS):
        eligible = bridging
    rng = np.random.default_rng(seed)
    chosen = (
        set(rng.choice(eligible, size=min(n_users, len(eligible)), replace=False).tolist())
        if len(eligible)
        else set()
    )
    hidden = []
    for _user, rows in positive[positive["src"].isin(chosen)].groupby("src"):
        domains = sorted(rows["domain"].unique())
        if len(domains) > 1:
            target = domains[rng.integers(len(domains))]
            hidden.append(rows[rows["domain"] == target])
        else:
            order = rows.sort_values("last_ts" if "last_ts" in rows else "dst")
            hidden.append(order.tail(1))
    hidden_df = pd.concat(hidden) if hidden else positive.iloc[0:0]
    key = edges["src"] + "\x00" + edges["dst"]
    kept = edges[~key.isin(set(hidden_df["src"] + "\x00" + hidden_df["dst"]))]
    return kept, hidden_df


def _without(snapshot: GraphSnapshot, kept: pd.DataFrame) -> GraphSnapshot:
    """The snapshot with only `kept` interactions and interests recomputed from them."""
    items = snapshot.nodes["Item"].rename(columns={"key": "item_id"})
    has = snapshot.edge_frame("HAS_CONCEPT").rename(columns={"src": "item_id", "dst": "key"})
    interactions = kept.rename(columns={"src": "user_id", "dst": "item_id"})
    interests = builder.user_interests(interactions, has, items)
    edges = dict(snapshot.edges)
    edges["INTERACTED"] = kept
    edges["INTERESTED_IN"] = interests.rename(columns={"user_id": "src", "key": "dst"})
    edges["LEADS_TO"] = learn_transitions(kept, has, items.set_index("item_id")["domain"])
    return GraphSnapshot(dict(snapshot.nodes), edges, dict(snapshot.meta))


def _ndcg(ranked: np.ndarray, relevant: set[int], k: int) -> float:
    gains = [1.0 / np.log2(r + 2) for r, j in enumerate(ranked[:k]) if j in relevant]
    ideal = sum(1.0 / np.log2(r + 2) for r in range(min(len(relevant), k)))
    return float(sum(gains) / ideal) if ideal else 0.0


def _components(
    model: ServingModel, hidden: pd.DataFrame, names: tuple[str, ...] = NAMES
) -> list[tuple[str, dict[str, np.ndarray], list[set[int]], np.ndarray]]:
    """Per target domain: each component's scores for the hidden users, their targets, their seen mask."""
    out = []
    for domain, rows in hidden.groupby("domain"):
        users = sorted(rows["src"].unique())
        scores = {
            name: model.score(users, domain, {n: float(n == name) for n in NAMES}).total for name in names
        }
        cols = np.flatnonzero(model.index.domain_mask(domain))
        inverse = np.full(len(model.index.items), -1)
        inverse[cols] = np.arange(len(cols))
        relevant = [
            {int(inverse[model.index.item_index[i]]) for i in rows.loc[rows["src"] == user, "dst"]}
            for user in users
        ]
        mask = np.zeros((len(users), len(cols)), dtype=bool)
        for b, seen in enumerate(model.seen(model.index.user_rows(users))):
            p = inverse[seen]
            mask[b, p[p >= 0]] = True
        out.append((str(domain), scores, relevant, mask))
    return out


def _per_user(parts, blend: Mapping[str, float], k: int) -> dict[str, list[float]]:
    """NDCG@k of each validation user under `blend`, per target domain."""
    total_weight = sum(blend.values())
    out: dict[str, list[float]] = {}
    for domain, scores, relevant, mask in parts:
        total = sum(blend[n] / total_weight * scores[n] for n in scores if blend.get(n))
        total = np.where(mask, -np.inf, total)
        kk = min(k, total.shape[1])
        part = np.argpartition(-total, kk - 1, axis=1)[:, :kk]
        part.sort(axis=1)
        order = np.argsort(-np.take_along_axis(total, part, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(part, order, axis=1)
        out[domain] = [_ndcg(top[b], relevant[b], k) for b in range(len(relevant))]
    return out


Blend = dict[str, float]
UserScores = Callable[[Mapping[str, float]], dict[str, list[float]]]


def _mean(per_domain: Mapping[str, list[float]]) -> float:
    return float(np.mean([v for vs in per_domain.values() for v in vs]))


def _scorer(parts, walk: Mapping[str, float], k: int, table: list[dict[str, Any]]) -> UserScores:
    """Per-user NDCG@k of a blend under one walk, computed once per blend and logged to `table`."""
    cache: dict[tuple[float, ...], dict[str, list[float]]] = {}

    def users(blend: Mapping[str, float]) -> dict[str, list[float]]:
        key = tuple(float(blend.get(n, 0.0)) for n in NAMES)
        if key not in cache:
            cache[key] = _per_user(parts, blend, k)
            domains = {f"ndcg@{k}:{d}": round(float(np.mean(vs)), 5) for d, vs in cache[key].items()}
            table.append({**walk, **blend, f"ndcg@{k}": round(_mean(cache[key]), 5), **domains})
        return cache[key]

    return users


def _overall(users: UserScores) -> Callable[[Blend], float]:
    """Mean NDCG@k over all validation users."""
    return lambda blend: _mean(users(blend))


def _in_domain(users: UserScores, domain: str) -> Callable[[Blend], float]:
    """Mean NDCG@k over the validation users whose hidden history is in `domain`."""
    return lambda blend: float(np.mean(users(blend)[domain]))


def _ascend(
    objective: Callable[[Blend], float], start: Mapping[str, float], grid: Mapping[str, tuple[float, ...]]
) -> tuple[Blend, float]:
    """Coordinate ascent from `start`: sweep each component's grid with the others held, keep strict gains."""
    best = dict(start)
    best_score = objective(best)
    for _ in range(MAX_SWEEPS):
        changed = False
        for name, values in grid.items():
            for value in values:
                if value == best[name]:
                    continue
                candidate = {**best, name: value}
                score = objective(candidate)
                if score > best_score:
                    best, best_score, changed = candidate, score, True
        if not changed:
            break
    return best, best_score


def tune_blend(
    snapshot: GraphSnapshot,
    arrays: Mapping[str, np.ndarray],
    n_users: int = 300,
    k: int = 20,
    seed: int = 0,
    refit_gnn: Callable[[GraphSnapshot], Mapping[str, np.ndarray]] | None = None,
) -> dict[str, Any]:
    """Pick walk parameters and blend weights on a migration-style validation split.

    `refit_gnn(reduced_snapshot)` returns `gnn_*` arrays trained without the hidden edges; with
    it the GNN weight is tuned too, without it the GNN weight stays at its default.
    Returns {"blend", "walk", "blend_by_domain", "by_domain", "table", "users", "chosen", ...};
    the defaults stay unless the best combination gains at least MIN_GAIN in NDCG@k over them,
    and a target domain gets its own blend only if it gains MIN_GAIN on that domain's users.
    """
    kept, hidden = _holdout(snapshot, n_users, seed)
    if hidden.empty:
        return {
            "blend": dict(DEFAULT_BLEND),
            "walk": dict(WALK_GRID[0]),
            "table": [],
            "users": 0,
            "chosen": "default (no validation users)",
        }
    reduced = _without(snapshot, kept)
    lowpass = lowpass_from_snapshot(reduced)
    arrays = {k: v for k, v in arrays.items() if not k.startswith("lowpass_")} | to_arrays(lowpass)
    grid = dict(GRID)
    if refit_gnn is not None:
        arrays = {k: v for k, v in arrays.items() if not k.startswith("gnn_")} | dict(refit_gnn(reduced))
    else:
        grid["gnn"] = (DEFAULT_BLEND["gnn"],)
    if lowpass is None:
        grid["lowpass"] = (0.0,)
    rank: int | None = None
    rank_scores: dict[str, float] = {}
    table: list[dict[str, Any]] = []
    per_walk: list[tuple[Blend, Blend, float, UserScores]] = []
    for walk in WALK_GRID:
        model = ServingModel.build(reduced, None, arrays, walk=walk, lowpass_rank=rank)
        if walk == WALK_GRID[0]:
            rank, rank_scores = _lowpass_rank(model, hidden, k)
        users = _scorer(_components(model, hidden), walk, k, table)
        blend, score = _ascend(_overall(users), DEFAULT_BLEND, grid)
        per_walk.append((dict(walk), blend, score, users))
    baseline = _mean(per_walk[0][3](DEFAULT_BLEND))
    walk, blend, score, users = max(per_walk, key=lambda r: r[2])
    if score < baseline * (1 + MIN_GAIN):
        walk, blend, score, users = dict(WALK_GRID[0]), dict(DEFAULT_BLEND), baseline, per_walk[0][3]
    chosen = "default" if (walk == WALK_GRID[0] and blend == DEFAULT_BLEND) else "tuned"
    by_domain = _domain_blends(users, blend, grid, k)
    return {
        "blend": blend,
        "walk": walk,
        "lowpass_rank": rank,
        "lowpass_ranks": rank_scores,
        "gnn": "retrained on the validation graph" if refit_gnn is not None else "held at its default weight",
        "blend_by_domain": {d: e["blend"] for d, e in by_domain.items() if e["chosen"]},
        "by_domain": by_domain,
        "table": table,
        "users": int(hidden["src"].nunique()),
        f"default_ndcg@{k}": round(baseline, 5),
        f"chosen_ndcg@{k}": round(score, 5),
        "chosen": chosen,
    }


def _lowpass_rank(model: ServingModel, hidden: pd.DataFrame, k: int) -> tuple[int | None, dict[str, float]]:
    """The rank of the low-pass filter that ranks the hidden items best on its own, and each rank's NDCG@k.

    The strongest components come first, so every rank is a prefix of the one fit; `model` is
    left serving the chosen rank.
    """
    full = model.lowpass
    if full is None:
        return None, {}
    scores = {}
    for rank in (r for r in RANKS if r <= full.rank):
        model.set_lowpass(truncate(full, rank))
        alone = _per_user(_components(model, hidden, ("lowpass",)), {"lowpass": 1.0}, k)
        scores[str(rank)] = round(_mean(alone), 5)
    best = max(scores, key=lambda r: scores[r]) if scores else str(full.rank)
    model.set_lowpass(truncate(full, int(best)))
    return int(best), scores


def _domain_blends(
    users: UserScores, blend: Mapping[str, float], grid: Mapping[str, tuple[float, ...]], k: int
) -> dict[str, dict[str, Any]]:
    """Per target domain, a blend ascended on that domain's users; chosen only if it gains MIN_GAIN there.

    Each domain's validation users are those whose hidden history is in that domain, so a
    domain's own blend is measured on simulated cold users of that domain only.
    """
    out = {}
    for domain, values in users(blend).items():
        current = float(np.mean(values))
        top, top_score = _ascend(_in_domain(users, domain), blend, grid)
        chosen = top_score >= current * (1 + MIN_GAIN) and top_score > current
        out[str(domain)] = {
            "blend": top if chosen else dict(blend),
            f"global_ndcg@{k}": round(current, 5),
            f"best_ndcg@{k}": round(top_score, 5),
            "chosen": bool(chosen),
        }
    return out
