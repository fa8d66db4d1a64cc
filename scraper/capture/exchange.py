"""One HTTP exchange as it went over the wire: what the Fetcher hands to a capture, and where it went.

The Fetcher knows nothing of WARC: it reports each complete exchange to an observer (a callable taking an
`Exchange`), and an observer that wrote it somewhere answers with a `CaptureRef`, which rides on the Response
to the stored outcome. Bytes stay bytes: header names and values exactly as sent and received, the body as
received before any Content-Encoding was undone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

RawHeaders = tuple[tuple[bytes, bytes], ...]

PAGE = "page"  # an article page
OTHER = "other"  # a feed poll, robots.txt, a sitemap or a feed's history page


@dataclass(frozen=True)
class Exchange:
    """`body` is the raw body (still gzip-compressed if the server compressed it), at most the fetch's
    size cap: `truncated` says the server sent more than was kept. Chunked transfer framing is not in it
    (the HTTP client undoes it), though the headers still say the server chunked."""

    url: str
    kind: str  # PAGE or OTHER
    started: datetime  # aware UTC: when the request was sent
    method: str
    target: bytes  # the request target as sent: path and query
    http_version: str  # of the answer, as the server gave it: "HTTP/1.1", "HTTP/1.0"
    request_headers: RawHeaders
    status: int
    reason: bytes
    response_headers: RawHeaders
    body: bytes
    request_version: str = "HTTP/1.1"  # as the request was sent
    truncated: bool = False
    peer_ip: str | None = None  # None through a proxy (the peer is the proxy, not the site)


@dataclass(frozen=True)
class CaptureRef:
    """Where a response record is: the WARC file's name (as it is once closed) and the record's offset."""

    file: str
    offset: int


Capture = Callable[[Exchange], CaptureRef | None]
