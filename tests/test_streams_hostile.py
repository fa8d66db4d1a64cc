"""scraper.streams against servers that misbehave on purpose: what each costs must stay one connection's
worth (a timeout, an error), never a hang, an unbounded buffer or a file descriptor left open."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpcore
import pytest

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
