"""The scheduling rules, as pure functions: hints from headers and feeds, skip windows, backoff, auto."""

import random
from datetime import UTC, datetime, timedelta

from scraper.poll import parse_skips
from scraper.schedule import (
    ServerHints,
    adapt_interval,
    backoff,
    cache_lifetime,
    decode_set,
    encode_set,
    parse_retry_after,
    server_not_before,
    skip_window_end,
)

NOW = datetime(2024, 3, 4, 10, 30, tzinfo=UTC)  # a Monday


def test_retry_after_seconds_date_and_junk() -> None:
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after("Mon, 04 Mar 2024 11:00:00 GMT", NOW) == 1800.0
    assert parse_retry_after("Mon, 04 Mar 2024 09:00:00 GMT", NOW) == 0.0  # in the past: now
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_cache_lifetime_from_max_age_or_expires() -> None:
    assert cache_lifetime({"cache-control": "public, max-age=900"}, NOW) == 900.0
    assert cache_lifetime({"cache-control": "no-cache, max-age=900"}, NOW) is None
    expires = {"date": "Mon, 04 Mar 2024 10:00:00 GMT", "expires": "Mon, 04 Mar 2024 11:00:00 GMT"}
    assert cache_lifetime(expires, NOW) == 3600.0  # against the server's Date, not our clock
    assert cache_lifetime({"expires": "0"}, NOW) is None
    assert cache_lifetime({}, NOW) is None


def test_skip_hours_and_days_push_to_the_next_allowed_hour() -> None:
    assert skip_window_end(NOW, frozenset({10, 11}), frozenset()) == datetime(2024, 3, 4, 12, tzinfo=UTC)
    assert skip_window_end(NOW, frozenset({9}), frozenset()) == NOW
    # Monday and Tuesday skipped: Wednesday 00:00 GMT.
    assert skip_window_end(NOW, frozenset(), frozenset({0, 1})) == datetime(2024, 3, 6, tzinfo=UTC)
    assert skip_window_end(NOW, frozenset(range(24)), frozenset()) == NOW  # nonsense is ignored


def test_server_hints_ask_for_longer_but_are_capped() -> None:
    assert server_not_before(NOW, ServerHints(), cap=86400) == NOW
    hints = ServerHints(ttl_minutes=60, max_age=600, retry_after=1200)
    assert server_not_before(NOW, hints, cap=86400) == NOW + timedelta(hours=1)
    assert server_not_before(NOW, ServerHints(ttl_minutes=60 * 24 * 30), cap=86400) == NOW + timedelta(days=1)
    skipping = ServerHints(max_age=600, skip_hours=frozenset({10}))
    assert server_not_before(NOW, skipping, cap=86400) == datetime(2024, 3, 4, 11, tzinfo=UTC)


def test_auto_interval_halves_on_news_and_grows_on_silence_within_bounds() -> None:
    assert adapt_interval(1800, 3, 300, 86400) == 900
    assert adapt_interval(1800, 0, 300, 86400) == 2700
    assert adapt_interval(400, 1, 300, 86400) == 300
    assert adapt_interval(80000, 0, 300, 86400) == 86400


def test_auto_interval_settles_near_a_third_of_the_publishing_gap() -> None:
    # A feed publishing every 2 hours, polled "auto": about 37 % of polls find news (module docstring).
    gap, interval, clock, intervals, fruitful = 7200, 1800.0, 0.0, [], 0
    for _ in range(2000):
        before, clock = clock, clock + interval
        new = int(clock // gap) - int(before // gap)
        fruitful += new > 0
        interval = adapt_interval(interval, new, 300, 3 * 86400)
        intervals.append(interval)
    average = sum(intervals[500:]) / len(intervals[500:])
    assert 0.25 * gap < average < 0.5 * gap
    assert 0.3 < fruitful / 2000 < 0.45


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(1)
    first = backoff(1, 300, 21600, rng).total_seconds()
    third = backoff(3, 300, 21600, rng).total_seconds()
    capped = backoff(30, 300, 21600, rng).total_seconds()
    assert 240 <= first <= 360 and 960 <= third <= 1440 and 17280 <= capped <= 25920


def test_skip_sets_round_trip_and_parse_from_rss() -> None:
    rss = b"""<rss version="2.0"><channel><title>t</title><ttl>30</ttl>
    <skipHours><hour>0</hour><hour> 1 </hour><hour>24</hour><hour>99</hour></skipHours>
    <skipDays><day>Saturday</day><day>Sunday</day><day>Caturday</day></skipDays></channel></rss>"""
    hours, days = parse_skips(rss)
    assert hours == {0, 1} and days == {5, 6}
    assert decode_set(encode_set(hours)) == hours and encode_set(frozenset()) is None
