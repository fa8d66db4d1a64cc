"""The one work loop and the one recorder: a unit that raises is recorded failed, with its reason, once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from scraper.archive import ArchiveOutcome, ArticleJob
from scraper.config import Config, ExportConfig, FeedConfig
from scraper.extract import Record
from scraper.pipeline import Pipeline, RunSummary
from scraper.store.db import make_engine, session_factory, upgrade
from scraper.store.models import Article, ArticleStatus, Feed, utcnow

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
