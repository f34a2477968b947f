"""Helpers of the `ikg` command line: one-line errors, options accepted after the command,
plain number formatting and telling an items file from an events file by its columns.

Kept apart from `ikg.cli` and free of heavy imports, so `ikg --help` starts fast.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import json
import lzma
import math
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import click

_OPENERS: dict[str, Callable[..., IO[str]]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_COMPRESSED = tuple(_OPENERS)


def error_line(err: BaseException) -> str:
    """One line saying what went wrong and how to fix it (the CLI prints it after `Error: `)."""
    from ikg.inputs import NotRefreshedError

    if isinstance(err, NotRefreshedError):
        return (
            "nothing to serve yet: no refresh has completed in this folder. "
            "Fix: run `ikg ingest items.csv events.csv`, then `ikg refresh` (or check --path / $IKG_PATH)"
        )
    message = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    message = " ".join(message.split())
    if isinstance(err, (ValueError, KeyError, OSError)):
        return message
    return f"{type(err).__name__}: {message} (unexpected; rerun with --debug for the traceback)"


def _flag_callback(key: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.ensure_object(dict)[key] = True

    return callback


class IkgGroup(click.Group):
    """The `ikg` group: `--json`/`--debug` also after a command, and errors as one `Error:` line."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Give each plain command the group's --json and --debug flags (the `eval` and `cypher` parsers keep their own)."""
        if not isinstance(cmd, click.Group) and not cmd.context_settings.get("ignore_unknown_options"):
            names = {p.name for p in cmd.params}
            for flag, key, text in (
                ("--json", "json", "print JSON instead of tables"),
                ("--debug", "debug", "show the full traceback of an error"),
            ):
                if key not in names:
                    cmd.params.append(
                        click.Option(
                            [flag], is_flag=True, expose_value=False, help=text, callback=_flag_callback(key)
                        )
                    )
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; an exception becomes `Error: <what and the fix>` and exit status 1."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as err:
            if (ctx.obj or {}).get("debug"):
                raise
            raise click.ClickException(error_line(err)) from None


def plain_number(value: Any) -> str:
    """A plain decimal: 2 decimals from 1 up, else 4 significant digits (never 1e-05 notation)."""
    x = float(value)
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    if abs(x) >= 1:
        return f"{x:.2f}"
    digits = 3 - math.floor(math.log10(abs(x)))
    return f"{x:.{digits}f}".rstrip("0").rstrip(".")


def drift_window_label(window: dict[str, str]) -> str:
    """A drift period as readable dates: `2024-01-05 to 2024-03-01` (times when within one day)."""
    start, end = window["start"], window["end"]
    if start[:10] == end[:10]:
        return f"{start[:10]} {start[11:16]} to {end[11:16]}"
    return f"{start[:10]} to {end[:10]}"


def _columns(path: Path) -> list[str]:
    """The column names of a CSV/TSV/JSONL/JSON/Parquet file, read from its head only."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = suffixes[-1] if suffixes and suffixes[-1] in _COMPRESSED else None
    fmt = (suffixes[-2] if compression and len(suffixes) > 1 else suffixes[-1]) if suffixes else ""
    if fmt in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    opener = _OPENERS.get(compression or "", open)
    with opener(path, "rt", encoding="utf-8-sig") as f:
        if fmt in (".csv", ".tsv"):
            return [c.strip() for c in next(csv.reader(f, delimiter="\t" if fmt == ".tsv" else ","), [])]
        if fmt in (".jsonl", ".ndjson", ".json"):
            head = f.read(1 << 20)
            if head.lstrip().startswith("["):
                first = json.loads(head if compression is None else head + f.read()) or [{}]
                return list(first[0]) if isinstance(first[0], dict) else []
            line = next((ln for ln in head.splitlines() if ln.strip()), "{}")
            record = json.loads(line)
            return list(record) if isinstance(record, dict) else []
    raise click.UsageError(
        f"{path}: cannot tell its format from the name; use .csv, .tsv, .jsonl, .json or .parquet, "
        "or say what it is with --items or --events"
    )


def sniff_table_kind(path: str | Path) -> str:
    """'events' when the file has a user_id column, 'items' when it has title or domain, else a UsageError."""
    try:
        columns = {c.strip().lower() for c in _columns(Path(path))}
    except (ValueError, OSError) as err:
        raise click.UsageError(
            f"{path}: cannot read its header ({' '.join(str(err).split())}); "
            "say what it is with --items or --events"
        ) from None
    if "user_id" in columns:
        return "events"
    if columns & {"title", "domain", "item_id"}:
        return "items"
    raise click.UsageError(
        f"{path}: has neither a user_id column (events) nor title/domain (items); "
        "say what it is with --items or --events"
    )
