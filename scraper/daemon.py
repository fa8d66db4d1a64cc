"""`scraper run`: the long-running daemon.

The database decides what is due (docs/architecture.md); APScheduler jobs only wake the pipeline to ask
it (the jobs: scraper.daemon_jobs; the tasks they start: scraper.task_pool):

- `poll`: feeds whose `next_poll_at` has come (`Pipeline.feeds_to_poll(due_only=True)`);
- `archive`: pending articles whose `next_attempt_at` has passed, claimed by the one work loop's claim step
  (`ArchiveStage.claim_more`); each article's task is its unit (`ArchiveStage.archive`), which records it
  and writes its post (scraper.work_loop, scraper.outcome_recorder);
- `export`: archived articles whose post is not written: their node died or stopped first
  (`Pipeline.export_unwritten`);
- `watch`: the config file, reloaded when it changes (and on SIGHUP).

Each runs every `[daemon] tick_seconds`, and is woken at once when there is news for it (a poll queued new
entries, or a fetch ended: archive). A poll or archive claim that found nothing is not repeated by the tick
for a second (`daemon_jobs.DRY_CLAIM_SECONDS`; a wake claims at once), so an idle node with a short tick does
not pay a claim transaction per job per tick. On PostgreSQL the poll's claim also says when the next feed
falls due (scraper.store.feed_polls), and the ticks rest until then (at most `LONGEST_REST_SECONDS`), or
until a feed this node just polled falls due again, whichever is first. The jobs do not do the work
themselves: each feed poll and each article fetch is a task of its own, so a slow page never holds up
the others, the queue is read in small batches (memory stays flat whatever the backlog), and each task
names its feed or article on every log line (scraper.logs). A fifth job, `heartbeat`, renews this node's
leases every `[cluster] heartbeat_seconds` and counts the live nodes.

Every unit is claimed before its task starts (scraper.store.leases): on PostgreSQL several daemons share
the work, each feed poll, article and post done by one of them; on SQLite the run lock keeps one daemon.
The tasks hold no slot of their own: the fetcher's politeness lets `http.concurrency` requests run at once,
and a request takes its slot only when its host's turn has come, so articles waiting for a busy host never
keep the other hosts' articles from the network. Claims take at most a few articles of one host at a time
(`Pipeline.claims_per_host`), so one host's backlog cannot fill the daemon's queue either.

A unit that raises instead of giving an outcome is recorded as failed with its reason (scraper.work_loop);
what raises around it (a database hiccup while recording) costs the unit a cool-down, never the daemon.

Stopping (SIGTERM, SIGINT): no new work is taken, in-flight tasks get `grace_seconds` to finish and are then
cancelled (a cancelled fetch records nothing: its article stays pending and is fetched on the next start),
the posts of what was archived are written, the node's leases are released (another node may take its
unfinished work at once), and the process exits 0. A second signal exits at once with
128 + the signal number; nothing is lost even then, since every database change is a transaction and every
post is written whole (temp file, then rename).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from scraper.archive import ArticleJob
from scraper.compose import new_engine, new_fetcher, new_leases, new_pipeline, opened
from scraper.config import Config, load_config
from scraper.daemon_jobs import Job, JobRunner
from scraper.daemon_revisits import spawn_revisits
from scraper.logs import logging_about
from scraper.metrics_off import MetricsOff
from scraper.pipeline import FeedState, Pipeline, RunSummary
from scraper.store.db import ping
from scraper.task_pool import TaskPool
from scraper.work_loop import ArchiveStage, archive_window, job_host

if TYPE_CHECKING:
    from scraper.listener import Listener
    from scraper.metrics import Metrics

log = logging.getLogger(__name__)

# Feed polls claimed at a time per slot: the rest of what is due stays free for other nodes.
POLLS_PER_SLOT = 4
EXPORTS_PER_TICK = 200  # posts written per run of the export job before it yields to the fetches
# The export job looks for posts other nodes left (their leases expired, or given back by a stop): it runs
# once a heartbeat, soon enough for that, not a query every tick; and at once when woken (more to write).


class Daemon:
    def __init__(self, config: Config, *, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.env = dict(os.environ if env is None else env)
        self.engine = new_engine(config)
        self.leases = new_leases(config, self.engine)
        self.metrics = _metrics(config.daemon.listen)
        self.metrics.add_database(self.engine)
        self.metrics.add_leases(self.leases)
        self.stopping = False
        self.listener: Listener | None = None
        self._feed_urls: frozenset[str] = frozenset(f.url for f in config.feeds)
        self.tasks = TaskPool(self.metrics, self.leases)
        self._feeds_in_flight: set[int] = set()
        self._articles_in_flight: dict[int, str] = {}  # article id -> its host
        self._config_stamp = _stamp(config.path)
        self._signals_seen = 0
        self._pipelines: list[Pipeline] = []
        self._more_polls_due = False
        self._article_capacity = archive_window(config.http.concurrency)  # [http] is kept on reload
        self._claim_batch = max(1, self._article_capacity // 2)
        self._revisiting: set[int] = set()
        self.jobs = JobRunner(
            config.daemon.tick_seconds, self.metrics.unexpected_errors, lambda: self.stopping
        )
        self.scheduler = self.jobs.scheduler

    # --- start and stop ----------------------------------------------------------------------------------

    def serve(self) -> int:
        """Run until stopped by a signal; returns the exit status. Raises LockHeldError, database errors."""
        with opened(self.engine, lock=True, advisory=False):
            self.leases.join("run")
            try:
                return asyncio.run(self._main())
            finally:
                self._leave()

    def _leave(self) -> None:
        """Give back what this node holds (a clean stop: nobody waits for the leases to expire)."""
        try:
            self.leases.leave()
        except SQLAlchemyError as exc:
            log.error("could not release this node's leases (they expire in %g s): %s", self.leases.ttl, exc)

    async def _main(self) -> int:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        async with new_fetcher(
            self.config, on_request=self.metrics.request_hook(lambda: self._feed_urls)
        ) as fetcher:
            self.fetcher = fetcher
            fetcher.politeness.share = self.leases.live_nodes
            self.pipeline = self._make_pipeline(self.config)
            self.pipeline.sync_feeds()
            self.pipeline.adopt_existing_posts()  # posts already in the export folder are not written again
            previous_handlers = self._install_signal_handlers()
            try:
                # first: a taken address stops the start before any work
                self.listener = _listener(self.config.daemon.listen, self.metrics, self.health)
                self._start_scheduler()
                log.info(
                    "running: %d feeds, database %s, posts in %s, checking what is due every %g s; "
                    "node %s (%d live)",
                    sum(f.enabled for f in self.config.feeds),
                    self.engine.url.render_as_string(hide_password=True),
                    self.config.export.dir,
                    self.config.daemon.tick_seconds,
                    self.leases.node_id,
                    self.leases.live_nodes,
                )
                await self._stopped.wait()
                await self._drain()
            finally:
                self.jobs.shutdown()
                if self.listener is not None:
                    self.listener.stop()
                for signum, handler in previous_handlers.items():
                    signal.signal(signum, handler)
        log.info("stopped")
        return 0

    def _make_pipeline(self, config: Config) -> Pipeline:
        off = isinstance(self.metrics, MetricsOff)  # nothing counts outcomes: no call per article
        hooks = [] if off else [self.metrics.count_outcome]
        pipeline = new_pipeline(config, self.engine, self.fetcher, self.leases, on_outcome=hooks)
        # Tasks of the previous config's pipeline may still be recording through it.
        self._pipelines = [p for p in self._pipelines if p.recorder.busy] + [pipeline]
        return pipeline

    def _start_scheduler(self) -> None:
        jobs = [
            ("poll", self._poll_due),
            ("archive", self._archive_due),
            ("export", self._export),
            ("watch", self._watch_config),
        ]
        self.jobs.start(jobs, self._beat, self.leases.heartbeat, slower={"export": self.leases.heartbeat})

    async def _job(self, job_id: str, func: Job) -> None:
        await self.jobs.run(job_id, func)

    def _install_signal_handlers(self) -> dict[int, Any]:
        """Plain signal handlers, not the loop's: a second signal must act even while the loop is busy."""
        previous: dict[int, Any] = {}
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if signum == signal.SIGHUP:
            self._loop.call_soon_threadsafe(self.reload, "SIGHUP")
            return
        self._signals_seen += 1
        if self._signals_seen > 1:
            # No logging here: the signal may have interrupted a logging call holding the handler's lock.
            os.write(2, f"scraper: second signal ({name}): exiting now\n".encode())
            os._exit(128 + signum)
        self._loop.call_soon_threadsafe(self.stop, name)

    def stop(self, why: str = "stop") -> None:
        """Take no new work; `_main` then drains in-flight work and returns."""
        if self.stopping:
            return
        self.stopping = True
        if self.scheduler.running:
            self.scheduler.pause()
        busy = len(self._feeds_in_flight) + len(self._articles_in_flight)
        log.info(
            "%s: stopping; %d polls and fetches in flight get %g s to finish (a second signal exits now)",
            why,
            busy,
            self.config.daemon.grace_seconds,
        )
        self._stopped.set()

    async def _drain(self) -> None:
        unfinished = await self.tasks.drain(self.config.daemon.grace_seconds)
        for pipeline in self._pipelines:  # outcomes fetched before the stop are recorded
            await pipeline.recorder.wait()
        if unfinished:
            log.warning(
                "%d polls or fetches did not finish within %g s and were interrupted; "
                "their articles stay pending, for the next start or another node",
                unfinished,
                self.config.daemon.grace_seconds,
            )
        await self._job("final export", lambda: self._export(None, mine=True))  # all that was extracted

    # --- health ------------------------------------------------------------------------------------------

    def health(self) -> tuple[bool, dict[str, Any]]:
        """200 while the scheduler runs (its jobs ran lately) and the database answers; else why not."""
        since_tick = time.monotonic() - self.jobs.last_run
        reasons = _unhealthy(self, since_tick)
        working = not reasons
        reasons += _posts_trouble(self)
        details: dict[str, Any] = {
            "scheduler": "running" if self.scheduler.running and not self.stopping else "stopped",
            "seconds_since_last_job": round(since_tick, 1),
            "in_flight": len(self._feeds_in_flight) + len(self._articles_in_flight),
            "node": self.leases.node_id,
            "live_nodes": self.leases.live_nodes,
        }
        if reasons:
            details["reasons"] = reasons
            if working:  # the daemon works, its output does not land: "degraded", still a 503
                details["status"] = "degraded"
        return not reasons, details

    # --- jobs: ask the database what is due, start a task for each -------------------------------------

    def wake(self, job_id: str) -> None:
        """Run a job now instead of at its next tick (coalesced: waking twice runs it once)."""
        self.jobs.wake(job_id)

    async def _poll_due(self) -> None:
        if self.stopping:
            return
        pipeline = self.pipeline
        room = self.config.http.concurrency * POLLS_PER_SLOT - len(self._feeds_in_flight)
        if room <= 0 or self.jobs.resting("poll"):
            return
        cooling = self.tasks.cooling_ids("feed")
        claimed = await asyncio.to_thread(
            pipeline.feeds_to_poll, due_only=True, limit=room, exclude_ids=cooling
        )
        if self.stopping:  # stopped while claiming
            self.leases.release("feed", [feed.id for feed in claimed])
            return
        self._more_polls_due = len(claimed) == room
        self.jobs.claimed("poll", len(claimed), _due_in(pipeline, pipeline.polls.next_due))  # rest till due
        for feed in claimed:
            self._feeds_in_flight.add(feed.id)
            self.tasks.spawn(self._poll_one(pipeline, feed), partial(self._feeds_in_flight.discard, feed.id))

    async def _archive_due(self) -> None:
        if self.stopping:
            return
        room = self._article_capacity - len(self._articles_in_flight)
        if room < self._claim_batch or self.jobs.resting("archive"):
            return
        stage = self.pipeline.archiving  # the one work loop's claim step and unit (scraper.work_loop)
        claimed = await asyncio.to_thread(
            stage.claim_more,
            dict(self._articles_in_flight),  # a copy: the tasks ending meanwhile change the original
            self._article_capacity,
            batch=self._claim_batch,
            exclude_ids=self.tasks.cooling_ids("article"),
        )
        if self.stopping:
            self.leases.release("article", [job.article_id for job in claimed])
            return
        for job in claimed:
            self._articles_in_flight[job.article_id] = job_host(job)
            self.tasks.spawn(
                self._archive_one(stage, job), partial(self._articles_in_flight.pop, job.article_id, None)
            )
        left, flight, capacity = room - len(claimed), self._articles_in_flight, self._article_capacity
        if left > 0:  # revisits in what new work left (scraper.daemon_revisits)
            left -= await spawn_revisits(self.pipeline, self.tasks, flight, left, capacity, self._revisiting)
        self.jobs.claimed("archive", room - left)

    async def _export(self, limit: int | None = EXPORTS_PER_TICK, *, mine: bool = False) -> None:
        """Posts not written right after their article was archived: a node died first, or stopped between
        the two. (An article's own task writes its post at once, scraper.outcome_recorder; the last export
        on stopping also writes those of tasks interrupted between the two, `mine`.)"""
        summary = RunSummary()
        await asyncio.to_thread(self.pipeline.export_unwritten, summary, limit=limit, mine=mine)
        if summary.posts_written:
            self.metrics.posts_written.inc(summary.posts_written)
            log.info("wrote %d posts", summary.posts_written)
        if limit is not None and summary.posts_written >= limit:
            self.wake("export")  # more to write: go on at once, letting the fetches run in between

    async def _beat(self) -> None:
        """Renew this node's leases, say it is alive, and share each host's limits with the live nodes."""
        live = await self.leases.beat_apart()  # never queued behind the claims and outcome batches
        if self.fetcher.politeness.share != live:
            log.info("%d live nodes: each takes 1/%d of every host's politeness limits", live, live)
        self.fetcher.politeness.share = live

    async def _watch_config(self) -> None:
        stamp = _stamp(self.config.path)
        if stamp != self._config_stamp and stamp is not None:
            self.reload("the config file changed")

    # --- the work: one task per feed poll and per article ------------------------------------------------

    async def _poll_one(self, pipeline: Pipeline, feed: FeedState) -> None:
        summary = RunSummary()
        with logging_about(feed=feed.name, feed_url=feed.url):
            if not await self.tasks.guarded("feed", feed.id, pipeline.poll_feeds([feed], summary)):
                return
        self.jobs.due_by("poll", _due_in(pipeline, pipeline.polls.recorded_due.take()))  # due again
        self.metrics.count_poll(feed.name, summary)
        if summary.new_entries:
            self.wake("archive")
        if self._more_polls_due:
            self.wake("poll")

    async def _archive_one(self, stage: ArchiveStage, job: ArticleJob) -> None:
        summary = RunSummary()
        with logging_about(feed=job.feed_name, article=job.url, article_id=job.article_id):
            if not await self.tasks.guarded("article", job.article_id, stage.archive(job, summary)):
                return
        self.metrics.count_article(job.feed_name, summary)
        if summary.posts_written:
            self.metrics.posts_written.inc(summary.posts_written)
        if self._article_capacity - len(self._articles_in_flight) >= self._claim_batch - 1:
            self.wake("archive")  # room for another batch (this one leaves the count once it returns)

    # --- reload ------------------------------------------------------------------------------------------

    def reload(self, why: str) -> None:
        """Re-read the config: feeds, rules, fetch and export settings apply at once; the rest on restart."""
        if self.stopping or self.config.path is None:
            return
        self._config_stamp = _stamp(self.config.path)
        try:
            new, kept = _reloaded(self.config, self.config.path, self.env)
            pipeline = self._make_pipeline(new)
            pipeline.sync_feeds()
            pipeline.adopt_existing_posts()
        except Exception as exc:  # a ConfigError, or rules the pipeline refuses
            self.metrics.config_reloads.labels("failed").inc()
            log.error("config reload (%s) failed; still running on the previous config: %s", why, exc)
            return
        previous, self.config, self.pipeline = self.pipeline, new, pipeline
        try:
            previous.writer.flush(self.leases)  # posts it wrote are marked so
        except SQLAlchemyError as exc:  # they are written again (the same bytes) when their leases expire
            log.warning("config reload: could not mark the last posts written: %s", exc)
        self._feed_urls = frozenset(f.url for f in new.feeds)
        self.metrics.config_reloads.labels("ok").inc()
        log.info("config reloaded (%s): %d feeds enabled", why, sum(f.enabled for f in new.feeds))
        if kept:
            log.warning("config reload: changes to [%s] take a restart", "], [".join(kept))
        self.wake("poll")


def _due_in(pipeline: Pipeline, when: datetime | None) -> float | None:
    """Seconds from now to `when` (None: not known), by the pipeline's clock."""
    return None if when is None else (when - pipeline.clock()).total_seconds()


def _stamp(path: Path | None) -> tuple[int, int, int] | None:
    """What tells a changed file: mtime, size, inode (an editor's save-by-rename changes the inode)."""
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def _reloaded(config: Config, path: Path, env: dict[str, str]) -> tuple[Config, list[str]]:
    """The config file read again, keeping what only a restart changes; and the names of those sections
    that changed in the file (their change waits for the restart)."""
    new = load_config(path, env)
    kept = [
        name
        for name in ("database", "http", "daemon", "cluster")
        if getattr(new, name) != getattr(config, name)
    ]
    new = dataclasses.replace(
        new,
        database=config.database,
        http=config.http,
        daemon=config.daemon,
        cluster=config.cluster,  # the leases' length is the node's, for its whole life
    )
    return new, kept


def _unhealthy(daemon: Daemon, since_tick: float) -> list[str]:
    """Why the daemon is not healthy (none: it is): stopping, its scheduler stopped or stalled, or the
    database not answering."""
    reasons = []
    if daemon.stopping:
        reasons.append("shutting down")
    elif not daemon.scheduler.running:
        reasons.append("scheduler not running")
    elif since_tick > max(3 * daemon.config.daemon.tick_seconds, 30.0):
        reasons.append(f"scheduler stalled: no job ran for {since_tick:.0f} s")
    try:
        ping(daemon.engine)
    except Exception as exc:
        reasons.append(f"database unreachable: {type(exc).__name__}: {exc}")
    return reasons


def _posts_trouble(daemon: Daemon) -> list[str]:
    """Archiving goes on, but nothing reaches the site: monitoring must see it (a degraded health)."""
    pipeline = getattr(daemon, "pipeline", None)  # not made yet while starting
    failure = pipeline.writer.failure if pipeline else None
    return [f"posts cannot be written to export.dir {daemon.config.export.dir}: {failure}"] if failure else []


def _metrics(listen: str) -> Metrics | MetricsOff:
    """The daemon's metrics: Prometheus's, read by the listener's /metrics; none without a listener (no
    reader: scraper.metrics_off), so a worker without one neither imports nor feeds them."""
    if not listen:
        return MetricsOff()
    from scraper.metrics import Metrics

    return Metrics()


def _listener(
    listen: str, metrics: Metrics | MetricsOff, health: Callable[[], tuple[bool, dict[str, Any]]]
) -> Listener | None:
    """The health and metrics listener, started; None when `[daemon] listen` is empty."""
    if not listen:
        log.info("health and metrics listener off ([daemon] listen is empty)")
        return None
    from scraper.listener import Listener

    assert not isinstance(metrics, MetricsOff)  # a listener's daemon counts (`_metrics`)
    try:
        listener = Listener(listen, metrics.registry, health)
    except OSError as exc:
        raise OSError(f"cannot listen on {listen} ([daemon] listen): {exc.strerror or exc}") from None
    listener.start()
    log.info("health on %s/healthz, metrics on %s/metrics", listener.url, listener.url)
    return listener
