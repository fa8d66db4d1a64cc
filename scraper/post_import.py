"""Posts into the database: each post file becomes an archived article (or gives its file to a known one),
each seen URL a `seen` row. What each becomes is told in scraper.importer's docstring.

Both `scraper import` and every run (the export folder's posts the database does not know yet are adopted
before any poll) go through here; the SQL is scraper.store's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from scraper.config import FeedConfig
from scraper.errors import PostFormatError
from scraper.parallel import default_workers, ordered_map
from scraper.post_reader import OldPost, is_utf8, read_post
from scraper.post_text import post_body_text
from scraper.post_urls import url_keys
from scraper.sanitize import storable_text
from scraper.store import articles as article_rows
from scraper.store.bulk import ArticleRows, bulk_sessions
from scraper.store.feeds import ensure_feed_rows
from scraper.store.models import IMPORTED, Article, ArticleStatus

log = logging.getLogger(__name__)

BATCH = 2000  # rows per transaction, and per IN (...) query (under SQLite's 32,766 bound parameters)
POST_PATH_CHARS = 1024  # articles.post_path's width (scraper.store.tables)
CHUNK = 250  # post files per worker's unit: small enough that a few in flight are little memory
T = TypeVar("T")


@dataclass(frozen=True)
class Subscription:
    name: str
    url: str


@dataclass
class ImportSummary:
    posts: int = 0  # new archived articles from post files
    adopted: int = 0  # known articles that took over an existing post file
    already: int = 0  # posts whose file the database already had
    duplicates: int = 0  # post files of a URL that already has another post file
    seen: int = 0  # new `seen` rows from URL lists
    seen_known: int = 0  # listed URLs the database already had
    skipped_lines: int = 0  # lines of URL lists that are no http(s) URL (each named in the log)
    feeds: list[Subscription] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        skipped = f", {self.skipped_lines} lines skipped: not http(s) URLs" if self.skipped_lines else ""
        return (
            f"imported {self.posts} posts ({self.adopted} joined known articles, {self.already} already "
            f"imported, {self.duplicates} duplicate files); {self.seen} seen URLs ({self.seen_known} already "
            f"known{skipped}); {len(self.feeds)} feeds; {len(self.errors)} errors"
        )


def configured_feed_ids(sessions: sessionmaker[Session], feeds: Sequence[FeedConfig]) -> dict[str, int]:
    """Feed name -> row id for the configured feeds, adding the rows a first run would add."""
    with sessions.begin() as session:
        rows = ensure_feed_rows(session, feeds)
        return {feed.name: rows[feed.url].id for feed in feeds}


class PostPaths:
    """Post paths as the exporter keeps them: relative to the export folder when the post is in it, else
    absolute. Each directory is resolved once (an archive has a million files and a few folders), and
    looked up by its string: pathlib's parent, hash and comparison were a tenth of reading a post."""

    def __init__(self, export_dir: Path) -> None:
        self.export_dir = export_dir.resolve()
        self.folders: dict[str, str | None] = {}

    def __call__(self, path: Path | str) -> str:
        directory, name = os.path.split(path)
        if directory in self.folders:
            folder = self.folders[directory]
        else:
            try:
                folder = Path(directory or ".").resolve().relative_to(self.export_dir).as_posix()
            except ValueError:
                folder = None
            self.folders[directory] = folder
        if folder is None or os.path.islink(path):
            return post_path_for(Path(path), self.export_dir)
        return name if folder == "." else f"{folder}/{name}"


def post_path_for(path: Path, export_dir: Path) -> str:
    """Relative to the export folder (as the exporter keeps paths) when the post is in it; else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(export_dir.resolve()).as_posix()
    except ValueError:
        return str(resolved)


class ParsedPost(NamedTuple):
    """A post read and made ready for its row: the CPU-bound part of an import, done where it can run in
    parallel (scraper.parallel), so the process that stores only compares keys and inserts.

    A flat tuple of strings and a datetime (not the OldPost and its Path): it is pickled in the worker and
    unpickled here, and a dataclass holding a Path cost the storing process 11 us a post to unpickle (a
    tuple 2 us), a sixth of what it does per post."""

    path: str  # the file, for messages
    url: str
    title: str | None
    author: str | None
    feed_name: str | None
    published: datetime | None
    body_html: str
    key: str  # canonical URL
    relative: str  # the post path as the exporter keeps it
    host: str
    text: str  # the body's plain text


@dataclass(frozen=True)
class Unreadable:
    path: Path | str
    reason: str


def _without_nul(value: str | None) -> str | None:
    """`value` as PostgreSQL takes it. Only a NUL is looked for (2.5 us on a 10 KB body of CJK text, where
    storable_text's regular expression took 31 us): read_post decodes with "replace", so
    a post holds no lone surrogate."""
    return value if value is None or "\x00" not in value else storable_text(value)


def prepare(post: OldPost, paths: PostPaths) -> ParsedPost:
    """Raises ValueError (a URL the archive cannot keep: an impossible port, a NUL, not http; a post path
    wider than its column; a file name that is not UTF-8). A NUL in the text stored is dropped here:
    PostgreSQL's COPY refuses it, and one post's NUL failed its whole batch, then the import."""
    url, key, host = url_keys(post.url)
    relative = paths(post.path)
    if len(relative) > POST_PATH_CHARS:  # PostgreSQL refused it with its whole batch; SQLite stored it
        raise ValueError(f"post path longer than {POST_PATH_CHARS} characters (the column's width)")
    if not is_utf8(relative):  # a name in bytes no codec decoded: both databases
        raise ValueError("file name is not UTF-8 (the database keeps names as text): rename the file")
    body = _without_nul(post.body_html) or ""
    text = post_body_text(body)
    return ParsedPost(
        str(post.path), url, _without_nul(post.title), _without_nul(post.author), post.feed_name,
        post.published, body, key, relative, host, text,
    )  # fmt: skip


def parse_post_files(job: tuple[str, Sequence[str]]) -> list[ParsedPost | Unreadable]:
    """(export folder, post files): each read and prepared, or why not. A worker's unit (module level: it
    is pickled); it never raises, so one bad file fails alone and the chunk's others go on. The files are
    strings: a Path costs 7 us to unpickle, a string nothing."""
    export_dir, files = job
    paths = PostPaths(Path(export_dir))
    out: list[ParsedPost | Unreadable] = []
    for path in files:
        try:
            out.append(prepare(read_post(path), paths))
        except (PostFormatError, OSError, ValueError) as exc:
            out.append(Unreadable(path, str(exc)))
        except Exception as exc:  # whatever else a hostile file does to a parser: that file alone fails
            out.append(Unreadable(path, f"{type(exc).__name__}: {exc}"))
    return out


def import_post_files(
    sessions: sessionmaker[Session],
    files: Iterable[Path | str],
    export_dir: Path,
    feed_ids: Mapping[str, int],
    summary: ImportSummary,
    *,
    feed_id: int | None = None,
    now: datetime | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    on_unreadable: Callable[[Unreadable], None] | None = None,
    workers: int | None = None,
) -> None:
    """Read and store post files, streamed: parsed in chunks by `workers` processes (default one per core;
    0: here), stored a batch per transaction, so memory holds a few chunks whatever the archive's size. A
    file that is not a post is given to `on_unreadable` (default: an error in the summary).
    `on_batch(stored, unreadable)` after each batch."""
    now = now or datetime.now(UTC)
    jobs = ((str(export_dir), [os.fspath(file) for file in chunk]) for chunk in chunked(iter(files), CHUNK))
    parsed = ordered_map(parse_post_files, jobs, workers=default_workers() if workers is None else workers)
    report = on_unreadable or (lambda bad: summary.errors.append(f"{bad.path}: {bad.reason}"))
    failed = 0

    def good() -> Iterator[ParsedPost]:
        nonlocal failed
        for chunk in parsed:
            for item in chunk:
                if isinstance(item, Unreadable):
                    failed += 1
                    report(item)
                else:
                    yield item

    with bulk_sessions(sessions) as bulk:
        for batch in chunked(good(), BATCH):
            _import_batch(bulk, batch, feed_ids, summary, feed_id, now)
            if on_batch is not None:
                on_batch(len(batch), failed)
            failed = 0
    if failed and on_batch is not None:
        on_batch(0, failed)


def import_posts(
    sessions: sessionmaker[Session],
    posts: Iterable[OldPost],
    export_dir: Path,
    feed_ids: Mapping[str, int],
    summary: ImportSummary,
    *,
    feed_id: int | None = None,
    now: datetime | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> None:
    """Store posts already read (see the module docstring for what each becomes), a batch per
    transaction, here: the posts are streamed, so memory holds one batch. `on_batch(n)` after each.
    A post whose URL the archive cannot keep is an error in the summary."""
    now = now or datetime.now(UTC)
    paths = PostPaths(export_dir)
    for batch in chunked(iter(posts), BATCH):
        ready: list[ParsedPost] = []
        for post in batch:
            try:
                ready.append(prepare(post, paths))
            except ValueError as exc:
                summary.errors.append(f"{post.path}: {exc}")
        _import_batch(sessions, ready, feed_ids, summary, feed_id, now)
        if on_batch is not None:
            on_batch(len(batch))


def chunked(items: Iterator[T], size: int) -> Iterator[list[T]]:
    """Lists of `size` items (the last one shorter), pulled from `items` as each is needed."""
    while chunk := list(islice(items, size)):
        yield chunk


def _import_batch(
    sessions: sessionmaker[Session],
    posts: Sequence[ParsedPost],
    feed_ids: Mapping[str, int],
    summary: ImportSummary,
    feed_id: int | None,
    now: datetime,
) -> None:
    """New articles are inserted in bulk (scraper.store.bulk); known ones (rare) take the post through the
    ORM."""
    with sessions.begin() as session:
        known = article_rows.by_canonical_url(session, {parsed.key for parsed in posts})
        owners = article_rows.post_path_owners(session, [parsed.relative for parsed in posts])
        new: dict[str, tuple[Any, ...]] = {}
        for parsed in posts:
            key, path = parsed.key, parsed.relative
            owner = owners.get(path)
            if owner is not None:
                if owner == key:
                    summary.already += 1
                else:
                    summary.errors.append(f"{parsed.path}: already the post of {owner}; skipped")
                continue
            article = known.get(key)
            if key in new or (article is not None and article.post_path is not None):
                summary.duplicates += 1
                log.info("%s: %s already has a post", parsed.path, key)
                continue
            target = feed_id or feed_ids.get(parsed.feed_name or "")
            if article is None:
                new[key] = _new_row(parsed, target, now)
                summary.posts += 1
            else:
                _fill(article, parsed, target, now)
                summary.adopted += 1
            owners[path] = key
        _POST_ROWS.insert(session, list(new.values()))


# A new article from a post: these columns, in this order (scraper.store.bulk adds the constant defaults).
_POST_ROWS = ArticleRows(
    (
        "url", "canonical_url", "host", "feed_id", "status", "attempts", "discovered_at", "post_path",
        "post_written_at", "content_source", "title", "author", "published_at", "content_html",
        "content_text", "archived_at",
    )
)  # fmt: skip


def _new_row(parsed: ParsedPost, feed_id: int | None, now: datetime) -> tuple[Any, ...]:
    """The row of _POST_ROWS' columns. post_written_at: on disk already, so not among the posts to write
    (an index range kept short)."""
    return (
        parsed.url, parsed.key, parsed.host, feed_id, ArticleStatus.ARCHIVED, 0, now, parsed.relative, now,
        IMPORTED, parsed.title, parsed.author, parsed.published, parsed.body_html, parsed.text,
        parsed.published or now,
    )  # fmt: skip


def _fill(article: Article, parsed: ParsedPost, feed_id: int | None, now: datetime) -> None:
    post = parsed
    article.post_path = parsed.relative
    article.post_written_at = article.post_written_at or now
    article.content_source = IMPORTED
    if article.status == ArticleStatus.ARCHIVED and article.content_html:
        return  # our own record is better than the old body; only the file is taken over
    article.status = ArticleStatus.ARCHIVED
    article.feed_id = article.feed_id or feed_id
    article.title = post.title
    article.author = post.author
    article.published_at = post.published
    article.content_html = post.body_html
    article.content_text = parsed.text
    article.archived_at = article.archived_at or post.published or now
    article.next_attempt_at = None
    article.last_error = None


def seen_rows(urls: Sequence[str]) -> list[tuple[str, str, str] | Unreadable]:
    """(canonical URL, URL, host) of each listed URL, or why the archive cannot keep it. It never raises."""
    out: list[tuple[str, str, str] | Unreadable] = []
    for listed in urls:
        try:
            url, key, host = url_keys(listed)
            out.append((key, url, host))
        except ValueError as exc:
            out.append(Unreadable(Path(), str(exc)))
    return out


def import_seen_urls(
    sessions: sessionmaker[Session],
    urls: Iterable[str],
    summary: ImportSummary,
    *,
    now: datetime | None = None,
) -> None:
    """URLs the old archive had archived once become `seen` rows (unless the database knows them),
    streamed a batch per transaction. Here, not in worker processes: a plain URL costs a regular
    expression (scraper.post_urls), less than sending it to a process and back. A URL the archive cannot
    keep is an error in the summary, alone."""
    now = now or datetime.now(UTC)
    with bulk_sessions(sessions) as bulk:
        for chunk in chunked(iter(urls), BATCH):
            batch: dict[str, tuple[str, str]] = {}
            for row in seen_rows(chunk):
                if isinstance(row, Unreadable):
                    summary.errors.append(f"seen URL refused: {row.reason}")
                else:
                    batch.setdefault(row[0], (row[1], row[2]))
            if batch:
                _seen_batch(bulk, batch, summary, now)


_SEEN_ROWS = ArticleRows(("url", "canonical_url", "host", "status", "attempts", "discovered_at"))


def _seen_batch(
    sessions: sessionmaker[Session],
    batch: Mapping[str, tuple[str, str]],
    summary: ImportSummary,
    now: datetime,
) -> None:
    """The batch's rows inserted in key order (the unique index on canonical_url takes them as a run of
    nearby pages, not scattered over it); those the database knows are skipped by that index."""
    rows = [(url, key, host, ArticleStatus.SEEN, 0, now) for key, (url, host) in sorted(batch.items())]
    with sessions.begin() as session:
        added = _SEEN_ROWS.insert_new(session, rows)
    summary.seen_known += len(batch) - added
    summary.seen += added
