"""The database schema as SQLAlchemy Core tables: feeds, their articles, the raw pages kept for re-extraction.

The database is the truth about what is due (`feeds.next_poll_at`, `articles.next_attempt_at`), so a
restarted daemon, a cron run and several nodes sharing one PostgreSQL agree. Every change to these tables
comes with an Alembic migration in migrations/ (a test checks that the two do not drift).

Why Core tables, with the ORM classes mapped onto them in scraper.store.models: importing `sqlalchemy.orm`
and building the mapped classes is most of a cron run's CPU when it finds nothing new (issue 15). The
statements of that run (claim, the batched 304 write, the checks that nothing else is due) need only these
tables, so this module imports SQLAlchemy Core alone; the ORM is loaded by the stages that use it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)

from scraper.errors import StoredValueError
from scraper.hosts import host_key

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


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


# The predicates of the partial indexes `ix_articles_errors` (the rows status shows reasons of) and
# `ix_articles_revisited` (the articles revisited at least once: what the revisit summary sums).
ERRORS_WHERE = "last_error IS NOT NULL"
REVISITED_WHERE = "revisits > 0"
# ... and of three that an import's rows are not in (migration 0009_s14_16): no lease, no revisit, and for
# a post, its file on disk already (a seen URL's row is still in the posts-to-write index, by status).
LEASED_WHERE = "lease_owner IS NOT NULL"
UNWRITTEN_WHERE = "post_written_at IS NULL"
REVISIT_WHERE = "revisit_at IS NOT NULL"
PARTIAL_INDEXES = {
    "ix_articles_errors": ERRORS_WHERE,
    "ix_articles_revisited": REVISITED_WHERE,
    "ix_articles_lease_owner": LEASED_WHERE,
    "ix_articles_status_post_written_at": UNWRITTEN_WHERE,
    "ix_articles_status_revisit_at": REVISIT_WHERE,
}


def _null(name: str, type_: Any, *args: Any, **kwargs: Any) -> Column[Any]:
    """A column that may hold NULL."""
    return Column(name, type_, *args, nullable=True, **kwargs)


def _required(name: str, type_: Any, *args: Any, **kwargs: Any) -> Column[Any]:
    """A NOT NULL column."""
    return Column(name, type_, *args, nullable=False, **kwargs)


def _lease_columns() -> list[Column[Any]]:
    return [_null("lease_owner", String(128)), _null("lease_expires_at", UTCDateTime)]


feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    _required("url", String(2048), unique=True),
    _required("name", String(512)),
    _required("enabled", Boolean, default=True),
    # Conditional GET validators from the last 200 answer.
    _null("etag", String(1024)),
    _null("last_modified", String(128)),
    _null("next_poll_at", UTCDateTime),
    _null("blocked_until", UTCDateTime),  # backoff or Retry-After
    _null("last_polled_at", UTCDateTime),
    _null("last_success_at", UTCDateTime),
    _null("last_status", Integer),
    _null("last_error", Text),
    _null("last_error_at", UTCDateTime),
    _required("failures_in_row", Integer, default=0),
    _null("failing_since", UTCDateTime),  # first failure of the streak
    _required("broken", Boolean, default=False),
    # Schedule: the interval in use (learned when interval = "auto"), and what the feed itself asks
    # (kept, since a 304 answer does not repeat it).
    _null("poll_interval", Integer),
    _null("ttl_minutes", Integer),
    _null("skip_hours", String(100)),  # "0,1,2": GMT hours
    _null("skip_days", String(20)),  # "5,6": weekdays, 0 = Monday
    # The settings this feed was last polled under (scraper.due.config_fingerprint): a change makes it due.
    _null("config_fingerprint", String(64)),
    *_lease_columns(),
    _required("created_at", UTCDateTime, default=utcnow),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    # No index of its own: (feed_id, status) and (feed_id, guid) lead with it (the foreign key's SET NULL
    # and every query by feed use theirs), and a third was one more B-tree per imported row.
    _null("feed_id", Integer, ForeignKey("feeds.id", ondelete="SET NULL")),
    _null("guid", String(2048)),
    _required("url", String(2048)),
    _null("host", String(255), default=_host_default),
    _required("canonical_url", String(2048), unique=True),
    _null("final_url", String(2048)),
    _required("status", String(16), default=ArticleStatus.PENDING),
    _required("attempts", Integer, default=0),
    _null("next_attempt_at", UTCDateTime),
    _null("last_error", Text),
    _null("http_status", Integer),
    # What the feed said: the fallback for metadata, and the body when content = "feed".
    _null("entry_title", Text),
    _null("entry_author", Text),
    _null("entry_published_at", UTCDateTime),
    _null("entry_content", Text),
    # The record.
    _null("title", Text),
    _null("author", Text),
    _null("published_at", UTCDateTime),
    _null("lang", String(32)),
    _null("content_html", Text),
    _null("content_text", Text),
    _null("content_source", String(8)),  # "page" or "feed"
    _null("post_path", String(1024), unique=True),  # reserved, then written
    _null("post_written_at", UTCDateTime),  # None: the post is still to write
    _required("discovered_at", UTCDateTime, default=utcnow),
    _null("fetched_at", UTCDateTime),
    _null("archived_at", UTCDateTime),
    *_lease_columns(),
    # Revisits (scraper.revisit): when the page is fetched again, how often it was, its validators, its
    # edits, and whether it was taken down (suspected on one visit, confirmed on the next, or restored).
    _null("revisit_at", UTCDateTime),  # None: no revisit scheduled
    _required("revisits", Integer, default=0, server_default="0"),
    _null("page_etag", String(1024)),
    _null("page_last_modified", String(128)),
    _null("page_digest", String(64)),  # of the raw page: same bytes, same page
    _required("edits", Integer, default=0, server_default="0"),
    _null("revised_at", UTCDateTime),
    _null("removal_suspected_at", UTCDateTime),
    _null("removal_confirmed_at", UTCDateTime),
    _null("restored_at", UTCDateTime),
    UniqueConstraint("feed_id", "guid", name="uq_articles_feed_id_guid"),
    Index("ix_articles_status_next_attempt_at", "status", "next_attempt_at"),
    # The next three hold only the rows their queries look for (partial indexes: predicates below), not the
    # million an import adds with no lease, a post on disk already, no revisit scheduled.
    # what a node holds (renewal, status): `lease_owner = ?` / `IS NOT NULL` imply the predicate
    Index("ix_articles_lease_owner", "lease_owner", sqlite_where=text(LEASED_WHERE)),
    # posts to write: scraper.store.posts.unwritten_posts has the predicate's very term
    Index(
        "ix_articles_status_post_written_at", "status", "post_written_at", sqlite_where=text(UNWRITTEN_WHERE)
    ),
    # revisits due: `revisit_at <= ?` implies the predicate
    Index("ix_articles_status_revisit_at", "status", "revisit_at", sqlite_where=text(REVISIT_WHERE)),
    Index("ix_articles_feed_id_status", "feed_id", "status"),  # status's counts, from the index alone
    # status's reasons: the few rows with an error, not every archived one (PostgreSQL's predicate: below)
    Index("ix_articles_errors", "feed_id", "status", sqlite_where=text(ERRORS_WHERE)),
    # the revisit summary (status, /metrics): the revisited rows, not every archived one (same predicate)
    Index("ix_articles_revisited", "feed_id", "status", sqlite_where=text(REVISITED_WHERE)),
)

# The page as served, zlib-compressed, so a better extractor can run over history offline.
raw_pages = Table(
    "raw_pages",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    _required("url", String(2048)),
    _null("content_type", String(256)),
    _null("encoding", String(64)),
    _required("body_zlib", LargeBinary),
    _required("fetched_at", UTCDateTime, default=utcnow),
    # The page's WARC capture ([warc]): the file's name in the capture folder and the offset of its
    # response record (its request record follows it). None: captures were off, or it failed.
    _null("warc_file", String(255)),
    _null("warc_offset", BigInteger),
)

# One version of an article's page as archived: the first, then each real edit a revisit found. The first
# version is written when the first edit is found (until then the article row holds it), so an article that
# never changes costs no copy.
article_versions = Table(
    "article_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    _required("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE")),
    _required("number", Integer),  # 1: as first archived
    _null("title", Text),
    _null("content_html", Text),
    _null("content_text", Text),
    _required("fetched_at", UTCDateTime),
    _null("url", String(2048)),
    _null("content_type", String(256)),
    _null("encoding", String(64)),
    _null("body_zlib", LargeBinary),  # the raw page, kept like the first
    UniqueConstraint("article_id", "number", name="uq_article_versions_article_id_number"),
)

# What a revisit found that a reader would want to know: an edit, a removal (confirmed), a restore. The
# changes feed and `scraper history` read these, newest first.
article_changes = Table(
    "article_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    _required("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), index=True),
    _required("kind", String(16)),  # edited, removed, restored
    _required("at", UTCDateTime, index=True),
    _null("version", Integer),  # the new version of an edit
    _null("detail", Text),  # why: "HTTP 410", "redirected to the home page"
)

# A revisit's WARC capture of an article's page ([warc]): the file's name and the offset of its response
# record. The first archive's capture is on its raw page (raw_pages.warc_file); `scraper history` lists both.
article_captures = Table(
    "article_captures",
    metadata,
    Column("id", Integer, primary_key=True),
    _required("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), index=True),
    _required("fetched_at", UTCDateTime),
    _null("http_status", Integer),
    _required("warc_file", String(255)),
    _required("warc_offset", BigInteger),
)

# A capture that could not be written (a full disk, a folder made read-only): the fetch went on without it.
# `scraper status` counts them and shows the last reasons.
capture_failures = Table(
    "capture_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    _required("at", UTCDateTime, index=True),
    _required("url", String(2048)),
    _required("reason", Text),
)

# A sitemap or feed page a backfill has read, so a rerun after a crash does not read it again (see
# scraper.store.models.BackfillDocument).
backfill_documents = Table(
    "backfill_documents",
    metadata,
    Column("id", Integer, primary_key=True),
    _required("url", String(2048), unique=True),
    _required("kind", String(16)),  # sitemap, feed-page, feed-archive
    _null("params", String(64)),
    _null("lastmod", String(64)),  # as the parent sitemap index gave it
    _null("next_url", String(2048)),
    _required("urls_found", Integer, default=0),
    _null("done_at", UTCDateTime),  # None: claimed, not read yet
    *_lease_columns(),
)

# A process working on this database (`scraper run`, `once`, `backfill`), seen through its heartbeat (see
# scraper.store.nodes).
nodes = Table(
    "nodes",
    metadata,
    Column("id", String(128), primary_key=True),
    _required("hostname", String(255)),
    _required("pid", Integer),
    _required("command", String(32)),
    _required("started_at", UTCDateTime),
    _null("stopped_at", UTCDateTime),  # a clean stop: kept, for `status`
    _required("last_seen_at", UTCDateTime, index=True),
)

# What an export folder looked like when its posts were last adopted: each directory's mtime (ns), as JSON
# by relative path. A run whose folder still matches skips the walk (scraper.post_adopt).
folder_stamps = Table(
    "folder_stamps",
    metadata,
    Column("folder", String(1024), primary_key=True),  # the resolved path
    _required("directories", Text),
    _required("recorded_at", UTCDateTime, default=utcnow),
)


def add_postgresql_options() -> None:
    """Give the tables their PostgreSQL-only options: the partial index's predicate (`postgresql_where`).

    Not in the table definitions above because SQLAlchemy checks a `postgresql_*` argument by importing its
    PostgreSQL dialect, with all its drivers' modules: a tenth of the CPU of a cron run on SQLite that finds
    nothing new. scraper.store.db.make_engine calls this for every PostgreSQL engine (before it is used:
    migrations, the drift check and any DDL see the option), once the dialect is being loaded anyway.
    Idempotent."""
    for name, where in PARTIAL_INDEXES.items():
        index = next(index for index in articles.indexes if index.name == name)
        index.dialect_options["postgresql"]["where"] = text(where)
