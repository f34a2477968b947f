"""Rollback keeps user data: what the versions rolled back had taken in goes back into the inbox.

A version's state holds every item and event it has taken in, and the inbox batches it consumed
are deleted once it is active. So rolling back from the serving version to an earlier one would
lose what the later refreshes consumed. Before ACTIVE switches, `replay_into_inbox` stages as new
inbox batches the events the serving version holds and the target does not (by event identity,
`kg.ingest.event_keys`) and the items it added or changed (when it is the newer of the two); the
next refresh takes them in exactly once (it skips events whose identity the version already holds). Events of forgotten
users are never replayed, and an item with a newer batch already waiting in the inbox keeps that batch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ikg.workdir import State, Workdir
from kg.ids import id_digest
from kg.ingest import event_keys

ITEM_COLUMNS = ["item_id", "domain", "title", "description", "categories", "tags"]
EVENT_COLUMNS = ["user_id", "item_id", "kind", "ts", "rating", "text", "event_key"]


def _pending(workdir: Workdir, kind: str) -> list[pd.DataFrame]:
    return [pd.read_parquet(path) for _, k, path in workdir.pending() if k == kind]


def events_to_replay(
    current: State, target: State, forgotten: set[str], waiting: np.ndarray | None = None
) -> pd.DataFrame:
    """Events of `current` whose identity neither `target` nor `waiting` holds; forgotten users left out."""
    events = current.table("events")
    if not len(events):
        return pd.DataFrame(columns=EVENT_COLUMNS)
    keys = event_keys(events)
    held = target.table("events")
    known = event_keys(held) if len(held) else np.zeros(0, dtype="uint64")
    if waiting is not None and len(waiting):
        known = np.concatenate([known, waiting])
    keep = ~np.isin(keys, known)
    if forgotten and keep.any():
        users = events["user_id"].astype(str)
        gone = {u for u in users[keep].unique() if id_digest(u) in forgotten}
        keep &= ~users.isin(gone).to_numpy()
    out = events[keep].assign(event_key=keys[keep])
    return out[[c for c in EVENT_COLUMNS if c in out]].reset_index(drop=True)


def items_to_replay(current: State, target: State, waiting: set[str] | None = None) -> pd.DataFrame:
    """Items `current` added or changed since `target`, except those with a newer batch `waiting`."""
    items = current.table("items")
    if not len(items):
        return pd.DataFrame(columns=ITEM_COLUMNS)
    before = target.table("items")
    old_hash = dict(zip(before["item_id"], before["text_hash"])) if len(before) else {}
    fields = ["domain", "title", "description", "categories", "tags"]
    old_rows = (
        {r[0]: tuple(map(_plain, r[1:])) for r in before[["item_id", *fields]].itertuples(index=False)}
        if len(before)
        else {}
    )
    changed = [
        item_id not in old_hash
        or old_hash[item_id] != text_hash
        or old_rows.get(item_id) != tuple(map(_plain, row))
        for item_id, text_hash, row in zip(
            items["item_id"], items["text_hash"], items[fields].itertuples(index=False)
        )
    ]
    out = items[np.array(changed, dtype=bool)]
    if waiting:
        out = out[~out["item_id"].isin(waiting)]
    return out[[c for c in ITEM_COLUMNS if c in out]].reset_index(drop=True)


def _plain(value: object) -> object:
    """A hashable, comparable form of an item field (lists and arrays become tuples)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(str(v) for v in value)
    return value


def _created(state: State) -> float:
    return float((state.info or {}).get("created", 0.0))


def replay_into_inbox(workdir: Workdir, current: State, target: State) -> dict[str, int]:
    """Stage what `current` holds beyond `target` (items first, then events); return the counts.

    Items are replayed only when `current` is newer than `target` (a roll forward must not bring
    back older item texts); events missing from `target` are replayed either way.
    """
    waiting_items: set[str] = set()
    for frame in _pending(workdir, "items"):
        waiting_items |= set(frame["item_id"].astype(str))
    waiting_events = [event_keys(f) for f in _pending(workdir, "events") if len(f)]
    items = (
        items_to_replay(current, target, waiting_items)
        if _created(current) > _created(target)
        else pd.DataFrame(columns=ITEM_COLUMNS)
    )
    events = events_to_replay(
        current,
        target,
        workdir.forgotten(),
        np.concatenate(waiting_events) if waiting_events else None,
    )
    if len(items):
        workdir.stage("items", items)
    if len(events):
        workdir.stage("events", events)
    return {"replayed_items": len(items), "replayed_events": len(events)}
