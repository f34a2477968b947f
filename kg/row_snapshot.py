"""Graph rows <-> store snapshots, so a version's graph can be served from the version itself.

A refresh keeps the node and edge rows it wrote (`rows_<Label>` tables of the version's state);
`snapshot_from_rows` turns them into the same `GraphSnapshot` a store would export after
those rows were written (it writes them into an in-memory EmbeddedStore, which applies the
store's own validation and export rules). Serving and training from it means a version never
pairs its vectors with another version's graph, whatever the live store holds.

`rows_from_snapshot` goes the other way: what a store really holds, in row form, so a refresh
can diff against the store itself when the store and the active version disagree (a refresh
killed after its store commit, a rollback, a full rebuild).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from kg.builder import EDGE_ORDER, NODE_ORDER
from kg.schema import EDGE_TYPES, NODE_TYPES, node_type, row_properties
from kg.store import GraphSnapshot


def _usable(frame: pd.DataFrame | None) -> bool:
    return frame is not None and len(frame) > 0 and "_empty" not in frame


def snapshot_from_rows(
    nodes: Mapping[str, pd.DataFrame],
    edges: Mapping[str, pd.DataFrame],
    meta: Mapping[str, str] | None = None,
) -> GraphSnapshot:
    """The snapshot a store exports after these node and edge rows were written to an empty store."""
    from kg.embedded import EmbeddedStore

    store = EmbeddedStore(None)
    for label in NODE_ORDER:
        if _usable(nodes.get(label)):
            store.upsert_nodes(label, nodes[label])
    for rel in EDGE_ORDER:
        if _usable(edges.get(rel)):
            store.upsert_edges(rel, edges[rel])
    for key, value in (meta or {}).items():
        store.set_meta(key, value)
    return store.snapshot()


def snapshot_from_tables(
    tables: Mapping[str, pd.DataFrame], meta: Mapping[str, str] | None = None
) -> GraphSnapshot:
    """`snapshot_from_rows` over a version's `rows_<Label>` / `rows_<REL>` tables."""
    nodes = {label: tables.get(f"rows_{label}") for label in NODE_TYPES}
    edges = {rel: tables.get(f"rows_{rel}") for rel in EDGE_TYPES}
    return snapshot_from_rows(
        {k: v for k, v in nodes.items() if v is not None},
        {k: v for k, v in edges.items() if v is not None},
        meta,
    )


def has_rows(tables: Mapping[str, pd.DataFrame]) -> bool:
    """Whether a version's tables carry its graph rows (versions written by refresh do)."""
    return all(f"rows_{name}" in tables for name in (*NODE_TYPES, *EDGE_TYPES))


def rows_from_snapshot(snapshot: GraphSnapshot, like: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """What a store holds, as row tables with the columns of `like` (per label/type), for `diff_rows`.

    Row properties the store holds beyond `like`'s columns are kept too, so a diff sees (and a
    replace removes) a property the new rows no longer have; properties outside the model are not.
    """
    out: dict[str, pd.DataFrame] = {}
    for label in NODE_TYPES:
        frame = snapshot.nodes.get(label)
        if frame is None or not len(frame):
            out[label] = pd.DataFrame()
            continue
        key = node_type(label).key
        frame = frame.rename(columns={"key": key})
        wanted = list(like[label].columns) if label in like and len(like[label].columns) else [key]
        wanted += [p for p in row_properties(label) if p not in wanted]
        out[label] = frame[[c for c in wanted if c in frame]].reset_index(drop=True)
    for rel in EDGE_TYPES:
        frame = snapshot.edges.get(rel)
        if frame is None or not len(frame):
            out[rel] = pd.DataFrame()
            continue
        wanted = list(like[rel].columns) if rel in like and len(like[rel].columns) else ["src", "dst"]
        wanted += [p for p in row_properties(rel) if p not in wanted]
        out[rel] = frame[[c for c in wanted if c in frame]].reset_index(drop=True)
    return out
