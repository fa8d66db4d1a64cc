"""The poll round's claim and its 304s' write (scraper.store.feed_polls, scraper.poll_stage), and the poll
job's rest until the next feed falls due (scraper.daemon_jobs).

On PostgreSQL the claim and the write are each one statement; these tests hold them to what the generic
path (Leases.claim over feeds.pollable; lock_mine and an executemany) does, against an oracle written out
in Python, and hold a poll round to recording every feed once, its claim released, whatever mix of
answers came back, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter
from sqlalchemy import Engine, insert, select, update

from scraper import poll_stage
from scraper.config import Config, ExportConfig, FeedConfig
from scraper.errors import FeedError, HostBlockedError
from scraper.pipeline import Pipeline, RunSummary
from scraper.poll import PollResult
from scraper.store import feed_polls
from scraper.store import feeds as feed_rows
from scraper.store.leases import Leases
from scraper.store.tables import feeds as feeds_table

FEED = feeds_table.c
EXAMPLES = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def pipeline_of(engine: Engine, tmp_path: Path, count: int, name: str = "me") -> Pipeline:
    feeds = tuple(FeedConfig(name=f"F{n}", url=f"http://feeds.test/{n}") for n in range(count))
    config = Config(path=None, export=ExportConfig(dir=tmp_path / "_posts"), feeds=feeds)
    leases = Leases(engine, node_id=f"test-host:{name}:0")
    pipeline = Pipeline(config, engine, None, leases=leases)  # type: ignore[arg-type]
    pipeline.sync_feeds()
    return pipeline


def reset(engine: Engine) -> None:
    """Every feed as new: due, unleased, never polled."""
    blank = {name: None for name in ("next_poll_at", "blocked_until", "last_polled_at", "last_success_at")}
    blank |= {"lease_owner": None, "lease_expires_at": None, "last_status": None, "etag": None}
    with engine.begin() as connection:
        connection.execute(
            update(feeds_table).values(
                **blank, failures_in_row=0, failing_since=None, last_error=None, enabled=True
            )
        )


def rows(engine: Engine) -> dict[int, Any]:
    with engine.connect() as connection:
        return {row.id: row for row in connection.execute(select(feeds_table))}


# --- a poll round records every feed once, whatever came back ------------------------------------------

ANSWERS = ("304", "200", "error", "deferred")


@EXAMPLES
@given(
    answers=st.lists(
        st.tuples(st.sampled_from(ANSWERS), st.booleans(), st.integers(0, 2)), min_size=1, max_size=7
    ),
    batch=st.integers(1, 4),
)
def test_any_mix_of_answers_records_each_feed_once_its_claim_released(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answers: list[Any], batch: int
) -> None:
    """Each feed of a round: a 304, a 200, a failure or a deferral (the host asked us to wait), answering
    in any order, some of them with their claim lost to another node before the answer is recorded.
    Every feed is recorded once, as its answer says (a lost one left as the other node has it), no claim
    of ours is left on any row, and the node holds none; 304s are written in batches of `batch`."""
    pipeline = pipeline_of(engine, tmp_path, 7)
    reset(engine)
    monkeypatch.setattr(poll_stage, "UNCHANGED_BATCH", batch)
    claimed = pipeline.feeds_to_poll(due_only=True)
    feeds = claimed[: len(answers)]
    pipeline.leases.release("feed", [feed.id for feed in claimed[len(answers) :]])
    plan = {feed.id: answer for feed, answer in zip(feeds, answers, strict=True)}
    lost = [feed_id for feed_id, (_, is_lost, _) in plan.items() if is_lost]
    with engine.begin() as connection:  # taken over by another node while the poll ran
        connection.execute(update(feeds_table).where(FEED.id.in_(lost)).values(lease_owner="other"))

    async def answer(fetcher: Any, url: str, **_: Any) -> PollResult:
        kind, _, delay = plan[next(feed.id for feed in feeds if feed.url == url)]
        await asyncio.sleep(delay / 1000)
        if kind == "304":
            return PollResult(status=304, final_url=url)
        if kind == "200":
            return PollResult(status=200, final_url=url, etag='"new"')
        if kind == "error":
            raise FeedError("no feed here", status=500)
        raise HostBlockedError(url, "asked to wait", retry_after=60.0)

    monkeypatch.setattr(poll_stage, "poll_feed", answer)
    summary = RunSummary()
    asyncio.run(pipeline.poll_feeds(feeds, summary))

    after = rows(engine)
    kept = Counter(kind for kind, is_lost, _ in plan.values() if not is_lost)
    for feed_id, (kind, is_lost, _) in plan.items():
        row = after[feed_id]
        if is_lost:  # the other node's: untouched
            assert row.lease_owner == "other" and row.last_polled_at is None and row.blocked_until is None
            continue
        assert row.lease_owner is None and row.lease_expires_at is None
        if kind == "deferred":
            assert row.last_polled_at is None and row.blocked_until is not None
            continue
        assert row.last_polled_at is not None and row.next_poll_at is not None
        if kind == "error":
            assert row.failures_in_row == 1 and row.last_status == 500 and row.last_error
        else:
            assert row.last_status == int(kind) and row.failures_in_row == 0
            assert row.last_success_at == row.last_polled_at
            assert row.etag == ('"new"' if kind == "200" else None)
    for feed_id in set(after) - set(plan):  # not in the round: not touched
        assert after[feed_id].lease_owner is None and after[feed_id].last_polled_at is None
    assert pipeline.leases.held("feed") == frozenset()
    assert pipeline.leases.lost == len(lost)
    assert summary.feeds_failed == kept["error"] and summary.feeds_deferred == kept["deferred"]
    assert summary.feeds_polled - summary.feeds_not_modified == kept["200"]
    recorded_due = pipeline.polls.recorded_due.take()
    if kept:  # what the poll job, resting, wakes for (the feeds of this round were not in its claim)
        assert recorded_due is not None and recorded_due > datetime.now(UTC)
    assert pipeline.polls.recorded_due.take() is None  # taken once


# --- the 304s' single statement writes what the generic path writes ------------------------------------

moments = st.integers(-10_000, 10_000).map(lambda s: datetime(2026, 5, 1, tzinfo=UTC) + timedelta(seconds=s))


@EXAMPLES
@given(
    values=st.lists(
        st.tuples(moments, st.sampled_from([304, 200]), st.integers(1, 86_400), st.none() | moments, moments),
        min_size=1,
        max_size=6,
    ),
    ours=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_the_304_statement_writes_what_the_generic_path_writes(
    postgres_engine: Engine, tmp_path: Path, values: list[Any], ours: list[bool]
) -> None:
    """PostgreSQL: write_unchanged's one statement over arrays against lock_mine + write_rows (SQLite's
    path), on the same rows: the same columns after, the same feeds written (those still ours)."""
    from scraper.store.db import upgrade

    upgrade(postgres_engine)  # once: then one query, that it is at head
    pipeline_of(postgres_engine, tmp_path, 6)
    names = feed_polls.UNCHANGED_COLUMNS
    batch = [{"id": n + 1, **dict(zip(names, row, strict=True))} for n, row in enumerate(values)]
    results = []
    for fast in (True, False):
        reset(postgres_engine)
        with postgres_engine.begin() as connection:
            for n, mine in enumerate(ours):
                owner = "me" if mine else "other"
                connection.execute(update(feeds_table).where(FEED.id == n + 1).values(lease_owner=owner))
        if fast:
            with feed_polls.autocommit(postgres_engine).connect() as connection:
                written = feed_polls.write_unchanged(connection, batch, "me")
        else:
            with postgres_engine.begin() as connection:
                written = feed_rows.lock_mine(connection, [row["id"] for row in batch], "me")
                feed_rows.write_rows(
                    connection, [feed_polls.unchanged_row(r) for r in batch if r["id"] in written]
                )
        results.append((written, {key: row._asdict() for key, row in rows(postgres_engine).items()}))
    assert results[0] == results[1]
    assert results[0][0] == {row["id"] for row in batch if ours[row["id"] - 1]}


# --- the claim: the generic claim's feeds, and when the rest falls due ----------------------------------

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
when = st.sampled_from([None, -1000, 1000, 2000, 3000])
leases = st.sampled_from(["none", "other-live", "other-expired", "mine-live", "mine-expired"])


def at(offset: int | None) -> datetime | None:
    return None if offset is None else NOW + timedelta(seconds=offset)


@EXAMPLES
@given(
    feeds=st.lists(st.tuples(st.booleans(), when, when, leases, st.booleans()), min_size=1, max_size=6),
    limit=st.none() | st.integers(1, 6),
)
def test_the_claim_statement_claims_what_the_generic_claim_does(
    postgres_engine: Engine, feeds: list[Any], limit: int | None
) -> None:
    """PostgreSQL: feed_polls.claim against an oracle of feeds.pollable and the leases (and against
    Leases.claim, on the same rows): the same feeds claimed, in id order, and `next_due` the earliest
    moment one of the rest (enabled, not excluded) becomes pollable."""
    from scraper.store.db import upgrade

    upgrade(postgres_engine)
    real_now = datetime.now(UTC)  # the leases' expiry is the database's clock: far from it either way
    lease_until = {"other-live": 5000, "mine-live": 5000, "other-expired": -5000, "mine-expired": -5000}
    with postgres_engine.begin() as connection:
        connection.execute(feeds_table.delete())
        for n, (enabled, next_poll, blocked, lease, _) in enumerate(feeds):
            owner = None if lease == "none" else lease.split("-")[0]
            expires = real_now + timedelta(seconds=lease_until[lease]) if owner else None
            connection.execute(
                insert(feeds_table).values(
                    id=n + 1, url=f"http://feeds.test/{n}", name=f"F{n}", enabled=enabled, failures_in_row=0,
                    next_poll_at=at(next_poll), blocked_until=at(blocked), lease_owner=owner,
                    lease_expires_at=expires,
                )
            )  # fmt: skip
    excluded = {n + 1 for n, feed in enumerate(feeds) if feed[4]}

    def pollable(n: int) -> bool:
        enabled, next_poll, blocked, lease, _ = feeds[n]
        free = lease in ("none", "other-expired", "mine-expired")
        due = (next_poll is None or next_poll <= 0) and (blocked is None or blocked <= 0)
        return enabled and due and free and n + 1 not in excluded

    expected = [n + 1 for n in range(len(feeds)) if pollable(n)][:limit]
    later = []
    for n, (enabled, next_poll, blocked, lease, _) in enumerate(feeds):
        if enabled and n + 1 not in excluded and n + 1 not in expected:
            moments = [NOW if next_poll is None else at(next_poll), at(blocked)]
            if lease != "none":
                moments.append(real_now + timedelta(seconds=lease_until[lease]))
            later.append(max(m for m in moments if m is not None))

    with feed_polls.autocommit(postgres_engine).connect() as connection:
        claim = feed_polls.claim(
            connection, "mine", 60.0, NOW, due_only=True, force=False, exclude_ids=excluded, limit=limit
        )
    assert [row.id for row in claim.rows] == expected
    if later:
        assert claim.next_due is not None and abs(claim.next_due - min(later)) < timedelta(seconds=1)
    else:
        assert claim.next_due is None
    with postgres_engine.connect() as connection:
        owners = dict(connection.execute(select(FEED.id, FEED.lease_owner)).all())
    assert all(owners[feed_id] == "mine" for feed_id in expected)

    with postgres_engine.begin() as connection:  # the same rows again, through the generic claim
        for feed_id in expected:
            lease = feeds[feed_id - 1][3]
            owner = None if lease == "none" else lease.split("-")[0]
            expires = real_now + timedelta(seconds=lease_until[lease]) if owner else None
            values = {"lease_owner": owner, "lease_expires_at": expires}
            connection.execute(update(feeds_table).where(FEED.id == feed_id).values(**values))
    generic = Leases(postgres_engine, node_id="mine").claim(
        "feed",
        feed_rows.pollable(NOW, due_only=True, exclude_ids=excluded),
        order_by=[FEED.id],
        limit=limit,
    )
    assert [row.id for row in generic] == expected


def test_the_poll_stage_claims_through_the_statement_and_holds_the_claims(
    postgres_engine: Engine, tmp_path: Path
) -> None:
    """PostgreSQL: the poll stage's claim holds (renews) what it took, a second node gets none of it, and
    `next_due` says when the first feed left falls due."""
    from scraper.store.db import upgrade

    upgrade(postgres_engine)
    first = pipeline_of(postgres_engine, tmp_path, 3, "1")
    second = pipeline_of(postgres_engine, tmp_path, 3, "2")
    later = datetime.now(UTC) + timedelta(hours=1)
    with postgres_engine.begin() as connection:
        connection.execute(update(feeds_table).where(FEED.id == 3).values(next_poll_at=later))
    claimed = first.feeds_to_poll(due_only=True, limit=1)
    assert [feed.id for feed in claimed] == [1] and first.leases.held("feed") == {1}
    assert first.polls.next_due is not None and first.polls.next_due < later  # feed 2: due now
    assert [feed.id for feed in second.feeds_to_poll(due_only=True)] == [2]
    # Feed 1 is the first node's for a minute (its lease), feed 3 due in an hour.
    expires = datetime.now(UTC) + timedelta(seconds=first.leases.ttl)
    assert second.polls.next_due is not None and abs(second.polls.next_due - expires) < timedelta(seconds=5)


# --- the poll job rests until the next feed falls due ----------------------------------------------------


def test_the_poll_job_rests_until_the_next_feed_falls_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """A claim that says when its next unit falls due rests the ticks until then (at most
    LONGEST_REST_SECONDS), whatever it found; a feed recorded meanwhile that falls due sooner ends the rest
    sooner (`due_by`); a wake claims at once; a claim that found nothing though one is due rests
    DRY_CLAIM_SECONDS; one that says nothing rests as before."""
    from scraper import daemon_jobs
    from scraper.daemon_jobs import DRY_CLAIM_SECONDS, LONGEST_REST_SECONDS, JobRunner

    now = [1000.0]
    monkeypatch.setattr(daemon_jobs.time, "monotonic", lambda: now[0])

    async def main() -> list[bool]:
        async def job() -> None:
            return None

        errors = PromCounter("errors", "e", ["job"], registry=CollectorRegistry())
        # A short tick (its half, the slack a rest ends early by, is 0.05 s); the jobs themselves never run
        runner = JobRunner(0.1, errors, lambda: False)
        runner.start([("poll", job)], job, 3600.0)
        seen = []
        runner.claimed("poll", 3, due_in=2.0)  # found some, the next in 2 s
        seen.append(runner.resting("poll"))
        now[0] += 2.1
        seen.append(runner.resting("poll"))
        runner.claimed("poll", 0, due_in=3600.0)  # nothing for an hour: rests the longest
        now[0] += LONGEST_REST_SECONDS - 0.1
        seen.append(runner.resting("poll"))
        now[0] += 0.2
        seen.append(runner.resting("poll"))
        runner.claimed("poll", 0, due_in=3.0)
        runner.due_by("poll", 1.0)  # a feed just polled falls due again in 1 s
        runner.due_by("poll", 2.0)  # later: changes nothing
        now[0] += 0.9
        seen.append(runner.resting("poll"))
        now[0] += 0.2
        seen.append(runner.resting("poll"))
        runner.claimed("poll", 0, due_in=3.0)
        runner.wake("poll")
        seen.append(runner.resting("poll"))  # news: claims at once
        runner.claimed("poll", 0, due_in=-1.0)  # one due but not claimed (locked by another node)
        now[0] += DRY_CLAIM_SECONDS - 0.1
        seen.append(runner.resting("poll"))
        runner.claimed("poll", 2, due_in=-1.0)  # more due than there was room for: the next tick
        seen.append(runner.resting("poll"))
        runner.claimed("poll", 0)  # no due time known (SQLite): the dry rest
        seen.append(runner.resting("poll"))
        runner.shutdown()
        return seen

    assert asyncio.run(main()) == [True, False, True, False, True, False, False, True, False, True]
