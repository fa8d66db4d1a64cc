"""When a feed is polled next, after each kind of poll result: pure functions over plain data.

The inputs are what the feed's config says (`FeedTiming`) and what its row remembers (the learned interval,
the server's ttl and skip hours/days, the failures so far); the output is the row's new schedule. The
pieces (backoff, the server's hints, skip windows, the "auto" interval) are scraper.schedule's; this module
says how one result combines them, so the policy is tested without a server or a database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from scraper.config import FeedConfig, ScheduleConfig
from scraper.schedule import (
    AUTO_START,
    ServerHints,
    adapt_interval,
    backoff,
    decode_set,
    server_not_before,
    skip_window_end,
)


@dataclass(frozen=True)
class FeedTiming:
    """A feed's schedule settings, its own over the [schedule] defaults."""

    interval: int | Literal["auto"]
    low: int  # bounds of an "auto" interval, and of what a server may ask
    high: int
    is_local: bool = False  # a file: no server to spare, its hints are ignored
    retry_base: float = 300.0
    max_backoff: float = 21600.0
    broken_after: float = 7 * 86400.0

    @classmethod
    def of(cls, feed: FeedConfig, schedule: ScheduleConfig) -> FeedTiming:
        return cls(
            interval=feed.interval,
            low=feed.min_interval or schedule.min_interval,
            high=feed.max_interval or schedule.max_interval,
            is_local=feed.is_local,
            retry_base=schedule.retry_base,
            max_backoff=schedule.max_backoff,
            broken_after=schedule.broken_after,
        )

    def current_interval(self, learned: int | None) -> int:
        """Seconds between polls: the configured one, or the learned one of an "auto" feed (clamped)."""
        if self.interval != "auto":
            return self.interval
        return round(min(self.high, max(self.low, learned or AUTO_START)))


@dataclass(frozen=True)
class ServerMemory:
    """What the feed's server said in earlier answers, as the row keeps it."""

    ttl_minutes: int | None = None
    skip_hours: str | None = None  # encoded sets (scraper.schedule.encode_set)
    skip_days: str | None = None


@dataclass(frozen=True)
class NextPoll:
    interval: int
    blocked_until: datetime | None  # no poll before this, whatever the interval says
    next_poll_at: datetime


@dataclass(frozen=True)
class FailedPoll:
    failures_in_row: int
    failing_since: datetime
    broken: bool
    newly_broken: bool
    blocked_until: datetime
    next_poll_at: datetime


def after_answer(
    timing: FeedTiming,
    learned: int | None,
    new_entries: int,
    now: datetime,
    max_age: float | None,
    memory: ServerMemory,
) -> NextPoll:
    """After an answer (200 or 304): our interval (adapted when "auto": shorter after news, longer after
    none) and the server's hints (its ttl and skip hours/days as remembered, this answer's cache
    lifetime), whichever asks for the later poll."""
    if timing.interval == "auto":
        interval = adapt_interval(timing.current_interval(learned), new_entries, timing.low, timing.high)
    else:
        interval = timing.interval
    hints = ServerHints()
    if not timing.is_local:
        hints = ServerHints(
            ttl_minutes=memory.ttl_minutes,
            max_age=max_age,
            skip_hours=decode_set(memory.skip_hours),
            skip_days=decode_set(memory.skip_days),
        )
    not_before = server_not_before(now, hints, cap=max(timing.high, interval))
    next_poll_at = skip_window_end(
        max(now + timedelta(seconds=interval), not_before), hints.skip_hours, hints.skip_days
    )
    return NextPoll(interval, not_before if not_before > now else None, next_poll_at)


def after_failure(
    timing: FeedTiming,
    interval: int,
    failures_before: int,
    failing_since: datetime | None,
    broken: bool,
    now: datetime,
    *,
    transient: bool,
    retry_after: float | None,
    rng: random.Random | None = None,
) -> FailedPoll:
    """After a failed poll: back off (transient: doubling from retry_base, with jitter; permanent:
    max_backoff at once), never sooner than a Retry-After (capped at the interval's upper bound) nor
    than the interval; broken once failing for `broken_after`."""
    failures = failures_before + 1
    since = failing_since or now
    if transient:
        wait = backoff(failures, timing.retry_base, timing.max_backoff, rng)
    else:
        wait = timedelta(seconds=timing.max_backoff)
    if retry_after:
        wait = max(wait, timedelta(seconds=min(retry_after, timing.high)))
    blocked_until = now + wait
    newly_broken = not broken and now - since >= timedelta(seconds=timing.broken_after)
    return FailedPoll(
        failures_in_row=failures,
        failing_since=since,
        broken=broken or newly_broken,
        newly_broken=newly_broken,
        blocked_until=blocked_until,
        next_poll_at=max(now + timedelta(seconds=interval), blocked_until),
    )


def after_deferral(
    timing: FeedTiming, now: datetime, retry_after: float, next_poll_at: datetime | None
) -> tuple[datetime, datetime]:
    """The host asked everyone to wait and no request was made: (blocked_until, next_poll_at). Not a
    failure, so nothing else of the schedule changes."""
    blocked_until = now + timedelta(seconds=min(retry_after, timing.high))
    return blocked_until, max(next_poll_at or now, blocked_until)
