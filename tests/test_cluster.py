"""Several `scraper run` processes on one PostgreSQL: every article archived exactly once, none lost, also
when one of them is killed with SIGKILL in the middle of the work (docs/architecture.md, invariants 1 and 2).

A local site (127.0.0.1) serves 50 feeds of 20 entries each: 1,000 article pages, each answering after a
few milliseconds, so there is always work in flight. Three daemons share one PostgreSQL schema and one
posts folder (as nodes share a volume). Leases are short (3 s) so a dead node's work is taken over quickly.
Skipped, saying why, without a PostgreSQL server.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, func, select, text
from werkzeug import Request
from werkzeug import Response as WResponse

from scraper.store.db import session_factory, upgrade
from scraper.store.models import Article, ArticleStatus
from tests.conftest import POSTGRES_URL, run_cli, write_config
from tests.daemon_helpers import DaemonProcess, wait_for
from tests.local_servers import httpserver_on

FEEDS, PER_FEED = 50, 20
ARTICLES = FEEDS * PER_FEED
PAGE_DELAY = 0.005  # seconds before a page answers


class ClusterSite:
    """`/feed/N.xml` lists `/a/N/M` for M < PER_FEED; every page request is counted."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        # Past `hold_after` page requests, each further page waits until `gate` opens: the nodes are then
        # caught with fetches in flight, whatever the machine's speed.
        self.hold_after: int | None = None
        self.gate = threading.Event()
        server.expect_request(re.compile(r"^/feed/\d+\.xml$")).respond_with_handler(self._feed)
        server.expect_request(re.compile(r"^/a/\d+/\d+$")).respond_with_handler(self._page)

    def feed_url(self, n: int) -> str:
        return self.server.url_for(f"/feed/{n}.xml")

    def _feed(self, request: Request) -> WResponse:
        n = int(request.path.rsplit("/", 1)[1].split(".")[0])
        base = self.server.url_for("").rstrip("/")
        items = "".join(
            f"<item><title>Story {n}-{m}</title><link>{base}/a/{n}/{m}</link><guid>{n}-{m}</guid>"
            f"<pubDate>Wed, 01 May 2024 08:{m:02d}:00 GMT</pubDate></item>"
            for m in range(PER_FEED)
        )
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>F{n}</title>{items}</channel></rss>'
        return WResponse(body, content_type="application/rss+xml; charset=utf-8")

    def _page(self, request: Request) -> WResponse:
        with self.lock:
            self.hits[request.path] += 1
            held = self.hold_after is not None and self.hits.total() > self.hold_after
        if held:
            self.gate.wait(30)
        time.sleep(PAGE_DELAY)
        _, _, n, m = request.path.split("/")
        words = " ".join(f"word{i}" for i in range(40))
        body = (
            f"<html><head><title>Story {n}-{m}</title></head><body><article><h1>Story {n}-{m}</h1>"
            f"<p>Story {n}-{m}: {words}.</p><p>Second paragraph.</p></article></body></html>"
        )
        return WResponse(body, content_type="text/html; charset=utf-8")


@pytest.fixture
def site() -> Iterator[ClusterSite]:
    with httpserver_on() as server:
        yield ClusterSite(server)


def database_url(engine: Engine) -> str:
    """The test schema as a URL a subprocess can use."""
    with engine.connect() as connection:
        schema = connection.execute(text("select current_schema()")).scalar()
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def start_cluster(
    tmp_path: Path, site: ClusterSite, engine: Engine, daemons: list[DaemonProcess], nodes: int = 3
) -> dict[str, str]:
    config = write_config(
        tmp_path,
        [{"name": f"F{n}", "url": site.feed_url(n), "interval": 2} for n in range(FEEDS)],
        http={"concurrency": 8, "per_host_concurrency": 24, "timeout": 10},
        daemon={"listen": "127.0.0.1:0", "tick_seconds": 0.2, "grace_seconds": 5},
        cluster={"lease_seconds": 3},
    )
    env = {"SCRAPER_DATABASE_URL": database_url(engine)}
    upgrade(engine)  # as `scraper db upgrade` before the first start (concurrent starts are tested apart)
    started = [DaemonProcess(config, env=env, wait=False) for _ in range(nodes)]
    daemons.extend(started)
    for daemon in started:
        daemon.wait_started()
    return env


def progress(engine: Engine) -> tuple[int, int]:
    """(archived articles, archived articles whose post is written and whose lease is released)."""
    with session_factory(engine)() as session:
        archived = session.scalar(
            select(func.count()).select_from(Article).where(Article.status == ArticleStatus.ARCHIVED)
        )
        written = session.scalar(
            select(func.count())
            .select_from(Article)
            .where(Article.post_written_at.is_not(None), Article.lease_owner.is_(None))
        )
    return archived or 0, written or 0


def wait_for_everything(engine: Engine, daemons: list[DaemonProcess]) -> None:
    """Every article archived and its post written; on a timeout, say what is missing and what the nodes
    logged about it."""
    try:
        wait_for(lambda: progress(engine) == (ARTICLES, ARTICLES), 60, "every article and its post")
    except AssertionError as exc:
        with session_factory(engine)() as session:
            state = session.execute(
                select(
                    Article.status, Article.lease_owner, Article.post_written_at.is_(None), func.count()
                ).group_by(Article.status, Article.lease_owner, Article.post_written_at.is_(None))
            ).all()
        logs = [
            line
            for daemon in daemons
            for line in daemon.log().splitlines()
            if "ERROR" in line or "WARN" in line
        ]
        raise AssertionError(f"{exc}: {progress(engine)}; {state}; {logs[-20:]}") from None


def assert_each_archived_once(engine: Engine, posts: Path) -> None:
    """1,000 rows, each archived by one fetch, each with one whole post file of its own."""
    with session_factory(engine)() as session:
        rows = session.scalars(select(Article)).all()
    assert len(rows) == ARTICLES
    assert Counter(row.status for row in rows) == {ArticleStatus.ARCHIVED: ARTICLES}
    assert Counter(row.attempts for row in rows) == {1: ARTICLES}  # no result recorded twice
    assert all(row.lease_owner is None for row in rows)
    files = sorted(posts.glob("*.md"))
    assert len(files) == ARTICLES and {row.post_path for row in rows} == {f.name for f in files}
    sources = Counter()
    for file in files:
        content = file.read_text(encoding="utf-8")
        assert content.startswith("---\n") and content.endswith("</div>\n")  # whole
        sources[re.search(r"^from: (.+)$", content, re.M)[1]] += 1  # type: ignore[index]
    assert sources == Counter({row.canonical_url: 1 for row in rows})


def test_three_nodes_archive_every_article_exactly_once(
    site: ClusterSite, postgres_engine: Engine, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    env = start_cluster(tmp_path, site, postgres_engine, daemons)
    wait_for(lambda: progress(postgres_engine)[0] >= 100, 30, "the first 100 articles")
    status = run_cli("status", "--config", str(tmp_path / "scraper.toml"), env=env)
    assert status.exit_code == 0, status.output
    assert sum(" live " in line and " run " in line for line in status.output.splitlines()) == 3

    wait_for_everything(postgres_engine, daemons)
    for daemon in daemons:
        assert daemon.stop() == 0, daemon.log()

    assert_each_archived_once(postgres_engine, tmp_path / "_posts")
    assert sorted(site.hits.values()) == [1] * ARTICLES  # each page fetched once, by one node
    shares = [daemon.log().count("archived (page)") for daemon in daemons]
    assert sum(shares) == ARTICLES and all(share > 0 for share in shares), shares
    assert "lease lost" not in "".join(daemon.log() for daemon in daemons)


def test_a_node_killed_in_the_middle_loses_nothing(
    site: ClusterSite, postgres_engine: Engine, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    site.hold_after = ARTICLES // 4  # then the pages wait: every node is caught holding what it fetches
    start_cluster(tmp_path, site, postgres_engine, daemons)
    victim = daemons[0]
    victim_id = re.search(r"node (\S+) \(\d+ live\)", victim.log())[1]  # type: ignore[index]

    def victims_leases() -> int:
        with session_factory(postgres_engine)() as session:
            return (
                session.scalar(
                    select(func.count()).select_from(Article).where(Article.lease_owner == victim_id)
                )
                or 0
            )

    wait_for(lambda: site.hits.total() > ARTICLES // 4 and victims_leases() > 0, 30, "the victim mid-fetch")
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(10)
    held = victims_leases()
    killed_at = time.monotonic()
    site.gate.set()
    assert held, "the killed node held no article: the test killed it too late to mean anything"

    wait_for_everything(postgres_engine, daemons)
    took = time.monotonic() - killed_at
    assert took >= 1.5  # its leases had to expire first (3 s after its last renewal)
    for daemon in daemons[1:]:
        assert daemon.stop() == 0, daemon.log()

    assert_each_archived_once(postgres_engine, tmp_path / "_posts")
    refetched = sum(count - 1 for count in site.hits.values())
    assert len(site.hits) == ARTICLES and refetched <= held  # only what the dead node had in hand


def test_two_backfills_on_one_postgresql_share_the_urls(
    site: ClusterSite, postgres_engine: Engine, tmp_path: Path
) -> None:
    """`scraper backfill` takes no lock on PostgreSQL: two at once share the queue, each page fetched once."""
    urls = [site.server.url_for(f"/a/{n}/{m}") for n in range(10) for m in range(PER_FEED)]
    (tmp_path / "urls.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")
    config = write_config(tmp_path, [], cluster={"lease_seconds": 3})
    upgrade(postgres_engine)
    env = {**os.environ, "SCRAPER_DATABASE_URL": database_url(postgres_engine), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "scraper", "backfill", "--config", str(config), "--urls", "urls.txt"]
    runs = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    shares = [int(re.search(rb"archived (\d+)", out)[1]) for out, _ in outputs]  # type: ignore[index]
    assert sum(shares) == len(urls)  # what one archived, the other did not

    with session_factory(postgres_engine)() as session:
        rows = session.scalars(select(Article)).all()
    assert len(rows) == len(urls) and {row.status for row in rows} == {ArticleStatus.ARCHIVED}
    assert {row.attempts for row in rows} == {1} and all(row.post_written_at for row in rows)
    assert sorted(site.hits.values()) == [1] * len(urls)  # every page fetched once, by one of the two
    assert len(list((tmp_path / "_posts").glob("*.md"))) == len(urls)
