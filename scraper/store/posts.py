"""The posts table's worth of the articles: which archived articles have a post to write, and marking
posts written. The export stage (scraper.export.writer) asks these; it writes no SQL itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.engine import Connection

from scraper.store.leases import Leases
from scraper.store.nodes import Transaction
from scraper.store.tables import IMPORTED, ArticleStatus, articles

if TYPE_CHECKING:  # the queries are Core (a cron run asks `posts_waiting`); only articles_by_id maps rows
    from sqlalchemy.orm import Session

    from scraper.store.models import Article as MappedArticle

Article = articles.c


def mark_written(session: Transaction, leases: Leases, article_ids: list[int]) -> None:
    """The posts of these articles are on disk: marked written, leases released (only while ours: if
    another node has one now, it writes the post again, the same bytes, and marks it). Core: the daemon
    marks a batch every few articles, on a connection (an ORM session there cost more than the UPDATE)."""
    ids = sorted(article_ids)
    for start in range(0, len(ids), 500):
        session.execute(
            update(articles)
            .where(Article.id.in_(_mine_locked(leases, ids[start : start + 500])))
            .values(post_written_at=leases.now(), lease_owner=None, lease_expires_at=None)
        )
    leases.forget("article", ids)


def _mine_locked(leases: Leases, ids: list[int]) -> Select[tuple[int]]:
    """Those of these articles still leased to this node, locked in id order as they are read (as
    Leases.lock_mine takes them: no deadlock with the heartbeat), as a sub-select of the statement that
    marks them: one statement and one round trip, not a read of the ids and then a write."""
    return (
        select(Article.id)
        .where(Article.id.in_(ids), Article.lease_owner == leases.node_id)
        .order_by(Article.id)
        .with_for_update()
    )


def articles_by_id(session: Session, ids: list[int]) -> list[MappedArticle]:
    """These articles, in id order, read in one query (ids missing from the table are left out)."""
    from scraper.store.models import Article as Mapped

    return list(session.scalars(select(Mapped).where(Mapped.id.in_(ids)).order_by(Mapped.id)))


def archived_ids(
    session: Session, *, unwritten_only: bool = False, unclaimed_only: bool = False
) -> list[int]:
    """Archived articles whose post we write: not those imported from an old archive (their file is kept).
    `unclaimed_only`: not those a node is working on (archiving, or writing the post of)."""
    query = select(Article.id).where(*(unwritten_posts() if unwritten_only else ours()))
    if unclaimed_only:
        query = query.where(Article.lease_owner.is_(None))
    return list(session.scalars(query.order_by(Article.id)))


def archived_ids_after(session: Session, after: int, limit: int) -> list[int]:
    """The next `limit` ids of archived articles whose post we write, after id `after`: a rewrite of the
    whole archive walks them a window at a time (by the primary key), never holding them all."""
    query = select(Article.id).where(*ours(), Article.id > after).order_by(Article.id).limit(limit)
    return list(session.scalars(query))


def count_ours(session: Session) -> int:
    """How many posts a rewrite of the whole archive writes (a progress bar's total)."""
    return int(session.scalar(select(func.count()).select_from(articles).where(*ours())) or 0)


def ours() -> list[ColumnElement[bool]]:
    """Archived articles whose post this program writes (not those imported from an old archive)."""
    return [
        Article.status == ArticleStatus.ARCHIVED,
        or_(Article.content_source.is_(None), Article.content_source != IMPORTED),
    ]


def unwritten_posts() -> list[ColumnElement[bool]]:
    """Of those, the ones whose post is not written yet."""
    return [*ours(), Article.post_written_at.is_(None)]


def posts_waiting(connection: Connection) -> int:
    """Archived articles whose post is not on disk yet (normally only for a moment)."""
    query = select(func.count()).select_from(articles).where(*unwritten_posts())
    return int(connection.scalar(query) or 0)
