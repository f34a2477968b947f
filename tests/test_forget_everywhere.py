"""forget_user everywhere: every file of the data folder (Parquet, npz and checkpoints decoded) and the
Neo4j graph are searched for the user's id in its raw and normalised forms after forgetting.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import gnn
from ikg import InterestGraph
from kg.neo4j_store import Neo4jStore
from tests.reliability_support import world

pytestmark = [pytest.mark.models, pytest.mark.slow]

FAST_GNN = gnn.GnnConfig(epochs=8, eval_every=4, patience=1)
VICTIM = "victim-zq7"
NUMERIC = 8675309
NEEDLES = (VICTIM, str(NUMERIC))


def victim_events(data, offset: float) -> pd.DataFrame:
    items = sorted(data.items["item_id"])[:6]
    rows = []
    for n, item in enumerate(items):
        user = f" {VICTIM} " if n % 2 else VICTIM
        rows.append({"user_id": user, "item_id": item, "kind": "purchase", "ts": 1.7e9 + offset + n})
        rows.append({"user_id": NUMERIC, "item_id": item, "kind": "purchase", "ts": 1.7e9 + offset + n})
    rows.append(
        {
            "user_id": VICTIM,
            "item_id": items[0],
            "kind": "review",
            "ts": 1.7e9 + offset,
            "text": "Loved the space opera",
        }
    )
    rows.append({"user_id": f" {VICTIM} ", "item_id": "no-such-item", "kind": "view", "ts": 1.7e9 + offset})
    rows.append({"user_id": NUMERIC, "item_id": "no-such-item", "kind": "view", "ts": 1.7e9 + offset})
    return pd.DataFrame(rows)


def build(ig: InterestGraph) -> None:
    data = world(seed=8)
    ig.ingest_items(data.items)
    ig.ingest_events(data.events)
    ig.ingest_events(victim_events(data, 0))
    ig.refresh(progress=False)
    ig.ingest_events(victim_events(data, 1e5))
    ig.feedback(VICTIM, sorted(data.items["item_id"])[7], "dislike")
    ig.refresh(progress=False)
    ig.ingest_events(victim_events(data, 2e5))  # still in the inbox when forgotten
    state = ig.workdir.load_state()
    assert VICTIM in set(state.table("events")["user_id"]) and str(NUMERIC) in set(
        state.table("events")["user_id"]
    )
    assert len(ig.versions()) >= 2


def _texts(path: Path) -> list[str]:
    """The text a file holds, decoded where it is binary (Parquet, npz, torch checkpoints)."""
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        return [str(v) for col in frame.columns for v in frame[col].tolist()] + list(map(str, frame.columns))
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as arrays:
            return [
                str(v)
                for name in arrays.files
                if arrays[name].dtype.kind in "US"
                for v in arrays[name].ravel()
            ]
    if path.suffix == ".pt":
        payload = torch.load(path, map_location="cpu", weights_only=False)
        return [json.dumps({k: v for k, v in payload.items() if k != "state_dict"}, default=str)]
    return [path.read_bytes().decode("utf-8", errors="replace")]


def leftovers(folder: Path) -> list[str]:
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        for text in _texts(path):
            hits = [n for n in NEEDLES if n in text]
            if hits:
                found.append(f"{path.relative_to(folder)}: {hits} in {text[:120]!r}")
                break
    return found


def forget_and_check(ig: InterestGraph, folder: Path) -> dict:
    reader = InterestGraph(ig.store, folder) if not isinstance(ig.store, Neo4jStore) else ig
    assert VICTIM in reader.model().index.user_index
    assert leftovers(folder)  # the scan does find the id before forgetting
    removed = ig.forget_user(f" {VICTIM} ")
    removed_numeric = ig.forget_user(NUMERIC)
    assert removed["User"] >= 1 and removed["checkpoint_rows"] >= 1 and removed["quarantine_rows"] >= 1
    assert removed["inbox_events"] >= 1 and removed_numeric["User"] >= 1
    assert leftovers(folder) == []
    assert VICTIM not in reader.model().index.user_index  # a reader opened before reloads at once
    assert str(NUMERIC) not in ig.model().index.user_index
    ig.refresh(progress=False)
    assert leftovers(folder) == []
    return removed


def test_forget_user_leaves_nothing_in_the_embedded_data_folder(tmp_path):
    folder = tmp_path / "data"
    with InterestGraph.open(folder, gnn_config=FAST_GNN) as ig:
        build(ig)
        forget_and_check(ig, folder)


@pytest.mark.neo4j
def test_forget_user_leaves_nothing_in_neo4j_nor_the_state_folder(neo4j_store, tmp_path):
    folder = tmp_path / "state"
    ig = InterestGraph(neo4j_store, folder, gnn_config=FAST_GNN)
    build(ig)
    forget_and_check(ig, folder)
    with neo4j_store._driver.session(database=neo4j_store.config.database) as session:
        forms = [VICTIM, f" {VICTIM} ", str(NUMERIC), f"{NUMERIC}.0"]
        nodes = session.run(
            "MATCH (n) WHERE n.id IN $forms OR n.key IN $forms OR n.name IN $forms OR n.value IN $forms "
            "RETURN count(n) AS n",
            forms=forms,
        ).single()["n"]
        edges = session.run(
            "MATCH (u)-[r]->() WHERE u.id IN $forms RETURN count(r) AS n", forms=forms
        ).single()["n"]
    assert nodes == 0 and edges == 0
