"""`scraper status`: what an operator needs to see that the archive is healthy, per feed; then the nodes
working on it (several, on one PostgreSQL) and what each holds.

Everything shown comes from outside (feed names, servers' error messages, node names) and is printed as
plain text, never read as rich markup: a `[/bold]` in an error message is shown, not obeyed.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from scraper.due import FeedTiming, PollTiming, poll_timing
from scraper.schedule import decode_set
from scraper.store.feeds import enabled_feeds
from scraper.store.posts import posts_waiting
from scraper.store.tables import ArticleStatus, utcnow

if TYPE_CHECKING:
    from rich.table import Table

    from scraper.store.reports import FeedHealth, NodeReport, RevisitCounts

# rich and the report queries (scraper.store.reports) are loaded by the report functions, not here:
# `scraper once` imports this module for skipped_feeds alone. The report reads Core rows through one
# connection: `status` never loads the ORM (its import was most of the command's start-up).

REASONS_SHOWN = 5


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = int((now - when).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            text = f"{seconds // size}{unit}"
            break
    else:
        text = f"{seconds}s"
    return f"in {text}" if future else f"{text} ago"


def _duration(seconds: int | None, configured: int | str | None) -> str:
    """The interval in use, marked "auto" when it is learned."""
    if seconds is None:
        return "auto" if configured == "auto" else "-"
    text = _ago(utcnow() - timedelta(seconds=seconds), utcnow()).removesuffix(" ago")
    return f"auto {text}" if configured == "auto" else text


def feed_timing(feed: Any, now: datetime) -> FeedTiming:
    """The plain data `scraper.due.poll_timing` decides on, from a feed row. A claim that stands (any
    node's, ours included: a poll in flight) keeps the feed from being chosen again."""
    held = feed.lease_owner and feed.lease_expires_at is not None and feed.lease_expires_at > now
    claimed = feed.lease_owner if held else None
    return FeedTiming(
        enabled=feed.enabled,
        next_poll_at=feed.next_poll_at,
        blocked_until=feed.blocked_until,
        last_polled_at=feed.last_polled_at,
        failures_in_row=feed.failures_in_row or 0,
        last_status=feed.last_status,
        last_error=feed.last_error,
        ttl_minutes=feed.ttl_minutes,
        skip_hours=bool(decode_set(feed.skip_hours)),
        skip_days=bool(decode_set(feed.skip_days)),
        interval=feed.poll_interval,
        claimed_by=claimed,
    )


def skipped_feeds(engine: Engine, now: datetime, *, due_only: bool) -> list[tuple[str, PollTiming]]:
    """The enabled feeds a run would not poll now, each with when and why (`scraper once` says so)."""
    with engine.connect() as connection:  # Core rows: `once` asks this, and needs no ORM for it
        feeds = enabled_feeds(connection)
    timings = [(feed.name, poll_timing(feed_timing(feed, now), now, due_only=due_only)) for feed in feeds]
    return [(name, timing) for name, timing in timings if not timing.due]


def feed_status_report(
    engine: Engine,
    now: datetime | None = None,
    intervals: Mapping[str, int | str] | None = None,
    lease_seconds: float = 60.0,
) -> str:
    """A table of feeds, then the most common failure reasons per feed, then the nodes.

    `intervals` (feed URL -> configured interval) marks the feeds whose interval is "auto"; a node is live
    when its heartbeat is within `lease_seconds`.
    """
    from rich.console import Console
    from rich.text import Text

    from scraper.capture.report import capture_failure_lines
    from scraper.store.reports import feed_health, feed_names, node_reports, revisit_counts

    now = now or utcnow()
    intervals = intervals or {}
    with engine.connect() as connection:
        health = feed_health(connection)
        nodes = node_reports(connection, engine, lease_seconds)
        waiting = posts_waiting(connection)
        revisits = revisit_counts(connection)
        names = feed_names(connection) if revisits else {}
        capture_failures = capture_failure_lines(connection)
    feeds, reasons = health.feeds, health.reasons
    table = _feeds_table(health, now, intervals)
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, no_color=True, highlight=False)
    console.print(table)
    if waiting:
        console.print(
            Text(
                f"posts waiting to be written: {waiting} (archived, not yet on disk in the export folder; "
                "if this stays above 0, see the log: export.dir may not be writable)"
            )
        )
    names = {feed.id: feed.name for feed in feeds}
    shown: dict[int | None, int] = {}
    lines = []
    for feed_id, status, error, n in reasons:
        if shown.get(feed_id, 0) >= REASONS_SHOWN:
            continue
        shown[feed_id] = shown.get(feed_id, 0) + 1
        lines.append(f"  {names.get(feed_id, '?')}: {n} {status}: {error}")
    if lines:
        console.print(Text("articles not archived, or archived with a note, by reason:"))
        for line in lines:
            console.print(line, markup=False)
    if revisits:
        console.print(_revisits_table(revisits, names))
    for line in capture_failures:
        console.print(line, markup=False)
    if nodes:
        console.print(_nodes_table(nodes, now))
    return buffer.getvalue()


def _next(timing: PollTiming, now: datetime) -> str:
    if timing.due:
        return "now"
    return _ago(timing.when, now) if timing.when else "-"


def _feeds_table(health: FeedHealth, now: datetime, intervals: Mapping[str, int | str]) -> Table:
    """One row per feed: its article counts, its polls, its schedule, its last error."""
    from rich.table import Table
    from rich.text import Text

    counts = health.counts
    table = Table(title="feeds", title_justify="left")
    for column in (
        "feed",
        "archived",
        "pending",
        "gone",
        "failed",
        "last poll",
        "last success",
        "fails in row",
        "broken",
        "interval",
        "next poll",
        "last error",
        "next poll: why",
    ):
        table.add_column(column, overflow="fold")
    for feed in health.feeds:
        name = feed.name + ("" if feed.enabled else " (disabled)")
        next_poll = poll_timing(feed_timing(feed, now), now, due_only=True)  # as the daemon decides
        table.add_row(
            Text(name),
            *(
                str(counts.get((feed.id, s), 0))
                for s in (
                    ArticleStatus.ARCHIVED,
                    ArticleStatus.PENDING,
                    ArticleStatus.GONE,
                    ArticleStatus.FAILED,
                )
            ),
            _ago(feed.last_polled_at, now),
            _ago(feed.last_success_at, now),
            str(feed.failures_in_row),
            f"BROKEN, failing since {_ago(feed.failing_since, now)}" if feed.broken else "no",
            _duration(feed.poll_interval, intervals.get(feed.url)),
            _next(next_poll, now),
            Text((feed.last_error or "")[:200]),
            Text(next_poll.why),
        )
    return table


def _revisits_table(counts: Mapping[int | None, RevisitCounts], names: Mapping[int | None, str]) -> Table:
    """Revisits per feed: done, edits found, removed, removal suspected."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title="revisits", title_justify="left")
    for column in ("feed", "revisits", "edits", "removed", "removal suspected"):
        table.add_column(column, overflow="fold")
    for feed_id, count in sorted(counts.items(), key=lambda item: names.get(item[0], "?")):
        table.add_row(
            Text(names.get(feed_id, "?")),
            str(count.revisits),
            str(count.edits),
            str(count.removed),
            str(count.suspected),
        )
    return table


def _nodes_table(nodes: list[NodeReport], now: datetime) -> Table:
    """The nodes seen in the last day: live, stopped (cleanly, its work handed back) or gone (dead: its
    leases expire); and the leases each holds now (polls, fetches and posts in hand)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title="nodes", title_justify="left")
    for column in ("node", "command", "started", "last seen", "state", "feeds", "articles", "documents"):
        table.add_column(column, overflow="fold")
    for node in nodes:
        table.add_row(
            Text(node.id),
            Text(node.command),
            _ago(node.started_at, now) if node.started_at else "-",
            _ago(node.last_seen_at, now) if node.last_seen_at else "-",
            "live" if node.live else "stopped" if node.stopped else "gone (its leases expired)",
            str(node.feeds),
            str(node.articles),
            str(node.documents),
        )
    return table
