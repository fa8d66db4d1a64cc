"""The backfill's parts alone: sitemap parsing, dates in URLs, filters, paging guesses, progress lines."""

from __future__ import annotations

import gzip
import io
import re
from datetime import UTC, datetime

import pytest

from scraper.backfill.feed_history import feed_links, guess_next, next_step
from scraper.backfill.frontier import Filters, Found, parse_day_or_time, parse_w3c_datetime, url_dates
from scraper.backfill.progress import LogProgress
from scraper.backfill.sitemap import (
    MAX_UNPACKED,
    SitemapError,
    is_site_root,
    parse_sitemap,
    sitemaps_from_robots,
)


def test_urlset_index_text_and_gzip() -> None:
    urlset = (
        b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.84">'
        b"<url><loc> https://example.org/a </loc><lastmod>2021-09-29</lastmod></url>"
        b"<url><loc>/rel</loc></url>"
        b"<url><lastmod>2021-01-01</lastmod></url></urlset>"
    )
    parsed = parse_sitemap(gzip.compress(urlset), "https://example.org/sitemap.xml.gz")
    assert parsed.kind == "urlset"
    # no <loc>: skipped
    assert [f.url for f in parsed.urls] == ["https://example.org/a", "https://example.org/rel"]
    assert parsed.urls[0].lastmod == datetime(2021, 9, 29, tzinfo=UTC)

    index = parse_sitemap(
        b"<sitemapindex><sitemap><loc>https://example.org/1.xml</loc><lastmod>2021-09-29T10:00+08:00</lastmod>"
        b"</sitemap></sitemapindex>",
        "https://example.org/",
    )
    assert index.kind == "index" and index.children[0].url == "https://example.org/1.xml"
    assert index.children[0].lastmod == "2021-09-29T10:00+08:00"

    text = parse_sitemap(
        b"\xef\xbb\xbfhttps://example.org/x\n\nnot a url\nhttps://example.org/y\n",
        "https://example.org/s.txt",
    )
    assert [f.url for f in text.urls] == ["https://example.org/x", "https://example.org/y"]


def test_broken_and_hostile_sitemaps() -> None:
    truncated = b"<urlset><url><loc>https://example.org/a</loc></url><url><loc>https://example.org/b</lo"
    assert [f.url for f in parse_sitemap(truncated, "https://example.org/").urls] == ["https://example.org/a"]
    with pytest.raises(SitemapError, match="not a sitemap"):
        parse_sitemap(b"<html><body>hi</body></html>", "https://example.org/")
    with pytest.raises(SitemapError, match="not well-formed"):
        parse_sitemap(b"<<<", "https://example.org/")
    with pytest.raises(SitemapError, match="refused"):
        parse_sitemap(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><urlset>&a;</urlset>', "https://example.org/")
    with pytest.raises(SitemapError, match="empty"):
        parse_sitemap(b"  ", "https://example.org/")
    bomb = io.BytesIO()
    with gzip.GzipFile(fileobj=bomb, mode="wb") as handle:
        for _ in range(MAX_UNPACKED // (1 << 20) + 1):
            handle.write(b"\0" * (1 << 20))
    with pytest.raises(SitemapError, match="more than"):
        parse_sitemap(bomb.getvalue(), "https://example.org/")


def test_robots_and_site_roots() -> None:
    assert sitemaps_from_robots(
        "User-agent: *\nDisallow: /x\nSitemap: https://example.org/a.xml\nsitemap: /b.xml\n"
    ) == [
        "https://example.org/a.xml",
        "/b.xml",
    ]
    assert is_site_root("https://example.org") and is_site_root("https://example.org/")
    assert not is_site_root("https://example.org/sitemap.xml") and not is_site_root(
        "https://example.org/?s=1"
    )


@pytest.mark.parametrize(
    ("url", "start", "days"),
    [
        ("https://example.org/2021/09/29/story", "2021-09-29", 1),
        ("https://example.org/news/2021-09-29-story", "2021-09-29", 1),
        ("https://www.zaobao.com/realtime/china/story20210929-1198422", "2021-09-29", 1),
        ("https://example.org/2021/02/", "2021-02-01", 28),
        ("https://example.org/2021/13/40/x", None, 0),
        ("https://example.org/id/1234567890123", None, 0),
        ("https://20210929.example.org/x", None, 0),  # the host is not the path
    ],
)
def test_dates_in_urls(url: str, start: str | None, days: int) -> None:
    span = url_dates(url)
    if start is None:
        assert span is None
        return
    assert span is not None and span[0] == datetime.fromisoformat(start).replace(tzinfo=UTC)
    assert (span[1] - span[0]).days == days - 1


def test_filters() -> None:
    filters = Filters(
        since=parse_day_or_time("2021-09-01"),
        until=parse_day_or_time("2021-09-30", end_of_day=True),
        match=re.compile("/news/"),
    )
    assert filters.accepts(Found("https://example.org/news/x"))  # undated passes
    assert not filters.accepts(Found("https://example.org/about"))
    late = datetime(2021, 9, 30, 23, 59, tzinfo=UTC)
    assert filters.accepts(Found("https://example.org/news/x", lastmod=late))
    assert not filters.accepts(Found("https://example.org/news/x", lastmod=datetime(2021, 10, 1, tzinfo=UTC)))
    assert not filters.accepts(Found("https://example.org/news/2021/08/31/x"))
    assert filters.accepts(Found("https://example.org/news/2021/08/")) is False
    assert filters.accepts(Found("https://example.org/news/2021/09/"))  # the month overlaps
    # a publication date wins over lastmod (an old story edited lately is still old)
    old = Found(
        "https://example.org/news/x", published=datetime(2020, 1, 1, tzinfo=UTC), lastmod=datetime.now(UTC)
    )
    assert not filters.accepts(old) and filters.older_than_since(old)
    assert Filters().fingerprint(1) != Filters().fingerprint(2) != filters.fingerprint(2)
    assert parse_day_or_time("2021-09-29T08:00+08:00") == datetime(2021, 9, 29, tzinfo=UTC)
    assert parse_w3c_datetime("2021-09-29T14:34Z") == datetime(2021, 9, 29, 14, 34, tzinfo=UTC)
    assert parse_w3c_datetime("2021-09-29junk") == datetime(2021, 9, 29, tzinfo=UTC)
    assert parse_w3c_datetime("yesterday") is None


def test_paging_guesses_and_links() -> None:
    assert guess_next("https://example.org/feed/", 1) == (
        "https://example.org/feed/?paged=2",
        "https://example.org/feed/page/2/",
    )
    assert guess_next("https://example.org/feed?cat=3&paged=2", 2) == (
        "https://example.org/feed?cat=3&paged=3",
    )
    assert guess_next("https://example.org/news/page/7/feed/", 7) == (
        "https://example.org/news/page/8/feed/",
    )
    assert guess_next("https://example.org/feed/", 2) == ()

    rss = (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>t'
        b'</title><atom:link rel="next" href="/feed?page=2"/><item><title>a</title></item></channel></rss>'
    )
    links = feed_links(rss, "https://example.org/feed")
    assert links["next"] == "https://example.org/feed?page=2"
    step = next_step("https://example.org/feed", links, 1, may_guess=True)
    assert step is not None and (step.url, step.kind, step.guessed) == (
        "https://example.org/feed?page=2",
        "feed-page",
        False,
    )
    archive = {"prev-archive": "https://example.org/2021-08.xml", "next": "https://example.org/x"}
    step = next_step("https://example.org/feed", archive, 1, may_guess=True)
    assert step is not None and step.kind == "feed-archive" and step.url.endswith("2021-08.xml")
    assert next_step("file:///feed.xml", {}, 1, may_guess=False) is None


def test_plain_progress_lines() -> None:
    out = io.StringIO()
    now = [100.0]
    progress = LogProgress(out, every=5, clock=lambda: now[0])
    progress.start("archive", 100)
    for i in range(60):
        now[0] += 0.125
        progress.advance(failed=i % 10 == 0)
    progress.finish()
    assert out.getvalue().splitlines() == [
        "archive: 100 to do",
        "archive: 40/100 done, 4 failed, 8.0/s, 0:00:08 left",  # after 5 s
        "archive: 60/100 done, 6 failed, 8.0/s, 0:00:05 left",  # at the end
    ]
