"""Captures that failed, written to the database for `scraper status`, off the event loop.

A capture that cannot be written (a full disk, a folder made read-only, a record warcio refuses) costs that
capture alone: the fetch goes on, the article is archived. So that the loss is seen and not only logged, each
failure is recorded as a row (`capture_failures`), by one worker thread with its own small engine, made at
the first failure: the Fetcher calls the writer on the event loop, which must not wait on the database, and a
run without failures opens nothing. A failure the database cannot take either (the same full disk) is
logged, and counted in `FailureLog.lost`.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import Engine

from scraper.store import captures as capture_rows
from scraper.store.db import make_engine

log = logging.getLogger(__name__)

MAX_REASON = 1000  # an OSError's text is short; a warcio error may quote a header
MAX_PENDING = 1000  # failures waiting for their row: a full disk fails every capture; memory stays flat


class FailureLog:
    """`(url, reason, at)` → a `capture_failures` row, written in the background; `close` waits for them."""

    def __init__(self, database_url: str, max_pending: int = MAX_PENDING) -> None:
        self.database_url = database_url
        self.max_pending = max_pending
        self.count = 0  # failures seen by this process
        self.lost = 0  # of those, not recorded
        self._pending = 0
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._engine: Engine | None = None

    def __call__(self, url: str, reason: str, at: datetime) -> None:
        with self._lock:
            self.count += 1
            if self._pending >= self.max_pending:  # the writer is behind (or stuck): count it, keep no row
                self.lost += 1
                log.error("capture failure of %s not recorded: %d already waiting", url, self._pending)
                return
            self._pending += 1
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="capture-failures")
            self._pool.submit(self._write, url, reason[:MAX_REASON], at)

    def _write(self, url: str, reason: str, at: datetime) -> None:
        try:
            if self._engine is None:
                self._engine = make_engine(self.database_url)
            with self._engine.begin() as connection:
                capture_rows.record_failures(connection, [{"at": at, "url": url[:2048], "reason": reason}])
        except Exception as exc:  # the database may sit on the same full disk
            with self._lock:
                self.lost += 1
            log.error("capture failure of %s not recorded: %s", url, exc)
        finally:
            with self._lock:
                self._pending -= 1

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
