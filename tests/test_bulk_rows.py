"""scraper.store.bulk: rows handed to the driver (executemany on SQLite, COPY on PostgreSQL) are stored as
SQLAlchemy's own insert stores them, on both backends; and an import through it stores posts on both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Engine, Table, func, insert, select
from sqlalchemy.exc import DataError, IntegrityError

from scraper.config import FeedConfig
from scraper.post_import import ImportSummary, configured_feed_ids, import_post_files
from scraper.store.bulk import ArticleRows
from scraper.store.db import session_factory
from scraper.store.models import Article
from tests.test_import import seed_post

COLUMNS = ("url", "canonical_url", "host", "status", "attempts", "discovered_at", "published_at", "title")
NOW = datetime(2024, 5, 1, 8, 30, 15, 123456, tzinfo=UTC)


def rows(prefix: str) -> list[tuple[Any, ...]]:
    """Rows with what a date can be: the batch's `now` repeated, another zone, none; and hostile text."""
    east = timezone(timedelta(hours=5, minutes=30))
    one, two, three = (f"https://{prefix}.example/{n}" for n in (1, 2, 3))
    return [
        (one, one, "news.example", "seen", 0, NOW, None, None),
        (two, two, "h", "archived", 3, NOW, NOW, "a\tb\\c\nd"),
        (three, three, "", "archived", 0, NOW, datetime(1999, 12, 31, 23, 59, 59, tzinfo=east),
         "Ü \"quoted\" 'single' \\N"),
    ]  # fmt: skip


def stored(engine: Engine, prefix: str) -> list[tuple[Any, ...]]:
    columns = [getattr(Article, name) for name in (*COLUMNS, "revisits", "edits", "feed_id", "post_path")]
    query = select(*columns).where(Article.url.like(f"https://{prefix}.%")).order_by(Article.id)
    with session_factory(engine)() as session:
        return [tuple(row)[2:] for row in session.execute(query)]  # past the URLs, which differ


def test_bulk_rows_are_stored_as_sqlalchemy_stores_them(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as session:
        session.execute(
            insert(cast(Table, Article.__table__)),
            [dict(zip(COLUMNS, row, strict=True)) for row in rows("orm")],
        )
    with sessions.begin() as session:
        ArticleRows(COLUMNS).insert(session, rows("bulk"))
    assert stored(engine, "bulk") == stored(engine, "orm")
    assert stored(engine, "bulk")[2][4] == datetime(1999, 12, 31, 18, 29, 59, tzinfo=UTC)  # read back in UTC
    assert stored(engine, "bulk")[0][6:8] == (0, 0)  # the constant defaults, as the ORM fills them
    with engine.connect() as connection:  # and as the database keeps them, not only as read back
        kept = [
            tuple(row)
            for row in connection.exec_driver_sql(
                "SELECT discovered_at, published_at, title FROM articles ORDER BY id"
            )
        ]
    assert kept[3:] == kept[:3]


def test_a_column_with_a_computed_default_must_be_given() -> None:
    with pytest.raises(ValueError, match="discovered_at"):
        ArticleRows(("url", "canonical_url", "host"))


def test_a_failed_bulk_insert_rolls_back_its_batch(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as session:
        ArticleRows(COLUMNS).insert(session, rows("one"))
    with pytest.raises(IntegrityError), sessions.begin() as session:  # SQLAlchemy's, as its insert raised
        ArticleRows(COLUMNS).insert(session, rows("two") + rows("one")[:1])  # a canonical URL again
    assert len(stored(engine, "two")) == 0 and len(stored(engine, "one")) == 3


def test_an_import_stores_its_posts_on_both_backends(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "_posts"
    folder.mkdir()
    for n in range(5):
        post = seed_post(f"Story {n}", f"https://news.example/story/{n}?utm_source=x", feed="News")
        (folder / f"2021-09-2{n}-Story {n}.md").write_text(post, encoding="utf-8")
    sessions = session_factory(engine)
    feeds = [FeedConfig(name="News", url="https://news.example/feed")]
    summary = ImportSummary()
    files = sorted(folder.iterdir())
    import_post_files(
        sessions, files, folder, configured_feed_ids(sessions, feeds), summary, now=NOW, workers=0
    )
    assert summary.posts == 5 and not summary.errors
    with sessions() as session:
        articles = list(session.scalars(select(Article).order_by(Article.id)))
    assert [a.canonical_url for a in articles] == [f"https://news.example/story/{n}" for n in range(5)]
    assert all(a.discovered_at == NOW and a.post_written_at == NOW and a.feed_id for a in articles)
    assert [a.post_path for a in articles] == [path.name for path in files]
    assert all(a.content_text and a.content_html and a.content_source == "import" for a in articles)


def test_a_batch_of_outcomes_updates_each_row_with_its_own_values_on_both_backends(engine: Engine) -> None:
    """article_rows.update_many, the outcomes' batch write: each row gets its own values, None, dates in
    another zone and hostile text included, and its lease kept or released; rows not in the batch are
    untouched; an over-long value fails the batch (the column's limit holds, nothing is cut short: a
    batch written as one statement with its values cast, as tried for issue 15, must keep this)."""
    from scraper.store.articles import update_many

    sessions = session_factory(engine)
    with sessions.begin() as session:
        ArticleRows(COLUMNS).insert(session, rows("u"))
    with engine.connect() as connection:
        ids = list(connection.scalars(select(Article.id).order_by(Article.id)))
    east = timezone(timedelta(hours=-3))
    batch = [
        {"row_id": ids[0], "new_title": "é \"x\" \\N\t{a,b}", "new_published_at": None, "new_attempts": 4},
        {"row_id": ids[2], "new_title": None, "new_published_at": datetime(2001, 2, 3, 4, tzinfo=east),
         "new_attempts": 0},
    ]  # fmt: skip
    until = NOW + timedelta(minutes=5)
    with engine.begin() as connection:
        update_many(connection, ("title", "published_at", "attempts"), batch, "node-1", until)
    columns = (
        Article.title,
        Article.published_at,
        Article.attempts,
        Article.lease_owner,
        Article.lease_expires_at,
    )
    with engine.connect() as connection:
        got = [tuple(row) for row in connection.execute(select(*columns).order_by(Article.id))]
    assert got == [
        ('é "x" \\N\t{a,b}', None, 4, "node-1", until),
        ("a\tb\\c\nd", NOW, 3, None, None),  # not in the batch
        (None, datetime(2001, 2, 3, 7, tzinfo=UTC), 0, "node-1", until),
    ]
    with engine.begin() as connection:
        update_many(connection, ("attempts",), [{"row_id": ids[0], "new_attempts": 5}], None, None)
    with engine.connect() as connection:
        assert tuple(connection.execute(select(*columns[2:4]).where(Article.id == ids[0])).one()) == (5, None)
    if engine.dialect.name == "postgresql":  # SQLite keeps any length
        too_long = [{"row_id": ids[1], "new_final_url": "https://x.example/" + "a" * 3000}]
        with pytest.raises(DataError), engine.begin() as connection:
            update_many(connection, ("final_url",), too_long, None, None)


def statements_of(engine: Engine) -> tuple[list[tuple[str, bool]], Any]:
    """The statements the engine runs from now on (text, executemany?), and the listener to remove."""
    from sqlalchemy import event

    seen: list[tuple[str, bool]] = []

    def note(_conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, many: bool) -> None:
        seen.append((statement, many))

    event.listen(engine, "before_cursor_execute", note)
    return seen, note


def test_a_batch_of_outcomes_is_one_statement_on_postgresql_and_every_row_gets_its_values(
    engine: Engine,
) -> None:
    """Issue 15: on PostgreSQL a batch of N outcomes is one UPDATE (over arrays of their values) and its
    raw pages one INSERT, not a statement per row; on SQLite a statement per row as before. Either way
    every row holds its own values, dates made UTC, and an over-long value in a batch is refused as a
    row's UPDATE refuses it, never cut short by a cast."""
    from sqlalchemy import event

    from scraper.store.articles import keep_raw_pages, update_many
    from scraper.store.models import RawPage

    n = 30
    sessions = session_factory(engine)
    with sessions.begin() as session:
        ArticleRows(("url", "canonical_url", "host", "status", "discovered_at")).insert(
            session,
            [(f"https://b.example/{i}", f"https://b.example/{i}", "b", "pending", NOW) for i in range(n)],
        )
    with engine.connect() as connection:
        ids = list(connection.scalars(select(Article.id).order_by(Article.id)))
    east = timezone(timedelta(hours=-3))
    batch = [
        {
            "row_id": row_id,
            "new_status": "archived",
            "new_title": None if i % 7 == 0 else f'T{i} "q" \\N\t{{a,b}} é',
            "new_attempts": i,
            "new_archived_at": datetime(2001, 2, 3, 4, i % 60, tzinfo=east),
            "new_post_path": f"post-{i}.md",
        }
        for i, row_id in enumerate(ids)
    ]
    pages = [
        {
            "article_id": row_id,
            "url": f"https://b.example/{i}",
            "content_type": None if i % 5 == 0 else "text/html",
            "encoding": "utf-8",
            "body_zlib": bytes([i, 0, 255]) * i,
            "fetched_at": NOW,
            "warc_file": None,
            "warc_offset": None if i % 2 else 2**40 + i,
        }
        for i, row_id in enumerate(ids)
    ]
    columns = ("archived_at", "attempts", "post_path", "status", "title")
    until = NOW + timedelta(minutes=5)
    seen, note = statements_of(engine)
    try:
        with engine.begin() as connection:
            update_many(connection, columns, batch, "node-1", until)
            keep_raw_pages(connection, pages, [])
    finally:
        event.remove(engine, "before_cursor_execute", note)
    writes = [(statement, many) for statement, many in seen if statement.lstrip()[:6] in ("UPDATE", "INSERT")]
    if engine.dialect.name == "postgresql":
        assert len(writes) == 2 and not any(many for _, many in writes)
    else:
        assert len(writes) == 2 and all(many for _, many in writes)  # each an executemany of n rows
    wanted = (
        Article.id,
        Article.status,
        Article.title,
        Article.attempts,
        Article.archived_at,
        Article.post_path,
        Article.lease_owner,
        Article.lease_expires_at,
    )
    with engine.connect() as connection:
        got = [tuple(row) for row in connection.execute(select(*wanted).order_by(Article.id))]
        kept = [
            tuple(row)
            for row in connection.execute(
                select(
                    RawPage.article_id, RawPage.content_type, RawPage.body_zlib, RawPage.warc_offset
                ).order_by(RawPage.article_id)
            )
        ]
    assert got == [
        (
            item["row_id"],
            "archived",
            item["new_title"],
            item["new_attempts"],
            item["new_archived_at"].astimezone(UTC),
            item["new_post_path"],
            "node-1",
            until,
        )
        for item in batch
    ]
    assert kept == [(p["article_id"], p["content_type"], p["body_zlib"], p["warc_offset"]) for p in pages]
    if engine.dialect.name == "postgresql":  # SQLite keeps any length
        too_long = [
            {"row_id": ids[0], "new_final_url": "https://x.example/short"},
            {"row_id": ids[1], "new_final_url": "https://x.example/" + "a" * 3000},
        ]
        with pytest.raises(DataError), engine.begin() as connection:
            update_many(connection, ("final_url",), too_long, None, None)
        with engine.connect() as connection:  # the batch's transaction rolled back, whole
            assert connection.scalar(select(Article.final_url).where(Article.id == ids[0])) is None


def test_a_batch_over_the_byte_bound_is_written_row_by_row_and_whole(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement is one message, and PostgreSQL drops the connection on one over 1 GB (64 outcomes of
    10 MB pages come near): a batch whose text and bytes pass scraper.store.arrays.MAX_BATCH_BYTES goes
    row by row, each row stored; one under it stays one statement. Non-ASCII text counts 4 a character."""
    from scraper.store import arrays
    from scraper.store.articles import keep_raw_pages

    assert arrays.batch_bytes([{"a": "x" * 10, "b": b"yy", "c": 5}, {"a": "é" * 3, "b": None}]) == 10 + 2 + 12
    monkeypatch.setattr(arrays, "MAX_BATCH_BYTES", 1000)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        ArticleRows(("url", "canonical_url", "host", "status", "discovered_at")).insert(
            session,
            [(f"https://c.example/{i}", f"https://c.example/{i}", "c", "pending", NOW) for i in range(6)],
        )
    with engine.connect() as connection:
        ids = list(connection.scalars(select(Article.id).order_by(Article.id)))

    def page(row_id: int, size: int) -> dict[str, Any]:
        return {
            "article_id": row_id, "url": f"https://c.example/{row_id}", "content_type": "text/html",
            "encoding": "utf-8", "body_zlib": b"z" * size, "fetched_at": NOW, "warc_file": None,
            "warc_offset": None,
        }  # fmt: skip

    big, small = [page(i, 600) for i in ids[:3]], [page(i, 100) for i in ids[3:]]
    seen, note = statements_of(engine)
    try:
        with engine.begin() as connection:
            keep_raw_pages(connection, big, [])
            keep_raw_pages(connection, small, [])
    finally:
        from sqlalchemy import event

        event.remove(engine, "before_cursor_execute", note)
    inserts = [many for statement, many in seen if statement.lstrip().upper().startswith("INSERT")]
    if engine.dialect.name == "postgresql":
        assert inserts == [True, False]  # the big batch row by row (executemany), the small one statement
    with engine.connect() as connection:
        from scraper.store.models import RawPage

        sizes = dict(connection.execute(select(RawPage.article_id, func.length(RawPage.body_zlib))).all())
    assert sizes == {i: 600 for i in ids[:3]} | {i: 100 for i in ids[3:]}
