"""Hostile servers, round three: answers whose headers lie or point anywhere, each costing its unit alone.

Found by attacking `scraper once` with a hostile site (break-a): a redirect's Location is a value from a
stranger like a feed's link, and must be judged as one (scraper.sanitize.checked_url) before anything
follows it, or httpx and the socket layer fail on it as "internal error".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text
from warcio.archiveiterator import ArchiveIterator

from scraper.errors import RedirectError
from scraper.fetch import check_location
from scraper.sanitize import RefusedValueError, checked_url, media_type
from scraper.store.db import make_engine, session_factory
from scraper.store.models import Article, RawPage
from tests import hostile
from tests.conftest import run_cli, write_config
from tests.hostile import HostileServer, articles_of

PARAGRAPH = "这是一段足够长的正文，用来确认文章被完整地抽取和保存下来。" * 4
PAGE = (
    "<html><head><meta charset='utf-8'><title>t</title></head>"
    f"<body><article><p>{PARAGRAPH}</p></article></body></html>"
)

# Locations no redirect may be followed to: schemes that are not the web, and URLs nothing can connect to.
BAD_LOCATIONS = {
    "data": "data:text/html,<p>x</p>",
    "javascript": "javascript:alert(document.cookie)",
    "vbscript": "vbscript:msgbox(1)",
    "file": "file:///etc/passwd",
    "port-high": "http://127.0.0.2:99999/x",
    "port-fullwidth": "http://127.0.0.2:８０/x",
    "bracket": "http://[::1",
    "octal": "http://0177.0.0.1/",
    "scheme-without-host": "http:b",  # httpx's redirect builder raised InvalidURL (an internal error)
    "nul": "http://127.0.0.2/a\x01b",
    "long": "/x?" + "a" * 3000,
}


@pytest.fixture
def site() -> Iterator[HostileServer]:
    server = HostileServer("127.0.0.2")
    with server.running():
        yield server


def rss(items: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<item><title>{guid}</title><link>{link}</link><guid>{guid}</guid>"
        "<pubDate>Wed, 29 Sep 2021 23:11:00 +0800</pubDate></item>"
        for guid, link in items
    )
    head = '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
    return f"{head}{body}</channel></rss>"


def test_a_redirect_to_an_unusable_location_fails_that_article_alone(
    tmp_path: Path, site: HostileServer
) -> None:
    items = [("good", site.url("/good"))] + [(name, site.url(f"/r/{name}")) for name in BAD_LOCATIONS]
    site.route("/feed.xml", hostile.respond(200, rss(items), {"Content-Type": "application/rss+xml"}))
    site.route("/good", hostile.html(PAGE))
    for name, location in BAD_LOCATIONS.items():
        raw = location.encode("utf-8").decode("latin-1")  # the bytes a server sends
        site.route(f"/r/{name}", hostile.respond(302, b"", {"Location": raw}))
    feeds: list[dict[str, object]] = [{"name": "Redirects", "url": site.url("/feed.xml")}]
    config = write_config(tmp_path, feeds, http={"retries": 0})
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 0, result.output
    articles = articles_of(tmp_path)
    assert articles["good"].status == "archived"
    for name in BAD_LOCATIONS:
        article = articles[name]
        assert article.status == "failed", (name, article.status, article.last_error)
        assert "redirect" in (article.last_error or ""), (name, article.last_error)
        assert "internal error" not in (article.last_error or ""), (name, article.last_error)
        assert len(article.last_error or "") < 600, (name, article.last_error)
    status = run_cli("status", "--config", str(config), env={"COLUMNS": "400"})
    assert "redirect to an unusable URL" in status.output, status.output


def _redirect(location: bytes) -> httpx.Response:
    request = httpx.Request("GET", "http://127.0.0.2:8080/a/b")
    return httpx.Response(302, headers=[(b"Location", location)], request=request)


@settings(max_examples=300, deadline=None)
@given(location=st.one_of(st.binary(max_size=40), st.text(max_size=40).map(lambda t: t.encode("utf-8"))))
def test_any_location_is_followable_or_refused(location: bytes) -> None:
    # Whatever a server writes in Location: refused with a reason, or one httpx can build a request for.
    response = _redirect(b"http://e.test" + location if location[:1] == b"/" else location)
    try:
        check_location(response)
    except RedirectError as exc:
        assert exc.reason.startswith("redirect to an unusable URL")
        return
    if response.has_redirect_location:
        httpx.AsyncClient()._build_redirect_request(response.request, response)


# --- header values that do not fit their column -------------------------------------------------------------

CONTENT_TYPES = {
    "long-parameter": "text/html; charset=utf-8; x=" + "y" * 400,
    "long-charset": "text/html; charset=" + "u" * 300,
    "long-type": "text/" + "h" * 300,
    "c1-charset": "text/html; charset=\x9b31m",
    "quoted": 'text/html; charset="utf-8"; q="' + ";" * 300 + '"',
}


def archive_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return "sqlite:///archive.db"
    engine: Engine = request.getfixturevalue("postgres_engine")
    with engine.connect() as connection:
        schema = connection.execute(text("select current_schema()")).scalar_one()
    return engine.url.set(query={"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return archive_url(request, tmp_path)


def url_of(article: Article) -> str:
    return article.url


def stored(database: str, tmp_path: Path) -> dict[str, tuple[Article, RawPage | None]]:
    engine = make_engine(database if "postgresql" in database else f"sqlite:///{tmp_path / 'archive.db'}")
    with session_factory(engine)() as session:
        found = {a.guid or a.url: (a, session.get(RawPage, a.id)) for a in session.scalars(select(Article))}
    engine.dispose()
    return found


def test_a_content_type_of_any_length_or_bytes_never_costs_the_page(
    tmp_path: Path, site: HostileServer, database: str
) -> None:
    items = [(name, site.url(f"/ct/{name}")) for name in CONTENT_TYPES]
    items.append(("image", site.url("/ct/image")))
    site.route("/feed.xml", hostile.respond(200, rss(items), {"Content-Type": "application/rss+xml"}))
    for name, value in CONTENT_TYPES.items():
        site.route(f"/ct/{name}", hostile.respond(200, PAGE, {"Content-Type": value}))
    site.route("/ct/image", hostile.respond(200, PAGE, {"Content-Type": "image/png; x=" + "p" * 5000}))
    feeds: list[dict[str, object]] = [{"name": "Types", "url": site.url("/feed.xml")}]
    config = write_config(tmp_path, feeds, http={"retries": 0})
    config.write_text(config.read_text().replace("sqlite:///archive.db", database))
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 0, result.output
    found = stored(database, tmp_path)
    for name in CONTENT_TYPES:
        article, page = found[name]
        assert article.status == "archived", (name, article.last_error)
        assert PARAGRAPH in (article.content_text or "")
        assert page is not None and len(page.content_type or "") <= 256
        assert page.content_type is None or page.content_type.isprintable()
    image, _ = found["image"]
    assert image.status == "failed" and "not an HTML page" in (image.last_error or "")
    assert len(image.last_error or "") < 300, image.last_error


@given(st.text(max_size=600))
def test_any_content_type_header_reads_as_a_short_printable_media_type_or_none(header: str) -> None:
    read = media_type(header)
    assert read is None or (len(read) <= 256 and read.isprintable() and read.isascii()), read


def test_a_content_type_keeps_what_decoding_needs() -> None:
    assert media_type('Text/HTML; Charset="GBK"; boundary=x') == "text/html; charset=gbk"
    assert media_type("application/rss+xml") == "application/rss+xml"
    assert media_type("text/html; charset=" + "u" * 300) == "text/html"
    assert media_type("garbage") is None


# --- names no resolver takes --------------------------------------------------------------------------------

labels = st.lists(
    st.builds(lambda n, c: c * n, st.integers(1, 80), st.sampled_from("abz09")), min_size=1, max_size=8
)


@given(labels)
def test_a_host_no_dns_name_can_be_is_refused_not_retried(parts: list[str]) -> None:
    # A label over 63 octets or a name over 253 never resolves: retrying it eight times helps no one.
    host = ".".join(parts)
    fits = all(len(part) <= 63 for part in parts) and len(host) <= 253
    # Four digit runs that are no IPv4 address (0.0.0.00): httpx refuses the URL, so the check does.
    no_address = re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", host) is not None
    try:
        checked_url(f"http://{host}/x")
    except RefusedValueError as exc:
        assert (not fits and "domain name" in str(exc)) or (no_address and "IPv4 address" in str(exc)), exc
    else:
        assert fits, host


def test_a_long_non_ascii_host_is_judged_by_its_ascii_form() -> None:
    with pytest.raises(RefusedValueError, match="domain name"):
        checked_url("http://" + ".".join(["汉字" * 10] * 12) + "/x")  # 12 labels of 46 ASCII octets


# --- captures of hostile URLs -------------------------------------------------------------------------------


def test_captures_of_non_ascii_urls_name_them_as_uris_and_still_export(
    tmp_path: Path, site: HostileServer
) -> None:
    # A feed may link an IRI (CJK path, é in the query); WARC-Target-URI is a URI (WARC 1.1, RFC 3986):
    # written as UTF-8 text, a replay tool looking up the percent-encoded form finds nothing.
    links = {"cjk": "/汉字/页", "query": "/q?x=é&y=汉", "space": "/a b"}
    items = [(name, site.url(path)) for name, path in links.items()]
    site.route("/feed.xml", hostile.respond(200, rss(items), {"Content-Type": "application/rss+xml"}))
    for path in ("/%E6%B1%89%E5%AD%97/%E9%A1%B5", "/q", "/a%20b"):
        site.route(path, hostile.html(PAGE))
    feeds: list[dict[str, object]] = [{"name": "IRIs", "url": site.url("/feed.xml")}]
    config = write_config(tmp_path, feeds, http={"retries": 0}, warc={"dir": "warc"})
    assert run_cli("once", "--config", str(config)).exit_code == 0
    assert {a.status for a in articles_of(tmp_path).values()} == {"archived"}
    targets = []
    for path in (tmp_path / "warc").glob("*.warc.gz"):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream, check_digests="raise"):
                if record.rec_type in ("request", "response"):
                    targets.append(record.rec_headers.get_header("WARC-Target-URI"))
    assert len(targets) == 6
    for target in targets:
        assert target.isascii() and " " not in target, target
    export = run_cli("export", "--config", str(config), "--warc", str(tmp_path / "out.warc.gz"))
    assert export.exit_code == 0, export.output
    assert "3 captures copied" in export.output, export.output


# --- codings no retry will undo -----------------------------------------------------------------------------


def test_a_body_in_a_coding_we_never_asked_for_fails_at_once(tmp_path: Path, site: HostileServer) -> None:
    # We ask for gzip and deflate; a server answering br, zstd or compress will answer so again tomorrow.
    codings = {"br": "br", "zstd": "zstd", "compress": "compress", "made-up": "x-evil"}
    items = [("good", site.url("/good"))] + [(name, site.url(f"/c/{name}")) for name in codings]
    site.route("/feed.xml", hostile.respond(200, rss(items), {"Content-Type": "application/rss+xml"}))
    site.route("/good", hostile.html(PAGE))
    for name, coding in codings.items():
        headers = {"Content-Type": "text/html", "Content-Encoding": coding}
        site.route(f"/c/{name}", hostile.respond(200, b"\x8b\x00\x80garbage", headers))
    feeds: list[dict[str, object]] = [{"name": "Codings", "url": site.url("/feed.xml")}]
    config = write_config(tmp_path, feeds, http={"retries": 0})
    assert run_cli("once", "--config", str(config)).exit_code == 0
    articles = articles_of(tmp_path)
    assert articles["good"].status == "archived"
    for name in codings:
        article = articles[name]
        assert article.status == "failed" and article.next_attempt_at is None, (name, article.status)
        assert "unsupported Content-Encoding" in (article.last_error or ""), article.last_error


# --- a sitemap index's values -------------------------------------------------------------------------------


def test_a_sitemap_index_lastmod_of_any_size_never_stops_the_backfill(
    tmp_path: Path, site: HostileServer, database: str
) -> None:
    # documents.lastmod holds 64: a child's <lastmod> of 200 characters (or a NUL) made the journal row
    # unstorable on PostgreSQL.
    lastmods = ["x" * 200, "2024-01-01T00:00:00Z" + " " * 100 + "junk", "a&#0;b" * 20]
    children = "".join(
        f"<sitemap><loc>{site.url(f'/child{n}.xml')}</loc><lastmod>{lastmod}</lastmod></sitemap>"
        for n, lastmod in enumerate(lastmods)
    )
    index = f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{children}</sitemapindex>'
    site.route("/index.xml", hostile.respond(200, index, {"Content-Type": "application/xml"}))
    for n in range(len(lastmods)):
        urlset = (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{site.url(f'/a/{n}')}</loc></url></urlset>"
        )
        site.route(f"/child{n}.xml", hostile.respond(200, urlset, {"Content-Type": "application/xml"}))
        site.route(f"/a/{n}", hostile.html(PAGE))
    config = write_config(tmp_path, [{"name": "X", "url": site.url("/feed.xml")}], http={"retries": 0})
    config.write_text(config.read_text().replace("sqlite:///archive.db", database))
    result = run_cli("backfill", "--config", str(config), "--sitemap", site.url("/index.xml"), "--feed", "X")
    assert result.exit_code == 0, result.output
    found = stored(database, tmp_path)
    assert {url_of(article) for article, _ in found.values()} == {site.url(f"/a/{n}") for n in range(3)}
    assert {article.status for article, _ in found.values()} == {"archived"}


def test_a_feed_history_link_of_any_size_never_stops_the_backfill(
    tmp_path: Path, site: HostileServer, database: str
) -> None:
    # The journal keeps where the walk goes next (documents.next_url, 2048): a prev-archive link past
    # that made the page's row unstorable on PostgreSQL, and stopped the whole backfill.
    def atom(guid: str, prev: str) -> str:
        return (
            '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
            f'<link rel="prev-archive" href="{prev}"/><entry><id>{guid}</id><title>{guid}</title>'
            f'<link href="{site.url("/a/" + guid)}"/><updated>2021-09-29T00:00:00Z</updated></entry></feed>'
        )

    headers = {"Content-Type": "application/atom+xml"}
    site.route("/feed.xml", hostile.respond(200, atom("first", site.url("/archive1.xml")), headers))
    site.route("/archive1.xml", hostile.respond(200, atom("second", site.url("/x?" + "a" * 3000)), headers))
    for guid in ("first", "second"):
        site.route(f"/a/{guid}", hostile.html(PAGE))
    config = write_config(tmp_path, [{"name": "H", "url": site.url("/feed.xml")}], http={"retries": 0})
    config.write_text(config.read_text().replace("sqlite:///archive.db", database))
    result = run_cli("backfill", "--config", str(config), "--feed-history")
    assert result.exit_code == 0, result.output
    found = stored(database, tmp_path)
    assert {guid for guid in found} == {"first", "second"}
    assert {article.status for article, _ in found.values()} == {"archived"}
