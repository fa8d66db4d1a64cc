"""`--feed-history`: a configured feed's older entries, from its archives or its pages.

From the feed itself, each document leads to the next older one by, in this order:

1. RFC 5005 archived feeds: `<link rel="prev-archive">` (archive documents never change once published);
2. paged feeds: `<link rel="next">` (RFC 5005 section 3, and Atom/RSS feeds that page that way);
3. the paging of WordPress and its likes, when the feed says nothing: a URL with `paged=N` or `/page/N/`
   goes to N+1; the feed itself to `?paged=2`, else `.../page/2/`.

The walk ends at a page with no entries, a page that only repeats entries already seen (a server that
ignores the page parameter gives its first page again), a page whose dated entries are all older than
`--since`, a guessed page that does not exist (404, 410, not a feed), or `--max-pages`.

Entries become pending articles of that feed (its name, rule and content source), with what the entry
said (title, date, content), so a `content = "feed"` feed gets its old bodies from the history itself.

Resuming: each page after the feed itself is journalled with the link to the next one, so a rerun follows
the chain without fetching the pages already read. Skipping read pages loses nothing: on a paged feed new
posts push entries *later*, into pages not yet read.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from sqlalchemy.orm import Session, sessionmaker

from scraper.backfill.frontier import (
    Filters,
    Found,
    SourceReport,
    already_read,
    claim_document,
    mark_read,
    queue_found,
)
from scraper.backfill.source import SourceOption, SourceRun, SourceValue
from scraper.feed_parser import parse  # feedparser's, with a linear author pattern
from scraper.fetch import Fetcher, FetchError
from scraper.poll import FeedError, parse_feed, parser_input
from scraper.sanitize import checked_url
from scraper.store.leases import Leases
from scraper.store.models import BackfillDocument
from scraper.urls import unmangled_file_url

log = logging.getLogger(__name__)

DEFAULT_MAX_PAGES = 1000
_ACCEPT = {"Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.8"}
_PAGED_QUERY = re.compile(r"(?:^|&)paged=(\d+)(?:&|$)")
_PAGE_PATH = re.compile(r"/page/(\d+)(/?)")


@dataclass(frozen=True)
class HistoryFeed:
    id: int
    name: str
    url: str


@dataclass(frozen=True)
class Step:
    url: str
    kind: str  # "feed-archive" or "feed-page"
    guessed: bool
    alternatives: tuple[str, ...] = ()  # other guesses, tried when this one leads nowhere


def feed_links(body: bytes, base_url: str) -> dict[str, str]:
    """The feed-level links by relation (first of each), made absolute."""
    parsed = parse(parser_input(body), sanitize_html=False, resolve_relative_uris=False)
    links: dict[str, str] = {}
    for link in parsed.feed.get("links", []):
        rel, href = link.get("rel"), link.get("href")
        if rel and href:
            try:
                absolute = unmangled_file_url(urljoin(base_url, str(href).strip()))
                # judged as any link from a stranger (too long for the journal, a bad port, javascript:);
                # whether a file: one may be read is the walk's to say (a remote page's never is)
                absolute = checked_url(absolute, allow_file=True)
            except ValueError:  # a link urllib cannot read, or refused: no step there
                continue
            links.setdefault(str(rel).lower(), absolute)
    return links


def guess_next(url: str, page: int) -> tuple[str, ...]:
    """WordPress-style next pages of `url` (page number `page`), best guess first."""
    parts = urlsplit(url)
    match = _PAGED_QUERY.search(parts.query)
    if match:
        query = [(k, str(int(v) + 1) if k == "paged" else v) for k, v in parse_qsl(parts.query, True)]
        return (urlunsplit(parts._replace(query=urlencode(query))),)
    match = _PAGE_PATH.search(parts.path)
    if match:
        path = f"{parts.path[: match.start()]}/page/{int(match[1]) + 1}{match[2]}{parts.path[match.end() :]}"
        return (urlunsplit(parts._replace(path=path)),)
    if page != 1:
        return ()
    query = [*parse_qsl(parts.query, True), ("paged", "2")]
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return (
        urlunsplit(parts._replace(query=urlencode(query))),
        urlunsplit(parts._replace(path=f"{path}page/2/")),
    )


def next_step(url: str, links: dict[str, str], page: int, *, may_guess: bool) -> Step | None:
    if "prev-archive" in links:
        return Step(links["prev-archive"], "feed-archive", False)
    if "next" in links:
        return Step(links["next"], "feed-page", False)
    guesses = guess_next(url, page) if may_guess else ()
    return Step(guesses[0], "feed-page", True, guesses[1:]) if guesses else None


async def backfill_feed_history(
    fetcher: Fetcher,
    sessions: sessionmaker[Session],
    feed: HistoryFeed,
    filters: Filters,
    report: SourceReport,
    *,
    rescan: bool = False,
    max_pages: int = DEFAULT_MAX_PAGES,
    leases: Leases | None = None,
) -> None:
    """Walk one feed's history back to `--since`, queueing its entries. Never raises for bad input.
    With `leases`, each page is claimed first; a page another node is reading ends this walk (that node
    goes on with the pages after it)."""
    params = filters.fingerprint(feed.id)
    local = feed.url.startswith("file:")
    # A file is read only when the config names the feed as one, and only from a link a file gave:
    # a remote page's links (its prev-archive, its entries) never lead to a local read.
    linked_by_file = local
    step: Step | None = Step(feed.url, "feed", False)
    seen_links: set[str] = set()
    visited: set[str] = set()
    page = 0
    while step is not None and page < max_pages:
        if step.url in visited:
            break
        visited.add(step.url)
        page += 1
        if step.kind != "feed" and not rescan and (entry := _journalled(sessions, step.url, params)):
            report.documents_skipped += 1
            linked_by_file = local and step.url.startswith("file:")
            step = Step(entry.next_url, entry.kind, False) if entry.next_url else None
            continue
        mine, claim = _claim(leases, step, params, feed)
        if not mine:
            report.documents_skipped += 1
            break
        outcome = await _read_page(fetcher, step, linked_by_file)
        if isinstance(outcome, str):
            step = _after_unreadable(feed, step, outcome, claim, leases, report)
            continue
        found, links, final_url = outcome
        linked_by_file = local and final_url.startswith("file:")
        report.documents_read += 1
        fresh = [item for item in found if item.url not in seen_links]
        if step.kind != "feed" and not fresh:
            if step.guessed and step.alternatives:
                step = _next_guess(step)
                continue
            log.info("feed %s: %s repeats entries already seen: end of history", feed.name, step.url)
            return
        seen_links.update(item.url for item in found)
        done = not found or all(filters.older_than_since(item) for item in found)
        following = None if done else next_step(final_url, links, page, may_guess=not local)
        page_args = (fresh, len(found), following, filters, params, report, leases, linked_by_file)
        _record_page(sessions, feed, step, *page_args)
        log.info("feed %s: %s: %d entries", feed.name, step.url, len(found))
        step = following
    if step is not None and page >= max_pages:
        report.errors.append(f"feed {feed.name}: stopped after --max-pages {max_pages}; {step.url} not read")


def _after_unreadable(
    feed: HistoryFeed, step: Step, reason: str, claim: int | None, leases: Leases | None, report: SourceReport
) -> Step | None:
    """A page that gave nothing: its claim released; a wrong guess tries the next one, anything else ends
    the walk (with the reason reported)."""
    if leases is not None and claim is not None:
        leases.release("document", [claim])
    if step.guessed:
        log.info("feed %s: %s: %s", feed.name, step.url, reason)
        return _next_guess(step)
    report.errors.append(f"feed {feed.name}: {step.url}: {reason}")
    return None


def _claim(leases: Leases | None, step: Step, params: str, feed: HistoryFeed) -> tuple[bool, int | None]:
    """(False, None) when another node is reading this page (it walks on from there); else (True, the
    journal id claimed, or None when nothing needs a claim: no leases, or the feed itself)."""
    if leases is None or step.kind == "feed":
        return True, None
    claim = claim_document(leases, step.url, step.kind, params)
    if claim is None:
        log.info("feed %s: %s: another node is reading it; it walks on from there", feed.name, step.url)
        return False, None
    return True, claim


def _journalled(sessions: sessionmaker[Session], url: str, params: str) -> BackfillDocument | None:
    """The journal entry of a page read before under the same filters."""
    with sessions() as session:
        return already_read(session, url, params)


def _next_guess(step: Step) -> Step | None:
    """The next guessed address of a page, or None when none is left."""
    return Step(step.alternatives[0], step.kind, True, step.alternatives[1:]) if step.alternatives else None


def _record_page(
    sessions: sessionmaker[Session],
    feed: HistoryFeed,
    step: Step,
    fresh: list[Found],
    found: int,
    following: Step | None,
    filters: Filters,
    params: str,
    report: SourceReport,
    leases: Leases | None,
    allow_file: bool,
) -> None:
    """Queue a page's new entries and journal the page (and where the walk goes next), in one transaction.
    `allow_file`: the page is a local file the config named, so its `file:` links may be read."""
    with sessions.begin() as session:
        queue_found(session, feed.id, fresh, filters, report, allow_file=allow_file)
        if step.kind != "feed":
            next_url = following.url if following else None
            mark_read(
                session, step.url, step.kind, params, next_url=next_url, urls_found=found, leases=leases
            )


async def _read_page(
    fetcher: Fetcher, step: Step, local: bool
) -> tuple[list[Found], dict[str, str], str] | str:
    """The page's entries and links, or why it gave none."""
    try:
        response = await fetcher.get(step.url, _ACCEPT, allow_file=local)
    except FetchError as exc:
        return str(exc)
    if not response.ok:
        return f"HTTP {response.status}"
    try:
        entries, _, _ = parse_feed(response.content, response.final_url, response.content_type)
    except FeedError as exc:
        return str(exc)
    found = [
        Found(
            entry.link,
            title=entry.title,
            published=entry.published,
            guid=entry.guid,
            author=entry.author,
            content=entry.content_html,
            summary=entry.summary,
        )
        for entry in entries
        if entry.link
    ]
    return found, feed_links(response.content, response.final_url), response.final_url


class FeedHistorySource:
    """`--feed-history`: the history of --feed's feed, or of every enabled configured feed, a report each."""

    option = SourceOption("--feed-history", "Walk the feed's archives (RFC 5005) and pages back to --since.")
    queues = True

    async def run(self, given: SourceValue, run: SourceRun) -> None:
        pipeline = run.pipeline
        for feed in run.feeds:
            report = run.start(f"history of {feed.name}")
            await backfill_feed_history(
                pipeline.fetcher,
                pipeline.sessions,
                feed,
                run.filters,
                report,
                rescan=run.rescan,
                max_pages=run.max_pages,
                leases=pipeline.leases,
            )
            run.note(report)


SOURCE = FeedHistorySource()
