"""One connection pool per host, so a request to one site never pays for the sockets kept for the others.

httpcore keeps one list of connections per pool and walks all of it on every request and every response
closed, asking each idle socket whether the server closed it (a system call or two per socket). With one
pool for every site, a daemon fetching from 40 hosts paid that for 40 sockets on each request; keeping no
socket idle instead (`Connection: close`) paid a new connection per article. Here each origin (scheme,
host, port) has its own small httpcore pool behind httpx's one transport: a request looks only at its own
host's sockets, and a host fetched again within the keep-alive time finds its connection open.

The pools of the origins used least lately are closed beyond `max_hosts` (only once no request of theirs
is running), which bounds the idle sockets whatever the number of sites.
"""

from __future__ import annotations

import select
from collections import OrderedDict
from collections.abc import Callable, Iterable
from socket import socket
from types import TracebackType
from typing import Any

import httpcore

MAX_HOSTS = 64  # origins whose pools (and idle keep-alive sockets) are kept

Origin = tuple[bytes, bytes, int | None]


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
        for key in list(self._pools)[:-1]:  # never the one just made
            if surplus <= 0:
                break
            pool = self._pools[key]
            if all(connection.is_idle() or connection.is_closed() for connection in pool.connections):
                del self._pools[key]
                surplus -= 1
                await pool.aclose()

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


class SocketStream(httpcore.AsyncNetworkStream):
    """A connection's stream that knows its socket. httpcore asks every idle connection of a pool, on each
    request and each answer closed, whether the server closed it (`get_extra_info("is_readable")`), and
    anyio answers each such question by building a dict of the socket's attributes, which asks the kernel
    for the peer's address (getpeername) every time: a system call or three per request for a value that
    never changes. Here the socket is looked up once; the rest goes to the stream it wraps."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        return SocketStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if self._socket is not None:  # else (a stream of no socket) its own answers
            if info == "socket":
                return self._socket
            if info == "is_readable":
                return readable(self._socket)
        return self._inner.get_extra_info(info)


def readable(sock: socket) -> bool:
    """Would a read return at once (data, or the end of a closed connection)? As httpcore asks it: a
    closed socket counts as readable (its next read gives the end)."""
    fd = sock.fileno()
    if fd < 0:
        return True
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


class SocketBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend (anyio by default) with each stream a SocketStream."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return SocketStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return SocketStream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
