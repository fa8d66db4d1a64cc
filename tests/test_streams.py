"""scraper.streams: httpcore's network stream on asyncio transports keeps httpcore's contract."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpcore
import pytest

from scraper.streams import READ_BUFFER_LIMIT, AsyncioBackend

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _with_server(handler: Handler, body: Callable[[int], Awaitable[object]]) -> object:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        finally:  # closing the server does not close its connections (3.13's close_clients would)
            writer.close()

    server = await asyncio.start_server(closing, "127.0.0.1", 0)
    async with server:
        return await body(server.sockets[0].getsockname()[1])


def test_reads_at_most_what_is_asked_then_the_end_of_the_stream() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readexactly(5)
        writer.write(request.upper() + b" world")
        await writer.drain()
        writer.close()

    async def body(port: int) -> list[bytes]:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        await stream.write(b"hello", timeout=5)
        parts = []
        while part := await stream.read(4, timeout=5):
            parts.append(part)
        end = await stream.read(4, timeout=5)  # the end stays the end
        await stream.aclose()
        return [*parts, end]

    parts = asyncio.run(_with_server(handler, body))
    assert all(len(part) <= 4 for part in parts) and b"".join(parts) == b"HELLO world"
    assert parts[-1] == b""


def test_a_silent_server_is_a_read_timeout_and_a_closed_port_a_connect_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers

    async def body(port: int) -> type[Exception] | None:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        try:
            await stream.read(10, timeout=0.05)
        except httpcore.ReadTimeout as exc:
            return type(exc)
        finally:
            await stream.aclose()
        return None

    assert asyncio.run(_with_server(handler, body)) is httpcore.ReadTimeout
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: the connect is refused
        with pytest.raises(httpcore.ConnectError):
            asyncio.run(AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5))


def test_is_readable_tells_a_closed_connection_from_an_idle_one() -> None:
    """httpcore's question before reusing a kept-alive connection: an idle open one is not readable; one
    the server closed is (and so is one this side closed)."""
    closing = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await closing.wait()
        writer.close()

    async def body(port: int) -> tuple[bool, bool, bool, str]:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        idle = stream.get_extra_info("is_readable")
        closing.set()
        for _ in range(200):  # until the server's close has reached this side
            if stream.get_extra_info("is_readable"):
                break
            await asyncio.sleep(0.01)
        closed = stream.get_extra_info("is_readable")
        peer = stream.get_extra_info("server_addr")[0]
        await stream.aclose()
        return idle, closed, stream.get_extra_info("is_readable"), peer

    assert asyncio.run(_with_server(handler, body)) == (False, True, True, "127.0.0.1")


def test_a_fast_sender_is_held_back_while_nothing_reads() -> None:
    """Bytes not yet read are bounded: past READ_BUFFER_LIMIT the socket is no longer read, and reading
    resumes it, so a large body still arrives whole."""
    size = READ_BUFFER_LIMIT * 8

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"x" * size)
        await writer.drain()
        writer.close()

    async def body(port: int) -> tuple[int, int]:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        await asyncio.sleep(0.2)  # the server sends what the socket takes
        held = len(stream._connection.buffer)  # type: ignore[attr-defined]
        total = 0
        while part := await stream.read(65536, timeout=5):
            total += len(part)
        await stream.aclose()
        return held, total

    held, total = asyncio.run(_with_server(handler, body))
    assert held <= READ_BUFFER_LIMIT + 65536 * 4 and total == size


def test_a_large_body_over_tls_arrives_whole(tmp_path: Path) -> None:
    """Back-pressure over TLS pauses and resumes the TLS layer's reading, not the socket's under it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=feed.test"
    command += " -addext subjectAltName=DNS:feed.test"
    subprocess.run(
        [*command.split(), "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    size = READ_BUFFER_LIMIT * 8

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"x" * size)
        await writer.drain()
        writer.close()

    async def main() -> int:
        server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=server_context)
        async with server:
            port = server.sockets[0].getsockname()[1]
            plain = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            stream = await plain.start_tls(client_context, "feed.test", timeout=5)
            await asyncio.sleep(0.2)  # the server sends all it can while nothing reads
            total = 0
            while part := await stream.read(65536, timeout=5):
                total += len(part)
            await stream.aclose()
            return total

    assert asyncio.run(main()) == size
