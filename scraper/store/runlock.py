"""One run at a time per archive: cron may start `scraper once` while the last run is still going.

SQLite: an OS file lock on `<database file>.lock` beside the database (`flock`, as filelock takes it, so the
two exclude each other; filelock itself where there is no fcntl, as on Windows; released by the kernel if
the process dies, so a crashed run never leaves a stale lock). The flock is taken directly because importing
filelock costs a cron run with nothing new a tenth of its CPU. PostgreSQL: a session advisory lock, keyed by
the schema in use, held on a connection of its own for the whole run (released when that connection closes,
which a dead process's does). An in-memory SQLite database is private to its process and needs no lock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from scraper.errors import LockHeldError

# The advisory lock key is two ints: this constant ("scraper run"), then a hash of the schema.
_ADVISORY_CLASS = 0x5C4A9E11


def sqlite_lock_path(engine: Engine) -> Path | None:
    database = engine.url.database
    if (
        engine.dialect.name != "sqlite"
        or not database
        or database == ":memory:"
        or database.startswith("file:")
    ):
        return None
    return Path(database).with_name(Path(database).name + ".lock")


@contextmanager
def run_lock(engine: Engine, *, advisory: bool = True) -> Iterator[None]:
    """Hold the archive's run lock for the block; raises LockHeldError at once if another process has it.

    `advisory=False` skips the PostgreSQL lock: daemons on several nodes share one PostgreSQL by design.
    """
    path = sqlite_lock_path(engine)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock(path):
            yield
        return
    if engine.dialect.name != "postgresql" or not advisory:
        yield
        return
    with engine.connect() as connection:
        key = "select pg_try_advisory_lock(cast(:c as integer), hashtext(current_schema()))"
        if not connection.execute(text(key), {"c": _ADVISORY_CLASS}).scalar():
            connection.rollback()
            where = engine.url.render_as_string(hide_password=True)
            raise LockHeldError(f"another scraper run holds the PostgreSQL advisory lock on {where}")
        connection.commit()
        try:
            yield
        finally:
            # A pooled connection outlives this block: unlock explicitly, or the pool would keep the lock.
            try:
                unlock = "select pg_advisory_unlock(cast(:c as integer), hashtext(current_schema()))"
                connection.execute(text(unlock), {"c": _ADVISORY_CLASS})
                connection.commit()
            except Exception:  # the server went away: so did the lock; never pool this connection again
                connection.invalidate()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive OS lock on the file for the block, or LockHeldError at once if another process has it."""
    try:
        import fcntl
    except ImportError:  # no flock here (Windows): filelock's own
        with _portable_file_lock(path):
            yield
        return
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeldError(f"another scraper run holds the lock {path}") from None
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


@contextmanager
def _portable_file_lock(path: Path) -> Iterator[None]:
    from filelock import FileLock, Timeout

    lock = FileLock(path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise LockHeldError(f"another scraper run holds the lock {path}") from None
    try:
        yield
    finally:
        lock.release()
