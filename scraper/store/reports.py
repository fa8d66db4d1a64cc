"""What the archive holds, and which nodes work on it, for the people and tools that read it: `scraper
status`, the metrics, and any future reader (a web page, an API). Read-only queries; each returns plain rows.
Loaded by those readers only: a node's own statements (scraper.store.nodes, leases) need none of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, literal_column, select

from scraper.store import tables
from scraper.store.nodes import Transaction, sql_now
from scraper.store.tables import ArticleStatus, articles, capture_failures, feeds, utcnow
from scraper.store.work_due import due_count

# Core columns: these are read-only reports of plain rows (no ORM needed).
Article = articles.c
Feed = feeds.c
Node = tables.nodes.c

COUNTED_STATUSES = (ArticleStatus.ARCHIVED, ArticleStatus.PENDING, ArticleStatus.GONE, ArticleStatus.FAILED)
REASON_STATUSES = frozenset(
    {ArticleStatus.FAILED, ArticleStatus.GONE, ArticleStatus.PENDING, ArticleStatus.ARCHIVED}
)


@dataclass(frozen=True)
class FeedHealth:
    """`scraper status`'s view: the feeds, article counts per feed and status (COUNTED_STATUSES), and the
    commonest reasons articles were not archived (most frequent first)."""

    feeds: list[Row[Any]]  # whole rows of the feeds table
    counts: dict[tuple[int | None, str], int]
    reasons: Sequence[Any]  # rows of (feed_id, status, last_error, count)


def feed_health(session: Transaction) -> FeedHealth:
    rows = list(session.execute(select(feeds).order_by(Feed.name)))
    # Only what the table shows (the feeds' rows, the statuses of its columns), read as ranges of the
    # (feed_id, status) index: not the seen URLs of an imported list (millions, no feed), which a count
    # of everything would walk on every `status`.
    counts: dict[tuple[int | None, str], int] = {
        (feed_id, status): n
        for feed_id, status, n in session.execute(
            select(Article.feed_id, Article.status, func.count())
            .where(Article.feed_id.in_([feed.id for feed in rows]), Article.status.in_(COUNTED_STATUSES))
            .group_by(Article.feed_id, Article.status)
        )
    }
    # Only `last_error IS NOT NULL` in the query: the partial index of the rows with an error answers it
    # (a filter on status too would send SQLite's planner to a status index, every archived row read).
    reasons = [
        row
        for row in session.execute(
            select(Article.feed_id, Article.status, Article.last_error, func.count())
            .where(Article.last_error.is_not(None))
            .group_by(Article.feed_id, Article.status, Article.last_error)
            .order_by(func.count().desc())
        ).all()
        if row[1] in REASON_STATUSES
    ]
    return FeedHealth(rows, counts, reasons)


@dataclass(frozen=True)
class ArchiveGauges:
    """The metrics' view: articles by status, those due now, and each enabled feed's health."""

    by_status: dict[str, int]
    due: int
    feeds: Sequence[Any]  # rows of (name, last_success_at, created_at, failures_in_row)


def archive_gauges(connection: Connection, now: datetime) -> ArchiveGauges:
    by_status = {
        status: n
        for status, n in connection.execute(select(Article.status, func.count()).group_by(Article.status))
    }
    feeds = list(
        connection.execute(
            select(Feed.name, Feed.last_success_at, Feed.created_at, Feed.failures_in_row).where(
                Feed.enabled.is_(True)
            )
        ).all()
    )
    return ArchiveGauges(by_status, due_count(connection, now), feeds)


@dataclass(frozen=True)
class RevisitCounts:
    revisits: int = 0
    edits: int = 0
    removed: int = 0  # confirmed and not restored since
    suspected: int = 0


def revisit_counts(connection: Transaction) -> dict[int | None, RevisitCounts]:
    """Per feed: revisits done, edits found, articles removed now, removals suspected now.

    Only the articles revisited at least once can count (a removal is found by a revisit), and those are
    the rows of the partial index `ix_articles_revisited` (`revisits > 0`, written as the index's own
    predicate so the planner takes it): `status` reads them, not every archived row of a big archive (the
    sum over a million rows was a quarter of a second whether or not any was ever revisited). The status
    is kept in Python (one group per feed and status), as in `feed_health`'s reasons."""
    rows = connection.execute(
        select(
            Article.feed_id,
            Article.status,
            func.coalesce(func.sum(Article.revisits), 0),
            func.coalesce(func.sum(Article.edits), 0),
            func.count(Article.removal_confirmed_at),
            func.count(Article.removal_suspected_at) - func.count(Article.removal_confirmed_at),
        )
        .where(Article.revisits > literal_column("0"))  # no status here: the planner would take its index
        .group_by(Article.feed_id, Article.status)
    ).all()
    return {
        row[0]: RevisitCounts(int(row[2]), int(row[3]), int(row[4]), int(row[5]))
        for row in rows
        if row[1] == ArticleStatus.ARCHIVED
    }


def feed_names(connection: Transaction) -> dict[int | None, str]:
    """Feed names by id, and a name for the articles of no feed (a backfill's)."""
    names: dict[int | None, str] = {
        feed_id: name for feed_id, name in connection.execute(select(Feed.id, Feed.name))
    }
    names[None] = "(no feed)"
    return names


def capture_failure_rows(connection: Transaction, shown: int) -> tuple[int, list[tuple[datetime, str, str]]]:
    """How many captures failed, and the last `shown` of them (time, URL, reason), newest first."""
    failure = capture_failures.c
    count = connection.scalar(select(func.count()).select_from(capture_failures)) or 0
    if not count:
        return 0, []
    rows = connection.execute(
        select(failure.at, failure.url, failure.reason)
        .order_by(failure.at.desc(), failure.id.desc())
        .limit(shown)
    )
    return count, [(row.at, row.url, row.reason) for row in rows]


# --- the nodes, for `scraper status` ----------------------------------------------------------------------


@dataclass(frozen=True)
class NodeReport:
    id: str
    command: str
    started_at: datetime | None
    last_seen_at: datetime | None
    live: bool
    feeds: int  # unexpired leases held, by kind
    articles: int
    documents: int
    stopped: bool = False  # stopped cleanly (its work handed back)


def node_reports(session: Transaction, engine: Engine, lease_seconds: float) -> list[NodeReport]:
    """Every node in the table, and every owner of an unexpired lease (a row may be missing: pruned, or a
    program that claims without registering), with what each holds now."""
    now = sql_now(engine)
    held: dict[str, list[int]] = {}
    models: tuple[Any, ...] = (tables.feeds.c, tables.articles.c, tables.backfill_documents.c)
    for index, model in enumerate(models):
        counts = session.execute(
            select(model.lease_owner, func.count())
            .where(model.lease_owner.is_not(None), model.lease_expires_at >= now)
            .group_by(model.lease_owner)
        )
        for owner, count in counts:
            held.setdefault(owner, [0, 0, 0])[index] = count
    live_since = utcnow() - timedelta(seconds=lease_seconds)
    if engine.dialect.name == "postgresql":  # compare with the database's clock, as the heartbeats do
        live_since = session.scalar(select(sql_now(engine, -lease_seconds))) or live_since
    reports = []
    for node in session.execute(select(tables.nodes).order_by(Node.started_at, Node.id)):
        feeds, articles, documents = held.pop(node.id, [0, 0, 0])
        live = node.last_seen_at >= live_since and node.stopped_at is None
        reports.append(
            NodeReport(
                node.id,
                node.command,
                node.started_at,
                node.last_seen_at,
                live,
                feeds,
                articles,
                documents,
                stopped=node.stopped_at is not None,
            )
        )
    for owner, (feeds, articles, documents) in sorted(held.items()):
        reports.append(NodeReport(owner, "?", None, None, True, feeds, articles, documents))
    return reports
