"""Claims, renewal, release and lost leases, on SQLite and on the real PostgreSQL (scraper.store.leases).

Each test runs twice: on a SQLite file (one node; its claim transactions begin IMMEDIATE) and on a fresh
PostgreSQL schema (FOR UPDATE SKIP LOCKED), skipped with the reason when no server answers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from scraper.archive import ArchiveOutcome
from scraper.backfill.frontier import already_read, claim_document, mark_read
from scraper.config import Config, ExportConfig, FeedConfig
from scraper.extract import Record
from scraper.pipeline import Pipeline, RunSummary
from scraper.poll import FeedError
from scraper.status import feed_status_report
from scraper.store.db import session_factory, upgrade
from scraper.store.leases import Leases
from scraper.store.models import Article, ArticleStatus, BackfillDocument, Feed, Node, utcnow
from scraper.store.posts import mark_written

FEED_URL = "http://feeds.test/rss"


def config(tmp_path: Path) -> Config:
    return Config(
        path=None,
        export=ExportConfig(dir=tmp_path / "_posts"),
        feeds=(FeedConfig(name="Feed", url=FEED_URL),),
    )


def node(engine: Engine, tmp_path: Path, name: str, ttl: float = 60.0) -> Pipeline:
    """A node's pipeline (no fetcher: these tests record outcomes themselves)."""
    leases = Leases(engine, ttl=ttl, node_id=f"test-host:{name}:0")
    return Pipeline(config(tmp_path), engine, None, leases=leases)  # type: ignore[arg-type]


def add_articles(engine: Engine, urls: list[str], title: str | None = None) -> list[int]:
    now = utcnow()
    with session_factory(engine).begin() as session:
        feed = session.scalar(select(Feed).where(Feed.url == FEED_URL))
        if feed is None:
            feed = Feed(url=FEED_URL, name="Feed", failures_in_row=0)
            session.add(feed)
            session.flush()
        articles = [
            Article(
                feed_id=feed.id,
                guid=url,
                url=url,
                canonical_url=url,
                next_attempt_at=now,
                discovered_at=now,
                entry_title=title or url.rsplit("/", 1)[-1],
            )
            for url in urls
        ]
        session.add_all(articles)
        session.flush()
        return [article.id for article in articles]


def article(engine: Engine, article_id: int) -> Article:
    with session_factory(engine)() as session:
        return session.get_one(Article, article_id)


def expire(engine: Engine, model: type, key: int) -> None:
    """As if the owner had stopped renewing a while ago."""
    with session_factory(engine).begin() as session:
        session.execute(
            update(model).where(model.id == key).values(lease_expires_at=utcnow() - timedelta(seconds=5))
        )


def archived(title: str = "Title") -> ArchiveOutcome:
    html = f"<p>{title} body text.</p>"
    record = Record(
        title=title, author=None, published=None, lang="en", html=html, text=f"{title} body text."
    )
    return ArchiveOutcome(ArticleStatus.ARCHIVED, record=record, content_source="page", published=utcnow())


# --- claims -----------------------------------------------------------------------------------------------


def test_two_nodes_claim_different_articles(engine: Engine, tmp_path: Path) -> None:
    ids = add_articles(engine, [f"http://a.test/{i}" for i in range(10)])
    first, second = node(engine, tmp_path, "1"), node(engine, tmp_path, "2")
    mine = {job.article_id for job in first.claim_jobs(6)}
    theirs = {job.article_id for job in second.claim_jobs(10)}
    assert len(mine) == 6 and len(theirs) == 4
    assert mine | theirs == set(ids) and not mine & theirs
    assert first.claim_jobs(10) == [] and second.claim_jobs(10) == []  # everything is held
    assert article(engine, ids[0]).lease_owner == first.leases.node_id


def test_concurrent_claims_from_many_threads_never_overlap(engine: Engine, tmp_path: Path) -> None:
    ids = add_articles(engine, [f"http://h{i % 7}.test/{i}" for i in range(240)])
    taken: list[list[int]] = []
    errors: list[BaseException] = []

    def work(name: str) -> None:
        pipeline = node(engine, tmp_path, name)
        got: list[int] = []
        try:
            while jobs := pipeline.claim_jobs(5):
                got.extend(job.article_id for job in jobs)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        taken.append(got)

    threads = [threading.Thread(target=work, args=(str(n),)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    every = [article_id for got in taken for article_id in got]
    assert sorted(every) == sorted(ids)  # each claimed exactly once
    assert sum(1 for got in taken if got) >= 2  # the work was shared


def test_rows_another_node_takes_between_a_claims_read_and_its_lease_are_not_claimed_twice(
    engine: Engine, tmp_path: Path
) -> None:
    """A claim that picks among the rows it read locks only those it chose, as it writes their lease:
    another node may take some of them in between (it is not kept off by locks on every row read), and the
    lease then skips those, each row leased to one node."""
    if engine.dialect.name == "sqlite":
        pytest.skip("one node on SQLite: a claim's transaction is exclusive, nothing comes in between")
    ids = add_articles(engine, [f"http://h{i % 3}.test/{i}" for i in range(6)])
    first, second = node(engine, tmp_path, "1"), node(engine, tmp_path, "2")
    meanwhile: list[int] = []

    def pick(rows: list[object]) -> list[object]:  # within the first node's claim, after its read
        other = threading.Thread(target=lambda: meanwhile.extend(j.article_id for j in second.claim_jobs(2)))
        other.start()
        other.join(20)
        return rows

    rows = first.leases.claim(
        "article",
        [Article.status == ArticleStatus.PENDING],
        order_by=[Article.id],
        limit=6,
        pick=pick,
        pick_by=[Article.host],
        columns=[Article.id],
    )
    mine = {row.id for row in rows}
    assert len(meanwhile) == 2
    assert mine == set(ids) - set(meanwhile)
    assert first.leases.held("article") == mine
    assert {article(engine, i).lease_owner for i in meanwhile} == {second.leases.node_id}


def test_claims_spread_over_hosts_and_skip_hosts_held_enough(engine: Engine, tmp_path: Path) -> None:
    add_articles(engine, [f"http://big.test/{i}" for i in range(30)])  # a backlog first in the queue
    add_articles(engine, [f"http://b.test/{i}" for i in range(3)] + [f"http://c.test/{i}" for i in range(3)])
    pipeline = node(engine, tmp_path, "1")
    jobs = pipeline.claim_jobs(6, per_host=2)
    hosts = [job.url.split("/")[2] for job in jobs]
    assert Counter(hosts) == {"big.test": 2, "b.test": 2, "c.test": 2}
    assert hosts[:3] == ["big.test", "b.test", "c.test"]  # interleaved
    more = pipeline.claim_jobs(6, per_host=2, held={"big.test": 2, "b.test": 2, "c.test": 2})
    assert more == []  # every host with work is held enough: nothing more, the backlog is not taken
    more = pipeline.claim_jobs(6, per_host=3, held={"big.test": 2, "b.test": 2, "c.test": 2})
    assert Counter(job.url.split("/")[2] for job in more) == {"big.test": 1, "b.test": 1, "c.test": 1}


def test_only_due_and_pending_articles_are_claimed(engine: Engine, tmp_path: Path) -> None:
    due, later, done = add_articles(
        engine, ["http://a.test/due", "http://a.test/later", "http://a.test/done"]
    )
    with session_factory(engine).begin() as session:
        session.get_one(Article, later).next_attempt_at = utcnow() + timedelta(hours=1)
        session.get_one(Article, done).status = ArticleStatus.ARCHIVED
    assert [job.article_id for job in node(engine, tmp_path, "1").claim_jobs(10)] == [due]


# --- results, renewal, release ----------------------------------------------------------------------------


def test_a_result_is_written_only_while_the_lease_stands(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (article_id,) = add_articles(engine, ["http://a.test/1"])
    slow, other = node(engine, tmp_path, "slow", ttl=30), node(engine, tmp_path, "other")
    (job,) = slow.claim_jobs(1)
    expire(engine, Article, article_id)  # the slow node stopped renewing (paused, cut off)
    (taken,) = other.claim_jobs(1)
    assert taken.article_id == article_id

    summary = RunSummary()
    with caplog.at_level(logging.WARNING, logger="scraper.store.leases"):
        slow.record_outcome(job, archived("Late"), summary)
    assert summary.lost == 1 and summary.archived == 0
    assert "lease lost" in caplog.text and "discarded" in caplog.text
    row = article(engine, article_id)
    assert row.status == ArticleStatus.PENDING and row.attempts == 0 and row.title is None
    assert row.lease_owner == other.leases.node_id
    assert article_id not in slow.leases.held("article")

    summary = RunSummary()
    other.record_outcome(taken, archived("On time"), summary)
    row = article(engine, article_id)
    assert summary.archived == 1 and row.status == ArticleStatus.ARCHIVED and row.attempts == 1
    assert row.lease_owner == other.leases.node_id  # kept: this node writes the post next


def test_a_failed_fetch_releases_the_lease_and_an_archived_one_keeps_it_for_the_post(
    engine: Engine, tmp_path: Path
) -> None:
    failing, fine = add_articles(engine, ["http://a.test/gone", "http://a.test/fine"])
    pipeline = node(engine, tmp_path, "1")
    jobs = {job.article_id: job for job in pipeline.claim_jobs(2)}
    summary = RunSummary()
    pipeline.record_outcome(jobs[failing], ArchiveOutcome(ArticleStatus.GONE, "HTTP 404"), summary)
    pipeline.record_outcome(jobs[fine], archived(), summary)
    assert article(engine, failing).lease_owner is None and article(engine, failing).status == "gone"
    assert article(engine, fine).lease_owner == pipeline.leases.node_id
    assert pipeline.leases.held("article") == {fine}

    pipeline.export_unwritten(summary)
    row = article(engine, fine)
    assert summary.posts_written == 1 and row.lease_owner is None and row.post_path
    assert (tmp_path / "_posts" / row.post_path).read_text(encoding="utf-8").endswith("</div>\n")
    assert pipeline.leases.held("article") == set()


def test_renew_pushes_the_expiry_back_and_reports_leases_lost(engine: Engine, tmp_path: Path) -> None:
    kept, lost = add_articles(engine, ["http://a.test/kept", "http://a.test/lost"])
    first, second = node(engine, tmp_path, "1", ttl=30), node(engine, tmp_path, "2")
    first.claim_jobs(2)
    before = article(engine, kept).lease_expires_at
    expire(engine, Article, lost)
    second.claim_jobs(2)  # takes the expired one
    assert first.leases.renew() == {"article": [lost]}
    after = article(engine, kept).lease_expires_at
    assert before is not None and after is not None and after >= before
    assert first.leases.held("article") == {kept}
    assert article(engine, lost).lease_owner == second.leases.node_id


def test_release_frees_at_once_and_leave_gives_everything_back(engine: Engine, tmp_path: Path) -> None:
    ids = add_articles(engine, [f"http://a.test/{i}" for i in range(4)])
    first, second = node(engine, tmp_path, "1"), node(engine, tmp_path, "2")
    first.leases.join("test")
    claimed = [job.article_id for job in first.claim_jobs(4)]
    first.leases.release("article", claimed[:2])
    assert {job.article_id for job in second.claim_jobs(4)} == set(claimed[:2])
    second.leases.release("article", claimed[:2])
    first.leases.leave()
    assert {job.article_id for job in second.claim_jobs(4)} == set(ids)
    with session_factory(engine)() as session:  # kept, marked stopped, for `status`
        node_row = session.get(Node, first.leases.node_id)
        assert node_row is not None and node_row.stopped_at is not None


def test_feed_claims_and_a_lost_feed_lease(engine: Engine, tmp_path: Path) -> None:
    first, second = node(engine, tmp_path, "1"), node(engine, tmp_path, "2")
    first.sync_feeds()
    (feed,) = first.feeds_to_poll(due_only=True)
    assert second.feeds_to_poll(due_only=True) == []  # being polled by the first node
    expire(engine, Feed, feed.id)
    (again,) = second.feeds_to_poll(due_only=True)

    summary = RunSummary()
    first.record_poll(feed, FeedError("late failure"), summary)
    assert summary.lost == 1 and summary.feeds_failed == 0
    with session_factory(engine)() as session:
        row = session.get_one(Feed, feed.id)
        assert row.failures_in_row == 0 and row.lease_owner == second.leases.node_id

    second.record_poll(again, FeedError("timed out"), summary)
    with session_factory(engine)() as session:
        row = session.get_one(Feed, feed.id)
        assert row.failures_in_row == 1 and row.lease_owner is None and row.next_poll_at is not None


# --- posts ------------------------------------------------------------------------------------------------


def test_two_nodes_exporting_same_named_posts_never_share_a_file(engine: Engine, tmp_path: Path) -> None:
    ids = add_articles(engine, ["http://a.test/1", "http://b.test/2"], title="Same title")
    first, second = node(engine, tmp_path, "1"), node(engine, tmp_path, "2")
    for pipeline, article_id in ((first, ids[0]), (second, ids[1])):
        (job,) = pipeline.claim_jobs(1)
        assert job.article_id == article_id
        pipeline.record_outcome(job, archived("Same title"), RunSummary())
    # Each node writes the post of what it archived; neither touches the other's.
    summaries = [RunSummary(), RunSummary()]
    second.export_unwritten(summaries[1])
    first.export_unwritten(summaries[0])
    assert [summary.posts_written for summary in summaries] == [1, 1]
    paths = {article_id: article(engine, article_id).post_path for article_id in ids}
    assert len(set(paths.values())) == 2
    for article_id, path in paths.items():
        assert path is not None
        text = (tmp_path / "_posts" / path).read_text(encoding="utf-8")
        assert f"from: {article(engine, article_id).canonical_url}" in text


def test_a_post_left_by_a_dead_node_is_written_by_another_after_expiry(
    engine: Engine, tmp_path: Path
) -> None:
    (article_id,) = add_articles(engine, ["http://a.test/orphan"])
    dead, alive = node(engine, tmp_path, "dead"), node(engine, tmp_path, "alive")
    (job,) = dead.claim_jobs(1)
    dead.record_outcome(job, archived("Orphan"), RunSummary())  # archived, then killed before the post
    summary = RunSummary()
    alive.export_unwritten(summary)
    assert summary.posts_written == 0  # the archiving node's lease still stands
    expire(engine, Article, article_id)
    alive.export_unwritten(summary)
    assert summary.posts_written == 1 and article(engine, article_id).lease_owner is None


def test_marking_posts_written_touches_only_the_articles_this_node_still_holds(engine: Engine) -> None:
    """The lock and the write are one statement now: still only this node's leases are marked and released,
    never another node's, nor an article nobody holds."""
    mine, theirs, nobody = add_articles(engine, ["http://a.test/m", "http://a.test/t", "http://a.test/n"])
    leases = Leases(engine, ttl=60, node_id="test-host:me:0")
    with session_factory(engine).begin() as session:
        until = utcnow() + timedelta(minutes=1)
        for article_id, owner in ((mine, leases.node_id), (theirs, "test-host:other:0")):
            session.execute(
                update(Article)
                .where(Article.id == article_id)
                .values(lease_owner=owner, lease_expires_at=until, status=ArticleStatus.ARCHIVED)
            )
    with leases.sessions.begin() as session:
        mark_written(session, leases, [nobody, theirs, mine])
    marked = {i: article(engine, i) for i in (mine, theirs, nobody)}
    assert marked[mine].post_written_at is not None and marked[mine].lease_owner is None
    assert marked[theirs].post_written_at is None and marked[theirs].lease_owner == "test-host:other:0"
    assert marked[nobody].post_written_at is None and marked[nobody].lease_owner is None


# --- nodes ------------------------------------------------------------------------------------------------


def test_join_frees_the_leases_of_a_dead_process_and_status_shows_the_nodes(
    engine: Engine, tmp_path: Path
) -> None:
    add_articles(engine, [f"http://a.test/{i}" for i in range(5)])
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(finished.stdout)
    dead = node(engine, tmp_path, str(dead_pid))
    dead.leases.node_id = f"test-host:{dead_pid}:dead"
    dead.leases.join("run")
    dead.claim_jobs(3)

    alive = node(engine, tmp_path, "1")
    alive.leases.node_id = f"test-host:{os.getpid()}:live"
    alive.leases.join("run")
    # Its earlier life on this host is dead: its 3 leases are free at once (on SQLite: every lease).
    assert len(alive.claim_jobs(10)) == 5
    alive.sync_feeds()
    alive.feeds_to_poll(due_only=False)

    report = feed_status_report(engine, lease_seconds=60)
    assert "nodes" in report and alive.leases.node_id in report
    line = next(line for line in report.splitlines() if alive.leases.node_id in line)
    assert "live" in line and " 1 " in line and " 5 " in line  # 1 feed, 5 articles held
    assert dead.leases.node_id not in report


def test_live_nodes_divide_the_per_host_claims(engine: Engine, tmp_path: Path) -> None:
    first, second = node(engine, tmp_path, "1"), node(engine, tmp_path, "2")
    first.leases.join("run")
    assert first.claims_per_host() == 4  # two per host slot, per_host_concurrency 2
    second.leases.join("run")
    assert first.leases.beat() == 2
    assert first.claims_per_host() == 2  # each node now has one of the host's two slots


def test_migrations_run_once_when_nodes_start_together(postgres_engine: Engine) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            upgrade(postgres_engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    with session_factory(postgres_engine)() as session:
        assert session.scalars(select(Node)).all() == []  # the schema is there and usable


# --- backfill documents ----------------------------------------------------------------------------------


def test_a_backfill_document_is_read_by_one_node(engine: Engine, tmp_path: Path) -> None:
    first, second = node(engine, tmp_path, "1").leases, node(engine, tmp_path, "2").leases
    url = "http://a.test/sitemap-1.xml"
    claim = claim_document(first, url, "sitemap", "p")
    assert claim is not None
    assert claim_document(second, url, "sitemap", "p") is None  # the first node is reading it
    with session_factory(engine)() as session:
        assert already_read(session, url, "p") is None  # claimed is not read

    expire(engine, BackfillDocument, claim)  # the first node died while reading it
    assert claim_document(second, url, "sitemap", "p") == claim
    with session_factory(engine).begin() as session:
        mark_read(session, url, "sitemap", "p", urls_found=3, leases=first)  # too late: discarded
    with session_factory(engine)() as session:
        assert already_read(session, url, "p") is None
    with session_factory(engine).begin() as session:
        mark_read(session, url, "sitemap", "p", urls_found=3, leases=second)
    with session_factory(engine)() as session:
        entry = already_read(session, url, "p")
        assert entry is not None and entry.urls_found == 3 and entry.lease_owner is None


# --- outcomes recorded a batch per transaction ------------------------------------------------------------


def test_a_batch_of_outcomes_is_written_in_one_go_and_a_lost_lease_costs_only_its_own(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ids = add_articles(engine, [f"http://a.test/{n}" for n in range(4)], title="Same title")
    pipeline = node(engine, tmp_path, "1")
    jobs = {job.article_id: job for job in pipeline.claim_jobs(4)}
    expire(engine, Article, ids[3])
    (taken,) = node(engine, tmp_path, "2").claim_jobs(1)  # another node has the fourth now
    assert taken.article_id == ids[3]

    items = [
        (jobs[ids[0]], archived("Same title")),
        (jobs[ids[1]], archived("Same title")),
        (jobs[ids[2]], ArchiveOutcome(ArticleStatus.PENDING, "HTTP 503", transient=True, http_status=503)),
        (jobs[ids[3]], archived("Same title")),
    ]
    summaries = [RunSummary() for _ in items]
    with caplog.at_level(logging.WARNING, logger="scraper.store.leases"):
        posts = pipeline.record_outcomes(items, summaries)

    assert [s.archived for s in summaries] == [1, 1, 0, 0]
    assert summaries[2].retrying == 1 and summaries[3].lost == 1 and "lease lost" in caplog.text
    first, second = (post.path for post in posts[:2] if post is not None)
    assert first != second and second.endswith("-2.md")  # two posts of one name in one batch
    assert posts[2] is None and posts[3] is None
    rows = [article(engine, article_id) for article_id in ids]
    assert [row.status for row in rows] == ["archived", "archived", "pending", "pending"]
    assert [row.attempts for row in rows] == [1, 1, 1, 0]
    assert rows[0].lease_owner == rows[1].lease_owner == pipeline.leases.node_id  # kept for the posts
    assert rows[2].lease_owner is None and rows[2].next_attempt_at is not None
    assert rows[3].lease_owner == "test-host:2:0" and rows[3].title is None  # untouched
    assert pipeline.leases.held("article") == {ids[0], ids[1]}


def test_a_post_name_taken_meanwhile_sends_the_batch_one_by_one(engine: Engine, tmp_path: Path) -> None:
    ids = add_articles(engine, ["http://a.test/1", "http://a.test/2"], title="Taken")
    pipeline = node(engine, tmp_path, "1")
    jobs = pipeline.claim_jobs(2)
    name = f"{utcnow():%Y-%m-%d}-Taken.md"
    other = add_articles(engine, ["http://a.test/other"])[0]
    with session_factory(engine).begin() as session:  # another article reserved the name a moment ago
        session.execute(update(Article).where(Article.id == other).values(post_path=name))

    posts = pipeline.record_outcomes([(job, archived("Taken")) for job in jobs], [RunSummary(), RunSummary()])
    paths = sorted(post.path for post in posts if post is not None)
    assert len(paths) == 2 and name not in paths
    assert {article(engine, article_id).post_path for article_id in ids} == set(paths)


def test_the_heartbeat_is_not_queued_behind_a_busy_default_pool(engine: Engine, tmp_path: Path) -> None:
    """Claims, outcome batches and polls' writes share asyncio's default thread pool; the heartbeat has its
    own thread, so a pool held up by a slow database does not keep the leases from being renewed."""
    leases = node(engine, tmp_path, "1").leases
    leases.join("run")
    [article_id] = add_articles(engine, ["https://example.com/held"])
    with session_factory(leases.writes).begin() as session:
        assert leases.claim_one(session, "article", article_id)
    release = threading.Event()

    async def scenario() -> tuple[int, str]:
        loop = asyncio.get_running_loop()
        # More blocked jobs than the default pool has threads (at most 32): it runs nothing else.
        tasks = [asyncio.ensure_future(asyncio.to_thread(release.wait)) for _ in range(40)]
        try:
            live = await asyncio.wait_for(leases.beat_apart(), timeout=60)
            thread = await asyncio.wait_for(
                loop.run_in_executor(leases._beats, lambda: threading.current_thread().name), timeout=60
            )
        finally:
            release.set()
            await asyncio.gather(*tasks)
        return live, thread

    live, thread = asyncio.run(scenario())
    assert live == 1 and thread.startswith("heartbeat")
    assert leases.held("article") == frozenset({article_id})
    leases.leave()
