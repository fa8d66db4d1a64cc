"""Short CPU work on the event loop's thread, a few at a time: the extraction of the pages that arrive
together.

A worker with its requests in flight waits on the network between pages, and work done after a wait runs
several times slower than the same work done back to back: the caches hold whatever ran meanwhile (other
processes, the database, the other threads). On the 2-core VM of the benchmarks the extraction of a small
page took 111 us back to back, 560-710 us after a 50 ms sleep or 16 MB of memory touched, and 270 us a page
when four came after each wait. So a page extracted on the loop (a small one: a big one goes to a worker
thread whatever happens) waits for up to `size - 1` others, or `wait` seconds, and they are extracted one
after the other. In `benchmarks/scale.py` (four workers, `--baseline`, pairs of runs) the workers' CPU per
article was lower in 13 of 15 pairs: by 0.11 ms (median) in ten, 0.3-0.6 ms in five of a first version
run first in each pair (the same code against itself: within 0.06 ms). A page is recorded at most `wait`
later; its request slot is free already (the body was read before it waits).

Each piece of work is a plain callable, run in its caller's context (its log lines name its article); its
result or exception goes to its own caller, and a caller cancelled while waiting has its work dropped, not
run. One batch serves one event loop at a time.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable
from typing import Any, TypeVar

Result = TypeVar("Result")

BATCH_SIZE = 4  # pieces run together at most (a worker's requests in flight, at the cluster's settings)
BATCH_WAIT = 0.02  # seconds the first piece waits for the others
# A batch holds the loop about this long at most: the rest of it runs on the loop's next pass, after what
# came ready meanwhile (other fetches, /healthz), as it did when each page was extracted alone.
MAX_HOLD_SECONDS = 0.05


class InlineBatch:
    """Runs callables on the event loop's thread in batches of up to `size`, each batch at most `wait`
    seconds after its first piece came. Belongs to no loop until used: the loop running `run` (a queue
    left by a loop that ended is dropped)."""

    def __init__(self, size: int = BATCH_SIZE, wait: float = BATCH_WAIT) -> None:
        self.size = max(1, size)
        self.wait = wait
        self._queue: list[tuple[contextvars.Context, Callable[[], Any], asyncio.Future[Any]]] = []
        self._timer: asyncio.Handle | None = None  # the next batch's run, when one is due
        self._loop: asyncio.AbstractEventLoop | None = None
        self.batches = 0  # run so far (for the tests and the benchmarks)

    async def run(self, work: Callable[[], Result]) -> Result:
        """`work()`, run in a batch; its result, or its exception."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # the first use, or a new loop (a test's next asyncio.run)
            self._move_to(loop)
        if self.size == 1:
            return work()
        future: asyncio.Future[Result] = loop.create_future()
        self._queue.append((contextvars.copy_context(), work, future))
        if sum(not waiting.done() for _, _, waiting in self._queue) >= self.size:
            self._run_queued()
        elif self._timer is None:
            self._timer = loop.call_later(self.wait, self._run_queued)
        return await future

    def _move_to(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve `loop` from now on. What the last loop left queued is dropped: that loop has ended (its
        futures can no longer be answered); one still running elsewhere is refused."""
        if self._queue and self._loop is not None and self._loop.is_running():
            raise RuntimeError("an InlineBatch serves one running event loop at a time")
        if self._timer is not None:
            self._timer.cancel()
        self._loop, self._queue, self._timer = loop, [], None

    def _run_queued(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._queue = self._queue, []
        if batch:
            self.batches += 1
        started = time.perf_counter()
        for position, (context, work, future) in enumerate(batch):
            if future.done():  # its caller was cancelled while it waited: nobody wants it
                continue
            if time.perf_counter() - started > MAX_HOLD_SECONDS and self._loop is not None:
                self._queue[:0] = batch[position:]  # first in line, on the loop's next pass
                if self._timer is None:
                    self._timer = self._loop.call_soon(self._run_queued)
                return
            try:
                result = context.run(work)
            except StopIteration as exc:  # which a future cannot hold (as a coroutine turns it)
                _answer(future, error=RuntimeError(f"StopIteration raised: {exc!r}"))
            except Exception as exc:  # this piece's caller gets it; the others run
                _answer(future, error=exc)
            except BaseException:  # KeyboardInterrupt, SystemExit: nothing more runs
                for _, _, waiting in batch[position:]:
                    waiting.cancel()
                raise
            else:
                _answer(future, result)


def _answer(future: asyncio.Future[Any], result: Any = None, error: BaseException | None = None) -> None:
    """Give the caller its result or error, unless it was cancelled meanwhile (while its piece ran: a
    signal handler can)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
