"""From an article row to a post file: choose its path once, render, write atomically.

The path is chosen the first time and kept in `articles.post_path`, so a later change of title or template
rewrites the same file rather than leaving a twin. A name already used by another article, or by a file of
another URL (an old archive's post), gets `-2`, `-3`...: two articles never share a file.

The name is reserved in the database (the unique `post_path`, flushed) *before* the file is written: a
node choosing the same name for another article at the same moment finds it taken (on PostgreSQL its
flush waits for ours, then fails, and it takes the next suffix), so two nodes never write one file for two
articles. `post_written_at` is set once the file is on disk; until then the post is still to write, by the
node holding the article's lease (the one that archived it), or by any node once that lease is free.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from scraper.export.files import write_atomic
from scraper.export.target import ExportTarget, Post
from scraper.hosts import site_name
from scraper.sanitize import plausible_date
from scraper.store.models import Article, Feed, utcnow
from scraper.store.posts import articles_by_id, mark_written, unwritten_posts

if TYPE_CHECKING:
    from scraper.store.leases import Leases

MAX_NAME_SUFFIX = 1000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReservedPost:
    """A post whose file name is reserved (`articles.post_path`) and whose text is rendered: to write."""

    article_id: int
    path: str  # relative to the export folder
    text: str


def post_of(article: Article, feed_name: str, front_matter: tuple[str, ...] = ()) -> Post:
    """The post of an article; `feed_name` "" (no feed: a backfill without --feed) names its site;
    `front_matter`: the optional keys to add ("revised", "removed", "capture") when the article has them."""
    post = new_post(
        entry_title=article.entry_title,
        title=article.title,
        canonical_url=article.canonical_url,
        url=article.url,
        feed_name=feed_name,
        published=article.published_at or article.entry_published_at,
        discovered_at=article.discovered_at,
        archived_at=article.archived_at,
        body_html=article.content_html,
    )
    if not front_matter:
        return post
    revised = removed = capture = None
    if "revised" in front_matter and article.edits and article.revised_at is not None:
        revised = (article.edits, article.revised_at)
    if "removed" in front_matter and article.removal_confirmed_at is not None:
        removed = article.removal_suspected_at or article.removal_confirmed_at
    page = article.page if "capture" in front_matter else None  # loaded only when asked for
    if page is not None and page.warc_file is not None and page.warc_offset is not None:
        capture = (page.warc_file, page.warc_offset)
    if revised or removed or capture:
        return replace(post, revised=revised, removed=removed, capture=capture)
    return post


def new_post(
    *,
    entry_title: str | None,
    title: str | None,
    canonical_url: str,
    url: str,
    feed_name: str,
    published: datetime | None,
    discovered_at: datetime,
    archived_at: datetime | None,
    body_html: str | None,
) -> Post:
    """The post of an article's fields (the row's, or those about to be written)."""
    return Post(
        # The feed's title first: it is what the old archives used, and it carries no " | Site" suffix.
        title=entry_title or title or canonical_url,
        url=canonical_url,
        feed_name=feed_name or site_name(url),  # a backfill without --feed: its site
        # A date no source can be believed for (year 100, 1969, next year) never names a post.
        published=plausible_date(published, max(discovered_at, archived_at or discovered_at))
        or discovered_at,
        archived_at=archived_at or discovered_at,
        body_html=body_html or "",
    )


class PostWriter:
    """Writes posts as the export target renders and names them. Thread-safe: the daemon writes from worker
    threads."""

    def __init__(self, export_dir: Path, target: ExportTarget, front_matter: tuple[str, ...] = ()) -> None:
        self.export_dir = export_dir
        self.target = target
        self.front_matter = front_matter
        self._written: list[int] = []  # posts written whose articles are not marked so yet
        self._lock = threading.Lock()
        # Why the last post could not be written (None once one is): for the health check, the run's end.
        self.failure: str | None = None

    def write(self, session: Session, article: Article, feed_name: str) -> tuple[str, bool]:
        """Returns the post's path (relative to the export folder) and whether the file changed."""
        post = post_of(article, feed_name, self.front_matter)
        relative = article.post_path or self.reserve(session, article, post)
        return relative, write_atomic(self.export_dir / relative, self.target.render(post))

    def write_reserved(self, leases: Leases, post: ReservedPost) -> int:
        """Write a post reserved by `reserved`; returns 1 if the file changed. The article is marked
        written (and its lease released) with the next batch (`flush`): a crash before that only means the
        same bytes are written again by the node that claims it next. A file that cannot be written is
        logged, and its lease left to expire: the post is written by whichever node claims it then."""
        try:
            changed = write_atomic(self.export_dir / post.path, post.text)
        except OSError as exc:
            self._failed(post.path, exc)
            leases.forget("article", [post.article_id])
            return 0
        self.failure = None
        with self._lock:
            self._written.append(post.article_id)
            due = len(self._written) >= WRITTEN_BATCH
        if due:
            self.flush(leases)
        return int(changed)

    def flush(self, leases: Leases) -> None:
        """Mark the posts written so far as written, and release their articles' leases."""
        with self._lock:
            ids, self._written = self._written, []
        if not ids:
            return
        try:
            with leases.writes.begin() as connection:
                mark_written(connection, leases, ids)
        except BaseException:
            # Not marked: their leases are left to expire (no longer renewed), and then whichever node
            # claims them writes the same bytes again and marks them.
            leases.forget("article", ids)
            raise

    def write_claimed(self, leases: Leases, article_ids: Iterable[int]) -> int:
        """Write the posts of these articles, claimed through `leases`, mark them written and release the
        claims; returns the files changed. The names are reserved and committed first: on PostgreSQL a
        transaction per article, so two nodes reserving crossing names never wait on each other (a
        deadlock); on SQLite, one writer, all in one. A post whose claim was lost meanwhile is left to the
        node that has it now."""
        ids = list(article_ids)
        group = 1 if leases.engine.dialect.name == "postgresql" else max(1, len(ids))
        todo: list[tuple[int, str, str]] = []
        for start in range(0, len(ids), group):
            with leases.sessions.begin() as session:
                for article_id in ids[start : start + group]:
                    article = leases.guard(session, "article", article_id)
                    if article is None:
                        leases.discard("article", article_id, f"post of article {article_id}")
                        continue
                    feed = session.get(Feed, article.feed_id) if article.feed_id else None
                    post = post_of(article, feed.name if feed else "", self.front_matter)
                    relative = article.post_path or self.reserve(session, article, post)
                    todo.append((article_id, relative, self.target.render(post)))
        changed, written = 0, []
        try:
            for article_id, relative, text in todo:
                try:
                    changed += write_atomic(self.export_dir / relative, text)
                except OSError as exc:  # the folder unwritable, the disk full: the post waits, no data lost
                    self._failed(relative, exc)
                    continue
                self.failure = None
                written.append(article_id)
        finally:
            if written:
                with leases.sessions.begin() as session:
                    mark_written(session, leases, written)
            # A post not written (the disk full, say): its lease is left to expire, and the post is
            # written then by whichever node claims it (this one included).
            done = set(written)
            leases.forget("article", [article_id for article_id, _, _ in todo if article_id not in done])
        return changed

    def _failed(self, relative: str, exc: OSError) -> None:
        self.failure = f"{exc.strerror or type(exc).__name__}: {exc.filename or self.export_dir / relative}"
        log.error("post %s not written (it waits until the folder takes it): %s", relative, exc)

    def reserve(self, session: Session, article: Article, post: Post) -> str:
        """Choose the post's file name and claim it in the database (flushed: unique across nodes)."""
        taken: set[str] = set()
        while True:
            name = self.free_name(post, taken)
            try:
                with session.begin_nested():
                    article.post_path = name
                    session.flush()
            except IntegrityError:  # another article has it (or another node reserved it a moment ago)
                taken.add(name)
                continue
            return name

    def reserved(self, post: Post, path: str | None, article_id: int, taken: set[str]) -> ReservedPost:
        """The post to write at `path` (kept from before), else at a free name not in `taken`: the caller
        reserves it (`articles.post_path`, unique) in the transaction that archives the article."""
        return ReservedPost(article_id, path or self.free_name(post, taken), self.target.render(post))

    def free_name(self, post: Post, taken: set[str]) -> str:
        """The first of the post's names (`-2`, `-3`...) not in `taken` whose file is not another URL's
        post (an old archive's). Another article reserving it first is found by the unique index."""
        for suffix in range(1, MAX_NAME_SUFFIX):
            name = self.target.filename(post, suffix)
            if name in taken:
                continue
            path = self.export_dir / name
            if path.exists() and self.target.source_url(path) != post.url:
                continue
            return name
        # A thousand posts of one title on one day: the URL's own name, unique to it.
        name = self.target.filename(post, suffix=1, tag=hashlib.sha256(post.url.encode()).hexdigest()[:12])
        if name not in taken:
            path = self.export_dir / name
            if not path.exists() or self.target.source_url(path) == post.url:
                return name
        raise RuntimeError(f"no free file name for {post.url} after {MAX_NAME_SUFFIX} tries")


def export_articles(
    sessions: sessionmaker[Session], writer: PostWriter, article_ids: Iterable[int], *, batch: int = 500
) -> int:
    """Write (or rewrite) the posts of these articles, `batch` to a transaction; returns files changed.

    A rewrite of the whole archive writes a million: each batch's articles are read in one query and its
    feeds once, and memory holds one batch. A crash in the middle of a batch loses nothing: the files
    written are found again by their `from:` URL, and keep their names, when the batch is done again.
    """
    changed_files = 0
    feed_names: dict[int, str] = {}
    ids = iter(article_ids)
    while chunk := list(islice(ids, max(batch, 1))):
        with sessions.begin() as session:
            for article in articles_by_id(session, chunk):
                if article.feed_id is not None and article.feed_id not in feed_names:
                    feed = session.get(Feed, article.feed_id)
                    feed_names[article.feed_id] = feed.name if feed else ""
                path, changed = writer.write(session, article, feed_names.get(article.feed_id or 0, ""))
                article.post_path = path
                article.post_written_at = article.post_written_at or utcnow()
                changed_files += changed
    return changed_files


EXPORT_BATCH = 50  # posts claimed at a time
WRITTEN_BATCH = 64  # posts marked written together


def export_unwritten(
    leases: Leases, writer: PostWriter, *, limit: int | None = None, mine: bool = True
) -> int:
    """Write the posts of archived articles that have none yet, a batch at a time, at most `limit` posts;
    returns the files changed. Those this node archived and holds (their posts are normally written at
    once, after the archiving; `mine=False` leaves them to the caller's tasks, as the daemon does), then
    the others whose lease is free: their node died, or stopped before writing the post, or they were
    archived by an older version. Found through an index on (status, post_written_at)."""
    writer.flush(leases)  # posts written a moment ago are done: not claimed again
    kinds = [True, False] if mine else [False]
    tried: list[int] = []
    changed = 0
    for only_mine in kinds:
        while limit is None or len(tried) < limit:
            batch = EXPORT_BATCH if limit is None else min(EXPORT_BATCH, limit - len(tried))
            conditions = unwritten_posts()
            if only_mine:
                conditions.append(Article.lease_owner == leases.node_id)
            if tried:  # one whose write failed is not claimed again in this call
                conditions.append(Article.id.not_in(tried))
            rows = leases.claim(
                "article",
                conditions,
                order_by=[Article.id],
                limit=batch,
                or_mine=only_mine,
                columns=[Article.id],
            )
            if not rows:
                break
            ids = [row.id for row in rows]
            tried.extend(ids)
            changed += writer.write_claimed(leases, ids)
            if len(rows) < batch:
                break
    return changed
