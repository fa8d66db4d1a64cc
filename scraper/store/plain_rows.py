"""Result rows as named tuples, for the rows the archive path reads many times over.

SQLAlchemy's Row finds a column by attribute only after Python's own attribute lookup has failed (an
AttributeError made, its message formatted, and dropped, every time): 0.75 us a read, against 0.06 us for
a tuple's item. A claim reads a few hundred rows and looks at each one's host, then builds a job of eight
columns per article claimed; an outcome batch reads six columns of each article: the reads cost more than
the rows. A named tuple reads its columns by attribute as fast as by index (0.08 us), and is made once
per row (about 1 us for eight columns, paid back by two reads). The values are those the Row holds (its
types' result processing done).
"""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Result


@functools.lru_cache(maxsize=64)
def row_type(names: tuple[str, ...]) -> type[tuple[Any, ...]]:
    """The named tuple of these columns (one class per set of names, kept)."""
    return namedtuple("PlainRow", names, rename=True)


def named_rows(result: Result[Any]) -> list[Any]:
    """Every row of `result` (fetched at once: the driver's fetchall) as a named tuple of its columns."""
    return as_named(result.keys(), result.all())


def as_named(names: Iterable[str], rows: Iterable[Sequence[Any]]) -> list[Any]:
    """These rows (sequences of the columns `names`) as named tuples."""
    make = row_type(tuple(names))._make  # type: ignore[attr-defined]
    return [make(row) for row in rows]
