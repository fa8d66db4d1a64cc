"""The raw pages kept, read for export as WARC records (scraper.capture.export): a batch at a time, in
article order, so a large archive is exported in bounded memory."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scraper.store.models import Article, Feed, RawPage


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
