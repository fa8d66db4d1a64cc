"""What went wrong, as one line an operator can act on: the setting at fault and the fix.

Used by the command line (instead of a traceback) and the daemon's health check, so that the same trouble
reads the same wherever it shows.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

EXPORT_DIR_FIX = (
    "fix: make export.dir a folder this user can write "
    "(in Docker: sudo chown 10001 on the mounted folder); the posts are written at the next run"
)


def export_dir_problem(folder: Path, key: str = "export.dir") -> str | None:
    """Why files could not be written to `folder` (the setting `key`) now, or None. It need not exist (it
    is created), but the nearest existing folder above it must be a writable folder."""
    probe = folder
    try:
        os.stat(folder)
    except (FileNotFoundError, NotADirectoryError):
        pass  # missing (it is created) or under a file: the walk below says which
    except OSError as exc:  # a symlink loop, a name longer than the file system takes, ...
        return f"{key} {folder} cannot be used: {exc.strerror or exc}"
    try:
        while not probe.exists():
            if probe.is_symlink():
                return f"{key} {probe} is a symbolic link to nothing ({os.readlink(probe)})"
            if probe.parent == probe:
                break
            probe = probe.parent
    except OSError as exc:
        return f"{key} {folder} cannot be used: {exc.strerror or exc}"
    if probe.exists() and not probe.is_dir():
        what = key if probe == folder else f"{key}'s parent {probe}"
        return f"{what} is a file, not a folder: {probe}"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{key} {probe} is not writable by this user (uid {os.getuid()})"
    return None


def shown_url(url: str) -> str:
    """A database URL without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<not a URL>"


def database_error(url: str, exc: BaseException) -> str:
    """One line for a database that cannot be used: which one, what it said, what to do."""
    said = " ".join(str(getattr(exc, "orig", None) or exc).split())
    if "; fix: " in said:  # our own error (SchemaRevisionError), which knows the fix better than a guess
        return f"cannot use the database {shown_url(url)}: {said}"
    said = said[:300]
    if url.startswith("postgresql"):
        fix = (
            "fix: start PostgreSQL, create the database (createdb NAME), or correct database.url "
            "(or $SCRAPER_DATABASE_URL)"
        )
    else:
        fix = "fix: check that database.url names a file this user can write, on a disk with room"
    return f"cannot use the database {shown_url(url)}: {said}; {fix}"
