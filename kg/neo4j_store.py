"""The graph store on a Neo4j 5.x server, over Bolt with the official driver.

Writes are batched `UNWIND $rows ...` statements with parameters only; labels, relationship
types and property names are interpolated solely from `kg.schema`, never from user strings.
Rows travel as plain lists (no per-row property maps) and every property is SET explicitly.
A refresh's delta (`replace_*` with `added` flags from its diff) CREATEs the rows the diff knows
are new and MERGEs only the changed ones, matching endpoints on their unique-key indexes. One
call (or one `atomic()` block) is one transaction: a batch is validated first and written whole
or not at all. Reads run in read transactions. `cypher/schema.cypher` (constraints, lookup
and vector indexes) is applied idempotently on open.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from cypher import schema_statements
from kg.faults import pause_point
from kg.schema import (
    DST,
    EDGE_TYPES,
    NODE_TYPES,
    SRC,
    VECTOR,
    BatchError,
    edge_type,
    node_type,
    row_properties,
    validate_edge_frame,
    validate_edges,
    validate_node_frame,
    validate_nodes,
)
from kg.store import Direction, GraphSnapshot, GraphStore, Neighbour

log = logging.getLogger(__name__)

CHUNK = 10_000
"""Rows per UNWIND statement; a whole batch still commits in one transaction."""

_META_LABEL = "IkgMeta"


@dataclass(frozen=True)
class Neo4jConfig:
    """Where the server is. `from_env` reads NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE."""

    uri: str = "bolt://localhost:7687"
    user: str = "neo4j"
    password: str = field(default="", repr=False)
    database: str = "neo4j"
    retry_seconds: float = 10.0
    """How long the driver retries a transaction on transient errors (with backoff) before giving up."""

    @classmethod
    def from_env(cls) -> Neo4jConfig | None:
        uri = os.environ.get("NEO4J_URI")
        if not uri:
            return None
        return cls(
            uri,
            os.environ.get("NEO4J_USER", "neo4j"),
            os.environ.get("NEO4J_PASSWORD", ""),
            os.environ.get("NEO4J_DATABASE", "neo4j"),
        )


class Neo4jUnavailableError(ConnectionError):
    """The Neo4j server cannot be reached (or went away mid-transaction); nothing half-written stays."""


def _unavailable(config: Neo4jConfig, exc: BaseException) -> Neo4jUnavailableError:
    detail = (str(exc).strip().splitlines() or [""])[0][:300]
    return Neo4jUnavailableError(
        f"Neo4j at {config.uri} is unreachable: {type(exc).__name__}: {detail}. The write was rolled "
        "back and the previous version keeps serving; start the server (or fix NEO4J_URI) and re-run."
    )


def _vector_props(label: str) -> list[str]:
    return [p for p, kind in node_type(label).properties.items() if kind == VECTOR]


def _chunks(rows: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _missing_query(nt) -> str:
    """A query returning one key of `$keys` that has no node of type `nt`, if any."""
    return (
        f"UNWIND $keys AS k WITH k WHERE NOT EXISTS {{ MATCH (:`{nt.label}` {{`{nt.key}`: k}}) }} "
        "RETURN k LIMIT 1"
    )


def _plain(value: Any) -> Any:
    """Neo4j values -> plain Python (lists stay lists)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _given(clean: pd.DataFrame | list[dict[str, Any]], keys: list[str]) -> list[str]:
    """Properties set in at least one row of a validated batch, in first-seen order."""
    if isinstance(clean, pd.DataFrame):
        return [c for c in clean.columns if c not in keys]
    return [p for p in dict.fromkeys(p for row in clean for p in row) if p not in keys]


def _row_lists(clean: pd.DataFrame | list[dict[str, Any]], names: list[str]) -> list[list[Any]]:
    """Each row as a list of plain values in `names` order; a missing cell is None."""
    if isinstance(clean, list):
        return [[row.get(n) for n in names] for row in clean]
    columns = []
    for name in names:
        if name not in clean:
            columns.append([None] * len(clean))
            continue
        values = clean[name].tolist()
        for i in np.flatnonzero(clean[name].isna().to_numpy()).tolist():
            values[i] = None
        columns.append(values)
    return [list(row) for row in zip(*columns)]


def _fresh(added: Any, payload: list[list[Any]], width: int) -> list[bool]:
    """Which rows to CREATE: marked added and their key unique in the batch (duplicates are merged in order)."""
    if added is None:
        return [False] * len(payload)
    flags = [bool(a) for a in added]
    if len(flags) != len(payload):
        raise ValueError(f"`added` has {len(flags)} flags for {len(payload)} rows")
    keys = [tuple(row[:width]) for row in payload]
    seen: dict[tuple, int] = {}
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
    return [flag and seen[key] == 1 for flag, key in zip(flags, keys)]


def _set_clause(var: str, props: list[str], exact: bool, offset: int = 1) -> str:
    """` SET v.p = row[i], ...`: exact rows remove what they do not give; upserts keep it (coalesce)."""
    if not props:
        return ""
    parts = [
        f"{var}.`{p}` = row[{i + offset}]"
        if exact
        else f"{var}.`{p}` = coalesce(row[{i + offset}], {var}.`{p}`)"
        for i, p in enumerate(props)
    ]
    return " SET " + ", ".join(parts)


def _raise_missing_end(tx, rel: str, chunk: list[tuple[int, list[Any]]]) -> None:
    """Name the first row of `chunk` whose source or target node does not exist (the transaction rolls back)."""
    et = edge_type(rel)
    for end, label in ((0, et.source), (1, et.target)):
        nt = node_type(label)
        keys = sorted({row[end] for _, row in chunk})
        record = tx.run(_missing_query(nt), keys=keys).single()
        if record is not None:
            index = next(i for i, row in chunk if row[end] == record["k"])
            raise BatchError(
                f"{rel} batch",
                index,
                f"{nt.label} {record['k']!r} does not exist",
                f"upsert the {nt.label} nodes before their edges",
            )
    raise BatchError(f"{rel} batch", None, "fewer relationships were written than rows sent")


class Neo4jStore(GraphStore):
    """A GraphStore backed by a Neo4j 5.x database."""

    def __init__(self, config: Neo4jConfig, apply_schema: bool = True) -> None:
        from neo4j import GraphDatabase

        self.config = config
        self._driver = GraphDatabase.driver(
            config.uri,
            auth=(config.user, config.password),
            notifications_min_severity="OFF",
            max_transaction_retry_time=config.retry_seconds,
            connection_timeout=5.0,
            connection_acquisition_timeout=30.0,
        )
        self._deferred = threading.local()
        try:
            self._driver.verify_connectivity()
        except Exception as exc:
            self._driver.close()
            raise Neo4jUnavailableError(
                f"Neo4j at {config.uri} is unreachable (user {config.user!r}): {type(exc).__name__}: "
                f"{(str(exc).strip().splitlines() or [''])[0][:300]}. "
                "Check NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD, or start a local server with "
                "`python -m ikg.neo4j_local start`."
            ) from None
        if apply_schema:
            self.apply_schema()

    def apply_schema(self) -> None:
        """Create constraints and indexes of cypher/schema.cypher when missing."""
        with self._session() as session:
            for statement in schema_statements():
                session.run(statement).consume()

    def _session(self):
        return self._driver.session(database=self.config.database)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Turn a lost or refused connection into Neo4jUnavailableError (no traceback chain, no secrets)."""
        from neo4j.exceptions import ServiceUnavailable, SessionExpired

        try:
            yield
        except (ServiceUnavailable, SessionExpired, OSError) as exc:
            if isinstance(exc, Neo4jUnavailableError):
                raise
            raise _unavailable(self.config, exc) from None

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Collect every write made inside the block and commit them as ONE managed transaction.

        The driver retries the whole transaction with backoff on transient errors; if the server
        dies first, nothing of the block is visible and Neo4jUnavailableError is raised. Counts
        returned by writes inside the block are the rows sent, not rows found.
        """
        if getattr(self._deferred, "ops", None) is not None:
            yield
            return
        self._deferred.ops = []
        try:
            yield
            ops, self._deferred.ops = self._deferred.ops, None

            def work(tx):
                for n, (fn, args) in enumerate(ops):
                    if n == len(ops) // 2:
                        pause_point("neo4j_mid_transaction")
                    fn(tx, *args)

            if ops:
                with self._translated(), self._session() as session:
                    session.execute_write(work)
        finally:
            self._deferred.ops = None

    def _write(self, work, *args):
        ops = getattr(self._deferred, "ops", None)
        if ops is not None:
            ops.append((work, args))
            return None
        with self._translated(), self._session() as session:
            return session.execute_write(work, *args)

    def _read(self, query: str, **params) -> list:
        with self._translated(), self._session() as session:
            return session.execute_read(lambda tx: list(tx.run(query, **params)))

    # ---- writes -------------------------------------------------------------------------
    def upsert_nodes(self, label: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> int:
        return self._write_nodes(label, rows, None, exact=False)

    def replace_nodes(
        self,
        label: str,
        rows: Sequence[Mapping[str, Any]] | pd.DataFrame,
        added: Sequence[bool] | np.ndarray | None = None,
    ) -> int:
        return self._write_nodes(label, rows, added, exact=True)

    def upsert_edges(self, rel: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> int:
        return self._write_edges(rel, rows, None, exact=False)

    def replace_edges(
        self,
        rel: str,
        rows: Sequence[Mapping[str, Any]] | pd.DataFrame,
        added: Sequence[bool] | np.ndarray | None = None,
    ) -> int:
        return self._write_edges(rel, rows, added, exact=True)

    def _write_nodes(
        self, label: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame, added: Any, exact: bool
    ) -> int:
        """CREATE the rows marked added, MERGE the others on the key index; SET each property explicitly."""
        nt = node_type(label)
        if isinstance(rows, pd.DataFrame):
            clean: pd.DataFrame | list[dict[str, Any]] = validate_node_frame(label, rows)
        else:
            clean = validate_nodes(label, list(rows))
        props = row_properties(label) if exact else _given(clean, [nt.key])
        payload = _row_lists(clean, [nt.key, *props])
        if not payload:
            return 0
        fresh = _fresh(added, payload, 1)
        sets = _set_clause("n", props, exact)
        create_q = f"UNWIND $rows AS row CREATE (n:`{nt.label}` {{`{nt.key}`: row[0]}}){sets}"
        merge_q = f"UNWIND $rows AS row MERGE (n:`{nt.label}` {{`{nt.key}`: row[0]}}){sets}"
        new_rows = [row for row, f in zip(payload, fresh) if f]
        old_rows = [row for row, f in zip(payload, fresh) if not f]

        def work(tx):
            from neo4j.exceptions import ConstraintError

            try:
                for chunk in _chunks(new_rows):
                    tx.run(create_q, rows=chunk).consume()
            except ConstraintError:
                raise BatchError(
                    f"{label} batch",
                    None,
                    f"a {label} row marked as new already exists in the database",
                    "the store changed behind the refresh's back; run `ikg refresh --full`, which diffs "
                    "against the store's content",
                ) from None
            for chunk in _chunks(old_rows):
                tx.run(merge_q, rows=chunk).consume()

        self._write(work)
        return len(payload)

    def _write_edges(
        self, rel: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame, added: Any, exact: bool
    ) -> int:
        """CREATE the rows marked added, MERGE the others; endpoints matched on their key indexes.

        Rows travel as plain lists (no per-row property maps). A row whose endpoint does not exist
        makes the statement match fewer rows than it was sent; that rolls the whole write back
        with a BatchError naming the missing node.
        """
        et = edge_type(rel)
        src_t, dst_t = node_type(et.source), node_type(et.target)
        if isinstance(rows, pd.DataFrame):
            clean: pd.DataFrame | list[dict[str, Any]] = validate_edge_frame(rel, rows)
        else:
            clean = validate_edges(rel, list(rows))
        props = row_properties(rel) if exact else _given(clean, [SRC, DST])
        payload = _row_lists(clean, [SRC, DST, *props])
        if not payload:
            return 0
        fresh = _fresh(added, payload, 2)
        ends = (
            f"UNWIND $rows AS row MATCH (a:`{src_t.label}` {{`{src_t.key}`: row[0]}}) "
            f"MATCH (b:`{dst_t.label}` {{`{dst_t.key}`: row[1]}}) "
        )
        inline = ", ".join(f"`{p}`: row[{i + 2}]" for i, p in enumerate(props))
        create_q = ends + f"CREATE (a)-[r:`{et.type}`{{{inline}}}]->(b)"
        merge_q = (
            ends + f"MERGE (a)-[r:`{et.type}`]->(b){_set_clause('r', props, exact, 2)} RETURN count(*) AS n"
        )
        indexed = list(enumerate(payload))
        new_rows = [(i, row) for i, row in indexed if fresh[i]]
        old_rows = [(i, row) for i, row in indexed if not fresh[i]]

        def work(tx):
            for chunk in _chunks(new_rows):
                made = (
                    tx.run(create_q, rows=[row for _, row in chunk]).consume().counters.relationships_created
                )
                if made != len(chunk):
                    _raise_missing_end(tx, rel, chunk)
            for chunk in _chunks(old_rows):
                if tx.run(merge_q, rows=[row for _, row in chunk]).single()["n"] != len(chunk):
                    _raise_missing_end(tx, rel, chunk)

        self._write(work)
        return len(payload)

    def delete_edges(self, rel: str, pairs: Iterable[tuple[str, str]]) -> int:
        et = edge_type(rel)
        src_t, dst_t = node_type(et.source), node_type(et.target)
        payload = [[s, d] for s, d in pairs]
        query = (
            f"UNWIND $pairs AS p MATCH (a:`{src_t.label}` {{`{src_t.key}`: p[0]}})"
            f"-[r:`{et.type}`]->(b:`{dst_t.label}` {{`{dst_t.key}`: p[1]}}) DELETE r RETURN count(r) AS n"
        )

        def work(tx):
            return sum(tx.run(query, pairs=chunk).single()["n"] for chunk in _chunks(payload))

        if not payload:
            return 0
        found = self._write(work)
        return len(payload) if found is None else found

    def delete_nodes(self, label: str, keys: Iterable[str]) -> int:
        nt = node_type(label)
        payload = list(keys)
        query = (
            f"UNWIND $keys AS k MATCH (n:`{nt.label}` {{`{nt.key}`: k}}) DETACH DELETE n RETURN count(*) AS n"
        )

        def work(tx):
            return sum(tx.run(query, keys=chunk).single()["n"] for chunk in _chunks(payload))

        if not payload:
            return 0
        found = self._write(work)
        return len(payload) if found is None else found

    def delete_user(self, user_id: str) -> dict[str, int]:
        """Remove the user and concepts left orphaned, in one transaction."""
        query = (
            "MATCH (u:User {id: $id}) "
            "OPTIONAL MATCH (u)-[:INTERESTED_IN]->(c:Concept) "
            "WITH u, collect(DISTINCT c) AS touched DETACH DELETE u "
            "WITH touched UNWIND touched AS c "
            "WITH c WHERE NOT EXISTS { MATCH ()-[:INTERESTED_IN|HAS_CONCEPT]->(c) } "
            "DETACH DELETE c RETURN count(c) AS concepts"
        )

        def work(tx):
            exists = tx.run("MATCH (u:User {id: $id}) RETURN count(u) AS n", id=user_id).single()["n"]
            if not exists:
                return {"User": 0, "Concept": 0}
            record = tx.run(query, id=user_id).single()
            return {"User": 1, "Concept": record["concepts"] if record else 0}

        return self._write(work)

    def write_vectors(
        self,
        label: str,
        keys: Sequence[str],
        vectors: np.ndarray,
        prop: str = "embedding",
        model_version: str | None = None,
    ) -> int:
        nt = node_type(label)
        if nt.kind_of(prop) != VECTOR:
            raise BatchError(f"{label} vectors", None, f"{prop!r} is not a vector property of {label}")
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(keys):
            raise BatchError(
                f"{label} vectors",
                None,
                f"expected a matrix with {len(keys)} rows, got shape {vectors.shape}",
            )
        payload = [{"k": k, "v": v.tolist()} for k, v in zip(keys, vectors)]
        version_clause = ", n.model_version = $version" if model_version is not None else ""
        query = (
            f"UNWIND $rows AS row MATCH (n:`{nt.label}` {{`{nt.key}`: row.k}}) "
            f"SET n.`{prop}` = row.v{version_clause}"
        )

        def work(tx):
            record = tx.run(_missing_query(nt), keys=list(keys)).single()
            if record is not None:
                raise BatchError(
                    f"{label} vectors",
                    list(keys).index(record["k"]),
                    f"{label} {record['k']!r} does not exist",
                )
            for chunk in _chunks(payload, 2_000):
                tx.run(query, rows=chunk, version=model_version).consume()

        if payload:
            self._write(work)
        return len(payload)

    def set_meta(self, key: str, value: str) -> None:
        self._write(
            lambda tx: tx.run(
                f"MERGE (m:`{_META_LABEL}` {{key: $key}}) SET m.value = $value", key=key, value=str(value)
            ).consume()
        )

    def clear(self) -> None:
        """Remove the project's nodes (its labels and markers) only; other data in the database stays."""
        with self._translated(), self._session() as session:
            session.run(
                "MATCH (n) WHERE any(l IN labels(n) WHERE l IN $labels) "
                "CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS",
                labels=[*NODE_TYPES, _META_LABEL],
            ).consume()

    def count_foreign_nodes(self) -> int:
        """Nodes that carry none of the project's labels (data this project did not write)."""
        query = "MATCH (n) WHERE none(l IN labels(n) WHERE l IN $labels) RETURN count(n) AS n"
        return int(self._read(query, labels=[*NODE_TYPES, _META_LABEL])[0]["n"])

    def count_keys_outside(self, label: str, keys: Sequence[str] = (), prefix: str | None = None) -> int:
        """Nodes of `label` whose key is neither in `keys` nor starts with `prefix`."""
        nt = node_type(label)
        query = (
            f"MATCH (n:`{nt.label}`) WHERE NOT n.`{nt.key}` IN $keys "
            f"AND ($prefix IS NULL OR NOT n.`{nt.key}` STARTS WITH $prefix) RETURN count(n) AS n"
        )
        return int(self._read(query, keys=list(keys), prefix=prefix)[0]["n"])

    def close(self) -> None:
        self._driver.close()

    # ---- reads --------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        records = self._read(f"MATCH (m:`{_META_LABEL}` {{key: $key}}) RETURN m.value AS v", key=key)
        return records[0]["v"] if records else None

    def get_nodes(self, label: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        nt = node_type(label)
        query = (
            f"UNWIND $keys AS k MATCH (n:`{nt.label}` {{`{nt.key}`: k}}) "
            "RETURN k, [p IN keys(n) WHERE NOT p IN $skip | [p, n[p]]] AS props"
        )
        records = self._read(query, keys=list(keys), skip=[nt.key, *_vector_props(label)])
        return {r["k"]: {p: _plain(v) for p, v in r["props"]} for r in records}

    def neighbourhood(
        self,
        label: str,
        key: str,
        rels: Sequence[str] | None = None,
        direction: Direction = "both",
        limit: int | None = None,
    ) -> list[Neighbour]:
        nt = node_type(label)
        found: list[Neighbour] = []
        for rel in rels or list(EDGE_TYPES):
            et = edge_type(rel)
            ends: list[tuple[Literal["out", "in"], str, str]] = []
            if direction in ("out", "both") and et.source == label:
                ends.append(("out", et.target, f"(n)-[r:`{et.type}`]->(m:`{et.target}`)"))
            if direction in ("in", "both") and et.target == label:
                ends.append(("in", et.source, f"(n)<-[r:`{et.type}`]-(m:`{et.source}`)"))
            for side, other, pattern in ends:
                other_t = node_type(other)
                query = (
                    f"MATCH (n:`{nt.label}` {{`{nt.key}`: $key}}) MATCH {pattern} "
                    f"RETURN m.`{other_t.key}` AS k, "
                    "[p IN keys(m) WHERE NOT p IN $skip | [p, m[p]]] AS props, properties(r) AS edge"
                )
                for r in self._read(query, key=key, skip=[other_t.key, *_vector_props(other)]):
                    found.append(
                        Neighbour(
                            rel,
                            side,
                            other,
                            r["k"],
                            {p: _plain(v) for p, v in r["props"]},
                            {p: _plain(v) for p, v in r["edge"].items()},
                        )
                    )
        found.sort(
            key=lambda n: (-float(n.edge.get("weight", n.edge.get("score", 0.0)) or 0.0), n.rel, n.key)
        )
        return found[:limit] if limit is not None else found

    def snapshot(self) -> GraphSnapshot:
        nodes = {}
        for label, nt in NODE_TYPES.items():
            query = (
                f"MATCH (n:`{label}`) RETURN n.`{nt.key}` AS key, "
                "[p IN keys(n) WHERE NOT p IN $skip | [p, n[p]]] AS props"
            )
            records = self._read(query, skip=[nt.key, *_vector_props(label)])
            rows = [{"key": r["key"], **{p: _plain(v) for p, v in r["props"]}} for r in records]
            nodes[label] = pd.DataFrame.from_records(rows, columns=None if rows else ["key"])
        edges = {}
        for rel, et in EDGE_TYPES.items():
            src_t, dst_t = node_type(et.source), node_type(et.target)
            query = (
                f"MATCH (a:`{et.source}`)-[r:`{rel}`]->(b:`{et.target}`) "
                f"RETURN a.`{src_t.key}` AS src, b.`{dst_t.key}` AS dst, properties(r) AS props"
            )
            rows = [
                {"src": r["src"], "dst": r["dst"], **{p: _plain(v) for p, v in r["props"].items()}}
                for r in self._read(query)
            ]
            edges[rel] = pd.DataFrame.from_records(rows, columns=None if rows else ["src", "dst"])
        meta = {
            r["k"]: r["v"] for r in self._read(f"MATCH (m:`{_META_LABEL}`) RETURN m.key AS k, m.value AS v")
        }
        return GraphSnapshot(nodes=nodes, edges=edges, meta=meta).sorted()

    def read_vectors(
        self, label: str, keys: Sequence[str] | None = None, prop: str = "embedding"
    ) -> tuple[list[str], np.ndarray]:
        nt = node_type(label)
        if nt.kind_of(prop) != VECTOR:
            raise BatchError(f"{label} vectors", None, f"{prop!r} is not a vector property of {label}")
        if keys is None:
            query = (
                f"MATCH (n:`{label}`) WHERE n.`{prop}` IS NOT NULL RETURN n.`{nt.key}` AS k, n.`{prop}` AS v"
            )
            records = self._read(query)
        else:
            query = (
                f"UNWIND $keys AS k MATCH (n:`{label}` {{`{nt.key}`: k}}) "
                f"WHERE n.`{prop}` IS NOT NULL RETURN k, n.`{prop}` AS v"
            )
            records = self._read(query, keys=list(keys))
        if not records:
            return [], np.zeros((0, 0), dtype=np.float32)
        return [r["k"] for r in records], np.asarray([r["v"] for r in records], dtype=np.float32)

    def counts(self) -> dict[str, int]:
        out = {}
        for label in NODE_TYPES:
            out[label] = self._read(f"MATCH (n:`{label}`) RETURN count(n) AS n")[0]["n"]
        for rel in EDGE_TYPES:
            out[rel] = self._read(f"MATCH ()-[r:`{rel}`]->() RETURN count(r) AS n")[0]["n"]
        return out
