"""Any bytes as a feed: parse_feed gives entries or a FeedError saying why, never anything else (task H, s15).

Found by a hostile server: a body of NUL bytes (feedparser gives a result without a `version`) was an
"internal error" on its feed at each poll. The classes here are bodies, not values inside a well-formed
feed (tests/test_hostile_property.py): bytes of any kind, a feed's start or end cut off, feeds in other
encodings, BOMs, other formats (JSON Feed, HTML, RDF).
"""

from __future__ import annotations

import contextlib
import json
import re
import time

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scraper import feed_parser
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


# --- an author field feedparser's e-mail pattern chokes on (task H, session 16) -----------------------------
# feedparser looks for an e-mail in an RSS author (author, managingEditor, webMaster, dc:creator,
# dc:publisher, itunes:owner) with a pattern that backtracks over every start of a run of letters: 8,000
# letters took 2.4 s, 16,000 took 10 s, a 100 KB author held `scraper once` past two minutes, and the
# regex holds the GIL, so the daemon's every feed and /healthz stopped with it.

AUTHOR_TAGS = [
    "author",
    "managingEditor",
    "webMaster",
    "dc:creator xmlns:dc='http://purl.org/dc/elements/1.1/'",
    "dc:publisher xmlns:dc='http://purl.org/dc/elements/1.1/'",
]


@pytest.mark.parametrize("tag", AUTHOR_TAGS)
@pytest.mark.parametrize("tail", ["", "@", "@x", "@x."])
def test_a_huge_author_is_parsed_in_linear_time(tag: str, tail: str) -> None:
    name = tag.split()[0]
    author = "a" * 40_000 + tail  # feedparser's own pattern: over a minute each
    item = f"<item><title>t</title><link>https://example.org/a</link><{tag}>{author}</{name}></item>"
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>c</title>{item}</channel></rss>'
    started = time.process_time()
    entries, _, _ = parse_feed(body.encode(), "https://example.org/feed", "application/rss+xml")
    assert time.process_time() - started < 2, "quadratic"
    assert [entry.link for entry in entries] == ["https://example.org/a"]


AUTHORS = [
    "john@example.org (John Smith)",
    "John Smith <john.smith+feeds@mail.example.co.uk>",
    "Jane <jane@[10.0.0.1]>",
    "x y.z@a.com?subject=hi there",
    "no mail here",
    "a@b",
    "Ann @ann",
    "o'brien@example.ie (Pat)",
    "(a@b.cd)",
]


# feedparser 6.0's own pattern (mixin._sync_author_detail), searched unanchored.
FEEDPARSER_EMAIL = (
    r"(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"
    r"([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.sampled_from(AUTHORS), st.text(alphabet="ab1.-_+@[]()<> ?=s", max_size=30)))
def test_the_linear_author_pattern_finds_what_feedparser_s_found(author: str) -> None:
    theirs = re.search(FEEDPARSER_EMAIL, author)
    ours = feed_parser._EMAIL.search(author)
    assert (ours and ours.group(0)) == (theirs and theirs.group(0))


def test_feeds_are_parsed_with_the_linear_author_pattern() -> None:

    item = "<item><title>t</title><link>https://example.org/a</link><author>a@b.cd (Ann)</author></item>"
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>c</title>{item}</channel></rss>'
    parse_feed(body.encode(), "https://example.org/feed", "application/rss+xml")
    assert feedparser.mixin._FeedParserMixin._sync_author_detail is feed_parser._sync_author_detail
    detail = feed_parser.parse(body.encode()).entries[0].author_detail
    assert detail == {"name": "Ann", "email": "a@b.cd"}
