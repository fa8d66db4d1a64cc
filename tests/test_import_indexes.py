"""An import's rows touch few indexes (migration 0009_s14_16): the lease, posts-to-write and revisit indexes
are partial, and the queries that read them still do; seen URLs the database knows are skipped by the unique
index, so an import run twice stores the same rows, on both backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.command import downgrade
from sqlalchemy import Connection, Engine, event, select, text

from scraper.post_import import ImportSummary, import_seen_urls
from scraper.store.bulk import BULK_CACHE_KIB, BULK_CHECKPOINT_PAGES, ArticleRows, bulk_sessions
from scraper.store.db import alembic_config, make_engine, session_factory, upgrade
from scraper.store.leases import free_owners
from scraper.store.models import Article
from scraper.store.posts import posts_waiting
from scraper.store.tables import PARTIAL_INDEXES
from scraper.store.work_due import nothing_due

NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
SEEN = ("url", "canonical_url", "host", "status", "attempts", "discovered_at")


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def seen_row(n: int) -> tuple[Any, ...]:
    url = f"https://news.example/seen/{n}"
    return (url, url, "news.example", "seen", 0, NOW)


def articles(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        query = select(Article.canonical_url, Article.status, Article.post_path).order_by(Article.id)
        return [tuple(row) for row in connection.execute(query)]


def test_insert_new_skips_the_known_urls_and_says_how_many(engine: Engine) -> None:
    rows = ArticleRows(SEEN)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        assert rows.insert_new(session, [seen_row(n) for n in (0, 1)]) == 2
        # twice in one transaction: on PostgreSQL the staging table was emptied by the first move
        assert rows.insert_new(session, [seen_row(n) for n in (1, 2)]) == 1
    with sessions.begin() as session:
        assert rows.insert_new(session, [seen_row(n) for n in (0, 2, 3)]) == 1
    assert [key for key, _, _ in articles(engine)] == [f"https://news.example/seen/{n}" for n in range(4)]


def test_a_seen_list_imported_twice_stores_the_same_rows_and_keeps_known_articles(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as session:
        known = "https://news.example/seen/5"
        session.add(
            Article(url=known, canonical_url=known, status="archived", post_path="a.md", discovered_at=NOW)
        )
    urls = [f"https://news.example/seen/{n}" for n in (3, 1, 5, 2, 1, 4)]
    first, second = ImportSummary(), ImportSummary()
    import_seen_urls(sessions, urls, first)
    rows = articles(engine)
    import_seen_urls(sessions, urls, second)
    assert (first.seen, first.seen_known) == (4, 1)  # the list's duplicate is one row
    assert (second.seen, second.seen_known) == (0, 5)
    assert articles(engine) == rows
    assert rows[0] == ("https://news.example/seen/5", "archived", "a.md")  # the known article kept its row
    assert sorted(status for _, status, _ in rows[1:]) == ["seen"] * 4


def test_the_three_indexes_hold_only_their_queries_rows(engine: Engine) -> None:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'articles'"
        else:
            query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'articles'"
        made = {name: sql or "" for name, sql in connection.exec_driver_sql(query)}
    assert "ix_articles_feed_id" not in made  # (feed_id, status) and (feed_id, guid) lead with feed_id
    for name, where in PARTIAL_INDEXES.items():
        assert where.lower() in made[name].lower().replace("(", "").replace(")", ""), made[name]


def plans(engine: Engine, run: Callable[[Connection], object]) -> list[str]:
    """The SQLite query plan of each statement on articles that `run` executes."""
    seen: list[tuple[str, Any]] = []

    def executed(conn: object, cursor: object, statement: str, parameters: Any, *args: object) -> None:
        if "articles" in statement and not statement.startswith("EXPLAIN"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", executed)
    try:
        with engine.begin() as connection:
            run(connection)
    finally:
        event.remove(engine, "before_cursor_execute", executed)
    with engine.connect() as connection:
        return [
            " ".join(str(row) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
            for sql, params in seen
        ]


def test_the_partial_indexes_queries_still_use_them(sqlite_engine: Engine) -> None:
    posts = plans(sqlite_engine, posts_waiting)
    assert len(posts) == 1 and "ix_articles_status_post_written_at" in posts[0]
    due = plans(sqlite_engine, lambda connection: nothing_due(connection, NOW))  # type: ignore[arg-type]
    assert len(due) == 3  # pending and due, revisits due, posts to write
    assert "ix_articles_status_next_attempt_at" in due[0]
    assert "ix_articles_status_revisit_at" in due[1] and "ix_articles_status_post_written_at" in due[2]
    freed = plans(sqlite_engine, lambda connection: free_owners(connection, ["node-1"]))  # type: ignore[arg-type]
    assert any("ix_articles_lease_owner" in plan for plan in freed)
    with sqlite_engine.connect() as connection:
        held = connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT lease_owner, count(*) FROM articles "
            "WHERE lease_owner IS NOT NULL AND lease_expires_at >= ? GROUP BY lease_owner",
            ("2024-05-01 08:00:00",),
        )
        assert "ix_articles_lease_owner" in " ".join(
            str(row) for row in held
        )  # scraper.store.reports.node_reports' count, by hand


def test_the_migration_keeps_an_existing_archives_rows(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    upgrade(engine, "0008_s13_16")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO articles (url, canonical_url, status, attempts, lease_owner, discovered_at) "
                "VALUES ('https://a.example/1', 'https://a.example/1', 'pending', 0, 'node', '2024-05-01')"
            )
        )
    upgrade(engine)
    assert articles(engine) == [("https://a.example/1", "pending", None)]
    with engine.connect() as connection:
        owner = "SELECT count(*) FROM articles INDEXED BY ix_articles_lease_owner WHERE lease_owner = 'node'"
        assert connection.exec_driver_sql(owner).scalar() == 1  # the row is in the rebuilt partial index
    downgrade(alembic_config(engine), "0008_s13_16")  # and back: the full indexes again
    with engine.connect() as connection:
        made = {name for (name,) in connection.exec_driver_sql("SELECT name FROM sqlite_master")}
        assert connection.exec_driver_sql(owner.replace("'node'", "'none'")).scalar() == 0
    assert "ix_articles_feed_id" in made and articles(engine) == [("https://a.example/1", "pending", None)]
    engine.dispose()


def test_a_bulk_load_has_a_big_sqlite_cache_and_wal_and_gives_them_back(sqlite_engine: Engine) -> None:
    sessions = session_factory(sqlite_engine)
    with sqlite_engine.connect() as connection:
        default = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        interval = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    with pytest.raises(RuntimeError), bulk_sessions(sessions) as bulk:
        with bulk.begin() as session:
            pragma = session.connection().exec_driver_sql
            assert pragma("PRAGMA cache_size").scalar() == -BULK_CACHE_KIB
            assert pragma("PRAGMA wal_autocheckpoint").scalar() == BULK_CHECKPOINT_PAGES
            ArticleRows(SEEN).insert(session, [seen_row(1)])
        with bulk.begin() as session:
            ArticleRows(SEEN).insert(session, [seen_row(2)])
            raise RuntimeError("a batch that fails mid-way: rolled back, the batches before it kept")
    assert [key for key, _, _ in articles(sqlite_engine)] == ["https://news.example/seen/1"]
    with sqlite_engine.connect() as connection:  # the pool's one connection, the load's
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == default
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == interval
