"""One page that takes long to extract must not stall the others: extraction runs off the event loop.

The full-run test archives a page nested 30,000 deep (`<ul><li>`, and `<div>` through the feed's own
content) beside a normal feed. Until the linear cleaner and the per-page CPU budget (issue 14) land, the
deep pages cost tens of seconds of CPU here, so this test is slow (not wrong) before that change; after it,
the deep pages take well under a second or fail over budget, and the assertions hold either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from scraper.archive import ArticleJob, archive_article
from scraper.config import HttpConfig
from scraper.extract import RuleBook
from scraper.fetch import Fetcher
from scraper.poll import poll_feed
from scraper.store.db import make_engine, session_factory
from scraper.store.models import Article, ArticleStatus
from tests import hostile
from tests.conftest import run_cli, write_config
from tests.hostile import HostileServer

PARAGRAPH = "这是一段足够长的正文，用来确认文章被完整地抽取和保存下来。" * 4


def nested(depth: int, open_tag: str, close_tag: str) -> str:
    return f"{open_tag * depth}x{close_tag * depth}<p>{PARAGRAPH}</p>"


def page(body: str) -> str:
    head = "<head><meta charset='utf-8'><title>t</title></head>"
    return f"<html>{head}<body><article>{body}</article></body></html>"


def test_the_event_loop_goes_on_while_a_page_is_extracted() -> None:
    """A coroutine beside the extraction keeps running: the loop is never held by it."""
    content = nested(2000, "<ul><li>", "</li></ul>")  # about a second to clean: every tick counts
    job = ArticleJob(
        article_id=1,
        url="http://e.test/deep",
        feed_name="F",
        feed_is_local=False,
        content_source="feed",
        entry_title="deep",
        entry_content=content,
    )

    async def run() -> tuple[int, str]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.001)

        async with Fetcher(HttpConfig()) as fetcher:
            counting = asyncio.create_task(ticker())
            await asyncio.sleep(0)  # the ticker is running before the extraction starts
            before = ticks
            outcome = await archive_article(job, fetcher, RuleBook.load())
            during = ticks - before
            done.set()
            await counting
        return during, outcome.status

    during, status = asyncio.run(run())
    assert status == ArticleStatus.ARCHIVED
    assert during >= 3, f"the loop ran {during} times while the page was extracted"


@pytest.fixture
def sites() -> Iterator[tuple[HostileServer, HostileServer]]:
    normal, deep = HostileServer("127.0.0.1"), HostileServer("127.0.0.2")
    with normal.running(), deep.running():
        yield normal, deep


def rss(items: list[tuple[str, str, str]]) -> str:
    body = "".join(
        f"<item><title>{guid}</title><link>{link}</link><guid>{guid}</guid>"
        f"<description><![CDATA[{content}]]></description></item>"
        for guid, link, content in items
    )
    head = '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
    return f"{head}{body}</channel></rss>"


def test_a_page_nested_30000_deep_beside_a_normal_feed(
    tmp_path: Path, sites: tuple[HostileServer, HostileServer]
) -> None:
    normal, deep = sites
    feed_type = {"Content-Type": "application/rss+xml; charset=utf-8"}
    normal.route(
        "/feed.xml",
        hostile.respond(200, rss([(f"n{i}", normal.url(f"/n/{i}"), "") for i in range(3)]), feed_type),
    )
    for i in range(3):
        normal.route(f"/n/{i}", hostile.html(page(f"<p>{PARAGRAPH}</p>")))
    deep.route(
        "/feed.xml",
        hostile.respond(200, rss([("deep-ul", deep.url("/ul"), "")]), feed_type),
    )
    deep.route("/ul", hostile.html(page(nested(30_000, "<ul><li>", "</li></ul>"))))
    deep.route(
        "/div-feed.xml",
        hostile.respond(
            200, rss([("deep-div", deep.url("/div"), nested(30_000, "<div>", "</div>"))]), feed_type
        ),
    )
    config = write_config(
        tmp_path,
        [
            {"name": "Deep", "url": deep.url("/feed.xml")},
            {"name": "DeepFeed", "url": deep.url("/div-feed.xml"), "content": "feed"},
            {"name": "Normal", "url": normal.url("/feed.xml")},
        ],
        http={"max_body_bytes": 5_000_000},
    )
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 0, result.output  # the run ends, with its summary
    assert "polled 3 feeds" in result.output
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    with session_factory(engine)() as session:
        articles = {a.guid: a for a in session.scalars(select(Article))}
    engine.dispose()
    for i in range(3):
        assert articles[f"n{i}"].status == ArticleStatus.ARCHIVED
    for name in ("deep-ul", "deep-div"):  # archived, or failed with a reason (over the CPU budget)
        assert articles[name].status in (ArticleStatus.ARCHIVED, ArticleStatus.FAILED)
        assert articles[name].status == ArticleStatus.ARCHIVED or articles[name].last_error


def test_the_event_loop_goes_on_while_a_big_feed_is_parsed(tmp_path: Path) -> None:
    """Parsing thousands of entries takes a while: other polls and the health answers go on meanwhile."""
    feed = tmp_path / "big.xml"
    feed.write_text(rss([(f"g{i}", f"http://e.test/{i}", "x") for i in range(5000)]), encoding="utf-8")

    async def run() -> tuple[int, int]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.001)

        async with Fetcher(HttpConfig()) as fetcher:
            counting = asyncio.create_task(ticker())
            await asyncio.sleep(0)
            before = ticks
            result = await poll_feed(fetcher, feed.as_uri())
            during = ticks - before
            done.set()
            await counting
        return during, len(result.entries)

    during, entries = asyncio.run(run())
    assert entries == 5000
    assert during >= 3, f"the loop ran {during} times while the feed was parsed"
