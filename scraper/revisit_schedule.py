"""When an archived article is fetched again: a pure function of its first archive time and its visits.

Pages change most in their first hours (corrections, a softened headline) and are taken down later, if at
all, so revisits decay: `[revisit] after = ["1h", "1d", "7d", "30d"]`, each measured from the first
archive. A run that comes late (a cron run, a stopped daemon) does the revisit that is due and skips the
ones already past, so a backlog is not paid several times over.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta

DEFAULT_AFTER: tuple[str, ...] = ("1h", "1d", "7d", "30d")
CONFIRM_AFTER = timedelta(hours=1)  # a suspected removal is looked at again this soon

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
# The longest step: a century. A revisit is a date added to the first archive's; a step of millions of days
# lands past year 9999 (no datetime holds it), and each archive would fail on it, not the config load.
MAX_DURATION = timedelta(days=36500)


def parse_duration(text: str) -> timedelta:
    """`"90s"`, `"15m"`, `"1h"`, `"7d"` as a duration; ValueError names what is wrong."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a duration (a number and one of s, m, h, d: '1h', '7d')")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"{text!r}: a duration must be more than zero")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{text!r}: a duration of at most {MAX_DURATION.days}d (a century)")
    return timedelta(seconds=seconds)


def parse_schedule(items: object) -> tuple[timedelta, ...]:
    """A list of durations, strictly increasing (each measured from the first archive)."""
    if not isinstance(items, list | tuple) or not items:
        raise ValueError(f"a non-empty list of durations ('1h', '1d'), got {items!r}")
    schedule = tuple(parse_duration(item) for item in items)
    for earlier, later in itertools.pairwise(schedule):
        if later <= earlier:
            raise ValueError(f"durations must increase, got {list(items)!r}")
    return schedule


def first_revisit(archived_at: datetime, schedule: tuple[timedelta, ...]) -> datetime | None:
    return archived_at + schedule[0] if schedule else None


def next_revisit(
    archived_at: datetime,
    schedule: tuple[timedelta, ...],
    now: datetime,
    *,
    removal_suspected: bool = False,
) -> datetime | None:
    """The next revisit after one done at `now`: the first step of the schedule still ahead (None when
    the schedule is done). A suspected removal is confirmed or cleared soon, schedule or not."""
    ahead = [archived_at + step for step in schedule if archived_at + step > now]
    scheduled = ahead[0] if ahead else None
    if removal_suspected:
        soon = now + CONFIRM_AFTER
        return soon if scheduled is None else min(soon, scheduled)
    return scheduled
