"""A local news site whose feed grows on demand, and `scraper run` as a real subprocess, for the daemon tests.

The site is a threaded pytest-httpserver on 127.0.0.1 (a slow page must not hold up the feed). The daemon's
log goes to a file that the tests read: its listener binds port 0 and the log says which port it got.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request
from werkzeug import Response as WResponse

from scraper.store.db import make_engine, session_factory
from scraper.store.models import Article
from tests.conftest import write_config
from tests.local_servers import httpserver_on

BASE_TIME = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def page(title: str, words: int = 60) -> str:
    text = " ".join(f"{title.lower()}-word{i}" for i in range(words))
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><nav>menu</nav><article><h1>{title}</h1><p>{text}</p><p>Second paragraph of {title}.</p>"
        "</article></body></html>"
    )


class Site:
    """`/feed.xml` lists the published entries; `/fast/N` answers at once; `/slow/N` waits for `release`;
    `/empty/N` is a page without an article."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.entries: list[tuple[str, str]] = []  # (title, path)
        self.release = threading.Event()
        self.slow_started = threading.Event()
        self.lock = threading.Lock()
        server.expect_request("/feed.xml").respond_with_handler(self._feed)
        server.expect_request(re.compile(r"^/fast/\d+$")).respond_with_handler(self._fast)
        server.expect_request(re.compile(r"^/slow/\d+$")).respond_with_handler(self._slow)
        server.expect_request(re.compile(r"^/empty/\d+$")).respond_with_data(
            "<html><body><nav>menu only</nav></body></html>", content_type="text/html"
        )

    @property
    def feed_url(self) -> str:
        return self.server.url_for("/feed.xml")

    def publish(self, title: str, path: str) -> None:
        with self.lock:
            self.entries.append((title, path))

    def _feed(self, _request: Request) -> WResponse:
        base = self.server.url_for("").rstrip("/")
        with self.lock:
            entries = list(self.entries)
        items = "".join(
            f"<item><title>{title}</title><link>{base}{path}</link><guid>{path}</guid>"
            f"<pubDate>{format_datetime(BASE_TIME + timedelta(minutes=i))}</pubDate></item>"
            for i, (title, path) in enumerate(entries)
        )
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Site</title>{items}</channel></rss>'
        return WResponse(body, content_type="application/rss+xml; charset=utf-8")

    def _fast(self, request: Request) -> WResponse:
        return WResponse(page(self._title(request.path)), content_type="text/html; charset=utf-8")

    def _slow(self, request: Request) -> WResponse:
        self.slow_started.set()
        self.release.wait(timeout=30)
        return WResponse(page(self._title(request.path)), content_type="text/html; charset=utf-8")

    def _title(self, path: str) -> str:
        with self.lock:
            return next((t for t, p in self.entries if p == path), "Unknown")


def daemon_config(folder: Path, site: Site, **daemon: object) -> Path:
    return write_config(
        folder,
        [{"name": "Site", "url": site.feed_url, "interval": 1}],
        daemon={"listen": "127.0.0.1:0", "tick_seconds": 0.2, "grace_seconds": 5, **daemon},
    )


class DaemonProcess:
    """`scraper run` in a subprocess; stderr (the log) to a file."""

    def __init__(
        self, config: Path, *args: str, env: dict[str, str] | None = None, wait: bool = True
    ) -> None:
        self.log_path = config.parent / f"daemon-{time.monotonic_ns()}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        with self.log_path.open("wb") as log:  # the child writes its own copy; the file is read by path
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "scraper", "run", "--config", str(config), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self.url = self._wait_for_listener() if wait else None

    def wait_started(self) -> None:
        """For a process started with `wait=False` (several started at once)."""
        self.url = self._wait_for_listener()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def _wait_for_listener(self) -> str | None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            match = re.search(r"(http://127\.0\.0\.1:\d+)/healthz", self.log())
            if match:
                return match.group(1)
            if "listener off" in self.log():
                return None
            if self.proc.poll() is not None:
                raise AssertionError(f"scraper run exited {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.05)
        raise AssertionError(f"scraper run did not start in 20 s:\n{self.log()}")

    def get(self, path: str) -> httpx.Response:
        assert self.url
        return httpx.get(self.url + path, timeout=5, trust_env=False)

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 20) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        return self.wait()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def statuses(folder: Path) -> dict[str, str]:
    """Article status by page path without the leading slash ("fast/1")."""
    engine = make_engine(f"sqlite:///{folder / 'archive.db'}")
    try:
        with session_factory(engine)() as session:
            return {urlsplit(a.url).path[1:]: a.status for a in session.scalars(select(Article))}
    finally:
        engine.dispose()


def post_files(folder: Path) -> dict[str, str]:
    """The posts written so far: not the writer's temporary files (`.name.xxxxxxxx.tmp`), which a running
    daemon renames away between the listing and the reading."""
    posts = folder / "_posts"
    found: dict[str, str] = {}
    for path in sorted(posts.glob("*")) if posts.exists() else []:
        if path.name.startswith("."):
            continue
        try:
            found[path.name] = path.read_text(encoding="utf-8")
        except FileNotFoundError:  # removed meanwhile (a post moved by a rename, say)
            continue
    return found


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@contextmanager
def site_running() -> Iterator[Site]:
    """A `Site` on a threaded local server; the answers it holds back are let go at the end."""
    with httpserver_on() as server:
        site = Site(server)
        try:
            yield site
        finally:
            site.release.set()
