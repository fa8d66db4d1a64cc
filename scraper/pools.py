"""One connection pool per host, so a request to one site never pays for the sockets kept for the others.

httpcore keeps one list of connections per pool and walks all of it on every request and every response
closed, asking each idle socket whether the server closed it (a system call or two per socket). With one
pool for every site, a daemon fetching from 40 hosts paid that for 40 sockets on each request; keeping no
socket idle instead (`Connection: close`) paid a new connection per article. Here each host (scheme, name,
port) has its own small pool: a request looks only at its host's sockets, and a host fetched again within
the keep-alive time finds its connection open.

The pools of the hosts used least lately are closed beyond `max_hosts` (only once no request of theirs is
running), which bounds the idle sockets whatever the number of sites.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import httpx

MAX_HOSTS = 64  # hosts whose pools (and idle keep-alive sockets) are kept


class HostPools(httpx.AsyncBaseTransport):
    """An httpx transport that hands each request to its host's own transport, made by `new_transport`."""

    def __init__(
        self, new_transport: Callable[[], httpx.AsyncHTTPTransport], *, max_hosts: int = MAX_HOSTS
    ) -> None:
        self._new_transport = new_transport
        self.max_hosts = max_hosts
        self._pools: OrderedDict[tuple[str, str, int | None], httpx.AsyncHTTPTransport] = OrderedDict()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        key = (url.scheme, url.host, url.port)
        transport = self._pools.get(key)
        if transport is None:
            transport = self._pools[key] = self._new_transport()
            await self._close_least_used()
        else:
            self._pools.move_to_end(key)
        return await transport.handle_async_request(request)

    async def _close_least_used(self) -> None:
        """Close the pools of the hosts used least lately, beyond `max_hosts`, that are idle now."""
        surplus = len(self._pools) - self.max_hosts
        for key in list(self._pools)[:-1]:  # never the one just made
            if surplus <= 0:
                break
            transport = self._pools[key]
            if _idle(transport):
                del self._pools[key]
                surplus -= 1
                await transport.aclose()

    @property
    def hosts(self) -> int:
        return len(self._pools)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for transport in pools:
            await transport.aclose()


def _idle(transport: httpx.AsyncHTTPTransport) -> bool:
    """No request of this pool is running (a response being read holds its connection busy)."""
    pool = transport._pool  # the httpcore pool httpx keeps
    return all(connection.is_idle() or connection.is_closed() for connection in pool.connections)
