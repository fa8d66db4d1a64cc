"""Posts into the database: each post file becomes an archived article (or gives its file to a known one),
each seen URL a `seen` row. What each becomes is told in scraper.importer's docstring.

Both `scraper import` and every run (the export folder's posts the database does not know yet are adopted
before any poll) go through here; the SQL is scraper.store's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from scraper.config import FeedConfig
from scraper.errors import PostFormatError
from scraper.extract import html_to_text
from scraper.post_reader import OldPost, post_files, read_post
from scraper.store import articles as article_rows
from scraper.store.feeds import ensure_feed_rows
from scraper.store.models import IMPORTED, Article, ArticleStatus
from scraper.urls import canonical_url

log = logging.getLogger(__name__)

BATCH = 400  # rows per transaction, and per IN (...) query (under SQLite's bound-parameter limit)


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
) -> None:
    """Store the posts (see the module docstring for what each becomes), a batch per transaction."""
    now = now or datetime.now(UTC)
    batch: list[OldPost] = []
    for post in posts:
        batch.append(post)
        if len(batch) >= BATCH:
            _import_batch(sessions, batch, export_dir, feed_ids, summary, feed_id, now)
            batch = []
    if batch:
        _import_batch(sessions, batch, export_dir, feed_ids, summary, feed_id, now)


def _import_batch(
    sessions: sessionmaker[Session],
    posts: Sequence[OldPost],
    export_dir: Path,
    feed_ids: Mapping[str, int],
    summary: ImportSummary,
    feed_id: int | None,
    now: datetime,
) -> None:
    with sessions.begin() as session:
        keys = {canonical_url(post.url) for post in posts}
        known = article_rows.by_canonical_url(session, keys)
        paths = [post_path_for(post.path, export_dir) for post in posts]
        owners = article_rows.post_path_owners(session, paths)
        for post, path in zip(posts, paths, strict=True):
            key = canonical_url(post.url)
            owner = owners.get(path)
            if owner is not None:
                if owner == key:
                    summary.already += 1
                else:
                    summary.errors.append(f"{post.path}: already the post of {owner}; skipped")
                continue
            article = known.get(key)
            if article is not None and article.post_path is not None:
                summary.duplicates += 1
                log.info("%s: %s already has the post %s", post.path, key, article.post_path)
                continue
            if article is None:
                article = Article(url=post.url, canonical_url=key, discovered_at=now, attempts=0)
                session.add(article)
                known[key] = article
                summary.posts += 1
            else:
                summary.adopted += 1
            _fill(article, post, path, feed_id or feed_ids.get(post.feed_name or ""), now)
            owners[path] = key


def _fill(article: Article, post: OldPost, path: str, feed_id: int | None, now: datetime) -> None:
    article.post_path = path
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
        for key, url in batch.items():
            if key in known:
                summary.seen_known += 1
                continue
            session.add(
                Article(url=url, canonical_url=key, status=ArticleStatus.SEEN, attempts=0, discovered_at=now)
            )
            summary.seen += 1


def read_posts(paths: Iterable[Path], summary: ImportSummary) -> Iterator[OldPost]:
    """Parse each file; one that cannot be read is an error on that file, and the rest go on."""
    for path in paths:
        try:
            yield read_post(path)
        except (PostFormatError, OSError) as exc:
            summary.errors.append(f"{path}: {exc}")


def adopt_export_folder(
    sessions: sessionmaker[Session],
    export_dir: Path,
    feeds: Sequence[FeedConfig],
    now: datetime | None = None,
) -> ImportSummary:
    """Import the posts of the export folder that the database does not know yet.

    Run before each poll: pointed at a folder that already holds posts (a fresh CI runner with the site
    checked out, an old archive), the run must not write a second post for an entry that has one. Only
    files whose path no article holds are read, so on a folder the database knows this is one directory
    walk and one query.
    """
    summary = ImportSummary()
    if not export_dir.is_dir():
        return summary
    with sessions() as session:
        known = article_rows.post_paths(session)
    # Paths relative to the folder as listed (not resolved one by one: a big archive has many files).
    unknown = [
        path for path in post_files(export_dir) if path.relative_to(export_dir).as_posix() not in known
    ]
    if not unknown:
        return summary
    posts = []
    for path in unknown:
        try:
            posts.append(read_post(path))
        except (PostFormatError, OSError) as exc:
            log.debug("%s: not a post: %s", path, exc)
    if posts:
        feed_ids = configured_feed_ids(sessions, feeds)
        import_posts(sessions, posts, export_dir, feed_ids, summary, now=now)
        log.info("export folder: %s", summary.line())
    return summary
