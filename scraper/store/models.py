"""The ORM classes, mapped onto the Core tables of scraper.store.tables (the one definition of the schema).

The stages that load and change whole rows (the outcome recorder, the revisit recorder, the export) use
these classes; a cron run with nothing new never imports this module, nor `sqlalchemy.orm` (see
scraper.store.tables). The annotations give the attributes' types; the columns are the tables'. (`__table__`
is typed as declarative types it, a FromClause, so the callers' casts to Table keep meaning what they did.)
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import FromClause
from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

from scraper.store import tables
from scraper.store.tables import (
    IMPORTED,
    NAMING_CONVENTION,
    ArticleStatus,
    UTCDateTime,
    utcnow,
)

__all__ = [
    "IMPORTED",
    "NAMING_CONVENTION",
    "Article",
    "ArticleCapture",
    "ArticleChange",
    "ArticleStatus",
    "ArticleVersion",
    "BackfillDocument",
    "Base",
    "CaptureFailure",
    "Feed",
    "FolderStamp",
    "Node",
    "RawPage",
    "UTCDateTime",
    "utcnow",
]


class Base(DeclarativeBase):
    metadata = tables.metadata


class Feed(Base):
    __tablename__ = "feeds"
    __table__: ClassVar[FromClause] = tables.feeds

    id: Mapped[int]
    url: Mapped[str]
    name: Mapped[str]
    enabled: Mapped[bool]

    # Conditional GET validators from the last 200 answer.
    etag: Mapped[str | None]
    last_modified: Mapped[str | None]

    next_poll_at: Mapped[datetime | None]
    blocked_until: Mapped[datetime | None]  # backoff or Retry-After
    last_polled_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None]
    last_error_at: Mapped[datetime | None]
    failures_in_row: Mapped[int]
    failing_since: Mapped[datetime | None]  # first failure of the streak
    broken: Mapped[bool]

    # Schedule: the interval in use (learned when interval = "auto"), and what the feed itself asks
    # (kept, since a 304 answer does not repeat it).
    poll_interval: Mapped[int | None]
    ttl_minutes: Mapped[int | None]
    skip_hours: Mapped[str | None]  # "0,1,2": GMT hours
    skip_days: Mapped[str | None]  # "5,6": weekdays, 0 = Monday
    # The settings this feed was last polled under (scraper.due.config_fingerprint): a change makes it due.
    config_fingerprint: Mapped[str | None]

    lease_owner: Mapped[str | None]
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    articles: Mapped[list[Article]] = relationship(back_populates="feed")


class Article(Base):
    __tablename__ = "articles"
    __table__: ClassVar[FromClause] = tables.articles

    id: Mapped[int]
    feed_id: Mapped[int | None]
    guid: Mapped[str | None]
    url: Mapped[str]
    host: Mapped[str | None]
    canonical_url: Mapped[str]
    final_url: Mapped[str | None]

    status: Mapped[str]
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None]
    http_status: Mapped[int | None]

    # What the feed said: the fallback for metadata, and the body when content = "feed".
    entry_title: Mapped[str | None]
    entry_author: Mapped[str | None]
    entry_published_at: Mapped[datetime | None]
    entry_content: Mapped[str | None]

    # The record.
    title: Mapped[str | None]
    author: Mapped[str | None]
    published_at: Mapped[datetime | None]
    lang: Mapped[str | None]
    content_html: Mapped[str | None]
    content_text: Mapped[str | None]
    content_source: Mapped[str | None]  # "page" or "feed"

    post_path: Mapped[str | None]  # reserved, then written
    post_written_at: Mapped[datetime | None]  # None: the post is still to write

    discovered_at: Mapped[datetime]
    fetched_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]

    lease_owner: Mapped[str | None]
    lease_expires_at: Mapped[datetime | None]

    # Revisits (scraper.revisit): when the page is fetched again, how often it was, its validators, its
    # edits, and whether it was taken down (suspected on one visit, confirmed on the next, or restored).
    revisit_at: Mapped[datetime | None]  # None: no revisit scheduled
    revisits: Mapped[int]
    page_etag: Mapped[str | None]
    page_last_modified: Mapped[str | None]
    page_digest: Mapped[str | None]  # of the raw page: same bytes, same page
    edits: Mapped[int]
    revised_at: Mapped[datetime | None]
    removal_suspected_at: Mapped[datetime | None]
    removal_confirmed_at: Mapped[datetime | None]
    restored_at: Mapped[datetime | None]

    feed: Mapped[Feed | None] = relationship(back_populates="articles")
    page: Mapped[RawPage | None] = relationship(back_populates="article", cascade="all, delete-orphan")


class RawPage(Base):
    """The page as served, zlib-compressed, so a better extractor can run over history offline."""

    __tablename__ = "raw_pages"
    __table__: ClassVar[FromClause] = tables.raw_pages

    article_id: Mapped[int]
    url: Mapped[str]
    content_type: Mapped[str | None]
    encoding: Mapped[str | None]
    body_zlib: Mapped[bytes]
    fetched_at: Mapped[datetime]
    # The page's WARC capture ([warc]): the file's name in the capture folder and the offset of its
    # response record (its request record follows it). None: captures were off, or it failed.
    warc_file: Mapped[str | None]
    warc_offset: Mapped[int | None]

    article: Mapped[Article] = relationship(back_populates="page")


class ArticleVersion(Base):
    """One version of an article's page as archived: the first, then each real edit a revisit found.

    The first version is written when the first edit is found (until then the article row holds it), so
    an article that never changes costs no copy."""

    __tablename__ = "article_versions"
    __table__: ClassVar[FromClause] = tables.article_versions

    id: Mapped[int]
    article_id: Mapped[int]
    number: Mapped[int]  # 1: as first archived
    title: Mapped[str | None]
    content_html: Mapped[str | None]
    content_text: Mapped[str | None]
    fetched_at: Mapped[datetime]
    url: Mapped[str | None]
    content_type: Mapped[str | None]
    encoding: Mapped[str | None]
    body_zlib: Mapped[bytes | None]  # the raw page, kept like the first


class ArticleChange(Base):
    """What a revisit found that a reader would want to know: an edit, a removal (confirmed), a restore.

    The changes feed and `scraper history` read these, newest first."""

    __tablename__ = "article_changes"
    __table__: ClassVar[FromClause] = tables.article_changes

    id: Mapped[int]
    article_id: Mapped[int]
    kind: Mapped[str]  # edited, removed, restored
    at: Mapped[datetime]
    version: Mapped[int | None]  # the new version of an edit
    detail: Mapped[str | None]  # why: "HTTP 410", "redirected to the home page"


class ArticleCapture(Base):
    """A revisit's WARC capture of an article's page ([warc]): the file's name and the offset of its response
    record. The first archive's capture is on its raw page (RawPage.warc_file); `scraper history` lists both,
    so every fetch of the page can be found in the WARC files."""

    __tablename__ = "article_captures"
    __table__: ClassVar[FromClause] = tables.article_captures

    id: Mapped[int]
    article_id: Mapped[int]
    fetched_at: Mapped[datetime]
    http_status: Mapped[int | None]
    warc_file: Mapped[str]
    warc_offset: Mapped[int]


class CaptureFailure(Base):
    """A capture that could not be written (a full disk, a folder made read-only): the fetch went on without
    it. `scraper status` counts them and shows the last reasons."""

    __tablename__ = "capture_failures"
    __table__: ClassVar[FromClause] = tables.capture_failures

    id: Mapped[int]
    at: Mapped[datetime]
    url: Mapped[str]
    reason: Mapped[str]


class BackfillDocument(Base):
    """A sitemap or feed page a backfill has read, so a rerun after a crash does not read it again.

    Article URLs found in a document are queued (pending article rows) in the same transaction that marks
    the document done, so a document is either done with all its URLs queued, or not done at all.
    `params` fingerprints the filters of the run (since, until, match, feed): a run with other filters reads
    the document again. `next_url` keeps the link to the following page of a feed's history, so a resumed
    walk follows the chain without fetching the pages already read.
    """

    __tablename__ = "backfill_documents"
    __table__: ClassVar[FromClause] = tables.backfill_documents

    id: Mapped[int]
    url: Mapped[str]
    kind: Mapped[str]  # sitemap, feed-page, feed-archive
    params: Mapped[str | None]
    lastmod: Mapped[str | None]  # as the parent sitemap index gave it
    next_url: Mapped[str | None]
    urls_found: Mapped[int]
    done_at: Mapped[datetime | None]  # None: claimed, not read yet

    lease_owner: Mapped[str | None]
    lease_expires_at: Mapped[datetime | None]


class Node(Base):
    """A process working on this database (`scraper run`, `once`, `backfill`), seen through its heartbeat.

    The id (host:pid:random) is what the rows it leases carry in `lease_owner`. A node's row is renewed with
    its leases every `[cluster] heartbeat_seconds`; one not seen for `lease_seconds` is dead (its leases have
    expired too). Live nodes divide each host's politeness limits between them (scraper.politeness).
    """

    __tablename__ = "nodes"
    __table__: ClassVar[FromClause] = tables.nodes

    id: Mapped[str]
    hostname: Mapped[str]
    pid: Mapped[int]
    command: Mapped[str]
    started_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]  # a clean stop: kept, for `status`
    last_seen_at: Mapped[datetime]


class FolderStamp(Base):
    """What an export folder looked like when its posts were last adopted: each directory's mtime (ns),
    as JSON by relative path. A run whose folder still matches skips the walk (scraper.post_import)."""

    __tablename__ = "folder_stamps"
    __table__: ClassVar[FromClause] = tables.folder_stamps

    folder: Mapped[str]  # the resolved path
    directories: Mapped[str]
    recorded_at: Mapped[datetime]
