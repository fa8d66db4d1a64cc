"""The one work loop and the one recorder: a unit that raises is recorded failed, with its reason, once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from scraper.archive import ArchiveOutcome, ArticleJob
from scraper.config import Config, ExportConfig, FeedConfig, load_config
from scraper.extract import Record
from scraper.pipeline import Pipeline, RunSummary
from scraper.store.db import make_engine, session_factory, upgrade
from scraper.store.models import Article, ArticleStatus, Feed, utcnow
from scraper.work_loop import job_host

FEED_URL = "http://feeds.test/rss"


def _archive(job: ArticleJob, *_: object) -> ArchiveOutcome:
    if "bug" in job.url:
        raise RuntimeError(f"an extractor bug on {job.url}")
    record = Record(title="T " + job.url, author=None, published=None, lang="en", html="<p>x</p>", text="x")
    return ArchiveOutcome(ArticleStatus.ARCHIVED, record=record, content_source="feed")


@pytest.mark.parametrize("bugs", [1, 3])
def test_a_unit_that_raises_is_failed_with_its_reason_and_never_fetched_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bugs: int
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    upgrade(engine)
    urls = [f"http://a.test/bug-{i}" for i in range(bugs)] + [f"http://b.test/ok-{i}" for i in range(5)]
    with session_factory(engine).begin() as session:
        feed = Feed(url=FEED_URL, name="Feed", failures_in_row=0)
        session.add(feed)
        session.flush()
        for url in urls:
            session.add(
                Article(feed_id=feed.id, guid=url, url=url, canonical_url=url, discovered_at=utcnow())
            )

    async def fake(job: ArticleJob, *args: object) -> ArchiveOutcome:
        return _archive(job, *args)

    monkeypatch.setattr("scraper.work_loop.archive_article", fake)
    config = Config(
        path=None, export=ExportConfig(dir=tmp_path / "_posts"), feeds=(FeedConfig("Feed", FEED_URL),)
    )
    pipeline = Pipeline(config, engine, None)  # type: ignore[arg-type]  # the fake fetches nothing
    summary = RunSummary()
    asyncio.run(pipeline.archive_pending(summary))
    assert (summary.failed, summary.archived, summary.retrying) == (bugs, 5, 0)
    assert sum("internal error: RuntimeError" in error for error in summary.errors) == bugs
    with session_factory(engine)() as session:
        rows = {row.url: row for row in session.scalars(select(Article))}
    for url in urls:
        if "bug" in url:
            assert rows[url].status == ArticleStatus.FAILED and rows[url].attempts == 1
            assert rows[url].last_error == f"internal error: RuntimeError: an extractor bug on {url}"
        else:
            assert rows[url].status == ArticleStatus.ARCHIVED
    again = RunSummary()
    asyncio.run(pipeline.archive_pending(again))  # nothing is left pending to be fetched forever
    assert (again.failed, again.archived, again.retrying) == (0, 0, 0)
    engine.dispose()


HOSTS = ("a.test", "b.test", "c.test")


@pytest.fixture(scope="module")
def queue(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """Ten pending articles of each of three hosts, and a node's pipeline over them (nothing fetches)."""
    folder = tmp_path_factory.mktemp("claims")
    engine = make_engine(f"sqlite:///{folder / 'archive.db'}")
    upgrade(engine)
    with session_factory(engine).begin() as session:
        feed = Feed(url=FEED_URL, name="Feed", failures_in_row=0)
        session.add(feed)
        session.flush()
        for i in range(10):
            for host in HOSTS:
                url = f"http://{host}/{i}"
                session.add(
                    Article(feed_id=feed.id, guid=url, url=url, canonical_url=url, discovered_at=utcnow())
                )
    config = Config(
        path=None, export=ExportConfig(dir=folder / "_posts"), feeds=(FeedConfig("Feed", FEED_URL),)
    )
    return Pipeline(config, engine, None)  # type: ignore[arg-type]  # claims need no fetcher


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    running=st.dictionaries(st.integers(1000, 1100), st.sampled_from(HOSTS), max_size=12),
    capacity=st.integers(0, 24),
    batch=st.integers(1, 8),
    per_host=st.integers(1, 6),
)
def test_the_claim_step_fills_the_room_and_never_a_host_past_its_share(
    queue: Pipeline, running: dict[int, str], capacity: int, batch: int, per_host: int
) -> None:
    """The one claim step of the work loop, which `archive_due` and the daemon's archive job both run:
    nothing while less than `batch` is free; otherwise at most the room, and no host past `per_host`
    counting the jobs already running (so the claim takes as many as the hosts' shares allow)."""
    stage = queue.archiving
    claimed = stage.claim_more(running, capacity, batch=batch, per_host=per_host)
    try:
        room = capacity - len(running)
        if room < batch:
            assert claimed == []
            return
        held = Counter(running.values())
        total = Counter(job_host(job) for job in claimed) + held
        assert len(claimed) <= room and all(count <= max(per_host, held[h]) for h, count in total.items())
        free = sum(max(0, per_host - held[host]) for host in HOSTS)  # each host has 10 waiting
        assert len(claimed) == min(room, free)
    finally:
        queue.leases.release("article", [job.article_id for job in claimed])


def test_claims_and_outcome_batches_are_sized_by_the_window_not_by_the_request_slots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At `http.concurrency = 4` a node still holds a window of dozens of articles (archive_window), so
    200 articles on 40 hosts take a handful of claims and fewer outcome transactions than articles, on
    the work loop (`once`) as on the daemon (which holds the same window, claimed in halves)."""
    from scraper.config import HttpConfig
    from scraper.daemon import Daemon
    from scraper.store.leases import Leases
    from scraper.work_loop import MIN_WINDOW, archive_window
    from tests.conftest import write_config

    assert archive_window(4) == MIN_WINDOW and archive_window(16) == 16 * 8
    daemon = Daemon(load_config(write_config(tmp_path, [], http={"concurrency": 4}), env={}))
    assert daemon._article_capacity == archive_window(4) and daemon._claim_batch == archive_window(4) // 2
    daemon.engine.dispose()

    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    upgrade(engine)
    with session_factory(engine).begin() as session:
        feed = Feed(url=FEED_URL, name="Feed", failures_in_row=0)
        session.add(feed)
        session.flush()
        for i in range(200):
            url = f"http://h{i % 40}.test/{i}"
            session.add(
                Article(feed_id=feed.id, guid=url, url=url, canonical_url=url, discovered_at=utcnow())
            )

    async def fake(job: ArticleJob, *args: object) -> ArchiveOutcome:
        await asyncio.sleep(0.005)  # a page's answer: outcomes finish a few ms apart
        return _archive(job, *args)

    claims = 0
    claim = Leases.claim

    def counted(self: Leases, kind: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        nonlocal claims
        claims += kind == "article" and "columns" in kwargs and len(kwargs["columns"]) > 1  # type: ignore[arg-type]
        return claim(self, kind, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("scraper.work_loop.archive_article", fake)
    monkeypatch.setattr(Leases, "claim", counted)
    config = Config(
        path=None,
        export=ExportConfig(dir=tmp_path / "_posts"),
        http=HttpConfig(concurrency=4),
        feeds=(FeedConfig("Feed", FEED_URL),),
    )
    pipeline = Pipeline(config, engine, None)  # type: ignore[arg-type]  # the fake fetches nothing
    summary = RunSummary()
    asyncio.run(pipeline.archive_pending(summary))
    assert summary.archived == 200
    assert claims <= 200 // 16  # was one claim per 8 articles with a window of concurrency x 4
    assert pipeline.recorder.group.batches < 200 // 2  # outcomes share transactions
    with session_factory(engine)() as session:  # every outcome written, none lost
        assert all(a.status == ArticleStatus.ARCHIVED for a in session.scalars(select(Article)))
    engine.dispose()
