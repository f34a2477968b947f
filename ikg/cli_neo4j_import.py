"""`ikg neo4j-import`: an initial Neo4j load with neo4j-admin from the active version (see ikg.neo4j_import)."""

from __future__ import annotations

import json
import os

import click


@click.command("neo4j-import")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="folder for the CSV files")
@click.option(
    "--neo4j-home",
    type=click.Path(file_okay=False),
    default=None,
    help="also run the import into this stopped local server home (python -m ikg.neo4j_local)",
)
@click.option(
    "--overwrite", is_flag=True, help="replace a database there that holds only interest-kg's graph"
)
@click.option("--yes", is_flag=True, help="with --overwrite: do not ask for confirmation")
@click.option(
    "--finish",
    "finish_only",
    is_flag=True,
    help="after running import.sh yourself: schema, indexes and empty lists on the server of NEO4J_URI",
)
@click.pass_context
def neo4j_import(
    ctx: click.Context, out: str, neo4j_home: str | None, overwrite: bool, yes: bool, finish_only: bool
) -> None:
    """Write the active version as neo4j-admin CSV files + import.sh; optionally run the import locally."""
    from ikg.neo4j_import import ImportRefusedError, finish, run_import, write_import_files
    from ikg.workdir import Workdir
    from kg.neo4j_store import Neo4jConfig, Neo4jStore

    try:
        if finish_only:
            config = Neo4jConfig.from_env()
            if config is None:
                raise click.UsageError("--finish needs NEO4J_URI (and NEO4J_USER, NEO4J_PASSWORD)")
            store = Neo4jStore(config, apply_schema=False)
            try:
                click.echo(json.dumps({"empty_lists_set": finish(store, out)}))
            finally:
                store.close()
            return
        path = ctx.obj["path"] or ("ikg-neo4j-state" if ctx.obj["neo4j"] else "ikg-data")
        if not os.path.isdir(path):
            raise click.ClickException(
                f"no interest-kg folder at {path}; give --path (run `ikg refresh` first)"
            )
        state = Workdir(path).load_state()
        if state.version is None:
            raise click.ClickException(f"{path} has no active version yet; run `ikg refresh` first")
        files = write_import_files(state, out)
        result: dict = {"version": state.version, "files": str(files.folder), "counts": files.counts}
        result["command"] = f"cd {files.folder} && ./import.sh"
        if neo4j_home:
            if overwrite and not yes:
                click.confirm(
                    f"replace the database in {neo4j_home} (only if it holds nothing but interest-kg's graph)?",
                    abort=True,
                )
            result["import"] = run_import(files, neo4j_home, overwrite=overwrite, echo=click.echo)
    except ImportRefusedError as err:
        raise click.ClickException(str(err)) from None
    click.echo(json.dumps(result, indent=None if ctx.obj["json"] else 2))
