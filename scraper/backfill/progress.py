"""How a long backfill shows it is alive: a rich progress bar on a terminal, plain log lines elsewhere.

Both show the same figures: pages done of the total, how many failed, the rate, and the time left. The bar
redraws in place; the plain lines (for cron mail, CI logs, `| tee`) come every few seconds and at the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichBar
from rich.text import Text


class Progress(Protocol):
    def note(self, line: str) -> None: ...
    def start(self, label: str, total: int) -> None: ...
    def advance(self, failed: bool) -> None: ...
    def finish(self) -> None: ...


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f}/s" if speed else "-/s")


class BarProgress:
    """A rich bar on standard error."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.console = Console(file=stream or sys.stderr)
        self.bar: RichBar | None = None
        self.task: TaskID | None = None
        self.failed = 0

    def note(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False)

    def start(self, label: str, total: int) -> None:
        self.finish()
        self.failed = 0
        self.bar = RichBar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("failed {task.fields[failed]}"),
            _Rate(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("left"),
            console=self.console,
            speed_estimate_period=10,
        )
        self.bar.start()
        self.task = self.bar.add_task(label, total=total, failed=0)

    def advance(self, failed: bool) -> None:
        if self.bar is None or self.task is None:
            return
        self.failed += failed
        self.bar.update(self.task, advance=1, failed=self.failed)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


class LogProgress:
    """A line every `every` seconds: `archive: 1200/5000 done, 3 failed, 152.3/s, 0:00:25 left`."""

    def __init__(
        self, stream: TextIO | None = None, every: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream = stream or sys.stderr
        self.every = every
        self.clock = clock
        self.label, self.total, self.done, self.failed = "", 0, 0, 0
        self.started = self.last = 0.0

    def note(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def start(self, label: str, total: int) -> None:
        self.label, self.total, self.done, self.failed = label, total, 0, 0
        self.started = self.last = self.clock()
        self.note(f"{label}: {total} to do")

    def advance(self, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            self.note(self.line(now))

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        left = timedelta(seconds=round((self.total - self.done) / rate)) if rate and self.total else None
        return (
            f"{self.label}: {self.done}/{self.total} done, {self.failed} failed, {rate:.1f}/s, "
            f"{left if left is not None else '?'} left"
        )

    def finish(self) -> None:
        if self.total:
            self.note(self.line(self.clock()))
            self.total = 0


def make_progress(stream: TextIO | None = None) -> Progress:
    """The bar on a terminal, log lines otherwise."""
    stream = stream or sys.stderr
    return BarProgress(stream) if stream.isatty() else LogProgress(stream)
