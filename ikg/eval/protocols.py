"""Evaluation protocols: who is held out, what they hide, what the recommender may train on.

Every protocol returns a `Split` with disjoint validation and test users. The training frame
hides the held-out interactions of both groups, so one fit per grid point serves tuning
(validation users) and the final report (test users); no test interaction is ever seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ikg.eval.base import Dataset

PROTOCOLS = ("cold-start", "leave-last-out", "temporal", "given")


@dataclass
class EvalUsers:
    """Held-out users: their hidden target items and the visible items to exclude from ranking."""

    user_ids: list[str]
    targets: dict[str, set[str]]
    exclude: dict[str, set[str]]

    def __len__(self) -> int:
        return len(self.user_ids)


@dataclass
class Split:
    """A training frame, validation and test users, and the candidate items to rank."""

    protocol: str
    train: pd.DataFrame
    hidden: pd.DataFrame
    valid: EvalUsers
    test: EvalUsers
    candidates: list[str]
    target_domain: str | None = None
    source_domain: str | None = None
    params: dict = field(default_factory=dict)
    """The make_split arguments that rebuild this split (protocol, domains, seed, sizes)."""


def _sort_events(events: pd.DataFrame) -> pd.DataFrame:
    """Events in time order per user (stable: file order breaks ties and stands in for missing ts)."""
    events = events.reset_index(drop=True)
    if "ts" in events.columns and events["ts"].notna().all():
        return events.sort_values(["user_id", "ts"], kind="stable")
    return events.sort_values("user_id", kind="stable")


def _candidates(dataset: Dataset, domain: str | None) -> list[str]:
    items = dataset.items if domain is None else dataset.items[dataset.items["domain"] == domain]
    if items.empty:
        raise ValueError(f"no items in domain {domain!r}; domains are {dataset.domains}")
    return sorted(items["item_id"].unique())


def _split_users(users: list[str], n_valid: int, n_test: int, seed: int) -> tuple[list[str], list[str]]:
    """Disjoint random validation and test users (sorted for determinism before shuffling).

    Each group takes at most a quarter of the eligible users, so at least half of them stay
    in training with their full history (otherwise nobody would link the domains).
    """
    rng = np.random.default_rng(seed)
    users = sorted(users)
    rng.shuffle(users)
    n_test = min(n_test, len(users) // 4)
    n_valid = min(n_valid, len(users) // 4)
    if n_test == 0 or n_valid == 0:
        raise ValueError(f"only {len(users)} eligible users: too few for validation and test")
    return sorted(users[n_test : n_test + n_valid]), sorted(users[:n_test])


def _eval_users(
    users: list[str], hidden: pd.DataFrame, train: pd.DataFrame, candidates: set[str]
) -> EvalUsers:
    targets = {u: set(g) & candidates for u, g in hidden.groupby("user_id")["item_id"]}
    visible = {u: set(g) for u, g in train[train["user_id"].isin(users)].groupby("user_id")["item_id"]}
    kept = [u for u in users if targets.get(u)]
    return EvalUsers(kept, {u: targets[u] for u in kept}, {u: visible.get(u, set()) for u in kept})


def _finish(
    protocol: str,
    dataset: Dataset,
    train: pd.DataFrame,
    hidden: pd.DataFrame,
    valid_users: list[str],
    test_users: list[str],
    target_domain: str | None,
    source_domain: str | None = None,
) -> Split:
    candidates = _candidates(dataset, target_domain)
    cset = set(candidates)
    train = train.reset_index(drop=True)
    hidden = hidden.reset_index(drop=True)
    return Split(
        protocol,
        train,
        hidden,
        _eval_users(valid_users, hidden, train, cset),
        _eval_users(test_users, hidden, train, cset),
        candidates,
        target_domain,
        source_domain,
    )


def cold_start_split(
    dataset: Dataset,
    source_domain: str,
    target_domain: str,
    n_valid: int = 200,
    n_test: int = 500,
    min_source: int = 1,
    seed: int = 0,
) -> Split:
    """Cross-domain cold start.

    Among users with events in both domains (and at least `min_source` source-domain events),
    pick validation and test users; hide all their target-domain events. They keep their
    source-domain (and any other-domain) history; everything else stays in training.
    """
    dom = dataset.item_domain()
    events = dataset.events.assign(_domain=dataset.events["item_id"].map(dom).to_numpy())
    if events["_domain"].isna().any():
        raise ValueError("events reference items missing from the item table")
    src_counts = events[events["_domain"] == source_domain].groupby("user_id").size()
    tgt_users = set(events.loc[events["_domain"] == target_domain, "user_id"])
    eligible = [u for u, n in src_counts.items() if n >= min_source and u in tgt_users]
    valid_users, test_users = _split_users(eligible, n_valid, n_test, seed)
    held = set(valid_users) | set(test_users)
    mask = events["user_id"].isin(held) & (events["_domain"] == target_domain)
    if not (events.loc[~mask, "_domain"] == target_domain).any():
        raise ValueError(f"no training events left in target domain {target_domain!r}")
    return _finish(
        "cold-start",
        dataset,
        events[~mask].drop(columns="_domain"),
        events[mask].drop(columns="_domain"),
        valid_users,
        test_users,
        target_domain,
        source_domain,
    )


def leave_last_out_split(
    dataset: Dataset,
    target_domain: str | None = None,
    n_valid: int = 200,
    n_test: int = 500,
    min_history: int = 2,
    seed: int = 0,
) -> Split:
    """Hide each held-out user's last event (in time order).

    With `target_domain`, only users whose last event is in that domain are eligible and the
    candidates are that domain's items.
    """
    events = _sort_events(dataset.events)
    last_idx = events.groupby("user_id").tail(1)
    sizes = events.groupby("user_id").size()
    last_idx = last_idx[last_idx["user_id"].map(sizes) >= min_history]
    if target_domain is not None:
        last_idx = last_idx[last_idx["item_id"].map(dataset.item_domain()) == target_domain]
    valid_users, test_users = _split_users(list(last_idx["user_id"]), n_valid, n_test, seed)
    held = last_idx[last_idx["user_id"].isin(set(valid_users) | set(test_users))]
    train = events.drop(index=held.index)
    hidden = held[
        ~held.set_index(["user_id", "item_id"]).index.isin(train.set_index(["user_id", "item_id"]).index)
    ]
    return _finish("leave-last-out", dataset, train, hidden, valid_users, test_users, target_domain)


def temporal_split(
    dataset: Dataset,
    target_domain: str | None = None,
    quantile: float = 0.8,
    n_valid: int = 200,
    n_test: int = 500,
    seed: int = 0,
) -> Split:
    """Global time cut: events after the `quantile` of timestamps are hidden from everyone.

    Users with history before the cut and new items after it are split into validation and
    test users; their targets are the post-cut items they had not interacted with before.
    """
    events = dataset.events
    if "ts" not in events.columns or events["ts"].isna().any():
        raise ValueError("temporal protocol needs a ts on every event")
    cut = float(events["ts"].quantile(quantile))
    train, after = events[events["ts"] <= cut], events[events["ts"] > cut]
    if target_domain is not None:
        after = after[after["item_id"].map(dataset.item_domain()) == target_domain]
    after = after[
        ~after.set_index(["user_id", "item_id"]).index.isin(train.set_index(["user_id", "item_id"]).index)
    ]
    eligible = sorted(set(after["user_id"]) & set(train["user_id"]))
    valid_users, test_users = _split_users(eligible, n_valid, n_test, seed)
    return _finish("temporal", dataset, train, after, valid_users, test_users, target_domain)


def given_split(dataset: Dataset, target_domain: str | None = None) -> Split:
    """The dataset's own split (`dataset.split`): listed users' target items are hidden.

    All listed targets are hidden from training, whichever domain they are in; with
    `target_domain` only users whose target is in that domain are evaluated, against all
    items of that domain.
    """
    if dataset.split is None:
        raise ValueError(f"dataset {dataset.name} has no predefined split")
    split = dataset.split
    pairs = split.set_index(["user_id", "item_id"]).index
    events = dataset.events
    is_hidden = events.set_index(["user_id", "item_id"]).index.isin(pairs)
    train = events[~is_hidden]
    hidden = split[["user_id", "item_id"]]
    if target_domain is not None:
        split = split[split["item_id"].map(dataset.item_domain()) == target_domain]
    valid_users = sorted(split.loc[split["split"] == "valid", "user_id"].unique())
    test_users = sorted(split.loc[split["split"] == "test", "user_id"].unique())
    if set(valid_users) & set(test_users):
        raise ValueError("predefined split has users in both valid and test")
    return _finish("given", dataset, train, hidden, valid_users, test_users, target_domain)


def make_split(
    dataset: Dataset,
    protocol: str,
    source_domain: str | None = None,
    target_domain: str | None = None,
    seed: int = 0,
    n_valid: int = 200,
    n_test: int = 500,
) -> Split:
    """Dispatch on the protocol name (one of PROTOCOLS); the split records these arguments."""
    split = _make_split(dataset, protocol, source_domain, target_domain, seed, n_valid, n_test)
    split.params = {
        "protocol": protocol,
        "source_domain": source_domain,
        "target_domain": target_domain,
        "seed": seed,
        "n_valid": n_valid,
        "n_test": n_test,
    }
    return split


def _make_split(
    dataset: Dataset,
    protocol: str,
    source_domain: str | None,
    target_domain: str | None,
    seed: int,
    n_valid: int,
    n_test: int,
) -> Split:
    if protocol == "cold-start":
        if source_domain is None or target_domain is None:
            raise ValueError("cold-start needs --source-domain and --target-domain")
        return cold_start_split(dataset, source_domain, target_domain, n_valid, n_test, seed=seed)
    if protocol == "leave-last-out":
        return leave_last_out_split(dataset, target_domain, n_valid, n_test, seed=seed)
    if protocol == "temporal":
        return temporal_split(dataset, target_domain, n_valid=n_valid, n_test=n_test, seed=seed)
    if protocol == "given":
        return given_split(dataset, target_domain)
    raise ValueError(f"unknown protocol {protocol!r}; choose from {PROTOCOLS}")
