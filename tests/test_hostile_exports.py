"""What a hostile page leaves in the files written for everyone: they stay well-formed (task H, session 15).

Found: a page's text keeps control characters (`a&#1;b`, a raw \\x0b), and an edit of such a page put them
in the changes feed (`[export] changes_feed`), which XML 1.0 forbids: every reader of changes.xml failed to
parse it from then on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast
from xml.etree import ElementTree

from hypothesis import given
from hypothesis import strategies as st

from scraper.export.changes_feed import render_changes_feed
from scraper.store.models import Article, ArticleChange, ArticleVersion
from scraper.store.revisits import ChangeRow

AT = datetime(2026, 12, 1, tzinfo=UTC)


def _row(before: str, after: str, title: str, detail: str) -> ChangeRow:
    article = Article(url="https://e.test/a", title=title, post_path="2026-12-01-a.md")
    change = ArticleChange(id=1, kind="edited", at=AT, detail=detail)
    return ChangeRow(
        change=change,
        article=article,
        feed_name=title,
        before=cast(ArticleVersion, ArticleVersion(title=title, content_text=before)),
        after=cast(ArticleVersion, ArticleVersion(title=title + "!", content_text=after)),
    )


@given(st.text(), st.text(), st.text(), st.text())
def test_the_changes_feed_is_xml_whatever_the_pages_held(
    before: str, after: str, title: str, detail: str
) -> None:
    document = render_changes_feed([_row(before, after, title, detail)])
    ElementTree.fromstring(document.encode("utf-8"))


def test_control_characters_of_a_page_leave_no_trace_in_the_changes_feed() -> None:
    document = render_changes_feed([_row("a\x01b\x0bc", "a\x01b\x0bd\ufffe", "t\x08", "")])
    ElementTree.fromstring(document.encode("utf-8"))
    assert "\x01" not in document and "\x0b" not in document
