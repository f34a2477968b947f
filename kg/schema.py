"""The graph model: node labels, relationship types and their properties.

This module is the single source of truth for every label, relationship type and
property name that reaches a store. Cypher text is built only from these names, never
from user strings, and `cypher/schema.cypher` documents the same contract for Neo4j users.

A batch is either a list of dicts or a DataFrame (one column per property). In a DataFrame a
missing cell (None/NaN) means "not set" for that row; well-typed columns are checked whole
(`validate_node_frame`, `validate_edge_frame`), anything else goes through the per-row checks,
so both forms accept and refuse the same rows with the same messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

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
        EdgeType(
            "LEADS_TO",
            "Concept",
            "Concept",
            {"weight": FLOAT, "support": INT, "source_domain": STR, "target_domain": STR},
        ),
    )
}

VECTOR_PROPERTIES = frozenset(_VECTOR_PROPS)
"""Node properties written by `write_vectors` (vectors and their model version), not by graph rows."""


def row_properties(name: str) -> list[str]:
    """The properties a graph row of a label or relationship type owns: all but key and vector ones.

    A row written with `replace_nodes` / `replace_edges` ends with exactly these properties set
    as given (a missing one is removed); vector properties and anything else are left alone.
    """
    if name in NODE_TYPES:
        return [p for p in NODE_TYPES[name].properties if p not in VECTOR_PROPERTIES]
    return list(edge_type(name).properties)


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
        if isinstance(value, bool) or (
            not isinstance(value, (int, float)) and not hasattr(value, "__float__")
        ):
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
            vector = [float(x) for x in value]
        except TypeError:
            raise TypeError(f"expected a list of numbers, got {type(value).__name__}") from None
        return vector
    if kind == STR_LIST:
        if isinstance(value, str) or not all(isinstance(x, str) for x in value):
            raise TypeError("expected a list of strings")
        return list(value)
    raise SchemaError(f"unknown property kind {kind!r}")


def validate_nodes(label: str, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
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
                f"{label} batch",
                i,
                f"missing or empty key property {nt.key!r} (got {key!r})",
                f"give every {label} row a non-empty string {nt.key!r}",
            )
        clean: dict[str, Any] = {}
        for prop, value in row.items():
            kind = nt.kind_of(prop)
            if kind is None:
                raise BatchError(
                    f"{label} batch",
                    i,
                    f"unknown property {prop!r}",
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


def validate_edges(rel: str, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
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
                f"{rel} batch",
                i,
                f"missing or empty endpoint {end!r} (got {row.get(end)!r})",
                f"give every row the {et.source if end == SRC else et.target} key as a string in {end!r}",
            )
        clean: dict[str, Any] = {SRC: src, DST: dst}
        for prop, value in row.items():
            if prop in (SRC, DST) or value is None:
                if value is None and prop not in kinds and et.kind_of(prop) is None:
                    raise BatchError(
                        f"{rel} batch", i, f"unknown property {prop!r}", f"use one of {sorted(et.properties)}"
                    )
                continue
            kind = kinds.get(prop)
            if kind is None:
                kind = et.kind_of(prop)
                if kind is None:
                    raise BatchError(
                        f"{rel} batch", i, f"unknown property {prop!r}", f"use one of {sorted(et.properties)}"
                    )
                kinds[prop] = kind
            t = type(value)
            if (
                (t is float and kind == FLOAT and value == value)
                or (t is str and kind == STR)
                or (t is int and kind == INT)
                or (t is list and kind == STR_LIST and all(type(x) is str for x in value))
            ):
                clean[prop] = value
                continue
            try:
                clean[prop] = _coerce(kind, value)
            except (TypeError, ValueError) as exc:
                raise BatchError(f"{rel} batch", i, f"property {prop!r}: {exc}") from None
        out.append(clean)
    return out


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as dicts of plain Python values without missing cells (they mean "not set").

    Built column-wise (`tolist` is bulk) because `to_dict("records")` is slow on Arrow strings.
    """
    columns = list(frame.columns)
    if not columns:
        return [{} for _ in range(len(frame))]
    rows = [dict(zip(columns, row)) for row in zip(*(frame[c].tolist() for c in columns))]
    for column in columns:
        missing = frame[column].isna().to_numpy()
        if missing.any():
            for i in np.flatnonzero(missing).tolist():
                del rows[i][column]
    return rows


def validate_node_frame(label: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Check and coerce a node batch given as a DataFrame; same rules and errors as `validate_nodes`."""
    nt = node_type(label)
    return _validate_frame(
        frame, [nt.key], nt.kind_of, exact=False, by_rows=lambda: validate_nodes(label, frame_records(frame))
    )


def validate_edge_frame(rel: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Check and coerce an edge batch given as a DataFrame; same rules and errors as `validate_edges`."""
    et = edge_type(rel)
    return _validate_frame(
        frame, [SRC, DST], et.kind_of, exact=True, by_rows=lambda: validate_edges(rel, frame_records(frame))
    )


def _validate_frame(
    frame: pd.DataFrame,
    keys: list[str],
    kind_of: Callable[[str], str | None],
    exact: bool,
    by_rows: Callable[[], list[dict[str, Any]]],
) -> pd.DataFrame:
    """Whole-column checks; a frame they cannot vouch for is validated row by row (the reference)."""
    frame = frame.reset_index(drop=True)
    columns: dict[str, pd.Series] = {}
    for name in frame.columns:
        kind = STR if name in keys else kind_of(name)
        column = _clean_column(frame[name], kind, name in keys, exact) if kind is not None else None
        if column is None:
            return _typed_frame(pd.DataFrame(by_rows()), keys, kind_of)
        if name in keys or column.notna().any():
            columns[name] = column
    if any(k not in columns for k in keys) and len(frame):
        return _typed_frame(pd.DataFrame(by_rows()), keys, kind_of)
    return pd.DataFrame(columns) if columns else pd.DataFrame({k: pd.Series(dtype=object) for k in keys})


def _typed_frame(frame: pd.DataFrame, keys: list[str], kind_of: Callable[[str], str | None]) -> pd.DataFrame:
    """Rows already coerced one by one, as a frame with the column types of the fast path."""
    if frame.empty:
        return pd.DataFrame({k: pd.Series(dtype=object) for k in keys})
    out = {}
    for name in frame.columns:
        kind = STR if name in keys else (kind_of(name) or STR)
        out[name] = _clean_column(frame[name], kind, name in keys, exact=False, coerced=True)
    return pd.DataFrame(out)


def _clean_column(
    column: pd.Series, kind: str, is_key: bool, exact: bool, coerced: bool = False
) -> pd.Series | None:
    """The column in its stored dtype, or None when a whole-column check cannot vouch for every cell."""
    given = column.notna()
    if is_key:
        ok = bool(given.all()) and _all_strings(column, exact) and not (column == "").any()
        return column if ok else None
    if not given.any():
        return column
    if kind == STR:
        return column if _all_strings(column[given], exact=False) else None
    if kind == FLOAT:
        return _float_column(column) if coerced or _is_number_dtype(column) else None
    if kind == INT:
        return _int_column(column)
    if kind == STR_LIST:
        return column.astype(object) if _all_string_lists(column[given]) else None
    if kind == VECTOR:
        return column.astype(object) if coerced else None
    return None


def _all_strings(column: pd.Series, exact: bool) -> bool:
    """Every cell is a str (exactly `str` when `exact`, as edge endpoints require)."""
    if pd.api.types.is_string_dtype(column.dtype) and not pd.api.types.is_object_dtype(column.dtype):
        return True
    types = set(map(type, column.tolist()))
    return types <= {str} or (not exact and all(issubclass(t, str) for t in types))


def _all_string_lists(column: pd.Series) -> bool:
    values = column.tolist()
    return set(map(type, values)) <= {list} and set(map(type, chain.from_iterable(values))) <= {str}


def _is_number_dtype(column: pd.Series) -> bool:
    dtype = column.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _float_column(column: pd.Series) -> pd.Series:
    return pd.Series(column.to_numpy(dtype="float64", na_value=np.nan), name=column.name)


def _int_column(column: pd.Series) -> pd.Series | None:
    """Integers as a nullable Int64 column; None when a cell is not a whole number."""
    if pd.api.types.is_integer_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return column.astype("Int64")
    if pd.api.types.is_float_dtype(column.dtype):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        given = values[~np.isnan(values)]
        if np.isfinite(given).all() and (given == np.floor(given)).all():
            return column.astype("Int64")
        return None
    if pd.api.types.is_object_dtype(column.dtype) and set(map(type, column.dropna().tolist())) <= {int}:
        return column.astype("Int64")
    return None
