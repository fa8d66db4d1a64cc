"""`scraper export --warc DIR` and `--wacz FILE`: the archive's pages as WARC files, or a WACZ package.

Each stored page gives the best evidence there is of it:

- its capture, when `[warc]` was on when it was fetched and the file is still in the capture folder: the
  response and request records copied byte for byte (the exact bytes received);
- otherwise a `resource` record made from the raw page in the database. That body is not what went over
  the wire: the fetcher undid any Content-Encoding and kept no HTTP headers but the Content-Type. A
  `response` record would claim an HTTP message we never saw, so the record is a `resource` (ISO 28500:
  "a resource, without full protocol response information"), its Content-Type the one served (with the
  charset the scraper detected, when the server named none), and the export's warcinfo says what was kept.
  pywb and ReplayWeb.page replay resource records as they are.

Posts imported from an old archive have no raw page, and so nothing to export. The pages chosen are those
fetched in `since`..`until` (by capture time), of the feed named, if given.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import TextIO

from sqlalchemy.orm import Session, sessionmaker
from warcio.warcwriter import WARCWriter  # type: ignore[import-untyped]

from scraper import __version__
from scraper.capture.records import WARC_VERSION, record_bytes, target_uri, warc_date
from scraper.capture.recovery import OPEN_SUFFIX
from scraper.capture.writer import DEFAULT_MAX_FILE_BYTES, WarcWriter
from scraper.store.captures import stored_pages

_BATCH = 200
RESOURCE_NOTE = (
    "resource records are pages from the scraper's database: the body as received, Content-Encoding "
    "undone, in the charset served; the HTTP status and headers other than Content-Type were not kept. "
    "response/request records are copies of the captures made when the page was fetched."
)


@dataclass(frozen=True)
class PageFilter:
    since: datetime | None = None
    until: datetime | None = None
    feed: str | None = None  # a feed's name


@dataclass
class ExportReport:
    copied: int = 0  # captures copied from the capture folder
    made: int = 0  # resource records made from stored pages
    files: list[Path] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"exported {self.copied + self.made} pages ({self.copied} captures copied, {self.made} from "
            "stored pages)"
        )


@dataclass(frozen=True)
class _Page:
    url: str
    title: str | None
    content_type: str | None
    encoding: str | None
    body_zlib: bytes
    fetched_at: datetime
    warc_file: str | None
    warc_offset: int | None


def export_warc(
    sessions: sessionmaker[Session],
    out_dir: Path,
    capture_dir: Path | None,
    filters: PageFilter,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    pages_list: TextIO | None = None,
) -> ExportReport:
    """Write the chosen pages into new WARC files in `out_dir` (named as the captures are); each page's
    line of a WACZ pages list goes to `pages_list` as it is written (the archive may be large)."""
    report = ExportReport()
    info = {
        "software": f"scraper/{__version__}",
        "format": "WARC File Format 1.1",
        "description": RESOURCE_NOTE,
    }
    with WarcWriter(out_dir, info, prefix="scraper-export", max_file_bytes=max_file_bytes) as writer:
        for page in _pages(sessions, filters):
            copied = _copy_capture(capture_dir, page)
            data = copied if copied is not None else _resource(page)
            ref = writer.append(data)
            if copied is not None:
                report.copied += 1
            else:
                report.made += 1
            if not report.files or report.files[-1].name != ref.file:  # files are written one by one
                report.files.append(out_dir / ref.file)
            if pages_list is not None:
                pages_list.write(json.dumps(_page_entry(page), ensure_ascii=False) + "\n")
    return report


def export_wacz(
    sessions: sessionmaker[Session], out_file: Path, capture_dir: Path | None, filters: PageFilter
) -> ExportReport:
    """A WACZ (the `wacz` package): the chosen pages' WARCs, their CDXJ index and the pages list."""
    try:
        from wacz.main import main as wacz_main  # type: ignore[import-untyped]
    except ImportError as exc:  # an optional dependency
        raise RuntimeError(
            f"making a WACZ needs the wacz package (pip install 'scraper[wacz]'): {exc}"
        ) from None
    with tempfile.TemporaryDirectory(prefix="scraper-wacz-") as work:
        folder = Path(work)
        pages = folder / "pages.jsonl"
        with pages.open("w", encoding="utf-8") as pages_list:
            pages_list.write(
                json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}) + "\n"
            )
            report = export_warc(sessions, folder / "warc", capture_dir, filters, pages_list=pages_list)
        if not report.files:
            raise RuntimeError("no stored page matches: nothing to put in a WACZ")
        out_file.parent.mkdir(parents=True, exist_ok=True)
        partial = out_file.with_name(out_file.name + ".partial")
        args = ["create", "-o", str(partial), "-p", str(pages), "-c", *map(str, report.files)]
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            status = wacz_main(args)
        if status:
            partial.unlink(missing_ok=True)
            raise RuntimeError(f"the wacz package could not make the WACZ: {output.getvalue().strip()}")
        partial.replace(out_file)  # a WACZ on disk is always whole
    report.files = [out_file]
    return report


def _pages(sessions: sessionmaker[Session], filters: PageFilter) -> Iterator[_Page]:
    """The chosen pages in article order, read a batch at a time (the archive may be large)."""
    after = 0
    while True:
        with sessions() as session:
            rows = stored_pages(
                session, after, _BATCH, since=filters.since, until=filters.until, feed=filters.feed
            )
        if not rows:
            return
        for row in rows:
            yield _Page(*row[1:])
        after = rows[-1][0]


def _copy_capture(capture_dir: Path | None, page: _Page) -> bytes | None:
    """The page's response record and its request, as the bytes in the capture file; None if gone."""
    if capture_dir is None or page.warc_file is None or page.warc_offset is None:
        return None
    path = capture_dir / page.warc_file
    if not path.exists():
        path = capture_dir / (page.warc_file + OPEN_SUFFIX)  # its writer is still at it
    try:
        with path.open("rb") as stream:
            stream.seek(page.warc_offset)
            response = _read_member(stream)
            request = _read_member(stream)
    except OSError:
        return None
    if response is None or not _is_record(response[1], b"response", page.url):
        return None
    data = response[0]
    if request is not None and _is_record(request[1], b"request", page.url):
        data += request[0]
    return data


def _read_member(stream: io.BufferedReader) -> tuple[bytes, bytes] | None:
    """One gzip member from here: (its bytes, its inflated record), the stream left just past it."""
    start = stream.tell()
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    raw, record = bytearray(), bytearray()
    while not inflater.eof:
        chunk = stream.read(1 << 16)
        if not chunk:
            return None
        try:
            record += inflater.decompress(chunk)
        except zlib.error:
            return None
        raw += chunk
    used = len(raw) - len(inflater.unused_data)
    stream.seek(start + used)
    return bytes(raw[:used]), bytes(record)


def _is_record(record: bytes, kind: bytes, url: str) -> bool:
    head = record.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    fields = dict(line.split(b": ", 1) for line in head[1:] if b": " in line)
    return fields.get(b"WARC-Type") == kind and fields.get(b"WARC-Target-URI") == target_uri(url).encode()


def _resource(page: _Page) -> bytes:
    body = zlib.decompress(page.body_zlib)
    content_type = page.content_type or "application/octet-stream"
    if page.encoding and "charset" not in content_type.lower() and content_type.startswith("text/"):
        content_type += f"; charset={page.encoding}"
    writer = WARCWriter(BytesIO(), gzip=False, warc_version=WARC_VERSION)
    return record_bytes(
        writer,
        writer.create_warc_record(
            target_uri(page.url),
            "resource",
            payload=BytesIO(body),
            length=len(body),
            warc_content_type=content_type,
            warc_headers_dict={"WARC-Date": warc_date(page.fetched_at)},
        ),
    )


def _page_entry(page: _Page) -> dict[str, str]:
    entry = {"url": target_uri(page.url), "ts": page.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if page.title:
        entry["title"] = page.title
    return entry
