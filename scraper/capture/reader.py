"""Reading a page back from its WARC capture (file, offset), for re-extraction where the database keeps no
raw page: its body emptied to save room (a pruned archive), or unreadable.

The record is read with warcio, which undoes the transfer and content encodings the server used (the capture
holds the bytes as sent), and is checked to be the response record of the page's URL before its body is
believed: a capture folder copied from elsewhere, or a file cut short, must not feed another page's text to
an article.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]

from scraper.capture.records import target_uri
from scraper.capture.recovery import OPEN_SUFFIX
from scraper.errors import CaptureReadError


@dataclass(frozen=True)
class CapturedPage:
    body: bytes  # decoded of its transfer and content encodings
    content_type: str | None
    status: int


def read_capture(directory: Path, file: str, offset: int, url: str, max_bytes: int) -> CapturedPage:
    """The response at `offset` in `file` (in `directory`, closed or still being written), which must be
    `url`'s; at most `max_bytes` of its body (a capture may hold more than a fetch would keep)."""
    if Path(file).name != file or offset < 0:
        raise CaptureReadError(f"capture {file!r} at {offset}: not a file of the capture folder")
    path = directory / file
    if not path.exists():
        path = directory / (file + OPEN_SUFFIX)  # its writer is still at it
    try:
        with path.open("rb") as stream:
            stream.seek(offset)
            record = next(iter(ArchiveIterator(stream)), None)
            if record is None:
                raise CaptureReadError(f"capture {file} at {offset}: no record there")
            if record.rec_type != "response" or record.rec_headers.get_header(
                "WARC-Target-URI"
            ) != target_uri(url):
                raise CaptureReadError(f"capture {file} at {offset}: not the response record of {url}")
            body = record.content_stream().read(max_bytes)
            if len(body) < max_bytes and getattr(record.raw_stream, "limit", 0) > 0:
                # the record's Content-Length promised more than the file holds: a file cut short (an
                # uncompressed WARC gives no gzip error), so part of a page, never to be taken for it
                raise CaptureReadError(f"capture {file} at {offset}: the record is cut short")
            headers = record.http_headers
            status = int(headers.get_statuscode() or 0) if headers is not None else 0
            content_type = headers.get_header("Content-Type") if headers is not None else None
    except FileNotFoundError:
        raise CaptureReadError(f"capture {file}: no such file in {directory}") from None
    except CaptureReadError:
        raise
    except Exception as exc:  # a torn record, a bad gzip member, a header warcio cannot parse
        raise CaptureReadError(f"capture {file} at {offset}: {type(exc).__name__}: {exc}") from None
    return CapturedPage(body, content_type, status)
