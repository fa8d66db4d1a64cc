"""Queue: every new feed entry becomes an article row before any page is fetched.

That ordering is what makes "nothing seen is lost" hold: once a poll is committed, a crash at any later
moment leaves pending rows that the next run picks up. Dedupe is by (feed, GUID) and by canonical URL, so
the same story in one feed twice, in two feeds, or already imported from an old archive, is archived once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scraper.poll import FeedEntry
from scraper.sanitize import (
    MAX_URL_CHARS,
    RefusedValueError,
    checked_url,
    fitting_guid,
    plausible_date,
    storable_text,
)
from scraper.store import articles as article_rows
from scraper.store.models import ArticleStatus
from scraper.urls import canonical_url


@dataclass(frozen=True)
class QueueResult:
    new_ids: tuple[int, ...]
    duplicates: int
    skipped: tuple[str, ...]  # why entries could not be queued (no link, ...)


def enqueue_entries(
    session: Session,
    feed_id: int | None,
    entries: Iterable[FeedEntry],
    now: datetime,
    *,
    allow_file: bool = False,
) -> QueueResult:
    """Insert the entries not seen before; the caller commits. `feed_id` None: articles under no feed.

    Each entry is checked first (scraper.sanitize): one whose link cannot be archived is skipped with
    its reason, the others go on. `allow_file`: the entries come from a local file the config names, so
    their `file:` links may be read; from anywhere else a `file:` link is refused.
    """
    new_ids: list[int] = []
    skipped: list[str] = []
    duplicates = 0
    candidates: dict[str, tuple[str, FeedEntry]] = {}
    for raw in entries:
        checked = checked_entry(raw, now, allow_file=allow_file)
        if isinstance(checked, str):
            skipped.append(checked)
            continue
        entry, key = checked
        if key in candidates:
            duplicates += 1
            continue
        candidates[key] = (entry.guid or link_of(entry), entry)
        if len(candidates) >= QUEUE_CHUNK:
            duplicates += _insert_new(session, feed_id, _by_link_where_shared(candidates), now, new_ids)
            candidates = {}
    if candidates:
        duplicates += _insert_new(session, feed_id, _by_link_where_shared(candidates), now, new_ids)
    return QueueResult(tuple(new_ids), duplicates, tuple(skipped))


def _by_link_where_shared(
    candidates: dict[str, tuple[str, FeedEntry]],
) -> dict[str, tuple[str, FeedEntry]]:
    """The candidates (by canonical URL), each entry whose GUID another entry of a different link has
    too given its link as its GUID. One "GUID" on items of different links in one document identifies
    none of them (a CMS that gives every item the site's address): read as a GUID, all but the first
    were lost, in this poll and every later one. Repeated until no two share one, as an entry's link can
    be another's GUID; each round gives at least one entry its own link, so it ends."""
    while True:
        holders = Counter(guid for guid, _ in candidates.values())
        if len(holders) == len(candidates):
            return candidates
        candidates = {
            key: ((fitting_guid(key) or key, entry) if holders[guid] > 1 else (guid, entry))
            for key, (guid, entry) in candidates.items()
        }


# Entries inserted per flush: a huge feed or backfill list is queued a chunk at a time, each chunk's rows
# let go once flushed, so memory stays bounded (the rows flushed before are found as known by the next).
QUEUE_CHUNK = 1000


def _insert_new(
    session: Session,
    feed_id: int | None,
    candidates: dict[str, tuple[str, FeedEntry]],
    now: datetime,
    new_ids: list[int],
) -> int:
    """Insert the candidates not known yet, adding their ids to `new_ids`; returns the duplicates."""
    duplicates = 0
    known_urls, known_guids = _known(session, feed_id, candidates)
    fresh = []
    for key, (guid, entry) in candidates.items():
        if key in known_urls or guid in known_guids:
            duplicates += 1
        else:
            fresh.append((key, guid, entry))
    try:  # all at once: one statement for a chunk of a backfill's thousands of URLs
        with session.begin_nested():
            rows = [_article(feed_id, key, guid, entry, now) for key, guid, entry in fresh]
            new_ids.extend(article_rows.insert_returning_ids(session, rows))
    except IntegrityError:  # another node queued some a moment ago: one at a time, skipping those
        for key, guid, entry in fresh:
            try:
                with session.begin_nested():
                    ids = article_rows.insert_returning_ids(
                        session, [_article(feed_id, key, guid, entry, now)]
                    )
            except IntegrityError:
                duplicates += 1
                continue
            new_ids.extend(ids)
    return duplicates


def checked_entry(
    entry: FeedEntry, now: datetime, *, allow_file: bool = False
) -> tuple[FeedEntry, str] | str:
    """The entry as it may be stored, and its canonical URL; or why it cannot be queued."""
    name = _shown(entry)
    if not entry.link:
        return f"entry {name} has no link"
    try:
        link = checked_url(entry.link, allow_file=allow_file)
        key = canonical_url(link)
        if len(key) > MAX_URL_CHARS:
            raise RefusedValueError(f"canonical URL longer than {MAX_URL_CHARS} characters")
    except ValueError as exc:  # RefusedValueError, or a form urllib refuses
        return f"entry {name}: {exc}"
    clean = FeedEntry(
        guid=fitting_guid(entry.guid),
        link=link,
        title=storable_text(entry.title),
        author=storable_text(entry.author),
        published=plausible_date(entry.published, now),
        content_html=storable_text(entry.content_html),
        summary=storable_text(entry.summary),
    )
    return clean, key


def link_of(entry: FeedEntry) -> str:
    assert entry.link is not None  # a checked entry has its link
    return entry.link


def _shown(entry: FeedEntry) -> str:
    name = entry.guid or entry.title or entry.link or "?"
    return repr(name if len(name) <= 120 else name[:120] + "…")


def _article(feed_id: int | None, key: str, guid: str, entry: FeedEntry, now: datetime) -> dict[str, Any]:
    """A new article row's values (the rest are the columns' defaults: its host, no attempt yet)."""
    return {
        "feed_id": feed_id,
        "guid": guid,
        "url": entry.link or key,
        "canonical_url": key,
        "status": ArticleStatus.PENDING,
        "next_attempt_at": now,
        "entry_title": entry.title,
        "entry_author": entry.author,
        "entry_published_at": entry.published,
        "entry_content": entry.content_html or entry.summary,
        "discovered_at": now,
    }


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
