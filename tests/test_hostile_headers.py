"""Header values from a hostile server, read where they enter (task H, session 15).

Found: a Retry-After of a superscript digit ("²", one byte in Latin-1, as httpx decodes header values) is a
digit to str.isdigit and no number to float: the ValueError was an "internal error" on the feed or page
each time the server said it. Retry-After's delta-seconds are ASCII digits (RFC 9110); anything else is an
HTTP date or junk.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.schedule import cache_lifetime, parse_retry_after
from tests import hostile
from tests.conftest import run_cli, write_config
from tests.hostile import HostileServer

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
