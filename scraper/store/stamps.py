"""The folder_stamps table: each export folder's directory mtimes when its posts were last adopted."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scraper.store.models import FolderStamp


def folder_stamp(session: Session, folder: str) -> dict[str, int] | None:
    """The directories (relative path -> mtime ns) recorded for this folder, or None if never."""
    raw = session.scalar(select(FolderStamp.directories).where(FolderStamp.folder == folder))
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, dict) else None


def record_folder_stamp(session: Session, folder: str, directories: dict[str, int], now: datetime) -> None:
    row = session.get(FolderStamp, folder)
    text = json.dumps(directories, sort_keys=True)
    if row is None:
        session.add(FolderStamp(folder=folder, directories=text, recorded_at=now))
    else:
        row.directories, row.recorded_at = text, now


def forget_folder_stamp(session: Session, folder: str) -> None:
    row = session.get(FolderStamp, folder)
    if row is not None:
        session.delete(row)
