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
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scraper.config import FeedConfig
from scraper.errors import PostFormatError
from scraper.extract import html_to_text
from scraper.store.models import IMPORTED, Article, ArticleStatus, Feed
from scraper.urls import canonical_url

log = logging.getLogger(__name__)

POST_SUFFIXES = (".md", ".markdown", ".html")
URL_KEYS = ("from", "source_url", "original_url", "source", "original", "link", "canonical_url", "canonical")
BATCH = 400  # rows per transaction, and per IN (...) query (under SQLite's bound-parameter limit)

_SEED_BODY = re.compile(
    r"\A\s*(?:<!--\s*(?P<ms>[^-]*?)\s*-->\s*\n)?(?:\[.*\]\((?P<link>[^)\s]+)\)\s*\n-{3,}\s*\n)?"
    r"\s*<div>\n?(?P<html>.*?)\n?</div>\s*\Z",
    re.S,
)
_EPOCH_COMMENT = re.compile(r"\A\s*<!--\s*(-?\d{9,14})\s*-->")
_LENIENT_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s?(.*?)\s*$")


@dataclass(frozen=True)
class OldPost:
    path: Path
    url: str
    title: str | None
    author: str | None
    feed_name: str | None
    published: datetime | None
    body_html: str


@dataclass(frozen=True)
class Subscription:
    name: str
    url: str


@dataclass
class ImportSummary:
    posts: int = 0  # new archived articles from post files
    adopted: int = 0  # known articles that took over an existing post file
    already: int = 0  # posts whose file the database already had
    duplicates: int = 0  # post files of a URL that already has another post file
    seen: int = 0  # new `seen` rows from URL lists
    seen_known: int = 0  # listed URLs the database already had
    feeds: list[Subscription] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"imported {self.posts} posts ({self.adopted} joined known articles, {self.already} already "
            f"imported, {self.duplicates} duplicate files); {self.seen} seen URLs ({self.seen_known} already "
            f"known); {len(self.feeds)} feeds; {len(self.errors)} errors"
        )


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
        meta = yaml.safe_load(raw)
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


def read_url_list(lines: Iterable[str]) -> Iterator[str]:
    """http(s) URLs, one per line; blank lines and `#` comments skipped."""
    for line in lines:
        url = line.strip().lstrip("\ufeff")
        if url and not url.startswith("#") and re.match(r"https?://", url, re.I):
            yield url


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


# --- into the database -------------------------------------------------------------------------------------


def configured_feed_ids(sessions: sessionmaker[Session], feeds: Sequence[FeedConfig]) -> dict[str, int]:
    """Feed name -> row id for the configured feeds, adding the rows a first run would add."""
    with sessions.begin() as session:
        rows = {row.url: row for row in session.scalars(select(Feed))}
        for feed in feeds:
            if feed.url not in rows:
                rows[feed.url] = Feed(url=feed.url, name=feed.name, enabled=feed.enabled, failures_in_row=0)
                session.add(rows[feed.url])
        session.flush()
        return {feed.name: rows[feed.url].id for feed in feeds}


def post_path_for(path: Path, export_dir: Path) -> str:
    """Relative to the export folder (as the exporter keeps paths) when the post is in it; else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(export_dir.resolve()).as_posix()
    except ValueError:
        return str(resolved)


def import_posts(
    sessions: sessionmaker[Session],
    posts: Iterable[OldPost],
    export_dir: Path,
    feed_ids: Mapping[str, int],
    summary: ImportSummary,
    *,
    feed_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Store the posts (see the module docstring for what each becomes), a batch per transaction."""
    now = now or datetime.now(UTC)
    batch: list[OldPost] = []
    for post in posts:
        batch.append(post)
        if len(batch) >= BATCH:
            _import_batch(sessions, batch, export_dir, feed_ids, summary, feed_id, now)
            batch = []
    if batch:
        _import_batch(sessions, batch, export_dir, feed_ids, summary, feed_id, now)


def _import_batch(
    sessions: sessionmaker[Session],
    posts: Sequence[OldPost],
    export_dir: Path,
    feed_ids: Mapping[str, int],
    summary: ImportSummary,
    feed_id: int | None,
    now: datetime,
) -> None:
    with sessions.begin() as session:
        keys = {canonical_url(post.url) for post in posts}
        known = {
            a.canonical_url: a
            for a in session.scalars(select(Article).where(Article.canonical_url.in_(keys)))
        }
        paths = [post_path_for(post.path, export_dir) for post in posts]
        owned = select(Article.post_path, Article.canonical_url).where(Article.post_path.in_(paths))
        owners: dict[str | None, str] = {path: key for path, key in session.execute(owned)}
        for post, path in zip(posts, paths, strict=True):
            key = canonical_url(post.url)
            owner = owners.get(path)
            if owner is not None:
                if owner == key:
                    summary.already += 1
                else:
                    summary.errors.append(f"{post.path}: already the post of {owner}; skipped")
                continue
            article = known.get(key)
            if article is not None and article.post_path is not None:
                summary.duplicates += 1
                log.info("%s: %s already has the post %s", post.path, key, article.post_path)
                continue
            if article is None:
                article = Article(url=post.url, canonical_url=key, discovered_at=now, attempts=0)
                session.add(article)
                known[key] = article
                summary.posts += 1
            else:
                summary.adopted += 1
            _fill(article, post, path, feed_id or feed_ids.get(post.feed_name or ""), now)
            owners[path] = key


def _fill(article: Article, post: OldPost, path: str, feed_id: int | None, now: datetime) -> None:
    article.post_path = path
    article.content_source = IMPORTED
    if article.status == ArticleStatus.ARCHIVED and article.content_html:
        return  # our own record is better than the old body; only the file is taken over
    article.status = ArticleStatus.ARCHIVED
    article.feed_id = article.feed_id or feed_id
    article.title = post.title
    article.author = post.author
    article.published_at = post.published
    article.content_html = post.body_html
    article.content_text = html_to_text(post.body_html)
    article.archived_at = article.archived_at or post.published or now
    article.next_attempt_at = None
    article.last_error = None


def import_seen_urls(
    sessions: sessionmaker[Session],
    urls: Iterable[str],
    summary: ImportSummary,
    *,
    now: datetime | None = None,
) -> None:
    """URLs the old archive had archived once become `seen` rows (unless the database knows them)."""
    now = now or datetime.now(UTC)
    batch: dict[str, str] = {}
    for url in urls:
        batch.setdefault(canonical_url(url), url)
        if len(batch) >= BATCH:
            _seen_batch(sessions, batch, summary, now)
            batch = {}
    if batch:
        _seen_batch(sessions, batch, summary, now)


def _seen_batch(
    sessions: sessionmaker[Session], batch: Mapping[str, str], summary: ImportSummary, now: datetime
) -> None:
    with sessions.begin() as session:
        known = set(
            session.scalars(select(Article.canonical_url).where(Article.canonical_url.in_(list(batch))))
        )
        for key, url in batch.items():
            if key in known:
                summary.seen_known += 1
                continue
            session.add(
                Article(url=url, canonical_url=key, status=ArticleStatus.SEEN, attempts=0, discovered_at=now)
            )
            summary.seen += 1


def read_posts(paths: Iterable[Path], summary: ImportSummary) -> Iterator[OldPost]:
    """Parse each file; one that cannot be read is an error on that file, and the rest go on."""
    for path in paths:
        try:
            yield read_post(path)
        except (PostFormatError, OSError) as exc:
            summary.errors.append(f"{path}: {exc}")


def adopt_export_folder(
    sessions: sessionmaker[Session],
    export_dir: Path,
    feeds: Sequence[FeedConfig],
    now: datetime | None = None,
) -> ImportSummary:
    """Import the posts of the export folder that the database does not know yet.

    Run before each poll: pointed at a folder that already holds posts (a fresh CI runner with the site
    checked out, an old archive), the run must not write a second post for an entry that has one. Only
    files whose path no article holds are read, so on a folder the database knows this is one directory
    walk and one query.
    """
    summary = ImportSummary()
    if not export_dir.is_dir():
        return summary
    with sessions() as session:
        known = set(session.scalars(select(Article.post_path).where(Article.post_path.is_not(None))))
    # Paths relative to the folder as listed (not resolved one by one: a big archive has many files).
    unknown = [
        path for path in post_files(export_dir) if path.relative_to(export_dir).as_posix() not in known
    ]
    if not unknown:
        return summary
    posts = []
    for path in unknown:
        try:
            posts.append(read_post(path))
        except (PostFormatError, OSError) as exc:
            log.debug("%s: not a post: %s", path, exc)
    if posts:
        feed_ids = configured_feed_ids(sessions, feeds)
        import_posts(sessions, posts, export_dir, feed_ids, summary, now=now)
        log.info("export folder: %s", summary.line())
    return summary


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
    for path in paths:
        try:
            kind = classify(path)
            if kind == "posts":
                files = list(post_files(path)) if path.is_dir() else [path]
                import_posts(
                    sessions, read_posts(files, summary), export_dir, feed_ids, summary, feed_id=forced
                )
            elif kind == "subscriptions":
                summary.feeds.extend(read_subscriptions(path))
            else:
                with path.open(encoding="utf-8", errors="replace") as lines:
                    import_seen_urls(sessions, read_url_list(lines), summary)
        except (PostFormatError, OSError) as exc:
            summary.errors.append(f"{path}: {exc}")
    return summary
