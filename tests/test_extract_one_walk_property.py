"""The finder's one walk (`drop_junk_measured`: junk judged inside `measure`'s walk, dropped blocks
emptied at once and unlinked after it) against the two steps it replaced (`drop_junk`, then `measure`),
on hostile pages built from parts: junk inside junk, junk inside and around the blocks that protect the
article (h1, article, main, itemprop=articleBody), hidden blocks (display:none, visibility:hidden,
hidden, aria-hidden) around and inside the article, "read more" and paywall wrappers holding the rest or
teasers, embedded posts in a social box, a junk-named wrapper holding most of the page's text, a body
that is itself junk or hidden, drop tags nested in each other and in junk, deep nesting, empty elements
and text directly in the body.

Both must leave the same tree and the same figures, field by field, and `extract` must give the same
record either way.

`SCRAPER_ONE_WALK_EXAMPLES=20000 pytest tests/test_extract_one_walk_property.py` hunts with random
draws; the suite runs a fixed (derandomized) set, in seconds.
"""

from __future__ import annotations

from dataclasses import astuple

import pytest
from hypothesis import given
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser, LexborNode

import scraper.extract.content as content
from scraper.extract import extract
from scraper.extract.budget import Budget
from scraper.extract.clean import drop_junk, drop_junk_measured
from scraper.extract.measure import TextStats, measure
from tests.article_pages import URL
from tests.hunting import fixed_or_hunting
from tests.test_extract_layouts_property import PROSE

ONE_WALK_SETTINGS = fixed_or_hunting("SCRAPER_ONE_WALK_EXAMPLES", 120)
# the finder's own protection (content._HOLDS_ARTICLE)
PROTECT = "h1, article, main, [itemprop=articleBody]"

# Names that judge a block: strong and weak furniture, "read more"/paywall, article names (which
# protect from the weak words), a CMS body class, an embedded post's class, and plain ones.
CLASSES = [
    "share", "social", "related", "sidebar", "comments", "ad", "footer", "byline", "newsletter",
    "read-more", "readmore", "paywall", "paywall-content", "tags", "popup", "widget", "caption",
    "imgCaption", "print", "banner", "story", "content", "article-body", "entry-content", "post-meta",
    "share story", "social-embed", "twitter-tweet", "instagram-media", "w1", "x", "",
]  # fmt: skip
# asked about what they hold: drawn more often
WRAPPER_CLASSES = ["read-more", "paywall", "social", "post-meta", "sidebar"] * 3
IDS = ["comments", "sidebar", "main", "content", "div-gpt-ad-1", "sharing-with-a-single-developer", "n"]
STYLES = ["display:none", "display: none", "DISPLAY:NONE", "visibility:hidden", "color: red", ""]
# Elements: blocks, inline words, the protecting ones, drop tags (the cleaner's DROP_TAGS), foreign ones.
BLOCK_TAGS = ["div", "section", "article", "main", "p", "blockquote", "ul", "li", "h1", "h2", "td", "span"]
INLINE_TAGS = ["a", "em", "span", "b", "font"]
DROP_TAGS = ["svg", "noscript", "iframe", "template", "script", "nav", "aside", "footer", "button", "video"]
FOREIGN_TAGS = ["math", "custom-box"]

LONG = [sentence for language in ("fr", "zh", "ar") for sentence in PROSE[language]]
SHORT = ["Share", "Read more", "Subscribe to read the rest, sign in", "广告", "x", "Related story"]


@st.composite
def attributes(draw: st.DrawFn) -> str:
    """A few of the attributes the judge reads, or none (most elements of a page carry none)."""
    if draw(st.integers(0, 3)) == 0:
        return ""
    parts = []
    if draw(st.booleans()):
        parts.append(f"class='{draw(st.sampled_from(CLASSES + WRAPPER_CLASSES))}'")
    if draw(st.integers(0, 4)) == 0:
        parts.append(f"id='{draw(st.sampled_from(IDS))}'")
    if draw(st.integers(0, 4)) == 0:
        parts.append(f"style='{draw(st.sampled_from(STYLES))}'")
    if draw(st.integers(0, 6)) == 0:
        parts.append("hidden")
    if draw(st.integers(0, 5)) == 0:
        parts.append(f"aria-hidden='{draw(st.sampled_from(['true', 'false']))}'")
    if draw(st.integers(0, 8)) == 0:
        parts.append("data-ad-slot='1'")
    if draw(st.integers(0, 6)) == 0:
        parts.append("itemprop='articleBody'")
    if draw(st.integers(0, 6)) == 0:
        parts.append("data-x='1'")  # judged by nothing
    return " " + " ".join(parts) if parts else ""


@st.composite
def text(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return ""
    if kind <= 2:
        return " ".join(draw(st.lists(st.sampled_from(LONG), min_size=1, max_size=3)))
    if kind == 3:
        return f"<a href='/story/{draw(st.integers(0, 9))}'>{draw(st.sampled_from(SHORT + LONG[:2]))}</a>"
    if kind == 4:
        return "<img src='/i.jpg'>"
    return draw(st.sampled_from(SHORT))


@st.composite
def leaves(draw: st.DrawFn) -> str:
    """What the judge's questions look for: a paragraph of prose (the rest of an article, a wrapper's
    text), a linked headline over a summary (a teaser), a pitch, an embedded post."""
    kind = draw(st.integers(0, 3))
    prose = " ".join(draw(st.lists(st.sampled_from(LONG), min_size=1, max_size=4)))
    if kind == 0:
        return f"<p{draw(attributes())}>{prose}</p>"
    if kind == 1:
        link = f"<a href='/story/{draw(st.integers(0, 9))}'>Another story of the day</a>"
        return f"<h3>{link}</h3><p>{prose}</p>"
    if kind == 2:
        return "<p>Subscribe to read the rest of this story, sign in or sign up today.</p>"
    name = draw(st.sampled_from(["twitter-tweet", "instagram-media", "embed"]))
    return f"<blockquote class='{name}'{draw(attributes())}><p>{prose}</p></blockquote>"


def element(depth: int) -> st.SearchStrategy[str]:
    """An element with a few children, `depth` levels at most."""
    return _element(depth)


@st.composite
def _element(draw: st.DrawFn, depth: int) -> str:
    pool = BLOCK_TAGS + INLINE_TAGS + DROP_TAGS + FOREIGN_TAGS
    tag = draw(st.sampled_from(pool))
    inner = [draw(text())]
    if depth > 0:
        for _ in range(draw(st.integers(0, 3))):
            inner.append(draw(st.one_of(_element(depth - 1), leaves())))
            inner.append(draw(text()))
    open_tag = f"<{tag}{draw(attributes())}>"
    if draw(st.integers(0, 8)) == 0:  # deep nesting of one wrapper
        levels = draw(st.integers(20, 120))
        wrapper = draw(st.sampled_from(["div", "div class='w'", "div class='share'", "section hidden"]))
        close = wrapper.split()[0]
        return f"<{wrapper}>" * levels + f"{open_tag}{''.join(inner)}</{tag}>" + f"</{close}>" * levels
    return f"{open_tag}{''.join(inner)}</{tag}>"


@st.composite
def hostile_pages(draw: st.DrawFn) -> str:
    names = ["", "", "", " class='sidebar'", " style='display:none'", " hidden", " class='story'"]
    body_attributes = draw(st.sampled_from(names))
    parts = [draw(text())]
    for _ in range(draw(st.integers(1, 5))):
        parts.append(draw(element(draw(st.integers(0, 4)))))
        parts.append(draw(text()))
    return f"<html><head><title>T</title></head><body{body_attributes}>{''.join(parts)}</body></html>"


def _stats_fields(stats: TextStats) -> tuple[object, ...]:
    """Every figure of `stats`, by position in page order (two parses number their elements apart)."""
    at = {key: index for index, key in enumerate(stats.keys)}
    figures = (stats.length, stats.clauses, stats.linked, stats.direct_length, stats.direct_clauses)
    return (
        len(stats.keys),
        stats.tags,
        stats.up,
        {at[key]: at[parent] for key, parent in stats.parent_of.items()},
        [{at[key]: value for key, value in figure.items()} for figure in figures],
        [(at[key], node.tag, node.attributes) for key, node in stats.node_of.items()],
    )


def _two_steps(body: LexborNode, protect: str, budget: Budget) -> TextStats:
    drop_junk(body, protect=protect, budget=budget)
    return measure(body, budget)


def _both(page: str) -> tuple[tuple[LexborHTMLParser, LexborNode, TextStats], ...]:
    out = []
    for path in (_two_steps, drop_junk_measured):
        tree = LexborHTMLParser(page)
        body = tree.body
        assert body is not None
        out.append((tree, body, path(body, PROTECT, Budget(60))))
    return tuple(out)


def assert_same_walk(page: str) -> None:
    (apart_tree, apart, expected), (together_tree, together, stats) = _both(page)
    assert together.html == apart.html
    assert together_tree.html == apart_tree.html
    assert _stats_fields(stats) == _stats_fields(expected)


def assert_same_record(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    record = astuple(extract(page, URL))
    with monkeypatch.context() as patched:
        patched.setattr(content, "drop_junk_measured", _two_steps)
        expected = astuple(extract(page, URL))
    assert record == expected


_PROSE = " ".join(PROSE["fr"])
_TWEET = "<blockquote class='twitter-tweet'><p>The tweet the story quotes, in full.</p></blockquote>"
# One page per shape the brief of the change names, each built so the judge's page-wide questions (the
# page's text, its holders, whether it embeds a post) are asked after some junk went.
FIXTURES = {
    "junk in junk in junk": (
        f"<div class='sidebar'><div class='share'><div class='related' hidden><p>{_PROSE}</p></div></div>"
        f"</div><div class='comments'><p>{_PROSE}</p></div><article><p>{_PROSE}</p></article>"
    ),
    "junk and hidden blocks inside the holders": (
        f"<main class='sidebar'><h1 class='share' hidden>Title</h1><article class='related'>"
        f"<div class='share' style='display:none'><p>{_PROSE}</p></div><p>{_PROSE}</p>"
        f"<div itemprop='articleBody' class='comments'><p>{_PROSE}</p><span class='tags'>t</span>"
        "</div></article></main>"
    ),
    "a hidden article after a hidden copy": (
        f"<div style='display:none' class='print'><p>{_PROSE}</p></div>"
        f"<div style='visibility:hidden' id='js_content'><p>{_PROSE}</p><div aria-hidden='true'>i</div>"
        "<div aria-hidden='true'><img src='/a.jpg'></div></div>"
    ),
    "read more holding the rest, then teasers": (
        f"<div class='body'><p>{_PROSE}</p><div class='read-more'><p>{_PROSE}</p><p>{_PROSE}</p>"
        "<div class='paywall'><p>Subscribe to read the rest, sign in.</p></div></div>"
        "<div class='readmore'><h3><a href='/a'>Another story of the day</a></h3><p>short</p></div></div>"
    ),
    "a tweet in a social box after a hidden one": (
        f"<div hidden>{_TWEET}</div><div class='social'><a href='/f'>Follow</a></div>"
        f"<article><p>{_PROSE}</p><div class='social'>{_TWEET}</div></article>"
    ),
    "a junk-named wrapper holding most of the text after a dropped copy": (
        f"<div style='display:none'><p>{_PROSE * 3}</p></div><p class='share'>{_PROSE}</p>"
        f"<div class='post-meta'><p>{_PROSE}</p><p>{_PROSE}</p><div class='share'>s</div></div>"
        "<div class='footer-links'>x</div>"
    ),
    "drop tags nested in each other and in junk": (
        "<noscript><iframe><svg><p>no</p></svg></iframe></noscript><div class='ad'><svg><template><p>t"
        "</p></template></svg><button><video>v</video></button></div><template><div hidden>x</div>"
        f"</template><nav><aside><footer>f</footer></aside></nav><p>{_PROSE}</p>"
    ),
    "deep nesting around the article and the junk": (
        "<div class='w'>" * 300 + f"<div class='share'>{'<div>' * 200}<p>{_PROSE}</p>{'</div>' * 200}"
        f"</div><p>{_PROSE}</p>" + "</div>" * 300
    ),
    "empty elements and text directly in the body": (
        f"{_PROSE}<div class='share'></div><span hidden></span><p></p><div></div><!-- a comment -->"
        f"<div data-ad-slot='1'></div>{_PROSE}<br><br>{_PROSE}"
    ),
}
BODIES = ["<body>", "<body class='sidebar'>", "<body style='display:none'>", "<body hidden>"]


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("inner", list(FIXTURES.values()), ids=list(FIXTURES))
def test_the_one_walk_gives_the_two_steps_tree_figures_and_record(
    inner: str, body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = f"<html><head><title>T</title></head>{body}{inner}</body></html>"
    assert_same_walk(page)
    assert_same_record(page, monkeypatch)


@ONE_WALK_SETTINGS
@given(hostile_pages())
def test_the_one_walk_leaves_the_tree_figures_and_record_of_the_two_steps(page: str) -> None:
    assert_same_walk(page)
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert_same_record(page, monkeypatch)
