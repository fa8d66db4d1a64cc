"""A `scraper once` with nothing new (issue 15): its poll round and its checks that nothing else is due are
Core statements, so it never imports the ORM, the post writer or the archive stages; when there is work,
they load and do it. Checked on the modules a run loads and on the rows it leaves, never on a clock.

The Core halves of the store (the feed sync, `nothing_due`) are checked on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, update

from scraper.config import FeedConfig
from scraper.store import feeds as feed_rows
from scraper.store.db import make_engine, upgrade
from scraper.store.tables import ArticleStatus, articles, feeds, utcnow
from scraper.store.work_due import nothing_due
from tests.conftest import run_cli
from tests.local_servers import handler_server
from tests.test_cli import _loaded, _modules_loaded_by

# What a run with nothing new must not import: the ORM and the mapped classes, the archive and export
# stages, the export folder's walker (YAML), filelock (the SQLite run lock is a flock), and on SQLite the
# PostgreSQL dialect; nor what only a written post, a fetched page or a capture needs: the export target
# (its module, the post's dataclasses, the date parser and the record under the sanitizer), robots.txt's
# cache, the capture's exchange, and the status command's report queries.
NOT_ON_A_QUIET_RUN = (
    "sqlalchemy.orm",
    "sqlalchemy.dialects.postgresql",
    "scraper.store.models",
    "scraper.work_loop",
    "scraper.claims",
    "scraper.outcome_recorder",
    "scraper.export.writer",
    "scraper.post_adopt",
    "scraper.queue",
    "yaml",
    "filelock",
    "charset_normalizer",  # nothing to decode in a 304
    "protego",  # robots.txt answered 404: no rules to parse
    "scraper.export.jekyll",
    "scraper.export.target",
    "scraper.extract.dates",
    "scraper.extract.record",
    "scraper.robots",
    "scraper.capture.exchange",
    "scraper.store.reports",
)


class _Site(BaseHTTPRequestHandler):
    """One RSS feed of two stories with an ETag (304 when it is sent back), and the stories' pages."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        if self.path == "/feed.xml":
            if self.headers.get("If-None-Match") == '"v1"':
                self._answer(304, b"", "application/rss+xml")
                return
            items = "".join(
                f"<item><title>Story {n}</title><link>http://127.0.0.1:{port}/story/{n}</link>"
                f"<guid>story-{n}</guid><pubDate>Wed, 29 Sep 2021 23:0{n}:00 +0800</pubDate></item>"
                for n in range(2)
            )
            body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{items}</channel></rss>'
            self._answer(200, body.encode(), "application/rss+xml")
        elif self.path.startswith("/story/"):
            text = "".join(
                f"<p>Paragraph {k} of the story, with enough words to be text.</p>" for k in range(6)
            )
            page = (
                f"<html><head><title>S</title></head><body><article><h1>S</h1>{text}</article></body></html>"
            )
            self._answer(200, page.encode(), "text/html; charset=utf-8")
        else:
            self._answer(404, b"no", "text/plain")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[int]:
    with handler_server(_Site) as server:
        yield server.server_address[1]


def _config(folder: Path, port: int) -> Path:
    config = folder / "scraper.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{folder / "a.db"}"\n[export]\ndir = "{folder / "_posts"}"\n'
        '[http]\nallow_networks = ["127.0.0.1/32"]\nper_host_delay = 0.0\ntrust_env = false\n'
        f'[[feeds]]\nname = "one"\nurl = "http://127.0.0.1:{port}/feed.xml"\n',
        encoding="utf-8",
    )
    return config


def test_once_with_nothing_new_imports_no_orm_and_still_polls(tmp_path: Path, site: int) -> None:
    config = _config(tmp_path, site)
    first = _modules_loaded_by("once", "--config", str(config))  # new work: the ORM's stages do it
    assert {"sqlalchemy.orm", "scraper.work_loop", "scraper.export.writer", "scraper.export.jekyll"} <= first
    assert "scraper.robots" in first  # its pages asked robots.txt
    assert len(list((tmp_path / "_posts").rglob("*.md"))) == 2
    # The second run finds a folder never stamped (the first made it): it walks it once, and stamps it.
    assert "scraper.post_adopt" in _modules_loaded_by("once", "--config", str(config))
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with engine.connect() as connection:
        polled_before = connection.scalar(select(feeds.c.last_polled_at))

    quiet = _modules_loaded_by("once", "--config", str(config))

    assert "scraper.poll_stage" in quiet and "httpx" in quiet  # it polled, with the same stages
    assert not _loaded(quiet, *NOT_ON_A_QUIET_RUN), sorted(_loaded(quiet, *NOT_ON_A_QUIET_RUN))
    with engine.connect() as connection:
        row = connection.execute(select(feeds)).one()
        assert row.last_polled_at > polled_before and row.last_status == 304  # the 304 was recorded
        assert row.lease_owner is None  # and its claim released
    engine.dispose()


def test_once_after_a_quiet_check_still_archives_what_is_due(tmp_path: Path, site: int) -> None:
    """A row queued between runs (by a backfill, say) makes `nothing_due` False: the run builds its stages
    and archives it, with the feed answering 304."""
    config = _config(tmp_path, site)
    assert run_cli("once", "--config", str(config)).exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    url = f"http://127.0.0.1:{site}/story/9"
    with engine.begin() as connection:
        connection.execute(insert(articles).values(url=url, canonical_url=url, feed_id=1))

    loaded = _modules_loaded_by("once", "--config", str(config))

    assert "scraper.work_loop" in loaded
    with engine.connect() as connection:
        status = connection.scalar(select(articles.c.status).where(articles.c.url == url))
    assert status == ArticleStatus.ARCHIVED
    assert len(list((tmp_path / "_posts").rglob("*.md"))) == 3
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgresql":
        engine: Engine = request.getfixturevalue("postgres_engine")
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _article(connection: object, n: int, **values: object) -> None:
    url = f"http://example.test/{n}"
    connection.execute(insert(articles).values(url=url, canonical_url=url, **values))  # type: ignore[attr-defined]


def test_nothing_due_sees_each_kind_of_work(engine: Engine) -> None:
    now = utcnow()
    later, earlier = now + timedelta(hours=1), now - timedelta(hours=1)
    with engine.begin() as connection:
        assert nothing_due(connection, now)  # an empty archive
        _article(connection, 1, status=ArticleStatus.PENDING, next_attempt_at=later)  # a retry, not yet
        _article(connection, 2, status=ArticleStatus.FAILED)
        _article(connection, 3, status=ArticleStatus.SEEN)
        _article(  # archived, post written, revisit later
            connection, 4, status="archived", content_source="page", post_written_at=earlier, revisit_at=later
        )
        _article(connection, 5, status="archived", content_source="import")  # an imported post: kept as is
        assert nothing_due(connection, now)
    cases = [
        (1, {"next_attempt_at": earlier}),  # the retry's time has come
        (4, {"revisit_at": earlier}),  # a revisit due
        (4, {"post_written_at": None}),  # a post to write
    ]
    for key, values in cases:
        with engine.begin() as connection:
            url = f"http://example.test/{key}"
            connection.execute(update(articles).where(articles.c.url == url).values(**values))
            assert not nothing_due(connection, now), values
            connection.rollback()


def test_the_core_feed_sync_adds_renames_disables_and_makes_a_changed_feed_due(engine: Engine) -> None:
    def fingerprint(feed: FeedConfig) -> str:
        return f"{feed.interval}"

    one, two = FeedConfig(name="one", url="http://a.test/f"), FeedConfig(name="two", url="http://b.test/f")
    with engine.begin() as connection:
        feed_rows.sync_feed_rows(connection, [one, two], fingerprint)
        connection.execute(
            update(feeds).values(next_poll_at=utcnow(), blocked_until=utcnow(), failures_in_row=2)
        )
    renamed = FeedConfig(name="uno", url=one.url, interval=60)
    with engine.begin() as connection:
        feed_rows.sync_feed_rows(connection, [renamed], fingerprint)
        rows = {row.url: row for row in connection.execute(select(feeds))}
    assert rows[one.url].name == "uno" and rows[one.url].config_fingerprint == "60"
    assert rows[one.url].next_poll_at is None and rows[one.url].blocked_until is None  # due at once
    assert rows[two.url].enabled is False and rows[two.url].blocked_until is not None  # kept, disabled
    with engine.begin() as connection:  # nothing changed: nothing written
        feed_rows.sync_feed_rows(connection, [renamed], fingerprint)
        assert {row.url: row for row in connection.execute(select(feeds))} == rows
