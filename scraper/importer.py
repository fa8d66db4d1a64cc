"""`scraper import`: bring an existing archive into the database, so old posts and new runs never duplicate.

Three kinds of input, told apart by what they hold (not by their names):

- posts: files with front matter and a body. YAML front matter between `---` lines (the old archives'
  format, ../shared/seed-example.md, and Jekyll's), or TOML between `+++` lines (Hugo's). Folders are walked
  for `*.md`, `*.markdown` and `*.html` files.
- a list of seen URLs, one per line (the old script's `allurls.dat`).
- a list of feeds, `[{"site": name, "url": feed}, ...]` (the old script's `subs.json`), turned into
  `[[feeds]]` tables printed for the config.

What each becomes (the decisions, so the next person finds them):

- A post becomes an *archived* article keyed by its canonical URL (the `from:` key, or `source`, `link`,
  `original_url`..., else the `[title](url)` line of the seed format), with its body kept in `content_html`,
  its published time (the `<!--epoch ms-->` comment, else `date`), `post_path` pointing at the file, and
  `content_source = "import"`. Export never writes such an article's file: the file stays byte for byte.
  Its feed is the configured feed named by its `categories` (or `tags`, as the old archives set both to the
  feed name), unless the command says which.
- A URL known only from a seen list becomes an article with status `seen`: never fetched, never exported,
  but it keeps any poll or backfill from queueing that URL again (the old script had archived it once).
- A URL the database already knows keeps its row. A pending, seen, gone or failed row is given the post (it
  becomes archived from the file); an archived row without a post file adopts the file (and then never
  rewrites it); a row that already has another post file is left alone and the file reported as a duplicate.

The files read are never written, moved or renamed.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from scraper.backfill.progress import Progress, make_progress
from scraper.config import FeedConfig
from scraper.errors import PostFormatError
from scraper.post_adopt import record_adopted
from scraper.post_import import (
    ImportSummary,
    Subscription,
    configured_feed_ids,
    import_post_files,
    import_seen_urls,
)
from scraper.post_reader import POST_SUFFIXES, UrlLines, read_post, read_url_list, scan_post_files
from scraper.store.maintenance import after_bulk_load

log = logging.getLogger(__name__)

__all__ = ["PostFormatError", "classify", "feeds_toml", "import_paths", "read_post", "read_url_list"]


def classify(path: Path) -> str:
    """What a path holds: "posts" (a folder or a post), "subscriptions" (feeds in JSON) or "urls"."""
    if path.is_dir() or path.suffix.lower() in POST_SUFFIXES:
        return "posts"
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith((b"---", b"+++")):
        return "posts"
    if head.startswith((b"[", b"{")):
        return "subscriptions"
    return "urls"


def read_subscriptions(path: Path) -> list[Subscription]:
    """`[{"site": name, "url": feed}]`; also `{"name": url}` objects. Raises PostFormatError."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PostFormatError(f"not a JSON list of feeds: {exc}") from None
    items: Iterable[tuple[object, object]]
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = (
            (entry.get("site") or entry.get("name") or entry.get("title"), entry.get("url"))
            if isinstance(entry, dict)
            else (entry, None)
            for entry in data
        )
    else:
        raise PostFormatError("expected a JSON list of {site, url} objects")
    subscriptions = []
    for name, url in items:
        if isinstance(name, str) and isinstance(url, str) and re.match(r"https?://", url.strip()):
            subscriptions.append(Subscription(name.strip(), url.strip()))
        else:
            log.warning("%s: entry %r has no feed URL; skipped", path, name)
    return subscriptions


def feeds_toml(subscriptions: Sequence[Subscription], configured: Sequence[FeedConfig]) -> str:
    """`[[feeds]]` tables for the config, skipping feeds it already has."""
    known = {feed.url for feed in configured}
    out = []
    for sub in subscriptions:
        if sub.url in known:
            out.append(f"# already configured: {toml_string(sub.name)} {sub.url}\n")
            continue
        known.add(sub.url)
        out.append(f"[[feeds]]\nname = {toml_string(sub.name)}\nurl = {toml_string(sub.url)}\n")
    return "\n".join(out)


def toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def import_paths(
    sessions: sessionmaker[Session],
    paths: Sequence[Path],
    export_dir: Path,
    feeds: Sequence[FeedConfig],
    *,
    feed_name: str | None = None,
) -> ImportSummary:
    """`scraper import PATH...`: each path a folder of posts, a post, a seen-URL list or a feed list."""
    summary = ImportSummary()
    feed_ids = configured_feed_ids(sessions, feeds)
    forced = None
    if feed_name is not None:
        if feed_name not in feed_ids:
            raise PostFormatError(f"--feed {feed_name!r}: no configured feed of that name")
        forced = feed_ids[feed_name]
    progress = make_progress() if sys.stderr.isatty() else None
    for path in paths:
        try:
            kind = classify(path)
            if kind == "posts":
                _import_post_path(sessions, path, export_dir, feed_ids, summary, forced, progress)
            elif kind == "subscriptions":
                summary.feeds.extend(read_subscriptions(path))
            else:
                listed = UrlLines(str(path))
                with path.open(encoding="utf-8", errors="replace") as lines:
                    import_seen_urls(sessions, listed.urls(lines), summary)
                listed.finish()
                summary.skipped_lines += listed.skipped
        except (PostFormatError, OSError) as exc:
            summary.errors.append(f"{path}: {exc}")
    with sessions() as session:
        after_bulk_load(session.get_bind().engine, summary.posts + summary.seen)
    return summary


def _import_post_path(
    sessions: sessionmaker[Session],
    path: Path,
    export_dir: Path,
    feed_ids: dict[str, int],
    summary: ImportSummary,
    forced: int | None,
    progress: Progress | None,
) -> None:
    """A folder is streamed (its files listed as they are read); the export folder itself is then recorded
    as adopted (scraper.post_adopt), so the next run does not walk it again."""
    directories: dict[str, int] = {}
    files = (p for _, p in scan_post_files(path, directories)) if path.is_dir() else iter([path])
    on_batch = None
    if progress is not None:
        progress.start(f"import {path}", 0)
        on_batch = partial(_advance, progress)
    try:
        import_post_files(sessions, files, export_dir, feed_ids, summary, feed_id=forced, on_batch=on_batch)
    finally:
        if progress is not None:
            progress.finish()
    if path.is_dir() and export_dir.is_dir() and path.resolve() == export_dir.resolve():
        record_adopted(sessions, export_dir, directories)


def _advance(progress: Progress, stored: int, failed: int) -> None:
    for _ in range(stored):
        progress.advance(False)
    for _ in range(failed):
        progress.advance(True)
