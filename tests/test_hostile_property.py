"""Random hostile feeds through the whole run: poll → queue → archive (the feed's content) → export.

Whatever the entries hold (titles, links, dates, a ttl, a feed name: arbitrary Unicode, numeric character
references to nothing, impossible ports, numbers where text belongs), a run never raises, every post's
front matter reads back through a YAML 1.1 and a YAML 1.2 reader, and every file name starts with a real
four-digit date. On SQLite and on PostgreSQL (skipped without a server); one archive per test, reused by
every example (each with its own feed and export folder), so the examples cost a run each, not a migration.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from sqlalchemy import Engine

from scraper.config import Config, DatabaseConfig, ExportConfig, FeedConfig
from scraper.fetch import Fetcher
from scraper.pipeline import Pipeline, RunSummary
from scraper.store.db import make_engine, upgrade

_counter = itertools.count()

char_refs = st.one_of(
    st.integers(min_value=0, max_value=0x11FFFF).map(lambda n: f"&#{n};"),
    st.integers(min_value=0, max_value=2**64).map(lambda n: f"&#x{n:X};"),
    st.sampled_from(["&#0;", "&#xD800;", "&#xDFFF;", "&#x110000;", "&#99999999999999;", "&#xFFFE;"]),
)
# Text as a feed may hold it: escaped Unicode (any code point XML can carry) mixed with raw references.
xml_text = st.lists(
    st.one_of(st.text(st.characters(exclude_categories=("Cs",)), max_size=12).map(escape), char_refs),
    max_size=5,
).map("".join)
links = st.one_of(
    st.builds(lambda path: f"https://e.test/{escape(path)}", st.text(max_size=20)),
    st.builds(
        lambda port, path: f"http://e.test:{port}/{path}", st.integers(-5, 10**6), st.text("ab/:", max_size=5)
    ),
    st.sampled_from(
        [
            "http://e.test:８０/x",
            "javascript:alert(1)",
            "data:text/html,x",
            "vbscript:x",
            "file:///etc/passwd",
            "http://[::1/x",
            "//e.test/relative",
            "/a/b:",
            "",
        ]
    ),
    xml_text,
)
dates = st.one_of(
    st.datetimes().map(lambda d: d.strftime("%a, %d %b ") + f"{d.year:04d}" + d.strftime(" %H:%M:%S GMT")),
    st.sampled_from(["Sat, 01 Jan 0100 00:00:00 GMT", "1001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "x"]),
    xml_text,
)
entries = st.lists(st.tuples(xml_text, links, dates, xml_text), min_size=1, max_size=6)
ttls = st.one_of(st.integers(-(10**30), 10**30).map(str), xml_text)
# A feed's name comes from the config (whose checks refuse NUL): any other Unicode, and number-like names.
names = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=20),
    st.sampled_from(["0x10", "1_000", "2024-01-01", "yes", "null", "~", "- x", "#x", "[a]", "a: b", "1e3"]),
)


def feed_document(items: list[tuple[str, str, str, str]], ttl: str) -> str:
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>g{n}-{link}</guid>"
        f"<pubDate>{date}</pubDate><description>&lt;p&gt;{text} body&lt;/p&gt;</description></item>"
        for n, (title, link, date, text) in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
        f"<ttl>{ttl}</ttl>{body}</channel></rss>"
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def archive(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'archive.db'}"
        engine = make_engine(url)
    else:
        engine = request.getfixturevalue("postgres_engine")
        url = engine.url.render_as_string(hide_password=False)
    upgrade(engine)
    yield engine, url
    if request.param == "sqlite":
        engine.dispose()


def assert_post_is_sound(path: Path) -> None:
    assert re.match(r"^\d{4}-\d{2}-\d{2}-", path.name), path.name
    datetime.strptime(path.name[:10], "%Y-%m-%d")  # a real day
    matter = path.read_text(encoding="utf-8").split("---\n", 2)[1]
    one, two = yaml.safe_load(matter), YAML(typ="safe", pure=True).load(matter)
    for loaded in (one, two):
        assert isinstance(loaded, dict)
        for key in ("title", "author", "from"):
            assert isinstance(loaded[key], str), (key, loaded[key])
        assert loaded["tags"] == loaded["categories"] == [loaded["author"]]
    assert {k: one[k] for k in ("title", "author", "from", "tags")} == {
        k: two[k] for k in ("title", "author", "from", "tags")
    }


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(items=entries, ttl=ttls, name=names)
def test_random_hostile_feeds_never_break_a_run(
    archive: tuple[Engine, str], tmp_path: Path, items: list[tuple[str, str, str, str]], ttl: str, name: str
) -> None:
    engine, url = archive
    folder = tmp_path / f"run-{next(_counter)}"
    folder.mkdir()
    feed_file = folder / "feed.xml"
    feed_file.write_text(feed_document(items, ttl), encoding="utf-8", errors="surrogatepass")
    config = Config(
        path=None,
        database=DatabaseConfig(url=url),
        export=ExportConfig(dir=folder / "_posts"),
        feeds=(FeedConfig(name=name, url=feed_file.as_uri(), content="feed"),),
    )

    async def run() -> RunSummary:
        async with Fetcher(config.http) as fetcher:
            return await Pipeline(config, engine, fetcher).run_once()

    summary = asyncio.run(run())  # no exception escapes
    # Nor is one caught as a bug: an entry is refused with its reason, never fails its feed or batch.
    assert not [e for e in summary.errors if "internal error" in e or "not storable" in e], summary.errors
    for post in (folder / "_posts").glob("**/*.md"):
        assert_post_is_sound(post)
    shutil.rmtree(folder)
