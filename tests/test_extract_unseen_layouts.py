"""Parts of an article the finder used to leave out, found on a held-out set of pages (issue 14).

One layout per test, each a class seen on pages nobody tuned the finder for: a paragraph that cites an
address (a URL or an e-mail written out), and the counterpart that must still go (a "read more" line).
"""

from __future__ import annotations

import pytest

from scraper.extract import extract
from tests.article_pages import URL
from tests.article_pages import paragraphs as _paragraphs

BODY = _paragraphs("Article", 8)


def _text(body: str) -> str:
    return extract(f"<html><body>{body}</body></html>", URL).text


@pytest.mark.parametrize(
    "link",
    [
        "<a href='http://www.example.org/petition/online/stop-it'>http://www.example.org/petition/online/stop-it</a>",
        "<a href='mailto:info@example.org'>info@example.org</a>",
        "<a href='http://www.example.org/'>www.example.org</a>",
    ],
)
def test_a_paragraph_citing_an_address_is_kept(link: str) -> None:
    page = f"<article><h1>Title</h1>{BODY}<p>Sign the petition here:</p><p>{link}</p>{BODY}</article>"
    text = _text(page)
    address = link.split(">")[1].split("<")[0]
    assert address in text
    assert "Article paragraph 7" in text


def test_a_read_more_line_linking_another_story_still_goes() -> None:
    line = "<p>Read more: <a href='/other'>Another story about something else entirely</a></p>"
    text = _text(f"<article><h1>Title</h1>{BODY}{line}{BODY}</article>")
    assert "Another story" not in text
    assert "Article paragraph 7" in text
