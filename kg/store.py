"""The store contract: what the pipeline needs from a graph store, whatever backs it.

Two stores implement it: `kg.embedded.EmbeddedStore` (in-process, persisted to a folder)
and `kg.neo4j_store.Neo4jStore` (a Neo4j 5.x server over Bolt). One contract test suite
(`tests/test_store_contract.py`) runs unchanged against both.

A batch to upsert is a list of dicts or a DataFrame with one column per property; in a
DataFrame a missing cell (None/NaN) means "not set" for that row, like a key left out of a dict.
Every write validates its whole batch first (see `kg.schema.validate_nodes` /
`validate_edges` and their DataFrame forms) and raises `kg.schema.BatchError` before anything
is written, so a bad batch never leaves half of itself behind. Upserts are idempotent: the
same batch twice gives the same graph.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

Direction = Literal["out", "in", "both"]


@dataclass(frozen=True)
class Neighbour:
    """One edge leaving or entering a node, with the node at its other end."""

    rel: str
    direction: Literal["out", "in"]
    label: str
    key: str
    node: Mapping[str, Any]
    edge: Mapping[str, Any]


@dataclass
class GraphSnapshot:
    """A whole-graph export for the GNN and for proximity, as DataFrames.

    `nodes[label]` has a `key` column and one column per stored property (vectors excluded);
    `edges[rel]` has `src` and `dst` key columns and one column per edge property. Rows are
    sorted by key (nodes) and by (src, dst) (edges), so every store exports the same graph
    in the same order and what is computed from it is reproducible.
    """

    nodes: dict[str, pd.DataFrame] = field(default_factory=dict)
    edges: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)

    def sorted(self) -> GraphSnapshot:
        """The same snapshot with rows in canonical order."""
        nodes = {
            k: f.sort_values("key", kind="stable").reset_index(drop=True) if len(f) else f
            for k, f in self.nodes.items()
        }
        edges = {
            k: f.sort_values(["src", "dst"], kind="stable").reset_index(drop=True) if len(f) else f
            for k, f in self.edges.items()
        }
        return GraphSnapshot(nodes, edges, dict(self.meta))

    def node_keys(self, label: str) -> list[str]:
        frame = self.nodes.get(label)
        return [] if frame is None else frame["key"].tolist()

    def edge_frame(self, rel: str) -> pd.DataFrame:
        frame = self.edges.get(rel)
        if frame is None:
            return pd.DataFrame({"src": pd.Series(dtype=str), "dst": pd.Series(dtype=str)})
        return frame


class GraphStore(abc.ABC):
    """Operations the pipeline needs from a graph store."""

    @abc.abstractmethod
    def upsert_nodes(self, label: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> int:
        """Create or update nodes by key; given properties are set, others kept. Returns rows written."""

    @abc.abstractmethod
    def upsert_edges(self, rel: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> int:
        """Create or update edges between existing nodes (`src`, `dst` keys). Returns rows written."""

    @abc.abstractmethod
    def replace_nodes(
        self,
        label: str,
        rows: Sequence[Mapping[str, Any]] | pd.DataFrame,
        added: Sequence[bool] | np.ndarray | None = None,
    ) -> int:
        """Create or update nodes so each ends with exactly the given row properties. Returns rows written.

        Row properties are `kg.schema.row_properties(label)`: one missing from a row is removed from
        the node; vector properties (written by `write_vectors`) and properties outside the graph
        model are left alone. `added[i]` says row i is known not to exist yet (from a diff against
        the store's content), so a store may create it without matching first.
        """

    @abc.abstractmethod
    def replace_edges(
        self,
        rel: str,
        rows: Sequence[Mapping[str, Any]] | pd.DataFrame,
        added: Sequence[bool] | np.ndarray | None = None,
    ) -> int:
        """Create or update edges so each ends with exactly the given properties; like `replace_nodes`."""

    @abc.abstractmethod
    def delete_edges(self, rel: str, pairs: Iterable[tuple[str, str]]) -> int:
        """Delete the edges of type `rel` between the given (src, dst) pairs. Returns how many existed."""

    @abc.abstractmethod
    def delete_nodes(self, label: str, keys: Iterable[str]) -> int:
        """Delete nodes and every edge touching them. Returns how many existed."""

    @abc.abstractmethod
    def get_nodes(self, label: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Properties (vectors excluded) of the nodes that exist among `keys`, by key."""

    @abc.abstractmethod
    def neighbourhood(
        self,
        label: str,
        key: str,
        rels: Sequence[str] | None = None,
        direction: Direction = "both",
        limit: int | None = None,
    ) -> list[Neighbour]:
        """The edges at one node (optionally only of `rels` and one direction), heaviest first."""

    @abc.abstractmethod
    def snapshot(self) -> GraphSnapshot:
        """Every node (without vectors) and edge, for the GNN and proximity."""

    @abc.abstractmethod
    def write_vectors(
        self,
        label: str,
        keys: Sequence[str],
        vectors: np.ndarray,
        prop: str = "embedding",
        model_version: str | None = None,
    ) -> int:
        """Store one vector per node under `prop` (and the model version that made it)."""

    @abc.abstractmethod
    def read_vectors(
        self, label: str, keys: Sequence[str] | None = None, prop: str = "embedding"
    ) -> tuple[list[str], np.ndarray]:
        """Keys that have a vector under `prop`, and those vectors as a float32 matrix."""

    @abc.abstractmethod
    def set_meta(self, key: str, value: str) -> None:
        """Record a marker (such as the active model version) in the store."""

    @abc.abstractmethod
    def get_meta(self, key: str) -> str | None:
        """A marker set by `set_meta`, or None."""

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """Number of nodes per label and edges per type (zero ones included)."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Remove every node, edge and marker the project wrote (and nothing else)."""

    def atomic(self) -> AbstractContextManager[None]:
        """A block whose writes become visible together or not at all (stores that need one override)."""
        return nullcontext()

    def flush(self) -> str | None:
        """Make written data durable (a no-op where every write already is); name what was written, if any."""
        return None

    def close(self) -> None:
        """Release connections and files."""

    def delete_user(self, user_id: str) -> dict[str, int]:
        """Remove a user, their edges, and concepts left with no user or item after that.

        Returns counts of what was removed. A missing user removes nothing.
        """
        touched = [n.key for n in self.neighbourhood("User", user_id, ["INTERESTED_IN"], "out")]
        removed = {"User": self.delete_nodes("User", [user_id])}
        orphans = [
            key
            for key in touched
            if not self.neighbourhood("Concept", key, ["INTERESTED_IN", "HAS_CONCEPT"], "in", limit=1)
        ]
        removed["Concept"] = self.delete_nodes("Concept", orphans)
        return removed

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
