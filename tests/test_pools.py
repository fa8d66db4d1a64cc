"""A connection pool per host (scraper.pools): keep-alive per site, sockets of other sites never walked,
and the pools of the hosts used least lately closed beyond the cap."""

from __future__ import annotations

import asyncio
import ssl
from collections import Counter

from scraper.config import HttpConfig
from scraper.fetch import Fetcher
from scraper.pools import CleanPool, HostPools
from scraper.streams import AsyncioBackend

ADDRESSES = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


async def keep_alive_server(connections: Counter[str]) -> tuple[asyncio.Server, int]:
    """HTTP/1.1 with keep-alive on three loopback addresses; counts the connections per address."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections[writer.get_extra_info("sockname")[0]] += 1
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                body = b"<p>ok</p>"
                head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n\r\n"
                writer.write(head.encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    probe = await asyncio.start_server(client, ADDRESSES[0], 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    return await asyncio.start_server(client, list(ADDRESSES), port, reuse_address=True), port


def test_each_host_keeps_its_own_connection_alive_and_the_least_used_pools_are_closed() -> None:
    async def main() -> tuple[Counter[str], int, list[int]]:
        connections: Counter[str] = Counter()
        server, port = await keep_alive_server(connections)
        config = HttpConfig(allow_private_networks=True, per_host_delay=0)
        async with server, Fetcher(config) as fetcher:
            pools = fetcher._direct._transport._pool  # type: ignore[attr-defined]
            assert isinstance(pools, HostPools)
            pools.max_hosts = 2
            statuses = []
            for address in (*ADDRESSES[:2], *ADDRESSES[:2], *ADDRESSES[:2]):  # two hosts, in turns
                statuses.append((await fetcher.get(f"http://{address}:{port}/a")).status)
            kept = pools.hosts
            await fetcher.get(f"http://{ADDRESSES[2]}:{port}/a")  # a third host: the least used is closed
            await fetcher.get(f"http://{ADDRESSES[0]}:{port}/a")  # so .1 connects again
            return connections, kept, statuses

    connections, kept, statuses = asyncio.run(main())
    assert statuses == [200] * 6
    assert kept == 2
    # Six requests to two hosts, in turns, took one connection each; after the cap closed .1's pool, .1
    # connected once more.
    assert connections == {"127.0.0.1": 2, "127.0.0.2": 1, "127.0.0.3": 1}


def test_the_ca_bundle_is_loaded_only_when_an_https_origin_is_met() -> None:
    """Plain-http fetches make no TLS context (loading the CA bundle is slow); the first https origin's
    pool gets the one verifying context, and every later https pool the same one."""

    async def main() -> None:
        connections: Counter[str] = Counter()
        server, port = await keep_alive_server(connections)
        config = HttpConfig(allow_private_networks=True, per_host_delay=0)
        async with server, Fetcher(config) as fetcher:
            assert (await fetcher.get(f"http://{ADDRESSES[0]}:{port}/a")).status == 200
            assert fetcher._tls.made is None
            first = fetcher._guarded_pool(b"https")
            second = fetcher._guarded_pool(b"HTTPS")
            context = fetcher._tls.made
            assert context is not None
            assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
            assert first._ssl_context is context and second._ssl_context is context
            assert fetcher._guarded_pool(b"http")._ssl_context is None

    asyncio.run(main())


def test_requests_that_share_one_connection_take_turns_and_each_gets_its_own_answer() -> None:
    """A CleanPool of one connection (its locks asyncio's, scraper.pools): eight requests at once wait
    their turn on the one connection, none gets another's answer, and the connection is kept alive."""

    async def main() -> tuple[list[bytes], Counter[str]]:
        connections: Counter[str] = Counter()

        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections["opened"] += 1
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    path = head.split(b" ", 2)[1]
                    await asyncio.sleep(0.01)  # so the others queue behind this one
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(path), path))
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server, CleanPool(max_connections=1, network_backend=AsyncioBackend()) as pool:

            async def one(n: int) -> bytes:
                response = await pool.request("GET", f"http://127.0.0.1:{port}/{n}")
                return response.content

            bodies = await asyncio.gather(*(one(n) for n in range(8)))
        return bodies, connections

    bodies, connections = asyncio.run(main())
    assert bodies == [f"/{n}".encode() for n in range(8)]
    assert connections == {"opened": 1}
