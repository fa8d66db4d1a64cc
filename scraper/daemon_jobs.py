"""The daemon's jobs, on the event loop's own timers: each runs every tick and when woken, never twice at
once, and a failure is one log line a tick (the job simply runs again at the next), never the daemon's end.

Five interval jobs on one event loop need no scheduler library: a job's timer is one `loop.call_later`, a
wake one `call_soon`. APScheduler did this before; its import (with the entry points it scans for trigger
plugins) was a tenth of a worker's start-up, and each wake went through its job store, triggers and
timezone arithmetic, once per archived article.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from prometheus_client import Counter

log = logging.getLogger("scraper.daemon")

Job = Callable[[], Coroutine[Any, Any, None]]

# A claiming job (poll, archive) whose claim found nothing does not claim again on a tick for this long (a
# wake claims at once): with a short tick, an idle node would pay a claim transaction per job per tick.
DRY_CLAIM_SECONDS = 1.0


class JobRunner:
    def __init__(self, tick: float, errors: Counter, stopping: Callable[[], bool]) -> None:
        self.tick = tick
        self.errors = errors  # unexpected errors, labelled by job
        self.stopping = stopping
        self.last_run = time.monotonic()
        self._running: set[str] = set()  # jobs running now
        self._again: set[str] = set()  # jobs woken while running: run once more
        self._woken: set[str] = set()  # jobs woken and not run since (due now already)
        self._news: set[str] = set()  # jobs woken since their last claim (see `resting`)
        self._dry_until: dict[str, float] = {}  # job -> until when a tick does not claim again
        self._jobs: dict[str, tuple[Job, float]] = {}  # job -> (its function, its interval)
        self._timers: dict[str, asyncio.Handle] = {}  # job -> its next run (a tick's or a wake's)
        self._tasks: set[asyncio.Task[None]] = set()  # runs under way (cancelled by `shutdown`)
        self._state = "stopped"  # "running", "paused" (no new runs), "stopped"
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def running(self) -> bool:
        """Started and not shut down (paused counts: a stopping daemon's runner is paused, then shut down)."""
        return self._state != "stopped"

    def start(
        self,
        jobs: Sequence[tuple[str, Job]],
        heartbeat: Job,
        beat_seconds: float,
        *,
        slower: Mapping[str, float] | None = None,
    ) -> None:
        """The `jobs` every tick (starting now), or every `slower[job_id]` seconds if that is longer;
        `heartbeat` every `beat_seconds` (first after one). A job on a slower interval still runs at once
        when woken. Called on the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._state = "running"
        for job_id, func in jobs:
            self._jobs[job_id] = (func, max(self.tick, (slower or {}).get(job_id, 0.0)))
            self._schedule(job_id, 0.0)
        self._jobs["heartbeat"] = (heartbeat, beat_seconds)
        self._schedule("heartbeat", beat_seconds)

    def pause(self) -> None:
        """No more runs (the daemon is stopping); the runs under way go on."""
        if self._state == "running":
            self._state = "paused"
        self._cancel_timers()

    def shutdown(self) -> None:
        """No more runs, and the runs under way cancelled (each of them sees `stopping` and ends quietly)."""
        self._state = "stopped"
        self._cancel_timers()
        for task in list(self._tasks):
            task.cancel()

    def _cancel_timers(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _schedule(self, job_id: str, delay: float) -> None:
        """The job's next run in `delay` seconds (0: at the loop's next turn), replacing the one set."""
        assert self._loop is not None
        timer = self._timers.pop(job_id, None)
        if timer is not None:
            timer.cancel()
        if delay <= 0:
            self._timers[job_id] = self._loop.call_soon(self._fire, job_id)
        else:
            self._timers[job_id] = self._loop.call_later(delay, self._fire, job_id)

    def _fire(self, job_id: str) -> None:
        """A tick or a wake: the job's run as a task of its own (a run that waits for the database does not
        hold up the other jobs), and its next tick one interval from now."""
        self._timers.pop(job_id, None)
        if self._state != "running":
            return
        func, interval = self._jobs[job_id]
        self._schedule(job_id, interval)
        task = asyncio.ensure_future(self.run(job_id, func))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def wake(self, job_id: str) -> None:
        """Run a job now instead of at its next tick (coalesced: waking twice runs it once). Each article
        that ends may wake the archive job: a wake while the job runs only marks it to run once more, and
        one already due now is not rescheduled again."""
        if self.stopping() or self._state != "running" or job_id not in self._jobs:
            return
        self._news.add(job_id)
        if job_id in self._running:
            self._again.add(job_id)
        elif job_id not in self._woken:
            self._woken.add(job_id)
            self._schedule(job_id, 0.0)

    def resting(self, job_id: str) -> bool:
        """Did the job's last claim find nothing less than DRY_CLAIM_SECONDS ago, with no wake since (news
        for it: new entries, a task ended, a reload)? Then this run does not claim. What falls due by the
        clock alone (a retry, a feed's next poll) is claimed that much later at most."""
        if job_id in self._news:
            self._news.discard(job_id)
            return False
        return time.monotonic() < self._dry_until.get(job_id, 0.0)

    def claimed(self, job_id: str, found: int) -> None:
        """What the job's claim found: nothing makes the next ticks rest (`resting`)."""
        self._dry_until[job_id] = 0.0 if found else time.monotonic() + DRY_CLAIM_SECONDS

    async def run(self, job_id: str, func: Job) -> None:
        """A job's run: marks the scheduler alive; a database outage is one log line a tick, not a traceback
        (the health check reports it too), and the job simply runs again at the next tick.

        The jobs wait for the database in a worker thread, so a wake-up can come while the same job is
        still running: it is not run alongside (two claims would take twice the room), but once more as
        soon as the running one ends."""
        self.last_run = time.monotonic()
        self._woken.discard(job_id)
        if job_id in self._running:
            self._again.add(job_id)
            return
        self._running.add(job_id)
        try:
            while True:
                self._again.discard(job_id)
                if not await self._once(job_id, func) or job_id not in self._again or self.stopping():
                    break
        finally:
            self._running.discard(job_id)

    async def _once(self, job_id: str, func: Job) -> bool:
        """One run of the job; False when the runner shut down under it."""
        try:
            await func()
        except asyncio.CancelledError:
            if self.stopping():  # the runner shut down while the job waited for the database
                return False
            raise
        except SQLAlchemyError as exc:
            log.error("%s job: database error, trying again in %g s: %s", job_id, self.tick, exc)
            self.errors.labels(job_id).inc()
        except Exception:
            log.exception("%s job failed; trying again in %g s", job_id, self.tick)
            self.errors.labels(job_id).inc()
        return True
