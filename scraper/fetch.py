"""The HTTP layer every stage shares: one httpx client, polite to the sites, guarded against hostile ones.

A feed is input from strangers, so:

- redirects are followed by hand, at most `max_redirects`, a loop detected on the first repeat;
- every connection goes to an address the guard checked (netguard), so no hop reaches a private network;
- the body is read raw and decompressed here, bounded by the size cap *while* inflating, so neither an
  endless body nor a gzip bomb costs more than the cap in memory;
- timeouts: connect, read (between two reads of the socket), and one deadline over the whole request
  (every hop and the body), so a server that drips a byte a second is cut off too; the time spent waiting
  for a politeness slot does not count against it;
- each request waits for its host's turn (politeness), and article pages ask robots.txt first;
- each host has its own small connection pool (scraper.pools), its connections kept alive for a few
  seconds: a site fetched again soon reuses its socket, and no request walks the other sites' sockets.

Status codes are returned, not raised: what a 404 means is the caller's business. FetchError is raised
only when there is no usable answer; `transient` says whether a later try may help.

Within one call, transient trouble is retried at once a few times (`retries`, with a doubling delay): a
reset connection, a refused connect, a 500/502/503/504, and a 429/503 whose `Retry-After` is short
(`max_retry_wait`). Timeouts are not retried within the call (a slow server would hold the run for
several deadlines); the caller retries those later, with backoff, in the database. A 429/503 with a
longer `Retry-After` blocks the whole host: the answer is returned with `retry_after` set, and other
requests to that host fail fast with HostBlockedError until the time is up.

A capture (scraper.capture) may observe every HTTP exchange: it is handed the request and the answer as
they went over the wire (the body as received, before decompression, kept up to the same size cap), and
what it answers (where it wrote them) rides on the Response. File reads are not exchanges: not captured.

`file://` URLs are read from disk, for the bundled sample and feeds made by other tools. They are allowed
only where the caller says so (a feed the operator configured as a local file, and that feed's own links),
never for a link that came from a remote feed.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import os
import random
import re
import ssl
import stat
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import formatdate
from functools import cached_property
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

import httpcore
import httpx
from httpx import _urlparse as httpx_urlparse

from scraper import __version__, client_send
from scraper.charset import decode
from scraper.config import HttpConfig
from scraper.errors import (
    RETRY_NOW_STATUSES,
    BlockedAddressError,
    BodyTooLargeError,
    FetchError,
    HostBlockedError,
    RedirectError,
    RobotsDisallowedError,
    RobotsUnavailableError,
    UnsupportedEncodingError,
    UnsupportedURLError,
    is_whole_answer,
)
from scraper.hosts import host_key
from scraper.http11 import NO_BODY_STATUSES
from scraper.netguard import AddressGuard, GuardedBackend, Resolver
from scraper.politeness import Politeness
from scraper.pools import CleanPool, HostBody, HostPools, HostTransport, byte_headers, clean_proxy_pool
from scraper.sanitize import RefusedValueError, _shown, checked_url, media_type
from scraper.schedule import parse_retry_after
from scraper.urls import CheckedURL

if TYPE_CHECKING:
    from scraper.capture.exchange import Capture, CaptureRef
    from scraper.config import FeedConfig
    from scraper.robots import RobotsAnswer, RobotsCache

log = logging.getLogger(__name__)
DEFAULT_429_WAIT = 60.0  # a 429 without Retry-After still means "not now"
MAX_HOST_BLOCK = 86400.0
MAX_CRAWL_DELAY = 60.0  # a robots.txt Crawl-delay is honoured up to this
KEEPALIVE_SECONDS = 5.0  # an idle connection is closed after this (httpx's default)
HOST_KEEPALIVE = 2  # idle connections kept per host


@dataclass(frozen=True)
class RequestPolicy:
    """The per-request settings a feed can override: pace, identity, route, robots, cookies."""

    user_agent: str
    per_host_concurrency: int = 2
    per_host_delay: float = 1.0
    proxy: str | None = None
    respect_robots: bool = True
    keep_cookies: bool = False  # the feed's `cookies`: see SiteCookies

    @classmethod
    def from_config(cls, http: HttpConfig, feed: FeedConfig | None = None) -> RequestPolicy:
        def pick(key: str) -> object:
            value = getattr(feed, key, None) if feed is not None else None
            return getattr(http, key) if value is None else value

        return cls(
            user_agent=str(pick("user_agent")).replace("{version}", __version__),
            per_host_concurrency=int(pick("per_host_concurrency")),  # type: ignore[call-overload]
            per_host_delay=float(pick("per_host_delay")),  # type: ignore[arg-type]
            proxy=pick("proxy"),  # type: ignore[arg-type]
            respect_robots=bool(pick("respect_robots")),
            keep_cookies=bool(feed is not None and feed.cookies),
        )


@dataclass(frozen=True)
class Response:
    url: str
    final_url: str
    status: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_after: float | None = None  # seconds, from a 429/503's Retry-After
    capture: CaptureRef | None = None  # where the capture observer wrote this answer, if it did

    @property
    def content_type(self) -> str | None:
        """The media type and charset (scraper.sanitize.media_type): never the header's other bytes."""
        return media_type(self.headers.get("content-type"))

    @property
    def ok(self) -> bool:
        """A whole answer: a 206 (a part of the body, never asked for) is not one."""
        return is_whole_answer(self.status)

    def text(self) -> tuple[str, str]:
        """The body decoded (header, BOM, declaration, then detection); returns (text, codec)."""
        return decode(self.content, self.content_type)


class _RawBody:
    """The body as received, for a capture: kept up to `cap` bytes (the rest is counted as cut off)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[bytes] = []
        self.size = 0
        self.truncated = False

    def add(self, chunk: bytes) -> None:
        room = self.cap - self.size
        if len(chunk) > room:
            chunk, self.truncated = chunk[:room], True
        if chunk:
            self.parts.append(chunk)
            self.size += len(chunk)


class _BodyDecoder:
    """Content-Encoding undone chunk by chunk, never producing more than `cap` bytes in all."""

    def __init__(self, url: str, encoding: str, cap: int) -> None:
        codings = [c.strip().lower() for c in encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise UnsupportedEncodingError(url, f"unsupported Content-Encoding {encoding!r}")
        self.url, self.cap = url, cap
        self.kind = codings[0] if codings else None
        self.parts: list[bytes] = []
        self.size = 0
        self.started = False
        self._z = self._new() if self.kind else None

    def _new(self, raw: bool = False) -> zlib._Decompress:
        if self.kind == "deflate":  # usually zlib-wrapped; some servers send raw deflate
            return zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
        return zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.cap:
            what = "decompressed " if self.kind else ""
            raise BodyTooLargeError(
                self.url, f"body over the {self.cap}-byte cap ({what}at {self.size} bytes)"
            )
        if data:
            self.parts.append(data)

    def feed(self, data: bytes) -> None:
        if self._z is None:
            self._add(data)
            return
        while data:
            try:
                out = self._z.decompress(data, self.cap - self.size + 1)
            except zlib.error as exc:
                if self.kind == "deflate" and not self.started:
                    self._z, self.started = self._new(raw=True), True
                    continue
                raise FetchError(self.url, f"corrupt {self.kind} body: {exc}") from None
            self.started = True
            self._add(out)  # raises when the output limit was reached, so no unconsumed input is left
            data = self._z.unconsumed_tail
            if self._z.eof and self._z.unused_data:
                rest = self._z.unused_data
                if self.kind != "deflate" and rest[:2] == b"\x1f\x8b":  # another gzip member
                    self._z, data = self._new(), rest
                # anything else after the end of the stream is trailing junk: ignored, as browsers do

    def finish(self) -> bytes:
        if self._z is not None:
            self._add(self._z.flush())
        return b"".join(self.parts)


def _environment_proxies(env: Mapping[str, str]) -> dict[str, str]:
    """http/https/all/no proxy settings, lower-case variables first (as curl reads them)."""
    proxies = {}
    for scheme in ("http", "https", "all", "no"):
        value = env.get(f"{scheme}_proxy") or env.get(f"{scheme.upper()}_PROXY")
        if value:
            proxies[scheme] = value.strip()
    return proxies


def _bypasses_proxy(host: str, port: int | None, no_proxy: str) -> bool:
    host = host.lower().strip("[]")
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and port is not None and entry_port != str(port):
            continue
        name = name.lstrip(".")
        if host == name or host.endswith("." + name):
            return True
    return False


RequestHook = Callable[[str, "Response | None", float], None]


class SiteCookies:
    """Cookies are neither kept nor sent unless the request's policy says so (a feed's `cookies = true`).

    The clients' own jars refuse every cookie: one jar shared by every site for the whole run would carry
    what a site set into every later request to it from any feed (a privacy question: tracking across the
    archive), and would grow with every site visited, walked on every request. A feed that asks gets a jar
    per site (the host key, scraper.hosts), in memory for this run only, used by its own requests."""

    def __init__(self) -> None:
        self._jars: dict[str, httpx.Cookies] = {}

    def jar(self, url: str, policy: RequestPolicy) -> httpx.Cookies | None:
        """The jar of the URL's site (made on first use) if the policy keeps cookies; else None."""
        if not policy.keep_cookies:
            return None
        site = host_key(url)
        jar = self._jars.get(site)
        if jar is None:
            jar = self._jars[site] = httpx.Cookies()
        return jar


def _host_pool(
    scheme: bytes, limits: httpx.Limits, tls: _TLSContext, backend: httpcore.AsyncNetworkBackend
) -> httpcore.AsyncConnectionPool:
    """A new origin's pool; an https origin's with the verifying context (http never uses one)."""
    return CleanPool(
        ssl_context=tls() if scheme.lower() == b"https" else None,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=backend,
    )


def _refusing_jar() -> CookieJar:
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


class _NoCookies(httpx.Cookies):
    """The clients' own cookies: none kept, and no answer even read for them. httpx hands every answer
    to its client's jar, which builds urllib request and response stand-ins for it (a tenth of a
    request's CPU) only for the refusing policy to keep nothing; a feed that keeps cookies has its
    site's jar (SiteCookies), filled by the fetcher itself."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _TLSContext:
    """The one verifying context of every https origin, made when first asked for: loading the CA bundle
    costs tens of ms of CPU, which a run over plain-http feeds (or 304s only) need not pay."""

    def __init__(self, trust_env: bool) -> None:
        self.trust_env = trust_env
        self.made: ssl.SSLContext | None = None

    def __call__(self) -> ssl.SSLContext:
        if self.made is None:
            self.made = httpx.create_ssl_context(trust_env=self.trust_env)
        return self.made


def _new_client(
    config: HttpConfig, user_agent: str, transport: httpx.AsyncBaseTransport
) -> httpx.AsyncClient:
    """A Fetcher's httpx client over `transport` (the guarded one, or a proxy's)."""
    client = httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(
            connect=config.connect_timeout,
            read=config.read_timeout,
            write=config.read_timeout,
            pool=config.timeout,
        ),
        headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
        follow_redirects=False,
        cookies=_refusing_jar(),  # keeps none: see SiteCookies
        event_hooks={"response": [_location_hook]},
        trust_env=False,  # proxies are chosen here; and no .netrc credentials for strangers' hosts
    )
    if isinstance(getattr(client, "_cookies", None), httpx.Cookies):  # else the jar refuses them
        client._cookies = _NoCookies(_refusing_jar())
    return client


RawHeaders = list[tuple[bytes, bytes]]
MAX_MERGED_EXTRA = 256  # header merges with extra headers kept (_MergedHeaders)


class _MergedHeaders:
    """A request's headers: its client's, its User-Agent the policy's, then `extra` (a poll's validators,
    robots.txt's Accept, an article page's Accept), as httpx's build_request merges them. Each merge is
    made once per client, User-Agent and `extra`, not once per request: merging and validating headers
    was a tenth of sending a request. Given as raw pairs: the request's one Headers is built
    from them with its Host (_build_request)."""

    def __init__(self) -> None:
        self.made: dict[tuple[int, str], RawHeaders] = {}  # the clients live as long as the Fetcher
        # With `extra`: kept per client, User-Agent and extra headers (an article page's one Accept),
        # up to MAX_MERGED_EXTRA (a poll's validators make each feed's its own), then forgotten together.
        self.made_extra: dict[tuple[int, str, tuple[tuple[str, str], ...]], RawHeaders] = {}

    def __call__(self, client: httpx.AsyncClient, user_agent: str, extra: Mapping[str, str]) -> RawHeaders:
        """The merged headers (a list shared by every request asking the same: never changed)."""
        key = (id(client), user_agent)
        merged = self.made.get(key)
        if merged is None:
            headers = httpx.Headers(client.headers)
            headers["User-Agent"] = user_agent
            merged = self.made[key] = headers.raw
        if not extra:
            return merged
        extra_key = (*key, tuple(extra.items()))
        kept = self.made_extra.get(extra_key)
        if kept is not None:
            return kept
        # What Headers.update does (the client's header of a name `extra` sets dropped, then `extra`'s
        # added), as a list: update's case-insensitive lookups over every header cost three times as
        # much (0.07 M instructions a poll).
        added = [(name.encode("ascii"), value.encode("ascii")) for name, value in extra.items()]  # as httpx
        replaced = {name.lower() for name, _ in added}
        made = [*(item for item in merged if item[0].lower() not in replaced), *added]
        if len(self.made_extra) >= MAX_MERGED_EXTRA:
            self.made_extra.clear()
        self.made_extra[extra_key] = made
        return made


class Fetcher:
    """Shared client for feed polls and page fetches. Use as `async with Fetcher(config) as fetcher`.

    `env` supplies the proxy variables (default: the process environment); `resolver` replaces the
    system resolver (benchmarks map many host names onto one local server with it); `on_request` observes
    every `get` (the metrics): its URL, its response (None when it raised FetchError), its seconds;
    `capture` observes every HTTP exchange (scraper.capture; called on the event loop, so it must be
    quick), and is closed with the Fetcher if it has a `close`."""

    def __init__(
        self,
        config: HttpConfig,
        *,
        env: Mapping[str, str] | None = None,
        resolver: Resolver | None = None,
        on_request: RequestHook | None = None,
        capture: Capture | None = None,
    ) -> None:
        self.config = config
        self.on_request = on_request
        self.capture = capture
        self.default_policy = RequestPolicy.from_config(config)
        self.user_agent = self.default_policy.user_agent
        self.guard = AddressGuard(
            allow_private=config.allow_private_networks,
            allow_networks=config.allow_networks,
            resolver=resolver,
        )
        self.politeness = Politeness(config.concurrency, max_wait=config.max_retry_wait)
        env = os.environ if env is None else env
        self._env_proxies = _environment_proxies(env) if config.trust_env else {}
        self._limits = httpx.Limits(
            max_connections=max(config.concurrency * 2, 10),
            max_keepalive_connections=max(config.concurrency * 2, 20),
            keepalive_expiry=KEEPALIVE_SECONDS,
        )
        # One host's requests never outnumber the global slots (politeness); its idle sockets are fewer.
        self._host_limits = httpx.Limits(
            max_connections=max(config.concurrency, 1),
            max_keepalive_connections=HOST_KEEPALIVE,
            keepalive_expiry=KEEPALIVE_SECONDS,
        )
        self._tls = _TLSContext(config.trust_env)
        self._backend = GuardedBackend(self.guard)  # on asyncio's transports (scraper.streams)
        self._direct = _new_client(config, self.user_agent, self._guarded_transport())
        self._proxied: dict[str, httpx.AsyncClient] = {}
        self.cookies = SiteCookies()
        self._rng = random.Random()
        self.closed = False  # set by aclose: no fetch under way starts another try after it
        self._headers = _MergedHeaders()

    @cached_property
    def robots(self) -> RobotsCache:
        """The robots.txt answers of this Fetcher, made when an article page first asks: a run that only
        polls feeds never loads scraper.robots."""
        from scraper.robots import RobotsCache

        return RobotsCache()

    def _guarded_transport(self) -> httpx.AsyncHTTPTransport:
        """httpx's transport, its pool replaced by a pool per host (scraper.pools) on the guarded backend."""
        # The transport's own pool is replaced below and never carries a request: it gets a context that
        # verifies against no CA at all (cheap to make, and refuses every peer if it were ever used).
        transport = HostTransport(
            verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
            limits=self._host_limits,
            trust_env=self.config.trust_env,
        )
        if not isinstance(getattr(transport, "_pool", None), httpcore.AsyncConnectionPool):
            raise RuntimeError("httpx keeps its pool elsewhere in this version: cannot install the guard")
        transport._pool = HostPools(self._guarded_pool)  # type: ignore[assignment]
        return transport

    def _guarded_pool(self, scheme: bytes) -> httpcore.AsyncConnectionPool:
        return _host_pool(scheme, self._host_limits, self._tls, self._backend)

    def _client_for(self, parts: SplitResult, policy: RequestPolicy) -> tuple[httpx.AsyncClient, bool]:
        """The client for a URL, and whether its connections are guarded (False: through a proxy)."""
        proxy = policy.proxy
        if proxy is None and self._env_proxies:
            no_proxy = self._env_proxies.get("no", "")
            if not (no_proxy and _bypasses_proxy(parts.hostname or "", parts.port, no_proxy)):
                proxy = self._env_proxies.get(parts.scheme.lower()) or self._env_proxies.get("all")
        if proxy is None:
            return self._direct, True
        client = self._proxied.get(proxy)
        if client is None:
            transport = httpx.AsyncHTTPTransport(
                proxy=proxy, limits=self._limits, trust_env=self.config.trust_env
            )
            clean_proxy_pool(getattr(transport, "_pool", None))
            client = self._proxied[proxy] = _new_client(self.config, self.user_agent, transport)
        return client, False

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self.closed = True  # first: a fetch woken by its client's closing sees it and does not retry
        for client in (self._direct, *self._proxied.values()):
            await client.aclose()
        close = getattr(self.capture, "close", None)
        if close is not None:
            close()

    async def get(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        allow_file: bool = False,
        policy: RequestPolicy | None = None,
        check_robots: bool = False,
        max_bytes: int | None = None,
    ) -> Response:
        """GET `url`. `check_robots`: an article page, so robots.txt is asked first (if the policy says)."""
        if self.on_request is None:
            return await self._get(url, headers, allow_file, policy, check_robots, max_bytes)
        started = time.perf_counter()
        try:
            response = await self._get(url, headers, allow_file, policy, check_robots, max_bytes)
        except FetchError:
            self.on_request(url, None, time.perf_counter() - started)
            raise
        self.on_request(url, response, time.perf_counter() - started)
        return response

    async def _get(
        self,
        url: str,
        headers: Mapping[str, str] | None,
        allow_file: bool,
        policy: RequestPolicy | None,
        check_robots: bool,
        max_bytes: int | None,
    ) -> Response:
        scheme = _scheme_of(url)
        if scheme == "file":
            if not allow_file:
                raise UnsupportedURLError(url, "file URL refused: only local feeds may link to local files")
            cap = max_bytes or self.config.max_body_bytes
            return await asyncio.to_thread(_read_file, url, (headers or {}).get("If-Modified-Since"), cap)
        if scheme not in ("http", "https"):
            raise UnsupportedURLError(url, f"unsupported URL scheme {scheme!r}")
        policy = policy or self.default_policy
        cap = max_bytes or self.config.max_body_bytes
        attempt = 0
        while True:
            try:
                response = await self._follow(url, headers or {}, policy, check_robots, cap)
            except FetchError as exc:
                if not (exc.retry_now and self._may_retry(attempt)):
                    raise
                await asyncio.sleep(self._retry_delay(attempt))
                attempt += 1
                continue
            wait = response.retry_after
            if response.status == 429 and wait is None:
                wait = DEFAULT_429_WAIT
            if wait is not None and response.status in (429, 503):
                self.politeness.block(host_key(response.final_url), min(wait, MAX_HOST_BLOCK))
                if wait <= self.config.max_retry_wait and self._may_retry(attempt):
                    attempt += 1  # the politeness slot waits the block out
                    continue
                return replace(response, retry_after=wait)
            if response.status in RETRY_NOW_STATUSES and self._may_retry(attempt):
                await asyncio.sleep(self._retry_delay(attempt))
                attempt += 1
                continue
            return response

    def _may_retry(self, attempt: int) -> bool:
        # none once the fetcher is closed under a fetch (a drain's cancel missed it): its clients are closed
        return attempt < self.config.retries and not self.closed

    def _retry_delay(self, attempt: int) -> float:
        return self.config.retry_backoff * 2**attempt * self._rng.uniform(0.8, 1.2)

    async def _follow(
        self,
        url: str,
        headers: Mapping[str, str],
        policy: RequestPolicy,
        check_robots: bool,
        cap: int,
    ) -> Response:
        """One try: every redirect hop, each in its host's politeness slot, all under one deadline. An
        article page (`check_robots`) is captured as a PAGE, anything else as OTHER."""
        loop = asyncio.get_running_loop()
        remaining = self.config.timeout
        seen = {url}
        current = url
        for _ in range(self.config.max_redirects + 1):
            parts = urlsplit(current)
            host = parts.hostname  # the name connected to (host_key may shorten an absurd one)
            if not host:
                raise UnsupportedURLError(url, f"URL without a host: {current!r}")
            if check_robots and policy.respect_robots:
                await self._check_robots(current, policy)
            client, guarded = self._client_for(parts, policy)
            request_headers = self._headers(client, policy.user_agent, headers)
            capture_kind = _capture_kind(check_robots) if self.capture else None
            jar = self.cookies.jar(current, policy)
            try:
                if not guarded:
                    await self.guard.check_before_proxy(host, parts.port or _default_port(parts.scheme))
                async with self.politeness.slot(host, policy.per_host_concurrency, policy.per_host_delay):
                    started = loop.time()
                    try:
                        async with asyncio.timeout(max(remaining, 0.001)):
                            status, location, answer_headers, body, captured = await self._exchange(
                                client, current, request_headers, cap, capture_kind, guarded, jar
                            )
                    finally:
                        remaining -= loop.time() - started
            except HostBlockedError as exc:
                raise HostBlockedError(url, exc.reason, exc.retry_after) from None
            except BlockedAddressError as exc:
                raise BlockedAddressError(url, exc.reason) from None
            except TimeoutError:
                raise FetchError(url, f"timed out after {self.config.timeout:g} s (whole request)") from None
            except httpx.TimeoutException as exc:
                raise FetchError(url, f"timed out ({_timeout_kind(exc)})") from None
            except httpx.TransportError as exc:  # reset, refused, protocol garbage: worth another go now
                raise FetchError(
                    url, f"{type(exc).__name__}: {exc or 'connection failed'}", retry_now=not _tls_error(exc)
                ) from None
            except httpx.HTTPError as exc:
                raise FetchError(url, f"{type(exc).__name__}: {exc}") from None
            if location is None:
                return _final_response(url, current, status, body, answer_headers, captured)
            current = _redirect_target(url, current, location, seen)
        raise RedirectError(url, f"more than {self.config.max_redirects} redirects")

    async def _exchange(
        self,
        client: httpx.AsyncClient,
        url: str,
        headers: RawHeaders,
        cap: int,
        capture_kind: str | None,
        guarded: bool,
        cookies: httpx.Cookies | None = None,
    ) -> tuple[int, str | None, dict[str, str], bytes, CaptureRef | None]:
        """Send; a redirect gives its Location (body unread unless captured), anything else its capped
        body. With `capture_kind`, the exchange is reported to the capture once its body is in. With
        `cookies` (the site's jar, for a feed that keeps them), its cookies are sent and the answer's kept."""
        started = datetime.now(UTC) if capture_kind else _NOT_CAPTURED
        if capture_kind is None:
            response = await _send(client, url, headers, cookies)
        else:
            with _refusals_captured(self.capture, url, capture_kind, started, cap, guarded):
                response = await _send(client, url, headers, cookies)
        raw = _RawBody(cap) if capture_kind else None
        peer = _peer_address(response) if capture_kind and guarded else None  # gone once the body is read
        try:
            if response.has_redirect_location:
                if raw is not None:
                    async for chunk in response.aiter_raw():
                        raw.add(chunk)
                        if raw.truncated:
                            break
                    _report(self.capture, url, capture_kind, started, response, raw, peer)
                return response.status_code, response.headers["location"], {}, b"", None
            # A 204 or 304 from a direct connection: its end came with its head (scraper.http11), no byte
            # to read (a proxy's connection is httpcore's, whose answer must be read to free it).
            bodiless = guarded and raw is None and response.status_code in NO_BODY_STATUSES
            body = await _read_capped(url, response, cap, raw, bodiless)
            captured = _report(self.capture, url, capture_kind, started, response, raw, peer)
            # items(): each name once, repeated ones joined, as dict(headers) gives (one walk, not one a name)
            return response.status_code, None, dict(response.headers.items()), body, captured
        finally:
            await response.aclose()

    async def _check_robots(self, url: str, policy: RequestPolicy) -> None:
        from scraper.robots import MAX_ROBOTS_BYTES, RobotsAnswer

        async def fetch(robots: str) -> RobotsAnswer:
            try:
                response = await self.get(
                    robots, {"Accept": "text/plain, */*;q=0.5"}, policy=policy, max_bytes=MAX_ROBOTS_BYTES
                )
            except FetchError as exc:
                return RobotsAnswer(None, error=exc.reason, transient=exc.transient)
            return RobotsAnswer(response.status, response.content)

        verdict = await self.robots.check(url, policy.user_agent, fetch)
        if verdict.crawl_delay:
            delay = min(verdict.crawl_delay, MAX_CRAWL_DELAY)
            self.politeness.set_min_delay(host_key(url), delay)
        if not verdict.allowed:
            error = RobotsUnavailableError if verdict.transient else RobotsDisallowedError
            raise error(url, verdict.reason or "refused by robots.txt")


_NOT_CAPTURED = datetime.min  # an exchange's start, when no capture reads it


def _capture_kind(page: bool) -> str:
    """What a capture records a fetch as (scraper.capture.exchange, imported when there is a capture)."""
    from scraper.capture.exchange import OTHER, PAGE

    return PAGE if page else OTHER


def _scheme_of(url: str) -> str:
    """The URL's scheme, lower case. A web URL is judged as a link is (scraper.sanitize.checked_url),
    whoever gave it (a sitemap index, robots.txt, the command line): a host httpx or the resolver cannot
    take, an impossible port, was an "internal error" of that fetch, or stopped a whole backfill. A
    CheckedURL (scraper.urls) passed that check where it entered: checked once, not twice, and its
    scheme is what precedes its first colon (the check found it so, and the URL has no leading space or
    control character that urlsplit would strip)."""
    if type(url) is CheckedURL:
        return url[: url.index(":")].lower()
    try:
        scheme = urlsplit(url).scheme.lower()
        if scheme in ("http", "https"):
            checked_url(url)
    except ValueError as exc:  # RefusedValueError is one; "http://[::1" is no URL at all
        raise UnsupportedURLError(
            url, str(exc) if isinstance(exc, RefusedValueError) else f"unusable URL ({exc})"
        ) from None
    return scheme


# A plain web URL: an ASCII host name (no IPv4-looking one), a port, and a path and query of characters
# httpx leaves as they are (no `%`, no fragment). httpx's own parser (httpx._urlparse.urlparse: 0.1 M
# instructions, of a 304 poll's 3 M) would only lower-case the host and drop a default port.
_PLAIN_URL = re.compile(
    r"(https?)://([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::([0-9]{1,5}))?"
    r"((?:/[A-Za-z0-9\-._~!$&'()*+,;=:@]*)*)(?:\?([A-Za-z0-9\-._~!$&'()*+,;=:@/?]*))?"
)
_IPV4_STYLE = re.compile(r"[0-9.]*")  # httpx checks such a host as an IPv4 address: left to it, unless
# it is one as ipaddress.IPv4Address reads it (four decimal octets up to 255, no leading zero), which
# httpx keeps as it is written.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PARSED_URLS = hasattr(httpx_urlparse, "ParseResult")  # else every URL goes to httpx's parser


def _request_url(url: str) -> httpx.URL | str:
    """The URL as httpx.URL(url) parses it, made directly for a plain URL (_PLAIN_URL) whose path has no
    dot segment to resolve; anything else is given to httpx as the string, to parse (and refuse) itself.
    tests/test_fetch_urls.py holds the two equal."""
    match = _PLAIN_URL.fullmatch(url) if _PARSED_URLS and len(url) <= 2048 else None
    if match is None:
        return url
    scheme, host, port, path, query = match.groups()
    if (_IPV4_STYLE.fullmatch(host) and not _IPV4.fullmatch(host)) or "/." in path:
        return url
    number = int(port) if port is not None else None
    if number is not None and number > 65535:
        return url
    if number == _DEFAULT_PORTS[scheme]:
        number = None
    parsed = httpx.URL.__new__(httpx.URL)
    parsed._uri_reference = httpx_urlparse.ParseResult(scheme, "", host.lower(), number, path, query, None)
    return parsed


def _build_request(client: httpx.AsyncClient, url: str, headers: RawHeaders) -> httpx.Request:
    """The GET that `httpx.Request("GET", url, headers=headers, extensions=<the client's timeouts>)`
    makes, built with one Headers instead of three: httpx copies the headers given, then (no body)
    looks up Host and the body's headers and builds them again with Host first. Here Host goes first
    as httpx puts it (the URL's netloc, unless the headers name a Host), and the empty body is given as
    the stream httpx would make. tests/test_fetch_urls.py holds the two equal."""
    target = _request_url(url)
    parsed = target if isinstance(target, httpx.URL) else httpx.URL(target)
    if parsed.host and not any(name.lower() == b"host" for name, _ in headers):
        headers = [(b"Host", parsed.netloc), *headers]
    return httpx.Request(
        "GET",
        parsed,
        headers=byte_headers(headers),
        stream=httpx.ByteStream(b""),
        extensions={"timeout": client.timeout.as_dict()},
    )


async def _send(
    client: httpx.AsyncClient, url: str, headers: RawHeaders, cookies: httpx.Cookies | None
) -> httpx.Response:
    """GET, streamed; with `cookies` (a site's jar), its cookies sent and the answer's kept in it. The
    request is what the client's build_request makes of an absolute URL and these headers (already merged
    with the client's: _MergedHeaders), with the client's timeouts; the client has no base URL,
    query parameters or cookies of its own to merge (see _new_client)."""
    request = _build_request(client, url, headers)
    if cookies is not None:
        cookies.set_cookie_header(request)
    response = await client_send.send(client, request)  # client.send(request, stream=True)
    if cookies is not None:
        keep_answer_cookies(cookies, response)
    return response


MAX_COOKIES = 100  # per site jar: RFC 6265 asks for at least 50; browsers keep ~150-180
MAX_COOKIE_BYTES = 4096  # name + value, RFC 6265's least limit, which browsers enforce
MAX_JAR_BYTES = 16 * 1024  # all of a site's cookies: most servers refuse request headers much larger


def keep_answer_cookies(cookies: httpx.Cookies, response: httpx.Response) -> None:
    """Keep an answer's cookies in the site's jar, within browsers' limits: a site (or a hostile answer)
    sending thousands of cookies, or huge ones, would otherwise grow the jar for the whole run and the
    Cookie header sent back on every request to it without bound. A cookie that could not be sent back
    (_sendable) is not kept."""
    cookies.extract_cookies(response)
    kept = total = 0
    for cookie in list(cookies.jar):
        size = len(cookie.name) + len(cookie.value or "")
        if (
            size > MAX_COOKIE_BYTES
            or kept >= MAX_COOKIES
            or total + size > MAX_JAR_BYTES
            or not _sendable(cookie.name + (cookie.value or ""))
        ):
            cookies.jar.clear(cookie.domain, cookie.path, cookie.name)
        else:
            kept, total = kept + 1, total + size


def _sendable(text: str) -> bool:
    """Whether a cookie's name and value can go back in a Cookie header: ASCII, as httpx encodes the
    header once the request's other headers are ASCII. A byte past ASCII (Latin-1 as the jar decodes it)
    failed every later request to the site with UnicodeEncodeError (an "internal error"): one answer
    poisoned the site's jar for the run."""
    return text.isascii()


async def _capture_refused(
    capture: Capture | None,
    url: str,
    kind: str,
    started: datetime,
    cap: int,
    guarded: bool,
    response: httpx.Response,
) -> None:
    """A redirect refused inside httpx (its Location unusable): its exchange goes to the capture all
    the same (the evidence of what the server said), then the refusal goes on as it was."""
    raw = _RawBody(cap)
    peer = _peer_address(response) if guarded else None
    try:
        async for chunk in response.aiter_raw():
            raw.add(chunk)
            if raw.truncated:
                break
    except httpx.HTTPError as exc:  # what was read is kept; the refusal is the error that counts
        log.info("capture of refused redirect %s: body cut short: %s", url, exc)
    _report(capture, url, kind, started, response, raw, peer)


def _report(
    capture: Capture | None,
    url: str,
    kind: str | None,
    started: datetime,
    response: httpx.Response,
    raw: _RawBody | None,
    peer: str | None,
) -> CaptureRef | None:
    """Hand the exchange to the capture, on the event loop: the WARC writer takes ~0.35 ms of CPU for
    an 80 KB page, mostly Python that holds the GIL, so a worker thread would only add its hand-off.
    Its failure costs the capture, never the fetch."""
    if capture is None or kind is None or raw is None:
        return None
    from scraper.capture.exchange import Exchange

    try:
        request = response.request
        return capture(
            Exchange(
                url=url,
                kind=kind,
                started=started,
                method=request.method,
                target=request.url.raw_path,
                http_version=response.http_version,
                request_version="HTTP/2" if response.http_version == "HTTP/2" else "HTTP/1.1",
                request_headers=tuple(request.headers.raw),
                status=response.status_code,
                reason=response.extensions.get("reason_phrase", b""),
                response_headers=tuple(response.headers.raw),
                body=b"".join(raw.parts),
                truncated=raw.truncated,
                peer_ip=peer,
            )
        )
    except Exception:
        log.exception("capture of %s failed", url)
        return None


async def _read_capped(
    url: str, response: httpx.Response, cap: int, raw: _RawBody | None, bodiless: bool = False
) -> bytes:
    """The body, decoded within the cap. `bodiless`: an answer that has none (a 204 or 304 whose end
    its connection already took), not iterated; its headers are judged all the same, as before (a
    Content-Encoding the decoder refuses, a Content-Length over the cap)."""
    encoding = response.headers.get("content-encoding", "")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap and not encoding:
        raise BodyTooLargeError(url, f"body of {int(declared)} bytes is over the {cap}-byte cap")
    decoder = _BodyDecoder(url, encoding, cap)
    if bodiless:
        return decoder.finish()
    if type(response.stream) is not HostBody:
        async for chunk in response.aiter_raw():
            decoder.feed(chunk)
            if raw is not None:
                raw.add(chunk)
        return decoder.finish()
    # The guarded transport's stream, read as response.aiter_raw() reads it (its checks, its count, an
    # error naming its request, the empty chunks skipped, the response closed at the end as
    # response.aclose() closes it) without its generator, request contexts and chunker around each body.
    if response.is_stream_consumed:
        raise httpx.StreamConsumed()
    if response.is_closed:
        raise httpx.StreamClosed()
    response.is_stream_consumed = True
    response._num_bytes_downloaded = 0
    try:
        async for chunk in response.stream:
            response._num_bytes_downloaded += len(chunk)
            if chunk:
                decoder.feed(chunk)
                if raw is not None:
                    raw.add(chunk)
        response.is_closed = True
        await response.stream.aclose()
    except httpx.RequestError as exc:
        if response._request is not None:
            exc.request = response._request
        raise
    return decoder.finish()


def _final_response(
    url: str, final_url: str, status: int, body: bytes, headers: dict[str, str], captured: CaptureRef | None
) -> Response:
    """The answer at the end of the redirects; a 429/503's Retry-After read as seconds to wait."""
    retry_after = None
    if status in (429, 503):
        retry_after = parse_retry_after(headers.get("retry-after"), datetime.now(UTC))
    return Response(url, final_url, status, body, headers, retry_after, captured)


def check_location(response: httpx.Response) -> None:
    """A redirect's Location is a stranger's value, like a feed's link: judged as one
    (scraper.sanitize.checked_url) before anything is built from it. httpx builds the next request
    even when it does not follow it, and fails on some (InvalidURL, a RemoteProtocolError that a retry
    would only repeat); a port of 99999 got as far as the socket layer. RedirectError says why."""
    if not response.has_redirect_location:
        return
    request_url = response.request.url
    location = response.headers["location"]
    try:
        checked_url(urljoin(str(request_url), location.strip()))  # the URL as written (８０ is no port)
        target = httpx.URL(location)  # and as httpx builds the next request (_redirect_url):
        if target.scheme and not target.host:  # `http:b` given the request's host (InvalidURL there)
            target = target.copy_with(host=request_url.host)
        httpx.URL(str(request_url.join(target)))
    except (httpx.InvalidURL, ValueError) as exc:  # RefusedValueError is a ValueError
        reason = f"redirect to an unusable URL: {exc} ({_shown(location)})"  # a Location may be huge
        raise RedirectError(str(request_url), reason) from None


# Set by Fetcher._exchange while a captured request is sent: what to do with a redirect refused in the
# hook below (httpx closes the answer once the hook raises, so it must be read here or never).
_ON_REFUSED: ContextVar[Callable[[httpx.Response], Awaitable[None]] | None] = ContextVar(
    "_ON_REFUSED", default=None
)


@contextmanager
def _refusals_captured(
    capture: Capture | None, url: str, kind: str | None, started: datetime, cap: int, guarded: bool
) -> Iterator[None]:
    """While a captured request is sent: a redirect check_location refuses is captured before httpx drops
    it (see _location_hook)."""
    if capture is None or kind is None:
        yield
        return
    token = _ON_REFUSED.set(
        lambda answer: _capture_refused(capture, url, kind, started, cap, guarded, answer)
    )
    try:
        yield
    finally:
        _ON_REFUSED.reset(token)


async def _location_hook(response: httpx.Response) -> None:
    """check_location as an httpx response hook: it runs before httpx reads the Location itself."""
    try:
        check_location(response)
    except RedirectError:
        on_refused = _ON_REFUSED.get()
        if on_refused is not None:
            await on_refused(response)
        raise


def _redirect_target(url: str, current: str, location: str, seen: set[str]) -> str:
    """Where a redirect leads (added to `seen`); RedirectError for a non-HTTP target or a loop."""
    target = urljoin(current, location.strip())
    if urlsplit(target).scheme.lower() not in ("http", "https"):
        raise RedirectError(url, f"redirect to a non-HTTP URL {target!r}")
    if target in seen:
        raise RedirectError(url, f"redirect loop at {target}")
    seen.add(target)
    return target


def _peer_address(response: httpx.Response) -> str | None:
    """The IP address the answer came from (WARC-IP-Address), while its connection is open."""
    stream = response.extensions.get("network_stream")
    try:
        address = stream.get_extra_info("server_addr") if stream is not None else None
    except Exception:  # a backend without the information
        return None
    return str(address[0]) if address else None


def _tls_error(exc: BaseException) -> bool:
    """A failed TLS handshake (a bad certificate, say): trying again at once gives the same answer."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _default_port(scheme: str) -> int:
    return 443 if scheme.lower() == "https" else 80


def _timeout_kind(exc: httpx.TimeoutException) -> str:
    return {
        httpx.ConnectTimeout: "no connection within the connect timeout",
        httpx.ReadTimeout: "the server stopped sending (read timeout)",
        httpx.WriteTimeout: "write timeout",
        httpx.PoolTimeout: "no free connection (pool timeout)",
    }.get(type(exc), type(exc).__name__)


def _read_file(url: str, if_modified_since: str | None = None, cap: int | None = None) -> Response:
    """A local file as an HTTP-like answer; its mtime serves as Last-Modified, so polls are conditional.

    Only a regular file is read, and no more of it than an HTTP body (`cap`): a FIFO would block the
    run, /dev/zero would never end. The file is opened without blocking and checked before reading."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise UnsupportedURLError(url, f"file URL of another host {parts.netloc!r}")
    path = Path(unquote(parts.path))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except (FileNotFoundError, NotADirectoryError):
        return Response(url, url, 404, b"")
    except (PermissionError, IsADirectoryError):
        return Response(url, url, 403, b"")
    except OSError as exc:
        raise UnsupportedURLError(url, f"local file not readable: {exc.strerror or exc}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UnsupportedURLError(url, "not a regular file (a folder, a device or a pipe)")
    with os.fdopen(fd, "rb") as handle:
        last_modified = formatdate(info.st_mtime, usegmt=True)
        if if_modified_since == last_modified:
            return Response(url, url, 304, b"", {"last-modified": last_modified})
        limit = cap if cap is not None else info.st_size
        body = handle.read(limit + 1)
    if len(body) > limit:
        raise BodyTooLargeError(url, f"local file larger than the cap of {limit} bytes")
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Response(url, url, 200, body, {"content-type": content_type, "last-modified": last_modified})
