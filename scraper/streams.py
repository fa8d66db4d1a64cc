"""httpcore's network layer on asyncio's own transports, without anyio in between.

httpcore reaches the network through anyio by default, and anyio pays for its generality on every call:
a connect goes through a happy-eyeballs task group (for one address the guard already chose), and every
read and every write opens a cancel scope with its own deadline timer, asks sniffio which library runs,
and maps exceptions twice. For a feed that answers 304 (a connect, one write, one or two reads, a close)
that was a quarter of the poll's CPU. Here a connection is an asyncio Protocol that buffers what arrives;
a read that finds data returns it at once, and only a read or a write that has to wait arms a timer.

What httpcore expects of a stream is kept: reads return at most `max_bytes`, b"" at the end of the
stream; timeouts raise ReadTimeout / WriteTimeout / ConnectTimeout; failures ReadError / WriteError /
ConnectError; `get_extra_info` answers "socket", "server_addr", "client_addr", "ssl_object" and
"is_readable" (whether the server closed or sent unasked bytes: read on arrival, so no system call).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

READ_BUFFER_LIMIT = 256 * 1024  # unread bytes held before the socket stops being read (back-pressure)


class _Connection(asyncio.Protocol):
    """Bytes received, held until read; the waiters of a read and of a drain."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: Exception | None = None
        self.reading: asyncio.Future[bool] | None = None
        self.draining: asyncio.Future[bool] | None = None
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > READ_BUFFER_LIMIT and self.transport is not None:
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake_reader()
        if self.draining is not None and not self.draining.done():
            self.draining.set_result(True)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.draining is not None and not self.draining.done():
            self.draining.set_result(True)

    def _wake_reader(self) -> None:
        if self.reading is not None and not self.reading.done():
            self.reading.set_result(True)


async def _wait(future: asyncio.Future[bool], timeout: float | None, error: type[Exception]) -> None:
    """Wait for the future (True: woken), at most `timeout` seconds (None: no limit); `error` when the
    time is up (the timer sets it False)."""
    if timeout is None:
        await future
        return
    handle = asyncio.get_running_loop().call_later(timeout, _expire, future)
    try:
        woken = await future
    finally:
        handle.cancel()
    if not woken:
        raise error(f"no progress within {timeout:g} s")


def _expire(future: asyncio.Future[bool]) -> None:
    if not future.done():
        future.set_result(False)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection (plain or TLS) as httpcore reads and writes it."""

    def __init__(self, transport: asyncio.Transport, connection: _Connection) -> None:
        self._transport = transport
        self._connection = connection

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        connection = self._connection
        while not connection.buffer:
            if connection.eof:
                if connection.error is not None:
                    raise httpcore.ReadError(str(connection.error) or type(connection.error).__name__)
                return b""
            connection.reading = asyncio.get_running_loop().create_future()
            try:
                await _wait(connection.reading, timeout, httpcore.ReadTimeout)
            finally:
                connection.reading = None
        data = bytes(connection.buffer[:max_bytes])
        del connection.buffer[:max_bytes]
        if len(connection.buffer) <= READ_BUFFER_LIMIT // 2 and not self._transport.is_closing():
            self._transport.resume_reading()
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        connection = self._connection
        if self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self._transport.write(buffer)
        if connection.paused:
            connection.draining = asyncio.get_running_loop().create_future()
            try:
                await _wait(connection.draining, timeout, httpcore.WriteTimeout)
            finally:
                connection.draining = None
            if connection.error is not None:
                raise httpcore.WriteError(str(connection.error) or type(connection.error).__name__)

    async def aclose(self) -> None:
        """Close now, not once the peer has read what is still queued: `close()` alone keeps the socket
        (and the unsent bytes) until the write buffer drains, which a server that never reads never lets
        happen. `close()` first so a TLS close_notify is still queued, then `abort()` drops the rest, as
        anyio's backend did."""
        self._transport.close()
        self._transport.abort()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        if self._connection.buffer or self._connection.eof:
            # Bytes read before the handshake were not protected by TLS (an on-path attacker can send
            # them); left in the buffer they would be the TLS stream's first read. anyio fed them to the
            # TLS layer, which failed the handshake; refusing does the same.
            self._transport.abort()
            raise httpcore.ConnectError("bytes or a close from the server before the TLS handshake")
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, self._connection, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            self._transport.close()
            raise httpcore.ConnectTimeout(f"no TLS handshake within {timeout:g} s") from None
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        if transport is None:  # the connection closed during the handshake
            raise httpcore.ConnectError("connection closed during the TLS handshake")
        self._connection.transport = transport  # reading is paused and resumed on the TLS layer now
        return AsyncioStream(transport, self._connection)

    def get_extra_info(self, info: str) -> Any:
        transport = self._transport
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        if info == "is_readable":  # httpcore's question: has the server closed it, or sent unasked bytes?
            connection = self._connection
            return bool(connection.buffer) or connection.eof or transport.is_closing()
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connects with the running loop's `create_connection`; `host` is an address (the guard resolved it)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, connection = await loop.create_connection(
                    _Connection,
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"no connection within {timeout:g} s") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(transport, connection)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the fetcher")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
