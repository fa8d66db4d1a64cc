"""The queue alone: each entry one row, deduplicated by (feed, GUID) and by canonical URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from scraper.poll import FeedEntry
from scraper.queue import checked_entry, enqueue_entries
from scraper.store.db import make_engine, session_factory, upgrade
from scraper.store.models import Article, ArticleStatus, Feed, utcnow


def entry(guid: str | None, link: str | None, title: str = "t") -> FeedEntry:
    return FeedEntry(
        guid=guid, link=link, title=title, author=None, published=None, content_html=None, summary=None
    )


def setup(tmp_path: Path) -> tuple[Session, int, int]:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    upgrade(engine)
    session = session_factory(engine)()
    feeds = [Feed(url=f"https://example.org/{n}.xml", name=n, failures_in_row=0) for n in ("a", "b")]
    session.add_all(feeds)
    session.commit()
    return session, feeds[0].id, feeds[1].id


def test_new_entries_become_pending_rows_with_feed_metadata(tmp_path: Path) -> None:
    session, feed_a, _ = setup(tmp_path)
    result = enqueue_entries(
        session, feed_a, [entry("g1", "https://example.org/1?utm_source=x", "One")], utcnow()
    )
    session.commit()
    (row,) = session.scalars(select(Article)).all()
    assert result.new_ids == (row.id,)
    assert (row.status, row.guid, row.entry_title) == ("pending", "g1", "One")
    assert row.url == "https://example.org/1?utm_source=x"
    assert row.canonical_url == "https://example.org/1"


def test_duplicates_within_a_batch_across_runs_and_feeds(tmp_path: Path) -> None:
    session, feed_a, feed_b = setup(tmp_path)
    now = utcnow()
    first = enqueue_entries(
        session,
        feed_a,
        [
            entry("g1", "https://example.org/1"),
            entry("g2", "https://EXAMPLE.org/1#top"),
        ],
        now,
    )
    session.commit()
    assert len(first.new_ids) == 1 and first.duplicates == 1
    again = enqueue_entries(session, feed_a, [entry("g1", "https://example.org/changed")], now)
    other_feed = enqueue_entries(session, feed_b, [entry("x", "https://example.org/1?fbclid=1")], now)
    session.commit()
    assert again.new_ids == () and other_feed.new_ids == ()
    assert session.query(Article).count() == 1


def test_entries_without_link_are_reported_not_queued(tmp_path: Path) -> None:
    session, feed_a, _ = setup(tmp_path)
    result = enqueue_entries(session, feed_a, [entry("no-link", None, "Orphan")], utcnow())
    assert result.new_ids == () and "has no link" in result.skipped[0]


def test_missing_guid_falls_back_to_link(tmp_path: Path) -> None:
    session, feed_a, _ = setup(tmp_path)
    enqueue_entries(session, feed_a, [entry(None, "https://example.org/9")], utcnow())
    session.commit()
    assert session.scalars(select(Article.guid)).one() == "https://example.org/9"


def test_rows_another_node_queued_meanwhile_are_skipped_and_the_rest_queued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the look-up and the insert another node queued one URL: the batch insert fails on the unique
    canonical URL, and the entries are then queued one by one, that one counted as a duplicate."""
    session, feed_a, feed_b = setup(tmp_path)
    now = utcnow()
    enqueue_entries(session, feed_b, [entry("other", "https://example.org/2")], now)
    session.commit()
    monkeypatch.setattr("scraper.queue._known", lambda *_args: (set(), set()))  # the look-up saw nothing
    links = [f"https://example.org/{n}" for n in (1, 2, 3)]
    result = enqueue_entries(session, feed_a, [entry(f"g{n}", link) for n, link in enumerate(links)], now)
    session.commit()
    assert len(result.new_ids) == 2 and result.duplicates == 1
    rows = {a.canonical_url: a.feed_id for a in session.scalars(select(Article))}
    assert rows == {links[0]: feed_a, links[1]: feed_b, links[2]: feed_a}


def test_each_new_id_is_its_own_entrys_on_both_databases(engine: Engine) -> None:
    """The ids of a batch come back matched to their rows by URL, not by the order the database returns
    them in: each entry's id is the row holding its URL and GUID, the ids in the entries' order."""
    with session_factory(engine).begin() as session:
        feed = Feed(url="https://example.org/f.xml", name="f", failures_in_row=0)
        session.add(feed)
        session.flush()
        links = [f"https://example.org/{n}" for n in (7, 3, 9, 1, 8, 2, 6, 0, 5, 4)]
        result = enqueue_entries(session, feed.id, [entry(f"g{link}", link) for link in links], utcnow())
        assert len(result.new_ids) == len(links)
        stored = {a.id: (a.canonical_url, a.guid) for a in session.scalars(select(Article))}
        assert [stored[i] for i in result.new_ids] == [(link, f"g{link}") for link in links]


def test_a_guid_every_item_shares_identifies_none_each_is_known_by_its_link(tmp_path: Path) -> None:
    """A CMS that gives every item one "GUID" (the site's address): read as a GUID, all but the first
    item were duplicates, in this poll and every later one. Repeated on items of different links in one
    document, it is no GUID: each is known by its link, and what was archived stays archived once."""
    session, feed_a, _ = setup(tmp_path)
    now = utcnow()
    shared = "https://example.org/"
    first = enqueue_entries(
        session,
        feed_a,
        [entry(shared, f"https://example.org/{n}") for n in (1, 2, 3)]
        + [entry(shared, "https://example.org/2?utm_source=rss"), entry("own", "https://example.org/4")],
        now,
    )
    session.commit()
    assert len(first.new_ids) == 4 and first.duplicates == 1
    later = enqueue_entries(
        session, feed_a, [entry(shared, f"https://example.org/{n}") for n in (5, 1, 2)], now
    )
    session.commit()
    assert len(later.new_ids) == 1 and later.duplicates == 2
    urls = sorted(session.scalars(select(Article.canonical_url)).all())
    assert urls == [f"https://example.org/{n}" for n in (1, 2, 3, 4, 5)]
    assert session.scalars(select(Article.guid).where(Article.canonical_url.endswith("/4"))).one() == "own"


def test_an_item_whose_link_changed_under_its_guid_is_still_the_same_item(tmp_path: Path) -> None:
    session, feed_a, _ = setup(tmp_path)
    now = utcnow()
    enqueue_entries(session, feed_a, [entry("g1", "https://example.org/old-slug")], now)
    session.commit()
    moved = enqueue_entries(session, feed_a, [entry("g1", "https://example.org/new-slug")], now)
    assert moved.new_ids == () and moved.duplicates == 1


@pytest.fixture(scope="module")
def one_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    session, _, _ = setup(tmp_path_factory.mktemp("queue"))
    yield session
    session.close()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.none(),
                st.sampled_from(
                    ["g1", "g2", "https://example.org/", *(f"https://example.org/{p}" for p in "abc")]
                ),
            ),
            st.sampled_from(["a", "b", "c", "d", "a?utm_source=x", "b#top"]),
        ),
        max_size=12,
    )
)
def test_every_link_of_one_document_is_queued_once_whatever_its_guids(
    one_store: Session, items: list[tuple[str | None, str]]
) -> None:
    """Into an empty store, one feed document queues each of its articles (canonical URLs) once: a GUID
    repeated on other links, or equal to another item's link, loses none of them."""
    session = one_store
    feed = Feed(url="https://example.org/feed.xml", name="a", failures_in_row=0)
    session.add(feed)
    session.flush()  # a new feed each draw: an empty store for it (rolled back after)
    try:
        entries = [entry(guid, f"https://example.org/{path}") for guid, path in items]
        result = enqueue_entries(session, feed.id, entries, utcnow())
        urls = session.scalars(select(Article.canonical_url).where(Article.feed_id == feed.id)).all()
        expected = {f"https://example.org/{path.split('?')[0].split('#')[0]}" for _, path in items}
        assert sorted(urls) == sorted(expected)
        assert len(result.new_ids) == len(expected)
        assert result.duplicates == len(items) - len(expected)
    finally:
        session.rollback()


def test_a_feeds_entries_are_queued_in_one_statement_on_postgresql_as_sqlalchemy_would_insert_them(
    engine: Engine,
) -> None:
    """Issue 15: on PostgreSQL a poll's new entries are one INSERT over arrays of their values, and the
    search for those already known one query over arrays (the same text whatever their number); on
    SQLite the statements as before. The rows are those SQLAlchemy's own insert makes: each column's
    value, the host from the URL (the column's default), the constant defaults; and entries known by URL
    (in any feed) or by GUID (in this feed, or under no feed for a feed of None) are duplicates."""
    from sqlalchemy import event

    from scraper.hosts import host_key

    sessions = session_factory(engine)
    with sessions.begin() as session:
        feeds = [Feed(url=f"https://example.org/{name}.xml", name=name, failures_in_row=0) for name in "ab"]
        session.add_all(feeds)
        session.flush()
        feed_a, feed_b = (feed.id for feed in feeds)
    now = utcnow()
    links = [f"https://Site{n % 3}.example:8080/{n}?q=é" for n in range(25)]
    seen: list[tuple[str, bool]] = []

    def note(_conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, many: bool) -> None:
        seen.append((statement.lstrip()[:6] + ("unnest" if "unnest(" in statement else ""), many))

    event.listen(engine, "before_cursor_execute", note)
    try:
        with sessions.begin() as session:
            queued = enqueue_entries(session, feed_a, [entry(f"g{link}", link) for link in links], now)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert len(queued.new_ids) == len(links)
    if engine.dialect.name == "postgresql":
        inserts = [kind for kind in seen if kind[0].startswith("INSERT")]
        assert inserts == [("INSERTunnest", False)]  # one statement, its values as arrays
    columns = (Article.id, Article.url, Article.host, Article.guid, Article.status, Article.attempts)
    with sessions() as session:
        stored = {row.id: tuple(row)[1:] for row in session.execute(select(*columns, Article.revisits))}
        discovered = set(session.scalars(select(Article.discovered_at)))
    kept = [checked_entry(entry(f"g{link}", link), now) for link in links]  # the link as stored
    expected = [
        (e.link, host_key(e.link or ""), f"g{link}", ArticleStatus.PENDING, 0, 0)
        for (e, _), link in zip(kept, links, strict=True)
    ]
    assert [stored[i] for i in queued.new_ids] == expected
    assert discovered == {now}
    with sessions.begin() as session:  # the same URLs again, other GUIDs: known by URL, in any feed
        again = enqueue_entries(
            session, feed_b, [entry(f"other{n}", link) for n, link in enumerate(links)], now
        )
        by_guid = enqueue_entries(  # known by GUID in feed a only
            session, feed_a, [entry(f"g{links[0]}", "https://example.org/new-link")], now
        )
        elsewhere = enqueue_entries(
            session, feed_b, [entry(f"g{links[1]}", "https://example.org/other-link")], now
        )
        no_feed = enqueue_entries(session, None, [entry("loose", "https://example.org/loose")], now)
        no_feed_again = enqueue_entries(session, None, [entry("loose", "https://example.org/loose-2")], now)
    assert again.new_ids == () and again.duplicates == len(links)
    assert by_guid.new_ids == () and by_guid.duplicates == 1
    assert len(elsewhere.new_ids) == 1  # a GUID of another feed is not this feed's
    assert len(no_feed.new_ids) == 1 and no_feed_again.duplicates == 1  # GUIDs under no feed: IS NULL
