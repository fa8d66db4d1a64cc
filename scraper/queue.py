"""Queue: every new feed entry becomes an article row before any page is fetched.

That ordering is what makes "nothing seen is lost" hold: once a poll is committed, a crash at any later
moment leaves pending rows that the next run picks up. Dedupe is by (feed, GUID) and by canonical URL, so
the same story in one feed twice, in two feeds, or already imported from an old archive, is archived once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scraper.poll import FeedEntry
from scraper.store import articles as article_rows
from scraper.store.models import Article, ArticleStatus
from scraper.urls import canonical_url


@dataclass(frozen=True)
class QueueResult:
    new_ids: tuple[int, ...]
    duplicates: int
    skipped: tuple[str, ...]  # why entries could not be queued (no link, ...)


def enqueue_entries(
    session: Session, feed_id: int | None, entries: Iterable[FeedEntry], now: datetime
) -> QueueResult:
    """Insert the entries not seen before; the caller commits. `feed_id` None: articles under no feed."""
    candidates: dict[str, tuple[str, FeedEntry]] = {}
    batch_guids: set[str] = set()
    skipped: list[str] = []
    duplicates = 0
    for entry in entries:
        if not entry.link:
            skipped.append(f"entry {entry.guid or entry.title or '?'!r} has no link")
            continue
        key = canonical_url(entry.link)
        guid = entry.guid or entry.link
        if key in candidates or guid in batch_guids:
            duplicates += 1
            continue
        candidates[key] = (guid, entry)
        batch_guids.add(guid)
    if not candidates:
        return QueueResult((), duplicates, tuple(skipped))

    known_urls, known_guids = _known(session, feed_id, candidates)
    fresh = []
    for key, (guid, entry) in candidates.items():
        if key in known_urls or guid in known_guids:
            duplicates += 1
        else:
            fresh.append((key, guid, entry))
    try:  # all at once: one flush for a backfill's thousands of URLs
        with session.begin_nested():
            articles = [_article(feed_id, key, guid, entry, now) for key, guid, entry in fresh]
            session.add_all(articles)
            session.flush()
        new_ids = [article.id for article in articles]
    except IntegrityError:  # another node queued some a moment ago: one at a time, skipping those
        new_ids = []
        for key, guid, entry in fresh:
            article = _article(feed_id, key, guid, entry, now)
            try:
                with session.begin_nested():
                    session.add(article)
                    session.flush()
            except IntegrityError:
                duplicates += 1
                continue
            new_ids.append(article.id)
    return QueueResult(tuple(new_ids), duplicates, tuple(skipped))


def _article(feed_id: int | None, key: str, guid: str, entry: FeedEntry, now: datetime) -> Article:
    return Article(
        feed_id=feed_id,
        guid=guid,
        url=entry.link or key,
        canonical_url=key,
        status=ArticleStatus.PENDING,
        next_attempt_at=now,
        entry_title=entry.title,
        entry_author=entry.author,
        entry_published_at=entry.published,
        entry_content=entry.content_html or entry.summary,
        discovered_at=now,
    )


def _known(
    session: Session, feed_id: int | None, candidates: dict[str, tuple[str, FeedEntry]]
) -> tuple[set[str], set[str]]:
    keys = list(candidates)
    guids = [guid for guid, _ in candidates.values()]
    known_urls: set[str] = set()
    known_guids: set[str] = set()
    # Chunked to stay under SQLite's bound-parameter limit on huge feeds.
    for start in range(0, len(keys), 400):
        chunk_keys, chunk_guids = keys[start : start + 400], guids[start : start + 400]
        rows = article_rows.known_keys(session, feed_id, chunk_keys, chunk_guids)
        for url, guid, row_feed in rows:
            known_urls.add(url)
            if row_feed == feed_id and guid:
                known_guids.add(guid)
    return known_urls, known_guids
