"""robots.txt for article pages (RFC 9309), parsed by protego, cached per origin.

Feeds are published to be polled, so polls do not consult robots.txt; article pages do (unless
`respect_robots = false`). How a robots.txt answer is read, as the RFC says:

- 2xx: its rules (matched on our product token, the User-Agent up to the first "/").
- 4xx (but 429): no rules, everything allowed.
- 429, 5xx, or no answer at all: the site is "unreachable", so nothing is fetched from it for now;
  the article stays pending and is retried later. Cached briefly, then asked again.
- a robots.txt that cannot be used at all (a redirect loop, over the size cap, a refused address):
  treated as absent.

Rules are kept for a day (the RFC's upper bound for a cached robots.txt). A `Crawl-delay` for our token
is handed back to the caller, which feeds it to the politeness limits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scraper.errors import PARTIAL_CONTENT, status_text

if TYPE_CHECKING:
    from protego import Protego


RULES_TTL = 86400.0
UNREACHABLE_TTL = 300.0
MAX_ROBOTS_BYTES = 512 * 1024  # the RFC asks crawlers to parse at least 500 KiB
_MAX_ORIGINS = 10_000


@dataclass(frozen=True)
class RobotsAnswer:
    """What fetching a robots.txt gave: a status and body, or an error (transient or not)."""

    status: int | None
    body: bytes = b""
    error: str | None = None
    transient: bool = True


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str | None = None  # why not
    transient: bool = False  # not allowed *for now* (robots.txt unreachable)
    crawl_delay: float | None = None


@dataclass
class _Entry:
    parser: Protego | None  # None: everything allowed
    unreachable: str | None  # set: nothing allowed until the entry expires
    expires: float


def product_token(user_agent: str) -> str:
    """`scraper/0.1 (+https://...)` -> `scraper`: what robots.txt groups are matched against."""
    token = user_agent.split("/", 1)[0].split()
    return token[0] if token else user_agent


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


Fetch = Callable[[str], Awaitable[RobotsAnswer]]


class RobotsCache:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def check(self, url: str, user_agent: str, fetch: Fetch) -> Verdict:
        """May `user_agent` fetch `url`? `fetch` gets the robots.txt when it is not cached."""
        origin = robots_url(url)
        entry = await self._entry(origin, fetch)
        if entry.unreachable:
            return Verdict(False, f"robots.txt unreachable ({entry.unreachable})", transient=True)
        if entry.parser is None:
            return Verdict(True)
        token = product_token(user_agent)
        delay = entry.parser.crawl_delay(token)
        if entry.parser.can_fetch(url, token):
            return Verdict(True, crawl_delay=delay)
        return Verdict(False, f"disallowed by {origin}", crawl_delay=delay)

    async def _entry(self, origin: str, fetch: Fetch) -> _Entry:
        entry = self._entries.get(origin)
        if entry is not None and entry.expires > self._clock():
            return entry
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:  # one fetch per origin, however many pages wait on it
            entry = self._entries.get(origin)
            if entry is None or entry.expires <= self._clock():
                if len(self._entries) >= _MAX_ORIGINS:
                    self._forget_expired()
                entry = self._entries[origin] = self._read(await fetch(origin))
            return entry

    def _read(self, answer: RobotsAnswer) -> _Entry:
        now = self._clock()
        status = answer.status
        if status is None:
            if answer.transient:
                return _Entry(None, answer.error or "no answer", now + UNREACHABLE_TTL)
            return _Entry(None, None, now + RULES_TTL)
        if status == 429 or status >= 500:
            return _Entry(None, f"HTTP {status}", now + UNREACHABLE_TTL)
        if status == PARTIAL_CONTENT:  # never asked for: its rules may be cut short, a Disallow lost
            return _Entry(None, status_text(status), now + UNREACHABLE_TTL)
        if status >= 400 or not 200 <= status < 300:
            return _Entry(None, None, now + RULES_TTL)
        # A byte order mark (Notepad's UTF-8) is no part of the first line: left on, it hid `User-agent`.
        text = answer.body[:MAX_ROBOTS_BYTES].decode("utf-8-sig", errors="replace")
        from protego import Protego  # a robots.txt with rules to parse (not a 404): only then

        return _Entry(Protego.parse(text), None, now + RULES_TTL)

    def _forget_expired(self) -> None:
        now = self._clock()
        for origin, entry in list(self._entries.items()):
            if entry.expires <= now:
                del self._entries[origin]
                self._locks.pop(origin, None)
