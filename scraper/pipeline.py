"""The pipeline run: poll feeds, queue entries, archive pending articles, export posts.

The stages are joined here and nowhere else; each writes its result to the database before the next one
starts, so a crash between any two leaves work the next run finds (pending rows, archived rows without a
post). `scraper once`, the daemon and the backfill all drive this one class.

Every unit of work is claimed before it is done, and its result written only while the claim stands
(scraper.store.leases): feeds to poll (`feeds_to_poll`), pending articles (`claim_jobs`, spread over
hosts), posts to write (`export_unwritten`). With one node on SQLite the claims always succeed; with
several on PostgreSQL they are what keeps two nodes from doing the same work, and a dead node's work from
being lost. An article is archived and its post written by the same node, under one lease.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from scraper.archive import ArchiveOutcome, ArticleJob, archive_article
from scraper.config import Config, FeedConfig
from scraper.errors import FeedError, FetchError, HostBlockedError, PostNameTakenError, ScraperError
from scraper.export.writer import PostWriter, ReservedPost, export_unwritten, new_post
from scraper.extract import RuleBook
from scraper.fetch import Fetcher, RequestPolicy
from scraper.hosts import host_key, spread_over_hosts
from scraper.outcomes import ArticleState, RetryPolicy, Verdict, article_after_outcome
from scraper.poll import PollResult, poll_feed
from scraper.poll_schedule import FeedTiming, ServerMemory, after_answer, after_deferral, after_failure
from scraper.post_import import adopt_export_folder
from scraper.queue import enqueue_entries
from scraper.recorder import GroupRecorder
from scraper.schedule import encode_set
from scraper.store import articles as article_rows
from scraper.store import feeds as feed_rows
from scraper.store.db import session_factory
from scraper.store.leases import Leases
from scraper.store.models import Article, ArticleStatus, Feed, utcnow

log = logging.getLogger(__name__)

TASKS_PER_SLOT = 8  # archive tasks alive per global request slot (the rest wait their turn unstarted)
UNCHANGED_BATCH = 500  # 304 answers written per transaction
CLAIM_SCAN = 4  # pending articles read per one claimed, to find other hosts' work among one host's backlog
CLAIM_PASSES = 4  # reads past hosts held enough of, in one claim
EMPTY_BEYOND_SECONDS = 1.0  # a read past some hosts that found nothing is not done again for this long
CLAIMS_PER_HOST_SLOT = 2  # articles of one host claimed per per-host request slot (one in flight, one next)
RAW_PAGE_COMPRESSION = 6  # zlib level of the raw pages kept

# What a claim reads of an article for its job, and what its outcome's transaction reads (locking it).
JOB_COLUMNS = (
    Article.id,
    Article.feed_id,
    Article.url,
    Article.host,
    Article.entry_title,
    Article.entry_author,
    Article.entry_published_at,
    Article.entry_content,
)
ROW_COLUMNS = (
    Article.id,
    Article.attempts,
    Article.canonical_url,
    Article.discovered_at,
    Article.archived_at,
    Article.final_url,
    Article.post_path,
)


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
    feeds_deferred: int = 0  # not polled: the host asked everyone to wait (Retry-After)
    deferred: int = 0  # articles not fetched for the same reason
    lost: int = 0  # results discarded: the lease had expired and another node took the work over
    errors: list[str] = field(default_factory=list)

    def merge(self, other: RunSummary) -> None:
        """Add another summary's counts and errors (one a worker thread kept, so no count is lost)."""
        for name, value in vars(other).items():
            if isinstance(value, int):
                setattr(self, name, getattr(self, name) + value)
        self.errors.extend(other.errors)

    def line(self) -> str:
        feeds_deferred = f", {self.feeds_deferred} deferred" if self.feeds_deferred else ""
        deferred = f", deferred {self.deferred}" if self.deferred else ""
        return (
            f"polled {self.feeds_polled} feeds ({self.feeds_not_modified} not modified, "
            f"{self.feeds_failed} failed{feeds_deferred}); {self.new_entries} new entries; "
            f"archived {self.archived}, gone {self.gone}, retrying {self.retrying}, failed {self.failed}"
            f"{deferred}; wrote {self.posts_written} posts"
            + (f"; {self.lost} results discarded (leases lost)" if self.lost else "")
        )


@dataclass(frozen=True)
class FeedState:
    """What a poll needs of a feed row, read before the network is touched."""

    id: int
    url: str
    name: str
    etag: str | None
    last_modified: str | None
    policy: RequestPolicy | None = None
    # The schedule as read with the row, so an unchanged feed (304) is recorded without reading it again.
    snapshot: bool = False
    poll_interval: int | None = None
    ttl_minutes: int | None = None
    skip_hours: str | None = None
    skip_days: str | None = None
    broken: bool = False


class Pipeline:
    def __init__(
        self,
        config: Config,
        engine: Engine,
        fetcher: Fetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
        leases: Leases | None = None,
    ) -> None:
        self.config = config
        self.engine = engine
        # On SQLite every transaction of the pipeline takes the write lock first (BEGIN IMMEDIATE): its work
        # runs in several threads, and a transaction that read, then writes after another thread's commit
        # would fail at once instead of waiting its turn (scraper.store.db).
        self.sessions: sessionmaker[Session] = session_factory(
            engine.execution_options(sqlite_begin="IMMEDIATE")
        )
        self.fetcher = fetcher
        self.rules = RuleBook.load(config.rules)
        self.writer = PostWriter(config.export.dir)
        self.clock = clock
        self.feeds_by_url = {feed.url: feed for feed in config.feeds}
        self.retry_policy = RetryPolicy(config.fetch.max_attempts, config.fetch.retry_base_seconds)
        self.policies = {feed.url: RequestPolicy.from_config(config.http, feed) for feed in config.feeds}
        self._feed_rows: dict[int, Feed] = {}  # by id, for the jobs of claimed articles
        self._empty_beyond: tuple[frozenset[str], float] | None = None  # see _nothing_beyond
        self.leases = leases or Leases(
            engine, ttl=config.cluster.lease_seconds, heartbeat=config.cluster.heartbeat
        )
        # Outcomes of fetches are written a batch per transaction (scraper.recorder).
        self.recorder: GroupRecorder[tuple[ArticleJob, ArchiveOutcome], RunSummary] = GroupRecorder(
            self.store_many, RunSummary
        )

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
        """Bring the feed rows in line with the config: new feeds added, removed ones disabled (kept).

        Nodes starting together add the same feeds: the one that loses the race reads the rows again.
        """
        try:
            self._sync_feeds()
        except IntegrityError:
            self._sync_feeds()

    def _sync_feeds(self) -> None:
        with self.sessions.begin() as session:
            feed_rows.sync_feed_rows(session, self.config.feeds)

    def adopt_existing_posts(self) -> int:
        """Import the export folder's posts the database does not know, before any poll (see importer).
        Nodes sharing the folder may adopt the same post at once: the one that loses reads again."""
        try:
            found = adopt_export_folder(
                self.sessions, self.config.export.dir, self.config.feeds, self.clock()
            )
        except IntegrityError:
            found = adopt_export_folder(
                self.sessions, self.config.export.dir, self.config.feeds, self.clock()
            )
        return found.posts

    def feeds_to_poll(
        self, *, due_only: bool, limit: int | None = None, exclude_ids: Collection[int] = ()
    ) -> list[FeedState]:
        """Claim the enabled feeds the server lets us poll now (`blocked_until`: its ttl, cache lifetime,
        Retry-After, skip hours, or our error backoff); with `due_only`, only those whose interval is up.
        Feeds another node is polling are skipped; `record_poll` releases each claim.

        The cron job polls every such feed (cron's schedule is its interval); the daemon polls what is due.
        """
        now = self.clock()
        where = feed_rows.pollable(now, due_only=due_only, exclude_ids=exclude_ids)
        claimed = self.leases.claim("feed", where, order_by=[Feed.id], limit=limit)
        return [
            FeedState(
                f.id,
                f.url,
                f.name,
                f.etag,
                f.last_modified,
                self.policies.get(f.url),
                snapshot=True,
                poll_interval=f.poll_interval,
                ttl_minutes=f.ttl_minutes,
                skip_hours=f.skip_hours,
                skip_days=f.skip_days,
                broken=f.broken,
            )
            for f in claimed
        ]

    # --- poll and queue ----------------------------------------------------------------------------------

    async def poll_feeds(self, feeds: Sequence[FeedState], summary: RunSummary) -> None:
        """Poll all at once (the fetcher's politeness limits pace them, per host and in all), and record
        the results in the order of `feeds`: a story carried by two feeds then always belongs to the one
        listed first, however the network happened to answer."""
        results: list[PollResult | ScraperError | None] = [None] * len(feeds)
        recorded = 0
        unchanged: list[dict[str, object]] = []  # 304s, written together: most polls, and nothing to queue

        def record_ready() -> None:
            nonlocal recorded
            while recorded < len(feeds) and (ready := results[recorded]) is not None:
                results[recorded] = None
                feed = feeds[recorded]
                if isinstance(ready, PollResult) and ready.not_modified and feed.snapshot:
                    unchanged.append(self._unchanged_values(feed, ready, summary))
                    if len(unchanged) >= UNCHANGED_BATCH:
                        self._write_unchanged(unchanged)
                else:
                    self.record_poll(feed, ready, summary)
                recorded += 1

        recording = asyncio.Lock()  # one recording thread at a time, in feed order

        async def one(index: int, feed: FeedState) -> None:
            result: PollResult | ScraperError
            try:
                result = await poll_feed(
                    self.fetcher,
                    feed.url,
                    etag=feed.etag,
                    last_modified=feed.last_modified,
                    policy=feed.policy,
                )
            except (FeedError, FetchError) as exc:
                result = exc
            except Exception as exc:  # a parser bug must cost one feed, never the run
                log.exception("feed %s: unexpected error", feed.name)
                result = FeedError(f"internal error: {type(exc).__name__}: {exc}")
            results[index] = result
            async with recording:  # the database in a worker thread, while the loop goes on polling
                await asyncio.to_thread(record_ready)

        try:
            await asyncio.gather(*(one(i, feed) for i, feed in enumerate(feeds)))
        finally:
            self._write_unchanged(unchanged)

    def _unchanged_values(
        self, feed: FeedState, result: PollResult, summary: RunSummary
    ) -> dict[str, object]:
        """The row update for a 304, computed from the snapshot taken when the feed was chosen."""
        now = self.clock()
        summary.feeds_polled += 1
        summary.feeds_not_modified += 1
        log.info("feed %s: not modified", feed.name)
        if feed.broken:
            log.warning("feed %s: answers again, no longer broken", feed.name)
        schedule = after_answer(
            self._timing(feed.url),
            feed.poll_interval,
            0,
            now,
            result.max_age,
            ServerMemory(feed.ttl_minutes, feed.skip_hours, feed.skip_days),
        )
        return {
            "id": feed.id,
            "last_polled_at": now,
            "last_status": result.status,
            "last_success_at": now,
            "failures_in_row": 0,
            "failing_since": None,
            "broken": False,
            "poll_interval": schedule.interval,
            "blocked_until": schedule.blocked_until,
            "next_poll_at": schedule.next_poll_at,
        }

    def _write_unchanged(self, batch: list[dict[str, object]]) -> None:
        """Write a batch of 304s, releasing their claims; a feed whose claim was lost is left out."""
        if not batch:
            return
        ids = [values["id"] for values in batch]
        with self.leases.sessions.begin() as session:
            mine = feed_rows.lock_mine(session, ids, self.leases.node_id)
            kept = [{**values, "lease_owner": None, "lease_expires_at": None} for values in batch]
            feed_rows.write_rows(session, [values for values in kept if values["id"] in mine])
        self.leases.forget("feed", ids)
        for feed_id in ids:
            if feed_id not in mine:
                self.leases.discard("feed", feed_id, f"feed {feed_id} (not modified)")  # type: ignore[arg-type]
        batch.clear()

    def record_poll(self, feed: FeedState, result: PollResult | ScraperError, summary: RunSummary) -> None:
        """Write what a poll found, and when the feed is polled next (see scraper.schedule), if our claim
        on the feed still stands; the claim is released with it."""
        try:
            self._record_poll(feed, result, summary)
        finally:
            self.leases.forget("feed", [feed.id])

    def _record_poll(self, feed: FeedState, result: PollResult | ScraperError, summary: RunSummary) -> None:
        now = self.clock()
        timing = self._timing(feed.url)
        with self.leases.sessions.begin() as session:
            row = self.leases.guard(session, "feed", feed.id)
            if row is None:
                summary.lost += 1
                self.leases.discard("feed", feed.id, f"feed {feed.name}: poll result")
                return
            row.lease_owner, row.lease_expires_at = None, None  # released with the result
            if isinstance(result, HostBlockedError):  # nothing was asked of the server: not a failure
                summary.feeds_deferred += 1
                row.blocked_until, row.next_poll_at = after_deferral(
                    timing, now, result.retry_after or 0.0, row.next_poll_at
                )
                log.info("feed %s: deferred, %s", feed.name, result.reason)
                return
            row.last_polled_at = now
            interval = timing.current_interval(row.poll_interval)
            row.poll_interval = interval
            if isinstance(result, ScraperError):
                self._record_poll_failure(feed, row, result, summary, now, timing, interval)
                return
            self._record_answer(feed, row, result, summary, now, timing, session)

    def _record_answer(
        self,
        feed: FeedState,
        row: Feed,
        result: PollResult,
        summary: RunSummary,
        now: datetime,
        timing: FeedTiming,
        session: Session,
    ) -> None:
        summary.feeds_polled += 1
        row.last_status, row.last_success_at = result.status, now
        if row.broken:
            log.warning(
                "feed %s: answers again after %d failures, no longer broken", feed.name, row.failures_in_row
            )
        row.failures_in_row, row.failing_since, row.broken = 0, None, False
        new_entries = 0
        if result.not_modified:
            summary.feeds_not_modified += 1
            log.info("feed %s: not modified", feed.name)
        else:
            row.etag, row.last_modified = result.etag, result.last_modified
            row.ttl_minutes = result.ttl_minutes
            if result.skip_hours is not None:
                row.skip_hours = encode_set(result.skip_hours)
            if result.skip_days is not None:
                row.skip_days = encode_set(result.skip_days)
            if result.warning:
                row.last_error, row.last_error_at = f"parsed with a warning: {result.warning}", now
            queued = enqueue_entries(session, feed.id, result.entries, now)
            new_entries = len(queued.new_ids)
            summary.new_entries += new_entries
            for reason in queued.skipped:
                summary.errors.append(f"feed {feed.name}: {reason}")
            log.info(
                "feed %s: %d entries, %d new, %d already seen",
                feed.name,
                len(result.entries),
                new_entries,
                queued.duplicates,
            )
        schedule = after_answer(
            timing,
            row.poll_interval,
            new_entries,
            now,
            result.max_age,
            ServerMemory(row.ttl_minutes, row.skip_hours, row.skip_days),
        )
        row.poll_interval, row.blocked_until, row.next_poll_at = (
            schedule.interval,
            schedule.blocked_until,
            schedule.next_poll_at,
        )

    def _record_poll_failure(
        self,
        feed: FeedState,
        row: Feed,
        error: ScraperError,
        summary: RunSummary,
        now: datetime,
        timing: FeedTiming,
        interval: int,
    ) -> None:
        """The failure and its backoff (scraper.poll_schedule.after_failure) on the feed's row."""
        summary.feeds_failed += 1
        summary.errors.append(f"feed {feed.name}: {error}")
        log.warning("feed %s (%s): poll failed: %s", feed.name, feed.url, error)
        failed = after_failure(
            timing,
            interval,
            row.failures_in_row,
            row.failing_since,
            row.broken,
            now,
            transient=error.transient,
            retry_after=error.retry_after,
        )
        row.failures_in_row, row.failing_since, row.broken = (
            failed.failures_in_row,
            failed.failing_since,
            failed.broken,
        )
        row.last_error, row.last_error_at = str(error), now
        row.last_status = error.status
        row.blocked_until, row.next_poll_at = failed.blocked_until, failed.next_poll_at
        if failed.newly_broken:
            log.error("feed %s: failing since %s, marked broken", feed.name, failed.failing_since.isoformat())

    def _timing(self, url: str) -> FeedTiming:
        return FeedTiming.of(self._feed_config(url), self.config.schedule)

    # --- archive ---------------------------------------------------------------------------------------

    def claim_jobs(
        self,
        limit: int,
        *,
        due_before: datetime | None = None,
        per_host: int | None = None,
        held: Mapping[str, int] | None = None,
        exclude_ids: Collection[int] = (),
    ) -> list[ArticleJob]:
        """Claim up to `limit` pending articles due by `due_before` (default now), interleaved by host,
        so that the caller holds at most `per_host` of one host (`held`: how many it holds already).

        The queue is read in id order, `CLAIM_SCAN` rows per one wanted, and hosts the caller has enough
        of are left out of the read (a read that found only such hosts is done again without them, up to
        `CLAIM_PASSES` times), so one host's backlog at the head of the queue does not hide the others'
        work. Each read is its own short claim transaction.
        """
        counts = Counter(held or {})
        now = due_before or self.clock()
        articles: list[Row[Any]] = []
        for _ in range(CLAIM_PASSES):
            scanned = 0

            def pick(rows: list[Any]) -> list[Any]:
                nonlocal scanned
                scanned = len(rows)
                room = None if per_host is None else lambda name: per_host - counts[name]
                return spread_over_hosts(rows, lambda a: a.host or "", room)

            full = sorted(host for host, n in counts.items() if per_host is not None and n >= per_host)
            if full and self._nothing_beyond(full):
                break
            where = article_rows.claimable(now, full, exclude_ids)
            wanted = limit - len(articles)
            claimed = self.leases.claim(
                "article",
                where,
                order_by=[Article.id],
                limit=wanted,
                scan=wanted * CLAIM_SCAN,
                pick=pick,
                pick_by=[Article.host],
                columns=JOB_COLUMNS,
            )
            articles += claimed
            counts.update(article.host or "" for article in claimed)
            if full and not scanned:  # the queue holds nothing but these hosts' work: read it again later
                self._empty_beyond = (frozenset(full), time.monotonic() + EMPTY_BEYOND_SECONDS)
            # Again only if the read was cut short by hosts we now hold enough of: it may hide others.
            if len(articles) >= limit or scanned < wanted * CLAIM_SCAN or len(claimed) == scanned:
                break
        articles = spread_over_hosts(articles, lambda a: a.host or "")
        missing = {a.feed_id for a in articles if a.feed_id is not None and a.feed_id not in self._feed_rows}
        if missing:  # feed rows change with the config, and a new pipeline comes with a new config
            with self.sessions() as session:
                for feed in feed_rows.rows_by_id(session, missing):
                    self._feed_rows[feed.id] = feed
        return [self._job(article, self._feed_rows.get(article.feed_id or 0)) for article in articles]

    def _nothing_beyond(self, hosts: Sequence[str]) -> bool:
        """Did a read leaving out these hosts (or fewer) find nothing a moment ago? Then the next would
        not either: it is skipped (such a read goes through the whole backlog of the hosts left out)."""
        if self._empty_beyond is None:
            return False
        left_out, until = self._empty_beyond
        return time.monotonic() < until and left_out <= set(hosts)

    def claims_per_host(self) -> int:
        """How many articles of one host a node claims at a time: enough to keep its share of the host's
        request slots busy (scraper.politeness divides them between the live nodes), and no more, so the
        rest stays free for the other nodes and the other hosts."""
        limits = [self.config.http.per_host_concurrency]
        limits += [feed.per_host_concurrency for feed in self.config.feeds if feed.per_host_concurrency]
        return CLAIMS_PER_HOST_SLOT * max(1, max(limits) // max(1, self.leases.live_nodes))

    def _job(self, article: Row[Any], feed: Feed | None) -> ArticleJob:
        feed_config = self.feeds_by_url.get(feed.url) if feed else None
        return ArticleJob(
            policy=self.policies.get(feed.url) if feed else None,
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
        """Fetch, extract and record articles: the given `jobs` (claimed by the caller), or every article
        due when this starts, claimed a window at a time as slots free up (`scraper once`).

        Claims are spread over hosts (`claim_jobs`), so while one host's articles wait out its per-host
        delay the others' are fetched; the fetcher does the pacing, and takes a request slot only once a
        host's turn has come, so a task waiting on a host holds nothing another host could use.
        """
        if jobs is not None:
            await asyncio.gather(*(self._archive(job, summary) for job in interleave_by_host(list(jobs))))
            return
        cutoff = self.clock()  # what falls due again during the run (a retry, a deferral) waits for the next
        window = max(64, self.config.http.concurrency * TASKS_PER_SLOT)
        running: dict[asyncio.Task[None], tuple[str, int]] = {}
        by_host: Counter[str] = Counter()
        dry = False  # the last claim found less than it could take: wait for a task to end first
        try:
            while True:
                room = window - len(running)
                if not dry and room >= max(1, window // 4):
                    per_host = self.claims_per_host()
                    claimed = self.claim_jobs(room, due_before=cutoff, per_host=per_host, held=by_host)
                    dry = len(claimed) < room
                    for job in claimed:
                        host = job_host(job)
                        by_host[host] += 1
                        running[asyncio.create_task(self._archive(job, summary))] = (host, job.article_id)
                if not running:
                    if dry:
                        break
                    continue
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    by_host[running.pop(task)[0]] -= 1
                    task.result()
                dry = False  # a host has room again
        finally:  # interrupted: what was not recorded is given back at once, not at expiry
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await self.recorder.wait()  # what was fetched is recorded, not fetched again
            self.leases.release("article", [article_id for _, article_id in running.values()])

    async def _archive(self, job: ArticleJob, summary: RunSummary) -> None:
        try:
            outcome = await archive_article(job, self.fetcher, self.rules)
        except Exception as exc:  # a bug must cost one article, and only for now
            log.exception("article %s: unexpected error", job.url)
            outcome = ArchiveOutcome(
                ArticleStatus.PENDING, f"internal error: {type(exc).__name__}: {exc}", transient=True
            )
        summary.merge(await self.recorder.record((job, outcome)))

    def store(self, job: ArticleJob, outcome: ArchiveOutcome, summary: RunSummary) -> None:
        """Record the outcome; an article archived gets its post written at once, by this node."""
        self.store_many([(job, outcome)], [summary])

    def store_many(
        self, items: Sequence[tuple[ArticleJob, ArchiveOutcome]], summaries: Sequence[RunSummary]
    ) -> None:
        """Record these outcomes in one transaction (each counted in its own summary), then write the
        posts of those archived."""
        posts = self.record_outcomes(items, summaries)
        for post, summary in zip(posts, summaries, strict=True):
            if post is not None:
                summary.posts_written += self.writer.write_reserved(self.leases, post)

    def record_outcome(
        self, job: ArticleJob, outcome: ArchiveOutcome, summary: RunSummary
    ) -> ReservedPost | None:
        """`record_outcomes` of one."""
        return self.record_outcomes([(job, outcome)], [summary])[0]

    def record_outcomes(
        self, items: Sequence[tuple[ArticleJob, ArchiveOutcome]], summaries: Sequence[RunSummary]
    ) -> list[ReservedPost | None]:
        """Write each outcome if our claim on its article still stands (else discard it: another node has
        the article now). The claim is released with it; or, when the article was archived, kept for its
        post, whose file name is reserved in the same transaction: the posts to write are returned.

        One transaction for them all (a daemon records what finished while the last batch was written):
        the rows still ours are locked and read in one statement, then updated, and the raw pages
        inserted, a statement per kind of change. A post name another article took meanwhile fails the
        unique index: the batch is then recorded one by one, each with the next free name."""
        if not items:
            return []
        now = self.clock()
        written = self._write_with_free_names(items, now)
        posts: list[ReservedPost | None] = []
        for (job, outcome), summary, result in zip(items, summaries, written, strict=True):
            if result is None:
                summary.lost += 1
                self.leases.discard("article", job.article_id, f"article {job.url}")
                posts.append(None)
                continue
            verdict, post = result
            self._count(job, outcome, verdict, summary)
            if post is None:
                self.leases.forget("article", [job.article_id])
            posts.append(post)
        return posts

    def _write_with_free_names(
        self, items: Sequence[tuple[ArticleJob, ArchiveOutcome]], now: datetime
    ) -> list[tuple[Verdict, ReservedPost | None] | None]:
        taken: set[str] = set()
        while True:
            try:
                return self._write_outcomes(items, now, taken)
            except PostNameTakenError as exc:
                if len(items) > 1:  # which name it was is not known: one by one
                    return [self._write_with_free_names([item], now)[0] for item in items]
                taken.add(exc.name)

    def _write_outcomes(
        self, items: Sequence[tuple[ArticleJob, ArchiveOutcome]], now: datetime, taken: set[str]
    ) -> list[tuple[Verdict, ReservedPost | None] | None]:
        """One try at the transaction: per item its verdict and post, or None if the lease was lost."""
        results: list[tuple[Verdict, ReservedPost | None] | None] = []
        changes: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # one UPDATE per set of columns
        kept_pages: list[dict[str, Any]] = []
        chosen: set[str] = set()
        with self.leases.writes.begin() as connection:
            ids = [job.article_id for job, _ in items]
            rows = article_rows.lock_mine(connection, ids, self.leases.node_id, ROW_COLUMNS)
            for job, outcome in items:
                row = rows.pop(job.article_id, None)  # an article twice in one batch: the first outcome
                if row is None:
                    results.append(None)
                    continue
                verdict, values = article_after_outcome(
                    job,
                    ArticleState(row.attempts, row.archived_at, row.final_url),
                    outcome,
                    now,
                    self.retry_policy,
                )
                post = None
                if verdict.status == ArticleStatus.ARCHIVED:
                    post = self.writer.reserved(
                        new_post(
                            entry_title=job.entry_title,
                            title=values["title"],
                            canonical_url=row.canonical_url,
                            url=job.url,
                            feed_name=job.feed_name,
                            published=values["published_at"] or job.entry_published,
                            discovered_at=row.discovered_at,
                            archived_at=values["archived_at"],
                            body_html=values["content_html"],
                        ),
                        row.post_path,
                        job.article_id,
                        taken | chosen,
                    )
                    if row.post_path is None:  # a name kept from before is the row's own already
                        chosen.add(post.path)
                    values["post_path"] = post.path
                params = {f"new_{name}": value for name, value in values.items()}
                changes.setdefault(tuple(sorted(values)), []).append({"row_id": job.article_id, **params})
                if outcome.response is not None and outcome.response.content and not outcome.deferred:
                    kept_pages.append(self._raw_page(job.article_id, outcome, now) | {"again": row.attempts})
                results.append((verdict, post))
            try:
                for columns, batch in changes.items():
                    archived = "post_path" in columns  # the lease is kept: this node writes the post next
                    article_rows.update_many(
                        connection,
                        columns,
                        batch,
                        self.leases.node_id if archived else None,
                        self.leases.expiry() if archived else None,
                    )
            except IntegrityError:
                if chosen:  # the unique post_path: another article took a name meanwhile
                    raise PostNameTakenError(next(iter(chosen))) from None
                raise
            again = [page["article_id"] for page in kept_pages if page.pop("again")]
            article_rows.keep_raw_pages(connection, kept_pages, again)  # only a page fetched before had one
        return results

    @staticmethod
    def _count(job: ArticleJob, outcome: ArchiveOutcome, verdict: Verdict, summary: RunSummary) -> None:
        """Count and log an outcome once it is written."""
        if verdict.kind == "deferred":
            summary.deferred += 1
            log.info("article %s: deferred, %s", job.url, outcome.error)
        elif verdict.kind == "archived":
            summary.archived += 1
            log.info("article %s: archived (%s)", job.url, outcome.content_source)
        elif verdict.kind == "retrying":
            summary.retrying += 1
            delay = verdict.delay.total_seconds() if verdict.delay else 0
            log.warning("article %s: %s; retry in %ds", job.url, outcome.error, delay)
        else:
            if verdict.kind == "gone":
                summary.gone += 1
            else:
                summary.failed += 1
            summary.errors.append(f"article {job.url}: {outcome.error}")
            log.warning("article %s: %s (%s)", job.url, verdict.status, outcome.error)

    @staticmethod
    def _raw_page(article_id: int, outcome: ArchiveOutcome, now: datetime) -> dict[str, Any]:
        response = outcome.response
        assert response is not None
        return {
            "article_id": article_id,
            "url": response.final_url,
            "content_type": response.content_type,
            "encoding": outcome.encoding,
            "body_zlib": zlib.compress(response.content, RAW_PAGE_COMPRESSION),
            "fetched_at": now,
        }

    # --- export ------------------------------------------------------------------------------------------

    def export_unwritten(self, summary: RunSummary, *, limit: int | None = None, mine: bool = True) -> None:
        """Write the posts of the articles this node archived (unless not `mine`), and of those whose node
        died before writing them (scraper.export.writer.export_unwritten); at most `limit` this call."""
        summary.posts_written += export_unwritten(self.leases, self.writer, limit=limit, mine=mine)

    def _feed_config(self, url: str) -> FeedConfig:
        return self.feeds_by_url.get(url) or FeedConfig(name="", url=url)


def job_host(job: ArticleJob) -> str:
    return host_key(job.url)


def interleave_by_host(jobs: Sequence[ArticleJob]) -> list[ArticleJob]:
    """Round-robin over hosts (first-seen order kept within a host): a, b, c, a, b, a, ..."""
    return spread_over_hosts(jobs, job_host, None)
