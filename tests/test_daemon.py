"""`scraper run` as a subprocess against a local site: new entries become posts, health and metrics answer,
SIGTERM finishes or releases in-flight work, SIGHUP and a changed config file reload the feeds."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Response

from scraper.store.db import make_engine, session_factory
from scraper.store.models import Article
from tests.conftest import run_cli, write_config
from tests.daemon_helpers import (
    DaemonProcess,
    Site,
    daemon_config,
    json_lines,
    page,
    post_files,
    site_running,
    statuses,
    wait_for,
)
from tests.local_servers import httpserver_on
from tests.test_import import seed_post


@pytest.fixture
def site() -> Iterator[Site]:
    with site_running() as running:
        yield running


def test_new_entry_becomes_a_post_within_the_poll_interval(
    site: Site, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    site.publish("First story", "/fast/1")
    site.publish("Nothing here", "/empty/1")
    daemon = DaemonProcess(daemon_config(tmp_path, site), "--log-format", "json")
    daemons.append(daemon)
    wait_for(lambda: len(post_files(tmp_path)) == 1, 15, "the first post")

    site.publish("Second story", "/fast/2")
    published = time.monotonic()
    wait_for(lambda: len(post_files(tmp_path)) == 2, 10, "the second post")
    elapsed = time.monotonic() - published
    assert elapsed < 1 + 2.5, f"the new entry took {elapsed:.1f} s with a 1 s poll interval"
    second = next(text for name, text in post_files(tmp_path).items() if "Second story" in name)
    assert "second story-word59" in second and second.endswith("</div>\n")

    health = daemon.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    metrics = daemon.get("/metrics").text
    assert 'scraper_articles_archived_total{feed="Site"} 2.0' in metrics
    assert 'scraper_fetches_total{outcome="archived"} 2.0' in metrics
    assert 'scraper_polls_total{feed="Site",outcome="ok"}' in metrics
    assert 'scraper_queue_depth{state="due"} 0.0' in metrics
    assert 'scraper_http_request_duration_seconds_count{kind="page"} 3.0' in metrics
    assert 'scraper_feed_seconds_since_success{feed="Site"}' in metrics
    assert 'scraper_extraction_failures_total{feed="Site"} 1.0' in metrics
    assert 'scraper_fetches_total{outcome="failed"} 1.0' in metrics

    assert daemon.stop() == 0
    lines = json_lines(daemon.log())
    assert any(line["message"] == "stopped" for line in lines)
    about_articles = [line for line in lines if line["message"].startswith("article ")]
    assert len(about_articles) == 3
    assert all(
        line["article"].startswith("http://127.0.0.1") and line["feed"] == "Site" for line in about_articles
    )
    assert all(line["feed"] == "Site" for line in lines if line["message"].startswith("feed "))


def test_sigterm_during_a_slow_fetch_exits_0_and_the_article_is_archived_on_the_next_start(
    site: Site, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    site.publish("Quick one", "/fast/1")
    site.publish("Slow one", "/slow/2")
    config = daemon_config(tmp_path, site, grace_seconds=0.5)
    daemon = DaemonProcess(config)
    daemons.append(daemon)
    assert site.slow_started.wait(15), daemon.log()
    wait_for(lambda: len(post_files(tmp_path)) == 1, 10, "the quick article's post")

    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0, daemon.log()
    log = daemon.log()
    assert "interrupted" in log and "/slow/2" in log  # the interrupted article is named
    assert [name for name in post_files(tmp_path)] == [
        "2024-05-01-Quick one.md"
    ]  # no partial post, no temp file
    assert statuses(tmp_path) == {"fast/1": "archived", "slow/2": "pending"}

    site.release.set()  # the page answers at once now
    daemon = DaemonProcess(config)
    daemons.append(daemon)
    wait_for(lambda: len(post_files(tmp_path)) == 2, 10, "the interrupted article's post")
    assert daemon.stop() == 0
    assert statuses(tmp_path) == {"fast/1": "archived", "slow/2": "archived"}
    assert "slow one-word59" in post_files(tmp_path)["2024-05-01-Slow one.md"]


def test_sigterm_lets_a_fetch_finish_within_the_grace_period_and_writes_its_post(
    site: Site, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    site.publish("Slow one", "/slow/1")
    daemon = DaemonProcess(daemon_config(tmp_path, site, grace_seconds=10))
    daemons.append(daemon)
    assert site.slow_started.wait(15), daemon.log()
    daemon.signal(signal.SIGTERM)
    health = daemon.get("/healthz")  # still answering while it drains, but no longer healthy
    assert health.status_code == 503 and health.json()["reasons"] == ["shutting down"]
    time.sleep(0.3)
    site.release.set()
    assert daemon.wait() == 0, daemon.log()
    assert list(post_files(tmp_path)) == ["2024-05-01-Slow one.md"]
    assert statuses(tmp_path) == {"slow/1": "archived"}


def test_a_second_signal_exits_at_once(site: Site, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    site.publish("Slow one", "/slow/1")
    daemon = DaemonProcess(daemon_config(tmp_path, site, grace_seconds=60))
    daemons.append(daemon)
    assert site.slow_started.wait(15), daemon.log()
    daemon.signal(signal.SIGTERM)
    wait_for(lambda: "stopping" in daemon.log(), 5, "the first signal to be taken")
    started = time.monotonic()
    daemon.signal(signal.SIGINT)
    assert daemon.wait(timeout=5) == 128 + signal.SIGINT
    assert time.monotonic() - started < 3
    assert "second signal" in daemon.log()
    assert post_files(tmp_path) == {}
    assert statuses(tmp_path) == {"slow/1": "pending"}  # nothing lost: the next start fetches it


def test_sighup_and_a_changed_config_file_reload_the_feed_list(
    site: Site, httpserver: HTTPServer, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    site.publish("From the first feed", "/fast/1")
    config = daemon_config(tmp_path, site)
    daemon = DaemonProcess(config)
    daemons.append(daemon)
    wait_for(lambda: len(post_files(tmp_path)) == 1, 15, "the first feed's post")

    def add_feed(name: str, path: str, sections: dict[str, dict[str, object]]) -> None:
        body = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f"<item><title>{name} story</title><link>{httpserver.url_for(path + '-page')}</link>"
            f"<guid>{name}</guid><pubDate>Wed, 01 May 2024 09:00:00 GMT</pubDate></item></channel></rss>"
        )
        httpserver.expect_request(path).respond_with_data(body, content_type="application/rss+xml")
        httpserver.expect_request(path + "-page").respond_with_data(page(name), content_type="text/html")
        feeds.append({"name": name, "url": httpserver.url_for(path), "interval": 1})
        write_config(tmp_path, feeds, **sections)

    feeds: list[dict[str, object]] = [{"name": "Site", "url": site.feed_url, "interval": 1}]
    sections: dict[str, dict[str, object]] = {
        "daemon": {"listen": "127.0.0.1:0", "tick_seconds": 0.2, "grace_seconds": 5}
    }
    # The watcher would see this file change within a tick, too; SIGHUP says "now".
    add_feed("Second", "/second.xml", sections)
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: len(post_files(tmp_path)) == 2, 10, "the post of the feed added before SIGHUP")
    assert (
        "config reloaded (SIGHUP)" in daemon.log()
        or "config reloaded (the config file changed)" in daemon.log()
    )

    add_feed("Third", "/third.xml", sections)  # no signal: the changed file is noticed
    wait_for(lambda: len(post_files(tmp_path)) == 3, 10, "the post of the feed added to the file")
    assert "config reloaded (the config file changed)" in daemon.log()

    (tmp_path / "scraper.toml").write_text("[[feeds]]\nname = 'broken'\n", encoding="utf-8")
    wait_for(lambda: "config reload (the config file changed) failed" in daemon.log(), 10, "a refused reload")
    assert daemon.get("/healthz").status_code == 200  # still running on the previous config
    assert 'scraper_config_reloads_total{result="failed"} 1.0' in daemon.get("/metrics").text
    assert daemon.stop() == 0


def test_no_listener_when_listen_is_empty(site: Site, tmp_path: Path, daemons: list[DaemonProcess]) -> None:
    site.publish("Story", "/fast/1")
    daemon = DaemonProcess(daemon_config(tmp_path, site, listen=""))
    daemons.append(daemon)
    assert daemon.url is None
    wait_for(lambda: len(post_files(tmp_path)) == 1, 15, "the post")
    assert daemon.stop() == 0


def test_a_running_daemon_keeps_a_second_daemon_and_a_cron_run_off_its_sqlite_file(
    site: Site, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    config = daemon_config(tmp_path, site)
    daemons.append(DaemonProcess(config))
    with pytest.raises(AssertionError, match="exited 1") as info:
        DaemonProcess(config)
    assert "another scraper run holds the lock" in str(info.value)
    overlapping_cron_run = run_cli("once", "--config", str(config))
    assert overlapping_cron_run.exit_code == 0
    assert "another scraper run holds the lock" in overlapping_cron_run.output


def test_a_taken_listen_address_stops_the_start_with_a_clear_message(site: Site, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        with pytest.raises(AssertionError, match="exited 1") as info:
            DaemonProcess(daemon_config(tmp_path, site, listen=listen))
    assert f"cannot listen on {listen} ([daemon] listen): Address already in use" in str(info.value)
    assert "Traceback" not in str(info.value)


def test_the_daemon_takes_the_posts_already_in_the_export_folder_as_archived(
    site: Site, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    """Started on a folder of posts and no database, it writes only what has no post yet."""
    site.publish("Old story", "/fast/1")
    site.publish("New story", "/fast/2")
    old = tmp_path / "_posts" / "2021-09-29-Old story.md"
    old.parent.mkdir()
    old.write_text(seed_post("Old story", site.server.url_for("/fast/1"), feed="Site"), encoding="utf-8")
    before = old.read_bytes()
    daemon = DaemonProcess(daemon_config(tmp_path, site))
    daemons.append(daemon)
    wait_for(lambda: len(post_files(tmp_path)) == 2, 15, "the new story's post")
    assert daemon.stop() == 0
    assert old.read_bytes() == before
    assert [r.path for r, _ in site.server.log if r.path.startswith("/fast/")] == ["/fast/2"]
    assert statuses(tmp_path) == {"fast/1": "archived", "fast/2": "archived"}


def test_posts_are_marked_written_when_the_work_pauses_not_at_the_next_export_job(
    site: Site, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    """A post on disk is marked written (its lease released) once the outcomes pause: not left to the
    export job, which runs once a heartbeat (here 200 s), nor to a batch of 64 marks."""
    for n in (1, 2):
        site.publish(f"Story {n}", f"/fast/{n}")
    config = write_config(
        tmp_path,
        [{"name": "Site", "url": site.feed_url, "interval": 1}],
        daemon={"listen": "", "tick_seconds": 0.2},
        cluster={"lease_seconds": 600},
    )
    daemons.append(DaemonProcess(config))

    def marked() -> int:
        engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
        try:
            with session_factory(engine)() as session:
                rows = session.execute(select(Article.post_written_at, Article.lease_owner)).all()
        finally:
            engine.dispose()
        return sum(written is not None and owner is None for written, owner in rows)

    wait_for(lambda: len(post_files(tmp_path)) == 2, 15, "the two posts")
    wait_for(lambda: marked() == 2, 30, "both posts marked written, their leases released")


def test_one_hosts_backlog_does_not_hold_up_another_host(
    tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    """Host A has 30 articles and asks for 0.5 s between requests; host B has 2. The daemon (2 requests at
    once) claims only a few of A's at a time and waits for A's turns holding no request slot, so B's
    articles are archived at once, not after A's 15 s backlog."""
    with httpserver_on("127.0.0.1") as slow_host, httpserver_on("127.0.0.2") as other_host:

        def feed(server: HTTPServer, prefix: str, count: int, pause: float) -> None:
            items = "".join(
                f"<item><title>{prefix} {i}</title><link>{server.url_for(f'/{prefix}/{i}')}</link></item>"
                for i in range(count)
            )
            body = (
                f'<?xml version="1.0"?><rss version="2.0"><channel><title>{prefix}</title>{items}</channel>'
            )
            body += "</rss>"

            def answer(_request: object) -> Response:
                time.sleep(pause)  # B's feed answers later: A's backlog is queued first
                return Response(body, content_type="application/rss+xml")

            server.expect_request("/feed.xml").respond_with_handler(answer)
            for i in range(count):
                server.expect_request(f"/{prefix}/{i}").respond_with_data(
                    page(f"{prefix} {i}"), content_type="text/html"
                )

        feed(slow_host, "A", 30, 0)
        feed(other_host, "B", 2, 0.3)
        config = write_config(
            tmp_path,
            [
                {"name": "A", "url": slow_host.url_for("/feed.xml"), "interval": 600, "per_host_delay": 0.5},
                {"name": "B", "url": other_host.url_for("/feed.xml"), "interval": 600},
            ],
            http={"concurrency": 2, "per_host_concurrency": 1},
            daemon={"listen": "", "tick_seconds": 0.2},
        )
        daemons.append(DaemonProcess(config))

        def done(host: str) -> int:
            return sum(f"-{host} " in name for name in post_files(tmp_path))

        wait_for(lambda: done("B") == 2, 8, "B's two posts")
        a_done = done("A")
        assert a_done < 15, f"B waited for A's backlog: {a_done} of A's 30 were done first"
