"""The conditional cleaning's figures packed in one integer per position, and its stub look that skips a
wrapper's text when a block below with all of it was read, against a plain reference (below): figures
kept by field in an object per block, every asked block's text read. And the paragraphs' scoring read by
position against one read by key.

Both cleanings must leave the same tree and hand `_judge` the same figures for every block, on pages at
the fields' bounds (a field holding exactly its width's largest value, beside every other field at its
own) and on drawn pages of stubs, pitches, cookie notices and plain lines in nested inline wrappers, with
white space of every kind, comments and empty elements around them.
"""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser, LexborNode

import scraper.extract.content as content
from scraper.extract.budget import Budget
from scraper.extract.clean import drop_junk_measured
from scraper.extract.hints import class_weight
from scraper.extract.measure import TextStats, subtree_range

FIELDS = (
    "length", "clauses", "linked", "lines", "links", "paragraphs", "images", "items", "inputs", "embeds",
    "figures",
)  # fmt: skip
_COUNTED = {
    "p": "paragraphs",
    "img": "images",
    "li": "items",
    **dict.fromkeys(("input", "select", "textarea", "button"), "inputs"),
    **dict.fromkeys(("iframe", "embed", "object", "video"), "embeds"),
    **dict.fromkeys(("figure", "figcaption"), "figures"),
}
Figures = tuple[str, tuple[int, ...]]


def _reference_clean(root: LexborNode, stats: TextStats, seen: list[Figures]) -> None:
    """The cleaning as it was before the packing: an object of figures per block, summed by key."""
    keys, tags, up = stats.keys, stats.tags, stats.up
    counts: dict[int, Any] = {}
    doomed: list[LexborNode] = []
    notices: list[LexborNode] = []
    for index in reversed(subtree_range(stats, root.mem_id)[1:]):
        key, tag, node = keys[index], tags[index] or "", stats.nodes[index]
        mine = counts.pop(key, None) or content._Counts()
        length = stats.own_length[index]
        if length:
            mine.length += length
            mine.clauses += stats.own_clauses[index]
            if length >= content.PROSE_LINE_CHARS and tag in content.TEXT_WRAPPER_TAGS:
                mine.lines += length
        if tag == "a":
            mine.linked = mine.length
            mine.links += 1
        elif tag in _COUNTED:
            setattr(mine, _COUNTED[tag], getattr(mine, _COUNTED[tag]) + 1)
        if tag in content._RULED_TAGS:
            seen.append((tag, tuple(getattr(mine, name) for name in FIELDS)))
        if tag in content._JUDGED_TAGS and content._looks_like_furniture(node, mine):
            node.remove(recursive=False)
            continue
        if _doomed_by_links(node, tag, mine):
            doomed.append(node)
        elif tag in content._STUB_TAGS:
            kind = content.stub_kind(node, mine.length)  # every asked block's text read
            if kind == content.STUB:
                doomed.append(node)
            elif kind == content.CONSENT:
                notices.append(node)
        parent = keys[up[index]]
        if parent in counts:
            for name in FIELDS:
                setattr(counts[parent], name, getattr(counts[parent], name) + getattr(mine, name))
        else:
            counts[parent] = mine
    content._drop_doomed(root, doomed, notices)


def _doomed_by_links(node: LexborNode, tag: str, mine: Any) -> bool:
    """A paragraph of links, a heading of links or named like furniture (no site known)."""
    density = mine.density()
    if tag == "p":
        return bool(
            mine.links
            and ((mine.length < 200 and density > 0.6) or (mine.links > 1 and density > 0.8))
            and not content.shows_address(node, None)
            and not content.names_source(node, None)
        )
    return tag in content._HEADINGS and (
        class_weight(node) < 0 or (density > 0.33 and not content.heads_a_part(node, None))
    )


def _reference_scores(stats: TextStats) -> dict[int, float]:
    """The paragraphs' points by key (the dicts measure builds on demand), discounted by link density."""
    scores: dict[int, float] = {}
    parent_of, node_of, length_of, clauses_of = stats.parent_of, stats.node_of, stats.length, stats.clauses
    own_length, own_clauses = stats.direct_length, stats.direct_clauses
    for key, tag in zip(stats.keys, stats.tags, strict=True):
        if tag in content.PARAGRAPH_TAGS:
            length, clauses, ancestor = length_of.get(key, 0), clauses_of.get(key, 0), parent_of.get(key)
        elif tag in content.TEXT_WRAPPER_TAGS:
            length, clauses, ancestor = own_length.get(key, 0), own_clauses.get(key, 0), key
        else:
            continue
        if length < content.MIN_PARAGRAPH_CHARS:
            continue
        points = 1 + clauses + min(length // 100, 3)
        for share in (1, 2, 6):
            if ancestor is None:
                break
            if ancestor not in scores:
                scores[ancestor] = content._initial_score(node_of[ancestor])
            scores[ancestor] += points / share
            ancestor = parent_of.get(ancestor)
    return {key: score * (1 - stats.link_density(node_of[key])) for key, score in scores.items()}


def _measured(html: str) -> tuple[LexborHTMLParser, LexborNode, TextStats]:
    tree = LexborHTMLParser(html)
    body = tree.body
    assert body is not None
    return tree, body, drop_junk_measured(body, "h1, article, main", Budget(60))


def _packed(html: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[Figures]]:
    """The page's tree after the cleaning of its whole body, and the figures `_judge` was given."""
    tree, body, stats = _measured(html)
    scores = {key: candidate.score for key, candidate in content._score_paragraphs(stats).items()}
    assert scores == _reference_scores(stats)
    seen: list[Figures] = []
    judge = content._judge

    def recorded(node: LexborNode, tag: str, held: int, width: int, *rest: Any) -> int:
        counts = content._Counts(held, width)
        seen.append((tag, tuple(getattr(counts, name) for name in FIELDS)))
        return judge(node, tag, held, width, *rest)

    with monkeypatch.context() as patch:
        patch.setattr(content, "_judge", recorded)
        content.clean_conditionally(body, stats, Budget(60))
    return tree.html or "", seen


def _both(html: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The packed cleaning against the reference, on two parses of the page."""
    tree, body, stats = _measured(html)
    seen: list[Figures] = []
    _reference_clean(body, stats, seen)
    assert _packed(html, monkeypatch) == (tree.html or "", seen)


PROSE = "The council voted on Tuesday, after a long debate, to approve the budget. "
ARTICLE = "<article><h1>Title</h1>" + f"<p>{PROSE * 4}</p>" * 3 + "</article>"


def _bound_pages(bits: int) -> list[str]:
    """Pages whose blocks hold a field at exactly its width's largest value (width: the bits of the
    root's text length or element count, whichever is larger), the text fields all at once."""
    top = (1 << bits) - 1
    return [
        # length, clause marks, link text and prose lines all equal to the text's whole length
        f"<body><div><a href='/x'><span>{',' * top}</span></a></div></body>",
        f"<body><div><a href='/x'><span>{'，' * top}</span></a></div></body>",
        # one kind of element counted as often as the body holds elements (the body and a wrapper aside)
        "<body><ul>" + "<li></li>" * (top - 2) + "</ul></body>",
        "<body><div>" + "<a href='/x'></a>" * (top - 2) + "</div></body>",
        "<body><div>" + "<img src='/i'>" * (top - 2) + "</div></body>",
        "<body><div>" + "<input>" * (top - 2) + "</div></body>",
        "<body><div>" + "<object></object>" * (top - 2) + "</div></body>",
        "<body><div>" + "<figure></figure>" * (top - 2) + "</div></body>",
        "<body><div>" + "<p></p>" * (top - 2) + "</div></body>",
        # a field one past the bound of a narrower root: the article widens the body's fields
        f"<body><div>{'<li>a</li>' * top}</div>{ARTICLE}</body>",
    ]


@pytest.mark.parametrize("bits", [2, 3, 7, 11])
def test_the_packed_figures_at_their_fields_bounds_are_the_references(
    bits: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    for html in _bound_pages(bits):
        _both(html, monkeypatch)


WHITE = [
    " ", "\n", "\t", "\u00a0", "\u3000", "\u2009", "\x0b", "\x0c", "\u200b", "\x85", "\r\n", "&nbsp;", "",
]  # fmt: skip
LINES = [
    "Read more", "Continue reading", "Subscribe to read", "阅读全文", "続きを読む", "더 보기", "la suite",
    "»", "Read more »", "We use cookies to improve your experience. Accept",
    "Sign up for our newsletter in your inbox", "Cookie cutter recipe", "Share", "Enable JavaScript",
    "Photo: AP", PROSE, PROSE * 3,
    "市议会周二投票，经过长时间辩论，批准了预算。",
]  # fmt: skip
BESIDE = [
    "", "<!--Read more-->", "<br>", "<img src='/i.jpg'>", "<span></span>", "<span> </span>", "<i>\u00a0</i>",
    "<span>\u200b</span>", "<input>", "<a href='/y'></a>", "<math>Read more</math>", "<wbr>",
]  # fmt: skip
WRAPPERS = [
    "div", "span", "p", "li", "strong", "b", "em", "a href='/x'", "section", "td", "h3", "ul", "figure",
    "form", "div class='share'", "p class='related'",
]  # fmt: skip


@st.composite
def _block(draw: st.DrawFn, depth: int) -> str:
    kind = draw(st.integers(0, 5 if depth else 2))
    white = st.sampled_from(WHITE)
    if kind == 0:
        return draw(white) + draw(st.sampled_from(LINES)) + draw(white)
    if kind == 1:
        return draw(st.sampled_from(BESIDE))
    if kind == 2:
        return f"<a href='/story/{draw(st.integers(0, 3))}'>{draw(st.sampled_from(LINES))}</a>"
    wrapper = draw(st.sampled_from(WRAPPERS))
    children = [draw(_block(depth - 1)) for _ in range(draw(st.integers(1, 3)))]
    return f"<{wrapper}>{draw(white).join(children)}</{wrapper.split()[0]}>"


@st.composite
def _pages(draw: st.DrawFn) -> str:
    blocks = [draw(_block(4)) for _ in range(draw(st.integers(1, 4)))]
    blocks.insert(draw(st.integers(0, len(blocks))), ARTICLE)
    return "<html><body>" + "".join(blocks) + "</body></html>"


@settings(max_examples=250, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(_pages())
def test_the_packed_cleaning_and_its_skipped_text_reads_leave_the_references_tree(html: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _both(html, monkeypatch)


def test_a_wrapper_whose_only_text_is_a_plain_blocks_is_judged_as_that_block() -> None:
    # the skip's premise: a wrapper holding nothing else than white space (of any kind Python strips)
    # beside a block reads as that block's text, stripped
    for white in (white for white in WHITE if not unescape(white).strip()):
        line = f"<span>{white}Read more »{white}</span>"
        html = f"<body><div>{white}<i>{white}</i>{line}{white}<br></div></body>"
        body = LexborHTMLParser(html).body
        assert body is not None
        wrapper, line = body.css_first("div"), body.css_first("span")
        assert wrapper is not None and line is not None
        assert (wrapper.text() or "").strip() == (line.text() or "").strip()
