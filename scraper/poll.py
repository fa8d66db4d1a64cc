"""Poll a feed: a conditional GET, then feedparser over the bytes.

The poller only reads; what the entries become is the queue's business. A feed that parses with warnings
(feedparser's "bozo") still gives whatever entries it holds: a salvaged entry is better than a lost one.
"""

from __future__ import annotations

import asyncio
import calendar
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import urljoin

from scraper.charset import decode
from scraper.errors import FeedError, feed_status_is_transient, status_text
from scraper.fetch import Fetcher, RequestPolicy
from scraper.sanitize import (
    MAX_ETAG_CHARS,
    MAX_LAST_MODIFIED_CHARS,
    clamped_int,
    defuse_char_refs,
    names_that_day,
    one_line,
    storable_text,
    validator,
)
from scraper.schedule import DAY_NAMES, cache_lifetime, retry_after_note
from scraper.urls import unmangled_file_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedEntry:
    guid: str | None
    link: str | None
    title: str | None
    author: str | None
    published: datetime | None
    content_html: str | None  # the feed's full content (content:encoded, Atom content), if any
    summary: str | None


@dataclass(frozen=True)
class PollResult:
    status: int
    final_url: str
    etag: str | None = None
    last_modified: str | None = None
    entries: tuple[FeedEntry, ...] = ()
    ttl_minutes: int | None = None
    warning: str | None = None  # the feed parsed, but not cleanly
    max_age: float | None = None  # seconds the answer stays fresh (Cache-Control max-age / Expires)
    skip_hours: frozenset[int] | None = None  # None: not known (a 304 does not repeat them)
    skip_days: frozenset[int] | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


async def poll_feed(
    fetcher: Fetcher,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    policy: RequestPolicy | None = None,
) -> PollResult:
    """Fetch and parse one feed. Raises FeedError (and fetch.FetchError) when nothing usable came back.

    Only 404 and 410, a refused address and an unusable body are permanent; other 4xx (401, 403: often a
    bot wall that lifts) and every 5xx are transient, so the schedule retries them with backoff.
    """
    headers: dict[str, str] = {
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    response = await fetcher.get(url, headers, allow_file=url.startswith("file:"), policy=policy)
    max_age = cache_lifetime(response.headers, datetime.now(UTC))
    if response.status == 304:
        return PollResult(304, response.final_url, etag, last_modified, max_age=max_age)
    if not response.ok:
        raise FeedError(
            status_text(response.status)
            + retry_after_note(response.status, response.headers, response.retry_after),
            status=response.status,
            transient=feed_status_is_transient(response.status),
            retry_after=response.retry_after,
        )
    # Parsing a big feed takes seconds of CPU: off the event loop, where other feeds are being fetched.
    entries, ttl, warning = await asyncio.to_thread(
        parse_feed, response.content, response.final_url, response.content_type
    )
    hours, days = parse_skips(response.content)
    etag = validator(response.headers.get("etag"), MAX_ETAG_CHARS)
    modified = validator(response.headers.get("last-modified"), MAX_LAST_MODIFIED_CHARS)
    notes = [warning] if warning else []
    for name, kept in (("ETag", etag), ("Last-Modified", modified)):
        sent = response.headers.get(name.lower())
        if sent is not None and kept is None:  # no conditional polls: said, so status shows why
            notes.append(f"{name} not kept: {sent[:40]!r}")
    return PollResult(
        response.status,
        response.final_url,
        etag,
        modified,
        entries,
        ttl,
        "; ".join(notes) or None,
        max_age=max_age,
        skip_hours=hours,
        skip_days=days,
    )


def parse_feed(
    body: bytes, url: str, content_type: str | None = None
) -> tuple[tuple[FeedEntry, ...], int | None, str | None]:
    """The entries, the feed's <ttl> in minutes, and a warning if the feed was not well-formed.

    The bytes are decoded here (scraper.charset: header, BOM, declaration, detection) and handed to
    feedparser as UTF-8: feedparser alone reads an unlabelled or mislabelled GBK feed as Latin-1, and
    follows RFC 3023 in taking `text/xml` without a charset for ASCII.
    """
    if not body.strip():
        raise FeedError("empty body", transient=True)
    data = parser_input(body, content_type)
    data, dropped = _first_entries(data, MAX_ENTRIES_PER_DOCUMENT)
    # No content-location: feedparser would resolve GUIDs against it as if they were URLs.
    headers = {"content-type": "application/xml; charset=utf-8"}
    import feedparser  # here, not at the top: a run whose feeds all answer 304 never loads it

    from scraper.feed_parser import parse  # feedparser's, with a linear author pattern

    parsed = parse(data, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    warning = None
    if parsed.bozo and not isinstance(
        parsed.bozo_exception, (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
    ):
        warning = f"{type(parsed.bozo_exception).__name__}: {parsed.bozo_exception}"
    # .get: a body feedparser found no document in (NUL bytes) has no `version` at all
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        if b"<html" in body[:2048].lower():
            found = _alternate_feed(body, url)
            hint = f"; the page names its feed: {found}" if found else ""
            raise FeedError(f"an HTML page, not a feed{hint}", transient=False)
        if _looks_like_json_feed(body):
            raise FeedError("a JSON Feed, which scraper does not read (RSS and Atom only)", transient=False)
        raise FeedError(f"not a feed: {warning or 'no RSS or Atom found'}", transient=False)
    entries = tuple(_entry(raw, url) for raw in parsed.entries)
    if dropped:
        total, kept = MAX_ENTRIES_PER_DOCUMENT + dropped, MAX_ENTRIES_PER_DOCUMENT
        warning = f"{total} entries in one document; only the first {kept} taken"
        log.warning("%s: %s", url, warning)
    return entries, _ttl(parsed.feed), warning


# feedparser keeps a whole document's entries in memory, several kB each (100k entries: over 700 MB),
# so a document is cut to this many before it is parsed. A feed lists its newest first.
MAX_ENTRIES_PER_DOCUMENT = 10_000
# The patterns of this module read a feed's body: compiled when a body is first read (cached getters), so
# a run whose feeds all answer 304 compiles none.


@cache
def _entry_end() -> re.Pattern[bytes]:
    return re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>", re.I)


def _first_entries(data: bytes, limit: int) -> tuple[bytes, int]:
    """The document with only its first `limit` entries (what follows the last entry kept, so it stays
    well-formed), and how many were dropped."""
    ends = [match.end() for match in _entry_end().finditer(data)]
    if len(ends) <= limit:
        return data, 0
    return data[: ends[limit - 1]] + data[ends[-1] :], len(ends) - limit


def parser_input(body: bytes, content_type: str | None = None) -> bytes:
    """The document as feedparser must get it: decoded by us, re-encoded as UTF-8 (and so declared), and
    with references to no character (`&#0;`, `&#xD800;`, `&#x110000;`) defused: feedparser turns those
    into characters it then fails to encode, failing the whole document."""
    text, _ = decode(body, content_type)
    text = defuse_char_refs(storable_text(text) or "")
    return _xml_declared_encoding().sub(r"\1utf-8\2", text, count=1).encode("utf-8", errors="replace")


@cache
def _xml_declared_encoding() -> re.Pattern[str]:
    return re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])[^"']*(["'])""")


def _entry(raw: Any, feed_url: str) -> FeedEntry:
    link = raw.get("link") or _link_from_links(raw)
    guid = raw.get("id") or None
    if raw.get("guidislink") and link == guid and not re.match(r"https?://", link or "", re.I):
        # feedparser takes an RSS guid for the link when the item has none (isPermaLink defaults to
        # true), but a guid that is no URL ("post-123") names the item, it does not locate it: resolved
        # against the feed it became a 404 and the entry "gone", where "has no link" says what happened.
        link = None
    if not link and guid and re.match(r"https?://", guid):
        link = guid
    return FeedEntry(
        guid=guid.strip() if guid else None,
        link=_absolute(feed_url, link),
        title=_clean(raw.get("title")),
        author=_clean(raw.get("author")),
        published=_published(raw),
        content_html=_content(raw),
        summary=raw.get("summary") or None,
    )


def _absolute(feed_url: str, link: str | None) -> str | None:
    """The link resolved against the feed; as written when urllib cannot read it (the queue says why)."""
    if not link:
        return None
    try:
        return unmangled_file_url(urljoin(feed_url, link.strip()))
    except ValueError:
        return link.strip()


def _link_from_links(raw: Any) -> str | None:
    for link in raw.get("links", []):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    return None


def _content(raw: Any) -> str | None:
    contents = raw.get("content") or []
    html = [c for c in contents if "html" in (c.get("type") or "")]
    chosen = (html or contents or [None])[0]
    return chosen.get("value") if chosen else None


def _published(raw: Any) -> datetime | None:
    """The entry's date (published, else updated, else created), if it is the day the feed wrote."""
    for key in ("published", "updated", "created"):
        # the keys as the feed wrote them: feedparser answers a missing `updated` with `published`
        # (a deprecated fallback that warns), which was just read
        when = _when(dict.get(raw, f"{key}_parsed"))
        if when is not None:
            return when if names_that_day(dict.get(raw, key), when) else None
    return None


def _when(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _clean(text: str | None) -> str | None:
    """A title or author from the feed as one line of text (scraper.sanitize.one_line)."""
    return one_line(text) if text else None


MAX_TTL_MINUTES = 366 * 24 * 60  # the schedule caps waits far lower; this only keeps the column sane


def _ttl(feed: Any) -> int | None:
    """The feed's <ttl>, clamped (twenty digits overflow the column), None if it is not a number."""
    return clamped_int(feed.get("ttl"), 0, MAX_TTL_MINUTES) or None


@cache
def _alternate() -> re.Pattern[bytes]:
    return re.compile(
        rb"<link\b(?=[^>]*\brel=[\"']?alternate)(?=[^>]*\btype=[\"']?application/(?:rss|atom)\+xml)"
        rb"[^>]*\bhref=[\"']?([^\"' >]+)",
        re.I,
    )


def _looks_like_json_feed(body: bytes) -> bool:
    """A JSON Feed (jsonfeed.org) names its version in its first bytes; feedparser reads only XML, and its
    error for one was an XML parser's ("syntax error") that did not say what the document was."""
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{") and b"jsonfeed.org/version" in body[:4096]


@cache
def _skips() -> tuple[re.Pattern[bytes], re.Pattern[bytes], re.Pattern[bytes], re.Pattern[bytes]]:
    """The skipHours and skipDays blocks, and an hour and a day in them."""
    return (
        re.compile(rb"<skipHours\b[^>]*>(.*?)</skipHours>", re.I | re.S),
        re.compile(rb"<skipDays\b[^>]*>(.*?)</skipDays>", re.I | re.S),
        re.compile(rb"<hour\b[^>]*>\s*(\d{1,2})\s*</hour>", re.I),
        re.compile(rb"<day\b[^>]*>\s*([A-Za-z]+)\s*</day>", re.I),
    )


def _alternate_feed(body: bytes, url: str) -> str | None:
    """The feed an HTML page links to (`<link rel="alternate" type="application/rss+xml">`), if any."""
    match = _alternate().search(body[:65536])
    return urljoin(url, match.group(1).decode("ascii", "replace")) if match else None


def parse_skips(body: bytes) -> tuple[frozenset[int], frozenset[int]]:
    """RSS `skipHours` (GMT hours 0-23) and `skipDays` (as weekday numbers, 0 = Monday).

    feedparser does not keep them, and they sit in the channel head, so a look at the raw bytes does.
    """
    head = body[:65536]
    hours: set[int] = set()
    days: set[int] = set()
    skip_hours, skip_days, hour, day = _skips()
    block = skip_hours.search(head)
    if block:
        hours = {int(h) % 24 for h in hour.findall(block.group(1)) if int(h) <= 24}
    block = skip_days.search(head)
    if block:
        names = [d.decode("ascii").lower() for d in day.findall(block.group(1))]
        days = {DAY_NAMES.index(n) for n in names if n in DAY_NAMES}
    return frozenset(hours), frozenset(days)
