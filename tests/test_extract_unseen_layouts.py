"""Parts of an article the finder used to leave out, found on a held-out set of pages (issue 14).

One layout per test, each a class seen on pages nobody tuned the finder for: a paragraph that cites an
address (a URL or an e-mail written out), a lead named as such beside the body's container, and the
counterparts that must still go (a "read more" line, a deck in the headline's block, an unnamed box).
"""

from __future__ import annotations

import pytest

from tests.article_pages import body_text as _text
from tests.article_pages import paragraphs as _paragraphs

BODY = _paragraphs("Article", 8)


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


LINE_A = (
    "Veteran actress Jane Roe, who won the award for best actress in 2008, shared some new photos of herself"
    " online."
)
LINE_B = (
    "She carried a bag in the colours of the national flag, at an event hosted by a well known media mogul"
    " in town."
)


def _picture(n: int) -> str:
    return f"<div style='text-align:center'><span><img src='/p{n}.jpg' width='400' height='300'></span></div>"


def test_a_post_written_in_div_lines_between_photos_is_not_a_gallery() -> None:
    # an editor's post: each line a <div><span>, photos between them, no <p> at all
    lines = "".join(
        f"<div><span><span>{line}</span></span></div><div><span> </span></div>" for line in (LINE_A, LINE_B)
    )
    reader = f"<div class='reader'>{_picture(1)}{lines}{''.join(_picture(n) for n in range(2, 7))}</div>"
    intro = (
        "<div><span>Photos of the actress are making the rounds on social media, and they show her at her"
        " best.</span></div>"
    )
    text = _text(f"<div class='post'><h1>Title</h1><div class='post-body'>{intro}{reader}</div></div>")
    assert LINE_A in text and LINE_B in text


def test_a_grid_of_picture_cards_with_summary_lines_still_goes() -> None:
    cards = "".join(
        f"<div class='card'><div class='r'><a href='/s{n}'><img src='/t{n}.jpg'></a></div>"
        f"<div class='title'><a href='/s{n}'>Story {n}</a></div>"
        f"<div class='body'>Summary line {n} of another story, long enough to read as a whole sentence"
        " here.</div></div>"
        for n in range(6)
    )
    page = f"<article><h1>Title</h1>{BODY}<div id='more'><h2>Most read</h2>{cards}</div></article>"
    text = _text(page)
    assert "Summary line" not in text
    assert "Article paragraph 7" in text


def test_a_list_article_whose_table_scores_best_keeps_its_intro_and_caption() -> None:
    # the rows score for the table's body; the page around it is link-dense (see also, references), so
    # the body, not the page, is the best block: its table is the unit, and the intro beside it joins
    rows = "".join(
        f"<tr><th><a href='/f{n}'>Film {n}</a></th><td>{1950 + n}</td><td>Synopsis {n}: a man relives"
        " the same day, again and again, until he learns what the day wants of him, and it ends.</td></tr>"
        for n in range(12)
    )
    intro = (
        "<p>This list of films with time loops names films in which the characters live the same day again,"
        " and again, until something breaks the loop.</p>"
    )
    caption = "<caption>Films with time loops</caption><thead><tr><th>Film</th></tr></thead>"
    links = "".join(f"<li><a href='/r{n}'>Reference number {n} to a source</a></li>" for n in range(30))
    page = (
        f"<div id='content'><h1>List of films</h1>{intro}<table>{caption}<tbody>{rows}</tbody></table>"
        f"<h2>References</h2><ul>{links}</ul></div>"
    )
    text = _text(page)
    assert "This list of films" in text
    assert "Films with time loops" in text
    assert "Synopsis 11" in text


def test_a_list_of_sentences_that_link_a_word_is_kept() -> None:
    items = "".join(
        f"<li>Contributor {n} <a href='/bug/{n}'>fixed an issue with the add-on manager</a> when a profile"
        " is updated on disk by another program</li>"
        for n in range(6)
    )
    text = _text(f"<article><h1>Title</h1>{BODY}<h2>Resolved bugs</h2><ul>{items}</ul>{BODY}</article>")
    assert "Contributor 5 fixed an issue" in text and "by another program" in text


def test_a_list_of_links_inside_the_article_still_goes() -> None:
    items = "".join(f"<li><a href='/s{n}'>Another story about another subject {n}</a></li>" for n in range(6))
    text = _text(f"<article><h1>Title</h1>{BODY}<ul>{items}</ul>{BODY}</article>")
    assert "Another story" not in text
    assert "Article paragraph 7" in text


# A review's opening in a section of its own: its sentences link the products they name (a fifth of
# its text), more than the tenth a block beside the body may link, yet every link is a word of a sentence.
OPENING = (
    "<p>The <a href='/xbox-one-x'>Xbox One X</a> is the most powerful console yet, and it plays more games"
    " in native 4K than <a href='/ps4-pro'>the PlayStation 4 Pro</a>, which costs less; for most people,"
    " though, the price is the problem, and <a href='/xbox-one-s'>the One S</a> may be enough for now."
    " We played it for a month, at home and at the office, before we wrote this.</p>"
)


def _sections(opening: str) -> str:
    return f"<div class='sections'><div class='opening'>{opening}</div><div class='story'>{BODY}</div></div>"


def test_an_opening_paragraph_linking_the_words_it_names_is_kept() -> None:
    text = _text(_sections(OPENING))
    assert "most powerful console yet" in text and "may be enough for now" in text
    assert "Article paragraph 7" in text


def test_a_box_of_link_lines_beside_the_body_still_goes() -> None:
    # as linked, but its links are lines of their own, not words of a paragraph's sentences
    box = "".join(
        f"<div><a href='/s{n}'>Another story, number {n}, on this</a> and a few more words, here.</div>"
        for n in range(6)
    )
    text = _text(_sections(box))
    assert "Another story" not in text and "Article paragraph 7" in text


def _roundup(href: str) -> str:
    quotes = "".join(
        f"<blockquote><p>Review {n}: the service works, mostly, and the games, once they load, look great on"
        f" a television.</p></blockquote><p><strong>[</strong><a href='{href}{n}'><strong>Outlet {n}</strong>"
        "</a><strong>]</strong></p>"
        for n in range(4)
    )
    return f"<article><h1>What the reviews say</h1>{BODY}{quotes}{BODY}</article>"


def test_the_source_named_under_a_quote_is_kept() -> None:
    # a review roundup: each excerpt, then a line that is only a link to where it is from
    text = _text(_roundup("https://outlet.example/review-"))
    assert "Outlet 0" in text and "Outlet 3" in text


def test_a_button_to_the_sites_own_page_under_a_quote_still_goes() -> None:
    text = _text(_roundup("/downloads/guide-"))
    assert "Review 0:" in text and "Outlet 0" not in text


@pytest.mark.parametrize(
    "href", ["https://shop.example/games/rez", "#rez"], ids=["to the thing reviewed", "to its own anchor"]
)
def test_a_heading_made_of_a_link_out_or_into_the_page_heads_a_part(href: str) -> None:
    # a listicle's item titled with a link to the product, a section heading that is its own anchor
    item = f"<h3><a href='{href}'>Rez Infinite ($30)</a></h3>"
    text = _text(f"<article><h1>Eight games</h1>{BODY}{item}{BODY}</article>")
    assert "Rez Infinite ($30)" in text


def test_a_heading_made_of_a_link_to_the_sites_other_story_still_goes() -> None:
    item = "<h3><a href='/2026/other-story'>Another story on the same topic</a></h3>"
    text = _text(f"<article><h1>Eight games</h1>{BODY}{item}{BODY}</article>")
    assert "Another story" not in text
