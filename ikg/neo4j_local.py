"""Run a real Neo4j 5.26 LTS Community server on localhost without Docker.

The server jars are resolved from Maven Central with Maven (`ikg/neo4j_runtime/pom.xml`)
into a cache folder once; the server runs as `java -cp <jars> org.neo4j.server.CommunityEntryPoint`
with a generated `neo4j.conf`, Bolt on 127.0.0.1 only and HTTP off. On first start the
initial password `neo4j` is changed to the configured one over Bolt.

    python -m ikg.neo4j_local start --port 7687 --data .cache/neo4j-data
    python -m ikg.neo4j_local stop --data .cache/neo4j-data

Environment: `IKG_CACHE` (where jars go, default ~/.cache/interest-kg), `NEO4J_PASSWORD`.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

log = logging.getLogger(__name__)

NEO4J_VERSION = "5.26.30"
DEFAULT_PASSWORD = "interest-kg-local"
ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"


class Neo4jLaunchError(RuntimeError):
    """The local Neo4j server could not be resolved or started."""


def cache_root() -> Path:
    return Path(os.environ.get("IKG_CACHE", Path.home() / ".cache" / "interest-kg"))


def resolve_jars(cache: Path | None = None) -> Path:
    """Download the Neo4j Community jars with Maven once; return the folder that holds them."""
    lib = (cache or cache_root()) / f"neo4j-{NEO4J_VERSION}" / "lib"
    stamp = lib / ".complete"
    if stamp.exists():
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise Neo4jLaunchError("Maven (mvn) is not on PATH; install Maven 3 and Java 17 to run Neo4j locally")
    pom = Path(str(files("ikg") / "neo4j_runtime" / "pom.xml"))
    staging = lib.with_name("lib.partial")
    shutil.rmtree(staging, ignore_errors=True)
    log.info("resolving Neo4j %s jars from Maven Central into %s", NEO4J_VERSION, lib)
    proc = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            f"-Dneo4j.version={NEO4J_VERSION}",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise Neo4jLaunchError(
            f"mvn could not resolve org.neo4j:neo4j:{NEO4J_VERSION}:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
        )
    shutil.rmtree(lib, ignore_errors=True)
    staging.rename(lib)
    stamp.write_text(NEO4J_VERSION)
    return lib


def _config(home: Path, port: int, heap: str, pagecache: str) -> str:
    return "\n".join(
        [
            f"server.bolt.listen_address=127.0.0.1:{port}",
            f"server.bolt.advertised_address=127.0.0.1:{port}",
            "server.bolt.enabled=true",
            "server.http.enabled=false",
            "server.https.enabled=false",
            "dbms.security.auth_enabled=true",
            f"server.memory.heap.initial_size={heap}",
            f"server.memory.heap.max_size={heap}",
            f"server.memory.pagecache.size={pagecache}",
            f"server.directories.data={home / 'data'}",
            f"server.directories.logs={home / 'logs'}",
            f"server.directories.run={home / 'run'}",
            f"server.directories.import={home / 'import'}",
            "dbms.usage_report.enabled=false",
            "db.tx_log.rotation.retention_policy=1 files",
            "",
        ]
    )


def prepare_home(home: str | os.PathLike[str], port: int = 7687) -> Path:
    """Create a server home's folders and its neo4j.conf when missing (neo4j-admin reads the same)."""
    home = Path(home).resolve()
    for sub in ("conf", "data", "logs", "run", "import"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    conf = home / "conf" / "neo4j.conf"
    if not conf.exists():
        conf.write_text(_config(home, port, "1g", "512m"))
    return home


def _bolt_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalNeo4j:
    """A Neo4j server process started by this module."""

    home: Path
    port: int
    password: str
    pid: int

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    @property
    def auth(self) -> tuple[str, str]:
        return ("neo4j", self.password)

    def stop(self, timeout: float = 60.0) -> None:
        stop_pid(self.pid, timeout)
        (self.home / "ikg.pid").unlink(missing_ok=True)


def stop_pid(pid: int, timeout: float = 60.0) -> None:
    """Stop the server cleanly (SIGTERM, then SIGKILL after `timeout` seconds)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        except ChildProcessError:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def start(
    home: str | os.PathLike[str],
    port: int = 7687,
    password: str | None = None,
    heap: str = "1g",
    pagecache: str = "512m",
    timeout: float = 180.0,
) -> LocalNeo4j:
    """Start Neo4j with its data under `home`, wait until Bolt answers, set the password."""
    password = password or os.environ.get("NEO4J_PASSWORD") or DEFAULT_PASSWORD
    home = Path(home).resolve()
    if _bolt_open(port):
        raise Neo4jLaunchError(f"port {port} is already in use; choose another with --port")
    lib = resolve_jars()
    java = shutil.which("java")
    if java is None:
        raise Neo4jLaunchError("java is not on PATH; Neo4j 5.26 needs Java 17 or 21")
    for sub in ("conf", "data", "logs", "run", "import"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    (home / "conf" / "neo4j.conf").write_text(_config(home, port, heap, pagecache))
    console = open(home / "logs" / "console.log", "ab")  # noqa: SIM115 (the server outlives this call)
    proc = subprocess.Popen(
        [
            java,
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-cp",
            f"{lib}/*",
            ENTRY_POINT,
            f"--home-dir={home}",
            f"--config-dir={home / 'conf'}",
        ],
        stdout=console,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    (home / "ikg.pid").write_text(str(proc.pid))
    server = LocalNeo4j(home, port, password, proc.pid)
    deadline = time.monotonic() + timeout
    while not _bolt_open(port):
        if proc.poll() is not None:
            raise Neo4jLaunchError(f"Neo4j exited with code {proc.returncode}; see {home / 'logs'}")
        if time.monotonic() > deadline:
            server.stop()
            raise Neo4jLaunchError(
                f"Neo4j did not open Bolt on port {port} within {timeout:.0f}s; see {home / 'logs'}"
            )
        time.sleep(0.5)
    _ensure_password(server.uri, password, deadline)
    log.info("Neo4j %s running at %s (pid %s, data %s)", NEO4J_VERSION, server.uri, proc.pid, home)
    return server


def _ensure_password(uri: str, password: str, deadline: float) -> None:
    """Log in with `password`; on a fresh server, change the initial password to it."""
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError, ServiceUnavailable

    while True:
        try:
            with GraphDatabase.driver(uri, auth=("neo4j", password)) as driver:
                driver.verify_connectivity()
                return
        except AuthError:
            with GraphDatabase.driver(uri, auth=("neo4j", "neo4j")) as driver:
                with driver.session(database="system") as session:
                    session.run(
                        "ALTER CURRENT USER SET PASSWORD FROM $old TO $new", old="neo4j", new=password
                    ).consume()
            return
        except ServiceUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ikg.neo4j_local",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "stop", "resolve"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--data", default=".cache/neo4j", help="server home: conf, data and logs")
        cmd.add_argument("--port", type=int, default=7687)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "resolve":
        print(resolve_jars())
        return 0
    if args.command == "start":
        server = start(args.data, port=args.port)
        print(f"NEO4J_URI={server.uri}\nNEO4J_USER=neo4j\npid={server.pid}")
        return 0
    pid_file = Path(args.data) / "ikg.pid"
    if not pid_file.exists():
        print(f"no server recorded in {pid_file}", file=sys.stderr)
        return 1
    stop_pid(int(pid_file.read_text()))
    pid_file.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
