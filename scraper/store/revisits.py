"""Revisits of archived articles: which are due, the versions and changes a revisit records, and what
`scraper history`, the changes feed, `status` and the metrics read of them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Table, func, insert, or_, select
from sqlalchemy.orm import Session

from scraper.store.leases import chunks
from scraper.store.models import Article, ArticleChange, ArticleVersion, Feed, RawPage
from scraper.store.work_due import revisit_due

# What a revisit's claim reads of its article for its job.
JOB_COLUMNS = (
    Article.id,
    Article.feed_id,
    Article.url,
    Article.host,
    Article.page_etag,
    Article.page_last_modified,
    Article.page_digest,
    Article.content_source,
    Article.revisits,
)

# What a revisit's transaction reads of its article (locking it).
ROW_COLUMNS = (
    Article.id,
    Article.title,
    Article.content_text,
    Article.archived_at,
    Article.revisits,
    Article.edits,
    Article.removal_suspected_at,
    Article.removal_confirmed_at,
    Article.page_etag,
    Article.page_last_modified,
    Article.content_source,
)


def due(now: datetime, left_out_hosts: Sequence[str] = ()) -> list[ColumnElement[bool]]:
    """Archived articles due for a revisit (scraper.store.work_due.revisit_due, where the condition is)."""
    return revisit_due(now, left_out_hosts)


def due_count(session: Session | Connection, now: datetime) -> int:
    return session.scalar(select(func.count()).select_from(Article).where(*due(now))) or 0


def due_hosts(session: Session | Connection, now: datetime) -> set[str]:
    """The hosts with a revisit due by `now` ("" for an article of no host), leased or not: what bounds
    how many revisits a node can take at once under its per-host share."""
    query = select(Article.host).where(*due(now)).distinct()
    return {host or "" for host in session.scalars(query)}


@dataclass(frozen=True)
class LastVersion:
    number: int
    title: str | None
    text: str | None


def last_versions(connection: Connection, ids: Collection[int]) -> dict[int, LastVersion]:
    """The newest stored version of each of these articles that has any."""
    found: dict[int, LastVersion] = {}
    for chunk in chunks(sorted(ids)):
        newest = (
            select(ArticleVersion.article_id, func.max(ArticleVersion.number).label("number"))
            .where(ArticleVersion.article_id.in_(chunk))
            .group_by(ArticleVersion.article_id)
            .subquery()
        )
        rows = connection.execute(
            select(
                ArticleVersion.article_id,
                ArticleVersion.number,
                ArticleVersion.title,
                ArticleVersion.content_text,
            ).join(
                newest,
                (newest.c.article_id == ArticleVersion.article_id)
                & (newest.c.number == ArticleVersion.number),
            )
        )
        for row in rows:
            found[row.article_id] = LastVersion(row.number, row.title, row.content_text)
    return found


def insert_first_versions(connection: Connection, ids: Collection[int]) -> None:
    """Version 1 of these articles, copied from the row and its raw page as first archived."""
    if not ids:
        return
    versions = cast(Table, ArticleVersion.__table__)
    query = (
        select(
            Article.id,
            Article.title,
            Article.content_html,
            Article.content_text,
            func.coalesce(Article.fetched_at, Article.archived_at, Article.discovered_at),
            func.coalesce(RawPage.url, Article.final_url, Article.url),
            RawPage.content_type,
            RawPage.encoding,
            RawPage.body_zlib,
        )
        .outerjoin(RawPage, RawPage.article_id == Article.id)
        .where(Article.id.in_(sorted(ids)))
    )
    names = ["article_id", "title", "content_html", "content_text", "fetched_at", "url", "content_type"]
    names += ["encoding", "body_zlib"]
    rows = [dict(zip(names, row, strict=True)) | {"number": 1} for row in connection.execute(query)]
    if rows:
        connection.execute(insert(versions), rows)


def insert_versions(connection: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        connection.execute(insert(cast(Table, ArticleVersion.__table__)), rows)


def insert_changes(connection: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        connection.execute(insert(cast(Table, ArticleChange.__table__)), rows)


# --- readers -----------------------------------------------------------------------------------------------


def find_article(session: Session, key: str) -> Article | None:
    """An article by its id, or by its URL (as queued, canonical, or where the page ended)."""
    if key.isdigit():
        return session.get(Article, int(key))
    return session.scalars(
        select(Article).where(or_(Article.url == key, Article.canonical_url == key, Article.final_url == key))
    ).first()


def versions_of(session: Session, article_id: int) -> list[ArticleVersion]:
    return list(
        session.scalars(
            select(ArticleVersion)
            .where(ArticleVersion.article_id == article_id)
            .order_by(ArticleVersion.number)
        )
    )


def changes_of(session: Session, article_id: int) -> list[ArticleChange]:
    return list(
        session.scalars(
            select(ArticleChange).where(ArticleChange.article_id == article_id).order_by(ArticleChange.id)
        )
    )


@dataclass(frozen=True)
class ChangeRow:
    """A change for the changes feed: the change, its article, and the texts either side of an edit."""

    change: ArticleChange
    article: Article
    feed_name: str
    before: ArticleVersion | None
    after: ArticleVersion | None


def latest_changes(session: Session, limit: int) -> list[ChangeRow]:
    changes = list(
        session.scalars(
            select(ArticleChange).order_by(ArticleChange.at.desc(), ArticleChange.id.desc()).limit(limit)
        )
    )
    result: list[ChangeRow] = []
    for change in changes:
        article = session.get_one(Article, change.article_id)
        feed = session.get(Feed, article.feed_id) if article.feed_id else None
        before = after = None
        if change.version:
            numbers = (change.version - 1, change.version)
            found = {
                v.number: v
                for v in session.scalars(
                    select(ArticleVersion).where(
                        ArticleVersion.article_id == article.id, ArticleVersion.number.in_(numbers)
                    )
                )
            }
            before, after = found.get(numbers[0]), found.get(numbers[1])
        result.append(ChangeRow(change, article, feed.name if feed else "", before, after))
    return result


def newest_change_id(session: Session) -> int | None:
    return session.scalar(select(func.max(ArticleChange.id)))
