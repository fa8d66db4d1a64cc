"""The folder_stamps table: each export folder's directory mtimes when its posts were last adopted.

Core statements, run in a Connection or an ORM Session alike (scraper.folder_stamps asks them every run)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import delete, insert, select, update

from scraper.store.nodes import Transaction
from scraper.store.tables import folder_stamps

STAMP = folder_stamps.c


def folder_stamp(session: Transaction, folder: str) -> dict[str, int] | None:
    """The directories (relative path -> mtime ns) recorded for this folder, or None if never."""
    raw = session.scalar(select(STAMP.directories).where(STAMP.folder == folder))
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, dict) else None


def record_folder_stamp(
    session: Transaction, folder: str, directories: dict[str, int], now: datetime
) -> None:
    text = json.dumps(directories, sort_keys=True)
    found = session.execute(
        update(folder_stamps).where(STAMP.folder == folder).values(directories=text, recorded_at=now)
    )
    if not getattr(found, "rowcount", 0):
        session.execute(insert(folder_stamps).values(folder=folder, directories=text, recorded_at=now))


def forget_folder_stamp(session: Transaction, folder: str) -> None:
    session.execute(delete(folder_stamps).where(STAMP.folder == folder))
