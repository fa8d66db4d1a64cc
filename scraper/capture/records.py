"""WARC records built with warcio: a warcinfo, and the response + request pair of one exchange.

warcio re-encodes an HTTP header block it writes (non-ASCII percent-encoded); a capture must keep the bytes
the server sent, so the header block is handed to warcio whole (`_ExactHeaders`) and warcio does the rest:
the record headers, the lengths, the block and payload digests. Each record is then one gzip member,
compressed here with ISA-L (the `isal` package) rather than by warcio's zlib at level 9: on the soak
benchmark's 79 KB pages ISA-L's level 1 takes 0.11 ms and gives zlib level 6's size (21.9 KB), where zlib
takes 1.3 ms at level 6 and more at 9. Where isal cannot be installed, zlib at level 6 does the same job.

The response comes first and the request after it (WARC-Concurrent-To naming the response), so a response's
offset is where its pair starts: copying the pair is reading two records from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from io import BytesIO

import httpx
from warcio.recordbuilder import ArcWarcRecord  # type: ignore[import-untyped]
from warcio.statusandheaders import StatusAndHeaders  # type: ignore[import-untyped]
from warcio.warcwriter import WARCWriter  # type: ignore[import-untyped]

from scraper.capture.exchange import Exchange, RawHeaders

try:
    from isal import isal_zlib as deflate

    GZIP_LEVEL = 1  # of ISA-L's 0-3
except ImportError:  # a platform without an isal wheel
    import zlib as deflate  # type: ignore[no-redef]

    GZIP_LEVEL = 6

WARC_VERSION = "1.1"


class _ExactHeaders(StatusAndHeaders):
    """An HTTP header block written as the bytes given, not re-encoded by warcio."""

    def __init__(self, head: bytes, headers: RawHeaders, *, request: bool = False) -> None:
        first = head.split(b"\r\n", 1)[0].decode("latin-1")
        protocol, _, rest = ("", "", first) if request else first.partition(" ")
        super().__init__(
            rest,
            [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers],
            protocol=protocol,
            is_http_request=request,
        )
        self.exact = head

    def compute_headers_buffer(self, header_filter: object = None) -> None:
        self.headers_buff = self.exact


def warc_date(when: datetime) -> str:
    """WARC/1.1 dates carry microseconds (ISO 28500:2017, W3C-DTF), always UTC."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _header_lines(headers: RawHeaders) -> bytes:
    return b"".join(name + b": " + value + b"\r\n" for name, value in headers) + b"\r\n"


def _writer() -> WARCWriter:
    return WARCWriter(BytesIO(), gzip=False, warc_version=WARC_VERSION)


def record_bytes(writer: WARCWriter, record: ArcWarcRecord) -> bytes:
    """One record, written by warcio, as one gzip member."""
    out = BytesIO()
    writer.out = out
    writer.write_record(record)
    gzipper = deflate.compressobj(GZIP_LEVEL, deflate.DEFLATED, 16 + deflate.MAX_WBITS)
    return gzipper.compress(out.getvalue()) + gzipper.flush()


def warcinfo_bytes(filename: str, info: Mapping[str, str]) -> bytes:
    writer = _writer()
    return record_bytes(writer, writer.create_warcinfo_record(filename, dict(info)))


def target_uri(url: str) -> str:
    """A URL as WARC-Target-URI holds it: a URI (WARC 1.1 cites RFC 3986), so a feed's IRI link (a CJK
    path, an é in the query) is written percent-encoded, with an ASCII host, as it went on the wire and as
    a replay tool looks it up; written as UTF-8 text, a lookup found nothing."""
    if url.isascii():
        return url
    try:
        return str(httpx.URL(url))
    except httpx.InvalidURL:  # nothing httpx fetched: keep it findable, if not strictly a URI
        return url


def exchange_bytes(exchange: Exchange) -> bytes:
    """The response and request records of one exchange, each a gzip member, ready to append."""
    writer = _writer()
    date = warc_date(exchange.started)
    status_line = f"{exchange.http_version} {exchange.status} ".encode("ascii") + exchange.reason
    response_head = status_line + b"\r\n" + _header_lines(exchange.response_headers)
    response_fields = {"WARC-Date": date}
    if exchange.peer_ip:
        response_fields["WARC-IP-Address"] = exchange.peer_ip
    if exchange.truncated:
        response_fields["WARC-Truncated"] = "length"
    response = writer.create_warc_record(
        target_uri(exchange.url),
        "response",
        payload=BytesIO(exchange.body),
        length=len(exchange.body),
        warc_headers_dict=response_fields,
        http_headers=_ExactHeaders(response_head, exchange.response_headers),
    )
    request_line = exchange.method.encode("ascii") + b" " + exchange.target + b" "
    request_line += exchange.request_version.encode("ascii")
    request = writer.create_warc_record(
        target_uri(exchange.url),
        "request",
        payload=BytesIO(b""),
        length=0,
        warc_headers_dict={
            "WARC-Date": date,
            "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
        },
        http_headers=_ExactHeaders(
            request_line + b"\r\n" + _header_lines(exchange.request_headers),
            exchange.request_headers,
            request=True,
        ),
    )
    return record_bytes(writer, response) + record_bytes(writer, request)
