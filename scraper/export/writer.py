"""From an article row to a post file: choose its path once, render, write atomically.

The path is chosen the first time and kept in `articles.post_path`, so a later change of title or template
rewrites the same file rather than leaving a twin. A name already used by another article, or by a file of
another URL (an old archive's post), gets `-2`, `-3`...: two articles never share a file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from scraper.export.files import post_source_url, write_atomic
from scraper.export.jekyll import Post, filename, render
from scraper.store.models import IMPORTED, Article, ArticleStatus, Feed

MAX_NAME_SUFFIX = 1000


def post_of(article: Article, feed_name: str) -> Post:
    published = article.published_at or article.entry_published_at or article.discovered_at
    archived_at = article.archived_at or article.discovered_at
    return Post(
        # The feed's title first: it is what the old archives used, and it carries no " | Site" suffix.
        title=article.entry_title or article.title or article.canonical_url,
        url=article.canonical_url,
        feed_name=feed_name,
        published=published,
        archived_at=archived_at,
        body_html=article.content_html or "",
    )


class PostWriter:
    def __init__(self, export_dir: Path) -> None:
        self.export_dir = export_dir

    def write(self, session: Session, article: Article, feed_name: str) -> tuple[str, bool]:
        """Returns the post's path (relative to the export folder) and whether the file changed."""
        post = post_of(article, feed_name)
        relative = article.post_path or self._free_name(session, article, post)
        return relative, write_atomic(self.export_dir / relative, render(post))

    def _free_name(self, session: Session, article: Article, post: Post) -> str:
        for suffix in range(1, MAX_NAME_SUFFIX):
            name = filename(post, suffix)
            owner = session.scalar(select(Article.id).where(Article.post_path == name))
            if owner is not None and owner != article.id:
                continue
            path = self.export_dir / name
            if path.exists() and post_source_url(path) != post.url:
                continue
            return name
        raise RuntimeError(f"no free file name for {post.url} after {MAX_NAME_SUFFIX} tries")


def export_articles(
    sessions: sessionmaker[Session], writer: PostWriter, article_ids: Iterable[int], *, batch: int = 1
) -> int:
    """Write (or rewrite) the posts of these articles, `batch` to a transaction; returns files changed.

    A backfill writes thousands: a transaction per article would cost more than the writing. A crash in the
    middle of a batch loses nothing: the files written are found again by their `from:` URL, and keep their
    names, when the batch is done again.
    """
    changed_files = 0
    ids = list(article_ids)
    for start in range(0, len(ids), max(batch, 1)):
        with sessions.begin() as session:
            for article_id in ids[start : start + max(batch, 1)]:
                article = session.get_one(Article, article_id)
                feed = session.get(Feed, article.feed_id) if article.feed_id else None
                path, changed = writer.write(session, article, feed.name if feed else site_name(article.url))
                article.post_path = path
                changed_files += changed
    return changed_files


def site_name(url: str) -> str:
    """What a post from no feed (a backfill without --feed) gives as author, tag and category: its site."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def archived_ids(session: Session, *, unwritten_only: bool = False) -> list[int]:
    """Archived articles whose post we write: not those imported from an old archive (their file is kept)."""
    query = select(Article.id).where(Article.status == ArticleStatus.ARCHIVED)
    query = query.where(or_(Article.content_source.is_(None), Article.content_source != IMPORTED))
    if unwritten_only:
        query = query.where(Article.post_path.is_(None))
    return list(session.scalars(query.order_by(Article.id)))
