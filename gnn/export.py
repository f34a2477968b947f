"""GraphSnapshot -> PyG `HeteroData`, with the key <-> index maps to come back.

Node types are the lowercased labels: `user`, `item`, `concept`, `topic`, `domain`.
Every relationship type of `kg.schema.EDGE_TYPES` becomes one edge type, named after the
relationship in lower case, plus its reverse (`rev_<name>`, endpoints swapped):

====================  ======================================  ======================
relationship          edge type                                `edge_weight` from
====================  ======================================  ======================
INTERACTED            (user, interacted, item)                 `weight` (may be < 0)
INTERESTED_IN         (user, interested_in, concept)           `weight`
HAS_CONCEPT           (item, has_concept, concept)             `weight`
IN_DOMAIN             (item, in_domain, domain)                1.0
IN_TOPIC              (concept, in_topic, topic)               `weight`
RELATED_TO            (concept, related_to, concept)           `score`
====================  ======================================  ======================

A missing or NaN weight is 1.0. Features: for each label with text (`Item`, `Concept`,
`Topic`, and `User` when given) `x` is the (n, 384) MiniLM matrix from `text_vectors[label]`
in node order; a node without a text vector gets a zero row and `has_text = False`.
`data["item"].domain` is the index of the item's domain node (-1 when it has none).

Nodes are numbered in snapshot order; an edge endpoint that is not among the snapshot's
nodes of its label is appended to that label's map (never dropped), so every key that
appears anywhere in the snapshot has an index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import HeteroData

from kg.schema import EDGE_TYPES, TEXT_VECTOR_DIM
from kg.store import GraphSnapshot

NODE_TYPE_OF: dict[str, str] = {
    "User": "user",
    "Item": "item",
    "Concept": "concept",
    "Topic": "topic",
    "Domain": "domain",
}
"""Graph label -> HeteroData node type."""

LABEL_OF: dict[str, str] = {v: k for k, v in NODE_TYPE_OF.items()}
TEXT_LABELS = ("Item", "Concept", "Topic")
"""Labels that always carry a text feature matrix `x` (zeros where no vector is given)."""


def edge_type_of(rel: str) -> tuple[str, str, str]:
    """The HeteroData edge type of a relationship type, e.g. INTERACTED -> (user, interacted, item)."""
    et = EDGE_TYPES[rel]
    return NODE_TYPE_OF[et.source], rel.lower(), NODE_TYPE_OF[et.target]


def reverse_of(edge: tuple[str, str, str]) -> tuple[str, str, str]:
    return edge[2], f"rev_{edge[1]}", edge[0]


@dataclass
class IdMaps:
    """Node keys per node type, in index order, and the inverse lookup."""

    keys: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._index = {nt: {k: i for i, k in enumerate(ks)} for nt, ks in self.keys.items()}

    def index(self, node_type: str) -> dict[str, int]:
        return self._index.setdefault(node_type, {})

    def add(self, node_type: str, key: str) -> int:
        """The index of `key`, appending it when new."""
        idx = self.index(node_type)
        if key not in idx:
            idx[key] = len(idx)
            self.keys.setdefault(node_type, []).append(key)
        return idx[key]

    def num(self, node_type: str) -> int:
        return len(self.keys.get(node_type, ()))

    def to_dict(self) -> dict[str, list[str]]:
        return {nt: list(ks) for nt, ks in self.keys.items()}

    @classmethod
    def from_dict(cls, keys: Mapping[str, list[str]]) -> IdMaps:
        return cls({nt: list(ks) for nt, ks in keys.items()})


def _edge_weights(frame: pd.DataFrame, rel: str) -> np.ndarray:
    column = "score" if rel == "RELATED_TO" else "weight"
    if column not in frame.columns:
        return np.ones(len(frame), dtype=np.float32)
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    return np.nan_to_num(values, nan=1.0).astype(np.float32)


def _indices(ids: IdMaps, node_type: str, keys: pd.Series) -> np.ndarray:
    for key in pd.unique(keys):
        ids.add(node_type, str(key))
    lookup = ids.index(node_type)
    return np.fromiter((lookup[str(k)] for k in keys), dtype=np.int64, count=len(keys))


def _features(
    keys: list[str], given: tuple[list[str], np.ndarray] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, d) float32 features in `keys` order and a bool mask of rows that had a vector."""
    dim = TEXT_VECTOR_DIM if given is None or given[1].ndim != 2 else given[1].shape[1]
    x = np.zeros((len(keys), dim), dtype=np.float32)
    has = np.zeros(len(keys), dtype=bool)
    if given is not None and len(given[0]):
        where = {k: i for i, k in enumerate(keys)}
        rows = [(where[k], j) for j, k in enumerate(given[0]) if k in where]
        if rows:
            dst, src = map(np.asarray, zip(*rows))
            x[dst] = np.asarray(given[1], dtype=np.float32)[src]
            has[dst] = True
    return torch.from_numpy(x), torch.from_numpy(has)


def _item_domains(snapshot: GraphSnapshot, ids: IdMaps) -> torch.Tensor:
    """Domain index per item: the IN_DOMAIN edge, else the item's `domain` property, else -1."""
    out = np.full(ids.num("item"), -1, dtype=np.int64)
    items = snapshot.nodes.get("Item")
    if items is not None and "domain" in items.columns:
        known = items[items["domain"].notna()]
        for key, dom in zip(known["key"], known["domain"]):
            out[ids.index("item")[key]] = ids.add("domain", str(dom))
    frame = snapshot.edge_frame("IN_DOMAIN")
    item_index, dom_index = ids.index("item"), ids.index("domain")
    for src, dst in zip(frame["src"], frame["dst"]):
        out[item_index[src]] = dom_index[dst]
    return torch.from_numpy(out)


def to_heterodata(
    snapshot: GraphSnapshot,
    text_vectors: Mapping[str, tuple[list[str], np.ndarray]],
) -> tuple[HeteroData, IdMaps]:
    """Export a snapshot as `HeteroData` (see the module docstring for the layout)."""
    ids = IdMaps({nt: [] for nt in NODE_TYPE_OF.values()})
    for label, nt in NODE_TYPE_OF.items():
        for key in snapshot.node_keys(label):
            ids.add(nt, str(key))
    data = HeteroData()
    for rel in EDGE_TYPES:
        frame = snapshot.edge_frame(rel)
        edge = edge_type_of(rel)
        src = _indices(ids, edge[0], frame["src"])
        dst = _indices(ids, edge[2], frame["dst"])
        weight = torch.from_numpy(_edge_weights(frame, rel))
        index = (
            torch.from_numpy(np.stack([src, dst])) if len(frame) else torch.zeros((2, 0), dtype=torch.long)
        )
        data[edge].edge_index = index
        data[edge].edge_weight = weight
        data[reverse_of(edge)].edge_index = index.flip(0)
        data[reverse_of(edge)].edge_weight = weight
    domains = _item_domains(snapshot, ids)
    for label, nt in NODE_TYPE_OF.items():
        data[nt].num_nodes = ids.num(nt)
        if label in TEXT_LABELS or label in text_vectors:
            data[nt].x, data[nt].has_text = _features(ids.keys[nt], text_vectors.get(label))
    data["item"].domain = domains
    return data, ids
