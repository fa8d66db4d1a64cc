"""Writing posts to the export folder: atomic, idempotent, never clobbering another article's post.

A post appears whole or not at all (temp file in the same folder, fsync, rename), so a site build or a git
commit never picks up half a post. A post whose bytes would not change is not touched, so a re-run leaves
mtimes and git alone.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

_FROM_LINE = re.compile(r"^from:\s*(.+?)\s*$", re.M)


def write_atomic(path: Path, text: str) -> bool:
    """Write `text` to `path` unless it already holds exactly that; returns whether it wrote."""
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


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
