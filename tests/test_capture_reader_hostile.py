"""Hostile captures for reextract's WARC reader: a file cut short or an offset that points nowhere must
fail with CaptureReadError, never hand back part of a page as if it were the whole page."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scraper.capture.exchange import PAGE, Exchange
from scraper.capture.reader import read_capture
from scraper.capture.records import exchange_bytes
from scraper.errors import CaptureReadError

URL = "http://127.0.0.1/post/1"
BODY = b"<html><body><p>" + b"The whole article text. " * 400 + b"</p></body></html>"


def _exchange(body: bytes = BODY) -> Exchange:
    return Exchange(
        url=URL,
        kind=PAGE,
        started=datetime(2026, 1, 1, tzinfo=UTC),
        method="GET",
        target=b"/post/1",
        http_version="HTTP/1.1",
        request_headers=((b"Host", b"127.0.0.1"),),
        status=200,
        reason=b"OK",
        response_headers=((b"Content-Type", b"text/html"), (b"Content-Length", str(len(body)).encode())),
        body=body,
    )


def _write(tmp_path: Path) -> tuple[Path, bytes]:
    data = exchange_bytes(_exchange())
    path = tmp_path / "a.warc.gz"
    path.write_bytes(data)
    return path, data


def test_whole_capture_reads_back(tmp_path: Path) -> None:
    _write(tmp_path)
    page = read_capture(tmp_path, "a.warc.gz", 0, URL, 10_000_000)
    assert page.body == BODY
    assert page.status == 200


def test_offset_past_the_end_fails(tmp_path: Path) -> None:
    _path, data = _write(tmp_path)
    with pytest.raises(CaptureReadError):
        read_capture(tmp_path, "a.warc.gz", len(data) + 1000, URL, 10_000_000)


def test_offset_inside_a_record_fails(tmp_path: Path) -> None:
    _write(tmp_path)
    with pytest.raises(CaptureReadError):
        read_capture(tmp_path, "a.warc.gz", 7, URL, 10_000_000)


def test_capture_replaced_by_junk_fails(tmp_path: Path) -> None:
    (tmp_path / "a.warc.gz").write_bytes(b"\x00junk" * 100)
    with pytest.raises(CaptureReadError):
        read_capture(tmp_path, "a.warc.gz", 0, URL, 10_000_000)


def test_record_cut_short_fails(tmp_path: Path) -> None:
    """The file was cut inside the response record's body (a disk filled, a copy interrupted): reading
    it must not return the first part of the page as the page."""
    path, data = _write(tmp_path)
    first_member = gzip.decompress(data)  # both members; cut the uncompressed record instead
    cut = first_member[: first_member.index(b"The whole article text.") + 200]
    path.write_bytes(cut)  # an uncompressed WARC, cut inside the body
    with pytest.raises(CaptureReadError):
        read_capture(tmp_path, "a.warc.gz", 0, URL, 10_000_000)


def test_gzip_record_cut_short_fails(tmp_path: Path) -> None:
    path, data = _write(tmp_path)
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CaptureReadError):
        read_capture(tmp_path, "a.warc.gz", 0, URL, 10_000_000)
