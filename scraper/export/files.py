"""Writing posts to the export folder: atomic, idempotent, never clobbering another article's post.

A post appears whole or not at all (temp file in the same folder, fsync, rename), so a site build or a git
commit never picks up half a post. A post whose bytes would not change is not touched, so a re-run leaves
mtimes and git alone.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import os
import re
import time
from pathlib import Path

_FROM_LINE = re.compile(r"^from:\s*(.+?)\s*$", re.M)
TEMP_NAME_CHARS = 40  # of the post's name, in its temp file's name
# Our temp files, by write_atomic's naming: `.` + the post's name (cut) + `.` + 8 random + `.tmp`.
_OUR_TEMP = re.compile(rf"^\.[^/]{{1,{TEMP_NAME_CHARS}}}\.[a-z0-9_]{{8}}\.tmp$")
STALE_TEMP_SECONDS = 60.0  # older than any write in progress (another node may share the folder)


def write_atomic(path: Path, text: str) -> bool:
    """Write `text` to `path` unless it already holds exactly that; returns whether it wrote."""
    data = text.encode("utf-8")
    target = os.fspath(path)
    try:
        with open(target, "rb") as handle:
            if handle.read() == data:
                return False
    except FileNotFoundError:
        pass
    fd, tmp = _temp_file(path)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            os.fchmod(fd, 0o644)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


def _temp_file(path: Path) -> tuple[int, str]:
    """A new file beside `path`, opened for writing, and its name: `.` + the post's name (cut) + `.` + 8
    random characters + `.tmp` (as `tempfile.mkstemp` would name it, which `remove_stale_temp_files`
    knows), made only by us (O_EXCL), private until written (0600). A post's first folder is made here."""
    prefix = os.path.join(os.fspath(path.parent), f".{path.name[:TEMP_NAME_CHARS]}.")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = f"{prefix}{base64.b32encode(os.urandom(5)).decode('ascii').lower()}.tmp"
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:  # another writer's, by chance: the next name
            continue
        except FileNotFoundError:  # a new folder (a post's first of its year, say): made only then
            path.parent.mkdir(parents=True, exist_ok=True)
    raise FileExistsError(errno.EEXIST, "no free temporary file name", prefix)


def post_source_url(path: Path) -> str | None:
    """The `from:` URL of an existing post file, to tell whose post a file is."""
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    if not head.startswith("---"):
        return None
    match = _FROM_LINE.search(head.split("\n---", 1)[0])
    if not match:
        return None
    value = match.group(1)
    if value.startswith('"') and value.endswith('"'):
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def remove_stale_temp_files(folder: Path, *, older_than: float = STALE_TEMP_SECONDS) -> int:
    """Remove the temp files a killed writer left (kill -9 between mkstemp and rename); returns how many.

    Only files named as write_atomic names them, and only those no write can still be busy with: a site
    build or a `git add _posts` would otherwise pick them up. Hidden folders are not ours: skipped."""
    if not folder.is_dir():
        return 0
    removed = 0
    cutoff = time.time() - older_than
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not _OUR_TEMP.match(name):
                continue
            path = Path(root) / name
            try:
                if path.lstat().st_mtime < cutoff and path.is_file():
                    path.unlink()
                    removed += 1
            except OSError:  # gone meanwhile, or not ours to remove
                continue
    return removed
