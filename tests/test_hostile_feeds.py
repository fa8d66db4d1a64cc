"""Any bytes as a feed: parse_feed gives entries or a FeedError saying why, never anything else (task H, s15).

Found by a hostile server: a body of NUL bytes (feedparser gives a result without a `version`) was an
"internal error" on its feed at each poll. The classes here are bodies, not values inside a well-formed
feed (tests/test_hostile_property.py): bytes of any kind, a feed's start or end cut off, feeds in other
encodings, BOMs, other formats (JSON Feed, HTML, RDF).
"""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scraper.backfill.frontier import parse_w3c_datetime
from scraper.backfill.sitemap import parse_sitemap
from scraper.errors import FeedError
from scraper.poll import parse_feed

RSS = (
    '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
    "<item><title>标题</title><link>https://e.test/a</link><guid>a</guid></item></channel></rss>"
)
PREFIXES = [
    b"",
    b"\x00" * 8,
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\xff\xfe\x00\x00",
    b"<",
    b"<?xml",
    b"\x1f\x8b",
]


def _parses_or_refuses(body: bytes, content_type: str | None = None) -> None:
    with contextlib.suppress(FeedError):
        parse_feed(body, "http://e.test/feed", content_type)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(PREFIXES),
    st.one_of(st.binary(max_size=300), st.sampled_from([RSS.encode(), RSS.encode("utf-16")])),
    st.integers(0, len(RSS)),
)
def test_any_body_gives_entries_or_a_feed_error(prefix: bytes, body: bytes, cut: int) -> None:
    _parses_or_refuses(prefix + body)
    _parses_or_refuses(prefix + RSS.encode()[:cut])
    _parses_or_refuses(RSS.encode()[cut:])


@pytest.mark.parametrize(
    "body",
    [
        b"\x00" * 1000,
        b"\xff" * 64,
        json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [{"id": 1}]}).encode(),
        b"<html><body>no feed</body></html>",
        b"<?xml version='1.0'?>",
        b"<rss version='2.0'>",
        b"<!DOCTYPE x [<!ENTITY a 'b'>]><rss/>",
    ],
    ids=["nul", "ff", "json-feed", "html", "declaration", "unclosed", "doctype"],
)
def test_bodies_that_are_no_feed_are_a_feed_error(body: bytes) -> None:
    with pytest.raises(FeedError):
        parse_feed(body, "http://e.test/feed")


# --- sitemaps: a date on one URL ---------------------------------------------------------------------------

w3c_dates = st.one_of(
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00", "0000-01-01", "2021-02-30"]),
    st.datetimes(timezones=st.timezones()).map(lambda when: when.isoformat()),
    st.text(max_size=30),
)


@settings(max_examples=300, deadline=None)
@given(w3c_dates)
def test_any_sitemap_date_is_a_utc_time_or_none(text: str) -> None:
    when = parse_w3c_datetime(text)
    assert when is None or when.utcoffset() is not None


def test_a_sitemap_url_dated_past_any_datetime_keeps_its_url_and_its_neighbours() -> None:
    """Found: a <lastmod> of year 1 east of UTC raised OverflowError out of the sitemap's parse, and the
    whole backfill stopped with a traceback."""
    body = (
        '<?xml version="1.0"?><urlset xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        "<url><loc>https://e.test/a</loc><lastmod>0001-01-01T00:00:00+01:00</lastmod></url>"
        "<url><loc>https://e.test/b</loc><news:news><news:publication_date>9999-12-31T23:59:59-14:00"
        "</news:publication_date></news:news></url>"
        "<url><loc>https://e.test/c</loc><lastmod>2021-09-29</lastmod></url></urlset>"
    )
    sitemap = parse_sitemap(body.encode(), "https://e.test/sitemap.xml")
    assert [url.url for url in sitemap.urls] == ["https://e.test/a", "https://e.test/b", "https://e.test/c"]
