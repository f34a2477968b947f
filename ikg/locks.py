"""One writer per data folder: OS file locks around refresh and around inbox/feedback writes.

Two locks, so ingest is not blocked for the length of a refresh:

    <path>/.refresh.lock   held by refresh, rollback and forget_user (they replace versions)
    <path>/.inbox.lock     held briefly while a batch gets its sequence number and is written,
                           while dislikes.json is read-modified-written, and while a refresh
                           reads or drops the inbox

The locks are OS advisory locks (`filelock`), released by the kernel when a process dies,
so a killed refresh never leaves the folder locked. The holder of the refresh lock writes its
pid and start time beside it, so a second refresh can say who is running.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout


class RefreshBusyError(RuntimeError):
    """Another process holds the refresh lock of this data folder."""


def _owner_text(path: Path) -> str:
    try:
        owner = json.loads(path.read_text())
    except (OSError, ValueError):
        return "pid unknown"
    since = datetime.fromtimestamp(float(owner.get("since", 0)), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"pid {owner.get('pid')}, since {since}"


@contextmanager
def refresh_lock(folder: Path, wait: float = 0.0, what: str = "refresh") -> Iterator[None]:
    """Hold the folder's refresh lock; wait up to `wait` seconds, else raise RefreshBusyError."""
    lock = FileLock(str(folder / ".refresh.lock"))
    owner = folder / ".refresh.owner"
    try:
        lock.acquire(timeout=max(float(wait), 0.0) if wait else 0.0, poll_interval=0.2)
    except Timeout:
        waited = f" (waited {wait:g}s)" if wait else ""
        raise RefreshBusyError(
            f"refresh already running in {folder} ({_owner_text(owner)}){waited}; "
            f"wait for it to finish or retry the {what} with --wait SECONDS"
        ) from None
    try:
        tmp = folder / f".refresh.owner.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({"pid": os.getpid(), "since": time.time(), "what": what}))
        os.replace(tmp, owner)
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


@contextmanager
def inbox_lock(folder: Path, timeout: float = 120.0) -> Iterator[None]:
    """Hold the folder's inbox lock (short critical sections only)."""
    lock = FileLock(str(folder / ".inbox.lock"))
    try:
        lock.acquire(timeout=timeout, poll_interval=0.02)
    except Timeout:
        raise RefreshBusyError(
            f"the inbox of {folder} stayed locked for {timeout:g}s ({_owner_text(folder / '.refresh.owner')})"
        ) from None
    try:
        yield
    finally:
        lock.release()
