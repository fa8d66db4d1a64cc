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
from scraper.streams import AsyncioBackend

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]
MAX_VERDICTS = 4096  # addresses whose verdict an AddressGuard keeps

_net = ipaddress.ip_network

# The IANA IPv4 Special-Purpose Address Registry (whether or not it calls a block "globally reachable":
# none is a news site), multicast and the reserved 240/4.
_IPV4_SPECIAL = tuple(
    _net(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24",
        "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
        "224.0.0.0/4", "240.0.0.0/4",
    )
)  # fmt: skip
# Global unicast is allocated from 2000::/3 only: everything outside it (loopback, ::/96, fc00::/7,
# fe80::/10, the deprecated site-local fec0::/10, multicast, 100::/64, 5f00::/16...) is not public,
# unless it is a form that embeds an IPv4 address (below). Inside it, the registry's special blocks.
_IPV6_GLOBAL_UNICAST = _net("2000::/3")
_IPV6_SPECIAL = tuple(
    _net(n)
    for n in ("2001::/23", "2001:db8::/32", "3fff::/20", "2620:4f:8000::/48")
)  # fmt: skip
# Forms whose last 32 bits are an IPv4 address that the packet (or a gateway) will reach.
_IPV4_TAIL = tuple(
    _net(n)
    for n in (
        "::ffff:0:0/96",  # IPv4-mapped
        "::/96",  # IPv4-compatible (deprecated; `::` and `::1` embed 0.0.0.0 and 0.0.0.1)
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b::/96",  # NAT64, the well-known prefix
    )
)  # fmt: skip
_NAT64_LOCAL = _net("64:ff9b:1::/48")  # NAT64 for local use (RFC 8215): the operator's own gateway
_SIX_TO_FOUR = _net("2002::/16")
_TEREDO = _net("2001::/32")
_ISATAP_IID = 0x00005EFE  # interface id `0:5efe:a.b.c.d` (or `200:5efe:` with the u bit), any prefix


def is_public(address: str | IPAddress) -> bool:
    """Globally routable unicast. Not: loopback, private, link-local (cloud metadata), CGNAT, multicast,
    documentation, benchmarking, site-local, any special-purpose block of the IANA registries. An IPv6
    form that embeds an IPv4 address (mapped, compatible, SIIT, NAT64, 6to4, Teredo, ISATAP) is judged
    by that address, since that is where its packets go."""
    ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv4Address):
        return ip.is_global and not any(ip in network for network in _IPV4_SPECIAL)
    if any(ip in network for network in _IPV4_TAIL):
        return is_public(_last_32_bits(ip))
    if ip in _NAT64_LOCAL or ip not in _IPV6_GLOBAL_UNICAST:
        return False
    if ip in _SIX_TO_FOUR:
        return is_public(ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF))
    if ip in _TEREDO:
        server, client = ip.teredo or (None, None)
        return server is not None and client is not None and is_public(server) and is_public(client)
    if any(ip in network for network in _IPV6_SPECIAL):
        return False
    if (int(ip) >> 32) & 0xFDFFFFFF == _ISATAP_IID and not is_public(_last_32_bits(ip)):
        return False
    return ip.is_global


def _last_32_bits(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)


def _may_be_literal(host: str) -> bool:
    """Whether the host could be an IP address as `ipaddress.ip_address` reads one: IPv6 has a colon,
    IPv4 is digits and dots. Anything else is a name, told so without the two parses and the exception
    that ip_address takes to refuse it."""
    return ":" in host or host.replace(".", "").isdigit()


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
        self._verdicts: dict[str, bool] = {}
        self.allow_private = allow_private
        self.allow_networks = tuple(ipaddress.ip_network(n, strict=False) for n in allow_networks)
        self._resolver = resolver or system_resolver

    @property
    def allow_networks(self) -> tuple[IPNetwork, ...]:
        return self._allow_networks

    @allow_networks.setter
    def allow_networks(self, networks: tuple[IPNetwork, ...]) -> None:
        """Kept verdicts were judged under the networks before: forgotten with them."""
        self._allow_networks = networks
        self._verdicts.clear()

    def allowed(self, address: str) -> bool:
        """Whether the address may be connected to. The verdict depends on the address and the settings
        alone, so it is kept (up to MAX_VERDICTS addresses, then forgotten together): a run that polls
        a thousand feeds on a few addresses parses and judges each address once, not per connect."""
        if self.allow_private:
            return True
        verdict = self._verdicts.get(address)
        if verdict is None:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            verdict = is_public(ip) or any(ip in network for network in self.allow_networks)
            if len(self._verdicts) >= MAX_VERDICTS:
                self._verdicts.clear()
            self._verdicts[address] = verdict
        return verdict

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to; raises BlockedAddressError if any of them is not allowed.

        One bad address refuses the host: a name that answers both public and private addresses is
        exactly what a rebinding attack looks like.
        """
        host = host.strip("[]")
        literal = host.split("%", 1)[0]
        if _may_be_literal(literal):
            try:
                ipaddress.ip_address(literal)
                addresses = [host]
            except ValueError:
                addresses = await self._resolver(host, port)
        else:
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
    """httpcore network backend that connects only to addresses the guard has checked; by default over
    asyncio's own transports (scraper.streams), not anyio's."""

    def __init__(self, guard: AddressGuard, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._guard = guard
        self._inner = inner or AsyncioBackend()

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
