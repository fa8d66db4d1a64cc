"""`scraper export`: rewrite every post from the database (after a template change, say), streamed.

A million posts: their ids are read a window at a time by the primary key (never all at once), each
window written in its own transactions (scraper.export.writer.export_articles), so memory holds one
window whatever the archive's size. On a terminal a progress bar shows posts done of the total; elsewhere
(cron mail, CI logs) nothing is printed but the command's own last line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

from sqlalchemy.orm import Session, sessionmaker

from scraper.backfill.progress import Progress, make_progress
from scraper.export.writer import PostWriter, export_articles
from scraper.store.posts import archived_ids_after, count_ours

WINDOW = 2000  # ids read per query; written EXPORT_BATCH-ish at a time by export_articles' own batches


def rewrite_all(
    sessions: sessionmaker[Session],
    writer: PostWriter,
    *,
    progress: Progress | None = None,
    window: int = WINDOW,
) -> int:
    """Write (or rewrite) every post this program writes; returns files changed. `progress`: default a
    bar when standard error is a terminal, none otherwise."""
    if progress is None and sys.stderr.isatty():
        progress = make_progress()
    if progress is not None:
        with sessions() as session:
            progress.start("export", count_ours(session))
    changed = 0
    try:
        for ids in id_windows(sessions, archived_ids_after, window):
            changed += export_articles(sessions, writer, ids)
            if progress is not None:
                for _ in ids:
                    progress.advance(False)
    finally:
        if progress is not None:
            progress.finish()
    return changed


def id_windows(
    sessions: sessionmaker[Session], next_ids: Callable[[Session, int, int], list[int]], window: int
) -> Iterator[list[int]]:
    """`next_ids(session, after, limit)` called window by window (each in a short session of its own)
    until it gives fewer than asked."""
    after = 0
    while True:
        with sessions() as session:
            ids = next_ids(session, after, window)
        if ids:
            yield ids
            after = ids[-1]
        if len(ids) < window:
            return
