"""The byline search's one walk answers as a walk of the body per selector did (the code before it, as a
reference here), on bodies of hostile attribute values: words in any case, white space of every kind
between them, svg and MathML elements (whose `rel` is compared as written), nested author items, the
page or its body as the author item."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from scraper.extract.metadata import (
    _BYLINE_ELEMENTS,
    _WORD,
    BYLINE_MAX_CHARS,
    _byline_in_body,
    _clean,
    element_text,
    without_by,
)

# The five selectors' union, as the reference's first test of the body.
_ANY_OF_THEM = ", ".join(('[itemprop~="author"]', *_BYLINE_ELEMENTS[2:]))


def _byline_by_selectors(tree: LexborHTMLParser) -> str | None:
    """The first good element of the first selector that has one, each selector a walk of the body."""
    body = tree.body
    if body is None or body.css_first(_ANY_OF_THEM) is None:
        return None
    for selector in _BYLINE_ELEMENTS:
        for node in body.css(selector):
            text = _clean(element_text(node))
            if text and len(text) < BYLINE_MAX_CHARS and _WORD.search(text):
                return without_by(text)
    return None


_VALUES = [
    *("author", "AUTHOR", "Author", "name", "NAME", "byline", "Byline", "xbylinex", "a byline b"),
    *("author-name", "AuthorName", "authorname", "article-author", "comment-author", "authorx"),
    *("x author", "author\fx", "x\rauthor", "x&#13;author", "x&#11;author", "x\u00a0author"),
    *("author name", "name author", " author ", "author\u212a", ""),
]
_ATTRIBUTES = ["itemprop", "rel", "class", "id", "REL", "ITEMPROP"]
_TEXTS = ["Jane Roe", "By Ann Lee", "", "  ", "x" * BYLINE_MAX_CHARS, "123", "Bob\u00a0Ray"]
_TAGS = ["div", "span", "a", "svg", "math", "foreignObject", "text", "mi", "template"]

_attributes = st.lists(st.tuples(st.sampled_from(_ATTRIBUTES), st.sampled_from(_VALUES)), max_size=3).map(
    lambda pairs: "".join(f' {name}="{value}"' for name, value in pairs)
)


def _element(children: st.SearchStrategy[list[str]]) -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(_TAGS), _attributes, st.sampled_from(_TEXTS), children).map(
        lambda parts: f"<{parts[0]}{parts[1]}>{parts[2]}{''.join(parts[3])}</{parts[0]}>"
    )


_trees = st.recursive(
    st.sampled_from(_TEXTS), lambda inner: _element(st.lists(inner, max_size=4)), max_leaves=20
)
_pages = st.tuples(st.booleans(), _attributes, _attributes, st.lists(_trees, max_size=5)).map(
    lambda parts: (
        ("<!doctype html>" if parts[0] else "")
        + f"<html{parts[1]}><head></head><body{parts[2]}>{''.join(parts[3])}</body></html>"
    )
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_pages)
# the differences this test found: "comment-author" made an author page's names the byline; an svg
# element's `rel="AUTHOR"` was ranked as an author link
@example('<html itemprop="author"><body><b itemprop="name">Jane Roe</b><i class="comment-author">x</i>')
@example('<p class="byline">Bob Ray</p><svg><a rel="AUTHOR" class="author">Jane Roe</a></svg>')
def test_the_one_walk_finds_the_byline_the_selectors_found(page: str) -> None:
    assert _byline_in_body(LexborHTMLParser(page)) == _byline_by_selectors(LexborHTMLParser(page))


def test_white_space_other_than_the_space_is_never_printable() -> None:
    # what `tidy_spaces` keeps a line as it is on: in this Python's character database, every character
    # `str.split` splits on but the space is unprintable, so a printable line holds no other white space
    assert all(
        not chr(code).isprintable() for code in range(0x110000) if chr(code).isspace() and code != 0x20
    )
