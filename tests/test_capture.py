"""WARC captures of a run over a loopback site: valid files, exact bytes, where each capture is."""

from __future__ import annotations

import gzip
import re
import socket
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator
from werkzeug import Response as WResponse

from scraper.store.db import make_engine, session_factory
from scraper.store.models import Article, RawPage
from tests import hostile
from tests.capture_site import CaptureSite
from tests.conftest import run_cli, write_config
from tests.hostile import HostileServer

HERITRIX_NAME = re.compile(r"^scraper-\d{17}-\d{5}-[a-z0-9.-]+-\d+\.warc\.gz$")
WARCIO = Path(sys.executable).parent / "warcio"
CDXJ_INDEXER = Path(sys.executable).parent / "cdxj-indexer"


def read_records(path: Path) -> list[tuple[str, dict[str, str], bytes, bytes]]:
    """(type, WARC headers, HTTP header block, payload) of every record, as the bytes in the file (one
    gzip member a record); warcio reads them all too, checking every digest."""
    with path.open("rb") as stream:
        kinds = [record.rec_type for record in ArchiveIterator(stream, check_digests="raise")]
    records = []
    data = path.read_bytes()
    while data:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        record = inflater.decompress(data)
        data = inflater.unused_data
        warc_head, _, block = record.partition(b"\r\n\r\n")
        lines = warc_head.decode().split("\r\n")[1:]
        warc = dict(line.split(": ", 1) for line in lines)
        block = block[: int(warc["Content-Length"])]
        head, body = block.split(b"\r\n\r\n", 1) if warc["WARC-Type"] != "warcinfo" else (b"", block)
        records.append((warc["WARC-Type"], warc, head, body))
    assert [kind for kind, *_ in records] == kinds
    return records


@pytest.fixture
def site(httpserver: HTTPServer) -> CaptureSite:
    return CaptureSite(httpserver)


def test_a_run_writes_valid_warcs_with_the_bytes_as_sent(site: CaptureSite, tmp_path: Path) -> None:
    result = run_cli("once", "--config", str(site.config(tmp_path)))
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "warc").iterdir())
    assert files and all(HERITRIX_NAME.match(f.name) for f in files), files  # closed: no .open left

    responses: dict[str, tuple[dict[str, str], bytes, bytes]] = {}
    for path in files:
        records = read_records(path)
        assert records[0][0] == "warcinfo" and b"software: scraper/" in records[0][3]
        for kind, warc, head, body in records[1:]:
            assert warc["WARC-Date"].endswith("Z") and warc["WARC-Type"] == kind
            if kind == "response":
                assert warc["WARC-IP-Address"] == "127.0.0.1"
                assert warc["WARC-Payload-Digest"].startswith("sha1:")
                responses[warc["WARC-Target-URI"]] = (warc, head, body)
            else:
                assert kind == "request" and head.startswith(b"GET /a/")
        check = subprocess.run([WARCIO, "check", "-v", path], capture_output=True, text=True)
        assert check.returncode == 0 and "digest pass" in check.stdout, check.stdout + check.stderr

    assert site.url("/feed.xml") not in responses  # feed polls only when [warc] feeds = true
    for path in (*CaptureSite.ARTICLES, "/a/new"):
        _warc, head, body = responses[site.url(path)]
        assert body == site.sent[path], path  # gzip stays gzip; big5 stays big5
    assert b"Content-Encoding: gzip" in responses[site.url("/a/gzip")][1]
    # the status line as the server sent it (werkzeug's reason phrase; HTTP/1.0 or 1.1 as it is set up)
    assert re.match(rb"HTTP/1\.[01] 301 MOVED PERMANENTLY\r\n", responses[site.url("/a/moved")][1])
    assert b"Content-Length" not in responses[site.url("/a/chunked")][1]  # a body read to the close

    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    with session_factory(engine)() as session:
        pages = session.execute(select(Article.url, RawPage).join(RawPage)).all()
    engine.dispose()
    assert len(pages) == len(CaptureSite.ARTICLES)
    for _url, raw in pages:
        assert raw.warc_file is not None and raw.warc_offset is not None
        with (tmp_path / "warc" / raw.warc_file).open("rb") as stream:
            stream.seek(raw.warc_offset)
            record = next(iter(ArchiveIterator(stream)))
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Target-URI") == raw.url

    index = subprocess.run([CDXJ_INDEXER, *files], capture_output=True, text=True)
    assert index.returncode == 0, index.stderr
    indexed = {line.split(" ", 2)[2] for line in index.stdout.splitlines()}
    for path in CaptureSite.ARTICLES:
        assert any(f'"url": "{site.url(path)}"' in entry for entry in indexed), path


def test_feed_polls_are_captured_when_asked(site: CaptureSite, tmp_path: Path) -> None:
    result = run_cli("once", "--config", str(site.config(tmp_path, feeds=True)))
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "warc").iterdir()
    responses = {w["WARC-Target-URI"]: body for kind, w, _h, body in read_records(path) if kind == "response"}
    assert responses[site.url("/feed.xml")] == site.sent["/feed.xml"]


def test_files_rotate_by_size_each_with_its_warcinfo(site: CaptureSite, tmp_path: Path) -> None:
    result = run_cli("once", "--config", str(site.config(tmp_path, max_file_bytes=2000)))
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "warc").iterdir())
    assert len(files) >= 3
    serials = [int(f.name.split("-")[2]) for f in files]
    assert serials == list(range(len(files)))
    pairs = 0
    for path in files:
        kinds = [kind for kind, *_ in read_records(path)]
        assert kinds[0] == "warcinfo" and kinds.count("warcinfo") == 1
        assert kinds[1:] == ["response", "request"] * (len(kinds[1:]) // 2)
        pairs += len(kinds[1:]) // 2
    assert pairs == len(CaptureSite.ARTICLES) + 1  # and the redirect's target


def test_the_raw_body_kept_is_bounded_by_the_size_cap(httpserver: HTTPServer, tmp_path: Path) -> None:
    """Junk after the end of a gzip stream is ignored by the decoder, so it is no bound on what comes:
    the capture keeps the cap's worth and says the record is truncated."""
    text = ("<html><body><article>" + "<p>words words words</p>" * 50 + "</article></body></html>").encode()
    body = gzip.compress(text) + b"\0" * 5000
    httpserver.expect_request("/a").respond_with_response(
        WResponse(body, content_type="text/html", headers={"Content-Encoding": "gzip"})
    )
    link = httpserver.url_for("/a")
    feed = f'<rss version="2.0"><channel><item><link>{link}</link></item></channel></rss>'
    httpserver.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")

    config = write_config(
        tmp_path,
        [{"name": "F", "url": httpserver.url_for("/feed.xml")}],
        http={"max_body_bytes": 4000},
        warc={"dir": "warc"},
    )
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 0 and "archived 1" in result.output, result.output
    (path,) = (tmp_path / "warc").iterdir()
    (response,) = [(w, b) for kind, w, _h, b in read_records(path) if kind == "response"]
    assert response[0]["WARC-Truncated"] == "length"
    assert response[1] == body[:4000]


def chunked(body: bytes, content_type: str = "text/html; charset=utf-8") -> hostile.Handler:
    """HTTP/1.1 chunked transfer coding, in chunks of 100 bytes."""

    def handler(sock: socket.socket, request: hostile.Request) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n"
        parts = [head.encode() + b"Connection: close\r\n\r\n"]
        for start in range(0, len(body), 100):
            piece = body[start : start + 100]
            parts.append(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        sock.sendall(b"".join(parts) + b"0\r\n\r\n")

    return handler


def test_captures_keep_the_defences(tmp_path: Path) -> None:
    """With captures on, a hostile server fails its article for the same reason as without, nothing over
    the cap is kept, a redirect loop writes a bounded number of records; a chunked page is kept de-chunked
    and read back by warcio."""
    page = (
        b"<html><body><article>"
        + b"<p>chunked words, a good many of them</p>" * 20
        + b"</article></body></html>"
    )
    server = HostileServer("127.0.0.1")
    links = ["/chunked", "/endless", "/bomb", "/loop-a"]
    items = "".join(f"<item><link>{server.url(p)}</link><guid>{p}</guid></item>" for p in links)
    server.route(
        "/feed.xml", hostile.html(f'<rss version="2.0"><channel>{items}</channel></rss>', "text/xml")
    )
    server.route("/chunked", chunked(page))
    server.route("/endless", hostile.endless())
    server.route("/bomb", hostile.gzip_bomb(50_000_000, "text/html"))
    server.route("/loop-a", hostile.redirect("/loop-b"))
    server.route("/loop-b", hostile.redirect("/loop-a"))
    http = {"max_body_bytes": 200_000, "timeout": 5.0, "max_redirects": 3}
    with server.running():
        config = write_config(
            tmp_path, [{"name": "H", "url": server.url("/feed.xml")}], http=http, warc={"dir": "warc"}
        )
        result = run_cli("once", "--config", str(config))
    assert "archived 1" in result.output and "failed 3" in result.output, result.output
    lines = result.output.splitlines()
    for path in ("/endless", "/bomb"):  # the reason it has without captures
        assert any(server.url(path) in line and "200000-byte cap" in line for line in lines), path
    assert "redirect loop" in result.output

    (path,) = (tmp_path / "warc").iterdir()
    responses = [(w["WARC-Target-URI"], h, b) for kind, w, h, b in read_records(path) if kind == "response"]
    urls = [url for url, _h, _b in responses]
    assert server.url("/endless") not in urls and server.url("/bomb") not in urls  # no whole answer
    assert urls.count(server.url("/loop-a")) == 1 and urls.count(server.url("/loop-b")) == 1
    (chunked_head, chunked_body) = next((h, b) for u, h, b in responses if u == server.url("/chunked"))
    assert b"Transfer-Encoding: chunked" in chunked_head and chunked_body == page
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response" and record.rec_headers.get_header("WARC-Target-URI") == (
                server.url("/chunked")
            ):
                assert record.content_stream().read() == page  # a reader takes it as it is


@pytest.mark.parametrize(
    ("warc", "error"),
    [
        ({"prefix": "Scraper"}, "warc.prefix"),  # a WACZ's datapackage allows lower case only
        ({"prefix": "a~b"}, "warc.prefix"),
        ({"prefix": "a--b"}, "warc.prefix"),
        ({"max_file_bytes": 0}, "warc.max_file_bytes"),
        ({"feeds": "sometimes"}, "warc.feeds"),
        ({"colour": "red"}, "warc.colour: unknown key"),
    ],
)
def test_bad_warc_settings_are_config_errors(tmp_path: Path, warc: dict[str, object], error: str) -> None:
    config = write_config(tmp_path, [], warc=warc)
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 2 and error in result.output, result.output


def test_the_capture_folder_is_relative_to_the_config_and_off_by_default(tmp_path: Path) -> None:
    from scraper.config import load_config

    assert load_config(write_config(tmp_path, []), env={}).warc.dir is None
    config = load_config(write_config(tmp_path, [], warc={"dir": "captures"}), env={})
    assert config.warc.dir == tmp_path / "captures"
    from_env = load_config(write_config(tmp_path, []), env={"SCRAPER_WARC_DIR": str(tmp_path / "w")})
    assert from_env.warc.dir == tmp_path / "w"


def test_a_refused_redirect_is_captured(tmp_path: Path) -> None:
    """A redirect whose Location is refused (a port no URL can hold) fails its article as before, and the
    3xx the server sent is in the WARC all the same: the evidence of what the page said."""
    server = HostileServer("127.0.0.1")
    server.route("/bad-port", hostile.redirect("http://127.0.0.1:99999/x", 301))
    server.route(
        "/ok", hostile.html("<html><body><article><p>" + "words " * 40 + "</p></article></body></html>")
    )
    items = "".join(
        f"<item><link>{server.url(p)}</link><guid>{p}</guid></item>" for p in ("/bad-port", "/ok")
    )
    server.route(
        "/feed.xml", hostile.html(f'<rss version="2.0"><channel>{items}</channel></rss>', "text/xml")
    )
    with server.running():
        config = write_config(tmp_path, [{"name": "H", "url": server.url("/feed.xml")}], warc={"dir": "warc"})
        result = run_cli("once", "--config", str(config))
    assert "archived 1" in result.output and "failed 1" in result.output, result.output
    assert "redirect to an unusable URL" in result.output
    (path,) = (tmp_path / "warc").iterdir()
    responses = {w["WARC-Target-URI"]: h for kind, w, h, _b in read_records(path) if kind == "response"}
    assert set(responses) == {server.url("/bad-port"), server.url("/ok")}
    assert responses[server.url("/bad-port")].startswith(b"HTTP/1.1 301 ")
    assert b"Location: http://127.0.0.1:99999/x" in responses[server.url("/bad-port")]


def test_a_capture_that_cannot_be_written_fails_alone_and_is_shown(
    site: CaptureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while one page's records are written: that capture is lost (the file stays readable),
    the page is archived all the same, the rest are captured, and `status` counts it with its reason."""
    from scraper.capture import writer

    real_write = writer._write_all

    def write(fd: int, data: bytes) -> None:
        if b"/a/gzip" in gzip.decompress(data):
            real_write(fd, data[: len(data) // 2])  # half of it went out before the disk filled up
            raise OSError(28, "No space left on device", "warc")
        real_write(fd, data)

    monkeypatch.setattr(writer, "_write_all", write)
    config = site.config(tmp_path)
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 0 and f"archived {len(CaptureSite.ARTICLES)}" in result.output, result.output
    (path,) = (tmp_path / "warc").iterdir()
    captured = {w["WARC-Target-URI"] for kind, w, *_ in read_records(path) if kind == "response"}
    assert site.url("/a/gzip") not in captured and site.url("/a/plain") in captured
    with session_factory(make_engine(f"sqlite:///{tmp_path / 'archive.db'}"))() as session:
        page = session.scalars(select(RawPage).where(RawPage.url == site.url("/a/gzip"))).one()
        assert page.warc_file is None and page.body_zlib  # archived, no capture named
    status = run_cli("status", "--config", str(config))
    assert "WARC captures not written: 1" in status.output, status.output
    assert site.url("/a/gzip") in status.output and "No space left on device" in status.output


def test_history_and_posts_say_where_the_captures_are(site: CaptureSite, tmp_path: Path) -> None:
    """`scraper history` lists every capture of the page (the first archive's, then each revisit's) by file
    and offset, each a response record of that URL; `front_matter = ["capture"]` puts the first one in
    the post (written by `scraper export`), and a post without the key stays as it was."""
    from datetime import timedelta

    from sqlalchemy import update

    from scraper.store.models import utcnow

    config = site.config(tmp_path)
    assert run_cli("once", "--config", str(config)).exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    with session_factory(engine).begin() as session:
        session.execute(update(Article).values(revisit_at=utcnow() - timedelta(seconds=1)))
    assert run_cli("once", "--config", str(config)).exit_code == 0
    url = site.url("/a/plain")
    result = run_cli("history", "--config", str(config), url)
    assert result.exit_code == 0, result.output
    lines = result.output.split("captures (WARC file, offset of the response record):\n")[1].splitlines()
    captures = [line.split() for line in lines if line.startswith("  ")]
    assert len(captures) == 2, result.output
    assert lines[0].endswith("(first archive)") and lines[1].endswith("(revisit, HTTP 200)")
    for _day, _time, _utc, name, offset, *_ in captures:
        path = tmp_path / "warc" / name
        with path.open("rb") as stream:
            stream.seek(int(offset))
            record = next(iter(ArchiveIterator(stream)))
            assert record.rec_type == "response" and record.rec_headers.get_header("WARC-Target-URI") == url

    posts = tmp_path / "_posts"
    before = {p.name: p.read_bytes() for p in posts.iterdir()}
    assert all(b"capture:" not in text for text in before.values())
    config.write_text(
        config.read_text().replace('dir = "_posts"\n', 'dir = "_posts"\nfront_matter = ["capture"]\n', 1)
    )
    assert run_cli("export", "--config", str(config)).exit_code == 0
    with session_factory(engine)() as session:
        article = session.scalars(select(Article).where(Article.url == url)).one()
        assert article.page is not None
        post = (posts / (article.post_path or "")).read_text(encoding="utf-8")
        expected = f"capture: {{ warc: {article.page.warc_file}, offset: {article.page.warc_offset} }}\n"
    assert expected in post.split("---\n")[1]


def test_capture_key_is_in_the_post_from_its_first_write(site: CaptureSite, tmp_path: Path) -> None:
    """With `front_matter = ["capture"]` set before the first run, the post the run writes already names
    its page's WARC record (no `scraper export` needed), and it is the record the database names."""
    config = site.config(tmp_path)
    config.write_text(
        config.read_text().replace('dir = "_posts"\n', 'dir = "_posts"\nfront_matter = ["capture"]\n', 1)
    )
    assert run_cli("once", "--config", str(config)).exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    with session_factory(engine)() as session:
        articles = session.scalars(select(Article).where(Article.post_path.is_not(None))).all()
        assert articles
        for article in articles:
            assert article.page is not None and article.page.warc_file
            front = (
                (tmp_path / "_posts" / (article.post_path or ""))
                .read_text(encoding="utf-8")
                .split("---\n")[1]
            )
            assert (
                f"capture: {{ warc: {article.page.warc_file}, offset: {article.page.warc_offset} }}\n"
                in front
            )


def test_reextract_reads_the_capture_where_the_database_keeps_no_page(
    site: CaptureSite, tmp_path: Path
) -> None:
    """Raw pages emptied in the database (a pruned archive): `backfill --reextract` reads each from its WARC
    capture (gzip and chunked as sent, Big5 as served) and extracts what the first run did; a capture that
    is not the page's (a wrong offset) fails that article alone, with the reason."""
    from sqlalchemy import update

    config = site.config(tmp_path)
    assert run_cli("once", "--config", str(config)).exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    with session_factory(engine).begin() as session:
        before = {
            row.url: row.content_text for row in session.execute(select(Article.url, Article.content_text))
        }
        assert all("words" in (text or "") or "新聞" in (text or "") for text in before.values())
        session.execute(update(RawPage).values(body_zlib=b""))
        session.execute(update(Article).values(content_text="", content_html=""))
        session.execute(update(RawPage).where(RawPage.url == site.url("/a/plain")).values(warc_offset=0))
    result = run_cli("backfill", "--config", str(config), "--reextract")
    assert "1 errors" in result.output and "not the response record of" in result.output, result.output
    with session_factory(engine)() as session:
        after = {
            row.url: row.content_text for row in session.execute(select(Article.url, Article.content_text))
        }
    assert after.pop(site.url("/a/plain")) == ""
    assert after == {url: text for url, text in before.items() if url != site.url("/a/plain")}
