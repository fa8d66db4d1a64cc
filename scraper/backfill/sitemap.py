"""`--sitemap URL`: article URLs from a site's sitemaps.

Reads sitemap indexes (nested too), urlsets, gzipped sitemaps (`.xml.gz`, told by their bytes, not their
name), Google News sitemaps (their publication date and title are kept), and plain-text sitemaps (one URL a
line). Given a site's root (`https://example.org/`), the sitemaps are those robots.txt lists, else
`/sitemap.xml`.

Resuming: the entry documents (the URL given, robots.txt's sitemaps) and every index are read each run;
a urlset listed in an index is skipped when the journal has it read under the same filters and the index
still gives it the same `<lastmod>` (`--rescan` reads everything again). A child whose `<lastmod>` is
before `--since` holds nothing newer and is not fetched.

Sitemaps are input from strangers: a document with a DTD or entity declarations is refused (no entity
expansion), a gzipped one is unpacked to at most 50 MiB (the protocol's limit).
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast
from urllib.parse import urljoin, urlsplit, urlunsplit
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from protego import Protego
from sqlalchemy.orm import Session, sessionmaker

from scraper.backfill.frontier import (
    Filters,
    Found,
    SourceReport,
    already_read,
    claim_document,
    mark_read,
    parse_w3c_datetime,
    queue_found,
)
from scraper.backfill.source import SourceOption, SourceRun, SourceValue, given_values
from scraper.errors import RefusedValueError, SitemapError
from scraper.fetch import Fetcher, FetchError
from scraper.sanitize import checked_url, defuse_char_ref_bytes, journal_lastmod
from scraper.store.leases import Leases

log = logging.getLogger(__name__)

MAX_UNPACKED = 50 * 1024 * 1024
MAX_DEPTH = 5
_ACCEPT = {"Accept": "application/xml, text/xml;q=0.9, application/x-gzip;q=0.8, text/plain;q=0.5, */*;q=0.1"}


@dataclass(frozen=True)
class Child:
    url: str
    lastmod: str | None


@dataclass(frozen=True)
class Sitemap:
    kind: str  # "index" or "urlset"
    children: tuple[Child, ...] = ()
    urls: tuple[Found, ...] = ()


# --- parsing ------------------------------------------------------------------------------------------------


def unpack(body: bytes) -> bytes:
    """A gzipped body unpacked (capped); any other body as it is."""
    if body[:2] != b"\x1f\x8b":
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, MAX_UNPACKED + 1)
    except zlib.error as exc:
        raise SitemapError(f"broken gzip: {exc}") from None
    if len(data) > MAX_UNPACKED:
        raise SitemapError(f"gzipped sitemap unpacks to more than {MAX_UNPACKED} bytes")
    return data


def parse_sitemap(body: bytes, base_url: str) -> Sitemap:
    """Parse a sitemap document (XML index or urlset, gzipped or not, or plain text)."""
    data = unpack(body).lstrip(b"\xef\xbb\xbf").strip()
    if not data:
        raise SitemapError("empty document")
    if not data.startswith(b"<"):
        urls = tuple(
            Found(line.strip()) for line in _text_lines(data) if re.match(r"https?://", line.strip())
        )
        return Sitemap("urlset", urls=urls)
    if re.search(rb"<!(?:DOCTYPE|ENTITY)", data[:65536]) or b"<!ENTITY" in data:
        raise SitemapError("document declares a DTD or entities: refused")
    return _parse_xml(defuse_char_ref_bytes(data), base_url)


def _text_lines(data: bytes) -> Iterator[str]:
    yield from data.decode("utf-8", errors="replace").splitlines()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _parse_xml(data: bytes, base_url: str) -> Sitemap:
    parser: XMLPullParser[Element] = XMLPullParser(events=("start", "end"))
    root: str | None = None
    children: list[Child] = []
    urls: list[Found] = []
    fields: dict[str, str] = {}
    try:
        for start in range(0, len(data), 1 << 20):
            parser.feed(data[start : start + (1 << 20)])
            for pair in parser.read_events():
                event, element = cast("tuple[str, Element]", pair)  # start and end events carry elements
                name = _local(element.tag)
                if event == "start":
                    if root is None:
                        root = name
                        if root not in ("sitemapindex", "urlset"):
                            raise SitemapError(f"not a sitemap (root element <{root}>)")
                    elif name in ("url", "sitemap"):
                        fields = {}
                    continue
                if name in ("loc", "lastmod", "publication_date", "title"):
                    fields.setdefault(name, (element.text or "").strip())
                elif name in ("url", "sitemap"):
                    loc = fields.get("loc")
                    if loc:
                        loc = _absolute(base_url, loc)
                        if name == "sitemap":
                            children.append(Child(loc, journal_lastmod(fields.get("lastmod"))))
                        else:
                            urls.append(
                                Found(
                                    loc,
                                    title=fields.get("title") or None,
                                    published=parse_w3c_datetime(fields.get("publication_date")),
                                    lastmod=parse_w3c_datetime(fields.get("lastmod")),
                                )
                            )
                    element.clear()
        parser.close()
    except ParseError as exc:
        if root is None:
            raise SitemapError(f"not well-formed XML: {exc}") from None
        # A truncated or broken sitemap still gives the URLs read before the fault.
        log.warning("%s: sitemap broken after %d entries: %s", base_url, len(urls) + len(children), exc)
    if root == "sitemapindex":
        return Sitemap("index", children=tuple(children))
    return Sitemap("urlset", urls=tuple(urls))


def _absolute(base_url: str, loc: str) -> str:
    """The <loc> resolved; as written if urllib cannot read it (the queue then says why it is refused)."""
    try:
        return urljoin(base_url, loc)
    except ValueError:
        return loc


def sitemaps_from_robots(robots_txt: str) -> list[str]:
    return list(Protego.parse(robots_txt).sitemaps)


def is_site_root(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query


# --- the walk -----------------------------------------------------------------------------------------------


async def backfill_sitemaps(
    fetcher: Fetcher,
    sessions: sessionmaker[Session],
    start_url: str,
    filters: Filters,
    feed_id: int | None,
    report: SourceReport,
    *,
    rescan: bool = False,
    leases: Leases | None = None,
) -> None:
    """Walk the sitemaps from `start_url` and queue the article URLs they list. Never raises for bad input.
    With `leases`, each sitemap is claimed first, and one another node is reading is left to it."""
    params = filters.fingerprint(feed_id)
    try:
        entries = await _entry_points(fetcher, start_url, report)
    except (FetchError, RefusedValueError) as exc:
        report.errors.append(f"{start_url}: {exc}")
        return
    stack: list[tuple[Child, int, bool]] = [(Child(url, None), 0, True) for url in reversed(entries)]
    visited: set[str] = set()
    while stack:
        child, depth, entry_point = stack.pop()
        if child.url in visited:
            continue
        visited.add(child.url)
        if not entry_point and not rescan and _needless(child, filters, sessions, params):
            report.documents_skipped += 1
            continue
        claim = claim_document(leases, child.url, "sitemap", params) if leases is not None else None
        if leases is not None and claim is None:
            report.documents_skipped += 1
            log.info("sitemap %s: another node is reading it", child.url)
            continue
        try:
            sitemap = await _read(fetcher, child.url)
        except (FetchError, SitemapError) as exc:
            report.errors.append(f"sitemap {child.url}: {exc}")
            log.warning("sitemap %s: %s", child.url, exc)
            _release(leases, claim)
            continue
        report.documents_read += 1
        if sitemap.kind == "index":
            _release(leases, claim)  # an index is not journalled: its children are
            if depth >= MAX_DEPTH:
                report.errors.append(
                    f"sitemap {child.url}: indexes nested deeper than {MAX_DEPTH}; not followed"
                )
                continue
            stack.extend((c, depth + 1, False) for c in reversed(sitemap.children))
            log.info("sitemap index %s: %d sitemaps", child.url, len(sitemap.children))
            continue
        before = report.queued
        with sessions.begin() as session:
            queue_found(session, feed_id, sitemap.urls, filters, report)
            found = len(sitemap.urls)
            mark_read(
                session, child.url, "sitemap", params, lastmod=child.lastmod, urls_found=found, leases=leases
            )
        log.info("sitemap %s: %d URLs, %d queued", child.url, len(sitemap.urls), report.queued - before)


def _release(leases: Leases | None, claim: int | None) -> None:
    if leases is not None and claim is not None:
        leases.release("document", [claim])


def _needless(child: Child, filters: Filters, sessions: sessionmaker[Session], params: str) -> bool:
    """A sitemap not to read: last changed before `--since`, or read already under the same filters and
    not changed since."""
    if filters.since is not None:
        changed = parse_w3c_datetime(child.lastmod)
        if changed is not None and changed < filters.since:
            return True
    with sessions() as session:
        return already_read(session, child.url, params, child.lastmod, check_lastmod=True) is not None


async def _entry_points(fetcher: Fetcher, start_url: str, report: SourceReport) -> list[str]:
    checked_url(start_url)  # the command line's value, before a site root is told from its parts
    if not is_site_root(start_url):
        return [start_url]
    parts = urlsplit(start_url)
    root = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
    response = await fetcher.get(urljoin(root, "/robots.txt"), {"Accept": "text/plain"})
    if response.ok:
        report.documents_read += 1
        text, _ = response.text()
        found = sitemaps_from_robots(text)
        if found:
            return found
    return [urljoin(root, "/sitemap.xml")]


async def _read(fetcher: Fetcher, url: str) -> Sitemap:
    response = await fetcher.get(url, _ACCEPT)
    if not response.ok:
        raise SitemapError(f"HTTP {response.status}")
    return parse_sitemap(response.content, response.final_url)


class SitemapSource:
    """`--sitemap URL` (repeatable): each sitemap, index or site root walked in turn, a report each."""

    option = SourceOption("--sitemap", "A sitemap, index, or site root (robots.txt).", metavar="URL")
    queues = True

    async def run(self, given: SourceValue, run: SourceRun) -> None:
        pipeline = run.pipeline
        for url in given_values(given):
            report = run.start(f"sitemap {url}")
            await backfill_sitemaps(
                pipeline.fetcher,
                pipeline.sessions,
                url,
                run.filters,
                run.feed_id,
                report,
                rescan=run.rescan,
                leases=pipeline.leases,
            )
            run.note(report)


SOURCE = SitemapSource()
