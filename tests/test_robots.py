"""robots.txt for article pages: rules by our product token, cached per origin, RFC 9309 on errors."""

import asyncio
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from scraper.config import HttpConfig
from scraper.fetch import Fetcher, RobotsDisallowedError, RobotsUnavailableError
from scraper.robots import product_token
from scraper.store.db import make_engine, session_factory
from scraper.store.models import Article
from tests.conftest import run_cli, write_config

ROBOTS = """User-agent: *
Disallow: /

User-agent: scraper
Disallow: /members/
Crawl-delay: 0.3
"""

CONFIG = HttpConfig(allow_private_networks=True, per_host_delay=0, retry_backoff=0.01)


def test_product_token() -> None:
    assert product_token("scraper/0.1 (+https://example.org/contact)") == "scraper"
    assert product_token("MyArchive (+mailto:me@example.org)") == "MyArchive"


def fetch_all(urls: list[str], check_robots: bool = True) -> list[object]:
    async def go() -> list[object]:
        async with Fetcher(CONFIG, env={}) as fetcher:
            results: list[object] = []
            for url in urls:
                try:
                    results.append((await fetcher.get(url, check_robots=check_robots)).status)
                except Exception as exc:
                    results.append(exc)
            return results

    return asyncio.run(go())


def test_rules_for_our_token_are_followed_and_cached(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data(ROBOTS, content_type="text/plain")
    httpserver.expect_request("/news/1").respond_with_data("<p>1</p>")
    httpserver.expect_request("/news/2").respond_with_data("<p>2</p>")
    began = time.monotonic()
    first, members, second = fetch_all(
        [httpserver.url_for("/news/1"), httpserver.url_for("/members/x"), httpserver.url_for("/news/2")]
    )
    assert first == 200 and second == 200  # "*" disallows all, but our own group allows these
    assert isinstance(members, RobotsDisallowedError) and not members.transient
    assert "disallowed by" in members.reason
    assert [r.path for r, _ in httpserver.log].count("/robots.txt") == 1
    assert time.monotonic() - began >= 0.3  # Crawl-delay 0.3 between the two pages


def test_feed_polls_do_not_ask_robots(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("<rss/>")
    assert fetch_all([httpserver.url_for("/feed.xml")], check_robots=False) == [200]
    assert [r.path for r, _ in httpserver.log] == ["/feed.xml"]


def test_missing_robots_allows_everything(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/a").respond_with_data("<p>a</p>")
    assert fetch_all([httpserver.url_for("/a")]) == [200]


@pytest.mark.parametrize("status", [503, 429])
def test_unreachable_robots_holds_the_site_for_now(httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("down", status=status)
    (result,) = fetch_all([httpserver.url_for("/a")])
    assert isinstance(result, RobotsUnavailableError) and result.transient
    assert all(r.path == "/robots.txt" for r, _ in httpserver.log)  # the page itself was not asked


def test_once_marks_a_disallowed_article_failed(httpserver: HTTPServer, tmp_path: Path) -> None:
    base = httpserver.url_for("").rstrip("/")
    items = "".join(
        f"<item><title>{g}</title><link>{base}{path}</link><guid>{g}</guid></item>"
        for g, path in (("open", "/news/1"), ("closed", "/members/2"))
    )
    httpserver.expect_request("/feed.xml").respond_with_data(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>',
        content_type="application/rss+xml",
    )
    httpserver.expect_request("/robots.txt").respond_with_data(ROBOTS.replace("0.3", "0"))
    httpserver.expect_request("/news/1").respond_with_data(
        "<html><body><p>An open article, long enough to keep.</p></body></html>", content_type="text/html"
    )
    config = write_config(
        tmp_path, [{"name": "F", "url": httpserver.url_for("/feed.xml")}], http={"respect_robots": True}
    )
    run_cli("once", "--config", str(config))
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    with session_factory(engine)() as session:
        rows = {a.guid: a for a in session.scalars(select(Article))}
    engine.dispose()
    assert rows["open"].status == "archived"
    assert rows["closed"].status == "failed" and "disallowed by" in (rows["closed"].last_error or "")
    assert "/members/2" not in [r.path for r, _ in httpserver.log]
