"""The WARC writer alone: records of any bytes read back exactly, a kill -9 leaves whole records,
leftover `.open` files of dead processes are cut to their last whole record and closed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import zlib
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from warcio.archiveiterator import ArchiveIterator

from scraper.capture import PAGE, CaptureRef, Exchange, WarcWriter
from scraper.capture.records import exchange_bytes
from scraper.capture.recovery import whole_records_end
from scraper.capture.writer import host_label
from scraper.config import HttpConfig
from scraper.fetch import Fetcher

TOKEN = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=20)
HEADER_VALUE = st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"").strip())


def exchange(body: bytes = b"<p>hello</p>", **changes: object) -> Exchange:
    fields: dict[str, object] = {
        "url": "http://example.test/a?b=1",
        "kind": PAGE,
        "started": datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC),
        "method": "GET",
        "target": b"/a?b=1",
        "http_version": "HTTP/1.1",
        "request_headers": ((b"Host", b"example.test"), (b"Accept", b"*/*")),
        "status": 200,
        "reason": b"OK",
        "response_headers": ((b"Content-Type", b"text/html"),),
        "body": body,
        "peer_ip": "192.0.2.7",
    }
    fields.update(changes)
    return Exchange(**fields)  # type: ignore[arg-type]


def members(data: bytes) -> list[bytes]:
    out = []
    while data:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out.append(inflater.decompress(data))
        data = inflater.unused_data
    return out


@settings(max_examples=60, deadline=None)
@given(
    body=st.binary(max_size=3000),
    headers=st.lists(st.tuples(TOKEN.map(str.encode), HEADER_VALUE), max_size=8),
    status=st.integers(100, 599),
    reason=HEADER_VALUE,
)
def test_any_exchange_is_written_exactly_and_reads_back(
    body: bytes, headers: list[tuple[bytes, bytes]], status: int, reason: bytes
) -> None:
    data = exchange_bytes(exchange(body, response_headers=tuple(headers), status=status, reason=reason))
    with BytesIO(data) as stream:
        records = [(r.rec_type, r.raw_stream.read()) for r in ArchiveIterator(stream, check_digests="raise")]
    assert [kind for kind, _ in records] == ["response", "request"]
    assert records[0][1] == body
    head = f"HTTP/1.1 {status} ".encode() + reason + b"\r\n"
    head += b"".join(name + b": " + value + b"\r\n" for name, value in headers) + b"\r\n"
    assert head + body + b"\r\n\r\n" in members(data)[0]  # the header block byte for byte, not re-encoded


def test_rotation_and_offsets(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, {"software": "test"}, max_file_bytes=3000)
    refs = [writer(exchange(os.urandom(700) + bytes([i]))) for i in range(8)]
    assert writer.current_file is not None and (tmp_path / f"{writer.current_file}.open").exists()
    writer.close()
    assert all(isinstance(ref, CaptureRef) for ref in refs)
    assert len({ref.file for ref in refs if ref}) > 1 and not list(tmp_path.glob("*.open"))
    for i, ref in enumerate(refs):
        assert ref is not None
        with (tmp_path / ref.file).open("rb") as stream:
            stream.seek(ref.offset)
            record = next(iter(ArchiveIterator(stream)))
            assert record.rec_type == "response" and record.raw_stream.read()[-1] == i


def test_feeds_are_left_out_unless_asked(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, {}) as writer:
        assert writer(exchange(kind="other")) is None
    with WarcWriter(tmp_path, {}, feeds=True) as writer:
        assert writer(exchange(kind="other")) is not None


WRITER_LOOP = textwrap.dedent(
    """
    import os, sys
    from datetime import UTC, datetime
    from scraper.capture import WarcWriter
    from tests.test_capture_writer import exchange
    writer = WarcWriter(__import__("pathlib").Path(sys.argv[1]), {"software": "test"})
    i = 0
    while True:
        writer(exchange(os.urandom(1000 + (i * 7919) % 200000)))
        i += 1
        if i == 5:
            print("written", flush=True)
    """
)


def test_kill_9_while_writing_leaves_a_readable_file_that_the_next_start_closes(tmp_path: Path) -> None:
    """A kill -9 can cut the write of the last record (Linux stops a write between pages for a fatal
    signal): a reader still reads every whole record before it, and the next start cuts it off."""
    for round_ in range(3):
        with subprocess.Popen(  # leaving it closes the pipe
            [sys.executable, "-c", WRITER_LOOP, str(tmp_path)],
            stdout=subprocess.PIPE,
            cwd=Path(__file__).parent.parent,
        ) as child:
            assert child.stdout is not None and child.stdout.readline() == b"written\n"
            asyncio.run(asyncio.sleep(0.05 * round_))
            child.send_signal(signal.SIGKILL)
            child.wait()
        (left,) = tmp_path.glob("*.warc.gz.open")
        data = left.read_bytes()
        whole = whole_records_end(BytesIO(data))
        with BytesIO(data[:whole]) as stream:
            wanted = [r.rec_headers.get_header("WARC-Record-ID") for r in ArchiveIterator(stream)]
        with left.open("rb") as stream:  # as it is, torn tail and all: no error, every whole record
            read = [r.rec_headers.get_header("WARC-Record-ID") for r in ArchiveIterator(stream)]
        assert read[: len(wanted)] == wanted and len(read) - len(wanted) in (0, 1)
        assert len(wanted) >= 11  # the warcinfo and 5 pairs at least
        WarcWriter(tmp_path, {}).close()  # a new start closes what the dead one left
        assert not list(tmp_path.glob("*.open"))
        closed = tmp_path / left.name.removesuffix(".open")
        assert closed.read_bytes() == data[:whole]
        assert subprocess.run([Path(sys.executable).parent / "warcio", "check", closed]).returncode == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1))
def test_a_torn_tail_is_cut_to_the_last_whole_record(tmp_path_factory: object, cut: float) -> None:
    folder: Path = tmp_path_factory.mktemp("torn")  # type: ignore[attr-defined]
    with WarcWriter(folder, {"software": "test"}) as writer:
        for i in range(4):
            writer(exchange(bytes([i]) * 500))
    (whole,) = folder.iterdir()
    data = whole.read_bytes()
    ends = [0]
    for member in members(data):  # where each record ends in the file
        ends.append(ends[-1] + _member_length(data[ends[-1] :]))
        assert member.startswith(b"WARC/1.1")
    at = int(len(data) * cut)
    whole.unlink()
    torn = folder / f"scraper-20260101000000000-00000-{host_label()}-1.warc.gz.open"
    torn.write_bytes(data[:at])
    WarcWriter(folder, {}).close()
    kept = max(end for end in ends if end <= at)
    closed = folder / torn.name.removesuffix(".open")
    assert not torn.exists()
    if kept == 0:
        assert not closed.exists()  # nothing whole in it
    else:
        assert closed.read_bytes() == data[:kept]


def _member_length(data: bytes) -> int:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    inflater.decompress(data)
    return len(data) - len(inflater.unused_data)


def test_a_live_writers_open_file_is_left_alone(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, {}) as first:
        first(exchange())
        name = first.current_file
        WarcWriter(tmp_path, {}).close()  # another process (or writer) starting beside it
        assert (tmp_path / f"{name}.open").exists()
        first(exchange())
    assert (tmp_path / str(name)).exists()


def test_a_failing_capture_costs_the_capture_not_the_fetch(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("<p>fine</p>", content_type="text/html")

    def broken(_exchange: Exchange) -> CaptureRef | None:
        raise OSError("disk full")

    async def fetch() -> tuple[int, bytes, CaptureRef | None]:
        config = HttpConfig(allow_private_networks=True, per_host_delay=0, respect_robots=False)
        async with Fetcher(config, env={}, capture=broken) as fetcher:
            response = await fetcher.get(httpserver.url_for("/a"), check_robots=True)
        return response.status, response.content, response.capture

    assert asyncio.run(fetch()) == (200, b"<p>fine</p>", None)


def test_a_failed_write_is_cut_off_and_the_file_stays_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = WarcWriter(tmp_path, {})
    writer(exchange(b"first"))
    real_write = os.write

    def half_then_full(fd: int, data: bytes | memoryview) -> int:
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    assert writer(exchange(b"second")) is None  # the capture is lost, the caller goes on
    monkeypatch.setattr(os, "write", real_write)
    writer(exchange(b"third"))
    writer.close()
    (path,) = tmp_path.iterdir()
    with path.open("rb") as stream:
        bodies = [r.raw_stream.read() for r in ArchiveIterator(stream, check_digests="raise")]
    assert bodies[1::2] == [b"first", b"third"]
