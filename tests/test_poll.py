import asyncio
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from scraper.config import HttpConfig
from scraper.fetch import Fetcher
from scraper.poll import FeedError, PollResult, parse_feed, poll_feed

RSS_091 = """<?xml version="1.0"?><rss version="0.91"><channel><title>t</title><link>https://example.org/</link>
<description>d</description><item><title>One</title><link>https://example.org/1</link>
<description>first</description></item></channel></rss>"""

RSS_10 = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://example.org/"><title>t</title><link>https://example.org/</link><description>d</description>
<items><rdf:Seq><rdf:li rdf:resource="https://example.org/1"/></rdf:Seq></items></channel>
<item rdf:about="https://example.org/1"><title>One</title><link>https://example.org/1</link>
<dc:date>2021-09-29T15:11:00Z</dc:date><dc:creator>Ann</dc:creator></item></rdf:RDF>"""

RSS_20 = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title>
<link>https://example.org/</link><description>d</description><ttl>60</ttl>
<item><title>One &amp; two</title><link>/1?utm_source=rss</link><guid isPermaLink="false">g-1</guid>
<pubDate>Wed, 29 Sep 2021 23:11:00 +0800</pubDate><description>short</description>
<content:encoded><![CDATA[<p>full <b>content</b></p>]]></content:encoded></item></channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x</id><updated>2021-09-29T15:11:00Z</updated>
<entry><title>One</title><id>tag:example.org,2021:1</id><link rel="alternate" href="https://example.org/1"/>
<updated>2021-09-29T15:11:00Z</updated><author><name>Bo</name></author>
<content type="html">&lt;p&gt;atom body&lt;/p&gt;</content></entry></feed>"""


def test_rss_091() -> None:
    (entry,), _, _ = parse_feed(RSS_091.encode(), "https://example.org/feed")
    assert entry.link == "https://example.org/1" and entry.title == "One"


def test_rss_10_rdf() -> None:
    (entry,), _, _ = parse_feed(RSS_10.encode(), "https://example.org/feed")
    assert entry.link == "https://example.org/1"
    assert entry.published == datetime(2021, 9, 29, 15, 11, tzinfo=UTC)
    assert entry.author == "Ann"


def test_rss_20_content_relative_link_and_ttl() -> None:
    (entry,), ttl, warning = parse_feed(RSS_20.encode(), "https://example.org/feed.xml")
    assert entry.guid == "g-1"
    assert entry.link == "https://example.org/1?utm_source=rss"
    assert entry.title == "One & two"
    assert entry.published == datetime(2021, 9, 29, 15, 11, tzinfo=UTC)
    assert entry.content_html == "<p>full <b>content</b></p>"
    assert ttl == 60 and warning is None


def test_atom() -> None:
    (entry,), _, _ = parse_feed(ATOM.encode(), "https://example.org/feed")
    assert (entry.guid, entry.link, entry.author) == ("tag:example.org,2021:1", "https://example.org/1", "Bo")
    assert entry.content_html == "<p>atom body</p>"


def test_broken_xml_salvages_entries() -> None:
    broken = RSS_20.replace("</channel></rss>", "<item><title>unclosed")
    entries, _, warning = parse_feed(broken.encode(), "https://example.org/feed")
    assert entries and entries[0].guid == "g-1"
    assert warning


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"", "empty body"), (b"<html><body><p>not a feed</p></body></html>", "an HTML page")],
)
def test_unusable_feeds_raise_clear_errors(body: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        parse_feed(body, "https://example.org/feed")


def poll(url: str, **kwargs: str | None) -> PollResult:
    async def go() -> PollResult:
        async with Fetcher(
            HttpConfig(allow_private_networks=True, per_host_delay=0, retry_backoff=0.01)
        ) as fetcher:
            return await poll_feed(fetcher, url, **kwargs)

    return asyncio.run(go())


def test_conditional_get_remembers_validators(httpserver: HTTPServer) -> None:
    headers = {"ETag": '"abc"', "Last-Modified": "Wed, 29 Sep 2021 15:11:00 GMT"}
    httpserver.expect_ordered_request("/feed").respond_with_data(
        RSS_20, content_type="application/rss+xml", headers=headers
    )
    httpserver.expect_ordered_request(
        "/feed", headers={"If-None-Match": '"abc"', "If-Modified-Since": headers["Last-Modified"]}
    ).respond_with_data("", status=304)
    first = poll(httpserver.url_for("/feed"))
    assert (first.status, first.etag, first.last_modified, len(first.entries)) == (
        200,
        '"abc"',
        headers["Last-Modified"],
        1,
    )
    second = poll(httpserver.url_for("/feed"), etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.entries == ()


def test_http_errors_are_feed_errors(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data("down", status=503)
    with pytest.raises(FeedError, match="HTTP 503") as info:
        poll(httpserver.url_for("/feed"))
    assert info.value.transient


@pytest.mark.parametrize(
    ("declaration", "content_type"),
    [
        ('<?xml version="1.0" encoding="gbk"?>', "application/rss+xml; charset=utf-8"),  # header lies
        ("", "text/xml; charset=iso-8859-1"),  # header lies, nothing declared
        ("", "text/xml"),  # RFC 3023 would say ASCII
        ('<?xml version="1.0" encoding="utf-8"?>', "application/rss+xml"),  # the declaration lies
    ],
)
def test_gbk_feed_however_labelled(declaration: str, content_type: str) -> None:
    title = "中国工业和信息化部等八部门周三联合发布物联网新型基础设施建设三年行动计划"
    body = f'{declaration}<rss version="2.0"><channel><title>t</title><item><title>{title}</title>'
    body += "<link>https://example.org/1</link></item></channel></rss>"
    (entry,), _, _ = parse_feed(body.encode("gbk"), "https://example.org/feed", content_type)
    assert entry.title == title


def test_html_page_served_as_a_feed_names_its_real_feed() -> None:
    page = b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml"></head><body>x'
    with pytest.raises(
        FeedError, match=r"an HTML page, not a feed; the page names its feed: https://example.org/rss.xml"
    ):
        parse_feed(page, "https://example.org/news")


def test_entries_without_link_or_date_are_kept_for_the_queue_to_judge() -> None:
    body = b'<rss version="2.0"><channel><title>t</title><item><title>no link</title></item>'
    body += b"<item><title>no date</title><link>https://example.org/2</link></item></channel></rss>"
    first, second = parse_feed(body, "https://example.org/feed")[0]
    assert first.link is None and first.title == "no link"
    assert second.link == "https://example.org/2" and second.published is None


@pytest.mark.parametrize(
    ("guid", "expected"),
    [
        ("post-123", None),
        ("nolink", None),
        ("/2024/05/story", None),
        ("https://example.org/a/1", "https://example.org/a/1"),
        ("HTTP://example.org/a/2", "http://example.org/a/2"),
    ],
)
def test_a_guid_is_the_link_only_when_it_is_a_web_address(guid: str, expected: str | None) -> None:
    """RSS: an item without <link> whose <guid> (a permalink by default) is not a URL has no link."""
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>x</title><guid>{guid}</guid></item></channel></rss>"
    )
    (entry,), _, _ = parse_feed(feed.encode(), "https://example.org/feed.xml")
    assert entry.guid == guid
    assert (entry.link.lower() if entry.link else None) == (expected.lower() if expected else None)


def test_a_json_feed_is_named_as_such_in_its_error() -> None:
    body = b'\xef\xbb\xbf {"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": []}'
    with pytest.raises(FeedError, match="a JSON Feed, which scraper does not read"):
        parse_feed(body, "https://example.org/feed.json", "application/feed+json")
    with pytest.raises(FeedError, match="not a feed"):
        parse_feed(b'{"title": "not a feed at all"}', "https://example.org/x.json", "application/json")
