"""The pipeline run: poll feeds, queue entries, archive pending articles, export posts.

The stages are joined here and nowhere else; each writes its result to the database before the next one
starts, so a crash between any two leaves work the next run finds (pending rows, archived rows without a
post). `scraper once`, the daemon and the backfill all drive this one class.
"""

from __future__ import annotations

import asyncio
import logging
import random
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session, sessionmaker

from scraper.archive import ArchiveOutcome, ArticleJob, archive_article
from scraper.config import Config, FeedConfig
from scraper.export.writer import PostWriter, archived_ids, export_articles
from scraper.extract import RuleBook
from scraper.fetch import Fetcher, FetchError
from scraper.importer import adopt_export_folder
from scraper.poll import FeedError, PollResult, poll_feed
from scraper.queue import enqueue_entries
from scraper.store.db import session_factory
from scraper.store.models import Article, ArticleStatus, Feed, RawPage, utcnow

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = timedelta(days=1)
FEED_RETRY_BASE = timedelta(minutes=5)
MAX_FEED_BACKOFF = timedelta(hours=6)


@dataclass
class RunSummary:
    feeds_polled: int = 0
    feeds_not_modified: int = 0
    feeds_failed: int = 0
    new_entries: int = 0
    archived: int = 0
    gone: int = 0
    retrying: int = 0
    failed: int = 0
    posts_written: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"polled {self.feeds_polled} feeds ({self.feeds_not_modified} not modified, "
            f"{self.feeds_failed} failed); {self.new_entries} new entries; "
            f"archived {self.archived}, gone {self.gone}, retrying {self.retrying}, failed {self.failed}; "
            f"wrote {self.posts_written} posts"
        )


@dataclass(frozen=True)
class FeedState:
    """What a poll needs of a feed row, read before the network is touched."""

    id: int
    url: str
    name: str
    etag: str | None
    last_modified: str | None


class Pipeline:
    def __init__(
        self,
        config: Config,
        engine: Engine,
        fetcher: Fetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.engine = engine
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self.fetcher = fetcher
        self.rules = RuleBook.load(config.rules)
        self.writer = PostWriter(config.export.dir)
        self.clock = clock
        self.feeds_by_url = {feed.url: feed for feed in config.feeds}

    # --- the whole run -----------------------------------------------------------------------------------

    async def run_once(self, *, due_only: bool = False) -> RunSummary:
        summary = RunSummary()
        self.sync_feeds()
        self.adopt_existing_posts()
        await self.poll_feeds(self.feeds_to_poll(due_only=due_only), summary)
        await self.archive_pending(summary)
        self.export_unwritten(summary)
        return summary

    def sync_feeds(self) -> None:
        """Bring the feed rows in line with the config: new feeds added, removed ones disabled (kept)."""
        with self.sessions.begin() as session:
            rows = {feed.url: feed for feed in session.scalars(select(Feed))}
            for feed in self.config.feeds:
                row = rows.get(feed.url)
                if row is None:
                    session.add(Feed(url=feed.url, name=feed.name, enabled=feed.enabled, failures_in_row=0))
                else:
                    row.name, row.enabled = feed.name, feed.enabled
            for url, row in rows.items():
                if url not in self.feeds_by_url:
                    row.enabled = False

    def adopt_existing_posts(self) -> int:
        """Import the export folder's posts the database does not know, before any poll (see importer)."""
        return adopt_export_folder(
            self.sessions, self.config.export.dir, self.config.feeds, self.clock()
        ).posts

    def feeds_to_poll(self, *, due_only: bool) -> list[FeedState]:
        """Enabled feeds not in a backoff window; with `due_only`, also only those whose interval is up.

        The cron job polls every feed (cron's schedule is its interval) but still honours a server's
        Retry-After and the error backoff; the daemon polls only what is due.
        """
        now = self.clock()
        query = select(Feed).where(Feed.enabled.is_(True))
        query = query.where(or_(Feed.blocked_until.is_(None), Feed.blocked_until <= now))
        if due_only:
            query = query.where(or_(Feed.next_poll_at.is_(None), Feed.next_poll_at <= now))
        with self.sessions() as session:
            return [
                FeedState(f.id, f.url, f.name, f.etag, f.last_modified)
                for f in session.scalars(query.order_by(Feed.id))
            ]

    # --- poll and queue ----------------------------------------------------------------------------------

    async def poll_feeds(self, feeds: Sequence[FeedState], summary: RunSummary) -> None:
        limit = asyncio.Semaphore(self.config.http.concurrency)

        async def one(feed: FeedState) -> None:
            async with limit:
                result: PollResult | Exception
                try:
                    result = await poll_feed(
                        self.fetcher, feed.url, etag=feed.etag, last_modified=feed.last_modified
                    )
                except (FeedError, FetchError) as exc:
                    result = exc
            self.record_poll(feed, result, summary)

        await asyncio.gather(*(one(feed) for feed in feeds))

    def record_poll(self, feed: FeedState, result: PollResult | Exception, summary: RunSummary) -> None:
        now = self.clock()
        interval = timedelta(seconds=self._feed_config(feed.url).interval)
        with self.sessions.begin() as session:
            row = session.get_one(Feed, feed.id)
            row.last_polled_at = now
            if isinstance(result, Exception):
                summary.feeds_failed += 1
                summary.errors.append(f"feed {feed.name}: {result}")
                log.warning("feed %s (%s): poll failed: %s", feed.name, feed.url, result)
                row.failures_in_row += 1
                row.last_error, row.last_error_at = str(result), now
                row.last_status = getattr(result, "status", None)
                backoff = min(FEED_RETRY_BASE * 2 ** (row.failures_in_row - 1), MAX_FEED_BACKOFF)
                row.blocked_until = now + backoff * random.uniform(0.8, 1.2)
                row.next_poll_at = max(now + interval, row.blocked_until)
                return
            summary.feeds_polled += 1
            row.last_status, row.last_success_at = result.status, now
            row.failures_in_row, row.blocked_until, row.broken = 0, None, False
            ttl = timedelta(minutes=result.ttl_minutes or 0)
            row.next_poll_at = now + max(interval, ttl)
            if result.not_modified:
                summary.feeds_not_modified += 1
                log.info("feed %s: not modified", feed.name)
                return
            row.etag, row.last_modified = result.etag, result.last_modified
            if result.warning:
                row.last_error, row.last_error_at = f"parsed with a warning: {result.warning}", now
            queued = enqueue_entries(session, feed.id, result.entries, now)
            summary.new_entries += len(queued.new_ids)
            for reason in queued.skipped:
                summary.errors.append(f"feed {feed.name}: {reason}")
            log.info(
                "feed %s: %d entries, %d new, %d already seen",
                feed.name,
                len(result.entries),
                len(queued.new_ids),
                queued.duplicates,
            )

    # --- archive ---------------------------------------------------------------------------------------

    def pending_jobs(self, limit: int | None = None, *, after_id: int = 0) -> list[ArticleJob]:
        now = self.clock()
        query = (
            select(Article, Feed)
            .join(Feed, Article.feed_id == Feed.id, isouter=True)
            .where(Article.status == ArticleStatus.PENDING)
            .where(or_(Article.next_attempt_at.is_(None), Article.next_attempt_at <= now))
            .where(Article.id > after_id)
            .order_by(Article.id)
            .limit(limit)
        )
        with self.sessions() as session:
            return [self._job(article, feed) for article, feed in session.execute(query)]

    def _job(self, article: Article, feed: Feed | None) -> ArticleJob:
        feed_config = self.feeds_by_url.get(feed.url) if feed else None
        return ArticleJob(
            article_id=article.id,
            url=article.url,
            feed_name=feed.name if feed else "",
            feed_is_local=bool(feed and feed.url.startswith("file:")),
            content_source=feed_config.content if feed_config else "page",
            selector=feed_config.selector if feed_config else None,
            remove=feed_config.remove if feed_config else (),
            entry_title=article.entry_title,
            entry_author=article.entry_author,
            entry_published=article.entry_published_at,
            entry_content=article.entry_content,
        )

    async def archive_pending(self, summary: RunSummary, jobs: Iterable[ArticleJob] | None = None) -> None:
        limit = asyncio.Semaphore(self.config.http.concurrency)

        async def one(job: ArticleJob) -> None:
            async with limit:
                outcome = await archive_article(job, self.fetcher, self.rules)
            self.record_outcome(job, outcome, summary)

        await asyncio.gather(*(one(job) for job in (self.pending_jobs() if jobs is None else jobs)))

    def record_outcome(self, job: ArticleJob, outcome: ArchiveOutcome, summary: RunSummary) -> None:
        now = self.clock()
        with self.sessions.begin() as session:
            article = session.get_one(Article, job.article_id)
            article.attempts += 1
            article.http_status = outcome.http_status
            article.final_url = outcome.final_url or article.final_url
            if outcome.response is not None and outcome.response.content:
                self._keep_raw_page(session, article, outcome, now)
            if outcome.status == ArticleStatus.ARCHIVED and outcome.record is not None:
                record = outcome.record
                article.status = ArticleStatus.ARCHIVED
                article.title = record.title
                article.author = record.author or article.entry_author
                article.published_at = outcome.published
                article.lang = record.lang
                article.content_html, article.content_text = record.html, record.text
                article.content_source = outcome.content_source
                article.fetched_at = now if outcome.response is not None else article.fetched_at
                article.archived_at = article.archived_at or now
                article.last_error = outcome.extra.get("page_error")
                article.next_attempt_at = None
                summary.archived += 1
                log.info("article %s: archived (%s)", job.url, outcome.content_source)
                return
            article.last_error = outcome.error
            if outcome.status == ArticleStatus.PENDING and article.attempts < self.config.fetch.max_attempts:
                delay = timedelta(seconds=self.config.fetch.retry_base_seconds * 2 ** (article.attempts - 1))
                delay = min(delay, MAX_RETRY_DELAY) * random.uniform(0.8, 1.2)
                article.next_attempt_at = now + delay
                summary.retrying += 1
                log.warning("article %s: %s; retry in %ds", job.url, outcome.error, delay.total_seconds())
                return
            article.status = (
                ArticleStatus.FAILED if outcome.status == ArticleStatus.PENDING else outcome.status
            )
            article.next_attempt_at = None
            if article.status == ArticleStatus.GONE:
                summary.gone += 1
            else:
                summary.failed += 1
            summary.errors.append(f"article {job.url}: {outcome.error}")
            log.warning("article %s: %s (%s)", job.url, article.status, outcome.error)

    @staticmethod
    def _keep_raw_page(session: Session, article: Article, outcome: ArchiveOutcome, now: datetime) -> None:
        response = outcome.response
        assert response is not None
        page = session.get(RawPage, article.id) or RawPage(article_id=article.id)
        page.url = response.final_url
        page.content_type = response.content_type
        page.encoding = outcome.encoding
        page.body_zlib = zlib.compress(response.content, 6)
        page.fetched_at = now
        session.add(page)

    # --- export ------------------------------------------------------------------------------------------

    def export_unwritten(self, summary: RunSummary) -> None:
        """Posts for archived articles that have none yet (new ones, or a crash between store and export)."""
        with self.sessions() as session:
            ids = archived_ids(session, unwritten_only=True)
        summary.posts_written += export_articles(self.sessions, self.writer, ids)

    def _feed_config(self, url: str) -> FeedConfig:
        return self.feeds_by_url.get(url) or FeedConfig(name="", url=url)
