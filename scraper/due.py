"""Why a feed is (or is not) polled now, and when it will be: a pure function over plain data.

`scraper once` says which feeds it skipped and why, `scraper status` when and why each is polled next;
both ask `poll_timing`, which mirrors the selection of `Pipeline.feeds_to_poll` (enabled, not claimed by
another node, past `blocked_until`, and for the daemon past `next_poll_at`) and names the cause of a
wait from what the row holds: our backoff after failures, the server's Retry-After, or its own hints
(`<ttl>`, skipHours/skipDays, cache lifetime).

A feed whose configuration changed is due at once: its row keeps a fingerprint of the settings that
shape its polls (`config_fingerprint`), and a new one clears the wait our own backoff had set.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

RETRY_AFTER_STATUSES = frozenset({429, 503})
# A poll's reason names the wait it read (scraper.schedule.retry_after_note); a 503 without one, or with one
# not understood, waits for our backoff, and the why says so (a row without a reason: as it always was).
_RETRY_AFTER_READ = re.compile(r", Retry-After \d+ s$")


@dataclass(frozen=True)
class FeedTiming:
    """What the decision needs of a feed row."""

    enabled: bool
    next_poll_at: datetime | None
    blocked_until: datetime | None
    last_polled_at: datetime | None = None
    failures_in_row: int = 0
    last_status: int | None = None
    last_error: str | None = None
    ttl_minutes: int | None = None
    skip_hours: bool = False  # the feed names hours or days to skip
    skip_days: bool = False
    interval: int | None = None
    claimed_by: str | None = None  # the node whose claim on the feed stands (a poll in flight)


@dataclass(frozen=True)
class PollTiming:
    due: bool
    when: datetime | None  # when it will be polled: now if due, None if never (disabled)
    why: str


def poll_timing(feed: FeedTiming, now: datetime, *, due_only: bool, force: bool = False) -> PollTiming:
    """Is the feed polled now, and if not, until when it waits and why. `due_only`: the daemon (which
    also waits out the feed's interval); otherwise `scraper once`, whose interval is cron's. `force`
    (`once --force`): every enabled feed now."""
    if not feed.enabled:
        return PollTiming(False, None, "disabled in the config")
    if feed.claimed_by:
        return PollTiming(False, None, "being polled now (its node is in the nodes table)")
    if force:
        return PollTiming(True, now, "--force")
    waits = []  # each wait that holds the feed back, the longest first: it says when
    if feed.blocked_until is not None and feed.blocked_until > now:
        waits.append((feed.blocked_until, _wait_reason(feed)))
    if due_only and feed.next_poll_at is not None and feed.next_poll_at > now:
        every = f" ({feed.interval} s)" if feed.interval else ""
        waits.append((feed.next_poll_at, f"its interval{every} since the last poll"))
    if waits:
        waits.sort(key=lambda wait: wait[0], reverse=True)
        return PollTiming(False, waits[0][0], "; ".join(why for _, why in waits))
    if feed.last_polled_at is None:
        return PollTiming(True, now, "never polled")
    if feed.next_poll_at is None:
        return PollTiming(True, now, "its configuration changed")
    if due_only:
        return PollTiming(True, now, "its interval is up")
    return PollTiming(True, now, "each run polls every feed its server lets it")


def _wait_reason(feed: FeedTiming) -> str:
    if feed.failures_in_row > 0:
        read = feed.last_error is None or _RETRY_AFTER_READ.search(feed.last_error)
        if feed.last_status in RETRY_AFTER_STATUSES and read:
            return f"the server's Retry-After (HTTP {feed.last_status})"
        polls = "poll" if feed.failures_in_row == 1 else "polls"
        error = f"; last error: {feed.last_error[:160]}" if feed.last_error else ""
        return f"backoff after {feed.failures_in_row} failed {polls} in a row{error}"
    asked = []
    if feed.ttl_minutes:
        asked.append(f"<ttl> {feed.ttl_minutes} min")
    if feed.skip_hours:
        asked.append("skipHours")
    if feed.skip_days:
        asked.append("skipDays")
    if not asked:
        return "the server asked to wait (Retry-After or its cache lifetime)"
    return "the feed asked to wait (" + ", ".join(asked) + ", or its cache lifetime)"


def describe(timing: PollTiming, now: datetime) -> str:
    """`in 5h 2m: backoff after 3 failed polls in a row; ...` for a person."""
    if timing.due:
        return f"now: {timing.why}"
    if timing.when is None:
        return f"not polled: {timing.why}"
    return f"{_until(timing.when, now)} ({timing.when:%Y-%m-%d %H:%M:%S} UTC): {timing.why}"


def _until(when: datetime, now: datetime) -> str:
    seconds = max(0, int((when - now).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"in {hours}h {minutes}m"
    return f"in {minutes}m {seconds}s" if minutes else f"in {seconds}s"


def plain_settings(*parts: Any) -> list[Any]:
    """The parts as config_fingerprint digests them (a dataclass as its dict): settings shared by many
    fingerprints (every feed's with the same [http] and [schedule]) are made plain once, not per feed."""
    return [asdict(part) if hasattr(part, "__dataclass_fields__") else part for part in parts]


def config_fingerprint(*parts: Any) -> str:
    """A digest of settings (dataclasses): equal settings, equal digest, across processes and versions
    of Python (sorted JSON, not `hash()`). A part already made plain (`plain_settings`) counts the same."""
    text = json.dumps(plain_settings(*parts), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
