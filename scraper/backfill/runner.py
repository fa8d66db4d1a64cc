"""The backfill run: find URLs with each source, then archive the queue, then export.

Archiving goes through the one work loop and the one recorder of every run (scraper.work_loop,
scraper.outcome_recorder): the queue is long and lumpy (a sitemap lists thousands of URLs of one host, then
thousands of another), so claims are spread over hosts and never take more of one host than its request
slots can use, and the fetcher's politeness keeps at most `--per-host` requests in flight to one host and
`--concurrency` in all; a task waiting for its host holds no slot another host could use.

Jobs are claimed from the database a window at a time (scraper.store.leases), so several backfills (and
daemons) on one PostgreSQL share the queue, each article fetched by one of them; rows stay pending until
their outcome is recorded, so a crash or Ctrl-C loses nothing and a rerun fetches only what was not
archived (Ctrl-C gives the claims back at once; after a kill they expire).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy import Engine

from scraper.archive import ArticleJob
from scraper.backfill.feed_history import DEFAULT_MAX_PAGES, HistoryFeed
from scraper.backfill.frontier import Filters
from scraper.backfill.progress import Progress
from scraper.backfill.source import Reported, SourceRun, SourceValue
from scraper.compose import node, work_sources
from scraper.config import Config
from scraper.errors import BackfillError
from scraper.pipeline import Pipeline, RunSummary
from scraper.store import articles as article_rows
from scraper.store import feeds as feed_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackfillOptions:
    # What the command line gave each work source, by its key (`--sitemap` is "sitemap"): the registered
    # sources (scraper.compose.WORK_SOURCES) read their own; an absent or empty one is not run.
    sources: Mapping[str, SourceValue] = field(default_factory=dict)
    feed: str | None = None
    filters: Filters = field(default_factory=Filters)
    per_host: int | None = None  # None: the config's http.per_host_concurrency
    concurrency: int | None = None  # default: http.concurrency
    rescan: bool = False
    max_pages: int = DEFAULT_MAX_PAGES

    @property
    def discovers(self) -> bool:
        """Whether a source given queues URLs, to archive after the sources have run."""
        return any(source.queues and self.sources.get(key) for key, source in work_sources().items())


@dataclass
class BackfillReport:
    sources: list[Reported] = field(default_factory=list)  # in the order the sources ran
    archive: RunSummary | None = None

    @property
    def failed(self) -> bool:
        return any(source.errors for source in self.sources)

    def lines(self) -> list[str]:
        out = [source.line() for source in self.sources]
        if self.archive:
            out.append(self.archive.line().split("; ", 2)[-1])  # the archive part of the run summary
        return out

    def errors(self) -> list[str]:
        out = [error for source in self.sources for error in source.errors]
        out += self.archive.errors if self.archive else []
        return out


async def run_backfill(
    config: Config,
    engine: Engine,
    options: BackfillOptions,
    progress: Progress,
    *,
    stdin: Callable[[], Iterable[str]] = tuple,
) -> BackfillReport:
    if options.concurrency:
        config = replace(config, http=replace(config.http, concurrency=options.concurrency))
    if options.per_host:  # the runner's slots and the fetcher's politeness say the same
        config = replace(config, http=replace(config.http, per_host_concurrency=options.per_host))
    report = BackfillReport()
    async with node(config, engine, "backfill") as pipeline:
        await _run(pipeline, options, progress, report, stdin)
    return report


async def _run(
    pipeline: Pipeline,
    options: BackfillOptions,
    progress: Progress,
    report: BackfillReport,
    stdin: Callable[[], Iterable[str]],
) -> None:
    """Each registered source that was given, in the order of the registry; then the archive."""
    pipeline.sync_feeds()
    pipeline.adopt_existing_posts()  # posts already in the export folder are never archived twice
    feeds = _chosen_feeds(pipeline, options)
    run = SourceRun(
        pipeline,
        options.filters,
        feed_id=feeds[0].id if options.feed else None,
        feeds=feeds,
        progress=progress,
        stdin=stdin,
        rescan=options.rescan,
        max_pages=options.max_pages,
        reports=report.sources,
    )
    for key, source in work_sources().items():
        given = options.sources.get(key)
        if given:
            await source.run(given, run)
    if options.discovers:
        report.archive = await archive_queue(pipeline, progress)


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


async def archive_queue(pipeline: Pipeline, progress: Progress) -> RunSummary:
    """Archive every due pending article through the one work loop (scraper.work_loop), with a progress
    bar; then write the posts not written yet."""
    summary = RunSummary()
    progress.start("archive", due_count(pipeline))

    def advance(_job: ArticleJob, own: RunSummary) -> None:
        progress.advance(not own.archived)

    try:
        await pipeline.archive_pending(summary, on_recorded=advance)
    finally:
        progress.finish()
    pipeline.export_unwritten(summary)
    return summary
