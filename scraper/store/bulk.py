"""New article rows in bulk (an import, the adoption of a posts folder): the statement built once per batch
shape, the rows handed to the driver as tuples.

Why not SQLAlchemy's `insert()` with a list of dicts: it builds and processes the parameters of every row
in Python (a dict per row, each value through its type's bind processor, then the driver's own pass), and
at a million posts that was half of what storing cost. Here the values the types must change (the dates:
aware UTC datetimes, naive text on SQLite) go through the very processors SQLAlchemy would use, every
other value goes as it is, and:

- on SQLite the rows go to the driver's `executemany` (one prepared statement for the batch, in the
  session's transaction);
- on PostgreSQL they go by `COPY ... FROM STDIN` (psycopg's copy), which skips the per-row statement.

The rows are the same as the ORM insert's: the columns given, plus those whose default is a constant
(SQLAlchemy fills them in on insert, so this does too); a column with a computed default must be given.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Column, Connection, Engine, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from scraper.store.models import Article

_Processor = Callable[[Any], Any] | None

# SQLite's page cache for a bulk load, KiB. The default (2 MB) holds a sliver of the unique indexes a million
# posts make (canonical_url, post_path: their inserts and lookups land anywhere in them), and a batch of
# posts dirties more pages than that, which SQLite then spills to the WAL before the commit. 64 MB: at a
# million posts the adoption's peak stays under the 300 MB of issue 16 (it was 186 MB without).
BULK_CACHE_KIB = 65_536
# ... and its WAL's checkpoint interval, pages. A batch of posts writes more than the default 1,000 pages, so
# every commit checkpointed: two fsyncs a batch, and the index pages every batch touches copied into the
# database every time. 16,384 (64 MB of WAL): a checkpoint every ten batches or so.
BULK_CHECKPOINT_PAGES = 16_384


@contextmanager
def bulk_sessions(sessions: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    """Sessions for a bulk load: on SQLite all on one connection whose page cache is BULK_CACHE_KIB and
    checkpoint interval BULK_CHECKPOINT_PAGES for the load, and back to what they were after (a daemon
    adopts at start, then runs for days on that pool); on PostgreSQL (the server's cache) `sessions`."""
    engine = sessions.kw.get("bind")
    if not isinstance(engine, Engine) or engine.dialect.name != "sqlite":
        yield sessions
        return
    with engine.connect() as connection:
        before = _pragmas(
            connection, {"cache_size": -BULK_CACHE_KIB, "wal_autocheckpoint": BULK_CHECKPOINT_PAGES}
        )
        try:
            yield sessionmaker(bind=connection, expire_on_commit=False)
        finally:
            try:
                if connection.in_transaction():
                    connection.rollback()
                _pragmas(connection, before)
            except BaseException:
                # not put back (a Ctrl-C in the restore, a rollback that failed): the pool must not hand
                # the daemon a connection with the load's settings, so it closes this one
                connection.invalidate()
                raise


def _pragmas(connection: Connection, values: dict[str, int]) -> dict[str, int]:
    """Set these SQLite pragmas of the connection; what they were."""
    before = {name: int(connection.exec_driver_sql(f"PRAGMA {name}").scalar() or 0) for name in values}
    for name, value in values.items():
        connection.exec_driver_sql(f"PRAGMA {name} = {int(value)}")
    connection.commit()
    return before


class ArticleRows:
    """Inserts rows of `columns` (tuples in that order) into `articles` through the session's connection."""

    def __init__(self, columns: Sequence[str]) -> None:
        table = cast(Table, Article.__table__)
        self.columns = tuple(columns)
        given = set(self.columns)
        self.constants: tuple[Any, ...] = ()
        extra: list[str] = []
        for column in table.columns:
            default = column.default
            if column.name in given or default is None:
                continue
            if not default.is_scalar:
                raise ValueError(f"articles.{column.name} has a computed default: give it")
            extra.append(column.name)
            self.constants += (getattr(default, "arg", None),)
        self.all_columns = self.columns + tuple(extra)
        self._table_columns: list[Column[Any]] = [table.c[name] for name in self.all_columns]
        # (dialect, its processors), replaced whole: an instance is shared by every engine of the process
        self._prepared: tuple[Dialect | None, list[tuple[int, Callable[[Any], Any]]]] = (None, [])

    def insert(self, session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
        """The rows, in the session's transaction (the caller commits)."""
        if not rows:
            return
        names = ", ".join(self.all_columns)
        if session.get_bind().dialect.name == "postgresql":
            self._run(session, rows, f"COPY articles ({names}) FROM STDIN", self._copy)
        else:
            self._run(session, rows, self._sqlite_insert(""), _executemany)

    def insert_new(self, session: Session, rows: Sequence[tuple[Any, ...]]) -> int:
        """The rows whose canonical URL no article has, in the session's transaction; how many that was.

        What a seen-URL list needs: the unique index on canonical_url tells the rows known already while
        inserting, where a query for them first walked that index twice per row. On PostgreSQL the rows
        are copied into a temporary table (this transaction's: emptied by the insert that moves them)
        and moved with `ON CONFLICT DO NOTHING`, as COPY itself cannot skip a row."""
        if not rows:
            return 0
        if session.get_bind().dialect.name != "postgresql":
            statement = self._sqlite_insert(" ON CONFLICT (canonical_url) DO NOTHING")
            return self._run(session, rows, statement, _executemany)
        names = ", ".join(self.all_columns)
        stage = f"articles_stage_{len(self.all_columns)}_{zlib.crc32(names.encode()):08x}"
        session.connection().exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
            f"SELECT {names} FROM articles WITH NO DATA"
        )
        self._run(session, rows, f"COPY {stage} ({names}) FROM STDIN", self._copy)
        moved = session.connection().exec_driver_sql(
            f"WITH moved AS (DELETE FROM {stage} RETURNING {names}) INSERT INTO articles ({names}) "
            f"SELECT {names} FROM moved ON CONFLICT (canonical_url) DO NOTHING"
        )
        return int(moved.rowcount)

    def _sqlite_insert(self, suffix: str) -> str:
        marks = ", ".join("?" * len(self.all_columns))
        return f"INSERT INTO articles ({', '.join(self.all_columns)}) VALUES ({marks}){suffix}"

    def _run(
        self,
        session: Session,
        rows: Sequence[tuple[Any, ...]],
        statement: str,
        send: Callable[[Any, str, list[tuple[Any, ...]]], int],
    ) -> int:
        """The rows' values made ready for the driver and sent by `send`; the rows it changed."""
        connection = session.connection()
        dialect = connection.dialect
        prepared, processors = self._prepared
        if dialect is not prepared:
            processors = self._bind_processors(dialect)
            self._prepared = (dialect, processors)
        done: dict[Any, Any] = {}  # a batch's dates repeat (its `now`, a post's date twice): each done once
        values = [self._values(row, processors, done) for row in rows]
        dbapi = connection.connection.dbapi_connection
        driver_error = dialect.loaded_dbapi.Error
        try:
            return send(dbapi, statement, values)
        except driver_error as exc:
            # SQLAlchemy's own exception for it (IntegrityError, OperationalError...), as an insert through
            # SQLAlchemy raised: the callers and the CLI's "database error" message catch those.
            raise DBAPIError.instance(statement, None, exc, driver_error, dialect=dialect) from exc

    def _bind_processors(self, dialect: Dialect) -> list[tuple[int, Callable[[Any], Any]]]:
        """(position, processor) of the columns whose type changes the value on its way in (the dates).
        Columns of one type class share one processor, so that a value done for one is done for all:
        the types here (UTCDateTime) take no arguments, so one processor is the other's."""
        processors: list[tuple[int, Callable[[Any], Any]]] = []
        by_type: dict[type[Any], _Processor] = {}
        for index, column in enumerate(self._table_columns):
            kind = type(column.type)
            if kind not in by_type:
                by_type[kind] = column.type.dialect_impl(dialect).bind_processor(dialect)
            process = by_type[kind]
            if process is not None:
                processors.append((index, process))
        return processors

    def _values(
        self,
        row: tuple[Any, ...],
        processors: list[tuple[int, Callable[[Any], Any]]],
        done: dict[Any, Any],
    ) -> tuple[Any, ...]:
        if len(row) != len(self.columns):
            raise ValueError(f"a row of {len(row)} values for {len(self.columns)} columns")
        if not processors:
            return row + self.constants
        values = list(row + self.constants)
        for index, process in processors:
            value = values[index]
            if value is None:
                values[index] = process(None)
                continue
            key = (process, value)
            if key not in done:
                done[key] = process(value)
            values[index] = done[key]
        return tuple(values)

    @staticmethod
    def _copy(dbapi: Any, statement: str, values: list[tuple[Any, ...]]) -> int:
        with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
            for row in values:
                copy.write_row(row)
        return len(values)


def _executemany(dbapi: Any, statement: str, values: list[tuple[Any, ...]]) -> int:
    """One prepared statement for the batch; the rows it changed (sqlite3 sums them over the batch)."""
    cursor = dbapi.cursor()
    try:
        cursor.executemany(statement, values)
        return int(cursor.rowcount)
    finally:
        cursor.close()
