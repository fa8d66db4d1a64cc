"""pywb replays the archive on loopback: from the captures of a run, and from the WARCs `scraper export
--warc` makes of stored pages. pywb is the `replay` extra; without it these tests are skipped."""

from __future__ import annotations

import gzip
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.capture_site import CaptureSite
from tests.conftest import run_cli, write_config

pytest.importorskip("pywb", reason="pywb is not installed (pip install -e '.[replay]')")

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def wayback(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A pywb server on loopback over the collections folder in `tmp_path/pywb` (added to before use)."""
    root = tmp_path / "pywb"
    root.mkdir()
    port = free_port()
    yield root, port


def start(root: Path, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [BIN / "wayback", "-p", str(port), "-b", "127.0.0.1"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError("pywb did not start within 60 s")


def collection(root: Path, name: str, warcs: list[Path]) -> None:
    subprocess.run([BIN / "wb-manager", "init", name], cwd=root, check=True, capture_output=True)
    subprocess.run([BIN / "wb-manager", "add", name, *warcs], cwd=root, check=True, capture_output=True)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def replay(port: int, name: str, url: str) -> tuple[int, dict[str, str], bytes]:
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(f"http://127.0.0.1:{port}/{name}/2030id_/{url}", timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as answer:
        return answer.code, dict(answer.headers), answer.read()


def test_pywb_replays_captured_and_exported_pages(
    httpserver: HTTPServer, tmp_path: Path, wayback: tuple[Path, int]
) -> None:
    site = CaptureSite(httpserver)
    live = tmp_path / "live"
    live.mkdir()
    assert run_cli("once", "--config", str(site.config(live))).exit_code == 0
    stored = tmp_path / "stored"
    stored.mkdir()
    config = write_config(stored, [{"name": "Site", "url": site.url("/feed.xml")}])
    assert run_cli("once", "--config", str(config)).exit_code == 0
    assert run_cli("export", "--config", str(config), "--warc", str(stored / "out")).exit_code == 0
    requests_seen = len(httpserver.log)

    root, port = wayback
    collection(root, "live", sorted((live / "warc").glob("*.warc.gz")))
    collection(root, "stored", sorted((stored / "out").glob("*.warc.gz")))
    server = start(root, port)
    try:
        status, headers, body = replay(port, "live", site.url("/a/gzip"))
        assert status == 200 and headers.get("X-Archive-Orig-Content-Encoding") == "gzip"
        assert body == gzip.decompress(site.sent["/a/gzip"])
        status, _headers, body = replay(port, "live", site.url("/a/big5"))
        assert (status, body) == (200, site.sent["/a/big5"])
        status, headers, _body = replay(port, "live", site.url("/a/moved"))
        assert status == 301 and headers["Location"].endswith("/a/new")
        for path in ("/a/plain", "/a/chunked", "/a/new"):
            assert replay(port, "live", site.url(path))[2] == site.sent[path], path

        status, headers, body = replay(port, "stored", site.url("/a/big5"))
        assert (status, body) == (200, site.sent["/a/big5"])
        assert headers["Content-Type"] == "text/html; charset=big5"
        assert replay(port, "stored", site.url("/a/gzip"))[2] == gzip.decompress(site.sent["/a/gzip"])
    finally:
        server.kill()
        server.wait()
    assert len(httpserver.log) == requests_seen  # replayed from the archive, not fetched again
