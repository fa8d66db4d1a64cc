"""`scraper history ID|URL`: an article's versions, its changes (edits, removals, restores) and a readable
diff between two versions, for a person asking "what did this page say before?".

Version 1 is the page as first archived: the article row itself until a revisit found an edit (the
first version is stored only then, scraper.revisit_recorder).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from scraper.errors import ConfigError
from scraper.sanitize import storable_text
from scraper.store import captures as capture_rows
from scraper.store import revisits as revisit_rows
from scraper.store.models import Article
from scraper.text_diff import changed, diff_tokens, render_text, word_count


@dataclass(frozen=True)
class Version:
    number: int
    fetched_at: datetime | None
    title: str | None
    text: str


def versions(session: Session, article: Article) -> list[Version]:
    stored = revisit_rows.versions_of(session, article.id)
    if not stored:
        when = article.fetched_at or article.archived_at
        return [Version(1, when, article.title, article.content_text or "")]
    return [Version(v.number, v.fetched_at, v.title, v.content_text or "") for v in stored]


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def diff_lines(older: Version, newer: Version) -> list[str]:
    lines = [f"--- version {older.number} ({_when(older.fetched_at)})"]
    lines.append(f"+++ version {newer.number} ({_when(newer.fetched_at)})")
    if (older.title or "") != (newer.title or ""):
        lines.append(f"title: [-{older.title or ''}-] {{+{newer.title or ''}+}}")
    pieces = diff_tokens(older.text, newer.text)
    lines.append(render_text(pieces) if changed(pieces) else "(the text is the same)")
    return lines


def _askable(key: str) -> bool:
    """Whether the command line's id or URL can be asked of the database at all: an id within its integer
    column, text that encodes (an argument in bytes that are not UTF-8 holds lone surrogates). Else it
    names no article, and the drivers' OverflowError or UnicodeEncodeError were a traceback."""
    if key.isdigit():
        return key.isascii() and len(key) <= 19 and int(key) < 2**63
    return storable_text(key) == key


def history_report(session: Session, key: str, pair: tuple[int, int] | None = None) -> str:
    """The report for the article with this id or URL; `pair`: the two versions to diff (default: each
    version against the one before). An article or version not in the archive is a ConfigError (the
    command line asked for the impossible)."""
    article = revisit_rows.find_article(session, key) if _askable(key) else None
    if article is None:
        raise ConfigError(f"no article with id or URL {key!r} in the archive")
    found = versions(session, article)
    lines = [
        f"article {article.id}: {article.title or article.entry_title or article.url}",
        f"url: {article.url}",
        f"status: {article.status}; revisited {article.revisits} times; {article.edits} edits; "
        + _removal(article),
        "",
        "versions:",
    ]
    lines += [
        f"  {v.number}  {_when(v.fetched_at)}  {v.title or ''}  ({word_count(v.text)} words)" for v in found
    ]
    events = revisit_rows.changes_of(session, article.id)
    if events:
        lines += ["", "changes:"]
        lines += [
            f"  {_when(e.at)}  {e.kind}"
            + (f" (version {e.version})" if e.version else "")
            + (f": {e.detail}" if e.detail else "")
            for e in events
        ]
    lines += _captures(session, article.id)
    by_number = {v.number: v for v in found}
    if pair is not None:
        missing = [n for n in pair if n not in by_number]
        if missing:
            raise ConfigError(
                f"article {article.id} has no version {missing[0]} (it has {', '.join(map(str, by_number))})"
            )
        pairs = [(by_number[pair[0]], by_number[pair[1]])]
    else:
        pairs = list(itertools.pairwise(found))
    for older, newer in pairs:
        lines += ["", *diff_lines(older, newer)]
    return "\n".join(lines) + "\n"


def _removal(article: Article) -> str:
    if article.removal_confirmed_at is not None:
        seen, confirmed = _when(article.removal_suspected_at), _when(article.removal_confirmed_at)
        return f"removed (seen gone {seen}, confirmed {confirmed})"
    if article.removal_suspected_at is not None:
        return f"removal suspected {_when(article.removal_suspected_at)} (to be confirmed)"
    if article.restored_at is not None:
        return f"online (restored {_when(article.restored_at)})"
    return "online"


def _captures(session: Session, article_id: int) -> list[str]:
    """Where each fetch of the page is in the WARC files ([warc] dir): file and offset of its response
    record, the first archive's and each revisit's (a 304 too: what the server said then)."""
    found = capture_rows.captures_of(session, article_id)
    if not found:
        return []
    lines = ["", "captures (WARC file, offset of the response record):"]
    for capture in found:
        what = "first archive" if capture.first else f"revisit, HTTP {capture.http_status or '-'}"
        lines.append(f"  {_when(capture.fetched_at)}  {capture.warc_file}  {capture.warc_offset}  ({what})")
    return lines
