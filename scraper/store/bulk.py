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

from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import Column, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from scraper.store.models import Article

_Processor = Callable[[Any], Any] | None


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
        connection = session.connection()
        dialect = connection.dialect
        prepared, processors = self._prepared
        if dialect is not prepared:
            processors = self._bind_processors(dialect)
            self._prepared = (dialect, processors)
        done: dict[Any, Any] = {}  # a batch's dates repeat (its `now`, a post's date twice): each done once
        values = [self._values(row, processors, done) for row in rows]
        dbapi = connection.connection.dbapi_connection
        names = ", ".join(self.all_columns)
        driver_error = dialect.loaded_dbapi.Error
        if dialect.name == "postgresql":
            statement = f"COPY articles ({names}) FROM STDIN"
        else:
            statement = f"INSERT INTO articles ({names}) VALUES ({', '.join('?' * len(self.all_columns))})"
        try:
            if dialect.name == "postgresql":
                self._copy(dbapi, statement, values)
            else:
                cursor = dbapi.cursor()  # type: ignore[union-attr]
                try:
                    cursor.executemany(statement, values)
                finally:
                    cursor.close()
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

    def _copy(self, dbapi: Any, statement: str, values: list[tuple[Any, ...]]) -> None:
        with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
            for row in values:
                copy.write_row(row)
