"""One intra-op torch thread in every thread that answers requests.

The server already runs requests in parallel (uvicorn's thread pool); intra-op threads on top
oversubscribe the cores, and OpenMP teams that wait for each other burn CPU: on the demo graph a
request answered from a pool thread cost about 10 ms of CPU instead of 2.7 ms. The setting is
per OS thread (OpenMP's), so each request thread sets it once. Scores do not depend on it.
"""

from __future__ import annotations

import threading

import torch

_local = threading.local()


def one_torch_thread() -> None:
    """Make the calling thread's torch ops single-threaded (once per thread; cheap afterwards)."""
    if not getattr(_local, "done", False):
        torch.set_num_threads(1)
        _local.done = True
