"""The fetcher's body read on its guarded transport (scraper.fetch._read_capped reading the HostBody
itself) against the same read through httpx's `aiter_raw`: for any body (by length or chunked, plain,
gzip or deflate, over the cap or not, cut short or corrupt) the same answer or the same refusal, and the
connection kept for the next request exactly when it was before."""

from __future__ import annotations

import asyncio
import gzip
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper import fetch
from scraper.config import HttpConfig
from scraper.errors import FetchError
from scraper.fetch import Fetcher
from tests.test_pools_hostile import Server

CAP = 1000


def _answer(body: bytes, coding: str, chunked: bool, cut: bool, pieces: int) -> bytes:
    if coding == "gzip":
        body = gzip.compress(body)
    elif coding == "deflate":
        body = zlib.compress(body)
    elif coding == "raw-deflate":
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body = packer.compress(body) + packer.flush()
    elif coding == "corrupt-gzip":
        body = b"\x1f\x8b" + body
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    if coding != "identity":
        name = {"raw-deflate": "deflate", "corrupt-gzip": "gzip"}.get(coding, coding)
        head += b"Content-Encoding: " + name.encode() + b"\r\n"
    if chunked:
        size = max(1, len(body) // max(pieces, 1))
        parts = [body[i : i + size] for i in range(0, len(body), size)]
        framed = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts)
        if cut:
            return head + b"Transfer-Encoding: chunked\r\n\r\n" + framed[: len(framed) // 2] + b"<close>"
        return head + b"Transfer-Encoding: chunked\r\n\r\n" + framed + b"0\r\n\r\n"
    if cut:
        return head + b"Content-Length: %d\r\n\r\n" % (len(body) + 5) + body + b"<close>"
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


async def _fetch_twice(answer: bytes) -> tuple[object, object, int]:
    """The answer's outcome, then a second request's on the same host, and the connections accepted."""
    async with Server([answer]) as port:
        config = HttpConfig(allow_private_networks=True, per_host_delay=0, retries=0, timeout=5)
        async with Fetcher(config) as fetcher:
            outcomes: list[object] = []
            for path in ("/a", "/b"):
                try:
                    response = await fetcher.get(f"http://127.0.0.1:{port}{path}", max_bytes=CAP)
                except FetchError as exc:
                    outcomes.append((type(exc).__name__, exc.reason, exc.transient))
                else:
                    outcomes.append((response.status, response.content, dict(response.headers)))
            pools = fetcher._direct._transport._pool  # type: ignore[attr-defined]
            connections = sum(len(pool.connections) for pool in pools._pools.values())
    return outcomes[0], outcomes[1], connections


def _both(answer: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple, tuple]:
    made = asyncio.run(_fetch_twice(answer))
    with monkeypatch.context() as patched:
        patched.setattr(fetch, "HostBody", type("NotHostBody", (), {}))  # every body through aiter_raw
        expected = asyncio.run(_fetch_twice(answer))
    return made, expected


@settings(max_examples=60, deadline=None)
@given(
    st.binary(max_size=1500),
    st.sampled_from(["identity", "gzip", "deflate", "raw-deflate", "corrupt-gzip"]),
    st.booleans(),
    st.booleans(),
    st.integers(1, 5),
)
def test_any_body_is_read_as_through_aiter_raw(
    body: bytes, coding: str, chunked: bool, cut: bool, pieces: int
) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        made, expected = _both(_answer(body, coding, chunked, cut, pieces), monkeypatch)
    assert made == expected


def test_a_bomb_and_a_body_over_the_cap_are_refused_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = _answer(b"\0" * 200_000, "gzip", chunked=False, cut=False, pieces=1)
    made, expected = _both(bomb, monkeypatch)
    assert made == expected and "cap" in str(made[0])
    big = _answer(b"x" * (CAP + 1), "identity", chunked=True, cut=False, pieces=3)
    made, expected = _both(big, monkeypatch)
    assert made == expected and "cap" in str(made[0])
