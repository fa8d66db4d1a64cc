"""Whether the export folder changed since its posts were last adopted, and its stamp re-recorded after a run.

This is the cheap half of scraper.post_adopt (see its docstring for the choice of directory mtimes): a
handful of stats and one read of `folder_stamps`, in Core statements. A cron run whose folder did not
change asks only this, so it never imports the post reader and importer (YAML, the ORM) that a walk needs.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from scraper.store.nodes import Transaction
from scraper.store.stamps import folder_stamp, record_folder_stamp

RACY_SECONDS = 2.0


class Transactions(Protocol):
    """An Engine (Core connections) or an ORM sessionmaker: what gives a transaction to run the stamp in."""

    def begin(self) -> AbstractContextManager[Any]: ...


def folder_key(export_dir: Path) -> str:
    """The folder's stamp key: its real path, or its absolute one where it has none (a symlink loop: the
    run goes on, and says why its posts cannot be written)."""
    try:
        return str(export_dir.resolve())
    except (OSError, RuntimeError):
        return str(export_dir.absolute())


def directories_unchanged(export_dir: Path, recorded: dict[str, int]) -> bool:
    """Whether every recorded directory keeps its mtime (one stat each; nothing is listed)."""
    for relative, mtime in recorded.items():
        try:
            if (export_dir / relative).stat().st_mtime_ns != mtime:
                return False
        except OSError:
            return False
    return bool(recorded)


def trusted(directories: dict[str, int], now: float | None = None) -> dict[str, int]:
    """The stamp to record: an mtime in whole seconds within RACY_SECONDS of now is recorded as -1 (not
    trusted: a file added later in that second would not change it), so the next run walks again."""
    now = time.time() if now is None else now
    return {
        relative: -1 if mtime % 1_000_000_000 == 0 and now - mtime / 1e9 < RACY_SECONDS else mtime
        for relative, mtime in directories.items()
    }


def nothing_to_adopt(transaction: Transaction, export_dir: Path) -> bool:
    """Whether an adoption of the folder would find nothing without walking it: the folder is not there,
    or every directory recorded when it was last adopted keeps its mtime."""
    if not export_dir.is_dir():
        return True
    recorded = folder_stamp(transaction, folder_key(export_dir))
    return recorded is not None and directories_unchanged(export_dir, recorded)


def restamp_export_folder(transactions: Transactions, export_dir: Path) -> None:
    """After a run wrote its posts: the recorded directories' mtimes as they are now (no listing); nothing
    is written when they did not change."""
    key = folder_key(export_dir)
    with transactions.begin() as transaction:
        recorded = folder_stamp(transaction, key)
        if not recorded:
            return
        current: dict[str, int] = {}
        for relative in recorded:
            try:
                current[relative] = (export_dir / relative).stat().st_mtime_ns
            except OSError:
                current[relative] = -1
        if current != recorded:
            record_folder_stamp(transaction, key, trusted(current), datetime.now(UTC))
