"""The daemon's parts in-process: the listener's routes, the health verdict, log formats, the run lock."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from filelock import FileLock
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Engine

from scraper.config import load_config
from scraper.daemon import Daemon
from scraper.errors import LockHeldError
from scraper.listener import Listener
from scraper.logs import ContextFilter, JsonFormatter, TextFormatter, logging_about
from scraper.metrics import Metrics
from scraper.poll import FeedEntry
from scraper.queue import enqueue_entries
from scraper.store.db import make_engine, session_factory, upgrade
from scraper.store.models import Feed, utcnow
from scraper.store.runlock import run_lock, sqlite_lock_path
from tests.conftest import run_cli, write_config


def test_listener_routes_health_and_metrics() -> None:
    registry = CollectorRegistry()
    Counter("demo_things", "Things.", registry=registry).inc(3)
    verdict = {"healthy": True}

    def health() -> tuple[bool, dict[str, object]]:
        if verdict["healthy"]:
            return True, {"scheduler": "running"}
        return False, {"reasons": ["database unreachable: boom"]}

    listener = Listener("127.0.0.1:0", registry, health)
    listener.start()
    try:
        with httpx.Client(base_url=listener.url, trust_env=False, timeout=5) as client:
            ok = client.get("/healthz")
            assert ok.status_code == 200 and ok.json() == {"status": "ok", "scheduler": "running"}
            verdict["healthy"] = False
            bad = client.get("/healthz")
            assert bad.status_code == 503
            assert bad.json() == {"status": "unhealthy", "reasons": ["database unreachable: boom"]}
            assert "demo_things_total 3.0" in client.get("/metrics").text
            assert client.get("/elsewhere").status_code == 404
    finally:
        listener.stop()


def test_two_metrics_objects_do_not_share_state() -> None:
    first, second = Metrics(), Metrics()
    first.posts_written.inc(5)
    assert first.registry.get_sample_value("scraper_posts_written_total") == 5
    assert second.registry.get_sample_value("scraper_posts_written_total") == 0


def test_health_says_why_it_is_unhealthy(tmp_path: Path) -> None:
    path = write_config(tmp_path, [])
    daemon = Daemon(load_config(path, env={"SCRAPER_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}))
    healthy, details = daemon.health()
    assert not healthy
    assert details["reasons"][0] == "scheduler not running"
    assert details["reasons"][1].startswith("database unreachable: OperationalError")
    daemon.engine.dispose()


def test_database_metrics_report_a_dead_database_as_down(tmp_path: Path) -> None:
    path = write_config(tmp_path, [])
    daemon = Daemon(load_config(path, env={"SCRAPER_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}))
    assert daemon.metrics.registry.get_sample_value("scraper_database_up") == 0
    daemon.engine.dispose()


def test_database_metrics_count_the_queue(tmp_path: Path) -> None:
    path = write_config(tmp_path, [{"name": "F", "url": "https://example.org/f.xml"}])
    daemon = Daemon(load_config(path, env={}))
    upgrade(daemon.engine)
    with session_factory(daemon.engine).begin() as session:
        feed = Feed(url="https://example.org/f.xml", name="F", enabled=True, failures_in_row=2)
        session.add(feed)
        session.flush()
        entries = [
            FeedEntry(guid=g, link=f"https://example.org/{g}", title=g, author=None, published=None,
                      content_html=None, summary=None)
            for g in ("a", "b")
        ]  # fmt: skip
        enqueue_entries(session, feed.id, entries, utcnow())
    registry = daemon.metrics.registry
    assert registry.get_sample_value("scraper_database_up") == 1
    assert registry.get_sample_value("scraper_queue_depth", {"state": "due"}) == 2
    assert registry.get_sample_value("scraper_articles", {"status": "pending"}) == 2
    assert registry.get_sample_value("scraper_feed_failures_in_row", {"feed": "F"}) == 2
    assert 0 <= registry.get_sample_value("scraper_feed_seconds_since_success", {"feed": "F"}) < 60
    daemon.engine.dispose()


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "scraper.test", "levelname": "INFO", "msg": message, **extra})
    ContextFilter().filter(record)
    return record


def test_log_lines_name_the_feed_or_article_they_are_about() -> None:
    with logging_about(feed="联合早报", feed_url="https://example.org/f.xml"):
        inside = _record("poll failed: HTTP 500")
        with logging_about(article="https://example.org/a", article_id=7):
            nested = _record("timed out")
    outside = _record("wrote 3 posts")

    text = TextFormatter()
    assert text.format(inside).endswith("poll failed: HTTP 500 [feed=联合早报]")
    assert text.format(nested).endswith("timed out [feed=联合早报 article=https://example.org/a]")
    assert text.format(outside).endswith("wrote 3 posts")
    named = _record("feed %s: 3 entries", args=None)
    named.msg, named.feed = "feed 联合早报: 3 entries", "联合早报"
    assert text.format(named).endswith("feed 联合早报: 3 entries")  # already named: no repeat

    line = json.loads(JsonFormatter().format(nested))
    assert line["message"] == "timed out" and line["level"] == "info" and line["logger"] == "scraper.test"
    assert (line["feed"], line["article"], line["article_id"]) == ("联合早报", "https://example.org/a", 7)
    assert "feed" not in json.loads(JsonFormatter().format(outside))
    explicit = _record("by hand", feed="Other")
    assert json.loads(JsonFormatter().format(explicit))["feed"] == "Other"


def test_once_says_so_and_exits_0_when_another_run_holds_the_lock(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "F", "url": "https://example.org/f.xml"}])
    lock_path = tmp_path / "archive.db.lock"
    assert sqlite_lock_path(make_engine(f"sqlite:///{tmp_path / 'archive.db'}")) == lock_path
    with FileLock(lock_path, timeout=0):
        result = run_cli("once", "--config", str(config))
    assert result.exit_code == 0
    assert f"another scraper run holds the lock {lock_path}" in result.output
    assert not (tmp_path / "archive.db").exists()  # it did nothing, not even the migrations


def test_file_lock_is_released_after_the_run(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    with run_lock(engine), pytest.raises(LockHeldError, match=r"archive\.db\.lock"), run_lock(engine):
        pass
    with run_lock(engine):  # free again
        pass
    engine.dispose()


def test_postgres_advisory_lock_keeps_a_second_run_out(postgres_engine: Engine) -> None:
    with run_lock(postgres_engine):
        with pytest.raises(LockHeldError, match="PostgreSQL advisory lock"), run_lock(postgres_engine):
            pass
        with run_lock(postgres_engine, advisory=False):  # daemons on several nodes share PostgreSQL
            pass
    with run_lock(postgres_engine):  # released, and not left behind on a pooled connection
        pass


def test_a_job_survives_a_database_outage_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    from sqlalchemy.exc import OperationalError

    daemon = Daemon(load_config(write_config(tmp_path, []), env={}))

    async def outage() -> None:
        raise OperationalError("select 1", {}, Exception("server closed the connection"))

    with caplog.at_level(logging.ERROR, logger="scraper.daemon"):
        asyncio.run(daemon._job("poll", outage))
    (record,) = caplog.records
    assert record.getMessage().startswith("poll job: database error, trying again in 5 s")
    assert record.exc_info is None  # a line, not a traceback every tick
    assert daemon.metrics.registry.get_sample_value("scraper_unexpected_errors_total", {"kind": "poll"}) == 1
    daemon.engine.dispose()


def test_wakes_are_coalesced_a_job_woken_while_it_runs_runs_once_more() -> None:
    """Every finished article may wake the archive job: wakes while it is idle start one run (beside the
    scheduler, whose job store they do not touch), and wakes that come while the job runs make one more
    run, not one each."""
    import asyncio

    from scraper.daemon_jobs import JobRunner

    async def main() -> tuple[int, int]:
        runs = 0
        release = asyncio.Event()

        async def job() -> None:
            nonlocal runs
            runs += 1
            if runs == 1:
                await release.wait()

        async def beat() -> None:
            return None

        runner = JobRunner(
            3600.0, Counter("errors", "e", ["job"], registry=CollectorRegistry()), lambda: False
        )
        reschedules = 0
        modify = runner.scheduler.modify_job
        woken_runs = 0
        run_woken = runner._run_woken

        def counted(*args: object, **kwargs: object) -> object:
            nonlocal reschedules
            reschedules += 1
            return modify(*args, **kwargs)  # type: ignore[arg-type]

        def counted_wake(job_id: str) -> None:
            nonlocal woken_runs
            woken_runs += 1
            run_woken(job_id)

        runner.scheduler.modify_job = counted  # type: ignore[method-assign]
        runner._run_woken = counted_wake  # type: ignore[method-assign]
        runner.start([("archive", job)], beat, 3600.0)
        for _ in range(50):
            await asyncio.sleep(0.01)
            if runs:
                break
        for _ in range(20):  # while the first run waits
            runner.wake("archive")
        release.set()
        for _ in range(100):
            await asyncio.sleep(0.01)
            if runs >= 2:
                break
        await asyncio.sleep(0.1)
        for _ in range(20):
            runner.wake("archive")
        for _ in range(100):
            await asyncio.sleep(0.01)
            if runs >= 3:
                break
        await asyncio.sleep(0.1)
        runner.shutdown()
        return runs, reschedules, woken_runs

    runs, reschedules, woken_runs = asyncio.run(main())
    assert runs == 3  # the first, once more for the 20 wakes during it, once for the 20 wakes after
    assert woken_runs == 1  # the 20 wakes while idle start one run
    assert reschedules == 0  # and never touch the scheduler's job store


def test_a_dry_claim_rests_the_ticks_but_not_a_wake(monkeypatch: pytest.MonkeyPatch) -> None:
    """An idle node with a short tick does not pay a claim per job per tick: after a claim that found
    nothing, ticks skip the claim for DRY_CLAIM_SECONDS; a wake (news for the job) claims at once, and a
    claim that found work never rests."""
    import asyncio

    from scraper import daemon_jobs
    from scraper.daemon_jobs import DRY_CLAIM_SECONDS, JobRunner

    now = [1000.0]
    monkeypatch.setattr(daemon_jobs.time, "monotonic", lambda: now[0])

    async def main() -> list[bool]:
        async def job() -> None:
            return None

        runner = JobRunner(
            3600.0, Counter("errors", "e", ["job"], registry=CollectorRegistry()), lambda: False
        )
        runner.start([("archive", job)], job, 3600.0)
        seen = [runner.resting("archive")]  # never claimed: claims
        runner.claimed("archive", 0)
        seen.append(runner.resting("archive"))  # dry a moment ago: rests
        runner.wake("archive")
        seen += [runner.resting("archive"), runner.resting("archive")]  # the wake claims, once
        now[0] += DRY_CLAIM_SECONDS + 0.1
        seen.append(runner.resting("archive"))  # rested long enough
        runner.claimed("archive", 5)
        seen.append(runner.resting("archive"))  # found work: claims again on the next tick
        runner.shutdown()
        return seen

    assert asyncio.run(main()) == [False, True, False, True, False, False]
