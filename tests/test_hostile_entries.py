"""Hostile input, round two: one bad entry, value or page costs that unit alone, never the run.

Each test builds the hostile feed, page, file or address itself and checks what the archive must do: the
unit fails (or is cleaned) with its reason recorded, and everything beside it is archived.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from sqlalchemy import Engine, select

from scraper.archive import ArchiveOutcome
from scraper.config import Config, ExportConfig, FeedConfig, HttpConfig
from scraper.export import writer as writer_module
from scraper.export.jekyll import Post, filename, render, yaml_quoted, yaml_scalar
from scraper.extract import Record
from scraper.fetch import Fetcher, FetchError
from scraper.netguard import is_public
from scraper.pipeline import Pipeline, RunSummary
from scraper.poll import FeedError, parse_feed
from scraper.queue import enqueue_entries
from scraper.sanitize import RefusedValueError, checked_url, clamped_int, fitting_text, storable_text
from scraper.store.db import make_engine, session_factory, upgrade
from scraper.store.leases import Leases
from scraper.store.models import Article, ArticleStatus, Feed, utcnow
from scraper.urls import canonical_url
from tests import hostile
from tests.conftest import run_cli, write_config
from tests.hostile import HostileServer, articles_of

PARAGRAPH = "这是一段足够长的正文，用来确认文章被完整地抽取和保存下来。" * 4
FEED_URL = "http://feeds.test/rss"


def rss(items: str, channel: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
        f"{channel}{items}</channel></rss>"
    )


def item(title: str, link: str, guid: str, *, description: str = PARAGRAPH, date: str = "") -> str:
    when = f"<pubDate>{date}</pubDate>" if date else "<pubDate>Wed, 29 Sep 2021 23:11:00 +0800</pubDate>"
    return (
        f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>{when}"
        f"<description><![CDATA[<p>{description}</p>]]></description></item>"
    )


def feed_handler(body: str) -> hostile.Handler:
    return hostile.respond(200, body, {"Content-Type": "application/rss+xml; charset=utf-8"})


@pytest.fixture
def site() -> Iterator[HostileServer]:
    server = HostileServer("127.0.0.2")
    with server.running():
        yield server


def feeds_of(tmp_path: Path) -> dict[str, Feed]:
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    with session_factory(engine)() as session:
        found = {f.name: f for f in session.scalars(select(Feed))}
    engine.dispose()
    return found


def front_matter(path: Path) -> str:
    return path.read_text(encoding="utf-8").split("---\n", 2)[1]


def load_both(text: str) -> tuple[object, object]:
    """The document read by a YAML 1.1 reader (PyYAML, as Jekyll's Psych) and a YAML 1.2 one."""
    return yaml.safe_load(text), YAML(typ="safe", pure=True).load(text)


# --- one value poisons a run -----------------------------------------------------------------------------

BAD_LINKS = {
    "port-high": "http://127.0.0.2:99999/a",
    "port-negative": "http://127.0.0.2:-1/a",
    "port-fullwidth": "http://127.0.0.2:８０/a",
    "bracket": "http://[127.0.0.2/a",
    "javascript": "javascript:alert(document.cookie)",
    "data": "data:text/html,<script>alert(1)</script>",
    "vbscript": "vbscript:msgbox(1)",
    "file": "file:///etc/passwd",
}
BAD_TITLES = {
    "surrogate": "a&#xD800;b",
    "beyond-unicode": "a&#x110000;b",
    "absurd": "a&#99999999999999;b",
    "nul": "a&#0;b",
}


def test_one_bad_entry_fails_alone_and_the_run_prints_its_summary(
    tmp_path: Path, site: HostileServer
) -> None:
    items = [item(f"good {n}", site.url(f"/good?n={n}"), f"ok-{n}") for n in range(2)]
    items += [item(name, link, name) for name, link in BAD_LINKS.items()]
    items += [
        item(title, site.url(f"/t/{name}"), name, description=f"{PARAGRAPH}{title}")
        for name, title in BAD_TITLES.items()
    ]
    body = rss("".join(items), channel="<ttl>99999999999999999999</ttl>")
    site.route("/feed.xml", feed_handler(body))
    config = write_config(tmp_path, [{"name": "Hostile", "url": site.url("/feed.xml"), "content": "feed"}])

    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "polled 1 feeds" in result.output
    articles = articles_of(tmp_path)
    assert {name for name in BAD_LINKS} & set(articles) == set()
    for name in ["ok-0", "ok-1", *BAD_TITLES]:
        assert articles[name].status == ArticleStatus.ARCHIVED, (name, articles[name].last_error)
        for text in (articles[name].entry_title, articles[name].title, articles[name].content_text):
            assert text is None or ("\x00" not in text and storable_text(text) == text)
    feed = feeds_of(tmp_path)["Hostile"]
    assert feed.failures_in_row == 0 and feed.last_success_at is not None
    assert feed.ttl_minutes is not None and feed.ttl_minutes <= 366 * 24 * 60
    assert "entries refused" in (feed.last_error or "")
    assert "8 entries refused" in result.output
    for name, link in BAD_LINKS.items():
        assert name in result.output, f"the refused entry {link!r} is not reported"
    status = run_cli("status", "--config", str(config), env={"COLUMNS": "400"})
    assert "entries refused" in status.output, status.output
    for post in (tmp_path / "_posts").glob("*.md"):
        matter = front_matter(post)
        assert "javascript:" not in post.read_text(encoding="utf-8")
        for loaded in load_both(matter):
            assert isinstance(loaded, dict) and isinstance(loaded["title"], str)


@pytest.mark.parametrize("link", [*BAD_LINKS.values(), "", "   ", "http://", "https:///x", "ftp://h/x"])
def test_checked_url_refuses_with_a_reason(link: str) -> None:
    with pytest.raises(RefusedValueError, match=r"\w"):
        checked_url(link)


def test_checked_url_takes_web_links_and_configured_files() -> None:
    assert checked_url(" https://例え.jp:8443/a?b=c ") == "https://例え.jp:8443/a?b=c"
    assert checked_url("file:///srv/feed/1.html", allow_file=True) == "file:///srv/feed/1.html"
    assert checked_url("file://localhost/srv/x.html", allow_file=True) == "file://localhost/srv/x.html"
    with pytest.raises(RefusedValueError, match="another host"):
        checked_url("file://evil.example/etc/passwd", allow_file=True)


def test_whitespace_in_a_link_is_read_as_a_browser_reads_it() -> None:
    assert checked_url("http://e.test/a b\n/c\td") == "http://e.test/a%20b/cd"


def test_server_values_that_do_not_fit_are_dropped_not_stored() -> None:
    assert fitting_text('"abc"', 1024) == '"abc"'
    assert fitting_text("x" * 2000, 1024) is None  # a cut ETag would be a wrong one
    assert fitting_text("a\x00b", 1024) is None
    assert "\x00" not in str(FeedError("an HTML page, not a feed; the page names its feed: http://e\x00"))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_link_is_queued_or_refused_never_raises(link: str) -> None:
    try:
        url = checked_url(link)
    except RefusedValueError:
        return
    assert url.split(":", 1)[0].lower() in ("http", "https")
    assert canonical_url(canonical_url(url)) == canonical_url(url)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.text(),
            st.integers(min_value=0, max_value=2**70).map(lambda n: f"&#{n};"),
            st.integers(min_value=0, max_value=2**40).map(lambda n: f"&#x{n:X};"),
        ),
        max_size=6,
    ).map("".join)
)
def test_any_title_parses_into_storable_text(title: str) -> None:
    escaped = title.replace("&", "&amp;").replace("<", "&lt;").replace("&amp;#", "&#")
    body = rss(item(escaped, "http://e.test/1", "g", description=escaped)).encode("utf-8", "surrogatepass")
    try:
        entries, _, _ = parse_feed(body, "http://e.test/feed")
    except Exception as exc:  # a FeedError for a broken document is fine; nothing else
        assert type(exc).__name__ == "FeedError", exc
        return
    for entry in entries:
        for text in (entry.title, entry.summary):
            assert text is None or (isinstance(text, str) and storable_text(text) == text)
            (text or "").encode("utf-8")  # raises for a lone surrogate


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("60", 60),
        ("99999999999999999999", 527040),
        ("-5", 0),
        ("1e30", None),
        ("x", None),
        ("9" * 5000, 527040),
    ],
)
def test_integers_from_a_server_are_clamped(value: str, expected: int | None) -> None:
    assert clamped_int(value, 0, 527040) == expected


def test_backfill_urls_with_one_bad_url_queues_the_rest(tmp_path: Path, site: HostileServer) -> None:
    site.route("/a/1", hostile.html(f"<html><body><article><p>{PARAGRAPH}</p></article></body></html>"))
    site.route("/a/2", hostile.html(f"<html><body><article><p>{PARAGRAPH}</p></article></body></html>"))
    lines = [site.url("/a/1"), "http://127.0.0.2:99999/x", "https://127.0.0.2:８/y", site.url("/a/2")]
    (tmp_path / "urls.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = write_config(tmp_path, [{"name": "X", "url": site.url("/feed.xml")}])
    result = run_cli("backfill", "--config", str(config), "--urls", str(tmp_path / "urls.txt"), "--feed", "X")
    assert "archived 2" in result.output, result.output
    assert "99999" in result.output  # the refused one is reported


def test_a_sitemap_with_one_bad_url_queues_the_rest(tmp_path: Path, site: HostileServer) -> None:
    page = hostile.html(f"<html><body><article><p>{PARAGRAPH}</p></article></body></html>")
    site.route("/a/1", page)
    site.route("/a/2", page)
    locs = [
        site.url("/a/1"),
        "http://127.0.0.2:99999/x",
        "http://[::1/y",
        "javascript:alert(1)",
        site.url("/a/2"),
    ]
    body = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
        + "</urlset>"
    )
    site.route("/sitemap.xml", hostile.respond(200, body, {"Content-Type": "application/xml"}))
    config = write_config(tmp_path, [{"name": "X", "url": site.url("/feed.xml")}])
    result = run_cli(
        "backfill", "--config", str(config), "--sitemap", site.url("/sitemap.xml"), "--feed", "X"
    )
    assert "archived 2" in result.output, result.output


# --- an outcome that cannot be stored ----------------------------------------------------------------------


def node(engine: Engine, tmp_path: Path) -> Pipeline:
    config = Config(
        path=None,
        export=ExportConfig(dir=tmp_path / "_posts"),
        feeds=(FeedConfig(name="Feed", url=FEED_URL),),
    )
    leases = Leases(engine, ttl=60.0, node_id="test-host:h12:0")
    return Pipeline(config, engine, None, leases=leases)  # type: ignore[arg-type]


def add_articles(engine: Engine, titles: list[str]) -> list[int]:
    now = utcnow()
    with session_factory(engine).begin() as session:
        feed = Feed(url=FEED_URL, name="Feed", failures_in_row=0)
        session.add(feed)
        session.flush()
        rows = [
            Article(
                feed_id=feed.id,
                guid=f"g{n}",
                url=f"http://site.test/{n}",
                canonical_url=f"http://site.test/{n}",
                next_attempt_at=now,
                discovered_at=now,
                entry_title=title,
            )
            for n, title in enumerate(titles)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def archived(title: str, text: str = "Body text.") -> ArchiveOutcome:
    record = Record(title=title, author=None, published=None, lang="en", html=f"<p>{text}</p>", text=text)
    return ArchiveOutcome(ArticleStatus.ARCHIVED, record=record, content_source="page", published=utcnow())


def test_an_unstorable_outcome_fails_alone_and_its_batch_mates_are_archived(
    engine: Engine, tmp_path: Path
) -> None:
    ids = add_articles(engine, ["one", "two", "three"])
    pipeline = node(engine, tmp_path)
    jobs = {job.article_id: job for job in pipeline.claim_jobs(3)}
    # Past the sanitizers (as a future field might be): text neither database takes.
    poison = "bad \x00 \ud800 text"
    outcomes = [archived("one"), archived("two", poison), archived("three")]
    summaries = [RunSummary() for _ in ids]
    pipeline.store_many([(jobs[i], o) for i, o in zip(ids, outcomes, strict=True)], summaries)
    with session_factory(engine)() as session:
        rows = {row.id: row for row in session.scalars(select(Article))}
    assert rows[ids[0]].status == rows[ids[2]].status == ArticleStatus.ARCHIVED
    bad = rows[ids[1]]
    assert bad.status == ArticleStatus.FAILED and bad.attempts == 1
    assert "not storable" in (bad.last_error or "")
    assert bad.lease_owner is None
    assert sum(s.failed for s in summaries) == 1 and sum(s.archived for s in summaries) == 2
    assert len(list((tmp_path / "_posts").glob("*.md"))) == 2
    assert pipeline.claim_jobs(3) == []  # not tried again and again


def test_a_thousand_posts_of_one_title_and_day_all_get_a_file(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "MAX_NAME_SUFFIX", 3)  # the thousandth, made cheap
    ids = add_articles(engine, ["Same title"] * 5)
    pipeline = node(engine, tmp_path)
    jobs = pipeline.claim_jobs(5)
    summaries = [RunSummary() for _ in jobs]
    pipeline.store_many([(job, archived("Same title")) for job in jobs], summaries)
    assert sum(s.archived for s in summaries) == len(ids)
    names = sorted(p.name for p in (tmp_path / "_posts").glob("*.md"))
    assert len(names) == len(ids) == len(set(names))


def test_nul_in_a_title_on_postgresql_is_stored_without_it(postgres_engine: Engine, tmp_path: Path) -> None:
    upgrade(postgres_engine)
    entries = parse_feed(
        rss(item("a&#0;b", "http://site.test/1", "g1") + item("fine", "http://site.test/2", "g2")).encode(),
        "http://site.test/feed",
    )[0]
    with session_factory(postgres_engine).begin() as session:
        feed = Feed(url=FEED_URL, name="Feed", failures_in_row=0)
        session.add(feed)
        session.flush()
        result = enqueue_entries(session, feed.id, entries, utcnow())
    assert len(result.new_ids) == 2
    with session_factory(postgres_engine)() as session:
        titles = sorted(a.entry_title or "" for a in session.scalars(select(Article)))
    assert titles == ["a\ufffdb", "fine"]


# --- stored XSS and local files ----------------------------------------------------------------------------


def test_a_remote_sitemap_never_makes_a_local_feed_read_files(tmp_path: Path, site: HostileServer) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("<html><body><p>" + "operator secret " * 20 + "</p></body></html>", encoding="utf-8")
    local_feed = tmp_path / "feed.xml"
    local_feed.write_text(rss(""), encoding="utf-8")
    body = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{secret.as_uri()}</loc></url><url><loc>file://localhost{secret}</loc></url></urlset>"
    )
    site.route("/sitemap.xml", hostile.respond(200, body, {"Content-Type": "application/xml"}))
    config = write_config(tmp_path, [{"name": "Local", "url": str(local_feed)}])
    run_cli("backfill", "--config", str(config), "--sitemap", site.url("/sitemap.xml"), "--feed", "Local")
    assert all(not a.url.startswith("file:") for a in articles_of(tmp_path).values())
    assert "operator secret" not in "".join(p.read_text() for p in (tmp_path / "_posts").glob("*.md"))


def test_a_remote_prev_archive_page_never_leads_to_a_file(tmp_path: Path, site: HostileServer) -> None:
    secret = tmp_path / "secret.html"
    secret.write_text("<html><body><p>" + "operator secret " * 20 + "</p></body></html>", encoding="utf-8")
    archive_page = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>old</title>'
        f'<link rel="prev-archive" href="{(tmp_path / "feed.xml").as_uri()}"/>'
        f'<entry><id>s</id><title>s</title><link href="{secret.as_uri()}"/>'
        "<updated>2021-09-29T00:00:00Z</updated></entry></feed>"
    )
    site.route("/archive.xml", hostile.respond(200, archive_page, {"Content-Type": "application/atom+xml"}))
    own = tmp_path / "own.html"  # the local feed's own page: read, as the config names that feed
    own.write_text(f"<html><body><article><p>{PARAGRAPH}</p></article></body></html>", encoding="utf-8")
    local_feed = tmp_path / "feed.xml"
    local_feed.write_text(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        f'<link rel="prev-archive" href="{site.url("/archive.xml")}"/>'
        f'<entry><id>own</id><title>own</title><link href="{own.as_uri()}"/>'
        "<updated>2021-09-30T00:00:00Z</updated></entry></feed>",
        encoding="utf-8",
    )
    config = write_config(tmp_path, [{"name": "Local", "url": str(local_feed)}])
    result = run_cli("backfill", "--config", str(config), "--feed-history")
    articles = articles_of(tmp_path)
    assert "own" in articles and articles["own"].status == ArticleStatus.ARCHIVED, result.output
    assert "s" not in articles and site.hits["/archive.xml"] == 1, result.output
    assert "operator secret" not in "".join(p.read_text() for p in (tmp_path / "_posts").glob("*.md"))


def fetch_file(url: str, cap: int = 1000) -> object:
    async def go() -> object:
        async with Fetcher(HttpConfig(max_body_bytes=cap)) as fetcher:
            try:
                return await asyncio.wait_for(fetcher.get(url, allow_file=True), timeout=10)
            except FetchError as exc:
                return exc

    return asyncio.run(go())


def test_local_files_that_are_not_regular_files_fail_clearly(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.xml"
    os.mkfifo(fifo)
    started = time.monotonic()
    for url in (fifo.as_uri(), "file:///dev/zero", "file://localhost/dev/zero", tmp_path.as_uri()):
        outcome = fetch_file(url)
        assert isinstance(outcome, FetchError), url
        assert "regular file" in outcome.reason
    assert time.monotonic() - started < 10  # no hang


def test_a_local_file_is_capped_like_an_http_body(tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * 5000)
    outcome = fetch_file(big.as_uri(), cap=1000)
    assert isinstance(outcome, FetchError) and "cap" in outcome.reason
    small = tmp_path / "small.xml"
    small.write_bytes(b"y" * 10)
    assert getattr(fetch_file(small.as_uri(), cap=1000), "content", None) == b"y" * 10


@pytest.mark.parametrize("url", ["file:///abs/feed.xml", "file:////abs/feed.xml", "file://localhost/abs/x"])
def test_file_urls_keep_their_slashes(url: str) -> None:
    assert canonical_url(url) == url
    if url.startswith("file:////"):  # feedparser keeps no run of slashes: `file:///abs` is what it gives
        return
    atom = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        f'<entry><id>e</id><title>e</title><link href="{url}"/></entry></feed>'
    )
    rss_body = rss(item("e", url, "e"))
    for body in (atom, rss_body):
        (entry,) = parse_feed(body.encode(), "file:///srv/feed.xml")[0]
        assert entry.link == url


# --- front matter -------------------------------------------------------------------------------------------

NASTY_VALUES = [
    "https://en.wikipedia.org/wiki/Category:",
    "http://ho\x7fst.test/a",
    "http://h\ufffe.test/",
    "a\ufffeb\uffff",
    "\x85\x9f\x01\x1b",
    "0x10", "1_000", "2024-01-01", "1:20", "0o17", ".5", "+1", "-1", "1e3", ".inf",
    "yes", "No", "ON", "off", "y", "null", "Null", "~", "",
    "- x", "#x", "[a]", "{a: b}", "a: b", "a #b", "&anchor", "*alias", "!tag", "%x", "@x", "`x",
    "|", ">", "?", ":", "? x", "--- x", "...", "'q'", '"q"', "\\", "\ufeffbom", "tab\tin", "line\nbreak",
    "\u2028", "trailing ", " leading", "=", "<<",
]  # fmt: skip


def post_with(title: str, url: str, name: str, when: datetime | None = None) -> Post:
    when = when or datetime(2021, 9, 29, 14, 34, 41, tzinfo=UTC)
    return Post(title=title, url=url, feed_name=name, published=when, archived_at=when, body_html="<p>x</p>")


def assert_round_trip(post: Post) -> None:
    matter = front_matter_of(render(post))
    for loaded in load_both(matter):
        assert isinstance(loaded, dict)
        assert loaded["title"] == " ".join(post.title.split())
        assert loaded["from"] == post.url
        assert loaded["author"] == post.feed_name
        assert loaded["tags"] == [post.feed_name] and loaded["categories"] == [post.feed_name]


def front_matter_of(text: str) -> str:
    """The lines between the opening `---` line and the closing one (a value may hold `---` itself)."""
    assert text.startswith("---\n")
    return text[4:].split("\n---\n", 1)[0] + "\n"


@pytest.mark.parametrize("value", NASTY_VALUES)
def test_every_front_matter_value_reads_back_as_the_same_string(value: str) -> None:
    assert_round_trip(post_with(value or "t", value or "http://e.test/", value or "n"))


@settings(max_examples=400, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs",))), st.text(st.characters(exclude_categories=("Cs",))))
def test_any_front_matter_value_round_trips(title: str, name: str) -> None:
    title = storable_text(title) or ""  # as every title is stored (no NUL)
    assert_round_trip(post_with(title or "t", f"https://e.test/{title}", name or "n"))
    for text in (title, name):
        for loaded in load_both(f"v: {yaml_scalar(text)}\nw: [ {yaml_scalar(text, in_flow=True)} ]\n"):
            assert loaded == {"v": text, "w": [text]}
        assert load_both(f"q: {yaml_quoted(text)}\n") == ({"q": text}, {"q": text})


def test_ordinary_values_stay_plain() -> None:
    assert yaml_scalar("联合早报") == "联合早报"
    assert yaml_scalar("https://www.zaobao.com/realtime/china/story20210929-1198422").startswith("https")
    assert yaml_scalar("0x10") == '"0x10"' and yaml_scalar("2024-01-01") == '"2024-01-01"'


# --- dates ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "date",
    [
        "Sat, 01 Jan 0100 00:00:00 GMT",
        "Mon, 01 Jan 1001 00:00:00 GMT",
        "Wed, 31 Dec 1969 23:59:59 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Thu, 01 Jan 2099 00:00:00 GMT",
    ],
)
def test_an_implausible_entry_date_never_reaches_a_post(
    tmp_path: Path, site: HostileServer, date: str
) -> None:
    site.route("/feed.xml", feed_handler(rss(item("Dated", "http://127.0.0.2/x", "d", date=date))))
    config = write_config(tmp_path, [{"name": "F", "url": site.url("/feed.xml"), "content": "feed"}])
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 0, result.output
    (post,) = (tmp_path / "_posts").glob("*.md")
    today = datetime.now(UTC)
    assert re.match(r"^\d{4}-\d{2}-\d{2}-", post.name)
    day = datetime.strptime(post.name[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    assert abs((day - today).days) <= 1, post.name
    for loaded in load_both(front_matter(post)):
        assert isinstance(loaded, dict) and str(loaded["date"]).startswith(str(today.year))


@given(st.datetimes(timezones=st.just(UTC)), st.text())
def test_file_names_always_start_with_four_digit_dates(when: datetime, title: str) -> None:
    name = filename(post_with(title or "t", "http://e.test/", "n", when))
    assert re.match(r"^\d{4}-\d{2}-\d{2}-", name)
    assert not re.search("[\x00-\x1f\x7f-\x9f/\\\\\ud800-\udfff\ufffe\uffff]", name), name
    name.encode("utf-8")


# --- temp files, addresses ------------------------------------------------------------------------------


def test_temp_files_a_killed_run_left_are_removed_at_start(tmp_path: Path, site: HostileServer) -> None:
    posts = tmp_path / "_posts"
    (posts / "2021").mkdir(parents=True)
    stale = [posts / ".2021-09-29-标题.md.k3j_9x2a.tmp", posts / "2021" / ".2021-09-29-x.md.abcdefgh.tmp"]
    fresh = posts / ".2021-09-30-y.md.zzzzzzzz.tmp"  # another node may be writing it right now
    foreign = [posts / ".keep.tmp", posts / "notes.tmp", posts / ".git-thing.tmp"]
    old = time.time() - 3600
    for path in [*stale, fresh, *foreign]:
        path.write_text("half a post", encoding="utf-8")
        if path != fresh:
            os.utime(path, (old, old))
    site.route("/feed.xml", feed_handler(rss("")))
    config = write_config(tmp_path, [{"name": "F", "url": site.url("/feed.xml")}])
    run_cli("once", "--config", str(config))
    assert not any(path.exists() for path in stale)
    assert fresh.exists() and all(path.exists() for path in foreign)


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b:1::a9fe:a9fe",  # local-use NAT64
        "64:ff9b:1::808:808",
        "::127.0.0.1",  # IPv4-compatible
        "::a9fe:a9fe",
        "::ffff:0:7f00:1",  # IPv4-translated (SIIT)
        "fec0::1",  # site-local
        "fec0:0:0:ffff::1",
        "100::1",  # discard-only
        "2001:2::1",  # benchmarking
        "2001:10::1",  # ORCHID
        "2001:db8::1",
        "3fff::1",  # documentation (2024)
        "5f00::1",  # SRv6 SIDs
        "2002:7f00:1::1",  # 6to4 of loopback
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo of 127.0.0.1
        "2a00:1450:4001::5efe:a9fe:a9fe",  # ISATAP of 169.254.169.254
        "2a00:1450:4001::200:5efe:a00:1",  # ISATAP (u bit) of 10.0.0.1
        "192.0.0.170",
        "198.18.0.1",
        "192.88.99.1",
        "240.0.0.1",
        "255.255.255.255",
        "ff0e::1",
    ],
)
def test_special_purpose_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize(
    "address", ["::8.8.8.8", "64:ff9b::808:808", "::ffff:8.8.8.8", "2002:808:808::1", "2606:4700:4700::1111"]
)
def test_embedded_public_addresses_stay_public(address: str) -> None:
    assert is_public(address)


@given(st.ip_addresses(v=4))
def test_every_ipv6_form_of_an_ipv4_address_is_judged_by_it(ipv4: object) -> None:
    import ipaddress

    v4 = ipaddress.IPv4Address(str(ipv4))
    forms = [
        f"::ffff:{v4}",
        f"::{v4}",
        f"::ffff:0:{v4}",
        f"64:ff9b::{v4}",
        str(ipaddress.IPv6Address((0x2002 << 112) | (int(v4) << 80) | 1)),
    ]
    expected = is_public(v4)
    for form in forms:
        if int(v4) in (0, 1) and form.startswith("::") and "ffff" not in form:
            continue  # `::` and `::1` themselves
        assert is_public(form) is expected, form


# --- a huge feed ----------------------------------------------------------------------------------------


def test_a_huge_feed_is_cut_to_the_entries_one_document_may_give(monkeypatch: pytest.MonkeyPatch) -> None:
    import scraper.poll as poll

    monkeypatch.setattr(poll, "MAX_ENTRIES_PER_DOCUMENT", 50)
    body = rss("".join(item(f"t{n}", f"http://e.test/{n}", f"g{n}") for n in range(500)))
    entries, _, warning = parse_feed(body.encode(), "http://e.test/feed")
    assert [entry.guid for entry in entries] == [f"g{n}" for n in range(50)]
    assert warning is not None and "500 entries" in warning and "first 50" in warning
