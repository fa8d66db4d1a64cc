"""Failed captures are recorded off the event loop; a writer that falls behind (the database on the full
disk that failed the captures) must not hold every later failure in memory: past a bound, lost."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from scraper.capture.failures import FailureLog
from scraper.store import captures as capture_rows
from scraper.store.db import make_engine, upgrade
from scraper.store.models import CaptureFailure


def test_failures_past_the_bound_are_counted_lost_and_the_rest_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    engine = make_engine(url)
    upgrade(engine)
    release = threading.Event()
    real = capture_rows.record_failures

    def stuck(connection: Any, rows: Any) -> None:
        release.wait(10)  # the database is slow to answer
        real(connection, rows)

    monkeypatch.setattr(capture_rows, "record_failures", stuck)
    log = FailureLog(url, max_pending=4)
    at = datetime.now(UTC)
    for i in range(7):
        log(f"http://127.0.0.1/{i}", "No space left on device", at)
    assert (log.count, log.lost) == (7, 3)
    release.set()
    log.close()
    assert log.lost == 3
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(CaptureFailure)) == 4
    log("http://127.0.0.1/again", "No space left on device", at)  # room again once the writer caught up
    log.close()
    assert (log.count, log.lost) == (8, 3)
