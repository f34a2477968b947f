"""The `ikg` command line: readable tables by default, `--json` for machines.

    ikg ingest items.csv events.jsonl     validate and stage data (bad rows -> quarantine)
    ikg refresh [--full] [--engine spark] update graph and vectors, swap the version atomically
    ikg recommend USER [--domain films]   top-k items with match and reasons
    ikg migrate USER TARGET_DOMAIN        interests carried into a domain, with bridges
    ikg explain USER ITEM                 graph paths, each with the Cypher that returns it
    ikg profile USER                      interest points, topics, drift
    ikg feedback USER ITEM like|dislike   record feedback (a dislike filters at once)
    ikg forget USER                       remove a user and everything derived from them
    ikg versions | rollback VERSION       kept versions; serve an earlier one again
    ikg demo                              the whole pipeline on the shipped sample catalog
    ikg eval ...                          evaluation against baselines
    ikg cypher list | run NAME            saved exploration queries (read-only by default)
    ikg serve [--host] [--port]           the API over HTTP (extra: interest-kg[server])
    ikg neo4j-import --out DIR            neo4j-admin CSV files of the active version (initial load)

The graph lives in `--path` (default ./ikg-data, or $IKG_PATH) with the embedded store;
`--neo4j` uses the server named by NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD instead.
`--json` and `--debug` work before or after the command. A failure prints one line
`Error: ...` with the fix and exits with status 1; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ikg.cli_support import IkgGroup, drift_window_label, plain_number, sniff_table_kind

console = Console()


def _open(ctx: click.Context):
    from ikg import InterestGraph

    opts = ctx.obj
    if opts["neo4j"]:
        uri = os.environ.get("NEO4J_URI")
        if not uri:
            raise click.UsageError(
                "--neo4j needs NEO4J_URI (and NEO4J_USER, NEO4J_PASSWORD) in the environment"
            )
        return InterestGraph.open(
            opts["path"] or "ikg-neo4j-state",
            neo4j_uri=uri,
            auth=(os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", "")),
            database=os.environ.get("NEO4J_DATABASE", "neo4j"),
        )
    return InterestGraph.open(opts["path"] or "ikg-data")


def _emit(ctx: click.Context, payload: Any, table: Table | None = None) -> None:
    if ctx.obj["json"] or table is None:
        click.echo(json.dumps(payload, default=str, indent=None if ctx.obj["json"] else 2))
    else:
        console.print(table)


@click.group(cls=IkgGroup, help=__doc__)
@click.option("--path", envvar="IKG_PATH", default=None, help="working folder (default ./ikg-data)")
@click.option("--neo4j", is_flag=True, help="use the Neo4j server of NEO4J_URI instead of the embedded store")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of tables")
@click.option("--debug", is_flag=True, help="show the full traceback of an error")
@click.option("-v", "--verbose", is_flag=True, help="log what happens")
@click.pass_context
def main(
    ctx: click.Context, path: str | None, neo4j: bool, as_json: bool, debug: bool, verbose: bool
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    ctx.ensure_object(dict)
    ctx.obj.update(path=path, neo4j=neo4j, json=as_json or ctx.obj.get("json", False))
    ctx.obj["debug"] = debug or ctx.obj.get("debug", False)


@main.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--items",
    "item_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="items file (CSV/TSV/Parquet/JSONL)",
)
@click.option(
    "--events", "event_files", multiple=True, type=click.Path(exists=True, dir_okay=False), help="events file"
)
@click.option(
    "--allow-forgotten", is_flag=True, help="accept events of users removed by `ikg forget` (they returned)"
)
@click.pass_context
def ingest(
    ctx: click.Context,
    files: tuple[str, ...],
    item_files: tuple[str, ...],
    event_files: tuple[str, ...],
    allow_forgotten: bool,
) -> None:
    """Validate items and events and stage them for the next refresh.

    FILES are told apart by their columns (user_id -> events, else items); --items/--events say it
    explicitly. Items are ingested before events.

    \b
    Examples:
      ikg ingest items.csv events.jsonl
      ikg ingest --items items.csv --events events.jsonl
    """
    for f in files:
        if sniff_table_kind(f) == "events":
            event_files += (f,)
        else:
            item_files += (f,)
    if not item_files and not event_files:
        raise click.UsageError("give at least one file, e.g. ikg ingest items.csv events.jsonl")
    with _open(ctx) as ig:
        reports = [ig.ingest_items(f) for f in item_files] + [
            ig.ingest_events(f, allow_forgotten=allow_forgotten) for f in event_files
        ]
    table = Table("source", "read", "accepted", "quarantined", "deduplicated", title="ingest")
    for r in reports:
        table.add_row(
            str(r["source"]), *(str(r[k]) for k in ("read", "accepted", "quarantined", "deduplicated"))
        )
    _emit(ctx, reports, table)


@main.command()
@click.option("--full", is_flag=True, help="re-extract everything and rebuild the graph")
@click.option(
    "--wait",
    default=0.0,
    show_default=True,
    help="seconds to wait for a refresh already running on this folder (else fail at once)",
)
@click.option(
    "--engine", type=click.Choice(["local", "spark"]), default="local", help="where the heavy stages run"
)
@click.option("--spark-master", default=None, help="Spark master URL (default local[2])")
@click.option("--spark-conf", multiple=True, metavar="KEY=VALUE", help="a spark.* option (repeatable)")
@click.pass_context
def refresh(
    ctx: click.Context,
    full: bool,
    wait: float,
    engine: str,
    spark_master: str | None,
    spark_conf: tuple[str, ...],
) -> None:
    """Take only what is new, update graph and vectors, and swap the version atomically."""
    from ikg.spark.session import parse_conf

    try:
        conf = parse_conf(spark_conf)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--spark-conf") from exc
    with _writer_errors(), _open(ctx) as ig:
        report = ig.refresh(
            full=full,
            progress=not ctx.obj["json"],
            wait=wait,
            engine=engine,
            spark_master=spark_master,
            spark_conf=conf,
        )
    table = Table("what", "value", title="refresh" + (" (nothing new)" if report.noop else ""))
    table.add_row("model version", str(report.model_version))
    table.add_row("new items / events", f"{report.new_items} / {report.new_events}")
    if report.gnn.get("reason"):
        done = "retrained" if report.gnn.get("retrained") else "not retrained"
        table.add_row("gnn", f"{done}: {report.gnn['reason']}")
    for name, count in report.counts.items():
        table.add_row(name, str(count))
    for name, secs in report.timings.items():
        table.add_row(f"time {name}", f"{secs:.2f}s")
    _emit(ctx, report.to_dict(), table)


def _recs_table(title: str, recs) -> Table:
    if getattr(recs, "cold_start", False) or any(r.cold_start for r in recs):
        title += " (cold start: no history for this user, popular items)"
    table = Table("#", "item", "title", "domain", "score", "match", "why", title=title)
    for n, r in enumerate(recs, 1):
        table.add_row(
            str(n),
            r.item_id,
            r.title,
            r.domain,
            plain_number(r.score),
            f"{round(100 * r.similarity)}%",
            "; ".join(r.reasons[:2]),
        )
    return table


@main.command()
@click.argument("user_id")
@click.option("-k", default=10, show_default=True)
@click.option("--domain", default=None, help="only items of this domain")
@click.option("--include-seen", is_flag=True, help="keep items the user already engaged with")
@click.option("--diversity", default=0.0, show_default=True, help="MMR re-ranking strength in [0, 1]")
@click.pass_context
def recommend(
    ctx: click.Context, user_id: str, k: int, domain: str | None, include_seen: bool, diversity: float
) -> None:
    """Top-k items for USER_ID with a readable match and reasons.

    Example: ikg recommend demo-u001 --domain films -k 5
    """
    with _open(ctx) as ig:
        recs = ig.recommend(user_id, k=k, domain=domain, exclude_seen=not include_seen, diversity=diversity)
    _emit(ctx, [r.to_dict() for r in recs], _recs_table(f"recommendations for {user_id}", recs))


@main.command()
@click.argument("user_id")
@click.argument("target_domain")
@click.option("-k", default=10, show_default=True)
@click.pass_context
def migrate(ctx: click.Context, user_id: str, target_domain: str, k: int) -> None:
    """Carry USER_ID's interests into TARGET_DOMAIN (works with no history there).

    Example: ikg migrate demo-cold music
    """
    with _open(ctx) as ig:
        result = ig.migrate(user_id, target_domain, k=k)
    if ctx.obj["json"]:
        _emit(ctx, result.to_dict())
        return
    bridges = Table(
        "interest",
        "weight",
        "via",
        "from",
        "leads to",
        title=f"bridges into {target_domain}" + (" (cold start)" if result.cold_start else ""),
    )
    for b in result.bridges:
        bridges.add_row(
            b.name,
            plain_number(b.weight),
            b.via,
            ", ".join(b.source_items[:3]),
            ", ".join(b.target_items[:3]),
        )
    console.print(bridges)
    console.print(_recs_table(f"{target_domain} for {user_id}", result.items))


@main.command()
@click.argument("user_id")
@click.argument("item_id")
@click.option("--limit", default=5, show_default=True)
@click.pass_context
def explain(ctx: click.Context, user_id: str, item_id: str, limit: int) -> None:
    """Graph paths from USER_ID to ITEM_ID, each with the Cypher that returns it."""
    from ikg.inputs import UnknownUserError, no_history_message

    with _open(ctx) as ig:
        paths = ig.explain(user_id, item_id, limit=limit)
        if not paths and not ig.known_user(user_id):
            raise UnknownUserError(no_history_message(user_id))
    table = Table(
        "kind",
        "path",
        "score",
        "cypher (run with: ikg cypher, or Neo4j Browser)",
        title=f"why {item_id} for {user_id}",
    )
    for p in paths:
        table.add_row(
            p.kind,
            " -> ".join(f"{s.label}:{s.name}" for s in p.nodes),
            plain_number(p.score),
            f"{p.cypher}\nparams: {json.dumps(p.params, ensure_ascii=False)}",
        )
    _emit(ctx, [p.to_dict() for p in paths], table)


@main.command()
@click.argument("user_id")
@click.pass_context
def profile(ctx: click.Context, user_id: str) -> None:
    """USER_ID's interest points, topics and drift."""
    with _open(ctx) as ig:
        prof = ig.profile(user_id)
    if ctx.obj["json"]:
        _emit(ctx, prof.to_dict())
        return
    engaged = ", ".join(f"{n} item{'s' if n != 1 else ''} in {d}" for d, n in prof.domains.items())
    title = f"interests of {prof.user_id}" + (f" ({engaged})" if engaged else "")
    if prof.cold_start:
        title += " (no history for this user)"
    table = Table("interest", "weight", "domains", "source", title=title)
    for i in prof.interests:
        table.add_row(i.name, plain_number(i.weight), ", ".join(i.domains), i.source)
    console.print(table)
    if prof.topics:
        topics = Table("topic", "weight", title=f"topics of {prof.user_id}")
        for t in prof.topics:
            topics.add_row(str(t["name"]), plain_number(t["weight"]))
        console.print(topics)
    windows = [drift_window_label(w) for w in prof.drift_windows]
    drift = Table(
        "concept", *windows, "direction", title=f"drift of {prof.user_id} (share of engagement per period)"
    )
    for d in prof.drift:
        drift.add_row(d["name"], *(plain_number(v) for v in d["by_window"]), d["direction"])
    console.print(drift)


@main.command()
@click.argument("user_id")
@click.argument("item_id")
@click.argument("kind", type=click.Choice(["like", "dislike", "click", "view", "purchase", "share", "cart"]))
@click.option(
    "--allow-forgotten",
    is_flag=True,
    help="accept feedback of a user removed by `ikg forget` (they returned)",
)
@click.pass_context
def feedback(ctx: click.Context, user_id: str, item_id: str, kind: str, allow_forgotten: bool) -> None:
    """Record feedback; a dislike filters the item at once, learning happens on refresh."""
    with _open(ctx) as ig:
        _emit(ctx, ig.feedback(user_id, item_id, kind, allow_forgotten=allow_forgotten))


@main.command()
@click.argument("user_id")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@click.pass_context
def forget(ctx: click.Context, user_id: str, yes: bool) -> None:
    """Remove USER_ID and everything derived from them."""
    if not yes:
        click.confirm(f"remove user {user_id!r} and everything derived from them?", abort=True)
    with _writer_errors(), _open(ctx) as ig:
        _emit(ctx, ig.forget_user(user_id))


@main.command()
@click.pass_context
def versions(ctx: click.Context) -> None:
    """Versions kept for rollback, newest first (the serving one marked)."""
    with _writer_errors(), _open(ctx) as ig:
        kept = ig.versions()
    table = Table("", "version", "created", "inbox seq", "graph", title="versions")
    for v in kept:
        created = datetime.fromtimestamp(float(v.get("created", 0)), UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(
            "*" if v["active"] else "",
            v["version"],
            created,
            str(v.get("inbox_seq")),
            str(v.get("graph", "")),
        )
    _emit(ctx, kept, table)


@main.command()
@click.argument("version")
@click.option("--wait", default=0.0, show_default=True, help="seconds to wait for a running refresh")
@click.pass_context
def rollback(ctx: click.Context, version: str, wait: float) -> None:
    """Serve VERSION (one of `ikg versions`) again."""
    with _writer_errors(), _open(ctx) as ig:
        _emit(ctx, ig.rollback(version, wait=wait))


@contextmanager
def _writer_errors():
    """Busy folder, unreachable Neo4j, unknown version: one clear line, no traceback."""
    from ikg.locks import RefreshBusyError
    from ikg.workdir import VersionNotFoundError
    from kg.neo4j_store import Neo4jUnavailableError

    try:
        yield
    except (RefreshBusyError, Neo4jUnavailableError, VersionNotFoundError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from None


@main.command()
@click.option("--out", default="demo-output", show_default=True, help="folder for the picture and JSON")
@click.option("--users", default=120, show_default=True, help="synthetic demo users")
@click.option("--fresh/--keep", default=True, help="start from an empty graph (default)")
@click.option("--neo4j", "use_neo4j", is_flag=True, help="load the demo graph into the Neo4j of NEO4J_URI")
@click.option("--reset", is_flag=True, help="empty a folder / database that holds other data first (asks)")
@click.option("--yes", is_flag=True, help="with --reset: do not ask for confirmation")
@click.pass_context
def demo(
    ctx: click.Context, out: str, users: int, fresh: bool, use_neo4j: bool, reset: bool, yes: bool
) -> None:
    """The whole pipeline on the shipped sample catalog: build, recommend, explain, migrate, draw.

    With --neo4j (here or before the command) the graph goes into the Neo4j server of
    NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD, ready for `ikg cypher run ...` and Neo4j Browser.
    The demo only empties a folder or database that holds nothing but demo data; anything
    else is refused unless --reset is given and confirmed.
    """
    from ikg.demo import DemoRefused, run_demo

    neo4j = ctx.obj["neo4j"] or use_neo4j
    if neo4j and not os.environ.get("NEO4J_URI"):
        raise click.UsageError("--neo4j needs NEO4J_URI (and NEO4J_USER, NEO4J_PASSWORD) in the environment")
    confirm = (lambda _question: True) if yes else (lambda q: click.confirm(q, default=False))
    try:
        run_demo(
            ctx.obj["path"] or "ikg-data",
            Path(out),
            n_users=users,
            fresh=fresh,
            neo4j=neo4j,
            console=console,
            reset=reset,
            confirm=confirm,
        )
    except DemoRefused as err:
        raise click.ClickException(str(err)) from None


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True}, add_help_option=False
)
@click.pass_context
def eval(ctx: click.Context) -> None:
    """Evaluate the system beside the built-in baselines (their list: `ikg eval --help`)."""
    from ikg.eval.cli import main as eval_main

    sys.exit(eval_main(list(ctx.args)))


@main.command()
@click.option("--path", "serve_path", default=None, help="working folder (overrides the global --path)")
@click.option("--neo4j", "use_neo4j", is_flag=True, help="serve the Neo4j graph of NEO4J_URI")
@click.option(
    "--neo4j-uri", default=None, help="serve this Neo4j (credentials from NEO4J_USER/NEO4J_PASSWORD)"
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="bind address (beyond loopback needs IKG_API_TOKEN)",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="server processes")
@click.option(
    "--poll",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.05, 60),
    help="seconds between checks for a new version",
)
@click.option("--access-log", is_flag=True, help="log every request line (never headers or tokens)")
@click.pass_context
def serve(
    ctx: click.Context,
    serve_path: str | None,
    use_neo4j: bool,
    neo4j_uri: str | None,
    host: str,
    port: int,
    workers: int,
    poll: float,
    access_log: bool,
) -> None:
    """Serve the API over HTTP; new versions from `ikg refresh` are swapped in live.

    Example: IKG_API_TOKEN=... ikg serve --path ikg-data --port 8000  (OpenAPI at /docs)
    """
    try:
        from ikg.server import ServeConfigError, ServeSpec
        from ikg.server import serve as run_server
    except ImportError as err:
        raise click.ClickException(
            f"ikg serve needs the server extra ({err.name} is missing): pip install 'interest-kg[server]'"
        ) from err
    uri = neo4j_uri or (os.environ.get("NEO4J_URI") if use_neo4j or ctx.obj["neo4j"] else None)
    if (use_neo4j or ctx.obj["neo4j"]) and not uri:
        raise click.UsageError("--neo4j needs NEO4J_URI (and NEO4J_USER, NEO4J_PASSWORD) in the environment")
    spec = ServeSpec(path=serve_path or ctx.obj["path"], neo4j_uri=uri, poll=poll)
    try:
        run_server(spec, host=host, port=port, workers=workers, access_log=access_log)
    except ServeConfigError as err:
        raise click.ClickException(str(err)) from err


def _mount_cypher() -> None:
    try:
        from ikg.cypher_kit import cypher
    except ImportError:
        return
    main.add_command(cypher, "cypher")


_mount_cypher()


def _mount_neo4j_import() -> None:
    from ikg.cli_neo4j_import import neo4j_import

    main.add_command(neo4j_import)


_mount_neo4j_import()

if __name__ == "__main__":
    main()
