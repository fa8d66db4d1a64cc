"""Reading an existing archive's files: posts (front matter, YAML between `---` or TOML between `+++`,
and a body) into an `OldPost`, and lists of URLs. `scraper import`, the adoption of the export folder's
posts and `scraper backfill --urls` read them this way.

See scraper.importer for what a post becomes; this module only reads.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from scraper.errors import PostFormatError

POST_SUFFIXES = (".md", ".markdown", ".html")
# No post is larger (ours hold a page of at most http.max_body_bytes): a file past it, dropped among posts,
# was read whole by every import or adoption of the folder.
MAX_POST_BYTES = 64 * 1024 * 1024
URL_KEYS = ("from", "source_url", "original_url", "source", "original", "link", "canonical_url", "canonical")

# The seed format's body: `<!--ms-->`, `[title](url)`, `------`, then the HTML in a <div> that closes at the
# end. The head is matched by the expression and the end by rstrip: a lazy `.*?` up to `</div>\s*\Z` tried
# the tail at every character of the body.
_SEED_HEAD = re.compile(
    r"\A\s*(?:<!--\s*(?P<ms>[^-]*?)\s*-->\s*\n)?(?:\[.*\]\((?P<link>[^)\s]+)\)\s*\n-{3,}\s*\n)?\s*<div>\n?",
    re.S,
)
_EPOCH_COMMENT = re.compile(r"\A\s*<!--\s*(-?\d{9,14})\s*-->")
_SIMPLE_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*): (\S(?:.*\S)?)\Z")
# Characters YAML refuses, or reads as a line break, or as syntax somewhere in a plain scalar.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
# A plain scalar: a letter first, then no flow or comment indicator (and, checked beside it, no ": " and
# no ":" at the end: a lookahead at every character cost more than the rest of the line's parse).
_PLAIN = re.compile(r"[^\W\d_][^\[\]{},\"#]*\Z")
# What YAML 1.1 (PyYAML) resolves to something other than a string.
_YAML_NOT_A_STRING = frozenset(
    {
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false", "False",
        "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~", ".inf", ".Inf", ".INF",
        ".nan", ".NaN", ".NAN",
    }
)  # fmt: skip
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})\Z")
# The line that closes the front matter. Searched from the opening line's end (not in a copy of the rest):
# `^` in MULTILINE mode matches there, as at the start of a copy, since that position follows a newline.
_CLOSING_FENCE = {fence: re.compile(rf"^{re.escape(fence)}[ \t]*$", re.M) for fence in ("---", "+++")}
_WEB_URL = re.compile(r"https?://", re.I)
log = logging.getLogger(__name__)
_LENIENT_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s?(.*?)\s*$")
# libyaml's safe loader where PyYAML was built with it: ten times the pure-Python one, and an import of a
# big archive spends most of its time here.
_UTF16_32_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class OldPost:
    path: Path | str  # the file as given (a folder's scan gives strings: no pathlib per file)
    url: str
    title: str | None
    author: str | None
    feed_name: str | None
    published: datetime | None
    body_html: str


# --- reading posts -----------------------------------------------------------------------------------------


def read_post(path: Path | str) -> OldPost:
    """Parse one post file. Raises PostFormatError (or OSError)."""
    with open(path, "rb") as file:  # bytes, decoded here: cheaper than a text file's reader
        data = file.read(MAX_POST_BYTES + 1)
    if len(data) > MAX_POST_BYTES:
        raise PostFormatError(f"larger than {MAX_POST_BYTES} bytes: not a post")
    text = _post_text(data)
    if "\r" in text:  # what a text file's reader does to line ends (universal newlines)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    meta, body = split_front_matter(text)
    seed = _seed_body(body)
    url = _source_url(meta, seed[0] if seed else None)
    if url is None:
        raise PostFormatError("no source URL (a `from:` key, or a [title](url) line)")
    categories = _strings(meta.get("categories")) or _strings(meta.get("tags"))
    authors = _strings(meta.get("author")) or _strings(meta.get("authors"))
    html = seed[1] if seed else body.strip()
    return OldPost(
        path=path,
        url=url,
        title=_text(meta.get("title")),
        author=authors[0] if authors else None,
        feed_name=categories[0] if categories else None,
        published=_epoch_comment(body) or parse_date(meta.get("date")),
        body_html=html,
    )


def _post_text(data: bytes) -> str:
    """A post file's text: UTF-8 (a bad byte replaced), or UTF-16 or UTF-32 where a BOM says so (an editor
    on Windows saves them; read as UTF-8 they held no front matter, and the post was refused)."""
    if data[:2] in _UTF16_32_BOMS or data[:4] in _UTF16_32_BOMS:
        codec = "utf-32" if data[:4] in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE) else "utf-16"
        return data.decode(codec, errors="replace").lstrip("\ufeff")
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(front matter, body) of a post: YAML between `---` lines, or TOML between `+++` lines (Hugo)."""
    text = text.replace("\r\n", "\n")
    for fence, parse in (("---", _parse_yaml), ("+++", _parse_toml)):
        if text.startswith(fence + "\n"):
            end = _CLOSING_FENCE[fence].search(text, len(fence) + 1)
            if end is None:
                raise PostFormatError(f"front matter opened with {fence} is never closed")
            start = len(fence) + 1
            raw = text[start : end.start()]
            body = text[end.end() :].removeprefix("\n")
            return parse(raw), body
    raise PostFormatError("no front matter (the file does not start with --- or +++)")


def _parse_yaml(raw: str) -> dict[str, Any]:
    simple = parse_simple_yaml(raw)
    if simple is not None:
        return simple
    try:
        meta = yaml.load(raw, Loader=_SAFE_LOADER)
    except (yaml.YAMLError, ValueError, OverflowError):  # the last two: a date no datetime holds (Feb 30)
        meta = None
    if isinstance(meta, dict):
        return {str(k): v for k, v in meta.items()}
    # The old script did not escape backslashes in titles, so some of its front matter is not valid YAML:
    # read it line by line as it was written.
    return _parse_lenient(raw)


def parse_simple_yaml(raw: str) -> dict[str, Any] | None:
    """The front matter this program and the old script write, read without a YAML parser (an import of a
    big archive spent most of its time in it): `key: "text"`, `key: plain text`, `key: [ a, b ]` and an
    ISO date, giving what YAML gives. Anything else (an escape, a quote inside, a value YAML would read as
    a number, a boolean or null, a comment, a nested block) returns None, and YAML reads it."""
    meta: dict[str, Any] = {}
    if _UNSAFE.search(raw.replace("\n", " ")):
        return None
    for line in raw.split("\n"):
        if not line.strip():
            continue
        parsed = _simple_line(line)
        if parsed is None:
            return None
        key, value = parsed
        meta[key] = list(value) if isinstance(value, tuple) else value
    return meta


@lru_cache(maxsize=1024)
def _simple_line(line: str) -> tuple[str, Any] | None:
    """(key, value) of one front-matter line as parse_simple_yaml reads it (a list as a tuple: the answer
    is shared), or None. Cached: an archive's posts repeat most of their lines (`layout: post`, the
    feed's name in `author`, `tags` and `categories`), so only the title, date and URL are read anew."""
    match = _SIMPLE_LINE.match(line)
    if match is None or match.group(1) in _YAML_NOT_A_STRING:
        return None
    key, value = match.groups()
    if value.startswith('"'):
        if len(value) < 2 or not value.endswith('"') or '"' in value[1:-1] or "\\" in value:
            return None
        return key, value[1:-1]
    if value.startswith("[") and value.endswith("]"):
        items = [item.strip() for item in value[1:-1].split(",")]
        if items == [""]:
            items = []
        # in a flow sequence PyYAML also refuses a "?" and reads ":" its own way: those go to YAML
        if not all(_plain_string(item) and "?" not in item and ":" not in item for item in items):
            return None
        return key, tuple(items)
    if _ISO_DATE.match(value):
        try:
            return key, datetime.fromisoformat(value)
        except ValueError:
            return None
    if _plain_string(value):
        return key, value
    return None


def _plain_string(value: str) -> bool:
    """A plain YAML scalar that YAML reads as this very string."""
    return (
        _PLAIN.match(value) is not None
        and ": " not in value
        and not value.endswith(":")
        and value not in _YAML_NOT_A_STRING
    )


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


def _seed_body(body: str) -> tuple[str | None, str] | None:
    """(the `[title](url)` line's URL, the HTML inside the <div>) of a seed-format body, else None."""
    kept = body.rstrip()
    if not kept.endswith("</div>"):
        return None
    head = _SEED_HEAD.match(kept)
    if head is None:
        return None
    end = len(kept) - len("</div>")
    if end > head.end() and kept[end - 1] == "\n":
        end -= 1
    return head.group("link"), kept[head.end() : max(end, head.end())]


def _source_url(meta: Mapping[str, Any], link: str | None) -> str | None:
    for key in (*URL_KEYS, "url"):  # Hugo's `url` is the post's own path unless absolute
        value = _text(meta.get(key))
        if value and _WEB_URL.match(value):
            return value
    if link and _WEB_URL.match(link):
        return link
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
    """A front-matter date (YAML may have parsed it already) as an aware UTC datetime; naive means UTC;
    None for a date no datetime holds in UTC (the post is kept, without its date)."""
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
    try:
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it: no date, as a date in words
        return None


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


def scan_post_files(folder: Path, directories: dict[str, int] | None = None) -> Iterator[tuple[str, str]]:
    """(path relative to `folder`, path) of its post files, streamed in each directory's own order (not
    sorted: a flat folder of a million posts would hold every name), subfolders after their parent's
    files, in name order. Hidden files and folders are skipped. Each directory's mtime (ns) is put in
    `directories` (by relative path, "." the folder) before it is listed, so a file added meanwhile changes
    it again. The paths are strings: a Path per file cost more than listing it.

    The folder is someone else's: a directory reached again through a symlink is walked once (two links to
    "." made the walk exponential), and an entry whose type cannot be read (a symlink loop) is given as a
    file when its name is a post's, so reading it says why it is none, and the listing goes on."""
    pending = [(folder, "")]
    walked: set[tuple[int, int]] = set()
    while pending:
        where, prefix = pending.pop()
        subfolders: list[tuple[Path, str]] = []
        try:
            stat = where.stat()
            if (stat.st_dev, stat.st_ino) in walked:
                continue
            walked.add((stat.st_dev, stat.st_ino))
            if directories is not None and is_utf8(prefix):  # else no stamp can hold its name
                directories[prefix or "."] = stat.st_mtime_ns
            with os.scandir(where) as listing:
                for entry in listing:
                    name = entry.name
                    if name.startswith("."):
                        continue
                    if _is_dir(entry):
                        subfolders.append((where / name, f"{prefix}{name}/"))
                    elif os.path.splitext(name)[1].lower() in POST_SUFFIXES and _is_file(entry):
                        yield f"{prefix}{name}", os.path.join(where, name)
        except OSError:
            continue
        pending.extend(sorted(subfolders, reverse=True))


def is_utf8(name: str) -> bool:
    """Whether a file's name (or path) encodes as UTF-8. A name whose bytes are not UTF-8 comes from the
    file system with lone surrogates, which neither database driver takes: as a post path, a folder stamp
    or a value looked up, it failed its batch, the import, and every run that adopted the export folder."""
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a symlink loop, say: not a folder to walk
        return False


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:  # listed all the same: reading it gives the reason it is no post
        return True


def read_url_list(lines: Iterable[str]) -> Iterator[str]:
    """http(s) URLs, one per line; blank lines and `#` comments skipped."""
    for line in lines:
        url = line.strip().lstrip("\ufeff")
        if url and not url.startswith("#") and _WEB_URL.match(url):
            yield url


class UrlLines:
    """A URL list read as `read_url_list` does, but each other line that is not blank or a comment is
    `skipped` and named in the log (the first MAX_NAMED_LINES; `finish` counts the rest), never dropped
    without a word: `import allurls.dat` and `backfill --urls` read their lists alike."""

    MAX_NAMED_LINES = 20

    def __init__(self, name: str) -> None:
        self.name = name
        self.skipped = 0

    def urls(self, lines: Iterable[str]) -> Iterator[str]:
        for number, line in enumerate(lines, 1):
            text = line.strip().lstrip("\ufeff")
            if not text or text.startswith("#"):
                continue
            if _WEB_URL.match(text):
                yield text
                continue
            self.skipped += 1
            if self.skipped <= self.MAX_NAMED_LINES:
                log.warning("%s, line %d: not an http(s) URL, skipped: %r", self.name, number, text[:200])

    def finish(self) -> None:
        if self.skipped > self.MAX_NAMED_LINES:
            more = self.skipped - self.MAX_NAMED_LINES
            log.warning("%s: %d more lines that are not http(s) URLs, skipped", self.name, more)
