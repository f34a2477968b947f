"""Fault points for fault-injection tests; they do nothing unless their environment variable names them.

- `IKG_CRASH_AT=<name>`: the process SIGKILLs itself at that point (a real crash between commits).
- `IKG_PAUSE_AT=<name>`: the process writes `$IKG_PAUSE_FILE` and waits there until that file is
  deleted (at most `$IKG_PAUSE_SECONDS`), so a test can act (start a second refresh, kill a Neo4j
  server) at exactly that moment.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def crash_point(name: str) -> None:
    """Kill this process with SIGKILL when IKG_CRASH_AT names this point."""
    if os.environ.get("IKG_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def pause_point(name: str) -> None:
    """Signal and sleep when IKG_PAUSE_AT names this point (see the module docstring)."""
    if os.environ.get("IKG_PAUSE_AT") != name:
        return
    marker = os.environ.get("IKG_PAUSE_FILE")
    end = time.monotonic() + float(os.environ.get("IKG_PAUSE_SECONDS", "10"))
    if marker:
        Path(marker).write_text(str(os.getpid()))
    while time.monotonic() < end and (not marker or Path(marker).exists()):
        time.sleep(0.05)
