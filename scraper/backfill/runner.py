"""The backfill run: find URLs with each source, then archive the queue host by host, then export.

Archiving goes through the ordinary path (`archive_article`, `Pipeline.store`: the outcome, then the post),
with one difference that matters for history: the queue is long and lumpy (a sitemap lists thousands of
URLs of one host, then thousands of another), so jobs wait in one line per host and a job starts only when
its host has a free slot. At most `per_host` requests are in flight to one host and `concurrency` in all;
no job holds a slot while waiting for another host, so every host is kept busy up to its limit.

Per-host politeness in the Fetcher itself (delays, robots) is issue 3's work; until it lands this
scheduler is what bounds the load on each site, and with it the bound stays (it only avoids waiting).

Jobs are claimed from the database in batches (scraper.store.leases), a few per host at a time, so several
backfills (and daemons) on one PostgreSQL share the queue, each article fetched by one of them; rows stay
pending until their outcome is recorded, so a crash or Ctrl-C loses nothing and a rerun fetches only what
was not archived (Ctrl-C gives the claims back at once; after a kill they expire).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import partial

from sqlalchemy import Engine

from scraper.archive import ArchiveOutcome, ArticleJob, archive_article
from scraper.backfill.feed_history import DEFAULT_MAX_PAGES, HistoryFeed, backfill_feed_history
from scraper.backfill.frontier import Filters, SourceReport
from scraper.backfill.progress import Progress
from scraper.backfill.reextract import ReextractReport, reextract
from scraper.backfill.sitemap import backfill_sitemaps
from scraper.backfill.url_list import backfill_urls
from scraper.config import Config
from scraper.errors import BackfillError
from scraper.fetch import Fetcher
from scraper.hosts import host_key
from scraper.pipeline import CLAIMS_PER_HOST_SLOT, Pipeline, RunSummary
from scraper.store import articles as article_rows
from scraper.store import feeds as feed_rows
from scraper.store.leases import Leases
from scraper.store.models import ArticleStatus

log = logging.getLogger(__name__)

BATCH = 500  # jobs read from the database at a time
MAX_BUFFERED = 20_000  # jobs held in memory while looking for work for an idle host
EXPORT_EVERY = 200  # archived articles between marking their posts written (a crash: written again)


@dataclass(frozen=True)
class BackfillOptions:
    sitemaps: tuple[str, ...] = ()
    feed_history: bool = False
    url_files: tuple[str, ...] = ()  # "-" is standard input
    reextract: bool = False
    feed: str | None = None
    filters: Filters = field(default_factory=Filters)
    per_host: int | None = None  # None: the config's http.per_host_concurrency
    concurrency: int | None = None  # default: http.concurrency
    rescan: bool = False
    max_pages: int = DEFAULT_MAX_PAGES

    @property
    def discovers(self) -> bool:
        return bool(self.sitemaps or self.feed_history or self.url_files)


@dataclass
class BackfillReport:
    sources: list[SourceReport] = field(default_factory=list)
    archive: RunSummary | None = None
    reextract: ReextractReport | None = None

    @property
    def failed(self) -> bool:
        return any(source.errors for source in self.sources) or bool(self.reextract and self.reextract.errors)

    def lines(self) -> list[str]:
        out = [source.line() for source in self.sources]
        if self.reextract:
            out.append(self.reextract.line())
        if self.archive:
            out.append(self.archive.line().split("; ", 2)[-1])  # the archive part of the run summary
        return out

    def errors(self) -> list[str]:
        out = [error for source in self.sources for error in source.errors]
        out += self.reextract.errors if self.reextract else []
        out += self.archive.errors if self.archive else []
        return out


async def run_backfill(
    config: Config,
    engine: Engine,
    options: BackfillOptions,
    progress: Progress,
    *,
    stdin: Iterable[str] = (),
) -> BackfillReport:
    if options.concurrency:
        config = replace(config, http=replace(config.http, concurrency=options.concurrency))
    if options.per_host:  # the runner's slots and the fetcher's politeness say the same
        config = replace(config, http=replace(config.http, per_host_concurrency=options.per_host))
    report = BackfillReport()
    leases = Leases(engine, ttl=config.cluster.lease_seconds, heartbeat=config.cluster.heartbeat)
    async with (
        Fetcher(config.http) as fetcher,
        leases.working("backfill", partial(setattr, fetcher.politeness, "share")),
    ):
        fetcher.politeness.share = leases.live_nodes
        await _run(Pipeline(config, engine, fetcher, leases=leases), options, progress, report, stdin)
    return report


async def _run(
    pipeline: Pipeline,
    options: BackfillOptions,
    progress: Progress,
    report: BackfillReport,
    stdin: Iterable[str],
) -> None:
    config, fetcher, leases = pipeline.config, pipeline.fetcher, pipeline.leases
    pipeline.sync_feeds()
    pipeline.adopt_existing_posts()  # posts already in the export folder are never archived twice
    feeds = _chosen_feeds(pipeline, options)
    feed_id = feeds[0].id if options.feed else None
    sessions = pipeline.sessions

    if options.reextract:
        report.reextract = reextract(pipeline, progress, feed_id)
        progress.note(report.reextract.line())
    for url in options.sitemaps:
        source = SourceReport(f"sitemap {url}")
        report.sources.append(source)
        await backfill_sitemaps(
            fetcher, sessions, url, options.filters, feed_id, source, rescan=options.rescan, leases=leases
        )
        progress.note(source.line())
    if options.feed_history:
        for feed in feeds:
            source = SourceReport(f"history of {feed.name}")
            report.sources.append(source)
            await backfill_feed_history(
                fetcher,
                sessions,
                feed,
                options.filters,
                source,
                rescan=options.rescan,
                max_pages=options.max_pages,
                leases=leases,
            )
            progress.note(source.line())
    for name in options.url_files:
        source = SourceReport(f"URLs from {'standard input' if name == '-' else name}")
        report.sources.append(source)
        try:
            if name == "-":
                backfill_urls(sessions, stdin, options.filters, feed_id, source)
            else:
                with open(name, encoding="utf-8", errors="replace") as lines:
                    backfill_urls(sessions, lines, options.filters, feed_id, source)
        except OSError as exc:
            source.errors.append(f"{name}: {exc}")
        progress.note(source.line())
    if options.discovers:
        report.archive = await archive_queue(
            pipeline,
            per_host=config.http.per_host_concurrency,
            concurrency=config.http.concurrency,
            progress=progress,
        )


def _chosen_feeds(pipeline: Pipeline, options: BackfillOptions) -> list[HistoryFeed]:
    """`--feed NAME`'s feed, or every enabled configured feed; as rows (with their ids)."""
    configured = [feed for feed in pipeline.config.feeds if options.feed in (None, feed.name)]
    if options.feed is not None and not configured:
        names = ", ".join(repr(feed.name) for feed in pipeline.config.feeds) or "none"
        raise BackfillError(f"--feed {options.feed!r}: no configured feed of that name (configured: {names})")
    with pipeline.sessions() as session:
        rows = feed_rows.rows_by_url(session)
    return [
        HistoryFeed(rows[feed.url].id, feed.name, feed.url)
        for feed in configured
        if options.feed is not None or feed.enabled
    ]


def due_count(pipeline: Pipeline) -> int:
    now = pipeline.clock()
    with pipeline.sessions() as session:
        return article_rows.due_count(session, now)


async def _archive_safely(job: ArticleJob, pipeline: Pipeline) -> ArchiveOutcome:
    try:
        return await archive_article(job, pipeline.fetcher, pipeline.rules)
    except Exception as exc:  # a bug on one page must not end a run of hours
        log.exception("article %s: unexpected error", job.url)
        return ArchiveOutcome(ArticleStatus.FAILED, f"unexpected error: {type(exc).__name__}: {exc}")


class _Recorder:
    """Records outcomes and writes posts in a worker thread, in arrival order, while the loop keeps fetching.

    Storing a record and writing its post cost more time than fetching it does at these rates; done on the
    event loop they would hold up every request in flight. One thread does them, one outcome at a time
    (`Pipeline.store`: the outcome in a transaction with the post's name, then the post), so writes never
    race each other.
    """

    def __init__(self, pipeline: Pipeline, summary: RunSummary, progress: Progress) -> None:
        self.pipeline, self.summary, self.progress = pipeline, summary, progress
        self.queue: list[tuple[ArticleJob, ArchiveOutcome]] = []
        self.lock = threading.Lock()
        self.worker: asyncio.Task[None] | None = None
        self.exported_at = 0

    def add(self, job: ArticleJob, outcome: ArchiveOutcome) -> None:
        self.queue.append((job, outcome))
        if self.worker is None or self.worker.done():
            self.worker = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while self.queue:
            batch, self.queue = self.queue, []
            await asyncio.to_thread(self._record, batch)

    def _record(self, batch: list[tuple[ArticleJob, ArchiveOutcome]]) -> None:
        with self.lock:
            summaries = [RunSummary() for _ in batch]
            self.pipeline.store_many(batch, summaries)  # one transaction for the batch
            for summary in summaries:
                self.summary.merge(summary)
                self.progress.advance(not summary.archived)
            if self.summary.archived - self.exported_at >= EXPORT_EVERY:  # mark the posts written so far
                self.exported_at = self.summary.archived
                self.pipeline.writer.flush(self.pipeline.leases)

    async def keep_up(self, limit: int) -> None:
        """Backpressure: fetched pages wait in memory to be recorded; past `limit` let the thread catch up."""
        if len(self.queue) >= limit and self.worker is not None and not self.worker.done():
            await asyncio.shield(self.worker)

    async def close(self) -> None:
        while self.worker is not None and not self.worker.done():
            await self.worker
        if self.worker is not None:
            self.worker.result()

    def flush(self) -> None:
        """After an interruption: record what was fetched (waiting for the thread's batch), so no page
        that was fetched is fetched again by the next run."""
        batch, self.queue = self.queue, []
        self._record(batch)


async def archive_queue(
    pipeline: Pipeline,
    *,
    per_host: int,
    concurrency: int,
    progress: Progress,
) -> RunSummary:
    """Archive every due pending article, host by host within the limits; then write the posts."""
    per_host, concurrency = max(per_host, 1), max(concurrency, 1)
    summary = RunSummary()
    waiting: dict[str, deque[ArticleJob]] = {}
    busy: Counter[str] = Counter()
    running: dict[asyncio.Task[ArchiveOutcome], tuple[str, ArticleJob]] = {}
    buffered, dry = 0, False  # dry: the last claim found less than it could take; wait for a job to end
    cutoff = pipeline.clock()  # a retry falling due during the run is for the next run
    per_host_held = per_host * CLAIMS_PER_HOST_SLOT * 2  # jobs of one host held here: waiting or running
    recorder = _Recorder(pipeline, summary, progress)
    progress.start("archive", due_count(pipeline))

    def start_what_fits() -> None:
        nonlocal buffered
        for host in list(waiting):
            line = waiting[host]
            while line and busy[host] < per_host and len(running) < concurrency:
                job = line.popleft()
                buffered -= 1
                busy[host] += 1
                running[asyncio.create_task(_archive_safely(job, pipeline))] = (host, job)
            if not line:
                del waiting[host]
            else:  # the next pass starts with the other hosts
                waiting[host] = waiting.pop(host)

    def refill() -> None:
        nonlocal buffered, dry
        held = Counter({host: len(line) for host, line in waiting.items()}) + busy
        wanted = min(BATCH, concurrency * 4 - buffered)
        jobs = pipeline.claim_jobs(wanted, due_before=cutoff, per_host=per_host_held, held=held)
        dry = len(jobs) < wanted
        for job in jobs:
            waiting.setdefault(host_key(job.url), deque()).append(job)
        buffered += len(jobs)

    try:
        while True:
            start_what_fits()
            idle = len(running) < concurrency
            # Claim when the lines run low (or a slot is idle): a claim reads the queue, so not per job.
            if not dry and buffered < MAX_BUFFERED and (buffered < concurrency * 2 or idle):
                refill()
                continue
            if not running:
                break
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            dry = False
            for task in done:
                host, job = running.pop(task)
                busy[host] -= 1
                recorder.add(job, task.result())
            await recorder.keep_up(8 * concurrency)
        await recorder.close()
    except BaseException:
        for task in running:
            task.cancel()
        recorder.flush()
        raise
    finally:
        progress.finish()
    pipeline.export_unwritten(summary)
    return summary
