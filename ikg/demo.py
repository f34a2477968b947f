"""`ikg demo`: the whole pipeline on the shipped sample catalog, then what it can do.

Loads the catalog (books, films, music) and synthetic users with planted cross-domain tastes,
builds the interest graph (extraction, concepts, topics, GNN), then shows recommendations with
explanations, a migration of the cold-start user `demo-cold` into music, a drifting user's
profile, and draws that migration as a picture (`<out>/migration.png`). Everything it prints
is also written to `<out>/demo.txt` (the README shows an excerpt of it).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ikg.demo_data import COLD_USER, demo_users, load_catalog, make_demo_events
from ikg.graph import InterestGraph

SHOWCASE_USER = "demo-u001"

DEMO_MARKER = ".ikg-demo"
"""A file the demo writes into every folder it owns; only such folders (or new or empty ones) are used."""

DEMO_META_KEY = "ikg_demo"
"""The marker the demo sets in a Neo4j database it loaded (an (:IkgMeta {key}) node)."""

DEMO_USER_PREFIX = "demo-"

_OWN_ENTRIES = ("inbox", "models", "quarantine", "graph", "ACTIVE", "dislikes.json", "forgotten.json")
_OWN_PATTERNS = ("state-*", ".staging-*", ".*.tmp", "*.tmp")


class DemoRefused(RuntimeError):
    """The demo would have to write into or delete data it did not create; nothing was changed."""


def _ask(question: str) -> bool:
    import click

    return click.confirm(question, default=False)


def prepare_folder(path: Path, reset: bool = False, confirm: Callable[[str], bool] = _ask) -> None:
    """Make `path` a folder the demo owns: new, empty, or marked by an earlier demo; else refuse.

    A marked folder loses only the entries the demo writes (inbox, state, models, graph, ...).
    An unmarked folder with files is used only with `reset` and a yes from `confirm`, which
    deletes everything in it.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise DemoRefused(f"{path} is a file, not a folder; nothing was changed. Fix: pass another --path.")
    if path.is_dir() and (path / DEMO_MARKER).exists():
        for entry in _own_entries(path):
            _remove(entry)
    elif path.is_dir() and any(path.iterdir()):
        names = sorted(p.name for p in path.iterdir())
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        if not reset:
            raise DemoRefused(
                f"{path} already holds files the demo did not create ({shown}); nothing was changed. "
                "Fix: pass another folder (ikg --path ikg-demo demo), or add --reset to delete "
                "everything in it first (asks for confirmation; --yes skips the question)."
            )
        if not confirm(f"Delete everything in {path} ({len(names)} entries: {shown})?"):
            raise DemoRefused(f"not confirmed; nothing in {path} was deleted.")
        for entry in list(path.iterdir()):
            _remove(entry)
    path.mkdir(parents=True, exist_ok=True)
    (path / DEMO_MARKER).write_text("folder created by `ikg demo`; the demo may empty it on its next run\n")


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink()


def _own_entries(path: Path) -> list[Path]:
    found = {path / name for name in _OWN_ENTRIES if (path / name).exists() or (path / name).is_symlink()}
    for pattern in _OWN_PATTERNS:
        found.update(path.glob(pattern))
    return sorted(found)


def prepare_database(store: Any, reset: bool = False, confirm: Callable[[str], bool] = _ask) -> None:
    """Clear a Neo4j database for the demo only when it holds nothing but demo data; else refuse.

    Demo data: the database carries the demo marker and its users and items are the demo's.
    Without the marker any node counts as someone else's. With `reset` and a yes from
    `confirm`, the project's nodes are removed (nodes with other labels are never touched).
    """
    from ikg.demo_data import load_catalog

    marked = store.get_meta(DEMO_META_KEY) is not None
    catalog = load_catalog()["item_id"].tolist()
    others = store.count_keys_outside("User", prefix=DEMO_USER_PREFIX) + store.count_keys_outside(
        "Item", catalog
    )
    project = sum(store.counts().get(label, 0) for label in ("User", "Item", "Concept", "Topic", "Domain"))
    foreign = store.count_foreign_nodes()
    if (marked and not others) or (not marked and not project and not foreign):
        store.clear()
        store.set_meta(DEMO_META_KEY, "loaded by ikg demo")
        return
    what = (
        f"{others} users or items that are not the demo's"
        if marked
        else f"{project + foreign} nodes that the demo did not write"
    )
    database = getattr(getattr(store, "config", None), "database", "neo4j")
    if not reset:
        raise DemoRefused(
            f"the Neo4j database {database!r} holds {what}; nothing was changed. Fix: point the demo "
            "at its own database (NEO4J_DATABASE=demo on Neo4j Enterprise, or a separate server such "
            "as `python -m ikg.neo4j_local start --data .cache/neo4j-demo`), or add --reset to delete "
            "the interest-kg nodes (User, Item, Concept, Topic, Domain) in it first (asks for "
            "confirmation; --yes skips the question)."
        )
    if not confirm(f"Delete every User, Item, Concept, Topic and Domain node in {database!r} ({what})?"):
        raise DemoRefused(f"not confirmed; nothing in the database {database!r} was deleted.")
    store.clear()
    store.set_meta(DEMO_META_KEY, "loaded by ikg demo")


def run_demo(
    path: str | Path,
    out: Path,
    n_users: int = 120,
    fresh: bool = True,
    neo4j: bool = False,
    console: Console | None = None,
    reset: bool = False,
    confirm: Callable[[str], bool] = _ask,
) -> dict[str, Any]:
    """Run the demo into `path` (embedded store) or the configured Neo4j; write outputs to `out`.

    Only a folder (and database) holding nothing but demo data is emptied; anything else is
    refused with `DemoRefused` unless `reset` and `confirm` agree (see `prepare_folder`).
    """
    import os

    console = _recording(console or Console())
    path = Path(path)
    state = path if not neo4j or path.name != "ikg-data" else Path("ikg-neo4j-state")
    if fresh or not (state / DEMO_MARKER).exists():
        prepare_folder(state, reset=reset, confirm=confirm)
    out.mkdir(parents=True, exist_ok=True)
    if neo4j:
        ig = InterestGraph.open(
            state,
            neo4j_uri=os.environ["NEO4J_URI"],
            auth=(os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", "")),
            database=os.environ.get("NEO4J_DATABASE", "neo4j"),
        )
        try:
            if fresh or ig.store.get_meta(DEMO_META_KEY) is None:
                prepare_database(ig.store, reset=reset, confirm=confirm)
        except BaseException:
            ig.close()
            raise
    else:
        ig = InterestGraph.open(path)
    started = time.perf_counter()
    with ig:
        catalog = load_catalog()
        events = make_demo_events(n_users=n_users)
        console.rule("[bold]interest-kg demo")
        console.print(
            f"catalog: {len(catalog)} items in {catalog['domain'].nunique()} domains; "
            f"{events['user_id'].nunique()} users, {len(events)} events"
        )
        ig.ingest_items(catalog)
        ig.ingest_events(events)
        report = ig.refresh(progress=True)
        built = Table("what", "count", title=f"graph built (version {report.model_version})")
        for name, count in report.counts.items():
            built.add_row(name, str(count))
        console.print(built)

        recs = ig.recommend(SHOWCASE_USER, k=5)
        _print_recs(console, f"top picks for {SHOWCASE_USER}", recs)
        paths = ig.explain(SHOWCASE_USER, recs[0].item_id, limit=3) if recs else []
        console.print(f"[bold]why '{recs[0].title}'[/bold]" if recs else "")
        for p in paths:
            console.print(f"  - {p.text}\n    [dim]{p.cypher}  {json.dumps(p.params)}[/dim]")

        migration = ig.migrate(COLD_USER, "music", k=5)
        bridges = Table(
            "interest",
            "weight",
            "via",
            "from",
            "leads to",
            title=f"{COLD_USER} has no music history: interests carried into music",
        )
        for b in migration.bridges[:6]:
            bridges.add_row(
                b.name,
                f"{b.weight:.2f}",
                b.via,
                ", ".join(_titles(ig, b.source_items[:2])),
                ", ".join(_titles(ig, b.target_items[:2])),
            )
        console.print(bridges)
        _print_recs(console, f"music for {COLD_USER}", migration.items)

        drifter = _drifting_user(n_users)
        prof = ig.profile(drifter)
        drift = Table("concept", "early -> late", "direction", title=f"interest drift of {drifter}")
        for d in prof.drift[:6]:
            drift.add_row(d["name"], " -> ".join(f"{v:.2f}" for v in d["by_window"]), d["direction"])
        console.print(drift)

        picture = draw_migration(ig, migration, out / "migration.png")
        summary = {
            "report": report.to_dict(),
            "recommendations": [r.to_dict() for r in recs],
            "explanations": [p.to_dict() for p in paths],
            "migration": migration.to_dict(),
            "profile": prof.to_dict(),
            "picture": str(picture),
        }
        (out / "demo.json").write_text(json.dumps(summary, default=str, indent=2))
        console.print(
            f"picture of the migration: {picture}; printed output: {out / 'demo.txt'}; "
            f"results as JSON: {out / 'demo.json'}; took {time.perf_counter() - started:.0f}s"
        )
        (out / "demo.txt").write_text(console.export_text())
    return summary


def _recording(console: Console) -> Console:
    """A console that prints where `console` does and also records the text for demo.txt."""
    if console.record:
        return console
    return Console(
        file=console.file,
        width=console.width,
        record=True,
        force_terminal=console.is_terminal,
        no_color=console.no_color,
    )


def _titles(ig: InterestGraph, item_ids: list[str]) -> list[str]:
    titles = ig.model().titles
    return [titles.get(i, i) for i in item_ids]


def _print_recs(console: Console, title: str, recs) -> None:
    table = Table("#", "title", "domain", "match", "why", title=title)
    for n, r in enumerate(recs, 1):
        table.add_row(str(n), r.title, r.domain, r.match, "; ".join(r.reasons[:2]))
    console.print(table)


def _drifting_user(n_users: int) -> str:
    """The first planted user whose interests drift from one theme to another."""
    drifters = [u.user_id for u in demo_users(n_users) if u.drift]
    return drifters[0] if drifters else SHOWCASE_USER


def draw_migration(ig: InterestGraph, migration, target: Path) -> Path:
    """Draw user -> source items -> bridging concepts -> target-domain items as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    titles = ig.model().titles
    graph = nx.DiGraph()
    user = migration.user_id
    graph.add_node(user, kind="user")
    for b in migration.bridges[:5]:
        concept = f"#{b.name}"
        graph.add_node(concept, kind="concept")
        for item in b.source_items[:2]:
            graph.add_node(titles.get(item, item), kind="source")
            graph.add_edge(user, titles.get(item, item))
            graph.add_edge(titles.get(item, item), concept)
        for item in b.target_items[:2]:
            graph.add_node(titles.get(item, item), kind="target")
            graph.add_edge(concept, titles.get(item, item))
    layers = {"user": 0, "source": 1, "concept": 2, "target": 3}
    for _node, data in graph.nodes(data=True):
        data["layer"] = layers[data["kind"]]
    pos = nx.multipartite_layout(graph, subset_key="layer")
    colours = {"user": "#d62728", "source": "#1f77b4", "concept": "#ff7f0e", "target": "#2ca02c"}
    fig, ax = plt.subplots(figsize=(14, 8))
    nx.draw_networkx_edges(graph, pos, ax=ax, alpha=0.4, arrows=True, arrowsize=10)
    nx.draw_networkx_nodes(
        graph, pos, ax=ax, node_size=350, node_color=[colours[d["kind"]] for _, d in graph.nodes(data=True)]
    )
    nx.draw_networkx_labels(graph, pos, ax=ax, font_size=8)
    ax.set_title(f"{user}: history (blue) -> bridging concepts (orange) -> {migration.target_domain} (green)")
    ax.margins(x=0.18)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target
