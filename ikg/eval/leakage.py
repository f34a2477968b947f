"""Leakage guard: a training frame must not contain any hidden (held-out) interaction."""

from __future__ import annotations

import pandas as pd

from ikg.eval.protocols import Split


class LeakageError(AssertionError):
    """A held-out interaction reached the data a recommender trains on."""


def find_leaks(train: pd.DataFrame, split: Split) -> pd.DataFrame:
    """The (user_id, item_id) pairs of `train` that are hidden targets of `split`'s held-out users."""
    held_users = set(split.valid.user_ids) | set(split.test.user_ids)
    targets = [(u, i) for ev in (split.valid, split.test) for u in ev.user_ids for i in ev.targets[u]]
    hidden = pd.concat(
        [split.hidden[["user_id", "item_id"]], pd.DataFrame(targets, columns=["user_id", "item_id"])]
    ).drop_duplicates()
    hidden = hidden[hidden["user_id"].isin(held_users)]
    pairs = train[["user_id", "item_id"]].astype(str)
    return pairs.merge(hidden.astype(str), on=["user_id", "item_id"]).drop_duplicates()


def assert_no_leakage(train: pd.DataFrame, split: Split) -> None:
    """Raise LeakageError naming the first leaked pairs if `train` contains a hidden interaction."""
    leaks = find_leaks(train, split)
    if len(leaks):
        sample = ", ".join(f"({u}, {i})" for u, i in leaks.head(5).itertuples(index=False))
        raise LeakageError(f"{len(leaks)} held-out interactions in the training frame: {sample}")
