"""Engines, sessions and migrations.

SQLite is the embedded default and runs in WAL mode (readers never block the writer, and a crash leaves a
consistent file); PostgreSQL is for several nodes. The schema is always brought up by Alembic, never by
`create_all`, so every database, old or new, walks the same migration path.

SQLite transactions are begun by SQLAlchemy, not by the driver's guesswork (SQLAlchemy's documented recipe
for pysqlite): a connection with the execution option `sqlite_begin="IMMEDIATE"` starts with
`BEGIN IMMEDIATE`, taking the write lock before its first read. Claims and lease-guarded writes use it, so
their read-check-write is exclusive (a deferred transaction that reads, then writes after another writer
committed, fails at once with "database is locked" instead of waiting).
"""

from __future__ import annotations

import re
import time
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError, DisconnectionError

from scraper.errors import SchemaRevisionError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
    from sqlalchemy.orm import Session, sessionmaker

# A pooled PostgreSQL connection idle longer than this is pinged before it is handed out (see make_engine).
IDLE_PING_SECONDS = 10.0
# ... and one older than this is replaced (a server or a firewall may drop long-idle connections).
POOL_RECYCLE_SECONDS = 1800


def migrations_dir() -> Path:
    """migrations/ ships inside the package as scraper.migrations (see pyproject.toml)."""
    return Path(str(files("scraper.migrations")))


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        _ensure_sqlite_folder(url)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, pool_recycle=POOL_RECYCLE_SECONDS, **kwargs)
    if engine.dialect.name == "postgresql":
        from scraper.store.tables import add_postgresql_options

        add_postgresql_options()
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_when_idle(engine))
    return engine


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_when_idle(engine: Engine) -> Any:
    """The pool's checkout hook for PostgreSQL: ping only a connection that sat idle in the pool.

    `pool_pre_ping` pings on every checkout, one round trip per transaction, and the pipeline runs many
    short transactions back to back on connections that were in use a moment ago. What a ping guards
    against is a connection the server or the network dropped while it sat unused (a restarted server,
    an idle timeout), so this pings only one idle for more than IDLE_PING_SECONDS; a dead one is replaced
    before use (SQLAlchemy's documented pessimistic recipe: DisconnectionError makes the pool retry with a
    new connection). A connection that dies while busy fails its transaction; SQLAlchemy then invalidates
    the pool, and the work is retried as any failed transaction is (the claim's lease runs out, the next
    tick or run takes it again). pool_recycle replaces connections older than POOL_RECYCLE_SECONDS.
    """

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("checked_in_at")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(
                f"a pooled connection idle since {idle_since:.0f} is gone: {exc}"
            ) from exc

    return checkout


def _ensure_sqlite_folder(url: str) -> None:
    _, _, path = url.partition(":///")
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    dbapi_connection.isolation_level = None  # the driver begins nothing; _sqlite_begin does


def _sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "")
    connection.exec_driver_sql(f"BEGIN {mode}".rstrip())


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["engine"] = engine
    return config


# The advisory lock key that serialises migrations on PostgreSQL: this constant, then a hash of the schema.
_MIGRATION_LOCK = 0x5C4A9E12


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` (the daemon and every command do this on start).

    On PostgreSQL several nodes may start at once: they migrate one after the other (an advisory lock per
    schema), so the second finds the schema up to date instead of creating the same tables.

    A database already at head, as it is on every start but the first after an upgrade of scraper, costs
    one query (`at_head`): Alembic and its scripts are loaded only when there is something to migrate or
    to refuse.
    """
    if revision == "head" and at_head(engine):
        return
    from alembic import command

    check_revision(engine)
    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine), revision)
        return
    with engine.connect() as connection:
        key = {"c": _MIGRATION_LOCK}
        lock = "select pg_advisory_lock(cast(:c as integer), hashtext(current_schema()))"
        connection.execute(text(lock), key)
        connection.commit()
        try:
            command.upgrade(alembic_config(engine), revision)
        finally:
            unlock = "select pg_advisory_unlock(cast(:c as integer), hashtext(current_schema()))"
            connection.execute(text(unlock), key)
            connection.commit()


# `revision = "0001"`, `down_revision: str | None = None` and the like, at the start of a line of a script.
_QUOTED = re.compile(r"""["']([^"']+)["']""")
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.MULTILINE)


@cache
def head_revisions() -> frozenset[str]:
    """The heads of the migration scripts (revisions no other script names as its down_revision), read from
    the scripts' `revision` and `down_revision` lines without importing the scripts or Alembic. Empty when
    a script cannot be read so: the caller then asks Alembic, which is always right."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (migrations_dir() / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found:
            if path.name == "__init__.py":
                continue
            return frozenset()
        names = _QUOTED.findall(found["revision"])
        if len(names) != 1:
            return frozenset()
        revisions.add(names[0])
        parents.update(_QUOTED.findall(found.get("down_revision", "None")))  # None, "x" or ("x", "y")
    return frozenset(revisions - parents)


def at_head(engine: Engine) -> bool:
    """Whether the database's alembic_version holds exactly the scripts' heads: one query. A database
    without the table (a new one), an unknown revision or an old one all answer False."""
    heads = head_revisions()
    if not heads:
        return False
    try:
        with engine.connect() as connection:
            current = set(connection.execute(text("select version_num from alembic_version")).scalars())
    except DBAPIError:  # no such table: a new database
        return False
    return current == heads


def check_revision(engine: Engine) -> None:
    """Refuse a database this scraper cannot migrate, before Alembic tries: one at a revision it does not
    know (written by a newer scraper: downgrading is not ours to do) or one holding scraper's tables with no
    revision at all (another program's, or its alembic_version table dropped), which Alembic would try to
    create again. Raises SchemaRevisionError naming the revision and the fix."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from scraper.store.tables import metadata

    scripts = ScriptDirectory.from_config(alembic_config(engine))
    known = {script.revision for script in scripts.walk_revisions()}
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
        ours = set(metadata.tables) & set(inspect(connection).get_table_names())
    unknown = [head for head in current if head not in known]
    if unknown:
        raise SchemaRevisionError(
            f"the database is at schema revision {unknown[0]!r}, which this scraper does not know (a newer "
            "scraper, or another program, wrote it); fix: run the newer scraper, or point database.url at "
            "another database"
        )
    overlapping = [
        old
        for head in current
        for old in current
        if old != head and old in {rev.revision for rev in scripts.iterate_revisions(head, "base")}
    ]
    if overlapping:  # a hand edit or a half-restored backup: Alembic would fail with a bare CommandError
        raise SchemaRevisionError(
            f"the database's alembic_version holds {sorted(current)}, where {overlapping[0]!r} is an "
            "older revision of another: fix: delete that row from alembic_version"
        )
    if not current and ours:
        raise SchemaRevisionError(
            f"the database holds scraper's tables ({', '.join(sorted(ours)[:3])}, ...) but no schema "
            "revision: it was not made by scraper, or its alembic_version table was dropped; fix: point "
            "database.url at a new database, or restore alembic_version"
        )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """ORM sessions on the engine. The ORM is imported here, by the first caller that needs mapped rows:
    the Core statements of a cron run with nothing new never load it (scraper.store.tables)."""
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(engine, expire_on_commit=False)


def ping(engine: Engine) -> None:
    """Raises unless the database answers a trivial query (the daemon's health check)."""
    with engine.connect() as connection:
        connection.execute(text("select 1"))
