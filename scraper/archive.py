"""One article from link to record: fetch the page, extract it, choose the body (page or feed).

No database here: the stage takes a plain `ArticleJob` and returns a plain `ArchiveOutcome`, so the cron
run, the daemon and the backfill share it, and tests drive it alone. How an HTTP answer is judged:

- 2xx HTML: extracted.
- 404, 410: the article is gone (not retried).
- 408, 425, 429, 5xx, timeouts, resets, robots.txt unreachable: transient, retried later with backoff
  (a 429/503's Retry-After sets the earliest retry).
- the host asked the whole run to wait (HostBlockedError): deferred, not counted as an attempt.
- other 4xx, a refused address, a body over the cap, a redirect loop, not HTML, disallowed by
  robots.txt: permanent failure.

Content source (per feed): "page" extracts the page; "feed" takes the feed's own content without fetching
(falling back to the page when the entry carries none); "auto" takes the page and falls back to the feed's
content when the page fails or yields less text.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from scraper.charset import decode_for_parser
from scraper.errors import ExtractError, FetchError, HostBlockedError, page_status_fate, status_text
from scraper.extract.dates import reconcile
from scraper.extract.record import Record
from scraper.extract.rules import RuleBook
from scraper.extract.text import html_to_text
from scraper.fetch import Fetcher, RequestPolicy, Response
from scraper.sanitize import storable_record
from scraper.schedule import retry_after_note
from scraper.selectors import selector_missed
from scraper.store.tables import ArticleStatus

if TYPE_CHECKING:
    from scraper.inline_batch import InlineBatch

log = logging.getLogger(__name__)

# Pages up to this size are decoded and extracted on the event loop: that takes 1-3 ms of CPU, less than
# the 5 ms a worker thread holding the GIL would keep the loop waiting anyway, and a hand-off to a thread
# (queue, wake-up, GIL switch, the loop woken back) costs about as much again per page. Bigger pages go to a
# thread, decoded and extracted in the one hand-off.
INLINE_EXTRACT_BYTES = 128 * 1024

_HTML_TYPES = ("text/html", "application/xhtml", "text/plain", "application/octet-stream")


@dataclass(frozen=True)
class ArticleJob:
    article_id: int
    url: str
    feed_name: str
    feed_is_local: bool
    content_source: str = "page"
    selector: str | None = None
    remove: tuple[str, ...] = ()
    entry_title: str | None = None
    entry_author: str | None = None
    entry_published: datetime | None = None
    entry_content: str | None = None
    policy: RequestPolicy | None = None  # the feed's politeness overrides; None: the [http] defaults
    first_revisit: timedelta | None = None  # after the first archive (scraper.revisit); None: never


@dataclass(frozen=True)
class ArchiveOutcome:
    status: str  # an ArticleStatus
    error: str | None = None
    transient: bool = False
    http_status: int | None = None
    final_url: str | None = None
    response: Response | None = None
    encoding: str | None = None
    record: Record | None = None
    content_source: str | None = None
    published: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)
    retry_after: float | None = None  # seconds the server asked us to wait before trying again
    deferred: bool = False  # no request was made (the host is blocked): not an attempt


async def archive_article(
    job: ArticleJob, fetcher: Fetcher, rules: RuleBook, pages: InlineBatch | None = None
) -> ArchiveOutcome:
    """Never raises for a bad page or server: every failure is an outcome with a reason. `pages`: where a
    small page is extracted, with the others that arrive with it (scraper.inline_batch); else at once."""
    # Extraction and cleaning run in a worker thread: a page that takes long must not hold the event
    # loop, where the other feeds' fetches and the health answers wait.
    if job.content_source == "feed" and job.entry_content and job.entry_content.strip():
        return await asyncio.to_thread(_from_feed, job, None)

    page = await _fetch_and_extract(job, fetcher, rules, pages)
    if job.content_source != "auto" or not job.entry_content:
        return page
    feed_text = await asyncio.to_thread(html_to_text, job.entry_content)
    if page.status != ArticleStatus.ARCHIVED or page.record is None:
        return await asyncio.to_thread(_from_feed, job, page) if feed_text.strip() else page
    if len(page.record.text) < len(feed_text):
        return await asyncio.to_thread(_from_feed, job, page)
    return page


async def _fetch_and_extract(
    job: ArticleJob, fetcher: Fetcher, rules: RuleBook, pages: InlineBatch | None
) -> ArchiveOutcome:
    try:
        response = await fetcher.get(
            job.url,
            {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"},
            allow_file=job.feed_is_local,
            policy=job.policy,
            check_robots=True,
        )
    except HostBlockedError as exc:
        return ArchiveOutcome(
            ArticleStatus.PENDING, exc.reason, transient=True, retry_after=exc.retry_after, deferred=True
        )
    except FetchError as exc:
        status = ArticleStatus.PENDING if exc.transient else ArticleStatus.FAILED
        return ArchiveOutcome(status, exc.reason, transient=exc.transient)

    common: dict[str, Any] = {"http_status": response.status, "final_url": response.final_url}
    fate = page_status_fate(response.status)
    if fate == "gone":
        return ArchiveOutcome(ArticleStatus.GONE, f"HTTP {response.status}", **common)
    if fate == "transient":
        return ArchiveOutcome(
            ArticleStatus.PENDING,
            status_text(response.status)
            + retry_after_note(response.status, response.headers, response.retry_after),
            transient=True,
            retry_after=response.retry_after,
            **common,
        )
    if fate == "permanent":
        return ArchiveOutcome(ArticleStatus.FAILED, f"HTTP {response.status}", **common)
    content_type = (response.content_type or "text/html").split(";")[0].strip().lower()
    if not content_type.startswith(_HTML_TYPES):
        return ArchiveOutcome(ArticleStatus.FAILED, f"not an HTML page ({content_type})", **common)

    record, encoding = await _extract_page(response, rules, job, pages)
    if isinstance(record, ExtractError):
        return ArchiveOutcome(
            ArticleStatus.FAILED, str(record), response=response, encoding=encoding, **common
        )
    extra = {}
    if job.selector and record.body_selector != job.selector:  # it matched nothing on this page
        log.warning("feed %s: %s (%s)", job.feed_name, selector_missed(job.selector), response.final_url)
        extra = {"page_error": selector_missed(job.selector), "selector_missed": job.selector}
    return ArchiveOutcome(
        ArticleStatus.ARCHIVED,
        response=response,
        encoding=encoding,
        record=record,
        content_source="page",
        published=reconcile(job.entry_published, record.published, response.final_url),
        extra=extra,
        **common,
    )


async def _extract_page(
    response: Response, rules: RuleBook, job: ArticleJob, pages: InlineBatch | None
) -> tuple[Record | ExtractError, str]:
    """`_decode_and_extract` where it belongs: a big page off the event loop (its CPU must not hold up
    every other fetch and /healthz), a small one on it, with the others of its batch if given."""
    if len(response.content) > INLINE_EXTRACT_BYTES:
        return await asyncio.to_thread(_decode_and_extract, response, rules, job)
    if pages is not None:
        return await pages.run(partial(_decode_and_extract, response, rules, job))
    return _decode_and_extract(response, rules, job)


def _decode_and_extract(
    response: Response, rules: RuleBook, job: ArticleJob
) -> tuple[Record | ExtractError, str]:
    """The page decoded and extracted in one step (one hand-off to a worker thread for a big page, none
    for the usual one): its record, or why it has none; and the encoding it was decoded with.

    A page whose bytes are UTF-8 text as they stand (most are) goes to the parser undecoded: the same
    record as from its decoded text, without decoding it and encoding it back."""
    page, encoding = decode_for_parser(response.content, response.content_type)
    try:
        return _extract(page, response.final_url, rules, job), encoding
    except ExtractError as exc:
        return exc, encoding


def _extract(page: str | bytes, url: str, rules: RuleBook, job: ArticleJob) -> Record:
    """The page's record as the database takes it (scraper.sanitize); raises ExtractError when it has
    none (the raw page is kept all the same). `page`: text, or UTF-8 bytes (`decode_for_parser`)."""
    from scraper.extract.extractor import extract  # here: a run with no page to extract never loads it

    try:
        rule = rules.for_url(url, job.selector, job.remove)
        charset = "utf-8" if isinstance(page, bytes) else None
        # the feed's text: a length hint
        record = extract(page, url, rule, feed_summary=job.entry_content, charset=charset)
    except Exception as exc:  # an extractor bug must cost one article, never the run
        raise ExtractError(f"extraction failed: {type(exc).__name__}: {exc}") from exc
    if not record.text.strip():
        raise ExtractError("no article text found on the page")
    return storable_record(record)


def _from_feed(job: ArticleJob, page: ArchiveOutcome | None) -> ArchiveOutcome:
    """The feed's own content, cleaned like a page (the old archives kept the ads; we do not)."""
    from scraper.extract.extractor import clean_fragment

    body = clean_fragment(job.entry_content or "", job.url)
    record = storable_record(
        Record(
            title=(page.record.title if page and page.record else None) or job.entry_title,
            author=job.entry_author,
            published=page.record.published if page and page.record else None,
            lang=page.record.lang if page and page.record else None,
            html=body,
            text=html_to_text(body),
        )
    )
    return ArchiveOutcome(
        ArticleStatus.ARCHIVED,
        http_status=page.http_status if page else None,
        final_url=page.final_url if page else None,
        response=page.response if page else None,
        encoding=page.encoding if page else None,
        record=record,
        content_source="feed",
        published=reconcile(job.entry_published, record.published, job.url),
        extra={"page_error": page.error} if page and page.error else {},
    )
