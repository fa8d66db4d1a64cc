"""The daemon's jobs on APScheduler: each runs every tick and when woken, never twice at once, and a
failure is one log line a tick (the job simply runs again at the next), never the daemon's end.

The ticks are APScheduler's interval jobs. A wake (each archived article may wake the archive job) does
not go through the scheduler: rescheduling a job there takes its job store's lock, the trigger's and the
timezone's arithmetic and a pass over every job, where starting the job's run on the loop at its next turn
is one `call_soon`; the run is the same `JobRunner.run`, so coalescing and never-twice-at-once hold for it
as for a tick's. The scheduler's parts are given as objects (its executor, job store and triggers), not
as plugin names it would look up among the installed packages' entry points.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from scraper.metrics_off import Series

log = logging.getLogger("scraper.daemon")

Job = Callable[[], Coroutine[Any, Any, None]]

# A claiming job (poll, archive) whose claim found nothing does not claim again on a tick for this long (a
# wake claims at once): with a short tick, an idle node would pay a claim transaction per job every tick.
DRY_CLAIM_SECONDS = 1.0
# A claim that says when its next unit falls due (the poll's, on PostgreSQL) rests until then, but at most
# this long: what another node gives back (a clean stop releases its claims) is taken up this late at most.
LONGEST_REST_SECONDS = 5.0
# How late a tick's run and its claim may be, at most, for a rest of a whole tick still to end by the next.
REST_SLACK_SECONDS = 0.5


class JobRunner:
    def __init__(self, tick: float, errors: Series, stopping: Callable[[], bool]) -> None:
        self.tick = tick
        self.errors = errors  # unexpected errors, labelled by job
        self.stopping = stopping
        self.last_run = time.monotonic()
        self._running: set[str] = set()  # jobs running now
        self._again: set[str] = set()  # jobs woken while running: run once more
        self._woken: set[str] = set()  # jobs woken and not run since (due now already)
        self._news: set[str] = set()  # jobs woken since their last claim (see `resting`)
        self._dry_until: dict[str, float] = {}  # job -> until when a tick does not claim again
        self._jobs: dict[str, Job] = {}  # job -> its function (a wake runs it)
        self._woken_runs: set[asyncio.Task[None]] = set()  # runs a wake started (cancelled on shutdown)
        # Several "instances" only means a wake-up came while APScheduler was still counting the last run as
        # running, which must not be skipped; `run` runs the job again after the current run instead.
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 8, "misfire_grace_time": None},
            executors={"default": AsyncIOExecutor()},
            jobstores={"default": MemoryJobStore()},
        )

    def start(
        self,
        jobs: Sequence[tuple[str, Job]],
        heartbeat: Job,
        beat_seconds: float,
        *,
        slower: Mapping[str, float] | None = None,
    ) -> None:
        """The `jobs` every tick (starting now), or every `slower[job_id]` seconds if that is longer;
        `heartbeat` every `beat_seconds`. A job on a slower interval still runs at once when woken."""
        now = datetime.now(UTC)
        for job_id, func in jobs:
            self._jobs[job_id] = func
            seconds = max(self.tick, (slower or {}).get(job_id, 0.0))
            self.scheduler.add_job(
                self.run,
                IntervalTrigger(seconds=seconds, timezone=UTC),
                (job_id, func),
                id=job_id,
                name=job_id,
                next_run_time=now,
            )
        self.scheduler.add_job(
            self.run,
            IntervalTrigger(seconds=beat_seconds, timezone=UTC),
            ("heartbeat", heartbeat),
            id="heartbeat",
            name="heartbeat",
        )
        self.scheduler.start()

    def shutdown(self) -> None:
        """The scheduler shut down (its runs cancelled), and the runs wakes started cancelled too."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for task in list(self._woken_runs):
            task.cancel()

    def wake(self, job_id: str) -> None:
        """Run a job now instead of at its next tick (coalesced: waking twice runs it once). Each article
        that ends may wake the archive job: a wake while the job runs only marks it to run once more, and
        one already due now starts nothing more. The run starts at the loop's next turn, beside the
        scheduler (see the module's docstring)."""
        if self.stopping() or not self.scheduler.running or job_id not in self._jobs:
            return
        self._news.add(job_id)
        if job_id in self._running:
            self._again.add(job_id)
        elif job_id not in self._woken:
            self._woken.add(job_id)
            asyncio.get_running_loop().call_soon(self._run_woken, job_id)

    def _run_woken(self, job_id: str) -> None:
        """A woken job's run, unless a tick ran it since the wake (that run saw the news) or the daemon is
        stopping (the scheduler paused: nothing new starts)."""
        if job_id not in self._woken or self.stopping() or self.scheduler.state != STATE_RUNNING:
            return
        task = asyncio.ensure_future(self.run(job_id, self._jobs[job_id]))
        self._woken_runs.add(task)
        task.add_done_callback(self._woken_runs.discard)

    def resting(self, job_id: str) -> bool:
        """Did the job's last claim find nothing less than DRY_CLAIM_SECONDS ago, with no wake since (news
        for it: new entries, a task ended, a reload)? Then this run does not claim. What falls due by the
        clock alone (a retry, a feed's next poll) is claimed that much later at most."""
        if job_id in self._news:
            self._news.discard(job_id)
            return False
        # A rest ending within REST_SLACK_SECONDS (or half a tick) ends now: it started after its tick's
        # claim, so one of exactly a tick would otherwise end just after the next tick and skip it.
        slack = min(self.tick / 2, REST_SLACK_SECONDS)
        return time.monotonic() + slack < self._dry_until.get(job_id, 0.0)

    def claimed(self, job_id: str, found: int, due_in: float | None = None) -> None:
        """What the job's claim found: nothing makes the next ticks rest (`resting`) DRY_CLAIM_SECONDS.
        `due_in`: the claim also said in how many seconds the first unit it left falls due; the ticks rest
        until then (at most LONGEST_REST_SECONDS), whatever it found. One due already (found nothing,
        perhaps another node's claim has it locked this moment) rests DRY_CLAIM_SECONDS."""
        if due_in is not None and (found or due_in > 0):
            rest = min(max(due_in, 0.0), LONGEST_REST_SECONDS)
        else:
            rest = 0.0 if found else DRY_CLAIM_SECONDS
        self._dry_until[job_id] = time.monotonic() + rest if rest else 0.0

    def due_by(self, job_id: str, seconds: float | None) -> None:
        """Something falls due for the job in `seconds` (None: nothing): a rest (`claimed`) ends then at
        the latest."""
        if seconds is None:
            return
        until = time.monotonic() + max(seconds, 0.0)
        if self._dry_until.get(job_id, 0.0) > until:
            self._dry_until[job_id] = until

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
        """One run of the job; False when the scheduler shut down under it."""
        try:
            await func()
        except asyncio.CancelledError:
            if self.stopping():  # the scheduler shut down while the job waited for the database
                return False
            raise
        except SQLAlchemyError as exc:
            log.error("%s job: database error, trying again in %g s: %s", job_id, self.tick, exc)
            self.errors.labels(job_id).inc()
        except Exception:
            log.exception("%s job failed; trying again in %g s", job_id, self.tick)
            self.errors.labels(job_id).inc()
        return True
