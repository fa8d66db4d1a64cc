"""`scraper run` revisits what it archived: an edit made after the first archive is found by a revisit,
claimed like any other work, and shows in the changes feed the daemon writes."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request
from werkzeug import Response as WResponse

from scraper.store.db import make_engine, session_factory
from scraper.store.models import Article, ArticleChange
from tests.conftest import write_config
from tests.daemon_helpers import DaemonProcess, wait_for

ATOM = "{http://www.w3.org/2005/Atom}"
TEXT = (
    "The harbour authority said on Monday that the ferry to the islands will run twice a day from June, "
    "after residents asked for a morning crossing to reach the market and the hospital in time."
)


def test_the_daemon_revisits_and_records_an_edit(
    httpserver: HTTPServer, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    fetched: list[str] = []

    def article(_: Request) -> WResponse:
        fetched.append("x")
        text = TEXT if len(fetched) == 1 else TEXT.replace("twice a day", "three times a day")
        body = f"<article><h1>Ferry</h1><p>{text}</p></article>"
        html = f"<html><head><title>Ferry</title></head><body>{body}</body></html>"
        return WResponse(html, content_type="text/html; charset=utf-8")

    base = httpserver.url_for("").rstrip("/")
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>Ferry</title><link>{base}/ferry</link><guid>ferry</guid></item></channel></rss>"
    )
    httpserver.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
    httpserver.expect_request("/ferry").respond_with_handler(article)
    config = write_config(
        tmp_path,
        [
            {
                "name": "Harbour",
                "url": httpserver.url_for("/feed.xml"),
                "interval": 60,
                "revisit": ["1s", "1h"],
            }
        ],
        daemon={"listen": "", "tick_seconds": 0.2, "grace_seconds": 5},
    )
    config.write_text(
        config.read_text().replace('dir = "_posts"\n', 'dir = "_posts"\nchanges_feed = "changes.xml"\n', 1)
    )
    daemon = DaemonProcess(config)
    daemons.append(daemon)
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")

    def edits() -> list[str]:
        with session_factory(engine)() as session:
            return [c.kind for c in session.scalars(select(ArticleChange))]

    wait_for(edits, 30, "the revisit to record the edit")
    assert daemon.stop() == 0
    assert edits() == ["edited"] and len(fetched) == 2  # one revisit, then nothing due for an hour
    with session_factory(engine)() as session:
        row = session.scalars(select(Article)).one()
        assert row.revisits == 1 and row.edits == 1
    content = (
        ElementTree.parse(tmp_path / "_posts" / "changes.xml")
        .getroot()
        .findtext(f"{ATOM}entry/{ATOM}content")
    )
    assert content is not None and "<del>twice </del><ins>three times </ins>a day" in content
