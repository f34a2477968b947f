"""An in-process graph store persisted to a folder: the quick-start default.

Nodes and edges live in dictionaries keyed by node key and (src, dst) pair, with
adjacency sets for neighbourhood reads. `flush()` writes the whole graph as Parquet files
into a new generation folder and then switches the `CURRENT` pointer with an atomic
rename, so a reader that opens the folder sees either the previous or the new graph,
never a mix, and a crash mid-write leaves the previous generation in place.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from kg.schema import (
    EDGE_TYPES,
    INT,
    NODE_TYPES,
    VECTOR,
    BatchError,
    edge_type,
    is_missing,
    node_type,
    validate_edges,
    validate_nodes,
)
from kg.store import Direction, GraphSnapshot, GraphStore, Neighbour

log = logging.getLogger(__name__)

_POINTER = "CURRENT"
_KEEP_GENERATIONS = 2


def _is_vector_prop(label: str, prop: str) -> bool:
    return node_type(label).kind_of(prop) == VECTOR


class EmbeddedStore(GraphStore):
    """A graph store held in memory and persisted as Parquet generations under `path`.

    `path=None` gives a purely in-memory store (used by tests and benchmarks).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._nodes: dict[str, dict[str, dict[str, Any]]] = {label: {} for label in NODE_TYPES}
        self._edges: dict[str, dict[tuple[str, str], dict[str, Any]]] = {rel: {} for rel in EDGE_TYPES}
        self._out: dict[str, dict[str, set[str]]] = {rel: defaultdict(set) for rel in EDGE_TYPES}
        self._in: dict[str, dict[str, set[str]]] = {rel: defaultdict(set) for rel in EDGE_TYPES}
        self._meta: dict[str, str] = {}
        self._dirty = False
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
            self._load()

    # ---- writes -------------------------------------------------------------------------
    def upsert_nodes(self, label: str, rows: Sequence[Mapping[str, Any]]) -> int:
        clean = validate_nodes(label, list(rows))
        key_prop = node_type(label).key
        table = self._nodes[label]
        for row in clean:
            key = row.pop(key_prop)
            table.setdefault(key, {}).update(row)
        self._dirty = self._dirty or bool(clean)
        return len(clean)

    def upsert_edges(self, rel: str, rows: Sequence[Mapping[str, Any]]) -> int:
        et = edge_type(rel)
        clean = validate_edges(rel, list(rows))
        sources, targets = self._nodes[et.source], self._nodes[et.target]
        for i, row in enumerate(clean):
            if row["src"] not in sources:
                raise BatchError(f"{rel} batch", i, f"{et.source} {row['src']!r} does not exist",
                                 f"upsert the {et.source} nodes before their edges")
            if row["dst"] not in targets:
                raise BatchError(f"{rel} batch", i, f"{et.target} {row['dst']!r} does not exist",
                                 f"upsert the {et.target} nodes before their edges")
        table, out, inn = self._edges[rel], self._out[rel], self._in[rel]
        for row in clean:
            src, dst = row.pop("src"), row.pop("dst")
            existing = table.get((src, dst))
            if existing is None:
                table[(src, dst)] = row
                out[src].add(dst)
                inn[dst].add(src)
            else:
                existing.update(row)
        self._dirty = self._dirty or bool(clean)
        return len(clean)

    def delete_edges(self, rel: str, pairs: Iterable[tuple[str, str]]) -> int:
        edge_type(rel)
        table, out, inn = self._edges[rel], self._out[rel], self._in[rel]
        removed = 0
        for src, dst in pairs:
            if table.pop((src, dst), None) is not None:
                removed += 1
                out[src].discard(dst)
                inn[dst].discard(src)
        self._dirty = self._dirty or removed > 0
        return removed

    def delete_nodes(self, label: str, keys: Iterable[str]) -> int:
        node_type(label)
        removed = 0
        for key in keys:
            if self._nodes[label].pop(key, None) is None:
                continue
            removed += 1
            for rel, et in EDGE_TYPES.items():
                if et.source == label:
                    self.delete_edges(rel, [(key, dst) for dst in list(self._out[rel].get(key, ()))])
                    self._out[rel].pop(key, None)
                if et.target == label:
                    self.delete_edges(rel, [(src, key) for src in list(self._in[rel].get(key, ()))])
                    self._in[rel].pop(key, None)
        self._dirty = self._dirty or removed > 0
        return removed

    def write_vectors(
        self, label: str, keys: Sequence[str], vectors: np.ndarray, prop: str = "embedding",
        model_version: str | None = None,
    ) -> int:
        if not _is_vector_prop(label, prop):
            raise BatchError(f"{label} vectors", None, f"{prop!r} is not a vector property of {label}")
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(keys):
            raise BatchError(f"{label} vectors", None,
                             f"expected a matrix with {len(keys)} rows, got shape {vectors.shape}")
        table = self._nodes[label]
        missing = [k for k in keys if k not in table]
        if missing:
            raise BatchError(f"{label} vectors", list(keys).index(missing[0]),
                             f"{label} {missing[0]!r} does not exist")
        for key, vec in zip(keys, vectors):
            props = table[key]
            props[prop] = vec
            if model_version is not None:
                props["model_version"] = model_version
        self._dirty = self._dirty or len(keys) > 0
        return len(keys)

    def set_meta(self, key: str, value: str) -> None:
        self._meta[key] = str(value)
        self._dirty = True

    def clear(self) -> None:
        for table in (*self._nodes.values(), *self._edges.values(), *self._out.values(), *self._in.values()):
            table.clear()
        self._meta.clear()
        self._dirty = True

    # ---- reads --------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        return self._meta.get(key)

    def get_nodes(self, label: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        table = self._nodes[node_type(label).label]
        return {
            k: {p: v for p, v in table[k].items() if not _is_vector_prop(label, p)}
            for k in keys
            if k in table
        }

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
                for dst in self._out[rel].get(key, ()):
                    found.append(self._neighbour(rel, "out", et.target, dst, self._edges[rel][(key, dst)]))
            if direction in ("in", "both") and et.target == label:
                for src in self._in[rel].get(key, ()):
                    found.append(self._neighbour(rel, "in", et.source, src, self._edges[rel][(src, key)]))
        found.sort(key=lambda n: (-float(n.edge.get("weight", n.edge.get("score", 0.0)) or 0.0), n.rel, n.key))
        return found[:limit] if limit is not None else found

    def _neighbour(self, rel: str, direction: str, label: str, key: str, edge: dict) -> Neighbour:
        node = {p: v for p, v in self._nodes[label][key].items() if not _is_vector_prop(label, p)}
        return Neighbour(rel, direction, label, key, node, dict(edge))  # type: ignore[arg-type]

    def snapshot(self) -> GraphSnapshot:
        nodes = {}
        for label, table in self._nodes.items():
            records = [
                {"key": k, **{p: v for p, v in props.items() if not _is_vector_prop(label, p)}}
                for k, props in table.items()
            ]
            nodes[label] = pd.DataFrame.from_records(records, columns=None if records else ["key"])
        edges = {}
        for rel, table in self._edges.items():
            records = [{"src": s, "dst": d, **props} for (s, d), props in table.items()]
            edges[rel] = pd.DataFrame.from_records(records, columns=None if records else ["src", "dst"])
        return GraphSnapshot(nodes=nodes, edges=edges, meta=dict(self._meta)).sorted()

    def read_vectors(
        self, label: str, keys: Sequence[str] | None = None, prop: str = "embedding"
    ) -> tuple[list[str], np.ndarray]:
        table = self._nodes[node_type(label).label]
        wanted = table.keys() if keys is None else [k for k in keys if k in table]
        found = [k for k in wanted if prop in table[k]]
        if not found:
            return [], np.zeros((0, 0), dtype=np.float32)
        return found, np.stack([np.asarray(table[k][prop], dtype=np.float32) for k in found])

    def counts(self) -> dict[str, int]:
        out = {label: len(t) for label, t in self._nodes.items()}
        out.update({rel: len(t) for rel, t in self._edges.items()})
        return out

    # ---- persistence --------------------------------------------------------------------
    def flush(self) -> None:
        """Write a new generation folder and switch `CURRENT` to it atomically."""
        if self.path is None or not self._dirty:
            return
        previous = self._current_generation()
        generation = (previous or 0) + 1
        target = self.path / f"graph-{generation:06d}"
        staging = self.path / f".staging-{generation:06d}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for label, table in self._nodes.items():
            _write_table(staging / f"node-{label}.parquet",
                         [{"key": k, **props} for k, props in table.items()], ["key"],
                         [p for p in node_type(label).properties if _is_vector_prop(label, p)])
        for rel, table in self._edges.items():
            columns = {"src": [s for s, _ in table], "dst": [d for _, d in table]}
            for prop in EDGE_TYPES[rel].properties:
                column = [props.get(prop) for props in table.values()]
                if any(v is not None for v in column):
                    columns[prop] = column
            pd.DataFrame(columns).to_parquet(staging / f"edge-{rel}.parquet", index=False)
        (staging / "meta.json").write_text(json.dumps(self._meta, sort_keys=True))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
        pointer_tmp = self.path / f".{_POINTER}.tmp"
        pointer_tmp.write_text(target.name)
        os.replace(pointer_tmp, self.path / _POINTER)
        self._dirty = False
        self._prune(keep=target.name)
        log.info("embedded store: wrote generation %s (%s)", target.name, self.counts())

    def close(self) -> None:
        self.flush()

    def _current_generation(self) -> int | None:
        pointer = self.path / _POINTER if self.path else None
        if pointer is None or not pointer.exists():
            return None
        return int(pointer.read_text().strip().rsplit("-", 1)[1])

    def _prune(self, keep: str) -> None:
        generations = sorted(p for p in self.path.glob("graph-*") if p.is_dir())
        for old in generations[:-_KEEP_GENERATIONS]:
            if old.name != keep:
                shutil.rmtree(old, ignore_errors=True)

    def _load(self) -> None:
        generation = self._current_generation()
        if generation is None:
            return
        folder = self.path / f"graph-{generation:06d}"
        for label in NODE_TYPES:
            file = folder / f"node-{label}.parquet"
            if file.exists():
                for rec in _read_table(file):
                    key = rec.pop("key")
                    kinds = node_type(label)
                    self._nodes[label][key] = {p: _from_parquet(v, kinds.kind_of(p))
                                               for p, v in rec.items() if not is_missing(v)}
        for rel in EDGE_TYPES:
            file = folder / f"edge-{rel}.parquet"
            if file.exists():
                for rec in _read_table(file):
                    src, dst = rec.pop("src"), rec.pop("dst")
                    kinds = edge_type(rel)
                    self._edges[rel][(src, dst)] = {p: _from_parquet(v, kinds.kind_of(p))
                                                    for p, v in rec.items() if not is_missing(v)}
                    self._out[rel][src].add(dst)
                    self._in[rel][dst].add(src)
        meta = folder / "meta.json"
        if meta.exists():
            self._meta = json.loads(meta.read_text())
        log.info("embedded store: opened %s (%s)", folder, self.counts())


def _write_table(file: Path, records: list[dict[str, Any]], key_columns: list[str],
                 vector_columns: Sequence[str] = ()) -> None:
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=key_columns)
    for column in vector_columns:
        if column in frame:
            frame[column] = frame[column].map(lambda v: v.tolist() if isinstance(v, np.ndarray) else v)
    frame.to_parquet(file, index=False)


def _read_table(file: Path) -> list[dict[str, Any]]:
    return pd.read_parquet(file).to_dict("records")


def _from_parquet(value: Any, kind: str | None) -> Any:
    """Turn a Parquet cell back into the stored form of its schema kind."""
    if kind == VECTOR:
        return np.asarray(value, dtype=np.float32)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if kind == INT:
        return int(value)
    return value
