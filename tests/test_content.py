"""The generic finder on small pages, one behaviour each (no site rule)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.charset import decode
from scraper.extract import extract, html_to_text
from scraper.extract.content import _PITCH_ASK, _PITCH_WHAT, _asks_to_sign_up, _reads_as_pitch

URL = "https://blog.example/2026/how-to"


def _paragraphs(topic: str, count: int = 2) -> str:
    sentence = f"The {topic} step needs care, patience and a plan, and it takes an afternoon at most."
    return "".join(f"<p>{sentence} Part {n}, with more words.</p>" for n in range(count))


def test_an_article_in_sections_of_sibling_wrappers_is_kept_whole() -> None:
    steps = "".join(
        f"<div class='step'><div class='stepContent'><div class='content{' lead' if n == 0 else ''}'>"
        f"{_paragraphs(f'step-{n}')}</div></div></div>"
        for n in range(5)
    )
    html = (
        "<html><body><nav><a href='/'>Home</a></nav>"
        f"<article><h1>How to</h1>{steps}</article>"
        "<div class='sidebar'><a href='/x'>Other story</a></div></body></html>"
    )
    text = extract(html, URL).text
    assert all(f"step-{n} step" in text for n in range(5))
    assert "Other story" not in text and "Home" not in text


def test_parts_of_an_article_wrapped_alike_beside_the_best_blocks_wrappers_are_kept() -> None:
    def part(body: str) -> str:  # each part of the article in its own few wrappers, as some templates do
        return f"<section class='part'><div class='row'><div class='col'>{body}</div></div></section>"

    html = (
        "<html><body><article><div>"
        + part("<h1>How to</h1><span>By A. Writer</span>")
        + part(_paragraphs("first", 10))
        + "<div class='picture'><img src='/a.jpg'></div>"
        + part(_paragraphs("second"))
        + part(_paragraphs("third"))
        + "</div></article><div class='more'><a href='/x'>Other story</a></div></body></html>"
    )
    text = extract(html, URL).text
    assert "first step" in text and "second step" in text and "third step" in text
    assert "A. Writer" not in text and "Other story" not in text


def test_a_read_more_wrapper_holding_the_rest_of_the_article_is_kept_and_a_teaser_goes() -> None:
    html = (
        "<html><body><div class='story'>"
        f"<div class='intro'>{_paragraphs('intro', 6)}</div>"
        "<div id='read-more'><div class='read-more-link'><a href=''>Read more</a></div>"
        f"<div class='read-more-content'>{_paragraphs('rest', 3)}</div></div>"
        "<div class='read-more'><a href='/other'>Another story about ferries</a><p>Its short deck.</p></div>"
        "</div></body></html>"
    )
    text = extract(html, URL).text
    assert "intro step" in text and "rest step" in text
    assert "Another story" not in text and "Read more" not in text


def test_the_rest_of_an_article_in_a_paywall_wrapper_is_kept_and_the_pitch_goes() -> None:
    html = (
        "<html><body><article>"
        f"{_paragraphs('free', 6)}"
        f"<div class='paywall'>{_paragraphs('subscribers', 3)}</div>"
        "<div class='paywall-prompt'><p>Subscribe to keep reading this story.</p></div>"
        "</article></body></html>"
    )
    text = extract(html, URL).text
    assert "free step" in text and "subscribers step" in text
    assert "Subscribe" not in text


def test_a_table_whose_cells_wrap_their_short_figures_in_blocks_is_kept_whole() -> None:
    def row(*cells: str) -> str:  # as a document editor exports a table: each cell's text in a div
        return "<tr>" + "".join(f"<td><div><span>{cell}</span></div></td>" for cell in cells) + "</tr>"

    table = f"<table>{row('Application', 'Size')}{row('Maps', '32.7 MB')}{row('Mail', '17.8 MB')}</table>"
    body = f"{_paragraphs('intro', 3)}{table}{_paragraphs('end', 2)}"
    html = f"<html><body><div class='post'>{body}</div></body></html>"
    text = extract(html, URL).text
    assert all(cell in text for cell in ("Application", "Size", "Maps", "32.7 MB", "17.8 MB"))


def test_a_sibling_of_prose_whose_paragraphs_sit_deep_joins_and_a_teaser_does_not() -> None:
    html = (
        "<html><body><div id='page'>"
        f"<div class='lead'>{_paragraphs('lead', 10)}</div><div class='ad'>Buy now</div>"
        f"<div class='more'><div class='inner'><div class='col'>{_paragraphs('rest')}</div></div></div>"
        "<div class='next'><p><a href='/x'>Another story about the ferries</a>, read it.</p></div>"
        "</div></body></html>"
    )
    text = extract(html, URL).text
    assert "lead step" in text and "rest step" in text
    assert "Another story" not in text and "Buy now" not in text


def test_a_best_block_that_holds_a_fraction_of_its_parents_prose_widens_to_the_parent() -> None:
    items = "".join(
        f"<li>Point {n}: the ferry timetable changes in spring, and the town council explains why here.</li>"
        for n in range(8)
    )
    html = (
        "<html><body><div id='col1'>"
        f"<div class='lede'>{_paragraphs('intro')}</div>"
        f"<div class='rest'><ul>{items}</ul></div>"
        "</div><div class='links'><a href='/a'>Another story entirely</a></div></body></html>"
    )
    text = extract(html, URL).text
    assert "intro step" in text and all(f"Point {n}:" in text for n in range(8))
    assert "Another story" not in text


def test_a_parent_that_adds_mostly_links_does_not_widen_the_article() -> None:
    links = "".join(
        f"<li><a href='/s/{n}'>Read the other story number {n} about the ferry</a></li>" for n in range(12)
    )
    html = (
        "<html><body><div id='page'>"
        f"<div class='intro'>{_paragraphs('intro', 3)}</div>"
        f"<div class='list'><ul>{links}</ul></div>"
        "</div></body></html>"
    )
    text = extract(html, URL).text
    assert "intro step" in text and "other story number" not in text


def test_continue_reading_and_subscribe_to_read_stubs_go() -> None:
    for stub in ("Continue reading →", "Subscribe to read the full story", "Lire la suite", "阅读全文"):
        html = (
            "<html><body><article>"
            f"{_paragraphs('main', 3)}<p><a href='/full'>{stub}</a></p><div>{stub}</div>"
            "</article></body></html>"
        )
        text = extract(html, URL).text
        assert "main step" in text and stub not in text


def test_a_paragraph_that_mentions_reading_on_is_not_a_stub() -> None:
    sentence = "Continue reading the report and you find the ferry was late on 40 days of the year."
    html = f"<html><body><article>{_paragraphs('main', 3)}<p>{sentence}</p></article></body></html>"
    assert sentence in extract(html, URL).text


def test_widening_passes_through_wrappers_that_add_nothing() -> None:
    rest = "".join(
        f"<li>Step {n}: the ferry timetable changes in spring, and the town council explains why here.</li>"
        for n in range(10)
    )
    html = (
        "<html><body><div id='col1'>"
        f"<div class='w1'><div class='w2'><div class='lede'>{_paragraphs('intro', 3)}</div></div></div>"
        f"<div class='rest'><ol>{rest}</ol></div>"
        "</div></body></html>"
    )
    text = extract(html, URL).text
    assert "intro step" in text and "Step 9:" in text


def test_a_short_teaser_does_not_widen_to_take_in_its_deck() -> None:
    html = (
        "<html><body><div id='col1'>"
        "<div class='deck'><span>There are more devices, platforms and services to choose from than ever"
        " before. Here is how to figure out what is best for your habits and your wallet, and what it"
        " costs.</span></div>"
        f"<div class='lede'>{_paragraphs('teaser', 2)}</div>"
        "</div></body></html>"
    )
    text = extract(html, URL).text
    assert "teaser step" in text and "more devices" not in text


def test_the_block_marked_as_the_article_body_is_kept_whole() -> None:
    html = (
        "<html><body><div id='col1'><div itemprop='articleBody'>"
        "<div class='lead'><p>A short opening line.</p><p>And a second one.</p></div>"
        "<div class='block'><img src='/a.jpg'></div>"
        f"<div class='block'>{_paragraphs('body', 4)}</div>"
        "</div><div class='more'><p>Unrelated teaser, with a few words, commas, and more words.</p></div>"
        "</div></body></html>"
    )
    text = extract(html, URL).text
    assert "A short opening line." in text and "body step" in text
    assert "Unrelated teaser" not in text


def test_an_embedded_post_is_kept_even_in_a_wrapper_named_social() -> None:
    tweet = (
        "<div class='social-media-embed'><blockquote class='twitter-tweet'><p>Yes this is real and yes "
        "the state spent half a million on it: <a href='https://t.co/x'>https://t.co/x</a></p>"
        "— A reader (@reader) <a href='https://twitter.com/reader/status/1'>November 18, 2019</a>"
        "</blockquote></div>"
    )
    share = "<div class='social-share'><a href='https://facebook.com/sharer'>Share on Facebook</a></div>"
    body = f"{_paragraphs('main', 3)}{tweet}{_paragraphs('end', 2)}{share}"
    html = f"<html><body><article>{body}</article></body></html>"
    text = extract(html, URL).text
    assert "Yes this is real" in text and "end step" in text
    assert "Share on Facebook" not in text


def test_a_paragraph_that_is_a_list_of_links_goes_whatever_its_length() -> None:
    links = "".join(
        f"<a href='/news/{n}'>A longer headline of another story, number {n}, about the city</a> [VIDEO]<br>"
        for n in range(5)
    )
    inline = (
        "<p>The council, <a href='/council'>which met on Monday</a>, voted 7-2; the mayor, who had argued "
        "for the plan since spring, said the vote was a relief and promised a review.</p>"
    )
    html = f"<html><body><article>{_paragraphs('main', 3)}{inline}<p>{links}</p></article></body></html>"
    text = extract(html, URL).text
    assert "which met on Monday" in text and "another story" not in text


def test_newsletter_pitches_and_javascript_notices_go() -> None:
    pitches = (
        "<p>Get the latest updates right in your inbox. Subscribe to our newsletters.</p>"
        "<div>This slideshow requires JavaScript.</div>"
    )
    html = f"<html><body><article>{_paragraphs('main', 3)}{pitches}</article></body></html>"
    text = extract(html, URL).text
    assert "main step" in text and "inbox" not in text and "JavaScript" not in text


def test_a_paragraph_about_a_newsletter_that_is_long_is_kept() -> None:
    story = (
        "The paper said on Monday that readers who subscribe to its morning newsletter will also get the "
        "evening edition, after a year in which the number of people signing up doubled, and that the "
        "price would not change for those who already pay for it."
    )
    html = f"<html><body><article>{_paragraphs('main', 3)}<p>{story}</p></article></body></html>"
    assert story in extract(html, URL).text


def test_a_best_block_short_of_the_json_ld_article_body_widens_to_hold_it() -> None:
    items = "".join(f"<li>Point {n}: the ferry leaves at six and on Sundays at nine.</li>" for n in range(5))
    lede = _paragraphs("intro", 3)
    article_body = json.dumps(
        {"@type": "NewsArticle", "headline": "Ferries", "articleBody": "x" * 600}  # as long as the article
    )
    html = (
        f"<html><head><script type='application/ld+json'>{article_body}</script></head><body>"
        f"<div id='col1'><div class='lede'>{lede}</div><div class='rest'><ul>{items}</ul></div></div>"
        "</body></html>"
    )
    text = extract(html, URL).text
    assert "intro step" in text and "Point 4:" in text
    without = extract(html.replace(article_body, "{}"), URL).text
    assert "Point 4:" not in without  # the declared length is what widened it


def _lede_and_list_page() -> tuple[str, str]:
    items = "".join(f"<li>Point {n}: the ferry leaves at six and on Sundays at nine.</li>" for n in range(5))
    lede = _paragraphs("intro", 3)
    page = (
        "<html><body>"
        f"<div id='col1'><div class='lede'>{lede}</div><div class='rest'><ul>{items}</ul></div></div>"
        "</body></html>"
    )
    return page, f"{lede}<ul>{items}</ul>"


def test_a_best_block_short_of_the_feeds_whole_article_widens_to_hold_it() -> None:
    page, feed_content = _lede_and_list_page()
    assert "Point 4:" not in extract(page, URL).text
    text = extract(page, URL, feed_summary=feed_content).text
    assert "intro step" in text and "Point 4:" in text
    # a feed that gives the article as plain text says as much
    assert "Point 4:" in extract(page, URL, feed_summary=html_to_text(feed_content)).text


def test_a_feed_teaser_or_a_bad_summary_changes_nothing() -> None:
    page, _ = _lede_and_list_page()
    alone = extract(page, URL).text
    for summary in ("A short teaser about the ferry.", "", "   ", None, "<p></p>", "x" * 2_000_000):
        assert extract(page, URL, feed_summary=summary).text == alone


def test_a_pitch_spelt_with_letters_a_case_insensitive_match_folds_still_goes() -> None:
    # "ſ" (long s) and a dotted capital I match "s" and "i" case-insensitively: the cheap test that
    # runs before the pitch pattern must let them through to it
    pitch = (
        "<p>\u017fign up for our daily email: the news in your inbox.</p>"
        "<p>REG\u0130STER for e-mail alerts.</p>"
    )
    html = f"<html><body><article>{_paragraphs('main', 3)}{pitch}</article></body></html>"
    text = extract(html, URL).text
    assert "main step" in text and "inbox" not in text and "alerts" not in text


_FOLDING = st.sampled_from(
    list("subscrigneptSUBSCRIGNEPT -_\u017f\u0131\u0130\u212a.,éabonuvtzíAOVподпишПОДИШ")
)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_FOLDING, max_size=40))
def test_the_cheap_sign_up_test_never_rejects_what_the_pitch_pattern_matches(text: str) -> None:
    if _PITCH_ASK.search(text):
        assert _asks_to_sign_up(text)


_ASCII_PITCH_WORDS = st.sampled_from(
    [
        "subscribe", "Sign Up", "signup", "sign-up", "REGISTER", "abonnieren", "abonnez", "abonne-toi",
        "inscrivez", "suscribete", "iscriviti", "assine", "newsletter", "Newsletters", "inbox",
        "daily email", "e-mail alert", "email alerts", "boletin", "boletim", "lettre d'information",
        "designs", "resign", "_subscribe", "subscribe2", "re-register", " ", ".", "-", "_", "x", "9",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_ASCII_PITCH_WORDS, max_size=8).map("".join))
def test_ascii_text_reads_as_a_pitch_exactly_as_the_full_patterns_say(text: str) -> None:
    full = bool(_PITCH_ASK.search(text) and _PITCH_WHAT.search(text))
    assert _reads_as_pitch(text, text.lower()) == full


def test_a_page_given_as_bytes_reads_as_its_decoded_text_does() -> None:
    # UTF-8 bytes go to the parser as they are; other charsets (and broken UTF-8) are decoded first
    article = "<p>台风今天下午在浙江沿海登陆，当地已经转移了三万多人，学校停课一天。</p>" * 3
    page = (
        "<html><head><meta charset='{charset}'><title>台风</title></head>"
        f"<body><article>{article}</article></body></html>"
    )
    utf8 = page.format(charset="utf-8").encode("utf-8")
    gbk = page.format(charset="gbk").encode("gbk")
    broken = utf8.replace("台风".encode(), b"\xff\xfe", 1)
    for raw in (utf8, gbk, broken):
        text, _ = decode(raw)
        from_bytes, from_text = extract(raw, URL), extract(text, URL)
        assert from_bytes == from_text
        assert "浙江沿海登陆" in from_bytes.text


def test_page_bytes_with_their_charset_read_as_the_decoded_text_does() -> None:
    # the fetcher knows the charset: UTF-8 goes to the parser undecoded (a byte-order mark dropped),
    # another charset is decoded with it
    article = "<p>台风今天下午在浙江沿海登陆，当地已经转移了三万多人，学校停课一天。“引号”</p>" * 3
    page = f"<html><head><title>台风</title></head><body><article>{article}</article></body></html>"
    expected = extract(page, URL)
    for raw, charset in (
        (page.encode("utf-8"), "utf-8"),
        (page.encode("utf-8-sig"), "UTF-8"),
        (page.encode("gb18030"), "gbk"),
        (page.encode("big5hkscs", "ignore"), "big5"),
    ):
        record = extract(raw, URL, charset=charset)
        if charset == "big5":  # simplified characters Big5 lacks are gone either way
            assert record == extract(raw.decode("big5hkscs"), URL)
        else:
            assert record == expected
    broken = page.encode("utf-8").replace("台风".encode(), b"\xff\xfe", 1)
    assert extract(broken, URL, charset="utf-8").title == "\ufffd\ufffd"


def test_a_stub_in_inline_wrappers_goes_and_a_plain_line_in_them_stays() -> None:
    # the stub look reads a wrapper's text only when no block below holding all of it was read: a wrapper
    # of a plain line is plain too, and a "continue reading" link wrapped the same way still goes
    article = _paragraphs("first", 4)
    html = (
        f"<html><body><article><h1>How to</h1>{article}"
        "<p><em><b>A short plain line of the article.</b></em></p>"
        "<p><span><a href='/2026/how-to/full'>Continue reading</a></span></p>"
        f"{_paragraphs('second', 3)}</article></body></html>"
    )
    text = extract(html, URL).text
    assert "A short plain line of the article." in text
    assert "Continue reading" not in text
    assert "second step" in text
