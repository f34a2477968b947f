"""Run the saved exploration queries of `cypher/queries/` (or any Cypher) against Neo4j.

    from ikg.cypher_kit import run_saved
    rows = run_saved(Neo4jConfig.from_env(), "user_top_interests", {"user_id": "demo-u001"})

Parameters arrive as strings (from the command line) and are coerced to the types the query
header declares (`int`, `float`, `bool`, `string`); missing required parameters are named
in a `ParamError` before anything is sent. Queries run in a **read transaction**
(`session.execute_read`), so the database itself refuses any write (Neo4j answers with
`Neo.ClientError.Statement.AccessMode`, raised here as `ReadOnlyError`); `write=True` runs
them in a write transaction instead.

The click group `cypher` (mounted by the CLI as `ikg cypher`) offers `list`, `show NAME [--browser]` and
`run NAME --param key=value ... [--write] [--json]`; the connection comes from NEO4J_URI,
NEO4J_USER, NEO4J_PASSWORD and NEO4J_DATABASE.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from cypher import (
    QueryError,
    SavedQuery,
    coerce_value,
    list_queries,
    load_query,
    parse_query,
    referenced_params,
)
from kg.neo4j_store import Neo4jConfig

ACCESS_MODE_CODE = "Neo.ClientError.Statement.AccessMode"
"""The Neo4j error code of a write attempted in a read transaction."""

ENV_HELP = (
    "set NEO4J_URI (e.g. export NEO4J_URI=bolt://localhost:7687), NEO4J_USER (default neo4j), "
    "NEO4J_PASSWORD and optionally NEO4J_DATABASE (default neo4j); "
    "or start a local server with `python -m ikg.neo4j_local start` and use the values it prints"
)


class CypherKitError(RuntimeError):
    """A query that could not be run; the message says why and what to do."""


class ParamError(CypherKitError, ValueError):
    """Parameters that are missing, unknown or of the wrong type."""


class ReadOnlyError(CypherKitError):
    """The database refused a write because the query ran in a read transaction."""


# ---- parameters -----------------------------------------------------------------------------
def bind_params(
    query: SavedQuery, params: Mapping[str, Any] | None = None, strict: bool | None = None
) -> dict[str, Any]:
    """The parameters to send for `query`: given values coerced to their declared types,
    defaults filled in. Missing or badly typed parameters raise ParamError, and so do unknown
    ones when `strict` (default: when the query declares parameters or is a saved file)."""
    params = dict(params or {})
    declared = {p.name: p for p in query.params}
    used = referenced_params(query.text)
    label = query.name or "query"
    unknown = sorted(k for k in params if k not in declared and k not in used)
    if strict is None:
        strict = bool(declared) or query.path is not None
    if unknown and strict:
        takes = ", ".join(p.signature() for p in query.params) or "no parameters"
        raise ParamError(f"{label}: unknown parameter(s) {', '.join(unknown)}; it takes {takes}")
    bound: dict[str, Any] = {}
    errors: list[str] = []
    for name, value in params.items():
        spec = declared.get(name)
        try:
            bound[name] = coerce_value(value, spec.type, name) if spec is not None else value
        except (ValueError, QueryError) as exc:
            errors.append(str(exc))
    if errors:
        raise ParamError(f"{label}: " + "; ".join(errors))
    for spec in query.params:
        if spec.name not in bound and not spec.required:
            bound[spec.name] = spec.default
    missing = [p.name for p in query.params if p.required and bound.get(p.name) is None]
    missing += [name for name in used if name not in declared and name not in bound]
    if missing:
        how = " ".join(f"--param {name}=..." for name in missing)
        raise ParamError(
            f"{label}: missing required parameter(s): {', '.join('$' + m for m in missing)} "
            f"(give them as {how})"
        )
    return bound


def parse_param_pairs(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`["k=v", ...]` from the command line -> `{"k": "v"}` (values stay strings)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().lstrip("$")
        if not sep or not key:
            raise ParamError(f"--param {pair!r}: write it as key=value (e.g. --param user_id=demo-u001)")
        out[key] = value
    return out


# ---- results --------------------------------------------------------------------------------
def to_plain(value: Any) -> Any:
    """A Neo4j value as plain Python (nodes and relationships become dicts of their properties)."""
    from neo4j.graph import Node, Relationship
    from neo4j.graph import Path as GraphPath

    if isinstance(value, Node):
        return {"_labels": sorted(value.labels), **{k: to_plain(v) for k, v in value.items()}}
    if isinstance(value, Relationship):
        return {"_type": value.type, **{k: to_plain(v) for k, v in value.items()}}
    if isinstance(value, GraphPath):
        return {
            "nodes": [to_plain(n) for n in value.nodes],
            "relationships": [to_plain(r) for r in value.relationships],
        }
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if hasattr(value, "iso_format"):
        return value.iso_format()
    return value


# ---- execution ------------------------------------------------------------------------------
def _driver_for(target: Any):
    """(driver, database, owned): a Neo4jConfig (or a store's) gets its own driver; a driver is used as is."""
    if not isinstance(target, Neo4jConfig) and isinstance(getattr(target, "config", None), Neo4jConfig):
        target = target.config  # a kg.neo4j_store.Neo4jStore
    if isinstance(target, Neo4jConfig):
        from neo4j import GraphDatabase

        driver = GraphDatabase.driver(
            target.uri, auth=(target.user, target.password), notifications_min_severity="OFF"
        )
        return driver, target.database, True
    if hasattr(target, "session") and hasattr(target, "verify_connectivity"):
        return target, None, False
    raise TypeError(f"expected a kg.neo4j_store.Neo4jConfig or a neo4j Driver, got {type(target).__name__}")


def _execute(
    target: Any, text: str, params: dict[str, Any], write: bool, database: str | None, label: str
) -> list[dict]:
    from neo4j.exceptions import AuthError, ClientError, ServiceUnavailable  # AuthError is a ClientError

    driver, default_db, owned = _driver_for(target)
    db = database or default_db

    def work(tx):
        result = tx.run(text, params)
        return [{key: to_plain(value) for key, value in record.items()} for record in result]

    try:
        if owned:
            driver.verify_connectivity()  # fail fast: transaction retries would wait ~30 s
        with driver.session(database=db) as session:
            return session.execute_write(work) if write else session.execute_read(work)
    except (AuthError, ServiceUnavailable) as exc:
        config = target if isinstance(target, Neo4jConfig) else getattr(target, "config", None)
        where = f" at {config.uri} as user {config.user!r}" if isinstance(config, Neo4jConfig) else ""
        raise CypherKitError(
            f"cannot reach Neo4j{where}: {type(exc).__name__}: {exc}. Check the connection: {ENV_HELP}"
        ) from exc
    except ClientError as exc:
        if exc.code == ACCESS_MODE_CODE:
            raise ReadOnlyError(
                f"{label}: the database refused a write in a read transaction ({exc.code}). "
                "Saved queries are read-only; pass write=True (CLI: --write) to run a writing query."
            ) from exc
        raise CypherKitError(f"{label}: Neo4j refused the query: {exc.code}: {exc.message}") from exc
    finally:
        if owned:
            driver.close()


def run_saved(
    config_or_driver: Any,
    name: str,
    params: Mapping[str, Any] | None = None,
    write: bool = False,
    database: str | None = None,
) -> list[dict]:
    """Run the saved query `name` with `params` (strings are coerced to the declared types).

    Read transaction by default (the database refuses writes: ReadOnlyError); `write=True`
    runs it in a write transaction. Returns one dict per row, keys in RETURN order.
    """
    query = load_query(name)
    bound = bind_params(query, params, strict=True)
    return _execute(config_or_driver, query.text, bound, write, database, name)


def run_text(
    config_or_driver: Any,
    text: str,
    params: Mapping[str, Any] | None = None,
    write: bool = False,
    database: str | None = None,
) -> list[dict]:
    """Run any Cypher text. A `// params:` header in it declares types and defaults as in the
    saved queries; without one, values are sent as given. Every `$name` the text uses must be
    given (or defaulted), else ParamError names the missing ones."""
    query = parse_query(text, "query")
    bound = bind_params(query, params)
    return _execute(config_or_driver, query.text, bound, write, database, query.name or "query")


# ---- CLI ------------------------------------------------------------------------------------
def config_from_env() -> Neo4jConfig:
    """The connection from NEO4J_* variables, or a click error that says how to set them."""
    config = Neo4jConfig.from_env()
    if config is None:
        raise click.ClickException(f"NEO4J_URI is not set: {ENV_HELP}.")
    return config


_FIRST_KEYS = ("key", "id", "name", "title")


def _cell(value: Any, top: bool = True) -> str:
    """A compact, readable rendering of a value for a table cell."""
    if value is None:
        return "" if top else "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) >= 1e4:
            return str(int(value))
        return f"{value:.1f}" if abs(value) >= 1e4 else f"{value:.4g}"
    if isinstance(value, dict):
        keys = [k for k in _FIRST_KEYS if k in value] + sorted(k for k in value if k not in _FIRST_KEYS)
        return "{" + ", ".join(f"{k}: {_cell(value[k], False)}" for k in keys) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_cell(v, False) for v in value) + "]"
    return str(value)


def _print_table(rows: list[dict], title: str) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    if not rows:
        console.print(Text(f"{title}: no rows"))
        return
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(_cell(row.get(c))) for c in columns))  # Text: no markup in data
    console.print(table)
    console.print(f"{len(rows)} row{'s' if len(rows) != 1 else ''}")


@click.group("cypher")
def cypher() -> None:
    """Saved Cypher queries for exploring the interest graph in Neo4j.

    The connection comes from NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE.
    """


@cypher.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(as_json: bool) -> None:
    """List the saved queries with their purpose and parameters."""
    queries = list_queries()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": q.name,
                        "purpose": q.purpose,
                        "example": q.example,
                        "params": [
                            {
                                "name": p.name,
                                "type": p.type,
                                "required": p.required,
                                "default": p.default,
                                "description": p.description,
                            }
                            for p in q.params
                        ],
                    }
                    for q in queries
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="saved queries (ikg cypher run NAME --param key=value)")
    table.add_column("name", no_wrap=True)
    table.add_column("params")
    table.add_column("purpose", overflow="fold")
    for q in queries:
        table.add_row(Text(q.name), Text("\n".join(p.signature() for p in q.params) or "-"), Text(q.purpose))
    Console().print(table)


def _cypher_literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def browser_params(query: SavedQuery, values: Mapping[str, Any] | None = None) -> str:
    """A `:params {...}` line for Neo4j Browser / cypher-shell: given values, else the defaults,
    else a `<name>` placeholder for a required parameter."""
    values = dict(values or {})
    parts = []
    for p in query.params:
        if p.name in values:
            value = coerce_value(values[p.name], p.type, p.name)
        elif p.required:
            value = f"<{p.name}>"
        else:
            value = p.default
        parts.append(f"{p.name}: {_cypher_literal(value)}")
    return ":params {" + ", ".join(parts) + "}"


@cypher.command("show")
@click.argument("name")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A value for the :params line (with --browser).",
)
@click.option(
    "--browser",
    is_flag=True,
    help="Start with a `:params {...}` line (defaults filled in) for Neo4j Browser / cypher-shell.",
)
def show_command(name: str, params: tuple[str, ...], browser: bool) -> None:
    """Print a saved query's file (header and Cypher), e.g. to paste into Neo4j Browser."""
    try:
        query = load_query(name)
        head = browser_params(query, parse_param_pairs(params)) + "\n" if browser else ""
    except (QueryError, ParamError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(head + (query.path.read_text(encoding="utf-8") if query.path else query.text + ";"), nl=False)


@cypher.command("run")
@click.argument("name")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A query parameter; repeat for several (e.g. --param user_id=demo-u001).",
)
@click.option("--write", is_flag=True, help="Run in a write transaction (default: read-only).")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON instead of a table.")
def run_command(name: str, params: tuple[str, ...], write: bool, as_json: bool) -> None:
    """Run the saved query NAME (or a .cypher file with the same header format)."""
    try:
        values = parse_param_pairs(params)
        path = Path(name)
        if name.endswith(".cypher") and path.is_file():
            text, label = path.read_text(encoding="utf-8"), path.stem
            bind_params(parse_query(text, label), values)
        else:
            text, label = None, name
            bind_params(load_query(name), values)
        config = config_from_env()
        if text is None:
            rows = run_saved(config, name, values, write=write)
        else:
            rows = run_text(config, text, values, write=write)
    except (CypherKitError, QueryError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
    else:
        _print_table(rows, label)


group = cypher
"""The click group to mount as `ikg cypher`."""

if __name__ == "__main__":  # pragma: no cover
    cypher()
