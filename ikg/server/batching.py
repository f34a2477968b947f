"""Natural micro-batching: concurrent one-user requests with the same arguments scored in one pass.

A request joins the queue of its key (version, k, domain, ...). If no batch of that key is
running, it leads: it takes everything queued (up to `max_batch`), runs one scoring pass for
all of them and hands each waiter its own answer. Requests arriving meanwhile queue up and the
first of them leads the next batch. An idle server therefore scores a lone request at once (no
timer, no added wait); under load the batches grow by themselves, and the per-call costs of a
pass (scipy and numpy call overhead, the top-k, the result table) are paid once per batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any

RunBatch = Callable[[Hashable, Sequence[str]], dict[str, Any]]
"""Scores one batch: (key, distinct user ids) -> {user id: answer}."""


class _Call:
    """One waiting request: its user, and its answer (or error) once its batch ran."""

    __slots__ = ("answer", "error", "finished", "lead", "user", "wake")

    def __init__(self, user: str) -> None:
        self.user = user
        self.wake = threading.Event()
        self.finished = False
        self.lead = False
        self.answer: Any = None
        self.error: BaseException | None = None


class Batcher:
    """Collects concurrent calls per key and runs them `max_batch` at a time, `lanes` batches at once."""

    def __init__(self, run: RunBatch, max_batch: int = 64, lanes: int = 1) -> None:
        if max_batch < 1 or lanes < 1:
            raise ValueError(f"max_batch and lanes must be >= 1, got {max_batch} and {lanes}")
        self.run, self.max_batch, self.lanes = run, max_batch, lanes
        self._lock = threading.Lock()
        self._queues: dict[Hashable, list[_Call]] = {}
        self._running: dict[Hashable, int] = {}
        self.batches = 0
        self.calls = 0

    def submit(self, key: Hashable, user: str) -> Any:
        """`user`'s answer from a batch of calls with the same `key` (raises what the batch raised)."""
        call = _Call(user)
        with self._lock:
            self._queues.setdefault(key, []).append(call)
            if self._running.get(key, 0) < self.lanes:
                self._running[key] = self._running.get(key, 0) + 1
                call.lead = True
        while True:
            call.wake.clear()  # the flags are the truth; `wake` only rings when one of them changes
            if call.lead:
                self._lead(key, call)
            elif call.finished:
                break
            else:
                call.wake.wait()
        if call.error is not None:
            raise call.error
        return call.answer

    def _lead(self, key: Hashable, leader: _Call) -> None:
        """Run one batch of `key`'s queue, then pass the lane to a waiter without one (or free it)."""
        with self._lock:
            leader.lead = False
            queue = self._queues[key]
            batch, queue[:] = queue[: self.max_batch], queue[self.max_batch :]
        answers: dict[str, Any] = {}
        error: BaseException | None = None
        if batch:
            try:
                answers = self.run(key, list(dict.fromkeys(c.user for c in batch)))
            except BaseException as err:  # each waiter gets the error its own call would have raised
                error = err
        with self._lock:
            self.batches += bool(batch)
            self.calls += len(batch)
            queue = self._queues[key]
            heir = next((c for c in queue if not c.lead), None)
            if heir is not None:
                heir.lead = True
                heir.wake.set()
            else:
                self._running[key] -= 1
                if not self._running[key]:
                    del self._running[key], self._queues[key]
        for call in batch:
            call.answer, call.error = answers.get(call.user), error
            call.finished = True
            call.wake.set()
