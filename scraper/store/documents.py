"""The backfill journal (backfill_documents): one row per sitemap or feed page read, so a rerun skips what
an earlier run read under the same filters."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from scraper.store.models import BackfillDocument


def journal_entry(session: Session, url: str, *, lock: bool = False) -> BackfillDocument | None:
    """The document's row, if it was ever read or claimed; `lock`: locked for this transaction."""
    query = select(BackfillDocument).where(BackfillDocument.url == url)
    return session.scalar(query.with_for_update() if lock else query)
