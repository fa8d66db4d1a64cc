"""Posts into the database: each post file becomes an archived article (or gives its file to a known one),
each seen URL a `seen` row. What each becomes is told in scraper.importer's docstring.

Both `scraper import` and every run (the export folder's posts the database does not know yet are adopted
before any poll) go through here; the SQL is scraper.store's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from scraper.config import FeedConfig
from scraper.errors import PostFormatError
from scraper.extract import html_to_text
from scraper.hosts import host_key
from scraper.post_reader import OldPost, read_post
from scraper.store import articles as article_rows
from scraper.store.feeds import ensure_feed_rows
from scraper.store.models import IMPORTED, Article, ArticleStatus
from scraper.urls import canonical_url

log = logging.getLogger(__name__)

BATCH = 2000  # rows per transaction, and per IN (...) query (under SQLite's 32,766 bound parameters)


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
    feeds: list[Subscription] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"imported {self.posts} posts ({self.adopted} joined known articles, {self.already} already "
            f"imported, {self.duplicates} duplicate files); {self.seen} seen URLs ({self.seen_known} already "
            f"known); {len(self.feeds)} feeds; {len(self.errors)} errors"
        )


def configured_feed_ids(sessions: sessionmaker[Session], feeds: Sequence[FeedConfig]) -> dict[str, int]:
    """Feed name -> row id for the configured feeds, adding the rows a first run would add."""
    with sessions.begin() as session:
        rows = ensure_feed_rows(session, feeds)
        return {feed.name: rows[feed.url].id for feed in feeds}


class PostPaths:
    """Post paths as the exporter keeps them: relative to the export folder when the post is in it, else
    absolute. Each directory is resolved once (an archive has a million files and a few folders)."""

    def __init__(self, export_dir: Path) -> None:
        self.export_dir = export_dir.resolve()
        self.folders: dict[Path, str | None] = {}

    def __call__(self, path: Path) -> str:
        parent = path.parent
        if parent not in self.folders:
            resolved = parent.resolve()
            try:
                self.folders[parent] = resolved.relative_to(self.export_dir).as_posix()
            except ValueError:
                self.folders[parent] = None
        folder = self.folders[parent]
        if folder is None or path.is_symlink():
            return post_path_for(path, self.export_dir)
        return path.name if folder == "." else f"{folder}/{path.name}"


def post_path_for(path: Path, export_dir: Path) -> str:
    """Relative to the export folder (as the exporter keeps paths) when the post is in it; else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(export_dir.resolve()).as_posix()
    except ValueError:
        return str(resolved)


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
    """Store the posts (see the module docstring for what each becomes), a batch per transaction: the
    posts are streamed, so memory holds one batch whatever the archive's size. `on_batch(n)` after each."""
    now = now or datetime.now(UTC)
    paths = PostPaths(export_dir)
    batch: list[OldPost] = []
    for post in posts:
        batch.append(post)
        if len(batch) >= BATCH:
            _import_batch(sessions, batch, paths, feed_ids, summary, feed_id, now)
            if on_batch is not None:
                on_batch(len(batch))
            batch = []
    if batch:
        _import_batch(sessions, batch, paths, feed_ids, summary, feed_id, now)
        if on_batch is not None:
            on_batch(len(batch))


def _import_batch(
    sessions: sessionmaker[Session],
    posts: Sequence[OldPost],
    paths: PostPaths,
    feed_ids: Mapping[str, int],
    summary: ImportSummary,
    feed_id: int | None,
    now: datetime,
) -> None:
    """New articles are inserted in one statement; known ones (rare) take the post through the ORM."""
    with sessions.begin() as session:
        keys = [canonical_url(post.url) for post in posts]
        known = article_rows.by_canonical_url(session, set(keys))
        relative = [paths(post.path) for post in posts]
        owners = article_rows.post_path_owners(session, relative)
        new: dict[str, dict[str, Any]] = {}
        for post, key, path in zip(posts, keys, relative, strict=True):
            owner = owners.get(path)
            if owner is not None:
                if owner == key:
                    summary.already += 1
                else:
                    summary.errors.append(f"{post.path}: already the post of {owner}; skipped")
                continue
            article = known.get(key)
            if key in new or (article is not None and article.post_path is not None):
                summary.duplicates += 1
                log.info("%s: %s already has a post", post.path, key)
                continue
            target = feed_id or feed_ids.get(post.feed_name or "")
            if article is None:
                new[key] = _new_row(post, key, path, target, now)
                summary.posts += 1
            else:
                _fill(article, post, path, target, now)
                summary.adopted += 1
            owners[path] = key
        article_rows.insert_articles(session, list(new.values()))


def _new_row(post: OldPost, key: str, path: str, feed_id: int | None, now: datetime) -> dict[str, Any]:
    return {
        "url": post.url,
        "canonical_url": key,
        "host": host_key(post.url),
        "feed_id": feed_id,
        "status": ArticleStatus.ARCHIVED,
        "attempts": 0,
        "discovered_at": now,
        "post_path": path,
        "post_written_at": now,  # on disk already: not among the posts to write (an index range kept short)
        "content_source": IMPORTED,
        "title": post.title,
        "author": post.author,
        "published_at": post.published,
        "content_html": post.body_html,
        "content_text": html_to_text(post.body_html),
        "archived_at": post.published or now,
    }


def _fill(article: Article, post: OldPost, path: str, feed_id: int | None, now: datetime) -> None:
    article.post_path = path
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
    article.content_text = html_to_text(post.body_html)
    article.archived_at = article.archived_at or post.published or now
    article.next_attempt_at = None
    article.last_error = None


def import_seen_urls(
    sessions: sessionmaker[Session],
    urls: Iterable[str],
    summary: ImportSummary,
    *,
    now: datetime | None = None,
) -> None:
    """URLs the old archive had archived once become `seen` rows (unless the database knows them)."""
    now = now or datetime.now(UTC)
    batch: dict[str, str] = {}
    for url in urls:
        batch.setdefault(canonical_url(url), url)
        if len(batch) >= BATCH:
            _seen_batch(sessions, batch, summary, now)
            batch = {}
    if batch:
        _seen_batch(sessions, batch, summary, now)


def _seen_batch(
    sessions: sessionmaker[Session], batch: Mapping[str, str], summary: ImportSummary, now: datetime
) -> None:
    with sessions.begin() as session:
        known = article_rows.known_canonical_urls(session, list(batch))
        rows = [
            {
                "url": url,
                "canonical_url": key,
                "host": host_key(url),
                "status": ArticleStatus.SEEN,
                "attempts": 0,
                "discovered_at": now,
            }
            for key, url in batch.items()
            if key not in known
        ]
        article_rows.insert_articles(session, rows)
        summary.seen_known += len(batch) - len(rows)
        summary.seen += len(rows)


def read_posts(paths: Iterable[Path], summary: ImportSummary) -> Iterator[OldPost]:
    """Parse each file; one that cannot be read is an error on that file, and the rest go on."""
    for path in paths:
        try:
            yield read_post(path)
        except (PostFormatError, OSError) as exc:
            summary.errors.append(f"{path}: {exc}")
