"""An initial Neo4j load with `neo4j-admin database import full`, from a committed version.

`write_import_files` turns the version's own graph rows (`rows_<Label>` tables, what a refresh
wrote with either engine) and its vectors into one CSV file per label and relationship type,
with neo4j-admin headers (`id:ID(User)`, `weight:double`, `categories:string[]`,
`:START_ID(User)`, ...), plus `import.sh`: the exact command for a standard Neo4j install.
`run_import` runs the same import with the Maven-resolved jars (`org.neo4j.cli.AdminTool`)
into the `neo4j` database of a stopped server home of `ikg.neo4j_local`.

Safety: neo4j-admin writes a new database. A home that already holds one is refused unless
`overwrite=True` (the CLI asks for `--overwrite` and a confirmation), and even then only
after a temporary start of that server shows the database holds nothing but interest-kg's
own labels; otherwise nothing is touched. Constraints, indexes and vector indexes of
`cypher/schema.cypher` are created when a store first opens the imported database.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ikg import neo4j_local
from ikg.workdir import State
from kg.neo4j_store import _META_LABEL, Neo4jConfig, Neo4jStore
from kg.row_snapshot import has_rows
from kg.schema import EDGE_TYPES, FLOAT, INT, NODE_TYPES, STR_LIST, VECTOR, edge_type, node_type

log = logging.getLogger(__name__)

ARRAY_DELIMITER = "\x1f"
"""Between array elements (unit separator): never part of a category, tag or number."""

EMPTY_LISTS = "empty_lists.json"
"""Rows whose list property is [] (neo4j-admin leaves an empty CSV field unset); `finish` sets them."""

_ADMIN_MAIN = "org.neo4j.cli.AdminTool"
_DATABASE = "neo4j"
_CSV_TYPES = {FLOAT: "double", INT: "long", STR_LIST: "string[]", VECTOR: "double[]"}


class ImportRefusedError(RuntimeError):
    """The import would replace data it must not, or the target is not ready; nothing was changed."""


@dataclass
class ImportFiles:
    """What `write_import_files` wrote: CSV files per label/type, row counts, and the arguments."""

    folder: Path
    nodes: dict[str, Path] = field(default_factory=dict)
    relationships: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    multiline: bool = False

    def arguments(self, base: Path | None = None) -> list[str]:
        """neo4j-admin options naming the files (relative to `base` when given)."""

        def name(path: Path) -> str:
            return str(path.relative_to(base)) if base is not None else str(path)

        args = [f"--nodes={label}={name(path)}" for label, path in self.nodes.items()]
        args += [f"--relationships={rel}={name(path)}" for rel, path in self.relationships.items()]
        args += ["--array-delimiter=U+001F", f"--multiline-fields={str(self.multiline).lower()}"]
        return args


class _Vectors:
    """Collects what `ikg.versions` would write with `write_vectors`, per label and property."""

    def __init__(self) -> None:
        self.by_label: dict[str, dict[str, dict[str, Any]]] = {}

    def write_vectors(
        self, label: str, keys, vectors: np.ndarray, prop: str = "embedding", model_version: str | None = None
    ) -> int:
        cells = self.by_label.setdefault(label, {})
        for key, vector in zip(keys, np.asarray(vectors, dtype=np.float32)):
            cell = cells.setdefault(str(key), {})
            cell[prop] = vector
            if model_version is not None:
                cell["model_version"] = model_version
        return len(keys)


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame() if frame.empty or "_empty" in frame else frame


def _cell(value: Any, kind: str | None) -> str:
    """One CSV field: empty for a missing value (neo4j-admin leaves the property unset)."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return ""
    if kind == STR_LIST:
        return ARRAY_DELIMITER.join(str(v) for v in value)
    if kind == VECTOR:
        return ARRAY_DELIMITER.join(repr(float(v)) for v in value)
    if kind == FLOAT:
        return repr(float(value))
    if kind == INT:
        return str(int(value))
    return str(value)


def _is_empty_list(value: Any) -> bool:
    """An empty list: stored as [] by the batched path, inexpressible in neo4j-admin CSV (set after)."""
    return isinstance(value, (list, tuple, np.ndarray)) and len(value) == 0


def _header(name: str, kind: str | None) -> str:
    suffix = _CSV_TYPES.get(kind or "")
    return f"{name}:{suffix}" if suffix else name


def _write_csv(path: Path, header: list[str], rows: Iterator[list[str]]) -> tuple[int, bool]:
    """Write one CSV (RFC 4180 quoting); return rows written and whether a field spans lines."""
    count, multiline = 0, False
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            multiline = multiline or any("\n" in f or "\r" in f for f in row)
            writer.writerow(row)
            count += 1
    return count, multiline


def write_import_files(state: State, out: str | os.PathLike[str]) -> ImportFiles:
    """Write the version's graph and vectors as neo4j-admin CSV files plus `import.sh` into `out`."""
    if not has_rows(state.tables):
        raise ImportRefusedError(
            f"version {state.version} has no graph rows (written before row tables existed); "
            "run `ikg refresh --full` first"
        )
    from ikg.versions import _write_vectors

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    vectors = _Vectors()
    _write_vectors(vectors, state)  # type: ignore[arg-type]  # collects write_vectors calls only
    files = ImportFiles(folder)
    empties: dict[str, dict[str, dict[str, list]]] = {"nodes": {}, "relationships": {}}
    for label, nt in NODE_TYPES.items():
        frame = _rows(state.table(f"rows_{label}"))
        if frame.empty:
            continue
        props = [c for c in frame.columns if c != nt.key]
        by_key = vectors.by_label.get(label, {})
        extra = [
            p
            for p in ("text_embedding", "embedding", "model_version")
            if any(p in v for v in by_key.values())
        ]
        header = [f"{nt.key}:ID({label})"] + [_header(p, nt.kind_of(p)) for p in [*props, *extra]]
        columns = [frame[c].tolist() for c in [nt.key, *props]]
        for p, values in zip(props, columns[1:]):
            if nt.kind_of(p) == STR_LIST:
                keys = [str(k) for k, v in zip(columns[0], values) if _is_empty_list(v)]
                if keys:
                    empties["nodes"].setdefault(label, {})[p] = keys

        def node_lines(
            columns=columns, props=props, extra=extra, by_key=by_key, nt=nt
        ) -> Iterator[list[str]]:
            for values in zip(*columns):
                key, rest = values[0], values[1:]
                more = by_key.get(str(key), {})
                yield [
                    str(key),
                    *(_cell(v, nt.kind_of(p)) for p, v in zip(props, rest)),
                    *(_cell(more.get(p), nt.kind_of(p)) for p in extra),
                ]

        path = folder / f"nodes_{label}.csv"
        files.counts[label], multiline = _write_csv(path, header, node_lines())
        files.nodes[label] = path
        files.multiline |= multiline
    marker = folder / f"nodes_{_META_LABEL}.csv"
    _write_csv(marker, [f"key:ID({_META_LABEL})", "value"], iter([["active_version", str(state.version)]]))
    files.nodes[_META_LABEL] = marker
    for rel, et in EDGE_TYPES.items():
        frame = _rows(state.table(f"rows_{rel}"))
        if frame.empty:
            continue
        props = [c for c in frame.columns if c not in ("src", "dst")]
        header = [f":START_ID({et.source})", f":END_ID({et.target})"] + [
            _header(p, et.kind_of(p)) for p in props
        ]
        columns = [frame[c].tolist() for c in ["src", "dst", *props]]
        for p, values in zip(props, columns[2:]):
            if et.kind_of(p) == STR_LIST:
                pairs = [
                    [str(a), str(b)] for a, b, v in zip(columns[0], columns[1], values) if _is_empty_list(v)
                ]
                if pairs:
                    empties["relationships"].setdefault(rel, {})[p] = pairs

        def edge_lines(columns=columns, props=props, et=et) -> Iterator[list[str]]:
            for values in zip(*columns):
                yield [
                    str(values[0]),
                    str(values[1]),
                    *(_cell(v, et.kind_of(p)) for p, v in zip(props, values[2:])),
                ]

        path = folder / f"relationships_{rel}.csv"
        files.counts[rel], multiline = _write_csv(path, header, edge_lines())
        files.relationships[rel] = path
        files.multiline |= multiline
    (folder / EMPTY_LISTS).write_text(json.dumps(empties), encoding="utf-8")
    script = folder / "import.sh"
    script.write_text(
        "#!/bin/sh\n# Initial load of interest-kg version "
        f"{state.version} into a NEW (or empty) database; run from this folder with Neo4j stopped.\n"
        "# Needs neo4j-admin of Neo4j 5.x on PATH (or: docker run ... neo4j:5.26 neo4j-admin ...).\n"
        "# Then start Neo4j and run `ikg neo4j-import --finish` (schema, indexes, empty lists).\n"
        + shlex.join(["neo4j-admin", "database", "import", "full", *files.arguments(folder), _DATABASE])
        + "\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return files


def _server_running(home: Path) -> int | None:
    pid_file = home / "ikg.pid"
    if not pid_file.exists():
        return None
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


def _database_exists(home: Path) -> bool:
    folder = home / "data" / "databases" / _DATABASE
    return folder.exists() and any(folder.iterdir())


def _only_project_data(home: Path) -> int:
    """Start the home's server on a free port for a moment; return how many foreign nodes it holds."""
    server = neo4j_local.start(home, port=neo4j_local.free_port())
    try:
        store = Neo4jStore(Neo4jConfig(server.uri, "neo4j", server.password), apply_schema=False)
        try:
            return store.count_foreign_nodes()
        finally:
            store.close()
    finally:
        server.stop()


def run_import(
    files: ImportFiles,
    home: str | os.PathLike[str],
    overwrite: bool = False,
    echo: Callable[[str], None] | None = None,
    finish_after: bool = True,
) -> dict[str, Any]:
    """Run neo4j-admin's full import of `files` into the `neo4j` database of a stopped server home,
    then start it once on a free port to `finish` (schema, indexes, empty lists) and stop it."""
    home = Path(home).resolve()
    for label in files.nodes:
        if label != _META_LABEL:
            node_type(label)
    for rel in files.relationships:
        edge_type(rel)
    pid = _server_running(home)
    if pid is not None:
        raise ImportRefusedError(
            f"a Neo4j server (pid {pid}) is running on {home}; neo4j-admin imports into a stopped "
            f"database: stop it first (`python -m ikg.neo4j_local stop --data {home}`)"
        )
    exists = _database_exists(home)
    if exists and not overwrite:
        raise ImportRefusedError(
            f"{home} already holds a '{_DATABASE}' database; neo4j-admin import creates a new one. "
            "Use a fresh --neo4j-home, or --overwrite (with confirmation) to replace a database that "
            "holds only interest-kg's graph"
        )
    if exists:
        foreign = _only_project_data(home)
        if foreign:
            raise ImportRefusedError(
                f"the database in {home} holds {foreign} nodes interest-kg did not write; it is not "
                "replaced. Import into a fresh --neo4j-home instead"
            )
    lib = neo4j_local.resolve_jars()
    java = shutil.which("java")
    if java is None:
        raise ImportRefusedError("java is not on PATH; neo4j-admin needs Java 17 or 21")
    neo4j_local.prepare_home(home)
    command = [
        java,
        "-Xmx1g",
        "-cp",
        f"{lib}/*",
        _ADMIN_MAIN,
        "database",
        "import",
        "full",
        *files.arguments(),
        f"--report-file={home / 'logs' / 'import.report'}",
        *(["--overwrite-destination=true"] if exists else []),
        _DATABASE,
    ]
    env = {**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(home / "conf")}
    log_path = home / "logs" / "import.log"
    lines: list[str] = []
    with open(log_path, "w", encoding="utf-8") as log_file:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            log_file.write(line)
            lines.append(line.rstrip())
            if echo and line.strip():
                echo(line.rstrip())
        code = proc.wait()
    if code != 0:
        tail = "\n".join(lines[-15:])
        raise ImportRefusedError(f"neo4j-admin import failed (exit {code}); log {log_path}:\n{tail}")
    finished = finish_local(home, files.folder) if finish_after else {}
    return {
        "home": str(home),
        "database": _DATABASE,
        "counts": files.counts,
        "empty_lists_set": finished,
        "log": str(log_path),
    }


def finish(store: Neo4jStore, folder: str | os.PathLike[str]) -> dict[str, int]:
    """Complete an imported database: schema, indexes populated, and the empty lists set."""
    store.apply_schema()
    path = Path(folder) / EMPTY_LISTS
    empties = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    done: dict[str, int] = {}
    with store._session() as session:
        session.run("CALL db.awaitIndexes(600)").consume()
        for label, props in empties.get("nodes", {}).items():
            nt = node_type(label)
            for prop, keys in props.items():
                if nt.kind_of(prop) != STR_LIST:
                    raise ImportRefusedError(f"{path}: {label}.{prop} is not a list property")
                query = f"UNWIND $keys AS k MATCH (n:`{nt.label}` {{`{nt.key}`: k}}) SET n.`{prop}` = []"
                session.execute_write(lambda tx, q=query, k=keys: tx.run(q, keys=k).consume())
                done[f"{label}.{prop}"] = len(keys)
        for rel, props in empties.get("relationships", {}).items():
            et = edge_type(rel)
            src, dst = node_type(et.source), node_type(et.target)
            for prop, pairs in props.items():
                if et.kind_of(prop) != STR_LIST:
                    raise ImportRefusedError(f"{path}: {rel}.{prop} is not a list property")
                query = (
                    f"UNWIND $pairs AS p MATCH (:`{src.label}` {{`{src.key}`: p[0]}})"
                    f"-[r:`{et.type}`]->(:`{dst.label}` {{`{dst.key}`: p[1]}}) SET r.`{prop}` = []"
                )
                session.execute_write(lambda tx, q=query, k=pairs: tx.run(q, pairs=k).consume())
                done[f"{rel}.{prop}"] = len(pairs)
    return done


def finish_local(home: str | os.PathLike[str], folder: str | os.PathLike[str]) -> dict[str, int]:
    """Start the imported server home on a free port, `finish` it, stop it again."""
    server = neo4j_local.start(home, port=neo4j_local.free_port())
    try:
        store = Neo4jStore(Neo4jConfig(server.uri, "neo4j", server.password), apply_schema=False)
        try:
            return finish(store, folder)
        finally:
            store.close()
    finally:
        server.stop()
