"""Publication dates: parsing what pages write, reading the date in a URL, and choosing between sources.

The archives our users keep have entries whose feed date is years or decades off (a feed that stamps
every item with the epoch, or the crawl time of a backfill). A date in the article's URL
(`story20210929-1198422`, `/2021/09/29/`) is the most trustworthy day there is, so every other source is
checked against it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from email.utils import parsedate_to_datetime

# Before this, a date on a news page is a placeholder (the epoch, 0001-01-01), not a publication date.
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)
# How far two sources may disagree about the day and still be the same publication.
AGREEMENT = timedelta(days=2)

_CJK_DATE = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*[年/.-]\s*(?P<m>\d{1,2})\s*[月/.-]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*(?:[T\s]|上午|下午)?\s*(?P<H>\d{1,2})\s*[:時时点]\s*(?P<M>\d{1,2})(?:\s*[:分]\s*(?P<S>\d{1,2}))?)?"
)
_OFFSET = re.compile(r"(?:UTC|GMT)?\s*(?P<sign>[+-])(?P<h>\d{1,2}):?(?P<m>\d{2})?\s*$")
_URL_DATES = (
    # /2021/09/29/ and /2021-09-29/ and /2021/0929/
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})[/_-](?P<m>[01]?\d)[/_-]?(?P<d>[0-3]\d)(?!\d)"),
    # story20210929-1198422, /20210929/, _20210929.html
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?!\d)"),
    # cna.com.tw's day and a 4-digit sequence: /news/acn/202109290123.aspx
    re.compile(r"/(?:[a-z]+/)*(?P<y>20\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)\d{4}\.aspx"),
    # rfa.org's month-day-year: /mandarin/.../xx-09292021123456.html
    re.compile(r"-(?P<m>[01]\d)(?P<d>[0-3]\d)(?P<y>20\d{2})\d{6}\.html"),
)


def parse_date(value: str | None, default_tz: timezone = UTC) -> datetime | None:
    """An aware datetime from ISO 8601, RFC 2822 or a Chinese-style date; naive ones take `default_tz`."""
    if not value:
        return None
    text = value.strip()
    if not text:
        return None
    parsed = _iso(text) or _rfc2822(text) or _cjk(text)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed.astimezone(UTC)


def _iso(text: str) -> datetime | None:
    candidate = text.replace("Z", "+00:00") if text.endswith("Z") else text
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _rfc2822(text: str) -> datetime | None:
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _cjk(text: str) -> datetime | None:
    match = _CJK_DATE.search(text)
    if not match:
        return None
    try:
        day = date(int(match["y"]), int(match["m"]), int(match["d"]))
        hour = int(match["H"] or 0)
        if "下午" in text and hour < 12:
            hour += 12
        clock = time(hour, int(match["M"] or 0), int(match["S"] or 0))
    except ValueError:
        return None
    tz = _offset(text[match.end() :])
    return datetime.combine(day, clock, tzinfo=tz)


def _offset(rest: str) -> timezone | None:
    match = _OFFSET.search(rest.strip()) if rest.strip() else None
    if not match:
        return None
    delta = timedelta(hours=int(match["h"]), minutes=int(match["m"] or 0))
    if delta >= timedelta(hours=24):  # not an offset ("2021-09-29-45"): unread, as timezone() refuses it
        return None
    return timezone(delta if match["sign"] == "+" else -delta)


def parse_offset(value: str | None) -> timezone:
    """A site rule's `timezone = "+08:00"`; UTC when absent or unreadable."""
    if not value:
        return UTC
    return _offset(value) or UTC


def date_from_url(url: str) -> date | None:
    """The publication day written in the URL's path, if it has one."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    path = path.split("://", 1)[-1]
    path = path[path.find("/") :] if "/" in path else ""
    for pattern in _URL_DATES:
        for match in pattern.finditer(path):
            try:
                return date(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError:
                continue
    return None


def plausible(when: datetime | None, now: datetime | None = None) -> bool:
    if when is None:
        return False
    now = now or datetime.now(UTC)
    return EARLIEST_PLAUSIBLE <= when <= now + timedelta(days=1)


def reconcile(
    feed_date: datetime | None,
    page_date: datetime | None,
    url: str,
    now: datetime | None = None,
) -> datetime | None:
    """The publication time to keep, from the page's metadata, the feed's and the URL's day.

    The page is preferred (its metadata is written by the newsroom's CMS), then the feed; either is
    rejected when implausible or when it disagrees with the URL's day by more than two days. With neither
    left, the URL's day at midnight UTC is better than nothing.
    """
    url_day = date_from_url(url)
    for candidate in (page_date, feed_date):
        if not plausible(candidate, now):
            continue
        assert candidate is not None
        if url_day is None or abs(candidate.date() - url_day) <= AGREEMENT:
            return candidate
    if url_day is not None:
        fallback = datetime.combine(url_day, time(0, 0), tzinfo=UTC)
        if plausible(fallback, now):
            return fallback
    return None
