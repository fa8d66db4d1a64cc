"""Captures in the database: the raw pages kept, read for export as WARC records (scraper.capture.export) a
batch at a time, in article order, so a large archive is exported in bounded memory; where each capture of an
article is (history, posts, re-extraction); and the captures that failed (status)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from scraper.store.models import Article, ArticleCapture, CaptureFailure, Feed, RawPage


def stored_pages(
    session: Session,
    after_id: int,
    limit: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    feed: str | None = None,
) -> list[tuple[Any, ...]]:
    """Rows of (article id, url, title, content type, encoding, body_zlib, fetched_at, warc_file,
    warc_offset) for the articles after `after_id` with a stored page, fetched in [since, until], of the
    feed named `feed` if given."""
    query = select(
        Article.id,
        RawPage.url,
        Article.title,
        RawPage.content_type,
        RawPage.encoding,
        RawPage.body_zlib,
        RawPage.fetched_at,
        RawPage.warc_file,
        RawPage.warc_offset,
    ).join(RawPage, RawPage.article_id == Article.id)
    if since is not None:
        query = query.where(RawPage.fetched_at >= since)
    if until is not None:
        query = query.where(RawPage.fetched_at <= until)
    if feed is not None:
        query = query.join(Feed, Feed.id == Article.feed_id).where(Feed.name == feed)
    rows = session.execute(query.where(Article.id > after_id).order_by(Article.id).limit(limit))
    return [tuple(row) for row in rows]


@dataclass(frozen=True)
class CaptureRow:
    """One capture of an article's page: when, the answer's status, and where it is."""

    fetched_at: datetime
    http_status: int | None
    warc_file: str
    warc_offset: int
    first: bool  # the first archive's (on its raw page), not a revisit's


def captures_of(session: Session, article_id: int) -> list[CaptureRow]:
    """Every capture of this article known to the database, oldest first."""
    found = [
        CaptureRow(row.fetched_at, None, row.warc_file, row.warc_offset, True)
        for row in session.execute(
            select(RawPage.fetched_at, RawPage.warc_file, RawPage.warc_offset).where(
                RawPage.article_id == article_id,
                RawPage.warc_file.is_not(None),
                RawPage.warc_offset.is_not(None),
            )
        )
    ]
    found += [
        CaptureRow(row.fetched_at, row.http_status, row.warc_file, row.warc_offset, False)
        for row in session.execute(
            select(
                ArticleCapture.fetched_at,
                ArticleCapture.http_status,
                ArticleCapture.warc_file,
                ArticleCapture.warc_offset,
            )
            .where(ArticleCapture.article_id == article_id)
            .order_by(ArticleCapture.id)
        )
    ]
    return sorted(found, key=lambda capture: capture.fetched_at)


def insert_captures(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Revisits' captures: article_id, fetched_at, http_status, warc_file, warc_offset (one executemany)."""
    if rows:
        connection.execute(insert(ArticleCapture), list(rows))


def record_failures(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Captures that failed: at, url, reason."""
    if rows:
        connection.execute(insert(CaptureFailure), list(rows))
