"""A batch of rows as one PostgreSQL statement: one array per column, taken apart by unnest().

Written row by row (the driver's executemany), a batch costs per row SQLAlchemy's parameter processing and
a statement sent and answered; written with a VALUES list or an `IN` of each value, the statement's text
changes with the batch's length, so it is built, and parsed by the driver, every time. Here the statement
is one per set of columns, built and compiled once, and each column's values go as one array, sent in
binary (psycopg's `%(name)b`): an array sent as text is escaped value by value in Python, which for a
batch of pages cost more than the statements it saved (issue 15).

The values are processed as SQLAlchemy would bind them (an aware date made UTC, a naive one refused:
scraper.store.tables.UTCDateTime), and strings are cast to text, never to varchar(n): an explicit cast to
varchar(n) cuts a longer value short, where the assignment to the column refuses it, as a row's own
statement does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    CursorResult,
    DateTime,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    bindparam,
    func,
)
from sqlalchemy.exc import StatementError
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeEngine

MAX_COMPILED = 256  # statements kept compiled (each is one per set of columns: a few dozen at most)
MAX_BATCH_BYTES = 32 * 1024 * 1024  # a batch's text and bytes over this are written row by row


def as_arrays(connection: Connection, rows: Sequence[Mapping[str, Any]], key: str) -> bool:
    """Whether to write these rows as one statement over arrays: on PostgreSQL through psycopg (whose
    `%(name)b` sends a value in binary), several rows, each once (an UPDATE ... FROM that met a row twice
    would take one of its values, unsaid which), all with the same keys, and their text and bytes at most
    MAX_BATCH_BYTES together (`batch_bytes`)."""
    if not on_psycopg(connection) or len(rows) < 2:
        return False
    first = rows[0].keys()
    return (
        len({row[key] for row in rows}) == len(rows)
        and all(row.keys() == first for row in rows)
        and batch_bytes(rows) <= MAX_BATCH_BYTES
    )


def batch_bytes(rows: Sequence[Mapping[str, Any]]) -> int:
    """At least the bytes the rows' text and binary values take on the wire (text as UTF-8: a non-ASCII
    character counted as 4). A statement is one message, and PostgreSQL drops the connection on a message
    over 1 GB: 64 outcomes of 10 MB pages (a page's record is its text and its HTML, the raw page beside
    it) come near, and the whole batch would fail where row by row each is stored. Row by row also keeps a
    batch's memory at one row's copies, not the whole batch's twice over."""
    total = 0
    for row in rows:
        for value in row.values():
            if isinstance(value, bytes):
                total += len(value)
            elif isinstance(value, str):
                total += len(value) if value.isascii() else 4 * len(value)
    return total


def on_psycopg(connection: Connection) -> bool:
    """PostgreSQL through psycopg 3 (make_engine's driver for postgresql:// URLs)."""
    return connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"


def array_type(column_type: TypeEngine[Any]) -> TypeEngine[Any]:
    """The type of a column's array: its items bound as the column's (strings as text, see the docstring)."""
    impl = getattr(column_type, "impl", column_type)
    if isinstance(impl, String | Text):
        return ARRAY(Text())
    if isinstance(impl, DateTime | Integer | LargeBinary):
        return ARRAY(column_type)
    raise TypeError(f"no array type for {column_type!r}")  # a new kind of column says its own here


def in_list(column: Any, name: str, *, postgresql: bool, negate: bool = False) -> ColumnElement[bool]:
    """`column IN (...)` (`NOT IN` with `negate`) of a list bound at execution as `name`. On PostgreSQL
    `column = ANY(:name)` (`<> ALL`), the list one array: the statement's text is then the same whatever
    the list's length, so SQLAlchemy renders no placeholder per value on each execution, psycopg converts
    the query once, and the server prepares it after a few runs; an expanding IN is a new statement for
    each length of list (a claim's ids, a batch's). Elsewhere (SQLite) the expanding IN. The list must
    hold no NULL (where IN and = ANY, NOT IN and <> ALL, agree)."""
    if not postgresql:
        values = bindparam(name, expanding=True, type_=column.type)
        return column.not_in(values) if negate else column.in_(values)
    array = array_type(column.type)  # strings as text[]: a cast to varchar(n)[] would cut one short
    bound = bindparam(name, type_=array).cast(array)
    return column != func.all(bound) if negate else column == func.any(bound)


def unnest(table: Table, names: Sequence[str]) -> Any:
    """unnest() of one bound array per column (`all_<name>`), as a derived table `batch` of those columns."""
    arrays = []
    for name in names:
        array = array_type(table.c[name].type)
        arrays.append(bindparam(f"all_{name}", type_=array).cast(array))
    return func.unnest(*arrays).table_valued(*names).render_derived(name="batch")


_compiled: dict[Executable, tuple[str, dict[str, Any], dict[str, TypeDecorator[Any]]]] = {}


def execute(connection: Connection, statement: Executable, values: Mapping[str, Any]) -> CursorResult[Any]:
    """Run `statement` (built once by the caller, with `unnest`) with these values: `all_<name>` arrays,
    sent in binary, and scalars. Compiled once per statement, the values processed as their binds'
    types say (`_process`); the statement's own constants (an interval) as compiled."""
    known = _compiled.get(statement)
    if known is None:
        known = _compile(connection, statement)
        if len(_compiled) >= MAX_COMPILED:
            _compiled.clear()
        _compiled[statement] = known
    sql, constants, processed = known
    params = dict(constants)
    for name, value in values.items():
        decorator = processed.get(name)
        if decorator is not None:
            value = _process(decorator, value, connection)
        params[name] = value
    return connection.exec_driver_sql(sql, params)


def _compile(
    connection: Connection, statement: Executable
) -> tuple[str, dict[str, Any], dict[str, TypeDecorator[Any]]]:
    """The statement's SQL for the driver (arrays as binary placeholders), the constants it binds, and the
    binds whose values our types process (their TypeDecorator, for an array its items')."""
    compiled = statement.compile(dialect=connection.dialect)  # type: ignore[attr-defined]
    sql = compiled.string
    constants: dict[str, Any] = {}
    processed: dict[str, TypeDecorator[Any]] = {}
    for name, bind in compiled.binds.items():
        kind = bind.type.item_type if isinstance(bind.type, ARRAY) else bind.type
        if name.startswith("all_"):
            sql = sql.replace(f"%({name})s", f"%({name})b")
        elif not bind.required:  # a value of the statement's own (a NULL, an interval)
            constants[name] = bind.value
        if isinstance(kind, TypeDecorator):
            processed[name] = kind
    return sql, constants, processed


def _process(decorator: TypeDecorator[Any], value: Any, connection: Connection) -> Any:
    """The value as the bind's type makes it; a value it refuses (a naive date, a date before year 1
    once made UTC) raises StatementError, as the same row's own statement would through SQLAlchemy."""
    dialect = connection.dialect
    try:
        if isinstance(value, list):
            return [None if item is None else decorator.process_bind_param(item, dialect) for item in value]
        return None if value is None else decorator.process_bind_param(value, dialect)
    except (ValueError, TypeError, OverflowError) as exc:
        raise StatementError(
            f"({type(exc).__module__}.{type(exc).__name__}) {exc}", None, None, exc
        ) from None
