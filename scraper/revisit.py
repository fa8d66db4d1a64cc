"""One revisit of an archived article: fetch its page again (conditionally) and say what was seen.

No database here, as in scraper.archive: the unit takes a plain `RevisitJob` and returns a plain
`RevisitOutcome`; what it means for the archive (an edit, a removal) is decided by scraper.revisions once
the last version is at hand, in the recorder. The request carries the page's validators, so an unchanged
page costs a 304 and no extraction.

How an answer is read: 304 unchanged; 404/410 a removal signal; 5xx, 408/425/429, timeouts, refused
connections and other failures an outage (never a removal); 2xx that redirected away from the article (home
page, section, login) a removal signal; 2xx with no article text a removal signal; else the page's record,
to compare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from scraper.charset import decode_for_parser
from scraper.config import Config, FeedConfig
from scraper.errors import FetchError, HostBlockedError, page_status_fate, status_text
from scraper.extract.record import Record
from scraper.extract.rules import RuleBook
from scraper.fetch import Fetcher, RequestPolicy, Response
from scraper.revisit_digest import HEX, hinted_digest, page_digest, split, stable_fingerprint
from scraper.revisit_schedule import parse_schedule
from scraper.sanitize import MAX_ETAG_CHARS, MAX_LAST_MODIFIED_CHARS, validator

ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
_HTML_TYPES = ("text/html", "application/xhtml", "text/plain", "application/octet-stream")

# RevisitOutcome.seen
NOT_MODIFIED = "not-modified"  # 304, or the very bytes seen last time
PAGE = "page"  # a page with an article record, to compare with the last version
ABSENT = "absent"  # a removal signal
OUTAGE = "outage"  # nothing learned about the article
DEFERRED = "deferred"  # no request made: the host asked everyone to wait
OFF = "off"  # no request made: the feed's revisits are off now (scheduled before, or by a migration)


@dataclass(frozen=True)
class RevisitJob:
    article_id: int
    url: str
    feed_id: int | None
    feed_name: str
    feed_url: str | None = None
    selector: str | None = None
    remove: tuple[str, ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    digest: str | None = None  # of the page as last seen
    policy: RequestPolicy | None = None
    from_feed: bool = False  # the body came from the feed: the first page seen is the page's baseline


@dataclass(frozen=True)
class RevisitOutcome:
    seen: str
    reason: str | None = None
    http_status: int | None = None
    response: Response | None = None
    encoding: str | None = None
    record: Record | None = None
    retry_after: float | None = None
    digest: str | None = None  # of a 200 answer's body (scraper.revisit_digest)

    @property
    def validators(self) -> tuple[str | None, str | None]:
        """The ETag and Last-Modified to send next time (those of a 200 answer)."""
        if self.response is None or not self.response.ok:
            return None, None
        headers = self.response.headers
        etag, last_modified = headers.get("etag"), headers.get("last-modified")
        return validator(etag, MAX_ETAG_CHARS), validator(last_modified, MAX_LAST_MODIFIED_CHARS)


def schedule_of(config: Config, feed: FeedConfig | None) -> tuple[timedelta, ...]:
    """The revisit schedule of a feed's articles: its own, or `[revisit] after`; () when off."""
    if not config.revisit.enabled or (feed is not None and feed.revisit == "off"):
        return ()
    own = feed.revisit if feed is not None and feed.revisit not in (None, "off") else None
    return parse_schedule(list(own or config.revisit.after))


def feed_schedules(config: Config) -> Callable[[str | None], tuple[timedelta, ...]]:
    """The schedule of a feed's articles by the feed's URL (None: an article of no feed, a backfill's)."""
    feeds = {feed.url: feed for feed in config.feeds}
    known = {url: schedule_of(config, feed) for url, feed in feeds.items()}
    default = schedule_of(config, None)
    return lambda url: known.get(url or "", default)


def conditional_headers(job: RevisitJob) -> dict[str, str]:
    headers = {"Accept": ACCEPT}
    if job.etag:
        headers["If-None-Match"] = job.etag
    if job.last_modified:
        headers["If-Modified-Since"] = job.last_modified
    return headers


async def revisit_article(job: RevisitJob, fetcher: Fetcher, rules: RuleBook) -> RevisitOutcome:
    """Never raises for a bad page or server: whatever happens is an outcome."""
    try:
        response = await fetcher.get(job.url, conditional_headers(job), policy=job.policy, check_robots=True)
    except HostBlockedError as exc:
        return RevisitOutcome(DEFERRED, exc.reason, retry_after=exc.retry_after)
    except FetchError as exc:
        return RevisitOutcome(OUTAGE, exc.reason)
    status = response.status
    if status == 304:
        return RevisitOutcome(NOT_MODIFIED, http_status=status, response=response)
    fate = page_status_fate(status)
    if fate == "gone":
        return RevisitOutcome(ABSENT, f"HTTP {status}", status, response)
    if fate != "ok":
        return RevisitOutcome(OUTAGE, status_text(status), status, response, retry_after=response.retry_after)
    content_type = (response.content_type or "text/html").split(";")[0].strip().lower()
    if not content_type.startswith(_HTML_TYPES):
        return RevisitOutcome(OUTAGE, f"not an HTML page ({content_type})", status, response)
    known, known_stable, hints = split(job.digest)
    digest = page_digest(response.content)
    if digest == known:  # the very bytes seen last time
        return RevisitOutcome(NOT_MODIFIED, http_status=status, response=response, digest=job.digest)
    if known_stable is not None and hints and hinted_digest(response.content, hints) == known_stable:
        return RevisitOutcome(  # other counters in the same lines, the same page
            NOT_MODIFIED, http_status=status, response=response, digest=digest + (job.digest or "")[HEX:]
        )
    stable, hint_text = stable_fingerprint(response.content)
    digest += stable + hint_text
    if stable == known_stable:  # other counters, the same page
        return RevisitOutcome(NOT_MODIFIED, http_status=status, response=response, digest=digest)
    from scraper.extract.extractor import extract  # here: a run with no page to extract never loads it

    page, encoding = decode_for_parser(response.content, response.content_type)  # UTF-8 stays bytes
    try:
        record = extract(
            page,
            response.final_url,
            rules.for_url(response.final_url, job.selector, job.remove),
            charset="utf-8" if isinstance(page, bytes) else None,
        )
    except Exception as exc:  # an extractor bug says nothing about the article
        return RevisitOutcome(OUTAGE, f"extraction failed: {type(exc).__name__}: {exc}", status, response)
    if not record.text.strip():
        return RevisitOutcome(ABSENT, "the page no longer holds an article", status, response, encoding)
    return RevisitOutcome(PAGE, None, status, response, encoding, record, digest=digest)
