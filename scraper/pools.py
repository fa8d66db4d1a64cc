"""One connection pool per host, so a request to one site never pays for the sockets kept for the others.

httpcore keeps one list of connections per pool and walks all of it on every request and every response
closed, asking each idle socket whether the server closed it (a system call or two per socket). With one
pool for every site, a daemon fetching from 40 hosts paid that for 40 sockets on each request; keeping no
socket idle instead (`Connection: close`) paid a new connection per article. Here each origin (scheme,
host, port) has its own small httpcore pool behind httpx's one transport: a request looks only at its own
host's sockets, and a host fetched again within the keep-alive time finds its connection open.

The pools of the origins used least lately are closed beyond `max_hosts` (only once no request of theirs
is running), which bounds the idle sockets whatever the number of sites.

Each pool is a CleanPool: a kept-alive connection whose parser still holds bytes once its response has
ended is closed, never reused. httpcore asks the socket whether the server sent unasked bytes (the
stream's `is_readable`), but bytes that came in the same read as the response are already in h11's
buffer, not the socket's; reused, the connection would hand them to the next request as its answer (a
forged response, in a hostile server's hands).

A CleanPool's direct connections are H11Connections (scraper.http11: connect and HTTP/1.1 in one
object, on h11, with that rule); CleanConnection, httpcore's connection with the rule added, is left for
a pool that may speak HTTP/2 and for a proxy's forwarding connection. It locks with asyncio's own Lock
where httpcore uses anyio's: anyio's `acquire` ends with a cancel-shielded checkpoint (a cancel scope
and a `sleep(0)`, so a trip through the event loop) even when the lock was free, and httpcore takes two
or three such locks per request. asyncio's Lock, free, is taken without yielding; mutual exclusion is
the same.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from functools import partial
from itertools import islice
from types import TracebackType
from typing import Any

import httpcore
import httpx
from httpcore._async.http_proxy import AsyncForwardHTTPConnection
from httpx._transports.default import map_httpcore_exceptions

from scraper.http11 import H11Connection, ResponseBody, core_request

MAX_HOSTS = 64  # origins whose pools (and idle keep-alive sockets) are kept

Origin = tuple[bytes, bytes, int | None]


class CleanConnection(httpcore.AsyncHTTPConnection):
    """An httpcore connection that counts as expired when, idle, its HTTP/1.1 parser holds bytes nobody
    asked for (see the module's docstring): the pool then closes it instead of handing it a request.
    Its locks, and its HTTP/1.1 connection's, are asyncio's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request_lock = asyncio.Lock()  # type: ignore[assignment]

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        if self._connection is None and self._http1 and not self._http2:
            async with self._request_lock:
                if self._connection is None:
                    self._connection = await self._connect_http11(request)
        return await super().handle_async_request(request)

    async def _connect_http11(self, request: httpcore.Request) -> httpcore.AsyncHTTP11Connection:
        """httpcore's own connect (its retries, TLS, SNI), then its HTTP/1.1 connection on asyncio's lock
        (an HTTP/1.1-only connection negotiates no HTTP/2: httpcore builds the same object)."""
        try:
            stream = await self._connect(request)
        except BaseException:
            self._connect_failed = True
            raise
        connection = httpcore.AsyncHTTP11Connection(
            origin=self._origin, stream=stream, keepalive_expiry=self._keepalive_expiry
        )
        connection._state_lock = asyncio.Lock()  # type: ignore[assignment]
        return connection

    def has_expired(self) -> bool:
        # HTTP/2 frames its own streams: nothing to look at there. `_h11_state` is read as is, not with a
        # getattr default: an httpcore that renamed it fails loudly (tests/test_pools_hostile.py).
        inner = self._connection
        if (
            isinstance(inner, httpcore.AsyncHTTP11Connection)
            and inner.is_idle()
            and inner._h11_state.trailing_data[0]
        ):
            return True
        return super().has_expired()


class CleanPool(httpcore.AsyncConnectionPool):
    """httpcore's pool whose direct connections are H11Connections (scraper.http11: HTTP/1.1, and the
    same rule: nothing may follow an answer on a kept connection), or CleanConnections for a pool that
    may speak HTTP/2 (a proxied client's pool is a CleanProxy).

    A request is queued, given a connection and handed back as httpcore's pool does it (its own
    `_assign_requests_to_connections` decides), on asyncio's primitives: a request that has to wait for
    a connection waits on a future (httpcore's pool makes an anyio event per request, waited in a cancel
    scope, and detects the async library on each), and its response's close and the connections' close
    take no anyio cancel shield (what they await, H11Connection's close, never suspends)."""

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        scheme = request.url.scheme
        if scheme not in (b"http", b"https", b"ws", b"wss"):
            return await super().handle_async_request(request)  # refused there, with httpcore's words
        timeout = request.extensions.get("timeout", {}).get("pool")
        pool_request = _PoolRequest(request)
        self._requests.append(pool_request)  # type: ignore[arg-type]  # duck-typed as httpcore's
        try:
            while True:
                await self._close_connections(self._assign_requests_to_connections())
                connection = await pool_request.wait_for_connection(timeout)
                try:
                    response = await connection.handle_async_request(request)
                except httpcore.ConnectionNotAvailable:  # taken meanwhile: queued again
                    pool_request.clear_connection()
                else:
                    break
        except BaseException:
            self._requests.remove(pool_request)  # type: ignore[arg-type]
            unused = pool_request.connection
            if isinstance(unused, H11Connection) and unused.is_new():
                await unused.aclose()  # assigned, then given up before it connected: not left waiting
            await self._close_connections(self._assign_requests_to_connections())
            raise
        # The connection's response, its stream wrapped (httpcore's pool builds another Response around
        # it, checking its headers a second time): the connection made it for this request alone. An
        # H11Connection's body calls back when closed instead (one stream less to pass each chunk through).
        stream = response.stream
        if type(stream) is ResponseBody:
            stream.on_closed = partial(self._request_done, pool_request)
        else:
            response.stream = _PoolBody(stream, pool_request, self)
        return response

    async def _request_done(self, pool_request: _PoolRequest) -> None:
        """A response read, failed or closed: its request leaves the queue, the connections are
        reassigned."""
        self._requests.remove(pool_request)  # type: ignore[arg-type]
        await self._close_connections(self._assign_requests_to_connections())

    async def _close_connections(self, closing: list[httpcore.AsyncConnectionInterface]) -> None:
        """Close what the pool let go (mostly nothing). H11Connections are closed one after the other,
        each to the end even if the task is cancelled meanwhile; anything else under httpcore's shield."""
        if not closing:
            return
        if not all(type(connection) is H11Connection for connection in closing):
            await super()._close_connections(closing)
            return
        cancelled: BaseException | None = None
        for connection in closing:
            try:
                await connection.aclose()
            except asyncio.CancelledError as exc:
                cancelled = exc
        if cancelled is not None:
            raise cancelled

    def create_connection(self, origin: httpcore.Origin) -> httpcore.AsyncConnectionInterface:
        if self._proxy is not None:
            return super().create_connection(origin)
        if self._http1 and not self._http2 and self._uds is None:
            return H11Connection(
                origin,
                network_backend=self._network_backend,
                ssl_context=self._ssl_context,
                keepalive_expiry=self._keepalive_expiry,
                retries=self._retries,
                local_address=self._local_address,
                socket_options=self._socket_options,
            )
        return CleanConnection(
            origin=origin,
            ssl_context=self._ssl_context,
            keepalive_expiry=self._keepalive_expiry,
            http1=self._http1,
            http2=self._http2,
            retries=self._retries,
            local_address=self._local_address,
            uds=self._uds,
            network_backend=self._network_backend,
            socket_options=self._socket_options,
        )


class _PoolRequest:
    """A request in a CleanPool's queue (httpcore's AsyncPoolRequest): the connection it was given, and
    a future made only if it has to wait for one."""

    __slots__ = ("_waiter", "connection", "request")

    def __init__(self, request: httpcore.Request) -> None:
        self.request = request
        self.connection: httpcore.AsyncConnectionInterface | None = None
        self._waiter: asyncio.Future[None] | None = None

    def assign_to_connection(self, connection: httpcore.AsyncConnectionInterface | None) -> None:
        self.connection = connection
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def clear_connection(self) -> None:
        self.connection = None

    def is_queued(self) -> bool:
        return self.connection is None

    async def wait_for_connection(self, timeout: float | None) -> httpcore.AsyncConnectionInterface:
        """The connection, once assigned; PoolTimeout after `timeout` seconds (None: no limit)."""
        if self.connection is None:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await self._waiter
            except TimeoutError:
                if self.connection is None:
                    raise httpcore.PoolTimeout(f"no connection within {timeout:g} s") from None
            finally:
                self._waiter = None
        assert self.connection is not None
        return self.connection


class _PoolBody:
    """A response's stream in a CleanPool (httpcore's PoolByteStream): once read, failed or closed, its
    request leaves the queue and the connections are reassigned."""

    def __init__(self, stream: Any, pool_request: _PoolRequest, pool: CleanPool) -> None:
        self._stream = stream
        self._pool_request = pool_request
        self._pool = pool
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._stream, "aclose", None)
            if close is not None:
                await close()
        finally:
            await self._pool._request_done(self._pool_request)


class CleanProxy(httpcore.AsyncHTTPProxy):
    """httpx's HTTP-proxy pool, its plain-http connections (forwarded: the proxy answers each request on
    the kept-alive socket) talking to the proxy over a CleanConnection, so bytes a proxy sent after an
    answer are not the next one. A tunnelled (https) connection's answers come through TLS from the site
    itself, as on a direct connection; those are httpcore's own."""

    def create_connection(self, origin: httpcore.Origin) -> httpcore.AsyncConnectionInterface:
        connection = super().create_connection(origin)
        if isinstance(connection, AsyncForwardHTTPConnection):
            connection._connection = CleanConnection(
                origin=self._proxy_url.origin,
                keepalive_expiry=self._keepalive_expiry,
                network_backend=self._network_backend,
                ssl_context=self._proxy_ssl_context,
            )
        return connection


def clean_proxy_pool(pool: object) -> None:
    """Make httpx's own HTTP-proxy pool (built by its transport from the proxy's URL, auth and TLS
    settings, which are not rebuilt here) a CleanProxy: the subclass adds a method and no state, so the
    object keeps every setting. A SOCKS proxy's pool is left as it is."""
    if type(pool) is httpcore.AsyncHTTPProxy:
        pool.__class__ = CleanProxy


class HostTransport(httpx.AsyncHTTPTransport):
    """httpx's transport (its pool replaced by HostPools, see scraper.fetch), handing a request over as
    httpx's own does (the same httpcore request, the same response stream, httpcore's errors mapped to
    httpx's by httpx's own map), without what a request that succeeds need not pay there: a context
    manager around the pool's call, two `typing` protocol checks of the streams, and the httpcore
    request's checks of values httpx already made bytes (scraper.http11.core_request)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core = core_request(
            request.method.encode("ascii"),
            httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            request.headers.raw,
            request.stream,
            request.extensions,
        )
        try:
            response = await self._pool.handle_async_request(core)
        except Exception:
            with map_httpcore_exceptions():  # raises its httpx counterpart (or itself, if none)
                raise
        return httpx.Response(
            status_code=response.status,
            headers=byte_headers(response.headers),
            stream=HostBody(response.stream),
            extensions=response.extensions,
        )


def byte_headers(pairs: list[tuple[bytes, bytes]]) -> httpx.Headers:
    """`httpx.Headers(pairs)` for (bytes, bytes) pairs (an answer's head as h11 or httpcore read it, a
    request's merged headers), made without its per-header conversions, which leave bytes as they are:
    the same name, its lower case, the same value, no encoding yet. Pairs of any other kind go to
    httpx.Headers. tests/test_client_send.py holds the two equal."""
    made: list[tuple[bytes, bytes, bytes]] = []
    for name, value in pairs:
        if type(name) is not bytes or type(value) is not bytes:
            return httpx.Headers(pairs)
        made.append((name, name.lower(), value))
    headers = httpx.Headers()
    headers._list = made
    return headers


class HostBody(httpx.AsyncByteStream):
    """A response's body as httpx's transport hands it over (its AsyncResponseStream: httpcore's errors
    mapped to httpx's), and once `bind` is called (scraper.client_send) the stream httpx's client binds
    to the response (its BoundAsyncStream: the response's `elapsed` set when closed), in one object: a
    chunk passes through one stream less."""

    __slots__ = ("_response", "_start", "_stream")

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._response: httpx.Response | None = None
        self._start = 0.0

    def bind(self, response: httpx.Response, start: float) -> None:
        self._response, self._start = response, start

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except Exception:  # mapped as httpx's `with map_httpcore_exceptions()` maps it, made on failure only
            with map_httpcore_exceptions():
                raise

    async def aclose(self) -> None:
        if self._response is not None:
            self._response.elapsed = timedelta(seconds=time.perf_counter() - self._start)
        if hasattr(self._stream, "aclose"):
            await self._stream.aclose()


class HostPools:
    """Hands each request to its origin's own pool, made by `new_pool` (given the origin's scheme, so an
    https pool alone needs a TLS context). Stands where httpx's transport keeps its pool
    (`transport._pool`)."""

    def __init__(
        self, new_pool: Callable[[bytes], httpcore.AsyncConnectionPool], *, max_hosts: int = MAX_HOSTS
    ) -> None:
        self._new_pool = new_pool
        self.max_hosts = max_hosts
        self._pools: OrderedDict[Origin, httpcore.AsyncConnectionPool] = OrderedDict()

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        origin = request.url.origin
        key = (origin.scheme, origin.host, origin.port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = self._new_pool(origin.scheme)
            await self._close_least_used()
        else:
            self._pools.move_to_end(key)
        return await pool.handle_async_request(request)

    async def _close_least_used(self) -> None:
        """Close the pools of the origins used least lately, beyond `max_hosts`, that are idle now."""
        surplus = len(self._pools) - self.max_hosts
        if surplus <= 0:
            return
        closing = []  # walked from the least used, and only as far as needed (not a copy of every key)
        for key, pool in islice(self._pools.items(), len(self._pools) - 1):  # never the one just made
            if all(connection.is_idle() or connection.is_closed() for connection in pool.connections):
                closing.append(key)
                if len(closing) == surplus:
                    break
        for key in closing:
            await self._pools.pop(key).aclose()

    @property
    def hosts(self) -> int:
        return len(self._pools)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()

    async def __aenter__(self) -> HostPools:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()
