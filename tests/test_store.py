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


def test_the_cluster_migration_fills_hosts_and_marks_posts_already_written(tmp_path: Path) -> None:
    """0005 on an archive made before it: pending articles get their host (claims spread over hosts by
    it), and posts written by the earlier versions (they have a path) count as written."""
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    upgrade(engine, "0003")
    with engine.begin() as connection:
        for n, (status, path) in enumerate((("pending", None), ("archived", "2021-09-29-x.md"))):
            connection.execute(
                text(
                    "insert into articles (url, canonical_url, status, attempts, post_path, discovered_at) "
                    "values (:url, :url, :status, 0, :path, '2021-09-29 00:00:00')"
                ),
                {"url": f"https://Example.org/{n}", "status": status, "path": path},
            )
    upgrade(engine)
    with session_factory(engine)() as session:
        pending, archived = session.scalars(select(Article).order_by(Article.id)).all()
    assert pending.host == "example.org" and pending.post_written_at is None
    assert archived.post_written_at is not None
    assert_no_drift(engine)
