"""The schedule the pipeline writes per feed: server hints, skip windows, auto interval, backoff, broken."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select
from werkzeug import Request
from werkzeug import Response as WResponse

from scraper.config import load_config
from scraper.fetch import Fetcher
from scraper.pipeline import Pipeline, RunSummary
from scraper.status import feed_status_report
from scraper.store.db import make_engine, session_factory, upgrade
from scraper.store.models import Feed
from tests.conftest import write_config

T0 = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)  # a Monday, 10:00 GMT


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def rss(guids: list[str], extra: str = "") -> str:
    items = "".join(
        f"<item><title>{g}</title><link>https://example.org/{g}</link><guid>{g}</guid></item>" for g in guids
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{extra}{items}</channel></rss>'


def poll(
    tmp_path: Path,
    feed: dict[str, object],
    clock: Clock,
    engine: Engine | None = None,
    **sections: dict[str, object],
) -> tuple[Feed, RunSummary]:
    """Poll the one feed once (no article fetching), at the clock's time; returns its row."""
    config = load_config(write_config(tmp_path, [{"name": "F", **feed}], **sections), env={})
    own_engine = engine is None
    engine = engine or make_engine(config.database.url)
    upgrade(engine)

    async def go() -> RunSummary:
        async with Fetcher(config.http, env={}) as fetcher:
            pipeline = Pipeline(config, engine, fetcher, clock=clock)
            pipeline.sync_feeds()
            summary = RunSummary()
            await pipeline.poll_feeds(pipeline.feeds_to_poll(due_only=False), summary)
            return summary

    summary = asyncio.run(go())
    with session_factory(engine)() as session:
        row = session.scalars(select(Feed)).one()
    if own_engine:
        engine.dispose()
    return row, summary


def test_ttl_and_max_age_raise_the_wait_and_survive_a_304(httpserver: HTTPServer, tmp_path: Path) -> None:
    def handler(request: Request) -> WResponse:
        if request.headers.get("If-None-Match") == '"v1"':
            return WResponse(status=304, headers={"Cache-Control": "max-age=600"})
        body = rss(["a"], "<ttl>60</ttl>")
        return WResponse(
            body, content_type="application/rss+xml", headers={"ETag": '"v1"', "Cache-Control": "max-age=600"}
        )

    httpserver.expect_request("/f.xml").respond_with_handler(handler)
    feed = {"url": httpserver.url_for("/f.xml"), "interval": 1800}
    clock = Clock()
    row, _ = poll(tmp_path, feed, clock)
    assert (row.ttl_minutes, row.poll_interval) == (60, 1800)
    assert row.blocked_until == T0 + timedelta(minutes=60)  # the ttl asks for longer than max-age
    assert row.next_poll_at == T0 + timedelta(minutes=60)  # and longer than our interval

    clock.now = T0 + timedelta(hours=2)
    row, summary = poll(tmp_path, feed, clock)
    assert summary.feeds_not_modified == 1
    assert row.blocked_until == clock.now + timedelta(minutes=60)  # the stored ttl still counts

    clock.now += timedelta(minutes=10)  # too early: `once` leaves the feed alone
    _, summary = poll(tmp_path, feed, clock)
    assert summary.feeds_polled == 0 and len(httpserver.log) == 2


def test_skip_hours_and_days_move_the_next_poll(httpserver: HTTPServer, tmp_path: Path) -> None:
    skips = "<skipHours><hour>10</hour><hour>11</hour></skipHours><skipDays><day>Tuesday</day></skipDays>"
    httpserver.expect_request("/f.xml").respond_with_data(
        rss(["a"], skips), content_type="application/rss+xml"
    )
    clock = Clock()
    row, _ = poll(tmp_path, {"url": httpserver.url_for("/f.xml"), "interval": 1800}, clock)
    assert (row.skip_hours, row.skip_days) == ("10,11", "1")
    assert row.blocked_until == T0.replace(hour=12) and row.next_poll_at == T0.replace(hour=12)

    clock.now = T0.replace(hour=23, minute=50)  # 30 min later is Tuesday, skipped whole
    row, _ = poll(tmp_path, {"url": httpserver.url_for("/f.xml"), "interval": 1800}, clock)
    assert row.next_poll_at == datetime(2024, 3, 6, tzinfo=UTC)


def test_auto_interval_follows_the_feed(httpserver: HTTPServer, tmp_path: Path) -> None:
    versions = iter([["a"], ["a", "b"], ["a", "b"], ["a", "b"]])
    httpserver.expect_request("/f.xml").respond_with_handler(
        lambda request: WResponse(rss(next(versions)), content_type="application/rss+xml")
    )
    feed = {"url": httpserver.url_for("/f.xml"), "interval": "auto", "min_interval": 600}
    clock = Clock()
    intervals = []
    for _ in range(4):
        row, _ = poll(tmp_path, feed, clock)
        intervals.append(row.poll_interval)
        assert row.next_poll_at == clock.now + timedelta(seconds=row.poll_interval)
        clock.now = row.next_poll_at
    assert intervals == [900, 600, 900, 1350]  # new, new (floor 600), nothing, nothing


def test_failures_back_off_then_mark_broken_then_recover(httpserver: HTTPServer, tmp_path: Path) -> None:
    feed = {"url": httpserver.url_for("/f.xml"), "interval": 1800}
    schedule = {"broken_after": 3 * 86400, "retry_base": 600}
    httpserver.expect_request("/f.xml").respond_with_data("down", status=500)
    clock = Clock()
    row, _ = poll(tmp_path, feed, clock, schedule=schedule)
    assert row.failures_in_row == 1 and row.failing_since == T0 and not row.broken
    assert T0 + timedelta(seconds=480) <= row.blocked_until <= T0 + timedelta(seconds=720)
    assert row.next_poll_at == T0 + timedelta(seconds=1800)  # the interval is longer than this backoff
    assert row.last_error == "HTTP 500"

    clock.now = T0 + timedelta(days=1)
    row, _ = poll(tmp_path, feed, clock, schedule=schedule)
    assert row.failures_in_row == 2 and not row.broken
    assert row.blocked_until - clock.now >= timedelta(seconds=960)  # doubled

    clock.now = T0 + timedelta(days=3, minutes=1)
    row, _ = poll(tmp_path, feed, clock, schedule=schedule)
    assert row.broken and row.failures_in_row == 3

    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    report = feed_status_report(engine, now=clock.now)
    line = next(line for line in report.splitlines() if line.startswith("│ F"))
    assert "BROKEN" in line and "HTTP 500" in line and " 3 " in line

    httpserver.clear()
    httpserver.expect_request("/f.xml").respond_with_data(rss(["a"]), content_type="application/rss+xml")
    clock.now += timedelta(days=1)
    row, _ = poll(tmp_path, feed, clock, schedule=schedule)
    assert not row.broken and row.failures_in_row == 0 and row.failing_since is None
    assert row.last_success_at == clock.now and row.blocked_until is None
    engine.dispose()


def test_not_found_is_permanent_and_waits_longest(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/f.xml").respond_with_data("gone", status=410)
    row, _ = poll(tmp_path, {"url": httpserver.url_for("/f.xml")}, Clock(), schedule={"max_backoff": 7200})
    assert row.blocked_until == T0 + timedelta(seconds=7200) and row.last_status == 410


def test_poll_schedule_on_postgresql(httpserver: HTTPServer, tmp_path: Path, postgres_engine: Engine) -> None:
    # The 200 path (row by row, entries queued) and the 304 path (a batched UPDATE) on PostgreSQL.
    def handler(request: Request) -> WResponse:
        if request.headers.get("If-None-Match") == '"v1"':
            return WResponse(status=304)
        return WResponse(
            rss(["a", "b"], "<ttl>45</ttl>"), content_type="application/rss+xml", headers={"ETag": '"v1"'}
        )

    httpserver.expect_request("/f.xml").respond_with_handler(handler)
    feed = {"url": httpserver.url_for("/f.xml"), "interval": "auto"}
    clock = Clock()
    row, summary = poll(tmp_path, feed, clock, postgres_engine)
    assert summary.new_entries == 2 and row.etag == '"v1"' and row.poll_interval == 900
    assert row.blocked_until == T0 + timedelta(minutes=45)
    clock.now = T0 + timedelta(hours=1)
    row, summary = poll(tmp_path, feed, clock, postgres_engine)
    assert summary.feeds_not_modified == 1 and row.last_status == 304 and row.poll_interval == 1350
    assert row.last_success_at == clock.now and row.blocked_until == clock.now + timedelta(minutes=45)
