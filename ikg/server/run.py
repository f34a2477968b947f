"""Start `ikg serve`: check the bind address and tokens, then run uvicorn with one or N workers.

With `--workers N` uvicorn starts N processes; each builds its app from IKG_SERVE_SPEC (the
folder and store, no secrets: Neo4j credentials and tokens stay in their own variables) and
runs its own version watcher.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from fastapi import FastAPI

from ikg.graph import InterestGraph
from ikg.server.app import create_app
from ikg.server.security import Tokens, check_bind
from ikg.server.threads import one_torch_thread
from ikg.server.versions import active_signature

log = logging.getLogger(__name__)

SPEC_ENV = "IKG_SERVE_SPEC"


@dataclass(frozen=True)
class ServeSpec:
    """Where the served graph lives: a folder (embedded store), or a Neo4j URI plus its state folder."""

    path: str | None = None
    neo4j_uri: str | None = None
    poll: float = 1.0

    @property
    def folder(self) -> Path:
        return Path(self.path or ("ikg-neo4j-state" if self.neo4j_uri else "ikg-data"))

    def opener(self) -> Callable[[], InterestGraph]:
        """Opens a fresh InterestGraph on the store (credentials read from the environment)."""
        folder, uri = self.folder, self.neo4j_uri
        if uri is None:
            return lambda: InterestGraph.open(folder)
        return lambda: InterestGraph.open(
            folder,
            neo4j_uri=uri,
            auth=(os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", "")),
            database=os.environ.get("NEO4J_DATABASE", "neo4j"),
        )

    def app(self) -> FastAPI:
        one_torch_thread()
        return create_app(self.opener(), self.folder, Tokens.from_env(), poll=self.poll)


def app_from_env() -> FastAPI:
    """The app factory uvicorn's worker processes call (`--workers N`)."""
    return ServeSpec(**json.loads(os.environ[SPEC_ENV])).app()


def serve(
    spec: ServeSpec, host: str = "127.0.0.1", port: int = 8000, workers: int = 1, access_log: bool = False
) -> None:
    """Run the server until interrupted; refuses a non-loopback bind without IKG_API_TOKEN."""
    import uvicorn

    check_bind(host, Tokens.from_env())
    spec.folder.mkdir(parents=True, exist_ok=True)
    if active_signature(spec.folder) is None:
        log.warning(
            "%s has no active version yet: /ready answers 503 until a refresh activates one", spec.folder
        )
    if workers <= 1:
        uvicorn.run(spec.app(), host=host, port=port, access_log=access_log, log_level="info")
        return
    os.environ[SPEC_ENV] = json.dumps(asdict(spec))
    uvicorn.run(
        "ikg.server.run:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        access_log=access_log,
        log_level="info",
    )
