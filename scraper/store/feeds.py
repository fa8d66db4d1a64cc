"""The feeds table: rows made from the config, read by url or id, and the batch write of unchanged polls."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from scraper.config import FeedConfig
from scraper.store.models import Feed


def pollable(
    now: datetime, *, due_only: bool, exclude_ids: Collection[int] = (), force: bool = False
) -> list[ColumnElement[bool]]:
    """Enabled feeds the server lets us poll now (`blocked_until` passed); with `due_only`, only those
    whose `next_poll_at` has come too; with `force` (`once --force`), every enabled feed."""
    where: list[ColumnElement[bool]] = [Feed.enabled.is_(True)]
    if not force:
        where.append(or_(Feed.blocked_until.is_(None), Feed.blocked_until <= now))
    if due_only and not force:
        where.append(or_(Feed.next_poll_at.is_(None), Feed.next_poll_at <= now))
    if exclude_ids:
        where.append(Feed.id.not_in(sorted(exclude_ids)))
    return where


def rows_by_url(session: Session) -> dict[str, Feed]:
    return {row.url: row for row in session.scalars(select(Feed))}


def rows_by_id(session: Session, ids: Collection[int]) -> list[Feed]:
    return list(session.scalars(select(Feed).where(Feed.id.in_(sorted(ids)))))


def ensure_feed_rows(
    session: Session,
    feeds: Iterable[FeedConfig],
    fingerprint: Callable[[FeedConfig], str | None] = lambda feed: None,
) -> dict[str, Feed]:
    """Every feed's row by URL, adding (and flushing, for their ids) those a first run adds."""
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
    session: Session, feeds: Sequence[FeedConfig], fingerprint: Callable[[FeedConfig], str]
) -> None:
    """The rows in line with the config: new feeds added, names and `enabled` as configured, feeds no
    longer configured disabled (kept, with their articles). A feed whose settings changed (its
    `fingerprint`, scraper.due) is due at once, and out of our own backoff: perhaps our mistake."""
    configured = {feed.url: feed for feed in feeds}
    for url, row in ensure_feed_rows(session, feeds, fingerprint).items():
        feed = configured.get(url)
        if feed is None:
            row.enabled = False
            continue
        row.name, row.enabled = feed.name, feed.enabled
        now_fingerprint = fingerprint(feed)
        if row.config_fingerprint != now_fingerprint:
            row.config_fingerprint, row.next_poll_at = now_fingerprint, None
            if row.failures_in_row:  # our backoff, perhaps after our own mistake
                row.blocked_until = None


def lock_mine(session: Session, ids: Sequence[Any], node_id: str) -> set[int]:
    """Of these feeds, those whose lease is still this node's, locked (in id order) for the write."""
    return set(
        session.scalars(
            select(Feed.id)
            .where(Feed.id.in_(ids), Feed.lease_owner == node_id)
            .order_by(Feed.id)
            .with_for_update()
        )
    )


def write_rows(session: Session, values: list[dict[str, Any]]) -> None:
    """One UPDATE of many feed rows, each dict its row's `id` and new values."""
    if values:
        session.execute(update(Feed), values)
