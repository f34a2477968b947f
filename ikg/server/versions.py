"""The version a server answers from, loaded off the request path and swapped atomically.

A background thread polls the data folder's ACTIVE pointer. When it changes, the new version
is opened and warmed in that thread (state tables, serving model, one scoring pass) while the
old one keeps answering; then one reference is replaced. Each request takes the reference
once and finishes on that version even if a swap happens meanwhile. A version that fails to
load leaves the old one serving; the failure is kept for `/ready` and retried with backoff.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ikg.graph import InterestGraph
from kg.embedded import EmbeddedStore

log = logging.getLogger(__name__)

Signature = tuple[int, int, int, bytes]
"""ACTIVE's inode, mtime (ns), size and content: changes whenever a version is activated."""


class NothingToServe(RuntimeError):
    """The data folder has no active version yet (nothing was refreshed)."""


@dataclass
class ServedVersion:
    """One loaded version: the pinned InterestGraph answering for it, and its bookkeeping."""

    version: str
    graph: InterestGraph
    signature: Signature
    activated_at: float
    loaded_at: float
    load_seconds: float
    inflight: int = 0
    retired: bool = False

    def age(self) -> float:
        """Seconds since this version was activated by its refresh."""
        return max(0.0, time.time() - self.activated_at)


@dataclass
class LoadFailure:
    """Why the newest ACTIVE version could not be loaded (the previous one keeps serving)."""

    version: str | None
    error: str
    at: float
    attempts: int
    signature: Signature | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "error": self.error, "at": self.at, "attempts": self.attempts}


def active_signature(folder: Path) -> Signature | None:
    """A fingerprint of `folder/ACTIVE`, or None when no version was ever activated."""
    pointer = folder / "ACTIVE"
    try:
        stat = pointer.stat()
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size, pointer.read_bytes())
    except FileNotFoundError:
        return None


def _pinned_workdir(workdir: Any, info: dict[str, Any], signature: Signature) -> Any:
    """A copy of `workdir` whose ACTIVE is frozen at `info`, so the graph never reloads mid-request.

    InterestGraph re-reads ACTIVE on calls; a served version must not, or a request could load a
    newer version on the request path. Writes (inbox, feedback) still go to the same folder.
    """
    frozen = dict(info)

    class Pinned(type(workdir)):  # type: ignore[misc]
        def active(self) -> dict[str, Any]:
            return dict(frozen)

        def active_signature(self) -> Signature:
            return signature

    pinned = Pinned.__new__(Pinned)
    pinned.__dict__.update(workdir.__dict__)
    return pinned


def load_version(opener: Callable[[], InterestGraph], folder: Path) -> ServedVersion:
    """Open the version ACTIVE names now and warm it fully (runs in the watcher thread)."""
    start = time.perf_counter()
    signature = active_signature(folder)
    if signature is None:
        raise NothingToServe(
            f"no version is active in {folder}: ingest items and events, then run ikg refresh"
        )
    info = json.loads(signature[3])
    version = info.get("version")
    if not version:
        raise NothingToServe(f"ACTIVE in {folder} names no version")
    graph = opener()
    try:
        _check_complete(graph.workdir, version)
        graph.workdir = _pinned_workdir(graph.workdir, info, signature)
        model = graph.model()
        if model.version != version:
            raise RuntimeError(f"loaded version {model.version} while ACTIVE names {version}")
        users = list(model.index.users[:1]) or ["-"]
        graph.recommend_batch(users, k=1)
    except BaseException:
        _close(graph)
        raise
    activated = float(info.get("created") or info.get("activated_at") or signature[1] / 1e9)
    return ServedVersion(version, graph, signature, activated, time.time(), time.perf_counter() - start)


def _check_complete(workdir: Any, version: str) -> None:
    """Refuse a version whose state folder is missing or unfinished (no meta.json)."""
    folder = (
        workdir.state_dir(version) if hasattr(workdir, "state_dir") else workdir.path / f"state-{version}"
    )
    if not (Path(folder) / "meta.json").exists():
        raise FileNotFoundError(f"version {version} is incomplete: {folder} has no meta.json")


def _close(graph: InterestGraph) -> None:
    """Release a retired version's store (a Neo4j driver); an embedded store holds nothing open."""
    if isinstance(graph.store, EmbeddedStore):
        return
    try:
        graph.close()
    except Exception:
        log.warning("closing a retired version's store failed", exc_info=True)


class VersionHolder:
    """Holds the served version, watches ACTIVE and swaps in new versions atomically."""

    def __init__(
        self, opener: Callable[[], InterestGraph], folder: Path, poll: float = 1.0, max_backoff: float = 30.0
    ) -> None:
        self.opener = opener
        self.folder = Path(folder)
        self.poll = poll
        self.max_backoff = max_backoff
        self.current: ServedVersion | None = None
        self.failure: LoadFailure | None = None
        self.loads = 0
        self.on_load: Callable[[str, bool], None] = lambda version, ok: None
        self._ref_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._retry_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- requests ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def use(self) -> Iterator[ServedVersion]:
        """The current version for one request; it stays usable until the request ends."""
        with self._ref_lock:
            served = self.current
            if served is None:
                raise NothingToServe(self.not_ready_reason())
            served.inflight += 1
        try:
            yield served
        finally:
            with self._ref_lock:
                served.inflight -= 1
                done = served.retired and served.inflight == 0
            if done:
                _close(served.graph)

    def not_ready_reason(self) -> str:
        if self.failure is not None:
            return f"no version could be loaded yet: {self.failure.error}"
        return f"no version is loaded yet: ingest data into {self.folder} and run ikg refresh"

    def version_id(self) -> str | None:
        served = self.current
        return served.version if served is not None else None

    # ---- loading ----------------------------------------------------------------------------
    def check(self, force: bool = False) -> bool:
        """Load and swap in the version ACTIVE names if it changed; True when a swap happened."""
        with self._load_lock:
            signature = active_signature(self.folder)
            current = self.current
            if signature is None or (not force and current is not None and current.signature == signature):
                return False
            failed = self.failure
            if (
                not force
                and failed is not None
                and failed.signature == signature
                and time.time() < self._retry_at
            ):
                return False
            try:
                served = load_version(self.opener, self.folder)
            except NothingToServe:
                return False
            except Exception as err:
                self._record_failure(signature, err)
                return False
            self._swap(served)
            return True

    def _record_failure(self, signature: Signature, err: Exception) -> None:
        try:
            version = json.loads(signature[3]).get("version")
        except ValueError:
            version = None
        previous = self.failure
        attempts = previous.attempts + 1 if previous is not None and previous.signature == signature else 1
        self.failure = LoadFailure(version, f"{type(err).__name__}: {err}", time.time(), attempts, signature)
        self._retry_at = time.time() + min(self.max_backoff, self.poll * 2**attempts)
        log.error(
            "loading version %s failed (attempt %d); still serving %s", version, attempts, self.version_id()
        )
        log.debug("load failure", exc_info=True)
        self.on_load(str(version), False)

    def _swap(self, served: ServedVersion) -> None:
        with self._ref_lock:
            old, self.current = self.current, served
            close_old = False
            if old is not None and old.graph is not served.graph:
                old.retired = True
                close_old = old.inflight == 0
        self.failure = None
        self.loads += 1
        log.info(
            "serving version %s (loaded in %.2f s; previous %s)",
            served.version,
            served.load_seconds,
            old.version if old else None,
        )
        self.on_load(served.version, True)
        if close_old and old is not None:
            _close(old.graph)

    # ---- the watcher ------------------------------------------------------------------------
    def start(self) -> None:
        """Load what is active now (if anything), then keep watching in a daemon thread."""
        self.check()
        self._thread = threading.Thread(target=self._watch, name="ikg-version-watcher", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.check()
            except Exception:
                log.exception("version watcher: unexpected error (will retry)")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        served, self.current = self.current, None
        if served is not None:
            _close(served.graph)
