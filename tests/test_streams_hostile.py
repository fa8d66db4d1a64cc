"""scraper.streams against servers that misbehave on purpose: what each costs must stay one connection's
worth (a timeout, an error), never a hang, an unbounded buffer or a file descriptor left open."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpcore
import pytest

from scraper.config import HttpConfig
from scraper.fetch import Fetcher
from scraper.pools import CleanPool
from scraper.streams import READ_BUFFER_LIMIT, AsyncioBackend


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@contextmanager
def _listener(backlog: int = 16) -> Iterator[socket.socket]:
    """A listening socket nobody accepts from or reads: connections queue, bytes sent to them pile up."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)
    try:
        yield sock
    finally:
        sock.close()


async def _settle() -> None:
    """Let the loop run the callbacks a close schedules (connection_lost closes the socket)."""
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_server_that_never_reads_a_large_request_costs_a_write_timeout_and_no_fd() -> None:
    """The write buffer never drains; closing must still give the socket back at once, not when (never)
    the peer reads."""
    with _listener() as listener:
        port = listener.getsockname()[1]

        async def main() -> tuple[type[Exception] | None, int, int]:
            before = _open_fds()
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            failure: type[Exception] | None = None
            try:
                await stream.write(b"x" * (64 * 1024 * 1024), timeout=0.2)
            except httpcore.WriteTimeout as exc:
                failure = type(exc)
            await stream.aclose()
            await _settle()
            return failure, before, _open_fds()

        failure, before, after = asyncio.run(main())
    assert failure is httpcore.WriteTimeout
    assert after <= before


def test_many_connects_that_are_never_answered_time_out_and_release_their_fds() -> None:
    """A full accept queue drops SYNs: each connect waits for nothing, and each must be given back."""
    with _listener(backlog=0) as listener:
        port = listener.getsockname()[1]

        async def attempt() -> type[Exception] | None:
            try:
                stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=0.5)
            except (httpcore.ConnectTimeout, httpcore.ConnectError) as exc:
                return type(exc)
            await stream.aclose()
            return None

        async def main() -> tuple[list[type[Exception] | None], int, int]:
            before = _open_fds()
            results = await asyncio.gather(*(attempt() for _ in range(500)))
            await _settle()
            return results, before, _open_fds()

        results, before, after = asyncio.run(main())
    assert results.count(httpcore.ConnectTimeout) >= 400  # a few fit in the queue and connect
    assert after <= before


def test_cancelling_a_read_leaves_no_timer_and_no_task() -> None:
    """Daemon shutdown cancels fetches mid-read: the read's timer is cancelled with it."""
    with _listener() as listener:
        port = listener.getsockname()[1]

        async def main() -> tuple[int, int, int]:
            loop = asyncio.get_running_loop()
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            scheduled = len([h for h in loop._scheduled if not h.cancelled()])  # type: ignore[attr-defined]
            reader = asyncio.create_task(stream.read(65536, timeout=60))
            await asyncio.sleep(0.05)
            reader.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reader
            await stream.aclose()
            await _settle()
            left = len([h for h in loop._scheduled if not h.cancelled()])  # type: ignore[attr-defined]
            others = len(asyncio.all_tasks()) - 1
            return scheduled, left, others

        scheduled, left, others = asyncio.run(main())
    assert left <= scheduled and others == 0


async def _tls_server(cert: Path, key: Path) -> asyncio.Server:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    return await asyncio.start_server(handler, "127.0.0.1", 0, ssl=context)


@pytest.mark.parametrize(
    ("trusted", "hostname"), [(False, "feed.test"), (True, "other.test")], ids=["untrusted", "wrong-name"]
)
def test_a_certificate_that_does_not_verify_is_a_connect_error_and_no_fd(
    certificate: tuple[Path, Path], trusted: bool, hostname: str
) -> None:
    cert, key = certificate
    client = ssl.create_default_context(cafile=str(cert)) if trusted else ssl.create_default_context()

    async def main() -> tuple[type[Exception] | None, int, int]:
        server = await _tls_server(cert, key)
        async with server:
            port = server.sockets[0].getsockname()[1]
            before = _open_fds()
            plain = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            failure: type[Exception] | None = None
            try:
                await plain.start_tls(client, hostname, timeout=5)
            except httpcore.ConnectError as exc:
                failure = type(exc)
            await plain.aclose()
            await _settle()
            return failure, before, _open_fds()

    failure, before, after = asyncio.run(main())
    assert failure is httpcore.ConnectError
    assert after <= before


def test_a_stalled_tls_handshake_is_a_connect_timeout_that_leaves_nothing_behind(
    certificate: tuple[Path, Path],
) -> None:
    """The server accepts and never speaks TLS: the handshake's own timeout ends it, with no timer
    (asyncio's 60 s handshake timer included) and no fd left."""
    cert, _ = certificate
    with _listener() as listener:
        port = listener.getsockname()[1]

        async def main() -> tuple[type[Exception] | None, int, int, int]:
            loop = asyncio.get_running_loop()
            before = _open_fds()
            plain = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            failure: type[Exception] | None = None
            try:
                await plain.start_tls(ssl.create_default_context(cafile=str(cert)), "feed.test", timeout=0.2)
            except httpcore.ConnectTimeout as exc:
                failure = type(exc)
            await plain.aclose()
            await _settle()
            timers = len([h for h in loop._scheduled if not h.cancelled()])  # type: ignore[attr-defined]
            return failure, before, _open_fds(), timers

        failure, before, after, timers = asyncio.run(main())
    assert failure is httpcore.ConnectTimeout
    assert after <= before and timers == 0


def test_closing_a_tls_stream_whose_peer_goes_silent_releases_it_at_once(
    certificate: tuple[Path, Path],
) -> None:
    """After the handshake the peer never reads or answers again: a TLS close waits for its close_notify
    (asyncio: up to 30 s, socket open all along); aclose must not."""
    cert, key = certificate
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    done = threading.Event()
    with _listener() as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            with server_context.wrap_socket(conn, server_side=True):
                done.wait(10)

        threading.Thread(target=serve, daemon=True).start()

        async def main() -> tuple[int, int]:
            loop = asyncio.get_running_loop()
            plain = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            context = ssl.create_default_context(cafile=str(cert))
            stream = await plain.start_tls(context, "feed.test", timeout=5)
            sock = stream.get_extra_info("socket")  # the silent server's end is in this process too
            await stream.aclose()
            await _settle()
            timers = len([h for h in loop._scheduled if not h.cancelled()])  # type: ignore[attr-defined]
            return sock.fileno(), timers

        try:
            fileno, timers = asyncio.run(main())
        finally:
            done.set()
    assert fileno == -1 and timers == 0  # closed, and no 30 s shutdown timer pending


@contextmanager
def _raw_server(
    answers: list[tuple[bytes, ...]], pause: float = 0.05, closed: threading.Event | None = None
) -> Iterator[int]:
    """Each connection: read a request, send the next of `answers` (bytes as they are, lies included; its
    parts `pause` seconds apart), then read the next request on the same connection; an empty answer
    closes the connection as soon as the answer before it is sent (and sets `closed`, if given)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    queue = list(answers)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                while queue and conn.recv(65536):
                    for part in queue.pop(0):
                        conn.sendall(part)
                        time.sleep(pause)
                    if queue and not queue[0]:  # an empty answer: close once this one is sent
                        queue.pop(0)
                        conn.close()
                        if closed is not None:
                            closed.set()
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


async def _get_twice(
    port: int, wait: float = 0.0, until: threading.Event | None = None
) -> list[tuple[int, bytes] | str]:
    """Two GETs through one pool, the fetcher's (so the second may reuse the first's connection); between
    them, `until` is waited for (the server's doing, not a guess at its speed), then `wait` seconds."""
    results: list[tuple[int, bytes] | str] = []
    async with CleanPool(network_backend=AsyncioBackend()) as pool:
        for path in ("/a", "/b"):
            try:
                response = await pool.request(
                    "GET", f"http://127.0.0.1:{port}{path}", extensions={"timeout": {"read": 2}}
                )
                results.append((response.status, response.content))
            except (httpcore.NetworkError, httpcore.RemoteProtocolError) as exc:
                results.append(type(exc).__name__)
            if until is not None:
                await asyncio.to_thread(until.wait, 10)
            await asyncio.sleep(wait)
    return results


FIRST = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
FORGED = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"
SECOND = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal"


def test_garbage_arriving_after_a_response_is_not_the_next_requests_answer() -> None:
    """A kept-alive connection that receives bytes after the response (here they look like a response,
    the worst case): `is_readable` sees them, so the pool drops the connection instead of reusing it."""
    with _raw_server([(FIRST, FORGED), (SECOND,)]) as port:
        results = asyncio.run(_get_twice(port, wait=0.1))
    assert results == [(200, b"ok"), (200, b"real")]


def test_garbage_in_the_same_packet_as_a_response_is_not_the_next_requests_answer() -> None:
    """Bytes in the same read as the response are in h11's buffer, not the socket's, so `is_readable`
    cannot see them: the pool (scraper.pools.CleanPool) closes the connection whose parser holds them,
    and the second request gets its own answer on a new connection."""
    with _raw_server([(FIRST + FORGED,), (SECOND,)]) as port:
        results = asyncio.run(_get_twice(port, wait=0.1))
    assert results == [(200, b"ok"), (200, b"real")]


def test_garbage_in_the_same_packet_without_a_pause_is_not_the_next_requests_answer() -> None:
    """The same when the next request follows at once (no time for the pool's other checks)."""
    with _raw_server([(FIRST + FORGED,), (SECOND,)]) as port:
        results = asyncio.run(_get_twice(port))
    assert results == [(200, b"ok"), (200, b"real")]


def test_a_clean_connection_is_still_reused() -> None:
    """Only a connection holding unasked bytes is dropped: a clean one serves the next request (the
    server below answers the second request only on the first connection)."""
    with _raw_server([(FIRST,), (SECOND,)]) as port:
        results = asyncio.run(_get_twice(port, wait=0.1))
    assert results == [(200, b"ok"), (200, b"real")]


def test_an_idle_connection_the_server_closed_is_not_reused_to_fail() -> None:
    closed = threading.Event()  # under load the server's close could come after the second request
    with _raw_server([(FIRST,), (), (FIRST,)], closed=closed) as port:
        results = asyncio.run(_get_twice(port, wait=0.1, until=closed))
    assert results == [(200, b"ok"), (200, b"ok")]


@contextmanager
def _one_shot(behave: str) -> Iterator[int]:
    """A server for one connection that reads the request, then misbehaves as `behave` says."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            if behave == "mid-headers":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Le")
            elif behave == "reset-after-headers":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
                time.sleep(0.05)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif behave == "short-body":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
            elif behave == "half-close":  # the server's side ends; it would still read
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf")
                conn.shutdown(socket.SHUT_WR)
                time.sleep(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(5)


@pytest.mark.parametrize("behave", ["mid-headers", "reset-after-headers", "short-body", "half-close"])
def test_an_answer_that_ends_too_soon_is_an_error_at_once_and_no_fd(behave: str) -> None:
    """The read sees the end (or the reset) and says so; nothing waits for the read timeout."""

    async def main() -> tuple[str, int, int]:
        before = _open_fds()
        async with httpcore.AsyncConnectionPool(network_backend=AsyncioBackend()) as pool:
            with _one_shot(behave) as port:
                try:
                    response = await pool.request(
                        "GET", f"http://127.0.0.1:{port}/", extensions={"timeout": {"read": 30}}
                    )
                    outcome = f"answered {response.status}"
                except (httpcore.RemoteProtocolError, httpcore.ReadError) as exc:
                    outcome = type(exc).__name__
        await _settle()
        return outcome, before, _open_fds()

    started = time.monotonic()
    outcome, before, after = asyncio.run(main())
    assert outcome in {"RemoteProtocolError", "ReadError"}
    assert time.monotonic() - started < 10 and after <= before


def test_a_hundred_megabytes_as_fast_as_possible_cost_a_bounded_amount_of_memory() -> None:
    """Read as httpcore does (64 kB at a time, with work in between): what is held stays near the
    buffer limit however much the server sends."""
    size = 100 * 1024 * 1024
    chunk = b"x" * (1024 * 1024)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(size // len(chunk)):
            writer.write(chunk)
            await writer.drain()
        writer.close()

    async def main() -> tuple[int, int]:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            held = total = 0
            while part := await stream.read(65536, timeout=5):
                total += len(part)
                held = max(held, len(stream._connection.buffer))  # type: ignore[attr-defined]
            await stream.aclose()
            return held, total

    held, total = asyncio.run(main())
    assert total == size and held <= READ_BUFFER_LIMIT + 256 * 1024


def test_a_fetch_cancelled_mid_body_closes_its_connection_and_leaves_nothing_pending() -> None:
    """Daemon shutdown cancels a fetch while the body is arriving: the pool drops the connection, its
    socket is closed, and no timer or task is left to be destroyed pending."""
    with _listener() as listener:
        port = listener.getsockname()[1]
        done = threading.Event()

        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000)
                done.wait(10)

        threading.Thread(target=serve, daemon=True).start()
        sockets: list[socket.socket] = []

        async def fetch(pool: httpcore.AsyncConnectionPool) -> None:
            url = f"http://127.0.0.1:{port}/"
            async with pool.stream("GET", url, extensions={"timeout": {"read": 60}}) as response:
                sockets.append(response.extensions["network_stream"].get_extra_info("socket"))
                async for _ in response.aiter_stream():
                    pass

        async def main() -> tuple[int, int, int]:
            loop = asyncio.get_running_loop()
            async with httpcore.AsyncConnectionPool(network_backend=AsyncioBackend()) as pool:
                task = asyncio.create_task(fetch(pool))
                await asyncio.sleep(0.2)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                await _settle()
                timers = len([h for h in loop._scheduled if not h.cancelled()])  # type: ignore[attr-defined]
                return len(pool.connections), timers, len(asyncio.all_tasks()) - 1

        try:
            connections, timers, tasks = asyncio.run(main())
        finally:
            done.set()
    assert (connections, timers, tasks) == (0, 0, 0)
    assert sockets and sockets[0].fileno() == -1


def test_plaintext_sent_before_the_tls_handshake_is_refused_not_read_as_tls_data(
    certificate: tuple[Path, Path],
) -> None:
    """Bytes that reach the socket before start_tls (an on-path attacker's forged answer, say) were not
    protected by TLS: they must fail the connection, never come out of the TLS stream's first read."""
    cert, key = certificate
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    forged = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"
    with _listener() as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            conn.sendall(forged)
            with contextlib.suppress(OSError), server_context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(65536)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()

        async def main() -> bytes | str:
            plain = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            await asyncio.sleep(0.1)  # the forged bytes arrive before the handshake starts
            context = ssl.create_default_context(cafile=str(cert))
            try:
                stream = await plain.start_tls(context, "feed.test", timeout=5)
            except httpcore.ConnectError as exc:
                await plain.aclose()
                return type(exc).__name__
            first = await stream.read(65536, timeout=5)
            await stream.aclose()
            return first

        outcome = asyncio.run(main())
        thread.join(5)
    assert outcome == "ConnectError"


def test_the_fetcher_never_takes_bytes_left_after_an_answer_for_the_next_answer() -> None:
    """The same through the Fetcher (its per-host pools are CleanPools): the second GET to the host gets
    the server's real second answer, not the forged one that came in the first answer's packet."""

    async def main(port: int) -> list[tuple[int, bytes]]:
        config = HttpConfig(allow_private_networks=True, per_host_delay=0)
        async with Fetcher(config) as fetcher:
            answers = []
            for path in ("/a", "/b"):
                response = await fetcher.get(f"http://127.0.0.1:{port}{path}")
                answers.append((response.status, response.content))
            return answers

    with _raw_server([(FIRST + FORGED,), (SECOND,)]) as port:
        assert asyncio.run(main(port)) == [(200, b"ok"), (200, b"real")]
