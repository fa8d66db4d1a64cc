"""Which rows are work due now: pending articles whose attempt has come, archived ones due for a revisit,
archived ones whose post is not written. The one definition of each condition (scraper.store.articles,
scraper.store.revisits and scraper.store.posts use them), in Core columns.

`nothing_due` asks all three at once, for a cron run that has polled its feeds: when it answers True the
run has no article to claim, no revisit, no post to write, and ends without building the archive and
export stages (or importing the ORM they use).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, or_, select

from scraper.store.nodes import Transaction
from scraper.store.posts import unwritten_posts
from scraper.store.tables import ArticleStatus, articles

ARTICLE = articles.c


def pending_and_due(now: datetime) -> list[ColumnElement[bool]]:
    """Pending articles whose next attempt has come."""
    return [
        ARTICLE.status == ArticleStatus.PENDING,
        or_(ARTICLE.next_attempt_at.is_(None), ARTICLE.next_attempt_at <= now),
    ]


def claimable(
    now: datetime, left_out_hosts: Sequence[str] = (), exclude_ids: Collection[int] = ()
) -> list[ColumnElement[bool]]:
    """Pending and due, not on these hosts (the claimer holds enough of them), not these ids."""
    where = pending_and_due(now)
    if left_out_hosts:
        where.append(or_(ARTICLE.host.is_(None), ARTICLE.host.not_in(left_out_hosts)))
    if exclude_ids:
        where.append(ARTICLE.id.not_in(sorted(exclude_ids)))
    return where


def due_count(session: Transaction, now: datetime) -> int:
    """Pending articles due by `now`."""
    return session.scalar(select(func.count()).select_from(articles).where(*pending_and_due(now))) or 0


def revisit_due(now: datetime, left_out_hosts: Sequence[str] = ()) -> list[ColumnElement[bool]]:
    """Archived (from its page or its feed's body), with its post written (the lease free of the export),
    revisit time come."""
    where = [
        ARTICLE.status == ArticleStatus.ARCHIVED,
        ARTICLE.revisit_at <= now,
        ARTICLE.content_source.in_(("page", "feed")),  # a feed's body: its page is watched all the same
        ARTICLE.post_written_at.is_not(None),
    ]
    if left_out_hosts:
        where.append(or_(ARTICLE.host.is_(None), ARTICLE.host.not_in(left_out_hosts)))
    return where


def nothing_due(transaction: Transaction, now: datetime) -> bool:
    """No pending article due by `now`, no revisit due, no post to write: whoever holds their leases (a
    row another node holds counts as due: the caller then builds its stages and finds it taken, which is
    only slower). Three EXISTS probes, each answered by an index on (status, ...)."""
    for where in (pending_and_due(now), revisit_due(now), unwritten_posts()):
        if transaction.scalar(select(exists().where(*where))):
            return False
    return True
