"""Poll a feed: a conditional GET, then feedparser over the bytes.

The poller only reads; what the entries become is the queue's business. A feed that parses with warnings
(feedparser's "bozo") still gives whatever entries it holds: a salvaged entry is better than a lost one.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from scraper.fetch import Fetcher


class FeedError(Exception):
    """The feed gave nothing usable; `transient` says whether polling again later may help."""

    def __init__(self, message: str, *, status: int | None = None, transient: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient


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

    @property
    def not_modified(self) -> bool:
        return self.status == 304


async def poll_feed(
    fetcher: Fetcher,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> PollResult:
    """Fetch and parse one feed. Raises FeedError (and fetch.FetchError) when nothing usable came back."""
    headers: dict[str, str] = {
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    response = await fetcher.get(url, headers, allow_file=url.startswith("file:"))
    if response.status == 304:
        return PollResult(304, response.final_url, etag, last_modified)
    if not response.ok:
        transient = response.status in (408, 425, 429) or response.status >= 500
        raise FeedError(f"HTTP {response.status}", status=response.status, transient=transient)
    entries, ttl, warning = parse_feed(response.content, response.final_url, response.content_type)
    return PollResult(
        response.status,
        response.final_url,
        response.headers.get("etag"),
        response.headers.get("last-modified"),
        entries,
        ttl,
        warning,
    )


def parse_feed(
    body: bytes, url: str, content_type: str | None = None
) -> tuple[tuple[FeedEntry, ...], int | None, str | None]:
    """The entries, the feed's <ttl> in minutes, and a warning if the feed was not well-formed."""
    if not body.strip():
        raise FeedError("empty body", transient=True)
    # No content-location: feedparser would resolve GUIDs against it as if they were URLs.
    headers = {}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(
        body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    warning = None
    if parsed.bozo and not isinstance(parsed.bozo_exception, _BENIGN):
        warning = f"{type(parsed.bozo_exception).__name__}: {parsed.bozo_exception}"
    if not parsed.entries and (parsed.bozo or not parsed.version):
        kind = "an HTML page" if b"<html" in body[:2048].lower() else "not a feed"
        raise FeedError(f"{kind}: {warning or 'no RSS or Atom found'}", transient=False)
    entries = tuple(_entry(raw, url) for raw in parsed.entries)
    return entries, _ttl(parsed.feed), warning


# feedparser flags these, but they only say the server labelled the feed loosely.
_BENIGN = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)


def _entry(raw: Any, feed_url: str) -> FeedEntry:
    link = raw.get("link") or _link_from_links(raw)
    guid = raw.get("id") or None
    if not link and guid and re.match(r"https?://", guid):
        link = guid
    return FeedEntry(
        guid=guid.strip() if guid else None,
        link=urljoin(feed_url, link.strip()) if link else None,
        title=_clean(raw.get("title")),
        author=_clean(raw.get("author")),
        published=_when(
            raw.get("published_parsed") or raw.get("updated_parsed") or raw.get("created_parsed")
        ),
        content_html=_content(raw),
        summary=raw.get("summary") or None,
    )


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


def _when(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _clean(text: str | None) -> str | None:
    if not text:
        return None
    text = " ".join(text.split())
    return text or None


def _ttl(feed: Any) -> int | None:
    value = feed.get("ttl")
    try:
        return int(value) if value else None
    except ValueError:
        return None
