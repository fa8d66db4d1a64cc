"""What every backfill source shares: a found URL, the filters, the queue, and the journal of documents read.

A source (sitemap, feed history, URL list) only *finds* article URLs. They go into the same queue the feeds
fill (pending article rows, deduplicated by canonical URL and by (feed, GUID)), so an article already
archived, imported, or seen in an old archive is never fetched again, and the ordinary archive path
(fetch, extract, store, export) does the rest.

The journal (`backfill_documents`) records the sitemaps and feed pages a source has read, in the same
transaction that queues their URLs: after a crash or Ctrl-C, a rerun skips what was read and continues.
A document is claimed in the journal before it is read (`claim_document`, a lease as for articles): two
backfills of one site on two nodes share its sitemaps, each read by one of them.
"""

from __future__ import annotations

import hashlib
import re
from calendar import monthrange
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scraper.poll import FeedEntry
from scraper.queue import enqueue_entries
from scraper.store.documents import journal_entry
from scraper.store.models import BackfillDocument

if TYPE_CHECKING:
    from scraper.store.leases import Leases


@dataclass(frozen=True)
class Found:
    """An article URL a source found, with what the source said about it."""

    url: str
    title: str | None = None
    published: datetime | None = None  # a news sitemap's publication date, a feed entry's date
    lastmod: datetime | None = None  # a sitemap's <lastmod>
    guid: str | None = None
    author: str | None = None
    content: str | None = None  # a feed entry's own content (for feeds with content = "feed")
    summary: str | None = None

    def entry(self) -> FeedEntry:
        published = self.published or url_day(self.url)
        return FeedEntry(
            guid=self.guid or self.url,
            link=self.url,
            title=self.title,
            author=self.author,
            published=published,
            content_html=self.content,
            summary=self.summary,
        )


@dataclass(frozen=True)
class Filters:
    """`--since`, `--until` (aware datetimes; `until` exclusive) and `--match` (searched in the URL).

    The date of a URL is its publication date if the source gave one, else its `<lastmod>`, else the date
    in the URL itself (`/2021/09/29/`, `2021-09-29`, `story20210929`; `/2021/09/` counts as that month).
    A URL with no date at all passes the date filters: nothing is dropped for lack of information.
    """

    since: datetime | None = None
    until: datetime | None = None
    match: re.Pattern[str] | None = None

    def accepts(self, found: Found) -> bool:
        if self.match is not None and not self.match.search(found.url):
            return False
        span = _span(found)
        if span is None:
            return True
        start, end = span
        return (self.since is None or end >= self.since) and (self.until is None or start < self.until)

    def older_than_since(self, found: Found) -> bool:
        """Whether the URL is dated, and dated before `--since` (a history walk stops at such pages)."""
        span = _span(found)
        return self.since is not None and span is not None and span[1] < self.since

    def fingerprint(self, feed_id: int | None) -> str:
        """Tells the journal whether a document was read under the same filters (else it is read again)."""
        key = "|".join(
            (
                self.since.isoformat() if self.since else "",
                self.until.isoformat() if self.until else "",
                self.match.pattern if self.match else "",
                str(feed_id or ""),
            )
        )
        return hashlib.sha256(key.encode()).hexdigest()[:16]


def _span(found: Found) -> tuple[datetime, datetime] | None:
    when = found.published or found.lastmod
    return (when, when) if when is not None else url_dates(found.url)


_DAY_PATTERNS = (
    re.compile(r"(?<!\d)((?:19|20)\d\d)[/_-](0[1-9]|1[0-2])[/_-](0[1-9]|[12]\d|3[01])(?!\d)"),
    re.compile(r"(?<!\d)((?:19|20)\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)"),
)
_MONTH_PATTERN = re.compile(r"/((?:19|20)\d\d)/(0[1-9]|1[0-2])(?:/|$)")


def url_dates(url: str) -> tuple[datetime, datetime] | None:
    """The time span a URL's path names: a day, or a month; None when it names none."""
    path = re.sub(r"^[a-z]+://[^/]*", "", url, flags=re.I)
    for pattern in _DAY_PATTERNS:
        match = pattern.search(path)
        if match:
            try:
                day = date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                continue
            start = datetime.combine(day, time(), UTC)
            return start, start + timedelta(days=1) - timedelta(microseconds=1)
    match = _MONTH_PATTERN.search(path)
    if match:
        year, month = int(match[1]), int(match[2])
        start = datetime(year, month, 1, tzinfo=UTC)
        return start, start + timedelta(days=monthrange(year, month)[1]) - timedelta(microseconds=1)
    return None


def url_day(url: str) -> datetime | None:
    """The day a URL names (not a month): a fallback publication date for a page that gives none."""
    span = url_dates(url)
    if span is None or span[1] - span[0] > timedelta(days=1):
        return None
    return span[0]


def parse_w3c_datetime(text: str | None) -> datetime | None:
    """A sitemap W3C datetime (`2021-09-29`, `2021-09-29T14:34+08:00`...) as aware UTC, or None."""
    if not text or not text.strip():
        return None
    value = text.strip()
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        try:
            when = datetime.fromisoformat(value[:10])
        except ValueError:
            return None
    try:
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, 9999 west of it: one URL's date stopped the backfill
        return None


# --- the queue and the journal ------------------------------------------------------------------------------


@dataclass
class SourceReport:
    """What one source did; the command prints it, and an error makes the exit status 1."""

    name: str
    documents_read: int = 0
    documents_skipped: int = 0  # read by an earlier run (the journal), or older than --since: not fetched
    found: int = 0
    filtered_out: int = 0
    queued: int = 0
    known: int = 0  # already queued, archived, imported or seen
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.name}: read {self.documents_read} documents ({self.documents_skipped} skipped); "
            f"found {self.found} URLs, {self.filtered_out} filtered out, {self.queued} queued, "
            f"{self.known} already known"
        )


def queue_found(
    session: Session,
    feed_id: int | None,
    found: Sequence[Found],
    filters: Filters,
    report: SourceReport,
    *,
    allow_file: bool = False,
) -> None:
    """Queue the URLs the filters accept as pending articles; the caller commits. `allow_file`: they
    come from a local file the config names (from anywhere else a `file:` URL is refused, with why)."""
    report.found += len(found)
    accepted = [item for item in found if filters.accepts(item)]
    report.filtered_out += len(found) - len(accepted)
    if not accepted:
        return
    result = enqueue_entries(
        session, feed_id, [item.entry() for item in accepted], datetime.now(UTC), allow_file=allow_file
    )
    report.queued += len(result.new_ids)
    report.known += result.duplicates
    report.errors.extend(result.skipped)


def already_read(
    session: Session, url: str, params: str, lastmod: str | None = None, *, check_lastmod: bool = False
) -> BackfillDocument | None:
    """The journal entry of a document read under the same filters (and the same lastmod, if asked)."""
    entry = journal_entry(session, url)
    if entry is None or entry.done_at is None or entry.params != params:
        return None
    if check_lastmod and entry.lastmod != lastmod:
        return None
    return entry


def claim_document(leases: Leases, url: str, kind: str, params: str) -> int | None:
    """Claim a document before reading it; its journal id, or None when another node is reading it."""
    with leases.sessions.begin() as session:
        entry = journal_entry(session, url, lock=True)
        if entry is None:
            entry = BackfillDocument(url=url, kind=kind, params=params, urls_found=0, done_at=None)
            try:
                with session.begin_nested():
                    session.add(entry)
                    session.flush()
            except IntegrityError:  # another node put it in the journal a moment ago: it is reading it
                return None
        return entry.id if leases.claim_one(session, "document", entry.id) else None


def mark_read(
    session: Session,
    url: str,
    kind: str,
    params: str,
    *,
    lastmod: str | None = None,
    next_url: str | None = None,
    urls_found: int = 0,
    leases: Leases | None = None,
) -> None:
    """Journal the document as read (in the transaction that queued its URLs), releasing its claim. If the
    claim was lost, the node that has it now journals it (the URLs queued here stand: they are deduped)."""
    if leases is not None:
        claimed = journal_entry(session, url)
        if claimed is None or leases.guard(session, "document", claimed.id) is None:
            if claimed is not None:
                leases.discard("document", claimed.id, f"backfill document {url}")
            return
        claimed.lease_owner, claimed.lease_expires_at = None, None
        leases.forget("document", [claimed.id])
    entry = journal_entry(session, url) or BackfillDocument(url=url)
    entry.kind, entry.params, entry.lastmod, entry.next_url = kind, params, lastmod, next_url
    entry.urls_found = urls_found
    entry.done_at = datetime.now(UTC)
    session.add(entry)


def parse_day_or_time(text: str, *, end_of_day: bool = False) -> datetime:
    """`--since`/`--until`: an ISO date or date-time (naive is UTC). A bare date as `--until` means the end
    of that day, so `--since 2021-09-01 --until 2021-09-30` is all of September. Raises ValueError."""
    value = datetime.fromisoformat(text.strip())
    try:
        when = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if end_of_day and len(text.strip()) == 10:
            when += timedelta(days=1)
    except OverflowError:  # year 1 east of UTC, the end of 9999-12-31: no datetime holds it
        raise ValueError(f"{text!r} is past the dates an archive holds") from None
    return when
