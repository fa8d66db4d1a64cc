"""Reading an existing archive's files: posts (front matter, YAML between `---` or TOML between `+++`,
and a body) into an `OldPost`, and lists of URLs. `scraper import`, the adoption of the export folder's
posts and `scraper backfill --urls` read them this way.

See scraper.importer for what a post becomes; this module only reads.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import yaml

from scraper.errors import PostFormatError

POST_SUFFIXES = (".md", ".markdown", ".html")
URL_KEYS = ("from", "source_url", "original_url", "source", "original", "link", "canonical_url", "canonical")

_SEED_BODY = re.compile(
    r"\A\s*(?:<!--\s*(?P<ms>[^-]*?)\s*-->\s*\n)?(?:\[.*\]\((?P<link>[^)\s]+)\)\s*\n-{3,}\s*\n)?"
    r"\s*<div>\n?(?P<html>.*?)\n?</div>\s*\Z",
    re.S,
)
_EPOCH_COMMENT = re.compile(r"\A\s*<!--\s*(-?\d{9,14})\s*-->")
_LENIENT_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s?(.*?)\s*$")
# libyaml's safe loader where PyYAML was built with it: ten times the pure-Python one, and an import of a
# big archive spends most of its time here.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class OldPost:
    path: Path
    url: str
    title: str | None
    author: str | None
    feed_name: str | None
    published: datetime | None
    body_html: str


# --- reading posts -----------------------------------------------------------------------------------------


def read_post(path: Path) -> OldPost:
    """Parse one post file. Raises PostFormatError (or OSError)."""
    text = path.read_text(encoding="utf-8", errors="replace").lstrip("\ufeff")
    meta, body = split_front_matter(text)
    url = _source_url(meta, body)
    if url is None:
        raise PostFormatError("no source URL (a `from:` key, or a [title](url) line)")
    categories = _strings(meta.get("categories")) or _strings(meta.get("tags"))
    authors = _strings(meta.get("author")) or _strings(meta.get("authors"))
    match = _SEED_BODY.match(body)
    html = match.group("html") if match else body.strip()
    return OldPost(
        path=path,
        url=url,
        title=_text(meta.get("title")),
        author=authors[0] if authors else None,
        feed_name=categories[0] if categories else None,
        published=_epoch_comment(body) or parse_date(meta.get("date")),
        body_html=html,
    )


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(front matter, body) of a post: YAML between `---` lines, or TOML between `+++` lines (Hugo)."""
    text = text.replace("\r\n", "\n")
    for fence, parse in (("---", _parse_yaml), ("+++", _parse_toml)):
        if text.startswith(fence + "\n"):
            end = re.search(rf"^{re.escape(fence)}[ \t]*$", text[len(fence) + 1 :], re.M)
            if end is None:
                raise PostFormatError(f"front matter opened with {fence} is never closed")
            start = len(fence) + 1
            raw = text[start : start + end.start()]
            body = text[start + end.end() :].removeprefix("\n")
            return parse(raw), body
    raise PostFormatError("no front matter (the file does not start with --- or +++)")


def _parse_yaml(raw: str) -> dict[str, Any]:
    try:
        meta = yaml.load(raw, Loader=_SAFE_LOADER)
    except yaml.YAMLError:
        meta = None
    if isinstance(meta, dict):
        return {str(k): v for k, v in meta.items()}
    # The old script did not escape backslashes in titles, so some of its front matter is not valid YAML:
    # read it line by line as it was written.
    return _parse_lenient(raw)


def _parse_lenient(raw: str) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for line in raw.splitlines():
        match = _LENIENT_LINE.match(line)
        if not match:
            continue
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1].replace('\\"', '"') if value[0] == '"' else value[1:-1].replace("''", "'")
            meta[key] = value
        elif value.startswith("[") and value.endswith("]"):
            meta[key] = [item.strip().strip("\"'") for item in value[1:-1].split(",") if item.strip()]
        else:
            meta[key] = value
    return meta


def _parse_toml(raw: str) -> dict[str, Any]:
    try:
        return tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise PostFormatError(f"TOML front matter does not parse: {exc}") from None


def _source_url(meta: Mapping[str, Any], body: str) -> str | None:
    for key in (*URL_KEYS, "url"):  # Hugo's `url` is the post's own path unless absolute
        value = _text(meta.get(key))
        if value and re.match(r"https?://", value, re.I):
            return value
    match = _SEED_BODY.match(body)
    if match and match.group("link") and re.match(r"https?://", match.group("link"), re.I):
        return match.group("link")
    return None


def _epoch_comment(body: str) -> datetime | None:
    match = _EPOCH_COMMENT.match(body)
    if not match:
        return None
    try:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


def parse_date(value: object) -> datetime | None:
    """A front-matter date (YAML may have parsed it already) as an aware UTC datetime; naive means UTC."""
    when: datetime | None = None
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, date):
        when = datetime.combine(value, time())
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            for fmt in _DATE_FORMATS:
                try:
                    when = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = " ".join(str(value).split())
    return text or None


def _strings(value: object) -> list[str]:
    if isinstance(value, list | tuple):
        return [text for item in value if (text := _text(item))]
    text = _text(value)
    return [text] if text else []


# --- finding inputs ----------------------------------------------------------------------------------------


def post_files(folder: Path) -> Iterator[Path]:
    """The post files under a folder, in a stable order; hidden files and folders are skipped."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).parts
        if (
            path.suffix.lower() in POST_SUFFIXES
            and path.is_file()
            and not any(p.startswith(".") for p in relative)
        ):
            yield path


def scan_post_files(folder: Path, directories: dict[str, int] | None = None) -> Iterator[tuple[str, Path]]:
    """(path relative to `folder`, path) of its post files, streamed: one directory's names in memory at a
    time, each directory's sorted. Hidden files and folders are skipped. Each directory's mtime (ns) is put
    in `directories` (by relative path, "." the folder) before it is listed, so a file added meanwhile
    changes it again."""
    pending = [(folder, "")]
    while pending:
        where, prefix = pending.pop()
        try:
            if directories is not None:
                directories[prefix or "."] = where.stat().st_mtime_ns
            with os.scandir(where) as listing:
                entries = sorted((entry.name, entry.is_dir(), entry.is_file()) for entry in listing)
        except OSError:
            continue
        subfolders = []
        for name, is_dir, is_file in entries:
            if name.startswith("."):
                continue
            relative = f"{prefix}{name}"
            if is_dir:
                subfolders.append((where / name, relative + "/"))
            elif is_file and os.path.splitext(name)[1].lower() in POST_SUFFIXES:
                yield relative, where / name
        pending.extend(reversed(subfolders))


def read_url_list(lines: Iterable[str]) -> Iterator[str]:
    """http(s) URLs, one per line; blank lines and `#` comments skipped."""
    for line in lines:
        url = line.strip().lstrip("\ufeff")
        if url and not url.startswith("#") and re.match(r"https?://", url, re.I):
            yield url
