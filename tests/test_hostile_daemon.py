"""Hostile feeds, pages and headers among good ones through `scraper run`: one daemon on SQLite, two nodes on
one PostgreSQL archive (task H2, session 15).

Round 1 drove each class through `scraper once`; a daemon lives longer: a value that fails a poll must not
end the process, leave a lease held or a feed unscheduled, and the good feeds' articles are archived
exactly once however many nodes share them. `status` then names each failure with its reason. One
server carries every class at once (a feed that is HTML or NUL bytes, a gzip bomb, a redirect to ftp:,
Retry-After as a superscript digit or a date past any datetime, an ETag in Latin-1, entry links with hosts
no client takes, pages that are images, bombs, redirects to ftp:): the point is their company, not each
class (tests/test_hostile_*.py hold those).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from sqlalchemy import Engine, select

from scraper.store.db import session_factory
from scraper.store.models import Article, ArticleStatus, Feed
from tests import hostile
from tests.conftest import run_cli, write_config
from tests.daemon_helpers import DaemonProcess, page, wait_for
from tests.hostile import HostileServer
from tests.test_cluster import database_url

RSS = {"Content-Type": "application/rss+xml"}
GOOD_FEEDS, PER_FEED = 3, 4
HOSTILE_FEEDS = ["html", "nul", "bomb", "toftp", "retry", "retry9", "hosts", "pages"]


def _rss(items: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{guid}</title><link>{link}</link><guid>{guid}</guid></item>" for link, guid in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{body}</channel></rss>'.encode()


def _serve(server: HostileServer) -> tuple[list[str], dict[str, str]]:
    """Routes on `server`: the good article paths, and each hostile feed's name -> what status must say."""
    good = []
    for n in range(GOOD_FEEDS):
        paths = [f"/a/{n}/{m}" for m in range(PER_FEED)]
        good += paths
        server.route(f"/good{n}.xml", hostile.respond(200, _rss([(server.url(p), p) for p in paths]), RSS))
    # An ETag no header can send back, on a feed whose articles are good: kept out (said), polled again.
    server.route(
        "/etag.xml", hostile.respond(200, _rss([(server.url("/e/1"), "e1")]), {**RSS, "ETag": '"\xe9t\xe9"'})
    )
    good.append("/e/1")
    for path in good:
        server.route(path, hostile.html(page(path.strip("/").replace("/", "-"))))
    server.route("/html.xml", hostile.html("<html><body><p>a page</p></body></html>"))
    server.route("/nul.xml", hostile.respond(200, b"\0" * 64, RSS))
    server.route("/bomb.xml", hostile.gzip_bomb(12_000_000))
    server.route("/toftp.xml", hostile.redirect("ftp://example.com/feed"))
    server.route("/retry.xml", hostile.respond(503, b"", {"Retry-After": "\xb2"}))
    server.route("/retry9.xml", hostile.respond(503, b"", {"Retry-After": "Fri, 31 Dec 9999 23:59:59 -1400"}))
    links = [("http://a..b/x", "h1"), ("javascript:alert(1)", "h2"), ("http://xn--/y", "h3")]
    server.route("/hosts.xml", hostile.respond(200, _rss([*links, (server.url("/h/ok"), "h4")]), RSS))
    server.route("/h/ok", hostile.html(page("Host ok")))
    good.append("/h/ok")
    bad_pages = ["/p/png", "/p/ftp", "/p/bomb", "/p/retry"]
    server.route("/pages.xml", hostile.respond(200, _rss([(server.url(p), p) for p in bad_pages]), RSS))
    server.route(
        "/p/png", hostile.respond(200, b"\x89PNG\r\n\x1a\n" + b"\0" * 64, {"Content-Type": "image/png"})
    )
    server.route("/p/ftp", hostile.redirect("ftp://example.com/x"))
    server.route("/p/bomb", hostile.gzip_bomb(12_000_000, "text/html"))
    server.route("/p/retry", hostile.respond(500, b"", {"Retry-After": "\xb2"}))
    reasons = {
        "html": "an HTML page, not a feed",
        "nul": "not a feed",
        "bomb": "byte cap",
        "toftp": "URL scheme 'ftp' refused",
        "retry": "HTTP 503",
        "retry9": "HTTP 503",
        "hosts": "3 entries refused",
        "pages": "",  # its articles' reasons, below
    }
    return good, reasons


def _settled(engine: Engine, good: int, server: HostileServer) -> bool:
    """Every good article archived and written, every hostile feed polled, the ETag feed polled again."""
    with session_factory(engine)() as session:
        articles = session.scalars(select(Article)).all()
        feeds = session.scalars(select(Feed)).all()
    done = [a for a in articles if a.status == ArticleStatus.ARCHIVED and a.post_written_at is not None]
    failed_pages = [a for a in articles if a.status == ArticleStatus.FAILED]
    return (
        len(done) == good
        and len(failed_pages) == 3  # png, ftp, bomb; the 500 is retried later
        and all(f.last_polled_at is not None for f in feeds)
        and all(server.hits[f"/{name}.xml"] >= 2 for name in [*HOSTILE_FEEDS, "etag", "good0"])
    )


def _check_archive(engine: Engine, good: list[str], server: HostileServer, posts: Path) -> None:
    with session_factory(engine)() as session:
        articles = session.scalars(select(Article)).all()
        feeds = {f.name: f for f in session.scalars(select(Feed)).all()}
    archived = [a for a in articles if a.status == ArticleStatus.ARCHIVED]
    assert sorted(a.url for a in archived) == sorted(server.url(p) for p in good)
    assert Counter(a.attempts for a in archived) == {1: len(good)}  # each fetched and recorded once
    assert all(a.lease_owner is None for a in articles) and all(f.lease_owner is None for f in feeds.values())
    assert all(f.next_poll_at is not None for f in feeds.values())  # none left unscheduled for ever
    assert {server.hits[p] for p in good} == {1}
    files = list(posts.glob("*.md"))
    assert len(files) == len(good)
    assert feeds["etag"].etag is None and "ETag not kept" in (feeds["etag"].last_error or "")


def _check_metrics(nodes: list[DaemonProcess]) -> None:
    """/metrics answers on every node, and across them each failed feed is counted as failed polls only."""
    polls: Counter[tuple[str, str]] = Counter()
    for node in nodes:
        answer = node.get("/metrics")
        assert answer.status_code == 200
        for feed, outcome, value in re.findall(
            r'^scraper_polls_total\{feed="([^"]+)",outcome="([^"]+)"\} (\S+)$', answer.text, re.M
        ):
            polls[feed, outcome] += int(float(value))
    for name in ["html", "nul", "bomb", "toftp", "retry", "retry9"]:
        assert polls[name, "failed"] >= 1 and polls[name, "ok"] == 0, name
    for name in ["good0", "etag", "hosts", "pages"]:
        assert polls[name, "ok"] >= 1 and polls[name, "failed"] == 0, name


def _check_status(config: Path, env: dict[str, str], reasons: dict[str, str]) -> None:
    result = run_cli("status", "--config", str(config), env=env)
    assert result.exit_code == 0, result.output
    text = re.sub(r"[│┃\s]+", " ", result.output)
    for name, reason in reasons.items():
        assert re.search(rf" {name} ", text), name
        assert reason in text, (name, reason)
    for reason in ["not an HTML page (image/png)", "ftp://example.com/x", "byte cap", "pending: HTTP 500"]:
        assert "pages: 1 " in result.output and reason in text, reason
    assert "internal error" not in result.output


def _run(
    tmp_path: Path, engine: Engine, daemons: list[DaemonProcess], nodes: int, env: dict[str, str]
) -> None:
    with HostileServer().running() as server:
        good, reasons = _serve(server)
        names = [f"good{n}" for n in range(GOOD_FEEDS)] + ["etag", *reasons]
        config = write_config(
            tmp_path,
            [{"name": name, "url": server.url(f"/{name}.xml"), "interval": 1} for name in names],
            daemon={"listen": "127.0.0.1:0", "tick_seconds": 0.2, "grace_seconds": 5},
            cluster={"lease_seconds": 3},
            schedule={"retry_base": 0.5, "max_backoff": 1},  # a failed feed is polled again within the test
        )
        started = [DaemonProcess(config, env=env, wait=False) for _ in range(nodes)]
        daemons.extend(started)
        for daemon in started:
            daemon.wait_started()
        try:
            wait_for(lambda: _settled(engine, len(good), server), 30, "the good articles and every poll")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n" + "\n".join(d.log()[-3000:] for d in started)) from None
        for daemon in started:
            assert daemon.proc.poll() is None, daemon.log()  # still running
        _check_metrics(started)
        assert [daemon.stop() for daemon in started] == [0] * nodes
        for daemon in started:
            log = daemon.log()
            assert not re.search(r"Traceback|internal error| ERROR | CRITICAL |crash", log), log
        _check_archive(engine, good, server, tmp_path / "_posts")
    _check_status(config, env, reasons)


def test_a_daemon_on_sqlite_goes_on_past_every_hostile_class(
    tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    from scraper.store.db import make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    upgrade(engine)
    try:
        _run(tmp_path, engine, daemons, 1, {})
    finally:
        engine.dispose()


def test_two_nodes_on_postgresql_go_on_past_every_hostile_class(
    tmp_path: Path, postgres_engine: Engine, daemons: list[DaemonProcess]
) -> None:
    from scraper.store.db import upgrade

    upgrade(postgres_engine)
    _run(tmp_path, postgres_engine, daemons, 2, {"SCRAPER_DATABASE_URL": database_url(postgres_engine)})
