"""scraper.store.arrays against hostile values: a batch written as one statement over binary arrays (psycopg
3 on PostgreSQL) must store, or refuse, exactly what the row-by-row path (executemany, as main wrote it and
as another driver or SQLite still writes it) stores or refuses.

Each case runs twice on the same backend: once as the code runs (`arrays`), once with
`arrays.on_psycopg` made False (`rows`: the executemany path, on PostgreSQL too), and the two results are
compared: the rows stored, or the error raised (its class, as a caller's `except` sees it). On SQLite both
runs are the row-by-row path, which pins it as unchanged.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast
from unittest.mock import patch

import pytest
from sqlalchemy import Engine, Table, delete, select, text

from scraper.poll import FeedEntry
from scraper.queue import enqueue_entries
from scraper.store import arrays
from scraper.store.articles import insert_returning_ids, keep_raw_pages, known_keys, update_many
from scraper.store.bulk import ArticleRows
from scraper.store.db import session_factory
from scraper.store.models import Article, ArticleStatus, Feed, RawPage

NOW = datetime(2024, 5, 1, 8, 30, 15, 123456, tzinfo=UTC)
EAST = timezone(timedelta(hours=5, minutes=30))
WAYS = ("arrays", "rows")
SEED = ("url", "canonical_url", "host", "status", "discovered_at")


@contextmanager
def way(name: str) -> Iterator[None]:
    """`arrays`: the code as it is; `rows`: the row-by-row path (what main ran, and another driver runs)."""
    with nullcontext() if name == "arrays" else patch.object(arrays, "on_psycopg", lambda _connection: False):
        yield


def error_of(action: Callable[[], Any]) -> str | None:
    """None if `action` ran, else the class of what it raised (the class a caller's `except` tests)."""
    try:
        action()
    except Exception as exc:
        return type(exc).__name__
    return None


def seed(engine: Engine, prefix: str, n: int) -> list[int]:
    with session_factory(engine).begin() as session:
        ArticleRows(SEED).insert(
            session,
            [(f"https://{prefix}.example/{i}", f"https://{prefix}.example/{i}", prefix, "pending", NOW)
             for i in range(n)],
        )  # fmt: skip
    with engine.connect() as connection:
        query = select(Article.id).where(Article.host == prefix).order_by(Article.id)
        return list(connection.scalars(query))


def articles_of(engine: Engine, ids: Sequence[int], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    table = cast(Table, Article.__table__)
    with engine.connect() as connection:
        query = select(*(table.c[name] for name in columns)).where(table.c.id.in_(ids)).order_by(table.c.id)
        return [tuple(row) for row in connection.execute(query)]


# ---- an outcome batch's UPDATE ---------------------------------------------------------------------------

BIG = "x" * (5 * 1024 * 1024)
UPDATES: dict[str, dict[str, list[Any]]] = {
    "emoji": {"title": ["😀" * 3, "𝔘𝔫𝔦 \U0010ffff", "a😀b"], "author": ["", "😀", None]},
    "empty_vs_null": {"title": ["", None, ""], "lang": ["", None, "x"], "final_url": [None, "", None]},
    "long_text": {"content_html": [BIG, "é" * (2 * 1024 * 1024), None], "content_text": [None, BIG, ""]},
    "nul": {"title": ["ok", "a\x00b", "ok"]},
    "nul_in_varchar": {"lang": ["en", "e\x00n", "fr"]},
    "lone_surrogate": {"title": ["ok", "a\ud800b", "ok"]},
    "naive_datetime": {"published_at": [NOW, datetime(2024, 1, 1, 12), NOW]},
    "far_dates": {
        "published_at": [
            datetime(1, 1, 1, tzinfo=UTC),
            datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            None,
        ],
        "archived_at": [datetime(1970, 1, 1, tzinfo=EAST), datetime(2038, 1, 19, 3, 14, 8, tzinfo=EAST), NOW],
    },
    "date_before_year_1_in_utc": {"published_at": [NOW, datetime(1, 1, 1, 2, tzinfo=EAST), NOW]},
    "int_edges": {"attempts": [2**31 - 1, -(2**31), 0], "http_status": [None, 599, -1]},
    "int_over": {"attempts": [1, 2**31, 2]},
    "int_under": {"attempts": [1, -(2**31) - 1, 2]},
    "null_in_not_null": {"attempts": [1, None, 2]},
    "all_null_not_null": {"attempts": [None, None, None]},
    "all_null_nullable": {
        "title": [None, None, None],
        "published_at": [None, None, None],
        "http_status": [None] * 3,
    },
    "varchar_over": {"lang": ["en", "x" * 33, "fr"]},
    "varchar_trailing_spaces_over": {"lang": ["en", "x" * 32 + "   ", "fr"]},
    "status_values": {"status": [ArticleStatus.FAILED, "pending", ArticleStatus.ARCHIVED]},
    "status_over": {"status": ["archived", "s" * 17, "failed"]},
    "unique_post_path_twice": {"post_path": ["same.md", "other.md", "same.md"]},
}


@pytest.mark.parametrize("kept", [False, True], ids=["released", "kept"])
@pytest.mark.parametrize("case", sorted(UPDATES))
def test_a_hostile_update_batch_stores_or_refuses_as_row_by_row(
    engine: Engine, case: str, kept: bool
) -> None:
    columns = tuple(sorted(UPDATES[case]))
    read = (*columns, "lease_owner", "lease_expires_at")
    results = {}
    for name in WAYS:
        ids = seed(engine, f"{name}-{case}", 3)
        batch = [
            {"row_id": row_id, **{f"new_{c}": UPDATES[case][c][i] for c in columns}}
            for i, row_id in enumerate(ids)
        ]

        def write(ids: list[int] = ids, batch: list[dict[str, Any]] = batch) -> None:
            with engine.begin() as connection:
                update_many(connection, columns, batch, "node-1" if kept else None, NOW if kept else None)

        with way(name):
            results[name] = (error_of(write), articles_of(engine, ids, read))
    assert results["arrays"] == results["rows"]


def test_an_update_batch_naming_one_row_twice_keeps_the_last_value_as_row_by_row(engine: Engine) -> None:
    results = {}
    for name in WAYS:
        ids = seed(engine, f"twice-{name}", 2)
        batch = [
            {"row_id": ids[0], "new_title": "first"},
            {"row_id": ids[1], "new_title": "other"},
            {"row_id": ids[0], "new_title": "last"},
        ]
        with way(name), engine.begin() as connection:
            update_many(connection, ("title",), batch, None, None)
        results[name] = articles_of(engine, ids, ("title",))
    assert results["arrays"] == results["rows"] == [("last",), ("other",)]


def test_an_update_batch_of_a_missing_row_changes_nothing_else(engine: Engine) -> None:
    results = {}
    for name in WAYS:
        ids = seed(engine, f"missing-{name}", 2)
        batch = [{"row_id": ids[0], "new_title": "a"}, {"row_id": 10**9, "new_title": "b"}]
        with way(name), engine.begin() as connection:
            update_many(connection, ("title",), batch, None, None)
        results[name] = articles_of(engine, ids, ("title",))
    assert results["arrays"] == results["rows"] == [("a",), (None,)]


# ---- an outcome batch's raw pages ------------------------------------------------------------------------

PAGE = {"url": "https://p.example/", "content_type": "text/html", "encoding": "utf-8", "body_zlib": b"z",
        "fetched_at": NOW, "warc_file": None, "warc_offset": None}  # fmt: skip
PAGES: dict[str, dict[str, list[Any]]] = {
    "bodies": {"body_zlib": [b"", random.Random(1).randbytes(5 * 1024 * 1024), b"\x00" * 10]},
    "null_body": {"body_zlib": [b"a", None, b"b"]},
    "bigint_edges": {"warc_offset": [2**63 - 1, -(2**63), None]},
    "bigint_over": {"warc_offset": [1, 2**63, 2]},
    "text_columns": {
        "content_type": ["", None, "text/html; charset=😀"],
        "warc_file": ["😀.warc.gz", "", None],
    },
    "nul_in_text": {"encoding": ["utf-8", "u\x00", "latin-1"]},
    "surrogate_in_text": {"url": ["https://a/", "https://\udcff/", "https://c/"]},
    "naive_fetched_at": {"fetched_at": [NOW, datetime(2024, 1, 1), NOW]},
    "far_fetched_at": {
        "fetched_at": [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=EAST), NOW]
    },
    "url_over": {"url": ["https://a/", "https://b/" + "b" * 2048, "https://c/"]},
    "all_null_nullable": {"warc_offset": [None] * 3, "content_type": [None] * 3, "encoding": [None] * 3},
}


@pytest.mark.parametrize("case", sorted(PAGES))
def test_a_hostile_page_batch_stores_or_refuses_as_row_by_row(engine: Engine, case: str) -> None:
    read = tuple(PAGE)
    results = {}
    for name in WAYS:
        ids = seed(engine, f"{name}-{case}", 3)
        pages = [
            {"article_id": row_id, **PAGE, **{c: PAGES[case][c][i] for c in PAGES[case]}}
            for i, row_id in enumerate(ids)
        ]

        def write(pages: list[dict[str, Any]] = pages) -> None:
            with engine.begin() as connection:
                keep_raw_pages(connection, pages, [])

        with way(name):
            error = error_of(write)
        table = cast(Table, RawPage.__table__)
        with engine.connect() as connection:
            query = select(*(table.c[c] for c in read)).where(table.c.article_id.in_(ids))
            results[name] = (
                error,
                [tuple(row) for row in connection.execute(query.order_by(table.c.article_id))],
            )
    assert results["arrays"] == results["rows"]


def test_refetched_pages_replace_the_old_ones_as_row_by_row(engine: Engine) -> None:
    results = {}
    for name in WAYS:
        ids = seed(engine, f"again-{name}", 3)
        with way(name):
            with engine.begin() as connection:
                keep_raw_pages(connection, [{"article_id": i, **PAGE} for i in ids], [])
            with engine.begin() as connection:
                again = [{"article_id": i, **PAGE, "body_zlib": b"new"} for i in ids[:2]]
                keep_raw_pages(connection, again, ids[:2])
        with engine.connect() as connection:
            query = select(RawPage.body_zlib).where(RawPage.article_id.in_(ids)).order_by(RawPage.article_id)
            results[name] = list(connection.scalars(query))
    assert results["arrays"] == results["rows"] == [b"new", b"new", b"z"]


# ---- a poll's new entries --------------------------------------------------------------------------------

INSERTED = [c for c in Article.__table__.columns.keys() if c != "id"]  # noqa: SIM118 (a ColumnCollection)


def article_row(n: int, **values: Any) -> dict[str, Any]:
    """A new article's values as scraper.queue._article gives them."""
    link = f"https://n{n % 7}.example/{n}"
    return {
        "feed_id": None,
        "guid": f"g{n}",
        "url": link,
        "canonical_url": link,
        "status": ArticleStatus.PENDING,
        "next_attempt_at": NOW,
        "entry_title": f"t{n}",
        "entry_author": None,
        "entry_published_at": None,
        "entry_content": None,
        "discovered_at": NOW,
    } | values


def insert_both_ways(engine: Engine, rows: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    """Per way: the error raised (or None), whether each returned id holds its row's canonical URL, and
    every stored column but the id; the table is emptied between the two."""
    results = {}
    sessions = session_factory(engine)
    for name in WAYS:
        returned: list[int] = []

        def write(returned: list[int] = returned) -> None:
            with sessions.begin() as session:
                returned.extend(insert_returning_ids(session, rows))

        with way(name):
            error = error_of(write)
        table = cast(Table, Article.__table__)
        with engine.connect() as connection:
            by_id = {
                row.id: row.canonical_url
                for row in connection.execute(select(table.c.id, table.c.canonical_url))
            }
            stored = sorted(
                (tuple(row) for row in connection.execute(select(*(table.c[c] for c in INSERTED)))),
                key=lambda row: row[INSERTED.index("canonical_url")],
            )
        matched = [by_id.get(row_id) for row_id in returned] == [row["canonical_url"] for row in rows][
            : len(returned)
        ]
        results[name] = (error, len(returned), matched, stored)
        with engine.begin() as connection:
            connection.execute(delete(table))
    return results


def feed_ids(engine: Engine, n: int) -> list[int]:
    with session_factory(engine).begin() as session:
        feeds = [Feed(url=f"https://f.example/{i}.xml", name=f"f{i}", failures_in_row=0) for i in range(n)]
        session.add_all(feeds)
        session.flush()
        return [feed.id for feed in feeds]


def test_new_entries_with_hostile_values_are_stored_as_row_by_row(engine: Engine) -> None:
    (feed,) = feed_ids(engine, 1)
    rows = [
        article_row(0, feed_id=feed, entry_title="😀" * 100, entry_content="é" * (3 * 1024 * 1024)),
        article_row(1, feed_id=feed, guid=None, entry_title="", entry_author="", entry_content=""),
        article_row(2, feed_id=feed, guid=None, entry_published_at=datetime(1, 1, 1, tzinfo=UTC)),
        article_row(3, entry_published_at=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=EAST)),
        article_row(4, url="https://ÄÖ.Example:8080/x", canonical_url="https://äö.example:8080/x"),
        article_row(5, url="http://[::1]:80/", canonical_url="http://[::1]/"),
        article_row(6, url="http://[::1/", canonical_url="http://[::1/"),  # urlsplit refuses it: host ""
        article_row(7, url="https://u:p@HOST.example/", canonical_url="https://host.example/"),
        article_row(
            8, url="https://" + "a" * 300 + ".example/", canonical_url="https://" + "a" * 300 + ".x/"
        ),
        article_row(9, url="mailto:x@y", canonical_url="mailto:x@y"),
    ]
    results = insert_both_ways(engine, rows)
    assert results["arrays"] == results["rows"]
    assert results["arrays"][:3] == (None, len(rows), True)


@pytest.mark.parametrize(
    ("values", "sqlite_keeps"),
    [
        ({"entry_content": "a\x00b"}, True),
        ({"entry_author": "a\ud800"}, False),
        ({"entry_published_at": datetime(2024, 1, 1)}, False),
        ({"guid": "g" * 2049}, True),
        ({"status": "s" * 17}, True),
        ({"url": None}, False),
    ],
    ids=["nul", "surrogate", "naive", "guid_over", "status_over", "null_url"],
)
def test_a_refused_entry_in_a_batch_is_refused_as_row_by_row(
    engine: Engine, values: dict[str, Any], sqlite_keeps: bool
) -> None:
    rows = [article_row(0), article_row(1, **values), article_row(2)]
    results = insert_both_ways(engine, rows)
    assert results["arrays"] == results["rows"]
    if engine.dialect.name == "postgresql" or not sqlite_keeps:  # SQLite keeps NUL and any length
        assert results["arrays"][0] is not None


def test_duplicate_keys_in_one_batch_are_refused_as_row_by_row(engine: Engine) -> None:
    (feed,) = feed_ids(engine, 1)
    same_url = [
        article_row(0),
        article_row(1),
        article_row(2, url="https://x/", canonical_url=article_row(0)["url"]),
    ]
    same_guid = [
        article_row(0, feed_id=feed),
        article_row(1, feed_id=feed, guid="g0"),
        article_row(2, feed_id=feed),
    ]
    for rows in (same_url, same_guid):
        results = insert_both_ways(engine, rows)
        assert results["arrays"] == results["rows"]
        assert results["arrays"][0] == "IntegrityError" and results["arrays"][3] == []


@pytest.mark.parametrize("n", [1, 2, 10_000])
def test_each_returned_id_is_its_rows_whatever_the_order(engine: Engine, n: int) -> None:
    rows = [article_row(i) for i in range(n)]
    random.Random(n).shuffle(rows)  # not the order of the URLs, nor of anything the database sorts by
    results = insert_both_ways(engine, rows)
    assert results["arrays"] == results["rows"]
    assert results["arrays"][:3] == (None, n, True)


# ---- the known-keys query --------------------------------------------------------------------------------


@pytest.mark.parametrize("feed_none", [False, True], ids=["feed", "no_feed"])
def test_known_keys_finds_what_row_by_row_finds(engine: Engine, feed_none: bool) -> None:
    feed, other = feed_ids(engine, 2)
    sessions = session_factory(engine)
    stored = [
        article_row(0, feed_id=feed, guid="😀"),
        article_row(1, feed_id=None, guid=""),
        article_row(2, feed_id=other, guid="shared"),
        article_row(3, feed_id=feed, guid="shared"),
        article_row(4, feed_id=None, guid="loose"),
        article_row(5, feed_id=feed, guid=None),
    ]
    with sessions.begin() as session:
        insert_returning_ids(session, stored)
    keys = [row["canonical_url"] for row in stored[::2]] + ["https://unknown/", "", "é" * 3000]
    guids: list[str | None] = ["😀", "", "shared", "loose", None, "x" * 5000]
    looked: dict[str, list[Any]] = {}
    for name in WAYS:
        found = []
        for some_keys, some_guids in (
            (keys, guids),
            ([], []),
            ([], guids),
            (keys, []),
            (keys * 200, guids * 200),
        ):
            with way(name), sessions() as session:
                rows = known_keys(session, None if feed_none else feed, some_keys, some_guids)
                found.append(sorted(tuple(row) for row in rows))
        looked[name] = found
    assert looked["arrays"] == looked["rows"]


# ---- two nodes queueing the same links at once -----------------------------------------------------------


def link_entry(n: int) -> FeedEntry:
    return FeedEntry(
        guid=None, link=f"https://both.example/{n}", title="t", author=None, published=None,
        content_html=None, summary=None,
    )  # fmt: skip


@pytest.mark.parametrize("name", WAYS)
def test_two_nodes_queueing_the_same_links_at_once_store_each_once(
    postgres_engine: Engine, name: str
) -> None:
    """Node one has inserted links 0-4 and not committed; node two's poll (links 3-7, another feed) finds
    none known, and its batch waits on 3 and 4 until node one commits: then it must store 5-7 anyway and
    count 3 and 4 as duplicates (the batch failed together; its entries are then tried one by one)."""
    from scraper.store.db import upgrade

    engine = postgres_engine
    upgrade(engine)
    feed_one, feed_two = feed_ids(engine, 2)
    sessions = session_factory(engine)
    got: dict[str, Any] = {}
    with way(name):
        first = sessions()
        first.begin()
        enqueue_entries(first, feed_one, [link_entry(n) for n in range(5)], NOW)
        first.flush()

        def second() -> None:
            try:
                with sessions.begin() as session:
                    got["result"] = enqueue_entries(
                        session, feed_two, [link_entry(n) for n in range(3, 8)], NOW
                    )
            except Exception as exc:  # reported below
                got["error"] = exc

        thread = threading.Thread(target=second)
        thread.start()
        for _ in range(200):  # until node two waits on node one's rows (a lock wait), or it is done
            with engine.connect() as connection:
                waiting = connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                    )
                )
            if waiting or not thread.is_alive():
                break
            time.sleep(0.05)
        first.commit()
        first.close()
        thread.join()
    assert "error" not in got, got.get("error")
    assert len(got["result"].new_ids) == 3 and got["result"].duplicates == 2
    with engine.connect() as connection:
        urls = sorted(connection.scalars(select(Article.canonical_url)))
    assert urls == sorted(f"https://both.example/{n}" for n in range(8))


# ---- a batch bigger than one PostgreSQL message ----------------------------------------------------------


@pytest.mark.skipif(not os.environ.get("SCRAPER_TEST_HEAVY"), reason="moves over 1 GB: SCRAPER_TEST_HEAVY=1")
@pytest.mark.parametrize("name", WAYS)
def test_a_batch_of_big_pages_is_stored_as_row_by_row(postgres_engine: Engine, name: str) -> None:
    """An outcome batch is up to 64 outcomes (scraper.recorder.MAX_BATCH), each page up to
    http.max_body_bytes (any size the config gives; zlib leaves random bytes as big). 64 pages of 17 MB
    are 1.09 GB: row by row each is its own message; as one array they are one message over PostgreSQL's
    1 GB limit, and the server drops the connection (an OperationalError, which the outcome recorder
    re-raises: no one-by-one retry, the whole batch is lost)."""
    from scraper.store.db import upgrade

    engine = postgres_engine
    upgrade(engine)
    ids = seed(engine, "big", 64)
    body = random.Random(2).randbytes(17 * 1024 * 1024)
    pages = [{"article_id": row_id, **PAGE, "body_zlib": body} for row_id in ids]
    with way(name), engine.begin() as connection:
        keep_raw_pages(connection, pages, [])
    with engine.connect() as connection:
        assert connection.scalar(select(RawPage.article_id).where(RawPage.article_id == ids[-1])) == ids[-1]


@pytest.mark.skipif(not os.environ.get("SCRAPER_TEST_HEAVY"), reason="moves over 1 GB: SCRAPER_TEST_HEAVY=1")
@pytest.mark.parametrize("name", WAYS)
def test_a_batch_of_big_records_is_stored_as_row_by_row(postgres_engine: Engine, name: str) -> None:
    """The same limit for the outcomes' UPDATE, with the default http.max_body_bytes (10 MB): a page of
    9 MB of text gives about 9 MB of content_html and as much content_text, nothing caps either; 64 such
    outcomes are 1.15 GB in one statement over arrays, where row by row each row is its own 18 MB."""
    from scraper.store.db import upgrade

    engine = postgres_engine
    upgrade(engine)
    ids = seed(engine, "bigtext", 64)
    html, plain = "<p>" + "a" * (9 * 1024 * 1024) + "</p>", "a" * (9 * 1024 * 1024)
    batch = [{"row_id": row_id, "new_content_html": html, "new_content_text": plain} for row_id in ids]
    with way(name), engine.begin() as connection:
        update_many(connection, ("content_html", "content_text"), batch, None, None)
    with engine.connect() as connection:
        query = select(Article.content_text.is_not(None)).where(Article.id == ids[-1])
        assert connection.scalar(query) is True


@pytest.mark.skipif(not os.environ.get("SCRAPER_TEST_HEAVY"), reason="moves over 1 GB: SCRAPER_TEST_HEAVY=1")
@pytest.mark.parametrize("name", WAYS)
def test_a_batch_of_big_outcomes_is_archived_whole(
    postgres_engine: Engine, tmp_path: Path, name: str
) -> None:
    """The outcome recorder with a full batch (scraper.recorder.MAX_BATCH = 64) of pages of 9 MB of text,
    under the default http.max_body_bytes: every outcome is archived. Over arrays, the UPDATE is one
    message over 1 GB; the server drops the connection, and the recorder re-raises an OperationalError
    (`the database itself`) instead of trying the outcomes one by one: none is stored."""
    from scraper.store.db import upgrade
    from scraper.summary import RunSummary
    from tests.test_hostile_entries import add_articles, archived, node

    engine = postgres_engine
    upgrade(engine)
    ids = add_articles(engine, [f"t{n}" for n in range(64)])
    pipeline = node(engine, tmp_path)
    jobs = {job.article_id: job for job in pipeline.claim_jobs(64)}
    text_of_page = "a" * (9 * 1024 * 1024)
    summaries = [RunSummary() for _ in ids]
    with way(name):
        pipeline.store_many([(jobs[i], archived(f"t{i}", text_of_page)) for i in ids], summaries)
    with engine.connect() as connection:
        statuses = list(connection.scalars(select(Article.status).where(Article.id.in_(ids))))
    assert statuses == [ArticleStatus.ARCHIVED] * 64


@pytest.mark.parametrize("name", WAYS)
def test_a_guid_too_big_for_its_index_fails_alone(postgres_engine: Engine, name: str) -> None:
    """A GUID fits its column by characters (sanitize.MAX_GUID_CHARS = 2048), not by bytes: 2,000 CJK
    characters are 6,000 bytes, past PostgreSQL's B-tree row limit (2,704 bytes) for
    uq_articles_feed_id_guid, and barely compressible. The INSERT fails with ProgramLimitExceeded, an
    OperationalError, which scraper.queue does not catch (only IntegrityError): the whole poll fails, its
    other entries not queued, in this poll and every next one. Not this branch's doing (row by row fails
    the same), but a hostile feed's value that must fail alone."""
    from scraper.store.db import upgrade

    engine = postgres_engine
    upgrade(engine)
    (feed,) = feed_ids(engine, 1)
    rnd = random.Random(3)
    guid = "".join(chr(rnd.randrange(0x4E00, 0x9FFF)) for _ in range(2000))
    entries = [
        FeedEntry(guid=g, link=f"https://g.example/{n}", title="t", author=None, published=None,
                  content_html=None, summary=None)
        for n, g in enumerate(["ok-0", guid, "ok-2"])
    ]  # fmt: skip
    with way(name), session_factory(engine).begin() as session:
        queued = enqueue_entries(session, feed, entries, NOW)
    assert len(queued.new_ids) >= 2
    with engine.connect() as connection:
        urls = set(connection.scalars(select(Article.canonical_url)))
    assert {"https://g.example/0", "https://g.example/2"} <= urls
