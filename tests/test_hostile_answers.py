"""Hostile answers, round three (task H, session 16): what a site sends that the last reviews let through,
each through `scraper once` and `scraper status` where the operator meets it.

Found by running `scraper once` against a raw hostile server:
- a 206 Partial Content answered to a request that asked for no range was archived as the whole page
  (a post holding the first 100 bytes of the article) and, as a feed, parsed as the whole feed;
- a robots.txt saved with a UTF-8 byte order mark lost its first line: `User-agent: *` went unread, so
  its group's `Disallow` was never applied and the page it forbids was fetched;
- a UTF-16 page without a byte order mark, unlabelled (or labelled only "utf-16", which says no byte
  order), is all ASCII bytes and NULs: it was decoded as UTF-8 and its markup archived as the article's
  text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scraper.charset import decode
from tests import hostile
from tests.conftest import run_cli, write_config
from tests.daemon_helpers import page
from tests.hostile import HostileServer, articles_of
from tests.test_hostile_status import _status

RSS = {"Content-Type": "application/rss+xml"}


@pytest.fixture
def site() -> Iterator[HostileServer]:
    server = HostileServer("127.0.0.2")
    with server.running():
        yield server


def rss(links: dict[str, str]) -> str:
    items = "".join(
        f"<item><title>{guid}</title><link>{link}</link><guid>{guid}</guid></item>"
        for guid, link in links.items()
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'


# --- 206 Partial Content, never asked for ---------------------------------------------------------------


def test_a_partial_page_never_asked_for_is_not_archived_as_the_page(
    tmp_path: Path, site: HostileServer
) -> None:
    whole = page("Partial").encode()
    site.route("/f.xml", hostile.respond(200, rss({"cut": site.url("/cut"), "good": site.url("/good")}), RSS))
    site.route(
        "/cut",
        hostile.respond(206, whole[:200], {"Content-Type": "text/html", "Content-Range": "bytes 0-199/9999"}),
    )
    site.route("/good", hostile.html(page("Good")))
    text = _status(tmp_path, {"site": site.url("/f.xml")})
    articles = articles_of(tmp_path)
    assert articles["good"].status == "archived"
    cut = articles["cut"]
    assert cut.status == "pending" and cut.next_attempt_at is not None, cut.status  # a later try may be whole
    assert "HTTP 206" in (cut.last_error or "") and "partial" in (cut.last_error or "")
    assert "HTTP 206" in text and "partial" in text
    assert not any("Partial" in p.name for p in (tmp_path / "_posts").iterdir())


def test_a_partial_feed_never_asked_for_fails_its_poll(tmp_path: Path, site: HostileServer) -> None:
    site.route("/f.xml", hostile.respond(206, rss({"one": site.url("/one")}), RSS))
    site.route("/one", hostile.html(page("One")))
    text = _status(tmp_path, {"site": site.url("/f.xml")})
    assert articles_of(tmp_path) == {}
    assert "HTTP 206" in text and "partial" in text


# --- robots.txt with a byte order mark -------------------------------------------------------------------


@pytest.mark.parametrize("bom", [b"\xef\xbb\xbf", b""])
def test_a_robots_txt_with_a_byte_order_mark_is_obeyed(
    tmp_path: Path, site: HostileServer, bom: bytes
) -> None:
    robots = bom + b"User-agent: *\nDisallow: /private/\n"
    site.route("/robots.txt", hostile.respond(200, robots, {"Content-Type": "text/plain"}))
    site.route(
        "/f.xml", hostile.respond(200, rss({"no": site.url("/private/a"), "yes": site.url("/a")}), RSS)
    )
    site.route("/private/a", hostile.html(page("Private")))
    site.route("/a", hostile.html(page("Public")))
    config = write_config(
        tmp_path, [{"name": "site", "url": site.url("/f.xml")}], http={"respect_robots": True}
    )
    run_cli("once", "--config", str(config))
    articles = articles_of(tmp_path)
    assert articles["yes"].status == "archived"
    assert articles["no"].status == "failed" and "disallowed" in (articles["no"].last_error or "")


def test_a_robots_txt_answered_in_part_is_no_rules_and_nothing_is_fetched_by_it(
    tmp_path: Path, site: HostileServer
) -> None:
    """A 206 (never asked for) robots.txt may be cut before its Disallow lines: read as the rules, it let a
    forbidden page be fetched. It is a robots.txt not to be had for now: the site's pages wait."""
    cut = b"User-agent: *\n"  # "Disallow: /private/" cut off
    site.route("/robots.txt", hostile.respond(206, cut, {"Content-Type": "text/plain"}))
    site.route("/f.xml", hostile.respond(200, rss({"no": site.url("/private/a")}), RSS))
    site.route("/private/a", hostile.html(page("Private")))
    config = write_config(
        tmp_path, [{"name": "site", "url": site.url("/f.xml")}], http={"respect_robots": True}
    )
    run_cli("once", "--config", str(config))
    article = articles_of(tmp_path)["no"]
    assert article.status == "pending" and "206" in (article.last_error or "")
    assert site.hits.get("/private/a", 0) == 0


# --- UTF-16 without a byte order mark --------------------------------------------------------------------

HTML = "<!doctype html><html><head><title>Cafe</title></head><body><p>Plain text</p></body></html>"
HTML_NON_ASCII = (
    "<!doctype html><html><head><title>Café</title></head><body><p>Ünïcödé — 中文</p></body></html>"
)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize(
    "content_type", [None, "text/html", "text/html; charset=utf-16", "text/html; charset=utf-8"]
)
def test_a_utf16_or_utf32_page_without_a_bom_decodes_to_its_text(
    codec: str, content_type: str | None
) -> None:
    text, _ = decode(HTML.encode(codec), content_type)
    assert text == HTML


@pytest.mark.parametrize(
    "body", [b"plain ascii", b"a\x00b", "中文".encode("gb18030") + b"\x00", b"\x00" * 64, b""]
)
def test_nul_bytes_alone_are_no_utf16(body: bytes) -> None:
    _, codec = decode(body, "text/html")
    assert "utf-16" not in codec and "utf-32" not in codec, codec


def test_a_utf16_page_without_a_bom_is_archived_as_its_text(tmp_path: Path, site: HostileServer) -> None:
    site.route("/f.xml", hostile.respond(200, rss({"u16": site.url("/u16")}), RSS))
    site.route(
        "/u16", hostile.respond(200, page("Sixteen").encode("utf-16-be"), {"Content-Type": "text/html"})
    )
    config = write_config(tmp_path, [{"name": "site", "url": site.url("/f.xml")}])
    assert run_cli("once", "--config", str(config)).exit_code == 0
    (post,) = (tmp_path / "_posts").iterdir()
    body = post.read_text(encoding="utf-8").split("<div>", 1)[1]
    assert "&lt;" not in body and "<p>" in body
