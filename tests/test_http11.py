"""scraper.http11's H11Connection, the per-host pools' HTTP/1.1 connection, on real sockets on 127.0.0.1:
bodies (chunked, by length, none for a 304), keep-alive reuse, servers that close early or send a head
too long, a request that cannot be written, https with the certificate checked, and the same through the
Fetcher (its FetchError)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest

from scraper.config import HttpConfig
from scraper.errors import FetchError
from scraper.fetch import Fetcher
from scraper.http11 import MAX_INCOMPLETE_EVENT_SIZE, core_request, core_response
from scraper.pools import CleanPool
from scraper.streams import AsyncioBackend

Reply = Callable[[int, bytes, asyncio.StreamWriter], Awaitable[bool]]  # True: keep the connection


class Server:
    """HTTP/1.1 on 127.0.0.1: `reply(n, head, writer)` answers the n-th request (over all connections)."""

    def __init__(self, reply: Reply, context: ssl.SSLContext | None = None) -> None:
        self.reply = reply
        self.context = context
        self.accepted = 0
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                if not await self.reply(len(self.requests) - 1, head, writer):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> int:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0, ssl=self.context)
        return int(self._server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()


def answer(data: bytes, keep: bool = True) -> Reply:
    async def reply(n: int, head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(data)
        await writer.drain()
        return keep

    return reply


async def get(
    pool: CleanPool, url: str, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, bytes]:
    response = await pool.request(
        "GET", url, headers=headers, extensions={"timeout": {"connect": 5, "read": 5, "write": 5, "pool": 5}}
    )
    return response.status, response.content


def pool() -> CleanPool:
    return CleanPool(network_backend=AsyncioBackend(), keepalive_expiry=5)


def test_a_chunked_body_is_read_whole_and_the_connection_reused() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"

    async def main() -> tuple[list[tuple[int, bytes]], int, list[str]]:
        server = Server(answer(chunked))
        async with server as port, pool() as connections:
            got = [await get(connections, f"http://127.0.0.1:{port}/{n}") for n in range(3)]
            left = [type(c).__name__ + (" idle" if c.is_idle() else " busy") for c in connections.connections]
            return got, server.accepted, left

    got, accepted, left = asyncio.run(main())
    assert got == [(200, b"hello world")] * 3
    assert accepted == 1
    assert left == ["H11Connection idle"]


def test_304s_without_a_body_keep_one_connection_alive() -> None:
    """A 304 has no body whatever it says: each answer ends at its head, the next request reuses the
    connection, and the conditional header goes out as given."""
    not_modified = b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n'

    async def main() -> tuple[list[tuple[int, bytes]], int, list[bytes]]:
        server = Server(answer(not_modified))
        async with server as port, pool() as connections:
            url = f"http://127.0.0.1:{port}/feed"
            got = [await get(connections, url, [(b"If-None-Match", b'"v1"')]) for _ in range(3)]
            return got, server.accepted, server.requests

    got, accepted, requests = asyncio.run(main())
    assert got == [(304, b"")] * 3
    assert accepted == 1
    assert all(b'\r\nIf-None-Match: "v1"\r\n' in head for head in requests)


def test_an_answer_that_says_close_is_not_kept() -> None:
    closing = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

    async def main() -> tuple[list[tuple[int, bytes]], int, int]:
        server = Server(answer(closing, keep=False))
        async with server as port, pool() as connections:
            got = [await get(connections, f"http://127.0.0.1:{port}/{n}") for n in range(2)]
            return got, server.accepted, len(connections.connections)

    assert asyncio.run(main()) == ([(200, b"ok")] * 2, 2, 0)


def test_a_server_that_closes_mid_body_fails_the_request_and_the_next_one_reconnects() -> None:
    async def reply(n: int, head: bytes, writer: asyncio.StreamWriter) -> bool:
        if n == 0:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
            return False  # closed with 7 bytes owed
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal")
        return True

    async def main() -> tuple[str, tuple[int, bytes], int]:
        server = Server(reply)
        async with server as port, pool() as connections:
            try:
                await get(connections, f"http://127.0.0.1:{port}/a")
                failure = "none"
            except httpcore.RemoteProtocolError as exc:
                failure = str(exc)
            return failure, await get(connections, f"http://127.0.0.1:{port}/b"), server.accepted

    failure, second, accepted = asyncio.run(main())
    assert "peer closed connection without sending complete message body" in failure
    assert second == (200, b"real")
    assert accepted == 2


def test_a_server_that_closes_without_answering_is_a_protocol_error() -> None:
    async def reply(n: int, head: bytes, writer: asyncio.StreamWriter) -> bool:
        return False

    async def main() -> None:
        async with Server(reply) as port, pool() as connections:
            with pytest.raises(httpcore.RemoteProtocolError, match="Server disconnected without sending"):
                await get(connections, f"http://127.0.0.1:{port}/")
            assert connections.connections == []

    asyncio.run(main())


def test_a_head_longer_than_the_limit_is_refused_and_the_connection_closed() -> None:
    long_head = b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * (3 * MAX_INCOMPLETE_EVENT_SIZE) + b"\r\n\r\n"

    async def main() -> None:
        async with Server(answer(long_head)) as port, pool() as connections:
            with pytest.raises(httpcore.RemoteProtocolError):
                await get(connections, f"http://127.0.0.1:{port}/")
            assert connections.connections == []

    asyncio.run(main())


def test_a_request_header_with_a_line_break_is_never_sent() -> None:
    """h11 validates every header of the request: a value with CR LF (a header injection) fails locally."""

    async def main() -> int:
        server = Server(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        async with server as port, pool() as connections:
            with pytest.raises(httpcore.LocalProtocolError):
                await get(connections, f"http://127.0.0.1:{port}/", [(b"X-A", b"1\r\nX-Injected: 1")])
            return len(server.requests)

    assert asyncio.run(main()) == 0


def test_the_fetcher_gets_a_chunked_body_and_reuses_its_connection_and_fails_cleanly_on_a_long_head() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    long_head = b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * (3 * MAX_INCOMPLETE_EVENT_SIZE) + b"\r\n\r\n"

    async def reply(n: int, head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(long_head if b"/long" in head else chunked)
        return True

    async def main() -> tuple[list[bytes], int, str]:
        server = Server(reply)
        async with server as port:
            config = HttpConfig(allow_private_networks=True, per_host_delay=0, retries=0)
            async with Fetcher(config) as fetcher:
                bodies = [(await fetcher.get(f"http://127.0.0.1:{port}/{n}")).content for n in range(2)]
                accepted = server.accepted
                with pytest.raises(FetchError) as info:
                    await fetcher.get(f"http://127.0.0.1:{port}/long")
            return bodies, accepted, info.value.reason

    bodies, accepted, reason = asyncio.run(main())
    assert bodies == [b"ok", b"ok"]
    assert accepted == 1
    assert reason.startswith("RemoteProtocolError")


def test_https_is_spoken_with_the_certificate_checked_against_the_name(
    certificate: tuple[Path, Path],
) -> None:
    """The pool's verifying context, SNI the URL's host (or the request's `sni_hostname`), ALPN
    http/1.1: a trusted certificate for the name gets its answer over a kept connection; the same
    certificate for another name, or one not trusted, is refused at the handshake."""
    cert, key = certificate
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    server_context.set_alpn_protocols(["http/1.1"])

    async def attempt(context: ssl.SSLContext, sni: str, port: int) -> str:
        async with CleanPool(network_backend=AsyncioBackend(), ssl_context=context) as connections:
            try:
                response = await connections.request(
                    "GET",
                    f"https://127.0.0.1:{port}/",
                    extensions={"sni_hostname": sni, "timeout": {"connect": 5, "read": 5, "pool": 5}},
                )
            except httpcore.ConnectError as exc:
                return "refused: " + str(exc)
            second = await connections.request(
                "GET", f"https://127.0.0.1:{port}/", extensions={"sni_hostname": sni}
            )
            (connection,) = connections.connections
            stream = connection._stream  # type: ignore[attr-defined]
            alpn = stream.get_extra_info("ssl_object").selected_alpn_protocol()
            return f"{response.status} {response.content.decode()} {second.content.decode()} {alpn}"

    async def main() -> list[str]:
        server = Server(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntls"), server_context)
        async with server as port:
            trusted = ssl.create_default_context(cafile=str(cert))
            results = [
                await attempt(trusted, "feed.test", port),
                await attempt(trusted, "other.test", port),
                await attempt(ssl.create_default_context(), "feed.test", port),
            ]
            results.append(str(server.accepted))
            return results

    good, wrong_name, untrusted, accepted = asyncio.run(main())
    assert good == "200 tls tls http/1.1"
    assert "CERTIFICATE_VERIFY_FAILED" in wrong_name and "feed.test" not in wrong_name.split("match")[0]
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted
    assert accepted == "1"  # the refused handshakes never got as far; the good connection was kept


def test_a_response_read_after_its_pool_closed_fails_as_a_closed_connection_does() -> None:
    """A drain closes the fetcher's pools under responses still being read: the read then fails with
    httpcore's network or protocol error (which the fetcher maps), and the socket is closed."""

    async def reply(n: int, head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()
        await asyncio.sleep(0.5)
        return False

    async def main() -> None:
        async with Server(reply) as port:
            connections = pool()
            response = await connections.handle_async_request(
                httpcore.Request(
                    "GET",
                    f"http://127.0.0.1:{port}/",
                    headers=[(b"Host", f"127.0.0.1:{port}".encode())],
                    extensions={"timeout": {"read": 5, "pool": 5}},
                )
            )
            assert response.status == 200
            await connections.aclose()
            with pytest.raises((httpcore.RemoteProtocolError, httpcore.ReadError)):
                await response.aread()
            assert connections.connections == []

    asyncio.run(main())


def test_the_fetchers_304s_are_whole_without_a_read_and_keep_their_connection() -> None:
    """A 304 (or 204) on a direct connection ends with its head (H11Connection takes its end, the
    fetcher reads no body): the connection is free again for the next poll of the host; bytes a
    server sent after it still close it (never the next answer); its headers are still judged (a
    Content-Encoding the fetcher cannot undo fails the poll, as it did when the empty body was read)."""

    async def reply(n: int, head: bytes, writer: asyncio.StreamWriter) -> bool:
        if b"/forged" in head:
            writer.write(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n" + b"HTTP/1.1 200 OK\r\n")
        elif b"/br" in head:
            writer.write(b"HTTP/1.1 304 Not Modified\r\nContent-Encoding: br\r\n\r\n")
        elif b"/204" in head:
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        else:
            writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n')
        return True

    async def main() -> tuple[list[tuple[int, bytes, str | None]], int, str, int]:
        server = Server(reply)
        async with server as port:
            config = HttpConfig(allow_private_networks=True, per_host_delay=0, retries=0)
            async with Fetcher(config) as fetcher:
                base = f"http://127.0.0.1:{port}"
                got = []
                for path in ("/a", "/b", "/204", "/c"):
                    response = await fetcher.get(base + path, {"If-None-Match": '"v1"'})
                    got.append((response.status, response.content, response.headers.get("etag")))
                reused = server.accepted
                await fetcher.get(base + "/forged")
                after_forged = await fetcher.get(base + "/d")
                with pytest.raises(FetchError) as info:
                    await fetcher.get(base + "/br")
                return got, reused, info.value.reason, after_forged.status + 1000 * server.accepted

    got, reused, reason, after = asyncio.run(main())
    assert got == [(304, b"", '"v1"'), (304, b"", '"v1"'), (204, b"", None), (304, b"", '"v1"')]
    assert reused == 1
    assert "unsupported Content-Encoding 'br'" in reason
    assert after == 2304  # the forged bytes closed the connection: the next poll had its own, and a 304


def test_core_request_and_response_are_what_httpcores_constructors_make() -> None:
    """core_request / core_response skip the constructors' checks of values already of the right kind:
    attribute for attribute what httpcore builds from the same values (an httpcore that adds or renames
    one fails here)."""
    url = httpcore.URL(scheme=b"http", host=b"feed.test", port=8080, target=b"/rss?x=1")
    headers = [(b"Host", b"feed.test:8080"), (b"Accept", b"*/*"), (b"If-None-Match", b'"v1"')]
    stream = httpx.ByteStream(b"")  # what httpx hands over
    extensions = {"timeout": {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}}
    made = core_request(b"GET", url, headers, stream, extensions)
    built = httpcore.Request(b"GET", url, headers=headers, content=stream, extensions=extensions)
    assert type(made) is type(built) and vars(made) == vars(built)
    targeted = core_request(b"GET", url, headers, stream, {"target": b"/other"})
    assert targeted.url.target == b"/other"

    async def body() -> Any:
        yield b"x"

    answer = body()
    extensions = {"http_version": b"HTTP/1.1", "reason_phrase": b"OK", "network_stream": None}
    made_response = core_response(304, headers, answer, extensions)
    built_response = httpcore.Response(304, headers=headers, content=answer, extensions=extensions)
    assert type(made_response) is type(built_response) and vars(made_response) == vars(built_response)
