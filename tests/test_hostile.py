"""`scraper once` against servers that misbehave on purpose, one misbehaviour per test.

Two real threaded servers: a well-behaved site on 127.0.0.1 (its feed must always end archived) and a
hostile one on 127.0.0.2 (a different host to the politeness limits). Each test checks the database state
the misbehaviour must leave, and that the good feed was archived all the same. Timeouts are short
(whole request 1 s, read 0.5 s) so every case takes a second or two.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select

from scraper.store.db import make_engine, session_factory
from scraper.store.models import Article, Feed, utcnow
from tests import hostile
from tests.conftest import run_cli, write_config
from tests.hostile import HostileServer

PARAGRAPH = "这是一段足够长的正文，用来确认文章被完整地抽取和保存下来。" * 4
GBK_PARAGRAPH = "香港特区政府星期四公布新田科技城的初步规划，预计可容纳约五万个住宅单位。" * 4

FAST_HTTP = {
    "timeout": 1.0,
    "read_timeout": 0.5,
    "connect_timeout": 0.5,
    "max_body_bytes": 1_000_000,
    "retry_backoff": 0.01,
}


def rss(items: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<item><title>{guid}</title><link>{link}</link><guid>{guid}</guid>"
        "<pubDate>Wed, 29 Sep 2021 23:11:00 +0800</pubDate></item>"
        for guid, link in items
    )
    head = '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
    return f"{head}{body}</channel></rss>"


def page(text: str = PARAGRAPH, meta: str = '<meta charset="utf-8">') -> str:
    return f"<html><head>{meta}<title>t</title></head><body><article><p>{text}</p></article></body></html>"


def feed_handler(items: list[tuple[str, str]]) -> hostile.Handler:
    return hostile.respond(200, rss(items), {"Content-Type": "application/rss+xml; charset=utf-8"})


@pytest.fixture
def good() -> Iterator[HostileServer]:
    """The well-behaved site: /good.xml lists one article, /good/1."""
    server = HostileServer("127.0.0.1")
    server.route("/good.xml", feed_handler([("good-1", server.url("/good/1"))]))
    server.route("/good/1", hostile.html(page()))
    with server.running():
        yield server


@pytest.fixture
def bad() -> Iterator[HostileServer]:
    server = HostileServer("127.0.0.2")
    with server.running():
        yield server


def run_once(tmp_path: Path, good: HostileServer, feeds: list[dict[str, object]], **http: object) -> Result:
    all_feeds = [{"name": "Good", "url": good.url("/good.xml")}, *feeds]
    config = write_config(tmp_path, all_feeds, http={**FAST_HTTP, **http})
    return run_cli("once", "--config", str(config))


def state(tmp_path: Path) -> tuple[dict[str, Feed], dict[str, Article]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    with session_factory(engine)() as session:
        feeds = {f.name: f for f in session.scalars(select(Feed))}
        articles = {a.guid or "": a for a in session.scalars(select(Article))}
    engine.dispose()
    return feeds, articles


def assert_good_archived(tmp_path: Path) -> None:
    feeds, articles = state(tmp_path)
    assert feeds["Good"].failures_in_row == 0 and feeds["Good"].last_success_at is not None
    assert articles["good-1"].status == "archived"
    assert PARAGRAPH in (articles["good-1"].content_text or "")
    assert any((tmp_path / "_posts").glob("*.md"))


def test_slow_drip_feed_is_cut_off_by_the_whole_request_deadline(
    tmp_path: Path, good: HostileServer, bad: HostileServer
) -> None:
    # A byte every 0.1 s never trips the 0.5 s read timeout; only the 1 s deadline stops it.
    bad.route("/drip.xml", hostile.drip(rss([("d-1", bad.url("/d/1"))]).encode(), every=0.1))
    result = run_once(tmp_path, good, [{"name": "Drip", "url": bad.url("/drip.xml")}])
    assert result.exit_code == 1, result.output
    feeds, articles = state(tmp_path)
    drip = feeds["Drip"]
    assert "timed out after 1 s (whole request)" in (drip.last_error or "")
    assert drip.failures_in_row == 1 and drip.failing_since is not None and not drip.broken
    assert drip.blocked_until is not None and drip.blocked_until > utcnow() + timedelta(minutes=3)
    assert "d-1" not in articles
    assert bad.hits["/drip.xml"] == 1  # a timeout is not retried within the run
    assert_good_archived(tmp_path)

    status = run_cli("status", "--config", str(tmp_path / "scraper.toml")).output
    row = next(line for line in status.splitlines() if line.startswith("│ Drip"))
    cells = [cell.strip() for cell in row.strip("│").split("│")]
    # feed, archived, pending, gone, failed, last poll, last success, fails, broken, interval, next, error
    assert cells[6:10] == ["never", "1", "no", "30m"] and cells[10] in ("in 29m", "in 30m"), cells
    assert cells[11].startswith("timed out after 1 s")


def test_endless_body_stops_at_the_cap(tmp_path: Path, good: HostileServer, bad: HostileServer) -> None:
    bad.route("/feed.xml", feed_handler([("e-1", bad.url("/endless"))]))
    bad.route("/endless", hostile.endless())
    result = run_once(tmp_path, good, [{"name": "Endless", "url": bad.url("/feed.xml")}])
    assert result.exit_code == 0, result.output  # the feeds were fine; one article failed
    _, articles = state(tmp_path)
    endless = articles["e-1"]
    assert endless.status == "failed" and endless.next_attempt_at is None  # permanent: not retried
    assert "over the 1000000-byte cap" in (endless.last_error or "")
    assert bad.hits["/endless"] == 1
    assert_good_archived(tmp_path)


def test_gzip_bomb_feed_stops_at_the_cap(tmp_path: Path, good: HostileServer, bad: HostileServer) -> None:
    bad.route("/bomb.xml", hostile.gzip_bomb(50_000_000))  # ~50 KB on the wire, 50 MB inflated
    result = run_once(tmp_path, good, [{"name": "Bomb", "url": bad.url("/bomb.xml")}])
    assert result.exit_code == 1
    feeds, _ = state(tmp_path)
    bomb = feeds["Bomb"]
    assert "over the 1000000-byte cap (decompressed" in (bomb.last_error or "")
    # Permanent: straight to the longest backoff (6 h by default), not the 5 min of a transient error.
    assert bomb.blocked_until is not None and bomb.blocked_until > utcnow() + timedelta(hours=4)
    assert_good_archived(tmp_path)


def test_redirect_loop_is_a_permanent_article_failure(
    tmp_path: Path, good: HostileServer, bad: HostileServer
) -> None:
    bad.route("/feed.xml", feed_handler([("r-1", bad.url("/loop/a"))]))
    bad.route("/loop/a", hostile.redirect("/loop/b", 301))
    bad.route("/loop/b", hostile.redirect(bad.url("/loop/a"), 302))
    run_once(tmp_path, good, [{"name": "Loop", "url": bad.url("/feed.xml")}])
    _, articles = state(tmp_path)
    assert articles["r-1"].status == "failed"
    assert f"redirect loop at {bad.url('/loop/a')}" in (articles["r-1"].last_error or "")
    assert bad.hits["/loop/a"] == 1 and bad.hits["/loop/b"] == 1
    assert_good_archived(tmp_path)


def test_429_with_retry_after_blocks_the_whole_host(
    tmp_path: Path, good: HostileServer, bad: HostileServer
) -> None:
    bad.route("/limited.xml", hostile.respond(429, "slow down", {"Retry-After": "600"}))
    bad.route("/other.xml", feed_handler([("o-1", bad.url("/o/1"))]))
    bad.route("/page", hostile.html(page()))
    good.route("/good.xml", feed_handler([("good-1", good.url("/good/1")), ("b-1", bad.url("/page"))]))
    one_at_a_time = {"per_host_concurrency": 1}  # so the 429 comes before the second feed is asked
    result = run_once(
        tmp_path,
        good,
        [
            {"name": "Limited", "url": bad.url("/limited.xml"), **one_at_a_time},
            {"name": "Other", "url": bad.url("/other.xml"), **one_at_a_time},
        ],
    )
    assert "1 deferred" in result.output and "deferred 1" in result.output, result.output
    feeds, articles = state(tmp_path)
    now = utcnow()
    limited, other = feeds["Limited"], feeds["Other"]
    assert limited.failures_in_row == 1 and limited.last_status == 429
    assert "Retry-After 600 s" in (limited.last_error or "")
    assert limited.blocked_until is not None and limited.blocked_until > now + timedelta(seconds=590)
    # Never asked: deferred to the same time, not counted as a failure.
    assert bad.hits["/other.xml"] == 0
    assert other.failures_in_row == 0 and other.last_polled_at is None
    assert other.blocked_until is not None and other.blocked_until > now + timedelta(seconds=580)
    # A page on that host, linked from the good feed, waits too, without spending an attempt.
    assert bad.hits["/page"] == 0
    assert articles["b-1"].status == "pending" and articles["b-1"].attempts == 0
    assert articles["b-1"].next_attempt_at > now + timedelta(seconds=580)
    assert_good_archived(tmp_path)


def test_500_then_200_is_retried_within_the_run(
    tmp_path: Path, good: HostileServer, bad: HostileServer
) -> None:
    bad.route("/feed.xml", feed_handler([("f-1", bad.url("/flaky"))]))
    bad.route("/flaky", hostile.sequence(hostile.respond(500, "oops"), hostile.html(page())))
    run_once(tmp_path, good, [{"name": "Flaky", "url": bad.url("/feed.xml")}])
    _, articles = state(tmp_path)
    assert articles["f-1"].status == "archived" and articles["f-1"].attempts == 1
    assert bad.hits["/flaky"] == 2
    assert_good_archived(tmp_path)


def test_500_then_200_across_runs_when_in_run_retries_are_off(
    tmp_path: Path, good: HostileServer, bad: HostileServer
) -> None:
    bad.route("/feed.xml", feed_handler([("f-1", bad.url("/flaky"))]))
    bad.route("/flaky", hostile.sequence(hostile.respond(500, "oops"), hostile.html(page())))
    feeds = [{"name": "Flaky", "url": bad.url("/feed.xml")}]
    run_once(tmp_path, good, feeds, retries=0)
    _, articles = state(tmp_path)
    flaky = articles["f-1"]
    assert (flaky.status, flaky.attempts, flaky.last_error) == ("pending", 1, "HTTP 500")
    assert flaky.next_attempt_at is not None and flaky.next_attempt_at > utcnow() + timedelta(minutes=3)

    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    with session_factory(engine).begin() as session:  # the backoff has passed
        session.get_one(Article, flaky.id).next_attempt_at = utcnow()
    engine.dispose()
    run_once(tmp_path, good, feeds, retries=0)
    _, articles = state(tmp_path)
    assert articles["f-1"].status == "archived" and articles["f-1"].attempts == 2


def test_connection_reset_is_retried_a_bounded_number_of_times(
    tmp_path: Path, good: HostileServer, bad: HostileServer
) -> None:
    bad.route("/feed.xml", feed_handler([("c-1", bad.url("/reset"))]))
    bad.route("/reset", hostile.reset())
    run_once(tmp_path, good, [{"name": "Reset", "url": bad.url("/feed.xml")}], retries=2)
    _, articles = state(tmp_path)
    reset = articles["c-1"]
    assert bad.hits["/reset"] == 3  # the first try and two retries, then it waits for a later run
    assert reset.status == "pending" and reset.attempts == 1
    assert reset.next_attempt_at is not None and reset.next_attempt_at > utcnow() + timedelta(minutes=3)
    assert any(word in (reset.last_error or "") for word in ("ReadError", "RemoteProtocolError", "reset"))
    assert_good_archived(tmp_path)


def test_mislabelled_charset_comes_out_right(tmp_path: Path, good: HostileServer, bad: HostileServer) -> None:
    gbk_page = page(GBK_PARAGRAPH, meta='<meta charset="utf-8">').encode("gbk")  # lies twice
    bad.route("/feed.xml", feed_handler([("m-1", bad.url("/gbk"))]))
    bad.route("/gbk", hostile.respond(200, gbk_page, {"Content-Type": "text/html; charset=utf-8"}))
    run_once(tmp_path, good, [{"name": "Mislabelled", "url": bad.url("/feed.xml")}])
    _, articles = state(tmp_path)
    assert articles["m-1"].status == "archived"
    assert GBK_PARAGRAPH in (articles["m-1"].content_text or "")
    assert_good_archived(tmp_path)


def test_private_address_in_a_link_is_refused(tmp_path: Path, good: HostileServer) -> None:
    # The guard is on (only the test site's own address is let through): links into the operator's
    # network, the cloud metadata service and another loopback address are refused, nothing is sent.
    good.route(
        "/good.xml",
        feed_handler(
            [
                ("good-1", good.url("/good/1")),
                ("meta", "http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
                ("lan", "http://10.0.0.1/admin"),
                ("loop", f"http://127.0.0.2:{good.port}/secret"),
            ]
        ),
    )
    run_once(tmp_path, good, [], allow_private_networks=False, allow_networks=["127.0.0.1/32"])
    _, articles = state(tmp_path)
    for guid, address in (("meta", "169.254.169.254"), ("lan", "10.0.0.1"), ("loop", "127.0.0.2")):
        assert articles[guid].status == "failed" and articles[guid].next_attempt_at is None
        assert f"non-public address {address}" in (articles[guid].last_error or "")
    assert_good_archived(tmp_path)
