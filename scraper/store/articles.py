"""The articles table: the pending-and-due query, lookups by canonical URL or post path, the locked batch
write of fetch outcomes, and the raw pages kept beside them.

Every reader of the archive (the pipeline, the importer, `status`, the metrics, the backfill) asks here, so
a condition such as "pending and due" is written once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, joinedload

from scraper.store.leases import chunks
from scraper.store.models import Article, ArticleStatus, RawPage


def pending_and_due(now: datetime) -> list[ColumnElement[bool]]:
    """Pending articles whose next attempt has come."""
    return [
        Article.status == ArticleStatus.PENDING,
        or_(Article.next_attempt_at.is_(None), Article.next_attempt_at <= now),
    ]


def claimable(
    now: datetime, left_out_hosts: Sequence[str] = (), exclude_ids: Collection[int] = ()
) -> list[ColumnElement[bool]]:
    """Pending and due, not on these hosts (the claimer holds enough of them), not these ids."""
    where = pending_and_due(now)
    if left_out_hosts:
        where.append(or_(Article.host.is_(None), Article.host.not_in(left_out_hosts)))
    if exclude_ids:
        where.append(Article.id.not_in(sorted(exclude_ids)))
    return where


def due_count(session: Session | Connection, now: datetime) -> int:
    return session.scalar(select(func.count()).select_from(Article).where(*pending_and_due(now))) or 0


def known_keys(
    session: Session, feed_id: int | None, keys: Sequence[str], guids: Sequence[str | None]
) -> Iterable[Any]:
    """(canonical_url, guid, feed_id) of the rows holding one of these URLs, or one of these GUIDs in
    this feed."""
    return session.execute(
        select(Article.canonical_url, Article.guid, Article.feed_id).where(
            or_(Article.canonical_url.in_(keys), (Article.feed_id == feed_id) & Article.guid.in_(guids))
        )
    )


def by_canonical_url(session: Session, keys: Collection[str]) -> dict[str, Article]:
    return {
        a.canonical_url: a for a in session.scalars(select(Article).where(Article.canonical_url.in_(keys)))
    }


def known_canonical_urls(session: Session, keys: Collection[str]) -> set[str]:
    return set(session.scalars(select(Article.canonical_url).where(Article.canonical_url.in_(list(keys)))))


def post_path_owners(session: Session, paths: Collection[str]) -> dict[str | None, str]:
    """Post path -> the canonical URL of the article holding it, for those of `paths` held."""
    owned = select(Article.post_path, Article.canonical_url).where(Article.post_path.in_(paths))
    return {path: key for path, key in session.execute(owned)}


def held_post_paths(session: Session, paths: Collection[str]) -> set[str]:
    """Those of `paths` an article holds (by the unique index on post_path)."""
    return set(session.scalars(select(Article.post_path).where(Article.post_path.in_(list(paths)))))


def insert_articles(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """New article rows in one statement (an import adds thousands a second: no ORM object per row)."""
    if rows:
        session.execute(insert(cast(Table, Article.__table__)), list(rows))


def reextract_candidates(
    session: Session, feed_id: int | None, *, after: int = 0, limit: int | None = None
) -> list[int]:
    """Articles with a stored page worth extracting again: archived from the page, or failed on a 2xx.
    In id order; `after` and `limit` give one window of them (a re-extraction of a million streams)."""
    query = _reextract_query(select(Article.id), feed_id).where(Article.id > after).order_by(Article.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_reextract_candidates(session: Session, feed_id: int | None) -> int:
    """How many articles reextract_candidates gives in all (a progress bar's total)."""
    return int(session.scalar(_reextract_query(select(func.count()), feed_id)) or 0)


def _reextract_query(query: Select[Any], feed_id: int | None) -> Select[Any]:
    query = (
        query.select_from(Article)
        .join(RawPage, RawPage.article_id == Article.id)
        .where(
            or_(
                (Article.status == ArticleStatus.ARCHIVED) & (Article.content_source == "page"),
                # A failed article's page counts only if it was a 2xx answer (not an error page).
                (Article.status == ArticleStatus.FAILED) & Article.http_status.between(200, 299),
            )
        )
    )
    return query if feed_id is None else query.where(Article.feed_id == feed_id)


def with_pages(session: Session, ids: Sequence[int]) -> Iterable[Article]:
    """These articles with their raw page and feed loaded, in id order."""
    query = (
        select(Article)
        .options(joinedload(Article.page), joinedload(Article.feed))
        .where(Article.id.in_(ids))
        .order_by(Article.id)
    )
    return session.scalars(query).unique()


# --- the outcome of fetches, a batch per transaction -------------------------------------------------


def lock_mine(
    connection: Connection, ids: Sequence[int], node_id: str, columns: Sequence[Any]
) -> dict[int, Row[Any]]:
    """Of these articles, those still leased to this node, locked and read (`columns`), by id."""
    rows: dict[int, Row[Any]] = {}
    for chunk in chunks(sorted(set(ids))):
        for row in connection.execute(
            select(*columns)
            .where(Article.id.in_(chunk), Article.lease_owner == node_id)
            .order_by(Article.id)  # locks taken in id order, as the heartbeat takes them
            .with_for_update()
        ):
            rows[row.id] = row
    return rows


def update_many(
    connection: Connection,
    columns: Sequence[str],
    batch: list[dict[str, Any]],
    lease_owner: str | None,
    lease_expires_at: datetime | ColumnElement[datetime] | None,
) -> None:
    """One UPDATE for rows changing the same `columns`: each item `row_id` and `new_<column>` values."""
    articles = cast(Table, Article.__table__)
    statement = (
        update(articles)
        .where(articles.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}") for name in columns})
        .values(lease_owner=lease_owner, lease_expires_at=lease_expires_at)
    )
    connection.execute(statement, batch)


def keep_raw_pages(connection: Connection, pages: list[dict[str, Any]], refetched: Sequence[int]) -> None:
    """Insert these raw pages; `refetched` articles had one before, replaced."""
    table = cast(Table, RawPage.__table__)
    for chunk in chunks(list(refetched)):
        connection.execute(delete(table).where(table.c.article_id.in_(chunk)))
    if pages:
        connection.execute(insert(table), pages)


def fail_unstorable(connection: Connection, article_id: int, node_id: str, reason: str) -> bool:
    """Mark an article whose outcome the database refused as failed, with the reason, an attempt counted
    and its lease released; False when the lease is no longer this node's."""
    done = connection.execute(
        update(Article)
        .where(Article.id == article_id, Article.lease_owner == node_id)
        .values(
            status=ArticleStatus.FAILED,
            attempts=Article.attempts + 1,
            last_error=reason[:2000],
            next_attempt_at=None,
            lease_owner=None,
            lease_expires_at=None,
        ),
        execution_options={"synchronize_session": False},
    )
    return bool(done.rowcount)
