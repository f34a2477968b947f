"""The graph model: node labels, relationship types and their properties.

This module is the single source of truth for every label, relationship type and
property name that reaches a store. Cypher text is built only from these names, never
from user strings, and `cypher/schema.cypher` documents the same contract for Neo4j users.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

TEXT_VECTOR_DIM = 384
"""Dimension of MiniLM text vectors (all-MiniLM-L6-v2)."""

GNN_VECTOR_DIM = 64
"""Dimension of the GNN user / item / concept vectors."""

# Property kinds: how a value is validated and how it is stored.
STR, FLOAT, INT, VECTOR, STR_LIST = "str", "float", "int", "vector", "str_list"


@dataclass(frozen=True)
class NodeType:
    """A node label, the property that identifies a node, and its other properties."""

    label: str
    key: str
    properties: Mapping[str, str] = field(default_factory=dict)

    def kind_of(self, prop: str) -> str | None:
        if prop == self.key:
            return STR
        return self.properties.get(prop)


@dataclass(frozen=True)
class EdgeType:
    """A relationship type with its source and target labels and its properties."""

    type: str
    source: str
    target: str
    properties: Mapping[str, str] = field(default_factory=dict)

    def kind_of(self, prop: str) -> str | None:
        return self.properties.get(prop)


_VECTOR_PROPS = {"embedding": VECTOR, "text_embedding": VECTOR, "model_version": STR}

NODE_TYPES: dict[str, NodeType] = {
    n.label: n
    for n in (
        NodeType("User", "id", {"name": STR, "first_ts": FLOAT, "last_ts": FLOAT, **_VECTOR_PROPS}),
        NodeType(
            "Item",
            "id",
            {
                "domain": STR,
                "title": STR,
                "description": STR,
                "categories": STR_LIST,
                "tags": STR_LIST,
                "popularity": FLOAT,
                **_VECTOR_PROPS,
            },
        ),
        NodeType("Domain", "name", {}),
        NodeType(
            "Concept",
            "key",
            {"name": STR, "aliases": STR_LIST, "df": INT, "origin": STR, **_VECTOR_PROPS},
        ),
        NodeType("Topic", "id", {"name": STR, "size": INT, "domains": STR_LIST, **_VECTOR_PROPS}),
    )
}

EDGE_TYPES: dict[str, EdgeType] = {
    e.type: e
    for e in (
        EdgeType(
            "INTERACTED",
            "User",
            "Item",
            {
                "kind": STR,
                "weight": FLOAT,
                "count": INT,
                "rating": FLOAT,
                "first_ts": FLOAT,
                "last_ts": FLOAT,
            },
        ),
        EdgeType(
            "INTERESTED_IN",
            "User",
            "Concept",
            {"weight": FLOAT, "source": STR, "updated": FLOAT, "domains": STR_LIST},
        ),
        EdgeType("HAS_CONCEPT", "Item", "Concept", {"weight": FLOAT, "source": STR}),
        EdgeType("IN_DOMAIN", "Item", "Domain", {}),
        EdgeType("IN_TOPIC", "Concept", "Topic", {"weight": FLOAT}),
        EdgeType("RELATED_TO", "Concept", "Concept", {"score": FLOAT}),
    )
}

SRC, DST = "src", "dst"
"""Column names that carry an edge's endpoint keys in edge batches and snapshots."""


class SchemaError(ValueError):
    """A label, relationship type or property that the graph model does not define."""


class BatchError(ValueError):
    """A batch that cannot be written; nothing of it was written.

    Carries the position of the first offending row so callers can point at it.
    """

    def __init__(self, what: str, row: int | None, reason: str, fix: str = "") -> None:
        self.what, self.row, self.reason, self.fix = what, row, reason, fix
        where = f" row {row}" if row is not None else ""
        hint = f" Fix: {fix}" if fix else ""
        super().__init__(f"{what}{where}: {reason}. Nothing of this batch was written.{hint}")


def is_missing(value: Any) -> bool:
    """None or NaN: a property value that means "not set"."""
    return value is None or (isinstance(value, float) and value != value)


def node_type(label: str) -> NodeType:
    """The node type for `label`, or a SchemaError naming the valid labels."""
    try:
        return NODE_TYPES[label]
    except KeyError:
        raise SchemaError(f"unknown node label {label!r}; valid labels: {sorted(NODE_TYPES)}") from None


def edge_type(rel: str) -> EdgeType:
    """The edge type for `rel`, or a SchemaError naming the valid types."""
    try:
        return EDGE_TYPES[rel]
    except KeyError:
        raise SchemaError(f"unknown relationship type {rel!r}; valid types: {sorted(EDGE_TYPES)}") from None


def _coerce(kind: str, value: Any) -> Any:
    """Return `value` as the stored form of `kind`, or raise TypeError/ValueError."""
    if kind == STR:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {type(value).__name__}")
        return value
    if kind == FLOAT:
        if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
            raise TypeError(f"expected a number, got {type(value).__name__}")
        out = float(value)
        if out != out:
            raise ValueError("NaN is not a valid value")
        return out
    if kind == INT:
        if isinstance(value, bool) or not hasattr(value, "__int__") or isinstance(value, str):
            raise TypeError(f"expected an integer, got {type(value).__name__}")
        if float(value) != int(value):
            raise ValueError(f"expected an integer, got {value!r}")
        return int(value)
    if kind == VECTOR:
        try:
            out = [float(x) for x in value]
        except TypeError:
            raise TypeError(f"expected a list of numbers, got {type(value).__name__}") from None
        return out
    if kind == STR_LIST:
        if isinstance(value, str) or not all(isinstance(x, str) for x in value):
            raise TypeError("expected a list of strings")
        return list(value)
    raise SchemaError(f"unknown property kind {kind!r}")


def validate_nodes(label: str, rows: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check and coerce a node batch; raise BatchError on the first bad row.

    Each row holds the node's key property and any subset of its other properties.
    A property whose value is None is left unchanged by an upsert.
    """
    nt = node_type(label)
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        key = row.get(nt.key)
        if not isinstance(key, str) or not key:
            raise BatchError(
                f"{label} batch", i, f"missing or empty key property {nt.key!r} (got {key!r})",
                f"give every {label} row a non-empty string {nt.key!r}",
            )
        clean: dict[str, Any] = {}
        for prop, value in row.items():
            kind = nt.kind_of(prop)
            if kind is None:
                raise BatchError(
                    f"{label} batch", i, f"unknown property {prop!r}",
                    f"use one of {sorted([nt.key, *nt.properties])}",
                )
            if value is None:
                continue
            try:
                clean[prop] = _coerce(kind, value)
            except (TypeError, ValueError) as exc:
                raise BatchError(f"{label} batch", i, f"property {prop!r}: {exc}") from None
        out.append(clean)
    return out


def validate_edges(rel: str, rows: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check and coerce an edge batch; each row has `src`, `dst` keys plus properties.

    Values already of the stored type take a fast path; others go through `_coerce`.
    """
    et = edge_type(rel)
    kinds: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        src, dst = row.get(SRC), row.get(DST)
        if type(src) is not str or type(dst) is not str or not src or not dst:
            end = SRC if type(src) is not str or not src else DST
            raise BatchError(
                f"{rel} batch", i, f"missing or empty endpoint {end!r} (got {row.get(end)!r})",
                f"give every row the {et.source if end == SRC else et.target} key as a string in {end!r}",
            )
        clean: dict[str, Any] = {SRC: src, DST: dst}
        for prop, value in row.items():
            if prop == SRC or prop == DST or value is None:
                if value is None and prop not in kinds and et.kind_of(prop) is None:
                    raise BatchError(f"{rel} batch", i, f"unknown property {prop!r}",
                                     f"use one of {sorted(et.properties)}")
                continue
            kind = kinds.get(prop)
            if kind is None:
                kind = et.kind_of(prop)
                if kind is None:
                    raise BatchError(f"{rel} batch", i, f"unknown property {prop!r}",
                                     f"use one of {sorted(et.properties)}")
                kinds[prop] = kind
            t = type(value)
            if (t is float and kind == FLOAT and value == value) or (t is str and kind == STR) \
                    or (t is int and kind == INT) or (t is list and kind == STR_LIST
                                                     and all(type(x) is str for x in value)):
                clean[prop] = value
                continue
            try:
                clean[prop] = _coerce(kind, value)
            except (TypeError, ValueError) as exc:
                raise BatchError(f"{rel} batch", i, f"property {prop!r}: {exc}") from None
        out.append(clean)
    return out
