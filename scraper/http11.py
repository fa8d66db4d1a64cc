"""A lean HTTP/1.1 connection for the per-host pools (scraper.pools): h11 over the guarded network stream.

httpcore's own connection is two objects deep (a connection that connects, and the HTTP/1.1 connection
it then makes), and each request and each response event passes through its trace hooks (a context
manager apiece, even when nobody traces), its state lock and its anyio cancel shields: a twelfth of the
instructions of a poll answered 304 (benchmarks/poll_cost.py). H11Connection is both in one: it
connects as httpcore does (the network backend's `connect_tcp`, so the address guard checks every
connect; `start_tls` with the pool's verifying context, SNI and ALPN "http/1.1" for https), then speaks
HTTP/1.1 through h11, as httpcore does, with httpcore's limits (100 kB for a response's head, 64 kB
reads) and its timeouts (connect, write, read, from the request's `timeout` extension).

What httpcore's pool asks of a connection is kept: `is_available`, `is_idle`, `is_closed`, `has_expired`
(the keep-alive time is up, or the server closed or sent something while the connection was idle),
`ConnectionNotAvailable` if handed a request while busy, and a response whose stream, once read or
closed, hands the connection back. One thing is stricter than httpcore: a connection is kept for the
next request only if nothing follows its answer (no bytes after it, no close): bytes that came with an
answer but after its end would otherwise be read as the next request's answer (see scraper.pools).

Without httpcore's trace hooks (the request's `trace` extension, which neither httpx nor scraper sets)
and HTTP/1.1 only: a pool that may speak HTTP/2 keeps httpcore's connection.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Awaitable, Callable
from itertools import count
from typing import Any

import h11
import httpcore
import httpx
from h11._headers import Headers as _H11Headers
from h11._headers import normalize_and_validate
from httpcore._ssl import default_ssl_context

READ_NUM_BYTES = 64 * 1024  # httpcore's: one read of the socket
MAX_INCOMPLETE_EVENT_SIZE = 100 * 1024  # httpcore's: a response's head (or a chunk line) larger fails
NO_BODY_STATUSES = (204, 304)  # answers that never have a body (RFC 9110 6.4.1), whatever they say
RETRIES_BACKOFF_FACTOR = 0.5  # httpcore's: between connect attempts, 0, 0.5, 1, 2... seconds

NEW, ACTIVE, IDLE, CLOSED = "NEW", "ACTIVE", "IDLE", "CLOSED"
_Response = h11.Response
_Informational = h11.InformationalResponse
_Data = h11.Data
_EndOfMessage = h11.EndOfMessage
_NEED_DATA = h11.NEED_DATA
_PAUSED = h11.PAUSED
_DONE = h11.DONE
_SEND_RESPONSE = h11.SEND_RESPONSE
MAX_VALIDATED_HEADERS = 256  # distinct request header lists whose h11 validation is kept


class H11Connection(httpcore.AsyncConnectionInterface):
    """One HTTP/1.1 connection to `origin`, made on its first request (the one the pool made it for)."""

    def __init__(
        self,
        origin: httpcore.Origin,
        *,
        network_backend: httpcore.AsyncNetworkBackend,
        ssl_context: ssl.SSLContext | None = None,
        keepalive_expiry: float | None = None,
        retries: int = 0,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> None:
        self._origin = origin
        self._backend = network_backend
        self._ssl_context = ssl_context
        self._keepalive_expiry = keepalive_expiry
        self._retries = retries
        self._local_address = local_address
        self._socket_options = socket_options
        self._stream: httpcore.AsyncNetworkStream | None = None
        self._stream_closed = False
        self._h11 = h11.Connection(our_role=h11.CLIENT, max_incomplete_event_size=MAX_INCOMPLETE_EVENT_SIZE)
        self._state = NEW
        self._expire_at: float | None = None
        self._request_count = 0

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        if request.url.origin != self._origin:
            raise RuntimeError(f"a request to {request.url.origin} on a connection to {self._origin}")
        state = self._state
        if state is IDLE:
            self._expire_at = None
        elif state is NEW:  # the pool hands a new connection the one request it was made for
            self._state = ACTIVE  # before the first await: no other request is given it meanwhile
            try:
                self._stream = await self._connect(request)
            except BaseException:
                self._state = CLOSED  # the pool drops it
                raise
        else:
            raise httpcore.ConnectionNotAvailable()
        self._state = ACTIVE
        self._request_count += 1
        timeouts = request.extensions.get("timeout", {})
        try:
            # as httpcore: a server that closed early may still have answered; read it (not with
            # contextlib.suppress: an object and three calls per request)
            try:  # noqa: SIM105
                await self._send_request(request, timeouts.get("write"))
            except httpcore.WriteError:
                pass
            event = await self._receive_head(timeouts.get("read"))
            first = None
            if event.status_code in NO_BODY_STATUSES or request.method == b"HEAD":
                # h11 frames these without a body (RFC 9110 6.4.1): their end is taken now, without a
                # read, so the response is whole (its connection free again) once closed, read or not
                first = await self._next_event(timeouts.get("read"))
        except BaseException:
            await self.aclose()
            raise
        return core_response(
            event.status_code,
            event.headers.raw_items(),
            ResponseBody(self, timeouts.get("read"), first),
            {
                "http_version": b"HTTP/" + event.http_version,
                "reason_phrase": event.reason,
                "network_stream": self._stream,
            },
        )

    async def _connect(self, request: httpcore.Request) -> httpcore.AsyncNetworkStream:
        """The backend's connect (the guard's: every connect checked), then TLS for https, as httpcore's
        connection makes it; a refused or timed-out connect is tried again `retries` times."""
        timeout = request.extensions.get("timeout", {}).get("connect")
        origin = self._origin
        host = origin.host.decode("ascii")
        delays = (RETRIES_BACKOFF_FACTOR * 2**n for n in count())
        retries_left = self._retries
        while True:
            try:
                stream = await self._backend.connect_tcp(
                    host,
                    origin.port,
                    timeout=timeout,
                    local_address=self._local_address,
                    socket_options=self._socket_options,
                )
                if origin.scheme in (b"https", b"wss"):
                    context = self._ssl_context if self._ssl_context is not None else default_ssl_context()
                    context.set_alpn_protocols(["http/1.1"])
                    stream = await stream.start_tls(
                        context,
                        server_hostname=request.extensions.get("sni_hostname") or host,
                        timeout=timeout,
                    )
                return stream
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                if retries_left <= 0:
                    raise
                delay = 0.0 if retries_left == self._retries else next(delays)
                retries_left -= 1
                await self._backend.sleep(delay)

    async def _send_request(self, request: httpcore.Request, timeout: float | None) -> None:
        """The head, the body's chunks and its end through h11 (which validates every header), written
        as one piece when the body is empty (a GET's)."""
        connection = self._h11
        try:
            pending = connection.send(
                h11.Request(
                    method=request.method,
                    target=request.url.target,
                    headers=validated_headers(request.headers),
                )
            )
        except h11.LocalProtocolError as exc:
            raise httpcore.LocalProtocolError(exc) from exc
        assert self._stream is not None and pending is not None
        stream = request.stream
        if type(stream) is httpx.ByteStream and type(stream._stream) is bytes:
            # httpx's body in one piece (a GET's b""): the one chunk its async generator would yield
            if stream._stream:
                await self._stream.write(pending + connection.send(h11.Data(data=stream._stream)), timeout)
                pending = b""
        else:
            async for chunk in stream:  # type: ignore[union-attr]
                if chunk:
                    await self._stream.write(pending + connection.send(h11.Data(data=chunk)), timeout)
                    pending = b""
        await self._stream.write(pending + connection.send(_EndOfMessage()), timeout)

    async def _next_event(self, timeout: float | None, read_first: bool = False) -> Any:
        """h11's next event, reading the socket as long as it needs more bytes. `read_first`: h11 holds
        no byte (the first read of an answer), so its first answer would be NEED_DATA: read at once."""
        connection = self._h11
        while True:
            if not read_first:
                try:
                    event = connection.next_event()
                except h11.RemoteProtocolError as exc:
                    raise httpcore.RemoteProtocolError(exc) from exc
                if event is not _NEED_DATA:
                    return event
            read_first = False
            assert self._stream is not None
            data = await self._stream.read(READ_NUM_BYTES, timeout)
            if not data and connection.their_state is _SEND_RESPONSE:
                raise httpcore.RemoteProtocolError("Server disconnected without sending a response.")
            connection.receive_data(data)

    async def _receive_head(self, timeout: float | None) -> Any:
        """The response (a 1xx other than 101 skipped, as httpcore does). Its first bytes are read before
        h11 is asked: a request is sent only on a connection whose parser holds nothing (a new one, or
        one kept because nothing followed its last answer: _response_closed), so h11 could only answer
        NEED_DATA."""
        read_first = not any(self._h11.trailing_data)
        while True:
            event = await self._next_event(timeout, read_first)
            read_first = False
            kind = type(event)
            if kind is _Response or (kind is _Informational and event.status_code == 101):
                return event

    async def _response_closed(self) -> None:
        """The response was read or dropped: the connection is kept for the next request only if both
        sides are done and nothing (no byte, no close) followed the answer; else closed."""
        connection = self._h11
        if self._state is ACTIVE and connection.our_state is _DONE and connection.their_state is _DONE:
            connection.start_next_cycle()
            if not any(connection.trailing_data):
                self._state = IDLE
                if self._keepalive_expiry is not None:
                    self._expire_at = time.monotonic() + self._keepalive_expiry
                return
        await self.aclose()

    async def aclose(self) -> None:
        """Closed for good. The stream is kept (closed), so a response still being read when its pool is
        closed (a drain) ends in the network error a closed connection gives, not in a missing stream."""
        self._state = CLOSED
        if self._stream is not None and not self._stream_closed:
            self._stream_closed = True
            await self._stream.aclose()

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        return origin == self._origin

    def is_available(self) -> bool:
        return self._state is IDLE

    def is_new(self) -> bool:
        """Not yet connected: made for a request that has not come to it."""
        return self._state is NEW

    def has_expired(self) -> bool:
        if self._state is not IDLE:
            return False
        if self._expire_at is not None and time.monotonic() > self._expire_at:
            return True
        return self._stream is None or bool(self._stream.get_extra_info("is_readable"))

    def is_idle(self) -> bool:
        return self._state is IDLE

    def is_closed(self) -> bool:
        return self._state is CLOSED

    def info(self) -> str:
        return f"{str(self._origin)!r}, HTTP/1.1, {self._state}, Request Count: {self._request_count}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.info()}]>"


_VALIDATED: dict[tuple[tuple[bytes, bytes], ...], _H11Headers] = {}
_SECRET_HEADERS = frozenset({b"cookie", b"authorization", b"proxy-authorization"})


def validated_headers(headers: list[tuple[bytes, bytes]]) -> _H11Headers:
    """h11's validation of a request's headers (h11._headers.normalize_and_validate: every name and
    value matched against the grammar, Content-Length and Transfer-Encoding checked), kept per distinct
    header list: a page fetch sends its host's same few headers each time, and the regular expressions
    were a twentieth of a GET. The result depends on the headers alone (a list refused is refused every
    time: not kept), and h11 never changes a request's Headers. Kept up to MAX_VALIDATED_HEADERS lists
    (a poll's validators make each feed's its own), then forgotten together. A list carrying a secret (a
    cookie, credentials) is validated each time and never kept: it lives no longer than its request."""
    if any(name.lower() in _SECRET_HEADERS for name, _ in headers):
        return normalize_and_validate(headers)
    key = tuple(headers)
    try:
        made = _VALIDATED.get(key)
    except TypeError:  # an unhashable value (a bytearray): validated, not kept
        return normalize_and_validate(headers)
    if made is None:
        made = normalize_and_validate(headers)
        if len(_VALIDATED) >= MAX_VALIDATED_HEADERS:
            _VALIDATED.clear()
        _VALIDATED[key] = made
    return made


def core_request(
    method: bytes,
    url: httpcore.URL,
    headers: list[tuple[bytes, bytes]],
    stream: Any,
    extensions: dict[str, Any],
) -> httpcore.Request:
    """`httpcore.Request(method, url, headers=headers, content=stream, extensions=extensions)` for values
    already of the kinds its constructor converts to (bytes, an httpcore.URL, (bytes, bytes) pairs, an
    iterable stream), which it would leave as they are: made without its checks (two `typing` protocol
    checks and a conversion per header). tests/test_http11.py holds the two equal, attribute for
    attribute; a request with a `target` extension goes through the constructor."""
    if "target" in extensions:
        return httpcore.Request(method, url, headers=headers, content=stream, extensions=extensions)
    request = httpcore.Request.__new__(httpcore.Request)
    request.method, request.url, request.headers = method, url, headers
    request.stream, request.extensions = stream, extensions
    return request


def core_response(
    status: int, headers: list[tuple[bytes, bytes]], stream: Any, extensions: dict[str, Any]
) -> httpcore.Response:
    """`httpcore.Response(status, headers=headers, content=stream, extensions=extensions)` for (bytes,
    bytes) headers and an async iterable stream, as core_request (tests/test_http11.py)."""
    response = httpcore.Response.__new__(httpcore.Response)
    response.status, response.headers, response.stream, response.extensions = (
        status,
        headers,
        stream,
        extensions,
    )
    response._stream_consumed = False
    return response


class ResponseBody:
    """A response's body as h11 reads it; once read to its end, failed or closed, the connection is
    handed back (or closed: H11Connection._response_closed), then `on_closed` is awaited (its pool's
    bookkeeping, scraper.pools: set there rather than wrapping this stream in another)."""

    __slots__ = ("_closed", "_connection", "_first", "_timeout", "on_closed")

    def __init__(self, connection: H11Connection, timeout: float | None, first: Any = None) -> None:
        self._connection = connection
        self._timeout = timeout
        self._first = first  # the body's first event, if already taken (a bodiless answer's end)
        self._closed = False
        self.on_closed: Callable[[], Awaitable[None]] | None = None

    async def __aiter__(self) -> Any:
        connection, timeout = self._connection, self._timeout
        event, self._first = self._first, None
        try:
            while True:
                if event is None:
                    event = await connection._next_event(timeout)
                kind = type(event)
                if kind is _Data:
                    yield bytes(event.data)
                elif kind is _EndOfMessage or event is _PAUSED:
                    break
                event = None
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                await self._connection._response_closed()
            finally:
                if self.on_closed is not None:
                    await self.on_closed()
