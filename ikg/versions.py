"""Bringing a graph store to exactly one version's graph (rollback on a server store).

The version's own rows (`rows_<Label>` tables) and vectors (arrays) are the truth; the store's
content is diffed against them and the difference is written in one atomic block, so the
store ends holding that version and nothing else, and a failure leaves it as it was.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ikg.workdir import State
from kg import builder
from kg.row_snapshot import has_rows, rows_from_snapshot
from kg.schema import EDGE_TYPES, NODE_TYPES
from kg.store import GraphStore


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame() if frame.empty or "_empty" in frame else frame


def project_state(store: GraphStore, state: State) -> dict[str, int]:
    """Make `store` hold exactly the graph (and vectors) of `state`; return counts written."""
    if not has_rows(state.tables):
        raise ValueError(f"version {state.version} has no graph rows; it cannot be projected into a store")
    wanted = builder.GraphRows(
        nodes={label: _rows(state.table(f"rows_{label}")) for label in NODE_TYPES},
        edges={rel: _rows(state.table(f"rows_{rel}")) for rel in EDGE_TYPES},
    )
    have = rows_from_snapshot(store.snapshot(), {**wanted.nodes, **wanted.edges})
    changed, removed = builder.GraphRows(), builder.GraphRows()
    for name in (*NODE_TYPES, *EDGE_TYPES):
        kind = "nodes" if name in NODE_TYPES else "edges"
        new = getattr(wanted, kind)[name]
        ignore = ["updated"] if name == "INTERESTED_IN" else []
        diff, gone = builder.diff_rows(have[name], new, ignore=ignore)
        getattr(changed, kind)[name] = diff
        changed.added[name] = builder.added_mask(have[name], diff)
        getattr(removed, kind)[name] = gone
    with store.atomic():
        written = builder.write_graph(store, changed, removed)
        _write_vectors(store, state)
        store.set_meta("active_version", str(state.version))
    store.flush()
    return written


def _write_vectors(store: GraphStore, state: State) -> None:
    items = state.table("items")
    if "item_text" in state.arrays and len(items) == len(state.arrays["item_text"]):
        store.write_vectors(
            "Item", items["item_id"].tolist(), state.arrays["item_text"], prop="text_embedding"
        )
    concepts = state.table("concepts")
    kept = set(_rows(state.table("rows_Concept")).get("key", pd.Series(dtype=str)))
    vectors = state.arrays.get("concept_vectors")
    if vectors is not None and len(concepts) == len(vectors):
        rows = [i for i, k in enumerate(concepts["key"]) if k in kept]
        if rows:
            store.write_vectors(
                "Concept", [concepts["key"].iloc[i] for i in rows], vectors[rows], prop="text_embedding"
            )
    model_version = str(state.meta.get("gnn", {}).get("model_version") or state.version)
    for label in NODE_TYPES:
        keys, matrix = state.arrays.get(f"gnn_{label}_keys"), state.arrays.get(f"gnn_{label}")
        if keys is None or matrix is None or not len(keys):
            continue
        present = (
            set(_rows(state.table(f"rows_{label}")).iloc[:, 0])
            if len(state.table(f"rows_{label}"))
            else set()
        )
        mask = np.array([str(k) in present for k in keys])
        if mask.any():
            store.write_vectors(
                label,
                [str(k) for k in keys[mask]],
                matrix[mask],
                prop="embedding",
                model_version=model_version,
            )
