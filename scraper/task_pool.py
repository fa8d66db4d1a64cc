"""The daemon's tasks: one per feed poll and per article fetch, each guarded so that an exception costs
that item a cool-down (its lease given back, its row untouched), never the daemon."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from scraper.metrics import Metrics
    from scraper.metrics_off import MetricsOff
    from scraper.store.leases import Leases

log = logging.getLogger("scraper.daemon")

# Work that raised instead of giving an outcome (a bug, a database hiccup) is left alone this long, so one
# bad row cannot spin the daemon; its database state is untouched, so nothing is lost.
COOL_DOWN_SECONDS = 300.0


class TaskPool:
    def __init__(self, metrics: Metrics | MetricsOff, leases: Leases) -> None:
        self.metrics = metrics
        self.leases = leases
        self.tasks: set[asyncio.Task[None]] = set()
        self._cool_down: dict[tuple[str, int], float] = {}
        # The in-flight gauge of each kind, looked up once (a labelled lookup takes a lock: every article).
        self._gauges = {kind: metrics.in_flight.labels(kind) for kind in ("feed", "page")}

    def spawn(self, work: Coroutine[Any, Any, None], done: Callable[[], object]) -> None:
        """Run `work` as a task of its own; `done` is called when it ends, however it ends."""
        task = asyncio.create_task(work)
        self.tasks.add(task)

        def finished(task: asyncio.Task[None]) -> None:
            self.tasks.discard(task)
            done()

        task.add_done_callback(finished)

    async def guarded(self, kind: str, key: int, work: Coroutine[Any, Any, None]) -> bool:
        """Run one poll or fetch; an exception costs that item a cool-down, never the daemon."""
        gauge = self._gauges["feed" if kind == "feed" else "page"]
        gauge.inc()
        try:
            await work
            return True
        except asyncio.CancelledError:
            log.warning("%s interrupted by shutdown; it is done again on the next start", kind)
            raise
        except Exception:
            log.exception("%s: unexpected error; left alone for %g s", kind, COOL_DOWN_SECONDS)
            self.metrics.unexpected_errors.labels(kind).inc()
            self._cool_down[(kind, key)] = time.monotonic() + COOL_DOWN_SECONDS
            with contextlib.suppress(SQLAlchemyError):  # else it expires
                self.leases.release(kind, [key])
            return False
        finally:
            gauge.dec()

    def cooling_ids(self, kind: str) -> list[int]:
        """The items of this kind still cooling down (left out of the claims)."""
        now = time.monotonic()
        for key in [key for key, until in self._cool_down.items() if until <= now]:
            del self._cool_down[key]
        return [key for cooling_kind, key in self._cool_down if cooling_kind == kind]

    async def drain(self, grace: float) -> int:
        """Let the running tasks finish within `grace` seconds, cancel the rest; how many were cancelled."""
        tasks = [task for task in self.tasks if not task.done()]
        if not tasks:
            return 0
        _, unfinished = await asyncio.wait(tasks, timeout=grace)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        return len(unfinished)
