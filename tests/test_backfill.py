"""`scraper backfill` against local servers: sitemaps, feed history, URL lists, re-extraction, resuming."""

from __future__ import annotations

import gzip
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
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request
from werkzeug import Response as WResponse

from scraper.cli import cli
from scraper.store.db import make_engine, session_factory
from scraper.store.models import Article, BackfillDocument, Feed
from scraper.store.runlock import run_lock
from tests.conftest import run_cli, write_config
from tests.local_servers import httpserver_on
from tests.test_once import PARAGRAPHS, article_page

RULE = {
    "selector": ".article-content-rawhtml",
    "remove": ["[id^=dfp-ad-]", "#innity-in-post", ".overlay-microtransaction", "a[href*='subscribe.']"],
}
HTML = "text/html; charset=utf-8"


def serve_pages(server: HTTPServer, paths: list[str]) -> None:
    for path in paths:
        server.expect_request(path).respond_with_data(
            article_page(f"页面 {path}", PARAGRAPHS), content_type=HTML
        )


def articles(folder: Path) -> dict[str, Article]:
    engine = make_engine(f"sqlite:///{folder / 'archive.db'}")
    with session_factory(engine)() as session:
        feeds = {f.id: f.name for f in session.scalars(select(Feed))}
        rows = {a.canonical_url: a for a in session.scalars(select(Article))}
    engine.dispose()
    for row in rows.values():
        row.feed_name = feeds.get(row.feed_id)  # type: ignore[attr-defined]
    return rows


def requested(server: HTTPServer) -> Counter[str]:
    return Counter(r.full_path.rstrip("?") for r, _ in server.log)


def posts(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted((folder / "_posts").glob("*.md"))}


# --- sitemaps -----------------------------------------------------------------------------------------------


def test_sitemap_index_with_gzipped_child_and_news_sitemap(httpserver: HTTPServer, tmp_path: Path) -> None:
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/robots.txt").respond_with_data(
        f"User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap_index.xml\n", content_type="text/plain"
    )
    httpserver.expect_request("/sitemap_index.xml").respond_with_data(
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}/sitemaps/2021-09.xml.gz</loc><lastmod>2021-10-01</lastmod></sitemap>"
        "<sitemap><loc>/sitemaps/news.xml</loc></sitemap>"
        f"<sitemap><loc>{base}/sitemaps/2019.xml</loc><lastmod>2019-12-31T23:00:00+00:00</lastmod></sitemap>"
        "</sitemapindex>",
        content_type="application/xml",
    )
    urlset = (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{base}/news/a</loc><lastmod>2021-09-10T10:00:00+08:00</lastmod></url>"
        f"<url><loc>{base}/news/b</loc><lastmod>2021-08-10</lastmod></url>"  # before --since
        f"<url><loc>{base}/about</loc><lastmod>2021-09-10</lastmod></url>"  # not --match
        f"<url><loc>{base}/news/2021/09/15/c</loc></url>"  # dated by its URL
        f"<url><loc>{base}/news/d</loc></url>"  # undated: kept
        f"<url><loc>{base}/news/e</loc><lastmod>2021-10-01T00:00:01Z</lastmod></url>"  # after --until
        "</urlset>"
    )
    httpserver.expect_request("/sitemaps/2021-09.xml.gz").respond_with_data(
        gzip.compress(urlset.encode()), content_type="application/x-gzip"
    )
    httpserver.expect_request("/sitemaps/news.xml").respond_with_data(
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"<url><loc>{base}/news/f</loc><news:news><news:publication><news:name>联合早报</news:name>"
        "<news:language>zh</news:language></news:publication>"
        "<news:publication_date>2021-09-20T08:00:00+08:00</news:publication_date>"
        "<news:title>新闻标题F</news:title></news:news></url>"
        f"<url><loc>{base}/news/a?utm_source=sitemap</loc></url>"  # the same article again
        "</urlset>",
        content_type="application/xml",
    )
    serve_pages(httpserver, ["/news/a", "/news/2021/09/15/c", "/news/d", "/news/f"])
    config = write_config(tmp_path, [{"name": "联合早报", "url": f"{base}/feed.xml", **RULE}])
    command = ["backfill", "--config", str(config), "--sitemap", f"{base}/", "--feed", "联合早报"]
    command += ["--since", "2021-09-01", "--until", "2021-09-30", "--match", "/news/"]

    result = run_cli(*command)
    assert result.exit_code == 0, result.output
    assert (
        "read 4 documents (1 skipped); found 8 URLs, 3 filtered out, 4 queued, 1 already known"
        in result.output
    )
    assert "archived 4, gone 0, retrying 0, failed 0; wrote 4 posts" in result.output
    rows = articles(tmp_path)
    assert set(rows) == {f"{base}/news/{p}" for p in ("a", "2021/09/15/c", "d", "f")}
    assert all(r.status == "archived" and r.feed_name == "联合早报" for r in rows.values())  # type: ignore[attr-defined]
    assert rows[f"{base}/news/f"].entry_title == "新闻标题F"
    assert rows[f"{base}/news/2021/09/15/c"].entry_published_at.isoformat() == "2021-09-15T00:00:00+00:00"
    files = posts(tmp_path)
    assert any(name.endswith("-新闻标题F.md") for name in files)  # the news sitemap's title
    assert all("author: 联合早报\n" in text for text in files.values())
    seen = requested(httpserver)
    assert "/sitemaps/2019.xml" not in seen  # its lastmod says nothing in it is new enough
    assert not {"/news/b", "/about", "/news/e"} & set(seen)

    httpserver.clear_log()
    again = run_cli(*command)
    assert again.exit_code == 0, again.output
    assert "read 2 documents (3 skipped)" in again.output
    assert set(requested(httpserver)) == {"/robots.txt", "/sitemap_index.xml"}  # no page, no child again


def test_sitemap_read_again_when_its_lastmod_changes_and_errors_are_reported(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    base = httpserver.url_for("").rstrip("/")
    lastmod = {"value": "2021-09-01"}

    def index(_request: Request) -> WResponse:
        return WResponse(
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{base}/s1.xml</loc><lastmod>{lastmod['value']}</lastmod></sitemap>"
            f"<sitemap><loc>{base}/broken.xml</loc></sitemap></sitemapindex>",
            content_type="application/xml",
        )

    httpserver.expect_request("/index.xml").respond_with_handler(index)
    httpserver.expect_request("/s1.xml").respond_with_data(
        f"{base}/p/1\n{base}/p/2\n",
        content_type="text/plain",  # a text sitemap
    )
    httpserver.expect_request("/broken.xml").respond_with_data(
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><urlset>&lol;</urlset>',
        content_type="application/xml",
    )
    serve_pages(httpserver, ["/p/1", "/p/2"])
    config = write_config(tmp_path, [])
    result = run_cli("backfill", "--config", str(config), "--sitemap", f"{base}/index.xml")
    assert result.exit_code == 1, result.output  # the refused sitemap is an error; the rest was done
    assert "DTD or entities: refused" in result.output and "archived 2" in result.output

    httpserver.clear_log()
    lastmod["value"] = "2021-09-02"
    result = run_cli("backfill", "--config", str(config), "--sitemap", f"{base}/index.xml")
    assert requested(httpserver)["/s1.xml"] == 1 and "0 queued, 2 already known" in result.output


# --- feed history -------------------------------------------------------------------------------------------


def rss_page(base: str, items: list[tuple[str, str]], extra: str = "") -> str:
    xml_items = "".join(
        f"<item><title>文章 {slug}</title><link>{base}/wp/{slug}/</link><guid>{base}/?p={slug}</guid>"
        f"<pubDate>{date}</pubDate><content:encoded><![CDATA[<p>正文 {slug}：{PARAGRAPHS[0]}</p>]]>"
        "</content:encoded></item>"
        for slug, date in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:atom="http://www.w3.org/2005/Atom">'
        f"<channel><title>WP</title><link>{base}/</link>{extra}{xml_items}</channel></rss>"
    )


WP_PAGES = {
    1: [("9", "Wed, 29 Sep 2021 10:00:00 +0800"), ("8", "Tue, 28 Sep 2021 10:00:00 +0800")],
    2: [("7", "Fri, 20 Aug 2021 10:00:00 +0800"), ("6", "Thu, 19 Aug 2021 10:00:00 +0800")],
    3: [("5", "Tue, 20 Jul 2021 10:00:00 +0800"), ("4", "Mon, 19 Jul 2021 10:00:00 +0800")],
}


@pytest.mark.parametrize("ignores_paging", [False, True])
def test_paged_wordpress_feed(httpserver: HTTPServer, tmp_path: Path, ignores_paging: bool) -> None:
    base = httpserver.url_for("").rstrip("/")

    def feed(request: Request) -> WResponse:
        page = 1 if ignores_paging else int(request.args.get("paged", "1"))
        if page not in WP_PAGES or request.path != "/wp/feed/":
            return WResponse("not found", status=404)
        return WResponse(rss_page(base, WP_PAGES[page]), content_type="application/rss+xml")

    httpserver.expect_request("/wp/feed/").respond_with_handler(feed)
    httpserver.expect_request("/wp/feed/page/2/").respond_with_handler(feed)
    config = write_config(tmp_path, [{"name": "WP", "url": f"{base}/wp/feed/", "content": "feed"}])
    result = run_cli("backfill", "--config", str(config), "--feed-history")
    assert result.exit_code == 0, result.output
    expected = 2 if ignores_paging else 6
    assert f"archived {expected}, gone 0" in result.output and f"wrote {expected} posts" in result.output
    seen = requested(httpserver)
    assert not any(path.startswith("/wp/") and "feed" not in path for path in seen)  # bodies from the feed
    if ignores_paging:  # both guesses repeat page 1: the end, and no error
        assert set(seen) == {"/wp/feed/", "/wp/feed/?paged=2", "/wp/feed/page/2/"}
    else:  # page 4 does not exist: the end, and no error
        assert set(seen) == {"/wp/feed/", "/wp/feed/?paged=2", "/wp/feed/?paged=3", "/wp/feed/?paged=4"}
    rows = articles(tmp_path)
    assert all(r.content_source == "feed" and r.feed_name == "WP" for r in rows.values())  # type: ignore[attr-defined]
    assert any("正文 9" in text for text in posts(tmp_path).values())


def atom_doc(base: str, name: str, entries: list[tuple[str, str]], prev: str | None) -> str:
    links = f'<link rel="self" href="{base}/atom/{name}.xml"/>'
    links += f'<link rel="prev-archive" href="{base}/atom/{prev}.xml"/>' if prev else ""
    archive = "<fh:archive/>" if name != "current" else ""
    items = "".join(
        f"<entry><title>Story {slug}</title><id>urn:story:{slug}</id><link href='{base}/story/{slug}'/>"
        f"<updated>{when}</updated></entry>"
        for slug, when in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        f'xmlns:fh="http://purl.org/syndication/history/1.0"><title>A</title><id>urn:a:{name}</id>'
        f"<updated>2021-09-30T00:00:00Z</updated>{archive}{links}{items}</feed>"
    )


def test_rfc5005_archive_chain_back_to_since_and_resumed(httpserver: HTTPServer, tmp_path: Path) -> None:
    base = httpserver.url_for("").rstrip("/")
    chain = {
        "current": ([("s9a", "2021-09-10T00:00:00Z"), ("s9b", "2021-09-01T00:00:00Z")], "2021-08"),
        "2021-08": ([("s8a", "2021-08-10T00:00:00Z"), ("s8b", "2021-08-01T00:00:00Z")], "2021-07"),
        "2021-07": ([("s7a", "2021-07-10T00:00:00Z"), ("s7b", "2021-07-01T00:00:00Z")], "2021-06"),
        "2021-06": ([("s6a", "2021-06-10T00:00:00Z"), ("s6b", "2021-06-01T00:00:00Z")], "2021-05"),
    }
    for name, (entries, prev) in chain.items():
        httpserver.expect_request(f"/atom/{name}.xml").respond_with_data(
            atom_doc(base, name, entries, prev), content_type="application/atom+xml"
        )
    serve_pages(httpserver, [f"/story/{slug}" for entries, _ in chain.values() for slug, _ in entries])
    config = write_config(tmp_path, [{"name": "Atom", "url": f"{base}/atom/current.xml", **RULE}])
    command = [
        "backfill",
        "--config",
        str(config),
        "--feed-history",
        "--feed",
        "Atom",
        "--since",
        "2021-07-01",
    ]

    result = run_cli(*command)
    assert result.exit_code == 0, result.output
    assert "history of Atom: read 4 documents (0 skipped); found 8 URLs, 2 filtered out, 6 queued" in (
        result.output
    )
    assert "archived 6" in result.output and "wrote 6 posts" in result.output
    seen = requested(httpserver)
    assert "/atom/2021-05.xml" not in seen  # June is all before --since: the walk ends there
    assert not {"/story/s6a", "/story/s6b"} & set(seen)

    httpserver.clear_log()
    again = run_cli(*command)
    assert "read 1 documents (3 skipped)" in again.output
    assert set(requested(httpserver)) == {"/atom/current.xml"}  # the archives are never fetched again


# --- URL lists, per-host limits, resume ---------------------------------------------------------------------


@pytest.fixture
def two_hosts() -> Iterator[tuple[HTTPServer, HTTPServer, dict[str, int]]]:
    """Two threaded servers on two loopback addresses, recording the most requests in flight per host."""
    with httpserver_on("127.0.0.1") as one, httpserver_on("127.0.0.2") as two:
        peak: dict[str, int] = Counter()
        now: dict[str, int] = Counter()
        lock = threading.Lock()

        def handler(request: Request) -> WResponse:
            host = request.host.split(":")[0]
            with lock:
                now[host] += 1
                peak[host] = max(peak[host], now[host])
                peak["all"] = max(peak["all"], sum(v for k, v in now.items()))
            time.sleep(0.03)
            with lock:
                now[host] -= 1
            return WResponse(article_page(f"页 {request.path}", PARAGRAPHS), content_type=HTML)

        for server in (one, two):
            server.expect_request(re.compile(r"/a/\d+")).respond_with_handler(handler)
        yield one, two, peak


def test_urls_from_stdin_keep_the_per_host_limit(
    two_hosts: tuple[HTTPServer, HTTPServer, dict[str, int]], tmp_path: Path
) -> None:
    one, two, peak = two_hosts
    urls = [server.url_for(f"/a/{i}") for i in range(12) for server in (one, two)]
    config = write_config(tmp_path, [{"name": "Mixed", "url": "https://example.org/feed", **RULE}])
    listing = (
        "# a comment\n\n" + "\n".join(sorted(urls)) + "\nnot a url\n"
    )  # one host's URLs, then the other's
    result = CliRunner().invoke(
        cli,
        ["backfill", "--config", str(config), "--urls", "-", "--feed", "Mixed", "--per-host", "3"],
        input=listing,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "found 24 URLs, 0 filtered out, 24 queued" in result.output and "archived 24" in result.output
    assert peak["127.0.0.1"] == 3 and peak["127.0.0.2"] == 3  # never more, and used in full
    assert peak["all"] == 6  # both hosts at once, although the list gives one host's URLs first
    assert "archive: 24 to do" in result.output  # plain progress lines when not on a terminal


def test_interrupted_backfill_continues_and_never_refetches(
    two_hosts: tuple[HTTPServer, HTTPServer, dict[str, int]], tmp_path: Path
) -> None:
    one, _, _ = two_hosts
    urls = [one.url_for(f"/a/{i}") for i in range(40)]
    (tmp_path / "urls.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")
    config = write_config(tmp_path, [])
    command = ["backfill", "--config", str(config), "--urls", str(tmp_path / "urls.txt"), "--per-host", "1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "scraper", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 20
    while len(one.log) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 130, stderr
    assert "interrupted: run the same command again" in stderr

    first = articles(tmp_path)
    done_first = {url for url, row in first.items() if row.status == "archived"}
    assert 5 <= len(done_first) < 40 and len(first) == 40  # all queued, some archived, none lost
    assert len(posts(tmp_path)) == len(done_first) or len(posts(tmp_path)) == 0  # whole posts, if any
    fetched_first = Counter(r.url for r, _ in one.log)
    one.clear_log()

    result = run_cli(*command)
    assert result.exit_code == 0, result.output
    assert "0 queued, 40 already known" in result.output
    rows = articles(tmp_path)
    assert all(row.status == "archived" for row in rows.values()) and len(posts(tmp_path)) == 40
    fetched_again = {r.url for r, _ in one.log}
    assert not fetched_again & done_first  # an archived page is never fetched again
    assert len(fetched_again) == 40 - len(done_first)
    assert all(count == 1 for count in fetched_first.values())


# --- re-extraction ------------------------------------------------------------------------------------------


def test_reextract_rewrites_changed_posts_offline(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scraper.backfill import reextract

    monkeypatch.setattr(reextract, "BATCH", 2)  # 3 stored pages: two windows, the boundary crossed
    base = httpserver.url_for("").rstrip("/")
    serve_pages(httpserver, ["/x/1", "/x/2"])
    httpserver.expect_request("/x/3").respond_with_data(
        "<html><body><div class='story'>"
        + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
        + "</div></body></html>",
        content_type=HTML,
    )
    (tmp_path / "urls.txt").write_text(f"{base}/x/1\n{base}/x/2\n{base}/x/3\n", encoding="utf-8")
    first_rule = {**RULE, "remove": [*RULE["remove"], ".story"]}  # /x/3 has no text left: it fails
    config = write_config(tmp_path, [{"name": "X", "url": f"{base}/feed.xml", **first_rule}])
    result = run_cli("backfill", "--config", str(config), "--urls", str(tmp_path / "urls.txt"), "--feed", "X")
    assert "archived 2, gone 0, retrying 0, failed 1" in result.output
    before = posts(tmp_path)
    assert all("<figure>" in text for text in before.values())

    httpserver.clear_log()
    config = write_config(
        tmp_path,
        [
            {
                "name": "X",
                "url": f"{base}/feed.xml",
                "selector": ".article-content-rawhtml, .story",
                "remove": [*RULE["remove"], "figure"],
            }
        ],
    )
    result = run_cli("backfill", "--config", str(config), "--reextract")
    assert result.exit_code == 0, result.output
    assert (
        "re-extracted 3 stored pages: 3 changed (1 newly archived), 0 without text, 0 errors; rewrote 3 posts"
        in (result.output)
    )
    assert not httpserver.log  # offline
    after = posts(tmp_path)
    assert set(before) < set(after) and len(after) == 3
    assert all("<figure>" not in text for text in after.values())
    assert all(PARAGRAPHS[1] in text for text in after.values())

    mtimes = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "_posts").iterdir()}
    again = run_cli("backfill", "--config", str(config), "--reextract")
    assert "3 stored pages: 0 changed" in again.output and "rewrote 0 posts" in again.output
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "_posts").iterdir()} == mtimes


def test_backfill_needs_a_source_and_a_known_feed(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    assert run_cli("backfill", "--config", str(config)).exit_code == 2
    result = run_cli("backfill", "--config", str(config), "--feed-history", "--feed", "nope")
    assert result.exit_code == 2 and "no configured feed" in result.output
    result = run_cli("backfill", "--config", str(config), "--urls", "-", "--since", "yesterday")
    assert result.exit_code == 2 and "is not a date" in result.output
    assert BackfillDocument.__tablename__ == "backfill_documents"


def test_backfill_and_import_wait_their_turn_behind_a_running_daemon_or_cron_run(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    (tmp_path / "urls.txt").write_text("https://example.org/a\n", encoding="utf-8")
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    try:
        with run_lock(engine):
            result = run_cli("backfill", "--config", str(config), "--urls", str(tmp_path / "urls.txt"))
            assert result.exit_code == 1 and "backfill when it is done" in result.output
            result = run_cli("import", "--config", str(config), str(tmp_path / "urls.txt"))
            assert result.exit_code == 1 and "import when it is done" in result.output
    finally:
        engine.dispose()
    assert not (tmp_path / "archive.db").exists()  # nothing was touched
