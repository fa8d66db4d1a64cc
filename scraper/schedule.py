"""When a feed is polled next, and how long a failed feed or article waits: pure functions, no I/O.

Two times are kept per feed. `blocked_until` is the earliest moment the *server* lets us come back: its
`<ttl>`, `Cache-Control: max-age` / `Expires`, `Retry-After`, its `skipHours` / `skipDays`, or our
error backoff. `next_poll_at` adds our own interval on top. The daemon polls what is due by
`next_poll_at`; `scraper once` (whose interval is cron's) polls everything past `blocked_until`. So
neither ever polls a feed sooner than its publisher asked.

Server hints can lengthen the wait but never beyond `max_interval` (a feed announcing `<ttl>` of a
month would otherwise drop out of the archive), and they are ignored for local file feeds.

Adaptive interval (`interval = "auto"`): halved after a poll that found new entries, times 1.5 after one
that found none, within [min_interval, max_interval]. At equilibrium about 37 % of polls find something
new, i.e. a feed is polled roughly three times per new entry: busy feeds often, quiet ones rarely.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

AUTO_START = 1800  # the first interval of an "auto" feed, before anything is learned
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.I)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\b", re.I)


def parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    try:
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except OverflowError:  # 9999-12-31 west of UTC: an internal error on the feed or page that sent it
        return None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or junk."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # isdigit alone takes "²", which float does not
        return float(value)
    when = parse_http_date(value)
    if when is None:
        return None
    return max(0.0, (when - now).total_seconds())


def retry_after_note(status: int, headers: Mapping[str, str], seconds: float | None) -> str:
    """What a failure's reason says of a 429/503's Retry-After: the wait taken, or the value that was not
    understood. A junk value is thrown away (our backoff applies), so the reason names it: `status` shows
    the operator that the header is what was wrong, not a "server's Retry-After" that was never read."""
    if status not in (429, 503):
        return ""
    value = headers.get("retry-after")
    if value is not None and parse_retry_after(value, datetime.now(UTC)) is None:
        return f", Retry-After not understood: {value.strip()[:40]!r}"
    return f", Retry-After {seconds:.0f} s" if seconds else ""


def cache_lifetime(headers: Mapping[str, str], now: datetime) -> float | None:
    """How long the response says it stays fresh: Cache-Control max-age, else Expires (against Date)."""
    control = headers.get("cache-control", "")
    if _NO_CACHE.search(control):
        return None
    match = _MAX_AGE.search(control)
    if match:
        return float(match.group(1))
    expires = parse_http_date(headers.get("expires"))
    if expires is None:
        return None
    served = parse_http_date(headers.get("date")) or now
    return max(0.0, (expires - served).total_seconds())


@dataclass(frozen=True)
class ServerHints:
    """What the feed and its server asked about the next poll."""

    ttl_minutes: int | None = None
    max_age: float | None = None
    retry_after: float | None = None
    skip_hours: frozenset[int] = frozenset()  # GMT hours, 0-23
    skip_days: frozenset[int] = frozenset()  # 0 = Monday


def skip_window_end(when: datetime, hours: frozenset[int], days: frozenset[int]) -> datetime:
    """`when`, or the start of the first hour after it that the feed does not ask us to skip."""
    if not hours and not days:
        return when
    when = when.astimezone(UTC)
    candidate = when
    for _ in range(24 * 7 + 1):
        if candidate.hour not in hours and candidate.weekday() not in days:
            return candidate
        candidate = candidate.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return when  # every hour of the week skipped: the feed cannot mean it


def server_not_before(now: datetime, hints: ServerHints, cap: float) -> datetime:
    """The earliest next poll the server's hints allow (`now` if they ask nothing)."""
    waits = [0.0]
    if hints.ttl_minutes:
        waits.append(hints.ttl_minutes * 60.0)
    if hints.max_age:
        waits.append(hints.max_age)
    if hints.retry_after:
        waits.append(hints.retry_after)
    when = now + timedelta(seconds=min(max(waits), cap))
    return skip_window_end(when, hints.skip_hours, hints.skip_days)


def adapt_interval(current: float, new_entries: int, low: float, high: float) -> int:
    """The next interval of an "auto" feed (see the module docstring)."""
    factor = 0.5 if new_entries > 0 else 1.5
    return round(min(high, max(low, current * factor)))


def backoff(failures: int, base: float, cap: float, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with ±20 % jitter (so feeds that failed together do not retry in lockstep)."""
    seconds = min(base * 2 ** max(0, failures - 1), cap)
    return timedelta(seconds=seconds * (rng or random).uniform(0.8, 1.2))


def encode_set(values: frozenset[int]) -> str | None:
    return ",".join(str(v) for v in sorted(values)) or None


def decode_set(text: str | None) -> frozenset[int]:
    if not text:
        return frozenset()
    return frozenset(int(part) for part in text.split(",") if part.strip().isdigit())
