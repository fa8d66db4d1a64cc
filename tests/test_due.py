"""scraper.due: why a feed is polled now or not, and when: the pure decision, and its agreement with the
feed selection the pipeline makes in SQL (so what `once` and `status` say is what happens)."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from scraper.config import parse_config
from scraper.due import FeedTiming, config_fingerprint, describe, plain_settings, poll_timing
from scraper.pipeline import Pipeline
from scraper.status import feed_timing
from scraper.store.db import make_engine, upgrade
from scraper.store.leases import Leases
from scraper.store.models import Feed, utcnow

NOW = utcnow().replace(microsecond=0)  # leases are checked against the real clock
LATER = NOW + timedelta(hours=5, minutes=3)


def timing(**values: object) -> FeedTiming:
    base: dict[str, object] = {
        "enabled": True,
        "next_poll_at": None,
        "blocked_until": None,
        "last_polled_at": NOW,
    }
    return FeedTiming(**{**base, **values})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("feed", "due_only", "due", "why"),
    [
        (timing(enabled=False), False, False, "disabled in the config"),
        (timing(last_polled_at=None), True, True, "never polled"),
        (timing(next_poll_at=None), True, True, "its configuration changed"),
        (timing(next_poll_at=LATER), True, False, "its interval"),
        (
            timing(next_poll_at=LATER, blocked_until=NOW + timedelta(minutes=5), failures_in_row=1),
            True,
            False,
            "its interval since the last poll; backoff after 1 failed poll",
        ),
        (timing(next_poll_at=LATER), False, True, "each run polls"),
        (
            timing(blocked_until=LATER, next_poll_at=LATER, failures_in_row=3, last_error="HTTP 500"),
            False,
            False,
            "backoff after 3 failed polls in a row; last error: HTTP 500",
        ),
        (
            timing(blocked_until=LATER, failures_in_row=1, last_status=429),
            False,
            False,
            "Retry-After (HTTP 429)",
        ),
        (timing(blocked_until=LATER, ttl_minutes=300), False, False, "<ttl> 300 min"),
        (timing(blocked_until=LATER, skip_hours=True), False, False, "skipHours"),
        (timing(blocked_until=LATER), False, False, "Retry-After or its cache lifetime"),
        (timing(blocked_until=NOW - timedelta(seconds=1), next_poll_at=NOW), True, True, "interval is up"),
        (timing(claimed_by="other"), False, False, "being polled now"),
    ],
)
def test_reasons(feed: FeedTiming, due_only: bool, due: bool, why: str) -> None:
    decided = poll_timing(feed, NOW, due_only=due_only)
    assert decided.due is due
    assert why in decided.why
    if not due and feed.enabled and not feed.claimed_by:
        assert decided.when == LATER and "in 5h 3m" in describe(decided, NOW)


def test_force_polls_every_enabled_feed() -> None:
    blocked = timing(blocked_until=LATER, failures_in_row=4)
    assert poll_timing(blocked, NOW, due_only=True, force=True).due
    assert not poll_timing(timing(enabled=False), NOW, due_only=True, force=True).due


def test_fingerprint_changes_with_any_key_and_only_then() -> None:
    raw = {"feeds": [{"name": "f", "url": "https://example.org/feed.xml"}]}
    one, same = parse_config(raw, None, {}), parse_config(raw, None, {})
    assert config_fingerprint(one.feeds[0], one.http) == config_fingerprint(same.feeds[0], same.http)
    for change in ({"interval": 60}, {"selector": "article"}, {"url": "https://example.org/other.xml"}):
        other = parse_config({"feeds": [{**raw["feeds"][0], **change}]}, None, {})
        assert config_fingerprint(other.feeds[0], other.http) != config_fingerprint(one.feeds[0], one.http)


def test_settings_made_plain_once_give_the_same_fingerprint() -> None:
    """The feed sync makes [http] and [schedule] plain once for all its feeds (plain_settings): the digest
    is the one of the dataclasses themselves, so no row's fingerprint moves (and no feed falls due)."""
    config = parse_config({"feeds": [{"name": "f", "url": "https://example.org/feed.xml"}]}, None, {})
    feed, shared = config.feeds[0], (config.http, config.schedule)
    digest = config_fingerprint(feed, *shared)
    assert config_fingerprint(feed, *plain_settings(*shared)) == digest
    assert config_fingerprint(*plain_settings(feed, *shared)) == digest


moments = st.one_of(
    st.none(), st.integers(min_value=-7200, max_value=7200).map(lambda s: NOW + timedelta(seconds=s))
)


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    folder = Path(tempfile.mkdtemp(prefix="due-"))
    engine = make_engine(f"sqlite:///{folder / 'archive.db'}")
    upgrade(engine)
    config = parse_config({"feeds": []}, folder / "scraper.toml", {})
    return Pipeline(config, engine, None, clock=lambda: NOW, leases=Leases(engine, node_id="me:1:0"))  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.booleans(), moments, moments, st.integers(0, 3), st.sampled_from([None, "me:1:0", "other:2:0"])
        ),
        min_size=1,
        max_size=6,
    ),
    due_only=st.booleans(),
    force=st.booleans(),
)
def test_the_decision_agrees_with_the_pipelines_selection(
    pipeline: Pipeline,
    rows: list[tuple[bool, datetime | None, datetime | None, int, str | None]],
    due_only: bool,
    force: bool,
) -> None:
    with pipeline.sessions.begin() as session:
        session.execute(delete(Feed))
        for n, (enabled, next_poll_at, blocked_until, failures, owner) in enumerate(rows):
            session.add(
                Feed(
                    url=f"https://example.org/{n}.xml",
                    name=f"f{n}",
                    enabled=enabled,
                    next_poll_at=next_poll_at,
                    blocked_until=blocked_until,
                    failures_in_row=failures,
                    last_polled_at=NOW - timedelta(hours=1),
                    lease_owner=owner,
                    lease_expires_at=utcnow() + timedelta(hours=1) if owner else None,  # real time
                )
            )
    with pipeline.sessions() as session:
        expected = {
            feed.name
            for feed in session.query(Feed)
            if poll_timing(feed_timing(feed, NOW), NOW, due_only=due_only, force=force).due
        }
    claimed = pipeline.feeds_to_poll(due_only=due_only, force=force)
    pipeline.leases.release("feed", [feed.id for feed in claimed])
    assert {feed.name for feed in claimed} == expected
