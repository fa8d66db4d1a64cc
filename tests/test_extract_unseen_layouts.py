"""Parts of an article the finder used to leave out, found on a held-out set of pages (issue 14).

One layout per test, each a class seen on pages nobody tuned the finder for: a paragraph that cites an
address (a URL or an e-mail written out), a lead named as such beside the body's container, and the
counterparts that must still go (a "read more" line, a deck in the headline's block, an unnamed box).
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


LEAD = "The lead of the story says in two sentences what happened. It comes before the body, in bold."


@pytest.mark.parametrize(
    "name", ["class='intro'", "class='ce_articleIntro block'", "id='standfirst'", "class='article-chapo'"]
)
def test_a_lead_named_as_such_beside_the_body_is_kept(name: str) -> None:
    page = (
        f"<div id='main'><h1>Title</h1><div {name}><strong>{LEAD}</strong></div>"
        f"<div class='clearfix'></div><div id='content'>{BODY}</div></div>"
    )
    text = _text(page)
    assert LEAD in text
    assert text.index(LEAD) < text.index("Article paragraph 0")


def test_a_deck_inside_the_headline_block_is_not_taken() -> None:
    # the headline's own block (a header with the title and the deck): a deck readers of the body skip
    page = (
        f"<article><header><h1>Title</h1><h2 class='summary'>{LEAD}</h2></header>"
        f"<div class='body'>{BODY}</div></article>"
    )
    assert LEAD not in _text(page)


def test_an_unnamed_box_between_headline_and_body_is_not_taken() -> None:
    box = "<div class='box'>Key points: the airline buys thirty jets, and the deal is worth billions.</div>"
    page = f"<div id='main'><h1>Title</h1>{box}<div id='content'>{BODY}</div></div>"
    assert "Key points" not in _text(page)


def test_a_lead_word_inside_another_word_is_not_a_lead() -> None:
    box = f"<div class='leaderboard'>{LEAD}</div>"
    page = f"<div id='main'><h1>Title</h1>{box}<div id='content'>{BODY}</div></div>"
    assert LEAD not in _text(page)
