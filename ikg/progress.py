"""One progress display for a long job: a line per stage (spinner, count when known, elapsed time).

    progress = StageProgress(enabled=True, title="refresh")
    with progress.stage("extract"):
        progress.add_total(len(items)); ...; progress.advance(64)
    progress.close()

Inner layers (extractors, the text encoder, GNN training) are called with their own bars off and
report through `advance`, so a refresh shows one display, not nested bars. Disabled, it prints
nothing at all. A stage that raises closes the display before the error propagates.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


class StageProgress:
    """A rich display with one line per stage of a job, on stderr; a no-op when disabled."""

    def __init__(self, enabled: bool = True, title: str = "", console: Console | None = None) -> None:
        self.enabled = enabled
        self.title = title
        self._task: TaskID | None = None
        self._progress: Progress | None = None
        if enabled:
            self._progress = Progress(
                SpinnerColumn(finished_text="[green]done"),
                TextColumn("{task.description}"),
                BarColumn(bar_width=30),
                TextColumn("{task.fields[count]}"),
                TimeElapsedColumn(),
                console=console or Console(stderr=True),
                transient=False,
            )
            self._progress.start()

    @property
    def active(self) -> bool:
        """True while the display is shown (enabled and not closed)."""
        return self._progress is not None

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[StageProgress]:
        """Show `name` as the running stage until the block ends (done, or the display closes on error)."""
        if self._progress is None:
            yield self
            return
        label = f"{self.title}: {name}" if self.title else name
        self._task = self._progress.add_task(label, total=total, count=self._count(0, total))
        try:
            yield self
        except BaseException:
            self.close()
            raise
        task = self._progress.tasks[-1]
        done = task.completed if task.total is not None else 1
        self._progress.update(self._task, total=max(done, 1), completed=max(done, 1))
        self._task = None

    def add_total(self, amount: int) -> None:
        """Add `amount` units to the running stage's known work (its line gets a bar and a count)."""
        if self._progress is not None and self._task is not None and amount:
            task = self._progress.tasks[-1]
            total = int(task.total or 0) + amount
            self._progress.update(self._task, total=total, count=self._count(task.completed, total))

    def advance(self, amount: int = 1) -> None:
        """Count `amount` units of the running stage's work as done."""
        if self._progress is None or self._task is None:
            return
        self._progress.advance(self._task, amount)
        task = self._progress.tasks[-1]
        self._progress.update(self._task, count=self._count(task.completed, task.total))

    def close(self) -> None:
        """Stop the display (idempotent)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    @staticmethod
    def _count(done: float, total: float | None) -> str:
        return f"{int(done)}/{int(total)}" if total else ""
