"""A hostile review of the lean HTTP/1.1 path (scraper.http11 under scraper.pools' CleanPool, the
fetcher's one-Headers request, its 304/204 ended with the head, and the address guard's verdict cache),
against raw-byte servers on 127.0.0.1: each answer is written as exact bytes, lies included, and the
next request on the host must get the server's real answer (never bytes left from the one before)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Sequence

import httpcore
import pytest

from scraper.config import HttpConfig
from scraper.errors import FetchError
from scraper.fetch import Fetcher
from scraper.netguard import AddressGuard
from scraper.pools import CleanPool
from scraper.streams import AsyncioBackend

REAL = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal"
FORGED = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"
CLOSE = "close"  # in an answer: the server closes the connection there, without notice
HOLD = "hold"  # in an answer: the server says nothing more until the client goes
DRIP = "drip:"  # in an answer, before text: the text is sent a byte at a time, slowly

Step = bytes | str
Answer = Sequence[Step]


class RawServer:
    """Keep-alive on 127.0.0.1: the n-th request (over all connections) gets `answers[n]` (REAL past
    the list), written step by step as exact bytes. Counts the connections it accepted."""

    def __init__(self, answers: Sequence[Answer]) -> None:
        self.answers = list(answers)
        self.accepted = 0
        self.heads: list[bytes] = []
        self._server: asyncio.Server | None = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            while True:
                self.heads.append(await reader.readuntil(b"\r\n\r\n"))
                n = len(self.heads) - 1
                for step in self.answers[n] if n < len(self.answers) else [REAL]:
                    if step == CLOSE:
                        return
                    if step == HOLD:
                        await reader.read()
                        return
                    if isinstance(step, str) and step.startswith(
                        DRIP
                    ):  # the rest of the step, a byte every 0.3 s
                        for byte in step[len(DRIP) :]:
                            writer.write(byte.encode("latin-1"))
                            await writer.drain()
                            await asyncio.sleep(0.3)
                        continue
                    assert isinstance(step, bytes), step
                    writer.write(step)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> int:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()


def head(status: int, *lines: bytes, version: bytes = b"1.1") -> bytes:
    return b"HTTP/%s %d X\r\n%s\r\n" % (version, status, b"".join(line + b"\r\n" for line in lines))


def fetch_twice(first: Answer, *, max_body_bytes: int = 100_000) -> tuple[str, str, int]:
    """The first answer's outcome, then the second request's (the server's REAL answer), and the
    connections the server accepted."""

    async def main() -> tuple[str, str, int]:
        server = RawServer([first])
        async with server as port:
            config = HttpConfig(
                allow_private_networks=True,
                per_host_delay=0,
                retries=0,
                timeout=5,
                max_body_bytes=max_body_bytes,
            )
            outcomes = []
            async with Fetcher(config) as fetcher:
                for path in ("/a", "/b"):
                    try:
                        response = await fetcher.get(f"http://127.0.0.1:{port}{path}")
                    except FetchError as exc:
                        outcomes.append(f"{type(exc).__name__}: {exc.reason}")
                    else:
                        outcomes.append(f"{response.status} {response.content!r}")
            return outcomes[0], outcomes[1], server.accepted

    return asyncio.run(main())


BOMB = gzip.compress(b"\0" * 2_000_000)

# answer -> (the first outcome starts with, whether the connection may be kept: accepted == 1)
HOSTILE: dict[str, tuple[Answer, str, bool]] = {
    "304 with a body by length": ([head(304, b"Content-Length: 6") + b"forged"], "304 b''", False),
    "304 with a forged answer after it": ([head(304) + FORGED], "304 b''", False),
    "204 with a chunked body": (
        [head(204, b"Transfer-Encoding: chunked") + b"2\r\nok\r\n0\r\n\r\n"],
        "204 b''",
        False,
    ),
    "304 with Connection: close, left open": ([head(304, b"Connection: close")], "304 b''", False),
    "304 in HTTP/1.0": ([head(304, version=b"1.0")], "304 b''", False),
    "304 after a 100 Continue": ([head(100) + head(304)], "304 b''", True),
    "304 with two Content-Lengths": (
        [head(304, b"Content-Length: 1", b"Content-Length: 2")],
        "FetchError: RemoteProtocolError: conflicting Content-Length",
        False,
    ),
    "chunk size not hex": (
        [head(200, b"Transfer-Encoding: chunked") + b"zz\r\nhello\r\n0\r\n\r\n"],
        "FetchError: RemoteProtocolError: illegal chunk header",
        False,
    ),
    "chunk size negative": (
        [head(200, b"Transfer-Encoding: chunked") + b"-5\r\nhello\r\n0\r\n\r\n"],
        "FetchError: RemoteProtocolError: illegal chunk header",
        False,
    ),
    "chunk size huge, then close": (
        [head(200, b"Transfer-Encoding: chunked") + b"ffffffffffffffffffff\r\nhello", CLOSE],
        "FetchError: RemoteProtocolError: peer closed connection",
        False,
    ),
    "chunk extension and trailer": (
        [head(200, b"Transfer-Encoding: chunked") + b"5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"],
        "200 b'hello'",
        True,
    ),
    "trailer then forged answer": (
        [head(200, b"Transfer-Encoding: chunked") + b"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n" + FORGED],
        "200 b'hello'",
        False,
    ),
    "Transfer-Encoding gzip, chunked": (
        [head(200, b"Transfer-Encoding: gzip, chunked") + b"5\r\nhello\r\n0\r\n\r\n"],
        "FetchError: RemoteProtocolError: Only Transfer-Encoding: chunked",
        False,
    ),
    "Content-Length and chunked": (  # chunked wins (RFC 9112 6.3), as h11 reads it on main too
        [head(200, b"Content-Length: 3", b"Transfer-Encoding: chunked") + b"5\r\nhello\r\n0\r\n\r\n"],
        "200 b'hello'",
        True,
    ),
    "closed mid head": (
        [b"HTTP/1.1 200 OK\r\nContent-Le", CLOSE],
        "FetchError: RemoteProtocolError: Server disconnected",
        False,
    ),
    "closed mid body": (
        [head(200, b"Content-Length: 10") + b"hello", CLOSE],
        "FetchError: RemoteProtocolError: peer closed connection without sending complete message body",
        False,
    ),
    "more bytes than its length": ([head(200, b"Content-Length: 2") + b"okEXTRA"], "200 b'ok'", False),
    "HTTP/1.0 read to the close": (
        [head(200, version=b"1.0") + b"ten bytes!", CLOSE],
        "200 b'ten bytes!'",
        False,
    ),
    "HTTP/1.0 keep-alive": (
        [head(200, b"Connection: keep-alive", b"Content-Length: 2", version=b"1.0") + b"ok"],
        "200 b'ok'",
        False,
    ),
    "Connection: close, left open": (
        [head(200, b"Connection: close", b"Content-Length: 2") + b"ok"],
        "200 b'ok'",
        False,
    ),
    "a NUL in a header": (
        [head(200, b"X-A: a\0b", b"Content-Length: 2") + b"ok"],
        "FetchError: RemoteProtocolError: illegal header line",
        False,
    ),
    "a bare CR in a header": (
        [head(200, b"X-A: a\rb", b"Content-Length: 2") + b"ok"],
        "FetchError: RemoteProtocolError: illegal header line",
        False,
    ),
    "a head over the limit": (
        [head(200, *[b"X-H%d: " % i + b"a" * 1000 for i in range(300)], b"Content-Length: 2") + b"ok"],
        "FetchError: RemoteProtocolError: Receive buffer too long",
        False,
    ),
    "a 103's head over the limit": (
        [
            head(103, *[b"Link: <" + b"a" * 1000 + b">" for _ in range(300)])
            + head(200, b"Content-Length: 2")
            + b"ok"
        ],
        "FetchError: RemoteProtocolError: Receive buffer too long",
        False,
    ),
    "a 101 never asked for": ([head(101) + head(304)], "FetchError: RemoteProtocolError", False),
    "gzip bomb": (
        [head(200, b"Content-Encoding: gzip", b"Content-Length: %d" % len(BOMB)) + BOMB],
        "BodyTooLargeError: body over the 100000-byte cap",
        False,
    ),
    "gzip bomb, chunked": (
        [
            head(200, b"Content-Encoding: gzip", b"Transfer-Encoding: chunked")
            + b"%x\r\n" % len(BOMB)
            + BOMB
            + b"\r\n0\r\n\r\n"
        ],
        "BodyTooLargeError: body over the 100000-byte cap",
        False,
    ),
    "brotli the fetcher does not ask for": (
        [head(200, b"Content-Encoding: br", b"Content-Length: 5") + b"hello"],
        "UnsupportedEncodingError: unsupported Content-Encoding 'br'",
        False,
    ),
    "a redirect's unread body, then forged bytes": (
        [head(302, b"Location: /b", b"Transfer-Encoding: chunked") + b"5\r\nhello\r\n0\r\n\r\n" + FORGED],
        "200 b'real'",  # the hop to /b is the second request; /b itself then is the third
        False,
    ),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_answer_fails_or_is_read_as_on_main_and_never_answers_the_next_request(kind: str) -> None:
    first, expected, may_keep = HOSTILE[kind]
    outcome, second, accepted = fetch_twice(first)
    assert outcome.startswith(expected), outcome
    assert second == "200 b'real'"
    if not may_keep:
        assert accepted >= 2


def test_a_304_refused_for_its_headers_leaves_the_host_answering_right() -> None:
    """A 304 whose Content-Encoding the fetcher refuses (or whose Content-Length is over the cap):
    the poll fails as on main; the connection (whole, nothing after it) may be kept, and the next
    request gets its own answer."""
    for lie in (b"Content-Encoding: bogus", b"Content-Length: 99999999999"):
        outcome, second, accepted = fetch_twice([head(304, lie)])
        assert outcome.startswith(("UnsupportedEncodingError", "BodyTooLargeError")), outcome
        assert second == "200 b'real'"
        assert accepted in (1, 2)  # 2 on main (the unread 304 closed it), 1 here (its end was taken)


@pytest.mark.parametrize("host", ["127.0.0.2", "[::ffff:127.0.0.2]", "2130706434", "127.2", "0x7f.0.0.2"])
def test_each_redirect_hop_is_checked_by_the_guard_whatever_form_the_address_takes(host: str) -> None:
    """127.0.0.1 alone is allowed; a redirect to another loopback address, written as an IPv4-mapped
    IPv6 literal or in the forms inet_aton reads as IPv4 (one number, two parts, hex), is refused
    before any connection (the resolver reads them; the guard judges what it returns)."""

    async def main() -> tuple[str, int]:
        server = RawServer([[head(302, f"Location: http://{host}:PORT/x".encode(), b"Content-Length: 0")]])
        async with server as port:
            server.answers[0] = [server.answers[0][0].replace(b"PORT", str(port).encode())]  # type: ignore[union-attr]
            config = HttpConfig(
                allow_networks=("127.0.0.1/32",), per_host_delay=0, retries=0, trust_env=False
            )
            async with Fetcher(config) as fetcher:
                with pytest.raises(FetchError) as info:
                    await fetcher.get(f"http://127.0.0.1:{port}/a")
            return f"{type(info.value).__name__}: {info.value.reason}", len(server.heads)

    reason, requests = asyncio.run(main())
    assert requests == 1  # only the first hop reached a server
    assert reason.startswith(("BlockedAddressError", "FetchError: ConnectError: cannot resolve")), reason


def test_a_fetch_cancelled_mid_body_never_leaves_its_bytes_to_the_next_request() -> None:
    async def main() -> tuple[str, int]:
        server = RawServer([[head(200, b"Content-Length: 100") + b"half" + FORGED, HOLD]])
        async with server as port:
            config = HttpConfig(allow_private_networks=True, per_host_delay=0, retries=0)
            async with Fetcher(config) as fetcher:
                task = asyncio.create_task(fetcher.get(f"http://127.0.0.1:{port}/a"))
                while len(server.heads) < 1:
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.05)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                response = await fetcher.get(f"http://127.0.0.1:{port}/b")
            return f"{response.status} {response.content!r}", server.accepted

    answer, accepted = asyncio.run(main())
    assert answer == "200 b'real'"
    assert accepted == 2


def test_a_waiter_cancelled_once_given_a_new_connection_does_not_strand_it() -> None:
    """One connection per host. A holds it (the server never answers); B waits. A is cancelled: its
    connection is closed and a new one made for B; B is cancelled before it ran. The new connection,
    never connected, must not keep the host's one place: C is answered. (On main, httpcore's pool left
    it CONNECTING for good and C waited out its pool timeout.)"""

    async def main() -> tuple[str, list[str]]:
        server = RawServer([[HOLD]])
        async with server as port:
            pool = CleanPool(network_backend=AsyncioBackend(), max_connections=1)
            async with pool:

                async def get(path: str, pool_timeout: float = 5) -> bytes:
                    response = await pool.request(
                        "GET",
                        f"http://127.0.0.1:{port}{path}",
                        headers=[(b"Host", b"127.0.0.1")],
                        extensions={"timeout": {"read": 5, "pool": pool_timeout, "connect": 5}},
                    )
                    return response.content

                a = asyncio.create_task(get("/a"))
                while len(server.heads) < 1:
                    await asyncio.sleep(0.01)
                b = asyncio.create_task(get("/b"))
                while len(pool._requests) < 2:
                    await asyncio.sleep(0.01)
                waiting = pool._requests[1]
                a.cancel()
                while waiting.connection is None and not a.done():
                    await asyncio.sleep(0)
                b.cancel()
                for task in (a, b):
                    with pytest.raises(asyncio.CancelledError):
                        await task
                try:
                    answer = (await get("/c", pool_timeout=1)).decode()
                except httpcore.PoolTimeout:
                    answer = "PoolTimeout"
                left = [connection.info() for connection in pool.connections]
            return answer, left

    answer, left = asyncio.run(main())
    assert answer == "real"
    assert not any("CONNECTING" in info or "NEW" in info for info in left), left


def test_the_guards_kept_verdicts_follow_its_settings() -> None:
    """The guard's settings are plain attributes: a verdict kept under one set of allowed networks
    must not answer for another (the cache's key is the address alone)."""
    guard = AddressGuard(allow_networks=("10.1.0.0/16",))
    assert guard.allowed("10.1.2.3")
    guard.allow_networks = ()
    assert not guard.allowed("10.1.2.3")


def test_many_hosts_each_judged_by_its_own_fetchers_guard() -> None:
    """150 names (more than the 64 origins whose pools are kept) through one fetcher, every third
    resolving to 127.0.0.2 (not allowed): each of those is refused every time, the others answered;
    then a second fetcher, whose settings allow no private address, in the same process, is refused
    127.0.0.1 although the first one's guard allowed it (verdicts are kept per guard)."""
    names = {f"h{n}.test": ["127.0.0.2" if n % 3 == 0 else "127.0.0.1"] for n in range(150)}

    async def resolve(host: str, port: int) -> list[str]:
        return names[host]

    async def main() -> tuple[list[str], str]:
        server = RawServer([])
        async with server as port:
            allowing = HttpConfig(
                allow_networks=("127.0.0.1/32",), per_host_delay=0, retries=0, trust_env=False
            )
            outcomes = []
            async with Fetcher(allowing, resolver=resolve) as fetcher:
                for _ in range(2):
                    for name in names:
                        try:
                            response = await fetcher.get(f"http://{name}:{port}/")
                            outcomes.append(f"{name} {response.status}")
                        except FetchError as exc:
                            outcomes.append(f"{name} {type(exc).__name__}")
            denying = HttpConfig(per_host_delay=0, retries=0, trust_env=False)
            async with Fetcher(denying, resolver=resolve) as fetcher:
                try:
                    await fetcher.get(f"http://h1.test:{port}/")
                    other = "answered"
                except FetchError as exc:
                    other = type(exc).__name__
            return outcomes, other

    outcomes, other = asyncio.run(main())
    expected = [f"h{n}.test {'BlockedAddressError' if n % 3 == 0 else 200}" for n in range(150)]
    assert outcomes == expected * 2
    assert other == "BlockedAddressError"


@pytest.mark.parametrize(
    "answer", [DRIP + "HTTP/1.1 304 Not Modified\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n"]
)
def test_a_server_sending_a_byte_at_a_time_is_cut_off_by_the_whole_requests_timeout(answer: str) -> None:
    """Each byte comes well within the read timeout; the whole request's timeout still ends it (the
    head dripped, or a body after a quick head), and the next request is answered on a new connection."""
    steps: list[Step] = [DRIP + "x" * 40] if not answer.startswith(DRIP) else [answer]
    if not answer.startswith(DRIP):
        steps.insert(0, answer.encode())

    async def main() -> tuple[str, str, int]:
        server = RawServer([steps])
        async with server as port:
            config = HttpConfig(
                allow_private_networks=True, per_host_delay=0, retries=0, timeout=2, read_timeout=1
            )
            async with Fetcher(config) as fetcher:
                with pytest.raises(FetchError) as info:
                    await fetcher.get(f"http://127.0.0.1:{port}/a")
                response = await fetcher.get(f"http://127.0.0.1:{port}/b")
            return info.value.reason, f"{response.status} {response.content!r}", server.accepted

    reason, second, accepted = asyncio.run(main())
    assert reason == "timed out after 2 s (whole request)"
    assert second == "200 b'real'"
    assert accepted == 2
