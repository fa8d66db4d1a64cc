"""The poll stage: claim the feeds to poll, poll them, record what each answered and when it is polled next.

A poll's result is written in the order of the feeds given (a story carried by two feeds belongs to the one
listed first), each under the feed's claim (scraper.store.leases); the schedule is scraper.poll_schedule's,
the new entries become article rows through scraper.queue before any page is fetched.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from scraper.config import Config, FeedConfig
from scraper.errors import FeedError, FetchError, HostBlockedError, ScraperError
from scraper.fetch import Fetcher, RequestPolicy
from scraper.logs import logging_about
from scraper.poll import PollResult, poll_feed
from scraper.poll_schedule import FeedTiming, ServerMemory, after_answer, after_deferral, after_failure
from scraper.sanitize import checked_url
from scraper.schedule import encode_set
from scraper.store import feed_polls
from scraper.store import feeds as feed_rows
from scraper.store.leases import Leases
from scraper.summary import RunSummary
from scraper.urls import CheckedURL

if TYPE_CHECKING:  # the ORM is loaded only to record a poll that is not a 304 (see _record_poll)
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from scraper.store.models import Feed

log = logging.getLogger(__name__)

UNCHANGED_BATCH = 500  # 304 answers written per transaction
MAX_CHECKED_URLS = 100_000  # feed URLs remembered as checked (a feed table's worth; rows come and go)


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


def _unchanged(feed: FeedState, result: PollResult | ScraperError | None) -> bool:
    """A 304 for a feed read with its schedule: recorded in a batch, from that snapshot."""
    return isinstance(result, PollResult) and result.not_modified and feed.snapshot


class RecordedDue:
    """When the first of the feeds recorded since the last `take` falls due again. The daemon's poll job,
    resting until its claim's `next_due`, wakes for these too: the feeds it was polling were not in that
    claim's count. Polls are recorded in worker threads too: a lock."""

    def __init__(self) -> None:
        self._due: datetime | None = None
        self._lock = threading.Lock()

    def note(self, next_poll_at: datetime | None, blocked_until: datetime | None) -> None:
        """A feed's poll was recorded: it falls due again at the later of these."""
        due = max(filter(None, (next_poll_at, blocked_until)), default=None)
        if due is None:
            return
        with self._lock:
            if self._due is None or due < self._due:
                self._due = due

    def take(self) -> datetime | None:
        """The earliest noted since the last call (None: none was), forgotten."""
        with self._lock:
            due, self._due = self._due, None
        return due


class PollStage:
    """Polls feeds with the shared fetcher and records the results through the node's leases."""

    def __init__(
        self,
        config: Config,
        leases: Leases,
        fetcher: Fetcher,
        policies: Mapping[str, RequestPolicy],
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.leases = leases
        self.fetcher = fetcher
        self.policies = policies
        self.clock = clock
        self.feeds_by_url = {feed.url: feed for feed in config.feeds}
        self._checked_urls: dict[str, str] = {}  # see _checked
        # When the first feed the last claim left falls due (PostgreSQL's claim says; None: not known).
        self.next_due: datetime | None = None
        self.recorded_due = RecordedDue()  # the feeds recorded: when each falls due again

    @cached_property
    def _statements(self) -> Engine | None:
        """The claim and the 304s' write as single statements, each committed alone (PostgreSQL only)."""
        engine = self.leases.engine
        return feed_polls.autocommit(engine) if feed_polls.fast(engine) else None

    def feeds_to_poll(
        self,
        *,
        due_only: bool,
        limit: int | None = None,
        exclude_ids: Collection[int] = (),
        force: bool = False,
    ) -> list[FeedState]:
        """Claim the enabled feeds the server lets us poll now (`blocked_until`: its ttl, cache lifetime,
        Retry-After, skip hours, or our error backoff); with `due_only`, only those whose interval is up.
        Feeds another node is polling are skipped; `record_poll` releases each claim.

        The cron job polls every such feed (cron's schedule is its interval); the daemon polls what is due.
        `force` (`once --force`): every enabled feed. scraper.due.poll_timing says why one is not chosen.

        On PostgreSQL the claim also says when the first feed it left (but `exclude_ids`) falls due:
        `next_due`, which the daemon's poll job sleeps until (None elsewhere, or without `due_only`).
        """
        now = self.clock()
        claimed: Sequence[Any]
        if self._statements is not None:  # PostgreSQL: one statement, built once (scraper.store.feed_polls)
            with self._statements.connect() as connection:
                claim = feed_polls.claim(
                    connection,
                    self.leases.node_id,
                    self.leases.ttl,
                    now,
                    due_only=due_only,
                    force=force,
                    exclude_ids=exclude_ids,
                    limit=limit,
                )
            claimed, self.next_due = claim.rows, claim.next_due
            self.leases.hold("feed", [f.id for f in claimed])
        else:
            self.next_due = None
            where = feed_rows.pollable(now, due_only=due_only, exclude_ids=exclude_ids, force=force)
            claimed = self.leases.claim("feed", where, order_by=[feed_rows.FEED.id], limit=limit)
        return [
            FeedState(
                f.id,
                self._checked(f.url),
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
                with logging_about(feed=feed.name, feed_url=feed.url):  # this thread records any feed's
                    if _unchanged(feed, ready):
                        unchanged.append(self._unchanged_values(feed, cast(PollResult, ready), summary))
                        if len(unchanged) >= UNCHANGED_BATCH:
                            self._write_unchanged(unchanged)
                    else:
                        self.record_poll(feed, ready, summary)
                recorded += 1

        def needs_database() -> bool:
            """Whether record_ready would write now: a result other than a 304, or a full batch of 304s."""
            ready, at = len(unchanged), recorded
            while at < len(feeds) and (result := results[at]) is not None:
                if not _unchanged(feeds[at], result):
                    return True
                ready, at = ready + 1, at + 1
            return ready >= UNCHANGED_BATCH

        recording = asyncio.Lock()  # one recording thread at a time, in feed order

        async def one(index: int, feed: FeedState) -> None:
            result: PollResult | ScraperError
            try:
                with logging_about(feed=feed.name, feed_url=feed.url):
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
            async with recording:
                if needs_database():  # in a worker thread, while the loop goes on polling
                    await asyncio.to_thread(record_ready)
                else:  # 304s only, queued for the next batch: no I/O, not worth a thread hop each
                    record_ready()

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
        # The rest of the row's update is the same for every 304 (scraper.store.feed_polls.UNCHANGED_SAME).
        return {
            "id": feed.id,
            "last_polled_at": now,
            "last_status": result.status,
            "poll_interval": schedule.interval,
            "blocked_until": schedule.blocked_until,
            "next_poll_at": schedule.next_poll_at,
        }

    def _write_unchanged(self, batch: list[dict[str, object]]) -> None:
        """Write a batch of 304s, releasing their claims; a feed whose claim was lost is left out."""
        if not batch:
            return
        ids = [cast(int, values["id"]) for values in batch]
        first = min(batch, key=lambda values: cast(datetime, values["next_poll_at"]))
        self.recorded_due.note(cast(datetime, first["next_poll_at"]), None)  # never before blocked_until
        node = self.leases.node_id
        if self._statements is not None:  # one statement, committed alone
            with self._statements.connect() as connection:
                mine = feed_polls.write_unchanged(connection, batch, node)
        else:
            with self.leases.writes.begin() as session:  # Core statements: no ORM session needed
                mine = feed_polls.write_unchanged(session, batch, node)
        self.leases.forget("feed", ids)
        for feed_id in ids:
            if feed_id not in mine:
                self.leases.discard("feed", feed_id, f"feed {feed_id} (not modified)")
        batch.clear()

    def record_poll(self, feed: FeedState, result: PollResult | ScraperError, summary: RunSummary) -> None:
        """Write what a poll found, and when the feed is polled next (see scraper.schedule), if our claim
        on the feed still stands; the claim is released with it."""
        try:
            row = self._record_poll(feed, result, summary)
        finally:
            self.leases.forget("feed", [feed.id])
        if row is not None:
            self.recorded_due.note(row.next_poll_at, row.blocked_until)

    def _record_poll(
        self, feed: FeedState, result: PollResult | ScraperError, summary: RunSummary
    ) -> Feed | None:
        """The row as written (None: the claim was lost, nothing written)."""
        now = self.clock()
        timing = self._timing(feed.url)
        with self.leases.sessions.begin() as session:
            row = self.leases.guard(session, "feed", feed.id)
            if row is None:
                summary.lost += 1
                self.leases.discard("feed", feed.id, f"feed {feed.name}: poll result")
                return None
            row.lease_owner, row.lease_expires_at = None, None  # released with the result
            if isinstance(result, HostBlockedError):  # nothing was asked of the server: not a failure
                summary.feeds_deferred += 1
                row.blocked_until, row.next_poll_at = after_deferral(
                    timing, now, result.retry_after or 0.0, row.next_poll_at
                )
                log.info("feed %s: deferred, %s", feed.name, result.reason)
                return row
            row.last_polled_at = now
            interval = timing.current_interval(row.poll_interval)
            row.poll_interval = interval
            if isinstance(result, ScraperError):
                _record_poll_failure(feed, row, result, summary, now, timing, interval)
                return row
            self._record_answer(feed, row, result, summary, now, timing, session)
            return row

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
            is_local = self._feed_config(feed.url).is_local
            new_entries = _queue_entries(session, feed, row, result, summary, now, is_local)
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

    def _checked(self, url: str) -> str:
        """The feed's URL as a CheckedURL (scraper.urls) once scraper.sanitize.checked_url passed it as it
        is: the daemon's stage polls a feed again and again, and the fetcher judged its URL each time.
        A URL refused (or changed) by the check is given as it is, for the fetcher to refuse as before."""
        known = self._checked_urls.get(url)
        if known is None:
            try:
                known = CheckedURL(url) if checked_url(url) == url else url
            except ValueError:  # RefusedValueError, a file URL among them: the fetcher says why
                known = url
            if len(self._checked_urls) < MAX_CHECKED_URLS:
                self._checked_urls[url] = known
        return known

    def _timing(self, url: str) -> FeedTiming:
        return FeedTiming.of(self._feed_config(url), self.config.schedule)

    def _feed_config(self, url: str) -> FeedConfig:
        return self.feeds_by_url.get(url) or FeedConfig(name="", url=url)


def _queue_entries(
    session: Session,
    feed: FeedState,
    row: Feed,
    result: PollResult,
    summary: RunSummary,
    now: datetime,
    is_local: bool,
) -> int:
    """Queue a feed's entries as article rows (scraper.queue); the new ones' count. Imported here: only a
    feed that sent entries needs the queue's ORM."""
    from scraper.queue import enqueue_entries

    queued = enqueue_entries(session, feed.id, result.entries, now, allow_file=is_local)
    new_entries = len(queued.new_ids)
    summary.new_entries += new_entries
    for reason in queued.skipped:
        summary.errors.append(f"feed {feed.name}: {reason}")
    summary.refused += len(queued.skipped)
    if queued.skipped:  # shown by `status`; the feed itself answered, so not a failure
        refused = f"{len(queued.skipped)} entries refused; the first: {queued.skipped[0]}"
        row.last_error, row.last_error_at = refused, now
    log.info(
        "feed %s: %d entries, %d new, %d already seen",
        feed.name,
        len(result.entries),
        new_entries,
        queued.duplicates,
    )
    return new_entries


def _record_poll_failure(
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
    row.last_status = error.status
    if error.ours:  # our own settings refused it: not the site's failure, no backoff
        row.last_error, row.last_error_at = str(error), now
        row.blocked_until, row.next_poll_at = None, now + timedelta(seconds=interval)
        return
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
    row.blocked_until, row.next_poll_at = failed.blocked_until, failed.next_poll_at
    if failed.newly_broken:
        log.error("feed %s: failing since %s, marked broken", feed.name, failed.failing_since.isoformat())
