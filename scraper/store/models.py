"""The database schema: feeds, their articles, and the raw pages kept for re-extraction.

The database is the truth about what is due (`feeds.next_poll_at`, `articles.next_attempt_at`), so a
restarted daemon, a cron run and several nodes sharing one PostgreSQL agree. Every change to these models
comes with an Alembic migration in migrations/ (a test checks that the two do not drift).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from scraper.errors import StoredValueError
from scraper.hosts import host_key

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if getattr(dialect, "name", "") == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        """The column's reader, with a value the database cannot give back as a date (SQLite keeps any
        text: a hand edit, another program) a StoredValueError naming it, not a ValueError traceback."""
        read = super().result_processor(dialect, coltype)
        if read is None:
            return None

        def checked(value: Any) -> Any:
            try:
                return read(value)
            except (ValueError, TypeError, OverflowError):
                raise StoredValueError(
                    f"a date in the database is not one: {str(value)[:60]!r}; fix: correct or clear it "
                    "(sqlite3 ARCHIVE.db, UPDATE ... SET column = NULL), or restore the database"
                ) from None

        return checked


def utcnow() -> datetime:
    return datetime.now(UTC)


def _host_default(context: Any) -> str:
    # The host of the article's page (scraper.hosts): claims of pending articles are spread over it.
    return host_key(context.get_current_parameters().get("url") or "")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ArticleStatus:
    """Where an article stands. A plain string column keeps migrations trivial across engines."""

    PENDING = "pending"  # seen in a feed, page not yet archived (or a transient failure to retry)
    ARCHIVED = "archived"  # record extracted and stored
    GONE = "gone"  # the page answered 404 or 410
    FAILED = "failed"  # a permanent failure, or retries exhausted; last_error says why
    # Known only from an old archive's list of seen URLs (`scraper import allurls.dat`): never fetched,
    # never exported, but its canonical URL keeps every poll and backfill from queueing it again.
    SEEN = "seen"

    ALL = (PENDING, ARCHIVED, GONE, FAILED, SEEN)


# `articles.content_source` of a post read from an old archive by `scraper import` (or found in the export
# folder): its file is the post, kept byte for byte, so export never writes it.
IMPORTED = "import"


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    name: Mapped[str] = mapped_column(String(512))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    # Conditional GET validators from the last 200 answer.
    etag: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[str | None] = mapped_column(String(128))

    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # backoff or Retry-After
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures_in_row: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first failure of the streak
    broken: Mapped[bool] = mapped_column(Boolean, default=False)

    # Schedule: the interval in use (learned when interval = "auto"), and what the feed itself asks
    # (kept, since a 304 answer does not repeat it).
    poll_interval: Mapped[int | None] = mapped_column(Integer)
    ttl_minutes: Mapped[int | None] = mapped_column(Integer)
    skip_hours: Mapped[str | None] = mapped_column(String(100))  # "0,1,2": GMT hours
    skip_days: Mapped[str | None] = mapped_column(String(20))  # "5,6": weekdays, 0 = Monday
    # The settings this feed was last polled under (scraper.due.config_fingerprint): a change makes it due.
    config_fingerprint: Mapped[str | None] = mapped_column(String(64))

    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    articles: Mapped[list[Article]] = relationship(back_populates="feed")


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("feed_id", "guid", name="uq_articles_feed_id_guid"),
        Index("ix_articles_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_articles_lease_owner", "lease_owner"),  # what a node holds (renewal, status)
        Index("ix_articles_status_post_written_at", "status", "post_written_at"),  # posts to write
        Index("ix_articles_status_revisit_at", "status", "revisit_at"),  # revisits due
        Index("ix_articles_feed_id_status", "feed_id", "status"),  # status's counts, from the index alone
        Index(  # status's reasons: the few rows with an error, not every archived one
            "ix_articles_errors",
            "feed_id",
            "status",
            sqlite_where=text("last_error IS NOT NULL"),
            postgresql_where=text("last_error IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"), index=True)
    guid: Mapped[str | None] = mapped_column(String(2048))
    url: Mapped[str] = mapped_column(String(2048))
    host: Mapped[str | None] = mapped_column(String(255), default=_host_default)
    canonical_url: Mapped[str] = mapped_column(String(2048), unique=True)
    final_url: Mapped[str | None] = mapped_column(String(2048))

    status: Mapped[str] = mapped_column(String(16), default=ArticleStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(Integer)

    # What the feed said: the fallback for metadata, and the body when content = "feed".
    entry_title: Mapped[str | None] = mapped_column(Text)
    entry_author: Mapped[str | None] = mapped_column(Text)
    entry_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entry_content: Mapped[str | None] = mapped_column(Text)

    # The record.
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lang: Mapped[str | None] = mapped_column(String(32))
    content_html: Mapped[str | None] = mapped_column(Text)
    content_text: Mapped[str | None] = mapped_column(Text)
    content_source: Mapped[str | None] = mapped_column(String(8))  # "page" or "feed"

    post_path: Mapped[str | None] = mapped_column(String(1024), unique=True)  # reserved, then written
    post_written_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: the post is still to write

    discovered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Revisits (scraper.revisit): when the page is fetched again, how often it was, its validators, its
    # edits, and whether it was taken down (suspected on one visit, confirmed on the next, or restored).
    revisit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: no revisit scheduled
    revisits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    page_etag: Mapped[str | None] = mapped_column(String(1024))
    page_last_modified: Mapped[str | None] = mapped_column(String(128))
    page_digest: Mapped[str | None] = mapped_column(String(64))  # of the raw page: same bytes, same page
    edits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    revised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removal_suspected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removal_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    feed: Mapped[Feed | None] = relationship(back_populates="articles")
    page: Mapped[RawPage | None] = relationship(back_populates="article", cascade="all, delete-orphan")


class RawPage(Base):
    """The page as served, zlib-compressed, so a better extractor can run over history offline."""

    __tablename__ = "raw_pages"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    content_type: Mapped[str | None] = mapped_column(String(256))
    encoding: Mapped[str | None] = mapped_column(String(64))
    body_zlib: Mapped[bytes] = mapped_column(LargeBinary)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The page's WARC capture ([warc]): the file's name in the capture folder and the offset of its
    # response record (its request record follows it). None: captures were off, or it failed.
    warc_file: Mapped[str | None] = mapped_column(String(255))
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)

    article: Mapped[Article] = relationship(back_populates="page")


class ArticleVersion(Base):
    """One version of an article's page as archived: the first, then each real edit a revisit found.

    The first version is written when the first edit is found (until then the article row holds it), so
    an article that never changes costs no copy."""

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "number", name="uq_article_versions_article_id_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1: as first archived
    title: Mapped[str | None] = mapped_column(Text)
    content_html: Mapped[str | None] = mapped_column(Text)
    content_text: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    url: Mapped[str | None] = mapped_column(String(2048))
    content_type: Mapped[str | None] = mapped_column(String(256))
    encoding: Mapped[str | None] = mapped_column(String(64))
    body_zlib: Mapped[bytes | None] = mapped_column(LargeBinary)  # the raw page, kept like the first


class ArticleChange(Base):
    """What a revisit found that a reader would want to know: an edit, a removal (confirmed), a restore.

    The changes feed and `scraper history` read these, newest first."""

    __tablename__ = "article_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # edited, removed, restored
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    version: Mapped[int | None] = mapped_column(Integer)  # the new version of an edit
    detail: Mapped[str | None] = mapped_column(Text)  # why: "HTTP 410", "redirected to the home page"


class ArticleCapture(Base):
    """A revisit's WARC capture of an article's page ([warc]): the file's name and the offset of its response
    record. The first archive's capture is on its raw page (RawPage.warc_file); `scraper history` lists both,
    so every fetch of the page can be found in the WARC files."""

    __tablename__ = "article_captures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    http_status: Mapped[int | None] = mapped_column(Integer)
    warc_file: Mapped[str] = mapped_column(String(255))
    warc_offset: Mapped[int] = mapped_column(BigInteger)


class CaptureFailure(Base):
    """A capture that could not be written (a full disk, a folder made read-only): the fetch went on without
    it. `scraper status` counts them and shows the last reasons."""

    __tablename__ = "capture_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    url: Mapped[str] = mapped_column(String(2048))
    reason: Mapped[str] = mapped_column(Text)


class BackfillDocument(Base):
    """A sitemap or feed page a backfill has read, so a rerun after a crash does not read it again.

    Article URLs found in a document are queued (pending article rows) in the same transaction that marks
    the document done, so a document is either done with all its URLs queued, or not done at all.
    `params` fingerprints the filters of the run (since, until, match, feed): a run with other filters reads
    the document again. `next_url` keeps the link to the following page of a feed's history, so a resumed
    walk follows the chain without fetching the pages already read.
    """

    __tablename__ = "backfill_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # sitemap, feed-page, feed-archive
    params: Mapped[str | None] = mapped_column(String(64))
    lastmod: Mapped[str | None] = mapped_column(String(64))  # as the parent sitemap index gave it
    next_url: Mapped[str | None] = mapped_column(String(2048))
    urls_found: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: claimed, not read yet

    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Node(Base):
    """A process working on this database (`scraper run`, `once`, `backfill`), seen through its heartbeat.

    The id (host:pid:random) is what the rows it leases carry in `lease_owner`. A node's row is renewed with
    its leases every `[cluster] heartbeat_seconds`; one not seen for `lease_seconds` is dead (its leases have
    expired too). Live nodes divide each host's politeness limits between them (scraper.politeness).
    """

    __tablename__ = "nodes"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    command: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a clean stop: kept, for `status`
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class FolderStamp(Base):
    """What an export folder looked like when its posts were last adopted: each directory's mtime (ns),
    as JSON by relative path. A run whose folder still matches skips the walk (scraper.post_import)."""

    __tablename__ = "folder_stamps"

    folder: Mapped[str] = mapped_column(String(1024), primary_key=True)  # the resolved path
    directories: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
