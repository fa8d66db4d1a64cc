"""Header values from a hostile server, read where they enter (task H, session 15).

Found: a Retry-After of a superscript digit ("²", one byte in Latin-1, as httpx decodes header values) is a
digit to str.isdigit and no number to float: the ValueError was an "internal error" on the feed or page
each time the server said it. Retry-After's delta-seconds are ASCII digits (RFC 9110); anything else is an
HTTP date or junk.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from scraper.config import Config, DatabaseConfig, ExportConfig, FeedConfig, HttpConfig
from scraper.fetch import Fetcher
from scraper.pipeline import Pipeline, RunSummary
from scraper.sanitize import MAX_ETAG_CHARS, storable_text, validator
from scraper.schedule import cache_lifetime, parse_retry_after
from tests import hostile
from tests.conftest import run_cli, write_config
from tests.hostile import HostileServer
from tests.test_hostile_property import archive as shared_archive

NOW = datetime(2026, 12, 1, tzinfo=UTC)
# What httpx gives for a header's bytes: each byte a code point below 256.
header_values = st.binary(max_size=30).map(lambda data: data.decode("latin-1"))


@given(st.one_of(header_values, st.text(max_size=30)))
def test_any_retry_after_is_seconds_or_none(value: str) -> None:
    seconds = parse_retry_after(value, NOW)
    assert seconds is None or seconds >= 0


@given(st.one_of(header_values, st.text(max_size=30)), st.one_of(header_values, st.text(max_size=30)))
def test_any_cache_header_is_a_lifetime_or_none(control: str, expires: str) -> None:
    lifetime = cache_lifetime({"cache-control": control, "expires": expires}, NOW)
    assert lifetime is None or lifetime >= 0


@pytest.mark.parametrize("value", ["Fri, 31 Dec 9999 23:59:59 -1400", "Fri, 31 Dec 9999 23:59:59 -0001"])
def test_an_http_date_past_any_datetime_in_utc_is_no_date(value: str) -> None:
    """Found: Retry-After, Expires or Date of 9999-12-31 west of UTC raised OverflowError (an internal error
    on the feed or page)."""
    assert parse_retry_after(value, NOW) is None
    assert cache_lifetime({"expires": value}, NOW) is None
    assert cache_lifetime({"expires": "Fri, 31 Dec 9999 23:59:59 GMT", "date": value}, NOW) is not None


@pytest.mark.parametrize("value", ["²", "¹⁰", "３", "١٢"])
def test_digits_that_are_not_ascii_are_no_retry_after(value: str) -> None:
    assert parse_retry_after(value, NOW) is None


@pytest.fixture
def site() -> Iterator[HostileServer]:
    server = HostileServer("127.0.0.2")
    with server.running():
        yield server


def test_a_superscript_retry_after_fails_its_feed_with_the_status_not_an_internal_error(
    tmp_path: Path, site: HostileServer
) -> None:
    site.route("/feed", hostile.respond(503, "busy", {"Retry-After": "²"}))
    config = write_config(tmp_path, [{"name": "F", "url": site.url("/feed")}], http={"retries": 0})

    result = run_cli("once", "--config", str(config))

    assert "internal error" not in result.output, result.output
    assert "HTTP 503" in result.output, result.output


# --- any header on a feed's or a page's answer, through a whole run -----------------------------------------

HEADER_NAMES = [
    "Retry-After", "Last-Modified", "ETag", "Expires", "Cache-Control", "Date", "Content-Type",
    "Content-Encoding", "Location", "Set-Cookie", "Link", "Content-Language", "Refresh", "X-Robots-Tag",
    "Content-Disposition", "Content-Location", "Vary", "Age",
]  # fmt: skip
ODD_VALUES = [
    "²", "-1", "99999999999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT",
    "max-age=99999999999999999999", "max-age=-1", 'W/"\x00"', "text/html; charset=\x7f", "gzip, br, zstd",
    "javascript:alert(1)", "//x", "http://[::1", "x" * 5000, "\xff\xfe", "=?utf-8?b?AAAA?=", "0; url=file:///x",
]  # fmt: skip
header_value = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.binary(max_size=40).map(
        lambda data: data.decode("latin-1").replace("\r", "").replace("\n", "").strip()
    ),
)
_runs = itertools.count()
archive = shared_archive  # the fixture: one archive per backend, reused by every example


@pytest.fixture(scope="module")
def shared_site() -> Iterator[HostileServer]:
    server = HostileServer("127.0.0.2")
    with server.running():
        yield server


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(HEADER_NAMES),
    value=header_value,
    on_feed=st.booleans(),
    status=st.sampled_from([200, 200, 301, 304, 404, 429, 503]),
)
@example(name="Retry-After", value="²", on_feed=True, status=503)
@example(name="Retry-After", value="²", on_feed=False, status=429)
@example(name="Expires", value="Fri, 31 Dec 9999 23:59:59 -1400", on_feed=True, status=200)
@example(name="ETag", value='"café"', on_feed=True, status=200)  # sent back as If-None-Match next time
@example(name="Last-Modified", value="Mon, 01 Jan 2024 00:00:00 GMT\xe9", on_feed=True, status=200)
@example(name="ETag", value="x" * 5000, on_feed=False, status=200)  # wider than the column
def test_any_header_on_a_feed_or_a_page_costs_that_unit_at_most(
    archive: tuple[Engine, str],
    shared_site: HostileServer,
    tmp_path: Path,
    name: str,
    value: str,
    on_feed: bool,
    status: int,
) -> None:
    engine, url = archive
    run = next(_runs)
    folder = tmp_path / f"run-{run}"
    folder.mkdir()
    page = "<html><body><article><p>" + "正文足够长，可以抽取。" * 20 + "</p></article></body></html>"
    item = (
        f"<item><title>a</title><link>{shared_site.url(f'/page-{run}')}</link><guid>g{run}</guid>"
        "<pubDate>Wed, 29 Sep 2021 23:11:00 +0800</pubDate></item>"
    )
    feed = f'<rss version="2.0"><channel><title>t</title>{item}</channel></rss>'
    odd = {name: value}
    shared_site.route(
        f"/feed-{run}",
        hostile.respond(
            status if on_feed else 200,
            feed,
            {"Content-Type": "application/rss+xml", **(odd if on_feed else {})},
        ),
    )
    shared_site.route(
        f"/page-{run}",
        hostile.respond(
            200 if on_feed else status, page, {"Content-Type": "text/html", **({} if on_feed else odd)}
        ),
    )
    config = Config(
        path=None,
        database=DatabaseConfig(url=url),
        export=ExportConfig(dir=folder / "_posts"),
        http=HttpConfig(
            allow_private_networks=True, per_host_delay=0, retries=0, respect_robots=False, max_retry_wait=0
        ),
        feeds=(FeedConfig(name=f"F{run}", url=shared_site.url(f"/feed-{run}")),),
    )

    async def once() -> RunSummary:
        async with Fetcher(config.http) as fetcher:
            return await Pipeline(config, engine, fetcher).run_once()

    for _ in range(2):  # the second run sends back the validators the first one kept
        summary = asyncio.run(once())  # no exception escapes
        assert not [e for e in summary.errors if "internal error" in e or "not storable" in e], summary.errors
        with engine.begin() as connection:  # the feed and its page are due again at once
            connection.execute(text("update feeds set next_poll_at = null, blocked_until = null"))
    shutil.rmtree(folder)


@given(st.one_of(header_values, st.text(max_size=40), st.just("x" * 2000)))
def test_a_validator_kept_is_one_that_fits_and_can_be_sent_back(value: str) -> None:
    kept = validator(value, MAX_ETAG_CHARS)
    if kept is None:
        return
    assert len(kept) <= MAX_ETAG_CHARS and storable_text(kept) == kept
    request = httpx.Request(
        "GET", "http://e.test/", headers={"If-None-Match": kept, "If-Modified-Since": kept}
    )
    assert request.headers["if-none-match"] == kept
