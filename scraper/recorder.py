"""Group commit: article outcomes written to the database a batch per transaction.

Every fetch ends in a transaction (its outcome, the raw page, the post's name). One transaction per
article costs several round trips and a commit each, on the node and on the server; with several nodes on
one PostgreSQL that is what bounds them. So outcomes are queued, and one worker thread at a time writes
whatever has queued up, in one transaction. Nothing waits on purpose: an idle daemon writes each outcome at
once (a batch of one); a busy one writes, while one batch commits, everything that finished meanwhile in
the next.

Each caller awaits its own outcome's result (its summary, or the exception the batch raised), so what
the pipeline does after recording (counting, metrics, waking the claimer) is unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Summary = TypeVar("Summary")

MAX_BATCH = 64  # outcomes per transaction


class GroupRecorder(Generic[Item, Summary]):
    """Runs `store_many(items, summaries)` in a worker thread, a batch at a time, one batch at once."""

    def __init__(
        self,
        store_many: Callable[[Sequence[Item], Sequence[Summary]], None],
        new_summary: Callable[[], Summary],
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._store_many = store_many
        self._new_summary = new_summary
        self.max_batch = max_batch
        self._queue: list[tuple[Item, asyncio.Future[Summary]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # transactions written (for tests and the benchmarks)

    async def record(self, item: Item) -> Summary:
        """Queue `item`; returns its summary once its batch is committed. If the caller is cancelled
        meanwhile, the item is still written: its work was done, and is not lost."""
        future: asyncio.Future[Summary] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await future

    @property
    def busy(self) -> bool:
        return self._writer is not None and not self._writer.done()

    async def wait(self) -> None:
        """Until everything queued so far is written (a stop waits for this before giving up its leases)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait([self._writer])

    async def _drain(self) -> None:
        while self._queue:
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
