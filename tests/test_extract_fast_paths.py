"""Fast paths of the extractor that stand in for a slower exact look: each gives the same answer.

Speed changes must leave every output as it was; these properties show it for whole input classes,
beyond the benchmark's pages.
"""

from __future__ import annotations

from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.extract import hints
from scraper.extract.budget import Budget
from scraper.extract.clean import _TRACKER, _is_tracker, drop_selected
from scraper.extract.content import (
    _CONSENT,
    _PITCH,
    _STUB,
    _STUB_LOWERED,
    CONSENT,
    NOT_STUB,
    STUB,
    STUB_MAX_CHARS,
    _folded,
    _mentions_cookies,
    _names_sign_up,
    _reads_as_pitch,
    words_kind,
)
from scraper.extract.measure import KNOWN_TAG_IDS, first_tagged, measure, subtree_range, tag_names
from tests.hunting import fixed_or_hunting

# Pieces of the tracker words in any case, and what separates them in an address.
_PIECES = st.sampled_from(
    [
        "doubleclick.net", "Google-Analytics", "googletagmanager", "ScoreCardResearch", "quantserve",
        "/pixel", "/Beacon", "/track", "/TRACKING", "/", "/1x1.", "1x1", "spacer.gif", "blank.GIF",
        "facebook.com/tr", "/b.gif", "/p.gif", ".", "-", "a", "K", "\u212a", "\u017f", "ing", "?x=1",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=8).map("".join))
def test_an_image_address_is_a_trackers_exactly_when_the_pattern_says(src: str) -> None:
    assert _is_tracker(src, {}) == bool(_TRACKER.search(src))


# Nested markup: opening and closing tags in any order (the parser closes and nests as browsers do).
_TAGS = st.sampled_from(
    ["<div>", "</div>", "<p>", "</p>", "<span>", "</span>", "<ul><li>", "</ul>", "x", "<br>"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_TAGS, max_size=30).map("".join))
def test_a_blocks_measured_subtree_is_the_run_the_parser_walks(markup: str) -> None:
    body = LexborHTMLParser(f"<body>{markup}</body>").body
    assert body is not None
    stats = measure(body, Budget())
    for node in body.traverse():
        span = subtree_range(stats, node.mem_id)
        assert [stats.keys[index] for index in span] == [below.mem_id for below in node.traverse()]


# Words of the stub phrases and what surrounds them, in any case.
_STUB_PIECES = st.sampled_from(
    [
        "Continue", "READING", "read", " ", "more", "Read More", "subscribe", "to", "unlock", "the", "full",
        "Story", "this", "page", "requires", "JavaScript", "please", "enable", ".", "!", "-", ">>", "x",
        "Weiterlesen", "la suite", "Leggi", "tutto", "9",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_STUB_PIECES, max_size=8).map("".join))
def test_lowered_ascii_text_is_a_stub_exactly_when_the_case_blind_pattern_says(text: str) -> None:
    assert text.isascii()
    assert bool(_STUB_LOWERED.match(text.lower())) == bool(_STUB.match(text))


def _words_kind_as_before(text: str, length: int) -> int:
    """`words_kind` as it was: every text folded, and the looks made by their functions."""
    probe = _folded(text)
    if length <= STUB_MAX_CHARS and (_STUB_LOWERED.match(probe) if text.isascii() else _STUB.match(text)):
        return STUB
    if _mentions_cookies(probe) and _CONSENT.search(text):
        return CONSENT
    if _names_sign_up(probe) and _reads_as_pitch(text, probe):
        return _PITCH
    return NOT_STUB


# Words of the stub phrases, the cookie notices and the newsletter pitches, near misses, and what
# surrounds them, in any case and script (a first word after punctuation, a digit or `_`).
_WORD_PIECES = st.sampled_from(
    [
        "Continue reading", "Read more", "read the full story", "Subscribe", "sign in", "Log in", "to",
        "read", "unlock", "this", "page", "requires", "JavaScript", "Please enable", "enable", "la suite",
        "Leggi", "tutto", "czytaj dalej", "Weiterlesen", "mehr lesen", "seguir leyendo", "leia mais", "co",
        "re", "We use cookies", "cookie policy", "accept cookies", "sign up", "newsletter", "inbox",
        "register", "abonnez", "inscrivez", "suscríbete", "iscriviti", "assine", "screen", "design", " ",
        ".", "!", "»", "_", "9", "x", "Home", "阅读全文", "订阅", "쿠키", "ſ", "K", "İ", "più", "más",
    ]
)  # fmt: skip


@fixed_or_hunting("HUNT_WORDS_KIND", 400)
@given(st.lists(_WORD_PIECES, max_size=8).map("".join), st.integers(min_value=1, max_value=200))
@example("la suite", 8)  # the shortest ASCII texts each look can match
@example("» Read more", 11)
@example("Inbox: sign up", 14)
@example("assine", 6)
@example(",", 1)
def test_a_blocks_words_make_the_same_kind_as_before_the_inline_looks(text: str, length: int) -> None:
    text = text.strip()
    assert words_kind(text, length) == _words_kind_as_before(text, length)
    assert words_kind(text, len(text)) == _words_kind_as_before(text, len(text))


def _dropped_in_turn(root: LexborNode, selectors: list[str]) -> None:
    """`drop_selected` as it was: a query per selector, each on what the ones before left."""
    for selector in selectors:
        try:
            nodes = root.css(selector)
        except Exception:
            continue
        for node in nodes:
            node.remove(recursive=False)


# Nested blocks named as rules name them, and rules' selectors: plain ones (one query for them all) and
# ones that are not (a pseudo-class, a sibling, an invalid one: a query each).
_RULED_MARKUP = st.sampled_from(
    [
        '<div class="ad">', '<div class="share bar">', '<div id="x">', '<section class="related">',
        '<p data-x="a,b">', "<p>", "</p>", "</div>", "</section>", "<span>t</span>", "text",
        '<ul class="ad">', "<li>i</li>", "</ul>",
    ]
)  # fmt: skip
_RULE_SELECTORS = st.sampled_from(
    [
        ".ad", "div.share", "#x", ".related p", "section > .ad", "[data-x]", '[data-x="a,b"]', "div *",
        "span", "p:first-child", ".ad + p", "li:not(.x)", "[data-x=", "..bad", "ul .ad > li",
    ]
)  # fmt: skip


@fixed_or_hunting("HUNT_DROP_SELECTED", 300)
@given(st.lists(_RULED_MARKUP, max_size=24).map("".join), st.lists(_RULE_SELECTORS, max_size=6))
def test_a_rules_selectors_drop_what_they_dropped_in_turn(markup: str, selectors: list[str]) -> None:
    joined, in_turn = (LexborHTMLParser(f"<body>{markup}</body>").body for _ in range(2))
    assert joined is not None and in_turn is not None
    drop_selected(joined, selectors)
    _dropped_in_turn(in_turn, selectors)
    assert joined.html == in_turn.html


def _junk_names_as_before(classes: str | None, ident: str | None) -> bool:
    """`hints.junk_names` as it was: the cached functions asked each time."""
    bits = (hints._class_bits(classes) if classes else 0) | (hints._id_bits(ident) if ident else 0)
    return bool(bits & hints._NAMED_JUNK_BITS) and not bits & hints._ARTICLE_BITS


_NAME_PIECES = st.sampled_from(
    ["share", "article", "ad", "ads", "-", "_", " ", "body", "read-more", "widget", "tags", "x", "Caption"]
)
_NAMES = st.one_of(st.none(), st.lists(_NAME_PIECES, max_size=6).map("".join))


@fixed_or_hunting("HUNT_JUNK_NAMES", 300)
@given(st.lists(st.tuples(_NAMES, _NAMES), max_size=12))
def test_junk_names_remembered_by_value_say_what_the_cached_functions_say(
    names: list[tuple[str | None, str | None]],
) -> None:
    with mock.patch.object(hints, "_NAMES_KEPT", 4):  # emptied when full, again and again
        for classes, ident in names:
            assert hints.junk_names(classes, ident) == _junk_names_as_before(classes, ident)


# Markup with the tags looked for (known to the parser or not) early, late or nowhere in a subtree.
_TAGGED_MARKUP = st.sampled_from(
    [
        "<div>", "</div>", "<a href=x>", "</a>", "<img src=i>", "<style>s</style>", "<script>j</script>",
        "<x-card>", "</x-card>", "<span>t</span>", "<!-- c -->", "text", "<svg><style>v</style></svg>",
        "<p>", "<b><i><em>", "</em></i></b>",
    ]
)  # fmt: skip
_TAG_QUERIES = st.sampled_from(
    [
        (frozenset({"img"}), "img"),
        (frozenset({"style", "script"}), "style, script"),
        (frozenset({"x-card"}), "x-card"),
        (frozenset({"img", "x-card"}), "img, x-card"),
    ]
)


@fixed_or_hunting("HUNT_FIRST_TAGGED", 300)
@given(st.lists(_TAGGED_MARKUP, max_size=40).map("".join), _TAG_QUERIES)
def test_the_first_tagged_element_is_the_css_engines_first_match(
    markup: str, query: tuple[frozenset[str], str]
) -> None:
    names, selector = query
    body = LexborHTMLParser(f"<body>{markup}</body>").body
    assert body is not None
    for node in body.traverse():
        walked, queried = first_tagged(node, names, selector), node.css_first(selector)
        assert (walked.mem_id if walked else None) == (queried.mem_id if queried else None)


# Elements of every kind: HTML's, obsolete and unknown ones, SVG's (camel-case names among them) and
# MathML's, in any case, with text and comments.
_NAMED_MARKUP = st.sampled_from(
    [
        "<div>", "</div>", "<P>", "<Span>t</span>", "<svg>", "</svg>", "<clipPath>", "<foreignObject>",
        "<linearGradient>", "<a>", "<title>x</title>", "<style>s</style>", "<image>", "<math><mi>x</mi>",
        "</math>", "<x-card>", "<svg:rect>", "<font>", "<center>", "<marquee>", "<table><tr><td>c",
        "</table>", "<!-- c -->", "text", "<template><b>t</b></template>", "<selectedcontent>", "<search>",
    ]
)  # fmt: skip


@fixed_or_hunting("HUNT_TAG_NAMES", 300)
@given(st.lists(_NAMED_MARKUP, max_size=30).map("".join))
def test_a_nodes_name_by_its_number_is_its_tag(markup: str) -> None:
    names = tag_names()
    tree = LexborHTMLParser(f"<!DOCTYPE html><html><body>{markup}</body></html>")
    document = tree.root.parent if tree.root is not None else None
    assert document is not None
    for node in document.traverse(include_text=True):
        number = node.tag_id
        assert ((names[number] if number < KNOWN_TAG_IDS else None) or node.tag) == node.tag
