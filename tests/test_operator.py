"""Issue 13: what an operator meets on day one. Each test is one situation of the issue, end to end through
`scraper once` / `status` / `export` against a loopback server: no silent stall, no traceback, nothing
hidden from monitoring."""

from __future__ import annotations

import errno
import json
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from scraper.store.db import make_engine, session_factory
from scraper.store.models import Article, Feed, utcnow
from tests.conftest import run_cli, write_config
from tests.daemon_helpers import DaemonProcess, daemon_config, site_running, wait_for
from tests.test_once import article_page, rss

PARAS = ["第一段，足够长的正文内容，用来确认提取成功。" * 3, "第二段正文。" * 10]


def serve_site(server: HTTPServer, items: int = 2) -> str:
    base = server.url_for("")
    entries = [(f"标题 {n}", f"/news/{n}", f"g-{n}") for n in range(items)]
    server.expect_request("/feed.xml").respond_with_data(
        rss(entries, base.rstrip("/")), content_type="application/rss+xml"
    )
    for _title, path, _guid in entries:
        server.expect_request(path).respond_with_data(
            article_page(path, PARAS), content_type="text/html; charset=utf-8"
        )
    return server.url_for("/feed.xml")


def with_setting(config: Path, old: str, new: str) -> Path:
    """The config with one of write_config's fixed lines (database url, export dir) changed."""
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new), encoding="utf-8")
    return config


def feed_row(folder: Path) -> Feed:
    engine = make_engine(f"sqlite:///{folder / 'archive.db'}")
    with session_factory(engine)() as session:
        row = session.scalars(select(Feed)).one()
        session.expunge(row)
    engine.dispose()
    return row


# --- 1. a config mistake never stalls a feed ------------------------------------------------------------


def test_refused_private_address_is_our_config_not_a_site_failure(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    url = serve_site(httpserver)
    config = write_config(tmp_path, [{"name": "Local", "url": url}], http={"allow_private_networks": False})
    first = run_cli("once", "--config", str(config))
    assert first.exit_code == 1
    assert "allow_private_networks" in first.output
    row = feed_row(tmp_path)
    assert row.failures_in_row == 0 and row.blocked_until is None  # no backoff for our own refusal
    # The operator fixes the config: the next run polls the feed and archives its entries.
    write_config(tmp_path, [{"name": "Local", "url": url}])
    second = run_cli("once", "--config", str(config))
    assert second.exit_code == 0, second.output
    assert "polled 1 feeds" in second.output and "archived 2" in second.output


def test_a_changed_feed_config_is_due_at_once_and_skips_say_why(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("down", status=500)
    url = httpserver.url_for("/feed.xml")
    config = write_config(tmp_path, [{"name": "Flaky", "url": url}], http={"retries": 0})
    assert run_cli("once", "--config", str(config)).exit_code == 1
    assert feed_row(tmp_path).failures_in_row == 1
    # Unchanged config: the feed waits out its backoff, and the run says so (not a bare "polled 0 feeds").
    again = run_cli("once", "--config", str(config))
    assert "polled 0 feeds" in again.output
    assert "skipped Flaky: in " in again.output and "backoff after 1 failed poll" in again.output
    # `status` says when and why it is polled next.
    status = run_cli("status", "--config", str(config)).output  # a table: the reason folds over lines
    assert "backoff" in status and "failed poll" in status
    # Any key of the feed changed: due at once.
    write_config(tmp_path, [{"name": "Flaky", "url": url, "interval": 600}], http={"retries": 0})
    changed = run_cli("once", "--config", str(config))
    assert "skipped" not in changed.output and "1 failed" in changed.output
    assert feed_row(tmp_path).failures_in_row == 2


def test_once_force_polls_every_enabled_feed(httpserver: HTTPServer, tmp_path: Path) -> None:
    url = serve_site(httpserver, items=1)
    config = write_config(tmp_path, [{"name": "Site", "url": url}])
    assert run_cli("once", "--config", str(config)).exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    with session_factory(engine).begin() as session:  # as a server's Retry-After of a day would leave it
        row = session.scalars(select(Feed)).one()
        row.blocked_until = utcnow() + timedelta(days=1)
    engine.dispose()
    skipped = run_cli("once", "--config", str(config))
    forced = run_cli("once", "--config", str(config), "--force")
    assert "polled 0 feeds" in skipped.output and "skipped Site" in skipped.output
    assert "polled 1 feeds" in forced.output and "skipped" not in forced.output


# --- 2. one clear line, the exit status of the README's table, the summary ------------------------------


def test_export_dir_that_is_a_file_is_one_line_and_the_posts_wait(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    url = serve_site(httpserver)
    config = with_setting(
        write_config(tmp_path, [{"name": "Site", "url": url}]), 'dir = "_posts"', 'dir = "posts"'
    )
    (tmp_path / "posts").write_text("not a folder", encoding="utf-8")
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "archived 2" in result.output  # the summary
    assert "export.dir is a file, not a folder" in result.output and "2 posts not written" in result.output
    # Fixed: the next run writes the posts that waited; nothing was lost.
    (tmp_path / "posts").unlink()
    fixed = run_cli("once", "--config", str(config))
    assert fixed.exit_code == 0, fixed.output
    assert len(list((tmp_path / "posts").glob("*.md"))) == 2


def test_disk_full_loses_nothing_and_says_so(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scraper.export.writer as writer

    def full(path: Path, text: str) -> bool:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    url = serve_site(httpserver)
    config = write_config(tmp_path, [{"name": "Site", "url": url}], cluster={"lease_seconds": 1})
    monkeypatch.setattr(writer, "write_atomic", full)
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "No space left on device" in result.output and "archived 2" in result.output
    monkeypatch.undo()
    export = run_cli("export", "--config", str(config))
    assert export.exit_code == 0
    assert len(list((tmp_path / "_posts").glob("*.md"))) == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_read_only_export_dir_is_named(httpserver: HTTPServer, tmp_path: Path) -> None:
    url = serve_site(httpserver)
    config = write_config(tmp_path, [{"name": "Site", "url": url}])
    (tmp_path / "_posts").mkdir(mode=0o555)
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 1 and "not writable by this user" in result.output


@pytest.mark.parametrize("command", ["once", "status", "export", "db"])
@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:1/nothing",
        "postgresql://postgres@127.0.0.1:5432/h13_no_such_database",
    ],
)
def test_database_down_or_missing_is_one_line(tmp_path: Path, command: str, url: str) -> None:
    config = write_config(tmp_path, [{"name": "F", "url": "https://example.org/feed.xml"}])
    with_setting(config, "sqlite:///archive.db", url)
    args = ["db", "upgrade"] if command == "db" else [command]
    result = run_cli(*args, "--config", str(config))
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("scraper: cannot use the database postgresql") and "fix:" in line


@pytest.mark.parametrize(
    ("url", "message"),
    [("not a url", "not a database URL"), ("mysql://u@h/db", "unsupported database 'mysql'")],
)
def test_bad_database_urls_exit_2(tmp_path: Path, url: str, message: str) -> None:
    config = with_setting(write_config(tmp_path, []), "sqlite:///archive.db", url)
    for command in ("once", "status"):
        result = run_cli(command, "--config", str(config))
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


# --- 3. posts that cannot be written are visible to monitoring -------------------------------------------


def test_status_counts_posts_waiting(httpserver: HTTPServer, tmp_path: Path) -> None:
    url = serve_site(httpserver)
    config = with_setting(
        write_config(tmp_path, [{"name": "Site", "url": url}]), 'dir = "_posts"', 'dir = "posts"'
    )
    (tmp_path / "posts").write_text("", encoding="utf-8")
    run_cli("once", "--config", str(config))
    assert "posts waiting to be written: 2" in run_cli("status", "--config", str(config)).output


# --- 4. global options after the subcommand; -q quiet when all is well -----------------------------------


def test_global_options_after_the_subcommand_and_quiet_cron(httpserver: HTTPServer, tmp_path: Path) -> None:
    url = serve_site(httpserver)
    config = write_config(tmp_path, [{"name": "Site", "url": url}])
    quiet = run_cli("once", "--config", str(config), "-q")
    assert quiet.exit_code == 0 and quiet.output == ""  # CliRunner mixes stderr in: nothing at all
    assert run_cli("-q", "once", "-c", str(config)).output == ""
    assert run_cli("--config", str(config), "status", "-v").exit_code == 0
    assert run_cli("status", "--config", str(config), "--log-format", "json", "-vv").exit_code == 0


def test_quiet_still_reports_failure(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("gone", status=404)
    config = write_config(tmp_path, [{"name": "Gone", "url": httpserver.url_for("/feed.xml")}])
    result = run_cli("once", "-q", "--config", str(config))
    assert result.exit_code == 1 and "1 failed" in result.output and "Gone" in result.output


# --- 5. once's log lines name the feed and article ------------------------------------------------------


def test_once_json_lines_name_feed_and_article(
    httpserver: HTTPServer, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    url = serve_site(httpserver)
    config = write_config(tmp_path, [{"name": "Site", "url": url}])
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "scraper", "once", "--config", str(config), "-v", "--log-format", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    polled = [line for line in lines if "entries" in line["message"]]
    archived = [line for line in lines if "archived (" in line["message"]]
    assert polled and all(line["feed"] == "Site" and line["feed_url"] == url for line in polled)
    assert len(archived) == 2
    assert all(
        line["feed"] == "Site" and line["article"] in line["message"] and line["article_id"]
        for line in archived
    )


# --- 6. selectors ----------------------------------------------------------------------------------------


def test_extract_selector_invalid_is_exit_2_and_unmatched_is_said(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(article_page("t", PARAS), encoding="utf-8")
    bad = run_cli("extract", str(page), "--selector", "div[[[")
    assert bad.exit_code == 2 and "not a valid CSS selector" in bad.output
    missed = run_cli("extract", str(page), "--selector", ".no-such-class")
    assert missed.exit_code == 0 and "matches nothing on this page" in missed.output


def test_a_feed_selector_matching_nothing_is_named_in_status(httpserver: HTTPServer, tmp_path: Path) -> None:
    url = serve_site(httpserver, items=1)
    config = write_config(tmp_path, [{"name": "Site", "url": url, "selector": ".renamed-body"}])
    result = run_cli("once", "--config", str(config), "-v")
    assert result.exit_code == 0
    status = run_cli("status", "--config", str(config)).output
    assert "selector '.renamed-body' matched nothing" in status


# --- 12 (c): markup from outside is shown, never obeyed ---------------------------------------------------


def test_status_shows_rich_markup_from_outside_as_text(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "[bold]F[/bold]", "url": "https://example.org/feed.xml"}])
    assert run_cli("db", "upgrade", "--config", str(config)).exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    with session_factory(engine).begin() as session:
        session.add(
            Feed(url="https://example.org/feed.xml", name="[bold]F[/bold]", last_error="bad [/bold] [red]x")
        )
        session.flush()
        session.add(
            Article(
                feed_id=1,
                guid="g",
                url="https://example.org/a",
                canonical_url="https://example.org/a",
                status="failed",
                last_error="[/i] no",
            )
        )
    engine.dispose()
    result = run_cli("status", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert (
        "[bold]F[/bold]" in result.output
        and "bad [/bold] [red]x" in result.output
        and "[/i] no" in result.output
    )


def test_daemon_health_and_metrics_show_posts_that_cannot_be_written(
    tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    with site_running() as site:
        site.publish("Blocked post", "/fast/1")
        config = with_setting(daemon_config(tmp_path, site), 'dir = "_posts"', 'dir = "posts"')
        config.write_text(
            config.read_text(encoding="utf-8") + "\n[cluster]\nlease_seconds = 1\n", encoding="utf-8"
        )
        (tmp_path / "posts").write_text("a file where the folder should be", encoding="utf-8")
        daemon = DaemonProcess(config)
        daemons.append(daemon)

        def degraded() -> dict[str, object] | None:
            answer = daemon.get("/healthz")
            return answer.json() if answer.status_code == 503 else None

        body = wait_for(degraded, 20, "/healthz to report the unwritable export folder")
        assert body["status"] == "degraded"
        assert any("posts cannot be written to export.dir" in reason for reason in body["reasons"])  # type: ignore[union-attr]
        assert re.search(r"^scraper_posts_unwritten [1-9]", daemon.get("/metrics").text, re.M)
        # The folder fixed: the waiting post is written, and health is back.
        (tmp_path / "posts").unlink()
        wait_for(lambda: daemon.get("/healthz").status_code == 200, 20, "/healthz to recover")
        assert re.search(r"^scraper_posts_unwritten 0", daemon.get("/metrics").text, re.M)
        assert len(list((tmp_path / "posts").glob("*.md"))) == 1
        assert daemon.stop() == 0


# --- 8. small things --------------------------------------------------------------------------------------


def test_backfill_urls_warns_of_lines_that_are_not_urls_and_prints_its_summary_once(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    serve_site(httpserver, items=1)
    config = write_config(tmp_path, [])
    listed = tmp_path / "list.txt"
    listed.write_text(
        f"# a comment\n\nnot a url\n{httpserver.url_for('/news/0')}\nhtp:/garbage\n", encoding="utf-8"
    )
    result = run_cli("backfill", "--config", str(config), "--urls", str(listed))
    assert result.exit_code == 0
    assert "line 3: not an http(s) URL, skipped: 'not a url'" in result.stderr
    assert "line 5: not an http(s) URL, skipped: 'htp:/garbage'" in result.stderr
    assert "comment" not in result.stderr
    assert "list.txt: read 1" in result.stdout and "list.txt: read" not in result.stderr
    assert "archived 1" in result.stdout


def test_config_example_says_one_thing_about_interval() -> None:
    text = (Path(__file__).parent.parent / "config.example.toml").read_text(encoding="utf-8")
    feeds = text[text.index("[[feeds]]") :]
    said = feeds[: feeds.index("\ninterval =")]
    assert said.count("at least") <= 1 and "at least 60" not in said


def test_docker_build_context_leaves_out_the_venv_and_archives() -> None:
    root = Path(__file__).parent.parent
    ignored = (root / ".dockerignore").read_text(encoding="utf-8").split()
    for name in (".venv", ".git", "*.db", "_posts"):
        assert name in ignored or f"**/{name}" in ignored


def test_status_lists_a_node_that_stopped_cleanly_as_stopped(tmp_path: Path) -> None:
    from scraper.status import feed_status_report
    from scraper.store.db import upgrade
    from scraper.store.leases import Leases
    from scraper.store.nodes import live_count

    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    upgrade(engine)
    stopping, running = Leases(engine, node_id="host:1:stopping"), Leases(engine, node_id="host:2:running")
    stopping.join("once")
    running.join("run")
    stopping.leave()
    report = feed_status_report(engine, lease_seconds=60)
    rows = {line.split("│")[1].strip(): line for line in report.splitlines() if "host:" in line}
    assert "stopped" in rows["host:1:stopping"] and "live" in rows["host:2:running"]
    with session_factory(engine)() as session:  # the stopped one no longer counts as live
        assert live_count(session, engine, 60) == 1
    engine.dispose()


# --- a database this version of scraper did not make ------------------------------------------------------


def _sqlite(folder: Path, sql: str) -> None:
    import sqlite3

    connection = sqlite3.connect(folder / "archive.db")
    connection.executescript(sql)
    connection.commit()
    connection.close()


@pytest.mark.parametrize(
    ("sql", "said"),
    [
        ("update alembic_version set version_num = '9999_from_the_future'", "9999_from_the_future"),
        ("update alembic_version set version_num = ''", "schema revision"),
        ("drop table alembic_version", "not made by scraper"),
    ],
)
def test_database_at_an_unknown_schema_revision_is_one_line(tmp_path: Path, sql: str, said: str) -> None:
    """A database written by a newer scraper (or another program) is named with its revision and the fix,
    exit 1, from every command that opens it: never alembic's traceback."""
    config = write_config(tmp_path, [{"name": "F", "url": "https://example.org/feed.xml"}])
    assert run_cli("db", "upgrade", "--config", str(config)).exit_code == 0
    _sqlite(tmp_path, sql)
    for args in (["status"], ["once"], ["export"], ["db", "upgrade"]):
        result = run_cli(*args, "--config", str(config))
        assert result.exit_code == 1, (args, result.output)
        (line,) = result.output.strip().splitlines()
        assert line.startswith("scraper: ") and said in line and "fix:" in line, line


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda d: (d / "loop").symlink_to(d / "loop"), "Too many levels of symbolic links"),
        (lambda d: (d / "loop").symlink_to(d / "nowhere" / "deeper"), "a symbolic link to nothing"),
    ],
)
def test_export_dir_that_cannot_even_be_looked_at_is_one_line(
    httpserver: HTTPServer, tmp_path: Path, make: object, said: str
) -> None:
    """export.dir through a symlink loop (a traceback from Path.resolve) or a dangling symlink: the posts
    wait and a line names export.dir and the fix."""
    url = serve_site(httpserver)
    config = write_config(tmp_path, [{"name": "Site", "url": url}])
    make(tmp_path)  # type: ignore[operator]
    with_setting(config, 'dir = "_posts"', f'dir = "{tmp_path / "loop" / "posts"}"')
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("scraper: export.dir")]
    assert lines and said in lines[0] and "fix:" in lines[0], result.output


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('dir = "_posts"', 'dir = "posts/' + "n" * 256 + '"'),
        ('dir = "_posts"', 'dir = "' + "d/" * 2100 + '"'),
        ('dir = "_posts"', 'dir = "~no_such_user_here/posts"'),
        ("sqlite:///archive.db", "sqlite:///" + "é" * 130 + ".db"),
        ("[export]", '[warc]\ndir = "' + "w" * 300 + '"\n[export]'),
    ],
)
def test_paths_no_file_system_takes_are_config_errors(tmp_path: Path, old: str, new: str) -> None:
    """A name over 255 bytes (130 two-byte letters are), a path over 4095, `~user` of nobody: each was a
    traceback (ENAMETOOLONG from a stat, RuntimeError from expanduser); now exit 2 naming the key."""
    config = with_setting(write_config(tmp_path, []), old, new)
    for command in ("once", "status"):
        result = run_cli(command, "--config", str(config))
        assert result.exit_code == 2, result.output
        (line,) = result.output.strip().splitlines()
        assert line.startswith("scraper: config error:") and ("dir:" in line or "url:" in line), line


@pytest.mark.parametrize(
    "args",
    [
        ["--wacz", "{file}/x.wacz"],
        ["--warc", "{file}/warc"],
        ["--wacz", "{ro}/deeper/x.wacz"],
    ],
)
def test_export_captures_to_a_place_that_cannot_be_written_is_one_line(
    tmp_path: Path, args: list[str]
) -> None:
    """`export --wacz/--warc` under a file (or where mkdir fails) was an OSError traceback from mkdir."""
    config = write_config(tmp_path, [])
    (tmp_path / "afile").write_text("x")
    ro = Path("/proc/self")  # a folder no user, root included, can make folders in
    where = [arg.format(file=tmp_path / "afile", ro=ro) for arg in args]
    result = run_cli("export", *where, "--config", str(config))
    assert result.exit_code == 1, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("scraper: ") and args[0] in line and "fix:" in line, line


@pytest.mark.parametrize(
    "args",
    [
        ["once", "--bogus"],
        ["nosuchcommand"],
        ["status", "extra"],
        ["--log-format", "xml", "status"],
        ["backfill", "--per-host", "0", "--urls", "-"],
        ["backfill", "--since", "yesterday", "--urls", "-"],
        ["export", "--warc", "{file}"],
        ["export", "--wacz", "{folder}"],
        ["status", "--config", "{folder}/missing/..", "--bogus"],
        ["import"],
        ["extract"],
        ["extract", "page.html", "--format", "xml"],
        ["db", "downgrade"],
        ["healthcheck", "--timeout", "soon"],
        ["once", "--config"],
    ],
)
def test_command_line_mistakes_are_one_line_exit_2(tmp_path: Path, args: list[str]) -> None:
    """Every command-line mistake reads like every other error: one `scraper: ...` line naming the option
    and where help is, exit 2 (click's own was four lines: usage, hint, blank, error)."""
    (tmp_path / "afile").write_text("x")
    filled = [arg.format(file=tmp_path / "afile", folder=tmp_path) for arg in args]
    result = run_cli(*filled)
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("scraper: ") and "--help" in line, line


def test_help_and_version_still_exit_0(tmp_path: Path) -> None:
    for args in (["--help"], ["once", "-h"], ["db", "--help"], ["--version"]):
        result = run_cli(*args)
        assert result.exit_code == 0 and result.output.strip(), args


def test_no_subcommand_still_shows_the_help(tmp_path: Path) -> None:
    for args in ([], ["db"]):
        result = run_cli(*args)
        assert result.exit_code == 2 and "Commands:" in result.output
        assert "scraper: Usage" not in result.output


# SIGTERM (systemd, a timeout), SIGHUP (a closed terminal), Ctrl-C
@pytest.mark.parametrize("signum", [15, 1, 2])
def test_once_stopped_by_a_signal_says_so_in_one_line_with_128_plus_n(
    httpserver: HTTPServer, tmp_path: Path, signum: int
) -> None:
    """`scraper once` killed while fetching: SIGTERM and SIGHUP ended it silently (the default action, no
    word, no summary), SIGINT with click's `Aborted!`. Each is one line naming the signal, exit 128 + N, and
    the next run goes on (the article stays pending: claimed until its lease runs out)."""
    import signal
    import subprocess
    import sys
    import threading

    from werkzeug import Request, Response

    fetching, stopped = threading.Event(), threading.Event()

    def slow(request: Request) -> Response:
        fetching.set()  # (the server's log has a request only once it is answered: too late)
        stopped.wait(30)  # answered once the run is stopped: the server is free for the next run
        return Response(article_page("t", PARAS), content_type="text/html; charset=utf-8")

    base = httpserver.url_for("")
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss([("标题", "/news/0", "g-0")], base.rstrip("/")), content_type="application/rss+xml"
    )
    httpserver.expect_request("/news/0").respond_with_handler(slow)
    config = write_config(tmp_path, [{"name": "Site", "url": httpserver.url_for("/feed.xml")}])
    once = [sys.executable, "-m", "scraper", "once", "--config", str(config)]
    process = subprocess.Popen(once, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert fetching.wait(30), "the page was never asked for"
        process.send_signal(signum)
        _out, err = process.communicate(timeout=30)
    finally:
        stopped.set()
    assert process.returncode == 128 + signum, err
    (line,) = err.strip().splitlines()
    assert line.startswith(f"scraper: interrupted by {signal.Signals(signum).name}") and "next run" in line
    again = subprocess.run(once, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr


@pytest.mark.parametrize("timeout", ["-1", "0", "nan", "inf", "1e999", "-inf", "soon"])
def test_healthcheck_timeouts_no_client_can_wait_are_exit_2(tmp_path: Path, timeout: str) -> None:
    """`healthcheck --timeout -1/nan/inf` was a traceback from httpx's pool; now the option's one line."""
    config = write_config(tmp_path, [], daemon={"listen": "127.0.0.1:9"})
    result = run_cli("healthcheck", "--timeout", timeout, "--config", str(config))
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("scraper: ") and "--timeout" in line, line


@pytest.mark.parametrize("value", ["garbage", "2021-13-45 99:00:00", "", "☃"])
def test_a_date_in_the_database_that_is_not_one_is_one_line(tmp_path: Path, value: str) -> None:
    """SQLite keeps any text in a date column (a hand edit, another program): status, once and export
    raised the driver's ValueError as a traceback; now one line naming the value and the fix, exit 1."""
    sample = Path(__file__).parent.parent / "examples" / "feed.xml"  # local: no network
    config = write_config(tmp_path, [{"name": "F", "url": str(sample)}])
    assert run_cli("once", "--config", str(config)).exit_code == 0
    _sqlite(tmp_path, f"update feeds set last_polled_at = '{value}', next_poll_at = '{value}'")
    for command in ("status", "export"):
        result = run_cli(command, "--config", str(config))
        assert result.exit_code == 1, result.output
        (line,) = result.output.strip().splitlines()
        assert "a date in the database is not one" in line and "fix:" in line, line
