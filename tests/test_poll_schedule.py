"""The next poll after each kind of poll result, computed from plain data (no server, no database)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from scraper.poll_schedule import FeedTiming, ServerMemory, after_answer, after_deferral, after_failure
from scraper.schedule import encode_set

NOW = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
bounds = st.tuples(st.integers(60, 3600), st.integers(3600, 7 * 86400))
intervals = st.one_of(st.just("auto"), st.integers(60, 86400))


def timing(interval: int | str, low: int, high: int, **kw: object) -> FeedTiming:
    return FeedTiming(interval=interval, low=low, high=high, **kw)  # type: ignore[arg-type]


@given(intervals, bounds, st.one_of(st.none(), st.integers(1, 10**6)), st.integers(0, 50))
def test_an_answer_without_hints_polls_again_after_the_interval(interval, limits, learned, new) -> None:  # type: ignore[no-untyped-def]
    low, high = limits
    feed = timing(interval, low, high)
    nxt = after_answer(feed, learned, new, NOW, None, ServerMemory())
    assert nxt.blocked_until is None
    assert nxt.next_poll_at == NOW + timedelta(seconds=nxt.interval)
    if interval == "auto":
        assert low <= nxt.interval <= high
        before = feed.current_interval(learned)
        assert nxt.interval <= before if new else nxt.interval >= before
    else:
        assert nxt.interval == interval


@given(bounds, st.integers(1, 100_000), st.one_of(st.none(), st.floats(1, 10**7)))
def test_the_server_can_lengthen_the_wait_but_not_past_the_cap(limits, ttl, max_age) -> None:  # type: ignore[no-untyped-def]
    low, high = limits
    feed = timing(low, low, high)
    nxt = after_answer(feed, None, 1, NOW, max_age, ServerMemory(ttl_minutes=ttl))
    asked = max(ttl * 60.0, max_age or 0.0)
    assert nxt.blocked_until == NOW + timedelta(seconds=min(asked, high))
    assert nxt.next_poll_at == max(NOW + timedelta(seconds=low), nxt.blocked_until)
    local = after_answer(timing(low, low, high, is_local=True), None, 1, NOW, max_age, ServerMemory(ttl))
    assert local.blocked_until is None  # a file has no server to spare


@given(st.sets(st.integers(0, 23), max_size=20), st.sets(st.integers(0, 6), max_size=6))
def test_no_poll_falls_in_the_hours_and_days_the_feed_skips(hours, days) -> None:  # type: ignore[no-untyped-def]
    memory = ServerMemory(skip_hours=encode_set(frozenset(hours)), skip_days=encode_set(frozenset(days)))
    nxt = after_answer(timing(600, 60, 86400), None, 0, NOW, None, memory)
    if len(days) < 7:
        assert nxt.next_poll_at.hour not in hours or len(hours) == 24
        assert nxt.next_poll_at.weekday() not in days
    assert nxt.next_poll_at >= NOW + timedelta(seconds=600)


@given(
    st.integers(0, 30),
    st.booleans(),
    st.one_of(st.none(), st.floats(1, 10**6)),
    st.integers(60, 86400),
    st.integers(0, 2**32),
)
def test_a_failure_backs_off_and_honours_retry_after(
    failures, transient, retry_after, interval, seed
) -> None:  # type: ignore[no-untyped-def]
    feed = timing(interval, 60, 86400, retry_base=300.0, max_backoff=21600.0, broken_after=7 * 86400.0)
    failed = after_failure(
        feed,
        interval,
        failures,
        None,
        False,
        NOW,
        transient=transient,
        retry_after=retry_after,
        rng=random.Random(seed),
    )
    wait = (failed.blocked_until - NOW).total_seconds()
    assert failed.failures_in_row == failures + 1 and failed.failing_since == NOW
    if transient:
        base = min(300.0 * 2**failures, 21600.0)
        assert 0.8 * base - 1e-6 <= wait or (retry_after and wait >= min(retry_after, 86400) - 1e-6)
        assert wait <= max(1.2 * base, min(retry_after or 0, 86400)) + 1e-6
    else:
        assert wait >= 21600.0 - 1e-6
    if retry_after:
        assert wait >= min(retry_after, 86400) - 1e-6
    assert failed.next_poll_at == max(NOW + timedelta(seconds=interval), failed.blocked_until)
    assert not failed.broken


def test_a_feed_failing_long_enough_is_marked_broken_once() -> None:
    feed = timing(600, 60, 86400, broken_after=3600.0)
    early = after_failure(
        feed, 600, 2, NOW - timedelta(minutes=59), False, NOW, transient=True, retry_after=None
    )
    assert not early.broken and early.failing_since == NOW - timedelta(minutes=59)
    late = after_failure(feed, 600, 3, NOW - timedelta(hours=1), False, NOW, transient=True, retry_after=None)
    assert late.broken and late.newly_broken
    again = after_failure(feed, 600, 4, NOW - timedelta(hours=2), True, NOW, transient=True, retry_after=None)
    assert again.broken and not again.newly_broken


@given(st.floats(0, 10**7), st.one_of(st.none(), st.integers(-(10**6), 10**6)))
def test_a_deferral_moves_only_the_earliest_poll(retry_after, offset) -> None:  # type: ignore[no-untyped-def]
    next_poll = None if offset is None else NOW + timedelta(seconds=offset)
    blocked, nxt = after_deferral(timing(600, 60, 3600), NOW, retry_after, next_poll)
    assert blocked == NOW + timedelta(seconds=min(retry_after, 3600))
    assert nxt == max(next_poll or NOW, blocked)
