"""Group commit: article outcomes written to the database a batch per transaction.

Every fetch ends in a transaction (its outcome, the raw page, the post's name). One transaction per
article costs several round trips and a commit each, on the node and on the server; with several nodes on
one PostgreSQL that is what bounds them. So outcomes are queued, and one worker thread at a time writes
whatever has queued up, in one transaction. Nothing waits on purpose: an idle daemon writes each outcome at
once (a batch of one); a busy one writes, while one batch commits, everything that finished meanwhile in
the next. A recorder made with a `linger` waits that long (or until a full batch is queued) before each
batch: a node with few requests in flight finishes an article every few milliseconds, and without it would
pay a transaction (its round trips and commit) for each; with it, a batch covers what finished in that
moment. An outcome lingering when the process is killed is not lost: its article is still leased to the
dead node, and is fetched again when the lease expires (as any unrecorded work is).

Each caller awaits its own outcome's result (its summary, or the exception the batch raised), so what
the pipeline does after recording (counting, metrics, waking the claimer) is unchanged.

`on_idle` is run (in a worker thread) once the queue has stayed empty for a `linger` after a batch, or at
once when someone `wait`s: the end of a burst of work. The article recorder marks the posts it wrote then
(they are otherwise marked a few dozen at a time): the last posts of a burst are not left unmarked, their
leases held, until the next export job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Summary = TypeVar("Summary")

log = logging.getLogger(__name__)

MAX_BATCH = 64  # outcomes per transaction


class GroupRecorder(Generic[Item, Summary]):
    """Runs `store_many(items, summaries)` in a worker thread, a batch at a time, one batch at once."""

    def __init__(
        self,
        store_many: Callable[[Sequence[Item], Sequence[Summary]], None],
        new_summary: Callable[[], Summary],
        *,
        max_batch: int = MAX_BATCH,
        linger: float = 0.0,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self._store_many = store_many
        self._new_summary = new_summary
        self.max_batch = max_batch
        self.linger = linger  # seconds a batch waits for more (see the module docstring)
        self.on_idle = on_idle
        self._full: asyncio.Event | None = None  # while lingering: set once a whole batch is queued
        self._arrived: asyncio.Event | None = None  # while idle: set by the next item (or by `wait`)
        self._hurry = False  # someone waits for the end: the idle hook runs without a linger
        self._queue: list[tuple[Item, asyncio.Future[Summary]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # transactions written (for tests and the benchmarks)

    async def record(self, item: Item) -> Summary:
        """Queue `item`; returns its summary once its batch is committed. If the caller is cancelled
        meanwhile, the item is still written: its work was done, and is not lost."""
        future: asyncio.Future[Summary] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._full is not None and len(self._queue) >= self.max_batch:
            self._full.set()
        if self._arrived is not None:
            self._arrived.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await future

    @property
    def busy(self) -> bool:
        return self._writer is not None and not self._writer.done()

    async def wait(self) -> None:
        """Until everything queued so far is written, and the idle hook has run (a stop waits for this
        before giving up its leases)."""
        self._hurry = True
        try:
            if self._arrived is not None:
                self._arrived.set()
            while self._writer is not None and not self._writer.done():
                await asyncio.wait([self._writer])
        finally:
            self._hurry = False

    async def _gather(self) -> None:
        """Wait up to `linger` for a full batch (a cancelled wait ends it: the batch is written)."""
        if self.linger <= 0 or len(self._queue) >= self.max_batch:
            return
        self._full = asyncio.Event()  # made here: of the running loop
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.linger):
                    await self._full.wait()
        finally:
            self._full = None

    async def _drain(self) -> None:
        while True:
            if await self._write_queued():
                raise asyncio.CancelledError
            if self.on_idle is None:
                return
            try:
                await self._idle_linger()
            except asyncio.CancelledError:  # what came meanwhile is written all the same
                self.linger = 0.0
                await self._write_queued()
                raise
            if self._queue:  # more came: written first, the hook waits for the next lull
                continue
            try:
                await asyncio.to_thread(self.on_idle)
            except Exception as exc:  # its owner's work is done later all the same (see on_idle)
                log.warning("after the last batch: %s: %s", type(exc).__name__, exc)
            if not self._queue:
                return

    async def _idle_linger(self) -> None:
        """The queue is empty: wait up to a linger for another item (not at all when someone waits)."""
        if self.linger <= 0 or self._hurry:
            return
        self._arrived = asyncio.Event()
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.linger):
                    await self._arrived.wait()
        finally:
            self._arrived = None

    async def _write_queued(self) -> bool:
        """Write batches until the queue is empty; True if a cancellation came meanwhile (what was queued
        is written all the same)."""
        interrupted = False
        while self._queue:
            try:
                await self._gather()
            except asyncio.CancelledError:  # what is queued was fetched: written at once all the same
                self.linger, interrupted = 0.0, True
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            summaries = [self._new_summary() for _ in batch]
            try:
                await asyncio.to_thread(self._store_many, [item for item, _ in batch], summaries)
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise
            except Exception as exc:  # the batch's transaction failed: each caller handles it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            finally:
                self.batches += 1
            for (_, future), summary in zip(batch, summaries, strict=True):
                if not future.done():
                    future.set_result(summary)
        return interrupted
