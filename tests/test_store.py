"""Migrations run on SQLite and PostgreSQL, and the models do not drift from them."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

from scraper.store.db import make_engine, session_factory, upgrade
from scraper.store.models import Article, Base, Feed, utcnow


def assert_no_drift(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def assert_round_trip(engine: Engine) -> None:
    now = utcnow()
    sessions = session_factory(engine)
    with sessions.begin() as session:
        feed = Feed(url="https://example.org/rss", name="n", failures_in_row=0)
        session.add(feed)
        session.flush()
        session.add(
            Article(
                feed_id=feed.id,
                url="https://example.org/a",
                canonical_url="https://example.org/a",
                discovered_at=now,
                next_attempt_at=now,
            )
        )
    with sessions() as session:
        article = session.scalars(select(Article)).one()
        assert article.discovered_at == now and article.discovered_at.tzinfo is not None
        assert article.status == "pending" and article.attempts == 0


def test_sqlite_migrations_wal_and_no_drift(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'archive.db'}")
    upgrade(engine)
    upgrade(engine)  # idempotent
    assert {"feeds", "articles", "raw_pages", "alembic_version"} <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        assert connection.execute(text("pragma journal_mode")).scalar() == "wal"
    assert_no_drift(engine)
    assert_round_trip(engine)


def test_postgresql_migrations_and_no_drift(postgres_engine: Engine) -> None:
    upgrade(postgres_engine)
    assert {"feeds", "articles", "raw_pages"} <= set(inspect(postgres_engine).get_table_names())
    assert_no_drift(postgres_engine)
    assert_round_trip(postgres_engine)
