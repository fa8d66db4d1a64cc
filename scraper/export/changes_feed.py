"""`[export] changes_feed = "changes.xml"`: an Atom feed of the latest edits and removals, in the export
folder, so readers can subscribe to what was changed or taken down.

Each entry names the article, links to its source and to its post, and carries the diff as HTML (for an
edit) or the reason (for a removal or a restore). The feed is built only from stored changes, so its bytes
change only when a change is recorded: the file is rewritten then and left alone otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy.orm import Session

from scraper.export.files import write_atomic
from scraper.store.revisits import ChangeRow, latest_changes
from scraper.text_diff import diff_tokens, render_html

ENTRIES = 50  # the latest changes the feed holds
FEED_ID = "urn:scraper:changes"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_HEADLINES = {"edited": "Edited", "removed": "Removed", "restored": "Restored"}


def _stamp(row: ChangeRow) -> str:
    return row.change.at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _content(row: ChangeRow) -> str:
    """The entry's HTML: the diff of an edit (title and text), or what was seen."""
    parts: list[str] = []
    if row.change.kind == "edited" and row.before is not None and row.after is not None:
        if (row.before.title or "") != (row.after.title or ""):
            old, new = escape(row.before.title or ""), escape(row.after.title or "")
            parts.append(f"<p>Title: <del>{old}</del> <ins>{new}</ins></p>")
        parts.append(render_html(diff_tokens(row.before.content_text or "", row.after.content_text or "")))
    elif row.change.detail:
        parts.append(f"<p>{escape(row.change.detail)}</p>")
    return "".join(parts)


def _entry(row: ChangeRow) -> str:
    article = row.article
    name = article.title or article.entry_title or article.url
    title = f"{_HEADLINES.get(row.change.kind, row.change.kind)}: {name}"
    links = [f'<link rel="alternate" href={quoteattr(article.url)}/>']
    if article.post_path:
        links.append(f'<link rel="related" href={quoteattr(article.post_path)}/>')
    return (
        "<entry>"
        f"<id>{FEED_ID}:{row.change.id}</id>"
        f"<title>{escape(title)}</title>"
        f"<updated>{_stamp(row)}</updated>"
        + "".join(links)
        + (f"<author><name>{escape(row.feed_name)}</name></author>" if row.feed_name else "")
        + f"<category term={quoteattr(row.change.kind)}/>"
        + f'<content type="html">{escape(_content(row))}</content>'
        "</entry>\n"
    )


def render_changes_feed(rows: Sequence[ChangeRow]) -> str:
    updated = _stamp(rows[0]) if rows else "1970-01-01T00:00:00Z"
    document = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<id>{FEED_ID}</id><title>Edits and removals</title><updated>{updated}</updated>"
        "<author><name>scraper</name></author>\n" + "".join(_entry(row) for row in rows) + "</feed>\n"
    )
    # A page's text keeps what XML 1.0 forbids (a control character, U+FFFE): one edit of such a page made
    # the file unreadable to every reader of the feed. Escaping does not help (`&#1;` is forbidden too).
    return _NOT_XML.sub("", document)


def write_changes_feed(session: Session, export_dir: Path, name: str) -> bool:
    """Write the feed of the latest changes; returns whether the file changed."""
    return write_atomic(export_dir / name, render_changes_feed(latest_changes(session, ENTRIES)))
