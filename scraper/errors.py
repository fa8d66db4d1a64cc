"""Every error scraper raises on purpose, in one tree, with what a caller must know carried by the error.

A caller decides what to do with an error from four facts, never from its type name or by sniffing
attributes: `transient` (a later try may help: back off and retry; else give up on that unit),
`retry_after` (seconds the server asked us to wait, or None), `status` (the HTTP status behind it,
or None), and `ours` (our own config or policy refused it, a private address or robots.txt: recorded,
but never the site's failure, so it never backs a feed off). Whether an HTTP status is transient is
decided here too (`page_status_fate`, `feed_status_is_transient`), and nowhere else.

The tree (as httpx's `_exceptions.py` draws its own):

    ScraperError
    ├── ConfigError .............. the configuration or the command line asks for the impossible
    │   ├── RuleError ............ a site rule that cannot be used (also a ValueError)
    │   └── BackfillError ........ a backfill command the config cannot serve
    ├── FeedError ................ a work source (feed, sitemap) gave nothing usable
    │   └── SitemapError
    ├── RefusedValueError ........ one value from outside cannot enter the archive (also a ValueError)
    ├── FetchError ............... no usable HTTP answer (transient unless a subclass says otherwise)
    │   ├── HostBlockedError ..... the host asked everyone to wait; no request made (transient)
    │   ├── RobotsUnavailableError robots.txt could not be read (transient)
    │   ├── BlockedAddressError .. the host resolves to an address not allowed (permanent, ours)
    │   ├── BodyTooLargeError .... (permanent)
    │   ├── RedirectError ........ loop, too many, or not HTTP (permanent)
    │   ├── UnsupportedURLError .. (permanent)
    │   ├── UnsupportedEncodingError a body in a Content-Encoding we never asked for (permanent)
    │   └── RobotsDisallowedError  (permanent, ours)
    ├── ExtractError ............. a page or post file gave no record (permanent)
    │   ├── ExtractionBudgetError  a page that costs more CPU than a page may (too deep, too slow)
    │   └── PostFormatError ...... a post file that is not front matter and a body (also a ValueError)
    └── StoreError ............... the archive (database, export folder) refused a write
        ├── LockHeldError ........ another run holds the archive's run lock
        ├── SchemaRevisionError .. the database is at a schema revision this scraper does not know
        ├── StoredValueError ..... a value in the database that cannot be read back (a hand-edited date)
        ├── CaptureReadError ..... a page's WARC capture cannot give it back (re-extraction from WARC)
        └── PostNameTakenError ... the post name chosen was reserved by another article meanwhile
"""

from __future__ import annotations

import re
from typing import Literal

# Pages: 404 and 410 mean the article is gone; these (and every 5xx) mean "not now".
GONE_STATUSES = frozenset({404, 410})
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
# Worth asking again within the same call (a hiccup of the server), before any backoff in the database.
RETRY_NOW_STATUSES = frozenset({500, 502, 503, 504})

# 206 Partial Content: a part of the body. We never send Range, so a server answering so cuts the page or
# feed short (a broken cache, say): never the whole answer, and maybe whole on a later try.
PARTIAL_CONTENT = 206

StatusFate = Literal["ok", "gone", "transient", "permanent"]


def is_whole_answer(status: int) -> bool:
    """A 2xx that is the whole body asked for (every 2xx but 206)."""
    return 200 <= status < 300 and status != PARTIAL_CONTENT


def status_text(status: int) -> str:
    """An HTTP status as a failure's reason: `HTTP 503`; a 206 says what it is, which few know by number."""
    if status == PARTIAL_CONTENT:
        return f"HTTP {status}: partial content, never asked for (the body is cut short)"
    return f"HTTP {status}"


def page_status_fate(status: int) -> StatusFate:
    """What an article page's HTTP status means: 2xx ok (but a 206, a part of it), 404/410 gone,
    206/408/425/429/5xx worth a later try, any other answer a permanent failure."""
    if is_whole_answer(status):
        return "ok"
    if status == PARTIAL_CONTENT:
        return "transient"
    if status in GONE_STATUSES:
        return "gone"
    if status in TRANSIENT_STATUSES or status >= 500:
        return "transient"
    return "permanent"


def feed_status_is_transient(status: int) -> bool:
    """A feed's error status: only 404 and 410 are permanent. A 401/403 is often a bot wall that lifts,
    and a feed is polled for years, so the schedule backs off instead of giving up."""
    return status not in GONE_STATUSES


class ScraperError(Exception):
    """The base of every error scraper raises on purpose. `transient`: a later try may help."""

    transient: bool = False
    retry_after: float | None = None
    status: int | None = None
    ours: bool = False  # our own config or policy said no: never counted as the site's failure


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` as every database and encoder takes it: NUL dropped, lone surrogates as U+FFFD. Here, at the
    root, because an error's message is stored as its unit's reason and may quote a hostile feed;
    scraper.sanitize applies it to every other value from outside."""
    if text.isascii() and "\x00" not in text:  # no surrogate in ASCII: a post's body skips the scan
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group(0) == "\x00" else "\ufffd", text)


# --- config -----------------------------------------------------------------------------------------------


class ConfigError(ScraperError):
    """The configuration is wrong; the message says where and how."""


class RuleError(ConfigError, ValueError):
    """A site rule that cannot be used (a bad selector, a missing host)."""


class BackfillError(ConfigError):
    """The command asks for something the config does not have; the message says what."""


# --- feed ---------------------------------------------------------------------------------------------------


class FeedError(ScraperError):
    """The feed gave nothing usable; `transient` says whether polling again later may help."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        transient: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(storable_text(message))  # it is stored as the feed's last error
        self.status = status
        self.transient = transient
        self.retry_after = retry_after  # seconds the server asked us to wait (429, 503)


class SitemapError(FeedError):
    """A sitemap that cannot be read; the message says why."""


class RefusedValueError(ScraperError, ValueError):
    """A value that cannot enter the archive (a link of another scheme, an impossible port...); the
    message says why, for the unit's recorded error. That unit alone is refused."""


# --- fetch --------------------------------------------------------------------------------------------------


class FetchError(ScraperError):
    """No usable answer. `transient`: a later try may help; `retry_now`: worth retrying at once."""

    transient = True

    def __init__(self, url: str, reason: str, *, retry_now: bool = False) -> None:
        super().__init__(f"{reason} ({url})")
        self.url = url
        self.reason = reason
        self.retry_now = retry_now


class HostBlockedError(FetchError):
    """The host asked us to wait (Retry-After); no request was made. Defer the work `retry_after` s."""

    retry_after: float

    def __init__(self, url: str, reason: str, retry_after: float) -> None:
        super().__init__(url, reason)
        self.retry_after = retry_after


class RobotsUnavailableError(FetchError):
    """robots.txt could not be read (5xx, 429, no answer): the site is off limits for now."""


class BlockedAddressError(FetchError):
    """The host resolves to an address the configuration does not allow."""

    transient = False
    ours = True


class BodyTooLargeError(FetchError):
    transient = False


class RedirectError(FetchError):
    transient = False


class UnsupportedURLError(FetchError):
    transient = False


class UnsupportedEncodingError(FetchError):
    """A body in a Content-Encoding we never asked for (br, zstd, compress): the server will answer so
    again, so a retry only costs the site a request."""

    transient = False


class RobotsDisallowedError(FetchError):
    transient = False
    ours = True


# --- extract ------------------------------------------------------------------------------------------------


class ExtractError(ScraperError):
    """The page (or post file) was read but gave no record; trying again gives the same."""


class ExtractionBudgetError(ExtractError):
    """A page that would cost more CPU than a page may: nested past what a browser builds, or too slow.
    It costs that one article (failed, with this reason), never the run."""


class PostFormatError(ExtractError, ValueError):
    """A post file that is not front matter and a body."""


# --- store --------------------------------------------------------------------------------------------------


class StoreError(ScraperError):
    """The archive refused a write."""


class LockHeldError(StoreError):
    """Another run holds the lock; the message says which lock."""


class SchemaRevisionError(StoreError):
    """The database was written by a newer scraper (or by another program): migrating it would fail deep in
    Alembic, and writing to it could corrupt what the newer version keeps; the message names the revision
    and the fix."""


class StoredValueError(StoreError):
    """A value in the database that its column cannot be read as (a date that is not one, written by hand
    or by another program): the message names the value and the fix, not the driver's ValueError."""


class CaptureReadError(StoreError):
    """A page's WARC capture could not give it back (the file gone, a record cut short, another record at
    the offset): the message names the file, the offset and why."""


class PostNameTakenError(StoreError):
    """The post name chosen was reserved by another article meanwhile (the unique index said so)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name
