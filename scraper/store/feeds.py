"""The feeds table: rows made from the config, read by url or id, and the batch write of unchanged polls.

The statements of a cron run's poll round (sync with the config, which feeds are pollable, the batched
write of 304s) are Core, on the table of scraper.store.tables, so that run needs no ORM; the readers that
hand out mapped `Feed` rows (for the stages that change them) load the ORM when called.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Row, bindparam, insert, or_, select, update

from scraper.config import FeedConfig
from scraper.store.nodes import Transaction
from scraper.store.tables import feeds as feeds_table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from scraper.store.models import Feed

FEED = feeds_table.c


def enabled_feeds(connection: Transaction) -> list[Row[Any]]:
    """The enabled feeds' rows, by name (what `scraper once` would poll, before it decides which are due)."""
    return list(connection.execute(select(feeds_table).where(FEED.enabled.is_(True)).order_by(FEED.name)))


def pollable(
    now: datetime | ColumnElement[datetime],
    *,
    due_only: bool,
    exclude_ids: Collection[int] = (),
    force: bool = False,
) -> list[ColumnElement[bool]]:
    """Enabled feeds the server lets us poll now (`blocked_until` passed); with `due_only`, only those
    whose `next_poll_at` has come too; with `force` (`once --force`), every enabled feed."""
    where: list[ColumnElement[bool]] = [FEED.enabled.is_(True)]
    if not force:
        where.append(or_(FEED.blocked_until.is_(None), FEED.blocked_until <= now))
    if due_only and not force:
        where.append(or_(FEED.next_poll_at.is_(None), FEED.next_poll_at <= now))
    if exclude_ids:
        where.append(FEED.id.not_in(sorted(exclude_ids)))
    return where


def rows_by_url(session: Session) -> dict[str, Feed]:
    from scraper.store.models import Feed

    return {row.url: row for row in session.scalars(select(Feed))}


def rows_by_id(session: Session, ids: Collection[int]) -> list[Feed]:
    from scraper.store.models import Feed

    return list(session.scalars(select(Feed).where(Feed.id.in_(sorted(ids)))))


def names_by_id(connection: Transaction, ids: Collection[int]) -> list[Any]:
    """(id, url, name) of these feeds: what a claimed article's job needs of its feed, read in Core (the
    archive path has no use for mapped rows)."""
    query = select(FEED.id, FEED.url, FEED.name).where(FEED.id.in_(sorted(ids)))
    return list(connection.execute(query))


def ensure_feed_rows(
    session: Session,
    feeds: Iterable[FeedConfig],
    fingerprint: Callable[[FeedConfig], str | None] = lambda feed: None,
) -> dict[str, Feed]:
    """Every feed's row by URL, adding (and flushing, for their ids) those a first run adds."""
    from scraper.store.models import Feed

    rows = rows_by_url(session)
    for feed in feeds:
        if feed.url not in rows:
            rows[feed.url] = Feed(
                url=feed.url,
                name=feed.name,
                enabled=feed.enabled,
                failures_in_row=0,
                config_fingerprint=fingerprint(feed),
            )
            session.add(rows[feed.url])
    session.flush()
    return rows


def sync_feed_rows(
    session: Transaction, feeds: Sequence[FeedConfig], fingerprint: Callable[[FeedConfig], str]
) -> None:
    """The rows in line with the config: new feeds added, names and `enabled` as configured, feeds no
    longer configured disabled (kept, with their articles). A feed whose settings changed (its
    `fingerprint`, scraper.due) is due at once, and out of our own backoff: perhaps our mistake.

    Core statements: one read of the table, an INSERT per new feed and an UPDATE per row that changes (none
    on a run whose config did not change)."""
    configured = {feed.url: feed for feed in feeds}
    columns = (FEED.id, FEED.url, FEED.name, FEED.enabled, FEED.config_fingerprint, FEED.failures_in_row)
    rows = {row.url: row for row in session.execute(select(*columns))}
    added: set[str] = set()
    for feed in feeds:
        if feed.url not in rows and feed.url not in added:
            added.add(feed.url)
            session.execute(
                insert(feeds_table).values(
                    url=feed.url,
                    name=configured[feed.url].name,
                    enabled=configured[feed.url].enabled,
                    failures_in_row=0,
                    config_fingerprint=fingerprint(configured[feed.url]),
                )
            )
    for url, row in rows.items():
        changes = _sync_changes(row, configured.get(url), fingerprint)
        if changes:
            session.execute(update(feeds_table).where(FEED.id == row.id).values(**changes))


def _sync_changes(
    row: Any, feed: FeedConfig | None, fingerprint: Callable[[FeedConfig], str]
) -> dict[str, Any]:
    """What changes on an existing row to bring it in line with its feed's config (None: not configured)."""
    if feed is None:
        return {"enabled": False} if row.enabled else {}
    changes: dict[str, Any] = {}
    if row.name != feed.name:
        changes["name"] = feed.name
    if row.enabled != feed.enabled:
        changes["enabled"] = feed.enabled
    now_fingerprint = fingerprint(feed)
    if row.config_fingerprint != now_fingerprint:
        changes.update(config_fingerprint=now_fingerprint, next_poll_at=None)
        if row.failures_in_row:  # our backoff, perhaps after our own mistake
            changes["blocked_until"] = None
    return changes


def lock_mine(session: Transaction, ids: Sequence[Any], node_id: str) -> set[int]:
    """Of these feeds, those whose lease is still this node's, locked (in id order) for the write."""
    return set(
        session.scalars(
            select(FEED.id)
            .where(FEED.id.in_(ids), FEED.lease_owner == node_id)
            .order_by(FEED.id)
            .with_for_update()
        )
    )


def write_rows(session: Transaction, values: list[dict[str, Any]]) -> None:
    """One UPDATE of many feed rows (an executemany), each dict its row's `id` and new values (every dict
    with the same keys)."""
    if not values:
        return
    keys = [key for key in values[0] if key != "id"]
    statement = (
        update(feeds_table)
        .where(FEED.id == bindparam("row_id"))
        .values({key: bindparam(f"new_{key}", type_=FEED[key].type) for key in keys})
    )
    session.execute(
        statement, [{"row_id": row["id"], **{f"new_{key}": row[key] for key in keys}} for row in values]
    )
