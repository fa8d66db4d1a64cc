"""Adopting the export folder's posts that the database does not know, before a run polls anything.

Pointed at a folder that already holds posts (a fresh CI checkout whose database was lost, an old archive
copied in), a run must not write a second post for an entry that has one. But a cron run over a million
posts cannot list and compare the folder each time: that made every run pay for the whole archive.

The choice: each directory's mtime, recorded (`folder_stamps`) when the folder was last adopted. Adding,
removing or renaming a file changes its directory's mtime, and a new subfolder its parent's, so a folder
whose recorded directories all keep their mtimes has no file the database has not seen: the run stats a
handful of directories and reads nothing else. A changed (or never recorded) folder is walked, streamed a
batch at a time (the names of one directory in memory, the known ones found by the unique index on
`post_path`), and the new stamp recorded. The run re-records the stamp after writing its own posts (its
writes change the mtime too), as the daemon has always adopted only at start and on reload: a file copied
into the folder *while* a run writes posts is adopted by the next `scraper import` of the folder, or the
next time the folder changes outside a run. Coarse mtimes (FAT, some network file systems: whole seconds)
are not trusted within 2 s of the stamp, as git treats a racy index entry.

Why not a high-water mark of names or dates: posts are named by their published date, and backfilled or
copied-in posts are old, so a new file is not after the last one in any order. Why not "only when asked":
the continuation from a posts folder without its database must just work, as it does on first run.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from scraper.config import FeedConfig
from scraper.export.files import remove_stale_temp_files
from scraper.folder_stamps import (  # the cheap check, kept apart so a run with nothing new needs no more
    RACY_SECONDS,
    directories_unchanged,
    folder_key,
    restamp_export_folder,
    trusted,
)
from scraper.post_import import (
    BATCH,
    ImportSummary,
    Unreadable,
    chunked,
    configured_feed_ids,
    import_post_files,
)
from scraper.post_reader import is_utf8, scan_post_files
from scraper.store import articles as article_rows
from scraper.store.maintenance import after_bulk_load
from scraper.store.stamps import folder_stamp, record_folder_stamp

__all__ = [
    "RACY_SECONDS",
    "adopt_export_folder",
    "directories_unchanged",
    "folder_key",
    "record_adopted",
    "restamp_export_folder",
    "trusted",
]

log = logging.getLogger(__name__)


def adopt_export_folder(
    sessions: sessionmaker[Session],
    export_dir: Path,
    feeds: Sequence[FeedConfig],
    now: datetime | None = None,
    *,
    force: bool = False,
) -> ImportSummary:
    """Import the posts of the export folder that the database does not know yet, unless the folder is
    unchanged since it was last adopted (see the module docstring); `force` walks it anyway."""
    summary = ImportSummary()
    if not export_dir.is_dir():
        return summary
    key = folder_key(export_dir)
    with sessions() as session:
        recorded = folder_stamp(session, key)
    if not force and recorded is not None and directories_unchanged(export_dir, recorded):
        return summary
    # A killed run's half-written posts: its temp file changed the folder's mtime, so it is walked now.
    remove_stale_temp_files(export_dir)
    directories: dict[str, int] = {}
    files = _unknown_files(sessions, scan_post_files(export_dir, directories))
    first = next(files, None)
    if first is not None:
        import_post_files(
            sessions,
            itertools.chain([first], files),
            export_dir,
            configured_feed_ids(sessions, feeds),
            summary,
            now=now,
            on_unreadable=_not_a_post,
        )
    record_adopted(sessions, export_dir, directories, now)
    with sessions() as session:
        after_bulk_load(session.get_bind().engine, summary.posts)
    if summary.posts or summary.adopted or summary.errors:
        log.info("export folder: %s", summary.line())
    return summary


def record_adopted(
    sessions: sessionmaker[Session],
    export_dir: Path,
    directories: dict[str, int],
    now: datetime | None = None,
) -> None:
    """The folder's directories as they were when listed for an adoption (or an import of the folder)."""
    with sessions.begin() as session:
        record_folder_stamp(session, folder_key(export_dir), trusted(directories), now or datetime.now(UTC))


def _unknown_files(sessions: sessionmaker[Session], files: Iterator[tuple[str, str]]) -> Iterator[str]:
    """The files whose path no article holds (asked a batch at a time, by the unique index). A name that is
    not UTF-8 is not asked (no driver takes it): it goes on, and reading it says why it is no post."""
    for chunk in chunked(files, BATCH):
        with sessions() as session:
            asked = [relative for relative, _ in chunk if is_utf8(relative)]
            held = article_rows.held_post_paths(session, asked)
        yield from (path for relative, path in chunk if relative not in held)


def _not_a_post(file: Unreadable) -> None:
    """A file in the export folder that is not a post (a draft, a page of the site) is left alone."""
    log.debug("%s: not a post: %s", file.path, file.reason)
