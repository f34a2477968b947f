"""An in-process graph store persisted to a folder: the quick-start default.

Each node label and each relationship type is one columnar table (a DataFrame with a `key`
column, or `src` and `dst` columns, and one column per property; a missing cell means "not
set"), so a batch of a hundred thousand rows is validated, checked and merged with whole-column
operations. Key lookups and adjacency are built on demand and dropped when the table changes.
`flush()` writes the whole graph as Parquet files into a new generation folder and then
switches the `CURRENT` pointer with an atomic rename, so a reader that opens the folder sees
either the previous or the new graph, never a mix, and a crash mid-write leaves the previous
generation in place.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kg.schema import (
    EDGE_TYPES,
    FLOAT,
    INT,
    NODE_TYPES,
    STR_LIST,
    VECTOR,
    BatchError,
    edge_type,
    frame_records,
    node_type,
    row_properties,
    validate_edge_frame,
    validate_edges,
    validate_node_frame,
    validate_nodes,
)
from kg.store import Direction, GraphSnapshot, GraphStore, Neighbour

log = logging.getLogger(__name__)

_POINTER = "CURRENT"
_KEEP_GENERATIONS = 2
_NODE_KEYS = ["key"]
_EDGE_KEYS = ["src", "dst"]


def _is_vector_prop(label: str, prop: str) -> bool:
    return node_type(label).kind_of(prop) == VECTOR


class _Table:
    """The rows of one label or relationship type as columns, with lookups built on demand."""

    def __init__(self, keys: list[str], frame: pd.DataFrame | None = None) -> None:
        self.keys = keys
        self.frame = frame if frame is not None else pd.DataFrame({k: pd.Series(dtype=object) for k in keys})
        self._lookup: pd.Index | None = None
        self._by: dict[str, dict[Any, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.frame)

    def positions(self, keys: pd.Index) -> np.ndarray:
        """Row position of each key (or key pair) in `keys`, -1 where absent."""
        if self._lookup is None:
            self._lookup = _key_index(self.frame, self.keys)
        return self._lookup.get_indexer(keys)

    def rows_with(self, column: str, value: str) -> np.ndarray:
        """Positions of the rows whose `column` equals `value` (an adjacency list)."""
        if column not in self._by:
            self._by[column] = self.frame.groupby(column, sort=False).indices if len(self.frame) else {}
        return self._by[column].get(value, np.zeros(0, dtype=np.int64))

    def upsert(self, batch: pd.DataFrame, exact: Sequence[str] = ()) -> None:
        """Set the given cells of existing rows, keep their other cells, append new rows.

        Columns in `exact` end as given: a cell the batch leaves missing is cleared in an existing row.
        """
        batch = _merge_duplicates(batch, self.keys)
        if not len(self.frame):
            self._replace(batch.reset_index(drop=True))
            return
        pos = self.positions(_key_index(batch, self.keys))
        fresh = pos < 0
        self._update(pos[~fresh], batch[~fresh])
        self._clear_missing(pos[~fresh], batch[~fresh], exact)
        if fresh.any():
            self._replace(pd.concat([self.frame, batch[fresh]], ignore_index=True))

    def _update(self, pos: np.ndarray, rows: pd.DataFrame) -> None:
        for name in rows.columns.difference(self.keys, sort=False):
            given = rows[name].notna().to_numpy()
            if not given.any():
                continue
            if name not in self.frame:
                self.frame[name] = pd.Series(index=self.frame.index, dtype=rows[name].dtype)
            column = self.frame.columns.get_loc(name)
            self.frame.iloc[pos[given], column] = _cells(rows[name][given])

    def _clear_missing(self, pos: np.ndarray, rows: pd.DataFrame, exact: Sequence[str]) -> None:
        for name in exact:
            if name not in self.frame:
                continue
            gone = rows[name].isna().to_numpy() if name in rows else np.ones(len(rows), dtype=bool)
            if gone.any():
                self.frame.iloc[pos[gone], self.frame.columns.get_loc(name)] = None

    def delete(self, pos: np.ndarray) -> int:
        """Drop the rows at `pos` (ignoring -1); return how many there were."""
        pos = np.unique(pos[pos >= 0])
        if len(pos):
            keep = np.ones(len(self.frame), dtype=bool)
            keep[pos] = False
            self._replace(self.frame[keep].reset_index(drop=True))
        return len(pos)

    def set_cells(self, name: str, pos: np.ndarray, values: np.ndarray) -> None:
        """Write one column's cells at `pos` (vectors, markers); strings end as a string column."""
        if name in self.frame:
            column = self.frame[name].to_numpy(dtype=object, na_value=None, copy=True)
        else:
            column = np.full(len(self.frame), None, dtype=object)
        column[pos] = values
        self.frame[name] = pd.Series(column, index=self.frame.index, dtype=object).infer_objects()

    def _replace(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._lookup = None
        self._by = {}


def _key_index(frame: pd.DataFrame, keys: list[str]) -> pd.Index:
    if len(keys) == 1:
        return pd.Index(frame[keys[0]])
    return pd.MultiIndex.from_arrays([frame[k] for k in keys])


def _isin(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Which `values` are among `keys`: one factorize of both (`Series.isin` is slow on Arrow strings)."""
    codes, uniques = pd.factorize(pd.concat([keys, values], ignore_index=True))
    known = np.zeros(len(uniques) + 1, dtype=bool)
    known[codes[: len(keys)]] = True
    return known[codes[len(keys) :]]


def _merge_duplicates(batch: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per key: later rows of a batch update earlier ones, as separate upserts would."""
    if not batch.duplicated(keys).any():
        return batch
    return batch.groupby(keys, sort=False, as_index=False, dropna=False).last()


def _cells(column: pd.Series) -> Any:
    """A column's values in a form `iloc` assigns cell by cell (lists and arrays stay whole)."""
    if pd.api.types.is_object_dtype(column.dtype):
        return _object_array(column.tolist())
    return column.array


def _object_array(values: Sequence[Any]) -> np.ndarray:
    """An object array holding each value as one cell (numpy would unpack equal-length lists)."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        out[i] = value
    return out


class EmbeddedStore(GraphStore):
    """A graph store held in memory and persisted as Parquet generations under `path`.

    `path=None` gives a purely in-memory store (used by tests and benchmarks).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        generation: str | None = None,
        prune: bool = True,
    ) -> None:
        """Open the generation `CURRENT` points at, or the named `generation` (e.g. "graph-000007").

        `prune=False` leaves old generations alone (the InterestGraph's version manager
        decides which ones its kept versions still need).
        """
        self.path = Path(path) if path is not None else None
        self.generation: str | None = None
        self._prune_old = prune
        self._nodes: dict[str, _Table] = {label: _Table(_NODE_KEYS) for label in NODE_TYPES}
        self._edges: dict[str, _Table] = {rel: _Table(_EDGE_KEYS) for rel in EDGE_TYPES}
        self._meta: dict[str, str] = {}
        self._dirty = False
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
            self._load(generation)

    # ---- writes -------------------------------------------------------------------------
    def upsert_nodes(self, label: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> int:
        nt = node_type(label)
        batch = _node_batch(label, rows).rename(columns={nt.key: "key"})
        if len(batch):
            self._nodes[label].upsert(_stored(batch, nt.kind_of))
            self._dirty = True
        return len(batch)

    def replace_nodes(
        self,
        label: str,
        rows: Sequence[Mapping[str, Any]] | pd.DataFrame,
        added: Sequence[bool] | np.ndarray | None = None,
    ) -> int:
        nt = node_type(label)
        batch = _node_batch(label, rows).rename(columns={nt.key: "key"})
        if len(batch):
            self._nodes[label].upsert(_stored(batch, nt.kind_of), exact=row_properties(label))
            self._dirty = True
        return len(batch)

    def replace_edges(
        self,
        rel: str,
        rows: Sequence[Mapping[str, Any]] | pd.DataFrame,
        added: Sequence[bool] | np.ndarray | None = None,
    ) -> int:
        return self._put_edges(rel, rows, row_properties(rel))

    def upsert_edges(self, rel: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> int:
        return self._put_edges(rel, rows, ())

    def _put_edges(
        self, rel: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame, exact: Sequence[str]
    ) -> int:
        """Upsert edges; properties in `exact` end as given (cleared where a row leaves them missing)."""
        et = edge_type(rel)
        batch = _edge_batch(rel, rows)
        if not len(batch):
            return 0
        missing_src = ~_isin(batch["src"], self._nodes[et.source].frame["key"])
        missing_dst = ~_isin(batch["dst"], self._nodes[et.target].frame["key"])
        bad = np.flatnonzero(missing_src | missing_dst)
        if len(bad):
            i = int(bad[0])
            label, end = (et.source, "src") if missing_src[i] else (et.target, "dst")
            raise BatchError(
                f"{rel} batch",
                i,
                f"{label} {batch[end].iloc[i]!r} does not exist",
                f"upsert the {label} nodes before their edges",
            )
        self._edges[rel].upsert(_stored(batch, et.kind_of), exact=exact)
        self._dirty = True
        return len(batch)

    def delete_edges(self, rel: str, pairs: Iterable[tuple[str, str]]) -> int:
        edge_type(rel)
        pairs = list(pairs)
        table = self._edges[rel]
        if not pairs or not len(table):
            return 0
        removed = table.delete(table.positions(pd.MultiIndex.from_tuples(pairs)))
        self._dirty = self._dirty or removed > 0
        return removed

    def delete_nodes(self, label: str, keys: Iterable[str]) -> int:
        node_type(label)
        keys = list(keys)
        table = self._nodes[label]
        if not keys or not len(table):
            return 0
        pos = table.positions(pd.Index(keys, dtype=object))
        gone = table.frame["key"].take(pos[pos >= 0])
        removed = table.delete(pos)
        for rel, et in EDGE_TYPES.items():
            edges = self._edges[rel]
            touching = np.zeros(len(edges), dtype=bool)
            if et.source == label:
                touching |= _isin(edges.frame["src"], gone)
            if et.target == label:
                touching |= _isin(edges.frame["dst"], gone)
            edges.delete(np.flatnonzero(touching))
        self._dirty = self._dirty or removed > 0
        return removed

    def write_vectors(
        self,
        label: str,
        keys: Sequence[str],
        vectors: np.ndarray,
        prop: str = "embedding",
        model_version: str | None = None,
    ) -> int:
        if not _is_vector_prop(label, prop):
            raise BatchError(f"{label} vectors", None, f"{prop!r} is not a vector property of {label}")
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(keys):
            raise BatchError(
                f"{label} vectors",
                None,
                f"expected a matrix with {len(keys)} rows, got shape {vectors.shape}",
            )
        table = self._nodes[label]
        pos = table.positions(pd.Index(list(keys), dtype=object)) if len(keys) else np.zeros(0, np.int64)
        if (pos < 0).any():
            i = int(np.flatnonzero(pos < 0)[0])
            raise BatchError(f"{label} vectors", i, f"{label} {keys[i]!r} does not exist")
        if not len(keys):
            return 0
        table.set_cells(prop, pos, _object_array(list(vectors)))
        if model_version is not None:
            table.set_cells("model_version", pos, np.full(len(pos), model_version, dtype=object))
        self._dirty = True
        return len(keys)

    def set_meta(self, key: str, value: str) -> None:
        self._meta[key] = str(value)
        self._dirty = True

    def clear(self) -> None:
        self._nodes = {label: _Table(_NODE_KEYS) for label in NODE_TYPES}
        self._edges = {rel: _Table(_EDGE_KEYS) for rel in EDGE_TYPES}
        self._meta.clear()
        self._dirty = True

    # ---- reads --------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        return self._meta.get(key)

    def get_nodes(self, label: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        node_type(label)
        keys = list(keys)
        table = self._nodes[label]
        if not keys or not len(table):
            return {}
        pos = table.positions(pd.Index(keys, dtype=object))
        return dict(zip((k for k, p in zip(keys, pos) if p >= 0), self._node_props(label, pos[pos >= 0])))

    def _node_props(self, label: str, pos: np.ndarray) -> list[dict[str, Any]]:
        """Properties (vectors excluded) of the nodes at `pos`, as plain dicts."""
        frame = self._nodes[label].frame
        columns = [c for c in frame.columns if c != "key" and not _is_vector_prop(label, c)]
        return _plain_records(frame[columns].take(pos))

    def neighbourhood(
        self,
        label: str,
        key: str,
        rels: Sequence[str] | None = None,
        direction: Direction = "both",
        limit: int | None = None,
    ) -> list[Neighbour]:
        node_type(label)
        found: list[Neighbour] = []
        for rel in rels or list(EDGE_TYPES):
            et = edge_type(rel)
            if direction in ("out", "both") and et.source == label:
                found.extend(self._neighbours(rel, "out", key))
            if direction in ("in", "both") and et.target == label:
                found.extend(self._neighbours(rel, "in", key))
        found.sort(
            key=lambda n: (-float(n.edge.get("weight", n.edge.get("score", 0.0)) or 0.0), n.rel, n.key)
        )
        return found[:limit] if limit is not None else found

    def _neighbours(self, rel: str, direction: str, key: str) -> list[Neighbour]:
        """The `rel` edges leaving (`out`) or entering (`in`) the node `key`, with the other ends."""
        et = EDGE_TYPES[rel]
        here, there, label = ("src", "dst", et.target) if direction == "out" else ("dst", "src", et.source)
        table = self._edges[rel]
        pos = table.rows_with(here, key)
        if not len(pos):
            return []
        others = table.frame[there].take(pos).tolist()
        edges = _plain_records(table.frame.take(pos).drop(columns=_EDGE_KEYS))
        node_pos = self._nodes[label].positions(pd.Index(others, dtype=object))
        nodes = self._node_props(label, node_pos)
        return [
            Neighbour(rel, direction, label, other, node, edge)  # type: ignore[arg-type]
            for other, node, edge in zip(others, nodes, edges)
        ]

    def snapshot(self) -> GraphSnapshot:
        nodes = {}
        for label, table in self._nodes.items():
            columns = [c for c in table.frame.columns if not _is_vector_prop(label, c)]
            nodes[label] = _export(table.frame[columns])
        edges = {rel: _export(table.frame) for rel, table in self._edges.items()}
        return GraphSnapshot(nodes=nodes, edges=edges, meta=dict(self._meta)).sorted()

    def read_vectors(
        self, label: str, keys: Sequence[str] | None = None, prop: str = "embedding"
    ) -> tuple[list[str], np.ndarray]:
        node_type(label)
        frame = self._nodes[label].frame
        if prop not in frame or not len(frame):
            return [], np.zeros((0, 0), dtype=np.float32)
        if keys is None:
            pos = np.arange(len(frame))
        else:
            pos = self._nodes[label].positions(pd.Index(list(keys), dtype=object))
            pos = pos[pos >= 0]
        cells = frame[prop].take(pos)
        has = cells.notna().to_numpy()
        if not has.any():
            return [], np.zeros((0, 0), dtype=np.float32)
        found = frame["key"].take(pos[has]).tolist()
        return found, np.stack([np.asarray(v, dtype=np.float32) for v in cells[has].tolist()])

    def counts(self) -> dict[str, int]:
        out = {label: len(t) for label, t in self._nodes.items()}
        out.update({rel: len(t) for rel, t in self._edges.items()})
        return out

    # ---- persistence --------------------------------------------------------------------
    def flush(self) -> str | None:
        """Write a new generation folder, switch `CURRENT` to it atomically; return its name."""
        if self.path is None or not self._dirty:
            return self.generation
        numbers = [int(p.name.rsplit("-", 1)[1]) for p in self.path.glob("graph-*") if p.is_dir()]
        generation = max([self._current_generation() or 0, *numbers]) + 1
        target = self.path / f"graph-{generation:06d}"
        staging = self.path / f".staging-{generation:06d}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        staging.mkdir()
        for label, table in self._nodes.items():
            vectors = [c for c in table.frame.columns if _is_vector_prop(label, c)]
            _write_table(staging / f"node-{label}.parquet", table.frame, vectors)
        for rel, table in self._edges.items():
            _write_table(staging / f"edge-{rel}.parquet", table.frame, [])
        (staging / "meta.json").write_text(json.dumps(self._meta, sort_keys=True))
        os.replace(staging, target)
        pointer_tmp = self.path / f".{_POINTER}.{os.getpid()}-{uuid.uuid4().hex[:6]}.tmp"
        pointer_tmp.write_text(target.name)
        os.replace(pointer_tmp, self.path / _POINTER)
        self._dirty = False
        self.generation = target.name
        if self._prune_old:
            self._prune(keep=target.name)
        log.info("embedded store: wrote generation %s (%s)", target.name, self.counts())
        return target.name

    def rewrite_generation(self) -> None:
        """Write the tables back into this store's own generation folder (staged, then swapped).

        Used to purge data (forgetting a user) from generations kept for rollback; a reader
        loading that generation meanwhile may miss the folder for an instant and retries.
        """
        if self.path is None or self.generation is None:
            raise ValueError("rewrite_generation needs a store opened from a generation folder")
        target = self.path / self.generation
        staging = self.path / f".staging-{self.generation}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        staging.mkdir()
        for label, table in self._nodes.items():
            vectors = [c for c in table.frame.columns if _is_vector_prop(label, c)]
            _write_table(staging / f"node-{label}.parquet", table.frame, vectors)
        for rel, table in self._edges.items():
            _write_table(staging / f"edge-{rel}.parquet", table.frame, [])
        (staging / "meta.json").write_text(json.dumps(self._meta, sort_keys=True))
        trash = self.path / f".staging-trash-{uuid.uuid4().hex[:6]}"
        os.replace(target, trash)
        os.replace(staging, target)
        shutil.rmtree(trash, ignore_errors=True)
        self._dirty = False

    def generations(self) -> list[str]:
        """Names of the generation folders on disk, oldest first."""
        return sorted(p.name for p in self.path.glob("graph-*") if p.is_dir()) if self.path else []

    def remove_generations(self, keep: set[str]) -> list[str]:
        """Delete generation folders not in `keep` (nor CURRENT's nor this store's), and staging leftovers."""
        if self.path is None:
            return []
        current = self._current_generation()
        keep = {*keep, *(g for g in (self.generation, f"graph-{current:06d}" if current else None) if g)}
        gone = [name for name in self.generations() if name not in keep]
        for name in gone:
            shutil.rmtree(self.path / name, ignore_errors=True)
        for staging in self.path.glob(".staging-*"):
            shutil.rmtree(staging, ignore_errors=True)
        return gone

    def close(self) -> None:
        self.flush()

    def _current_generation(self) -> int | None:
        pointer = self.path / _POINTER if self.path else None
        if pointer is None or not pointer.exists():
            return None
        return int(pointer.read_text().strip().rsplit("-", 1)[1])

    def _prune(self, keep: str) -> None:
        assert self.path is not None, "only a stored graph has generations"
        generations = sorted(p for p in self.path.glob("graph-*") if p.is_dir())
        for old in generations[:-_KEEP_GENERATIONS]:
            if old.name != keep:
                shutil.rmtree(old, ignore_errors=True)

    def _load(self, name: str | None = None) -> None:
        if self.path is None:
            return
        if name is None:
            generation = self._current_generation()
            if generation is None:
                return
            name = f"graph-{generation:06d}"
        folder = self.path / name
        if not folder.is_dir():
            raise FileNotFoundError(f"embedded store: generation {name} is missing in {self.path}")
        self.generation = name
        for label in NODE_TYPES:
            file = folder / f"node-{label}.parquet"
            if file.exists():
                self._nodes[label] = _Table(_NODE_KEYS, _read_table(file, node_type(label).kind_of))
        for rel in EDGE_TYPES:
            file = folder / f"edge-{rel}.parquet"
            if file.exists():
                self._edges[rel] = _Table(_EDGE_KEYS, _read_table(file, edge_type(rel).kind_of))
        meta = folder / "meta.json"
        if meta.exists():
            self._meta = json.loads(meta.read_text())
        log.info("embedded store: opened %s (%s)", folder, self.counts())


def _node_batch(label: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """A validated node batch as a frame, whichever form it came in."""
    if isinstance(rows, pd.DataFrame):
        return validate_node_frame(label, rows)
    return validate_node_frame(label, pd.DataFrame(validate_nodes(label, list(rows))))


def _edge_batch(rel: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """A validated edge batch as a frame, whichever form it came in."""
    if isinstance(rows, pd.DataFrame):
        return validate_edge_frame(rel, rows)
    return validate_edge_frame(rel, pd.DataFrame(validate_edges(rel, list(rows))))


def _stored(batch: pd.DataFrame, kind_of: Any) -> pd.DataFrame:
    """A validated batch with vectors as float32 arrays, the form the tables hold."""
    for name in batch.columns:
        if kind_of(name) == VECTOR:
            batch = batch.assign(
                **{
                    name: _object_array(
                        [
                            np.asarray(v, dtype=np.float32) if isinstance(v, (list, np.ndarray)) else None
                            for v in batch[name].tolist()
                        ]
                    )
                }
            )
    return batch


def _plain_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain values without missing cells; lists are copies."""
    rows = frame_records(frame)
    for name in frame.columns:
        if pd.api.types.is_object_dtype(frame[name].dtype):
            for row in rows:
                if isinstance(row.get(name), list):
                    row[name] = list(row[name])
    return rows


def _export(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as plain snapshot columns: no all-missing columns, whole numbers as int64 when complete."""
    out = {}
    for name in frame.columns:
        column = frame[name]
        if name not in _EDGE_KEYS and name != "key" and not column.notna().any():
            continue
        if isinstance(column.dtype, pd.Int64Dtype):
            column = column.astype("int64") if column.notna().all() else column.astype("float64")
        out[name] = column.reset_index(drop=True)
    return pd.DataFrame(out)


def _write_table(file: Path, frame: pd.DataFrame, vector_columns: Sequence[str]) -> None:
    for column in vector_columns:
        frame = frame.assign(
            **{column: [v.tolist() if isinstance(v, np.ndarray) else v for v in frame[column].tolist()]}
        )
    frame.to_parquet(file, index=False)


def _read_table(file: Path, kind_of: Any) -> pd.DataFrame:
    """A Parquet table back in the column types the store holds."""
    frame = pd.read_parquet(file)
    for name in frame.columns:
        frame[name] = _from_parquet(frame[name], kind_of(name))
    return frame


def _from_parquet(column: pd.Series, kind: str | None) -> pd.Series:
    """Turn a Parquet column back into the stored form of its schema kind."""
    if kind == VECTOR:
        return pd.Series(
            _object_array(
                [np.asarray(v, dtype=np.float32) if v is not None else None for v in column.tolist()]
            ),
            index=column.index,
            dtype=object,
        )
    if kind == STR_LIST:
        return pd.Series(
            _object_array([v.tolist() if isinstance(v, np.ndarray) else v for v in column.tolist()]),
            index=column.index,
            dtype=object,
        )
    if kind == INT:
        return column.astype("Int64")
    if kind == FLOAT:
        return column.astype("float64")
    return column
