"""Which addresses the fetcher may reach, checked on the address it actually connects to.

A feed is written by strangers, and so are the links in it: without a guard, one `<link>` pointing at
`http://169.254.169.254/` or `http://localhost:6379/` turns the fetcher into a probe of the operator's own
network. Checking a host name once and then letting the HTTP client resolve it again leaves a gap (DNS
rebinding: public the first time, private the second), so the check sits in the connection itself: an
httpcore network backend that resolves the name, refuses if any address is not public, and connects to
the address it checked. Every new connection goes through it, so every redirect hop is covered too.

Through a proxy the proxy resolves and connects; there the check is a best effort before the request
(IP literals, and names that resolve here), since the operator chose the proxy and what it can reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence

import httpcore

from scraper.errors import BlockedAddressError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

# 64:ff9b::/96 (NAT64) embeds an IPv4 address the gateway will reach: judge that address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(address: str | IPAddress) -> bool:
    """Globally routable unicast; loopback, private, link-local (cloud metadata), CGNAT, multicast are not."""
    ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public(embedded)
    return ip.is_global and not ip.is_multicast


async def system_resolver(host: str, port: int) -> list[str]:
    """The system's resolver (getaddrinfo, in a thread), addresses in its order, without duplicates."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class AddressGuard:
    """Resolves host names and refuses non-public answers (unless allowed by the configuration)."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        allow_networks: Iterable[str] = (),
        resolver: Resolver | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.allow_networks = tuple(ipaddress.ip_network(n, strict=False) for n in allow_networks)
        self._resolver = resolver or system_resolver

    def allowed(self, address: str) -> bool:
        if self.allow_private:
            return True
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        return is_public(ip) or any(ip in network for network in self.allow_networks)

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to; raises BlockedAddressError if any of them is not allowed.

        One bad address refuses the host: a name that answers both public and private addresses is
        exactly what a rebinding attack looks like.
        """
        host = host.strip("[]")
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
            addresses = [host]
        except ValueError:
            addresses = await self._resolver(host, port)
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}: no addresses")
        for address in addresses:
            if not self.allowed(address):
                raise BlockedAddressError(
                    host,
                    f"{host} resolves to the non-public address {address}; "
                    "set http.allow_private_networks = true (or list it in http.allow_networks) to allow it",
                )
        return addresses

    async def check_before_proxy(self, host: str, port: int) -> None:
        """Best effort for proxied requests: IP literals and names that resolve here are checked."""
        if self.allow_private:
            return
        with contextlib.suppress(OSError, httpcore.ConnectError):  # not resolvable here: the proxy will
            await self.resolve(host, port)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that connects only to addresses the guard has checked."""

    def __init__(self, guard: AddressGuard, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._guard = guard
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses: Sequence[str] = await self._guard.resolve(host, port)
        except OSError as exc:  # socket.gaierror: the name does not resolve
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from None
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the fetcher")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
