"""Style sheets and scripts emptied before the parse: the parser builds the same tree without their text."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from scraper.extract import extract
from scraper.extract.rawtext import empty_raw_text

JSON_LD = '<script type="application/ld+json">{"articleBody": "<p>a</p><style>c{}</style>"}</script>'
# Pieces of pages: the plain cases, and each way a tag that looks like one may be something else.
PIECES = [
    "<style>p { color: red }</style>",
    '<style media="print" id=s1>a > b { x: 1 } --v: 2</style>',
    "<STYLE>upper</STYLE>",
    "<style>a</STYLE >",
    "<style/>",
    "<style>a</styles>b</style>",
    "<style>x < y</style>",
    "<style>x --> y</style>",
    "<style>x --!> y</style>",
    "<script>var a = 1;</script>",
    "<script src='x.js' async></script>",
    "<script>if (a < b) {}</script>",
    '<script>document.write("<style>w</style>")</script>',
    JSON_LD,
    '<p title="<style>q</style>">t</p>',
    "<style title='a'b='c'>g</style>",
    "<!-- c -->",
    "<!-- <style>x --> y</style>",
    "<!-- <b>b</b> <style>x --> y</style>",
    "<!-- <b>b</b> <style>x --!> y</style>",
    "<!-- <p>p</p> <style>x</style> -->",
    "<!--",
    "-->",
    "<title>Using <style>b</style></title>",
    "<textarea><style>b</style></textarea>",
    "<xmp><style>b</style></xmp>",
    "<div>",
    "</div>",
    "<p>text, more text.</p>",
    "<svg><style>s{}</style></svg>",
    "<table><style>t</style><tr><td>c</td></tr></table>",
    "<select><style>o</style></select>",
    "<noscript><style>n</style></noscript>",
    "<head>",
    "<body>",
    "<style>",
    "</style>",
    "<script>",
    "</script>",
    "<style a=b",
    "<",
]

_COMMENT = re.compile(r"<!--.*?-->", re.S)


def _comparable(html: bytes) -> str:
    """The parsed page without the text of its non-JSON-LD scripts and style sheets, and without
    comments: what emptying them may change."""
    tree = LexborHTMLParser(html)
    for node in tree.css("style, script"):
        if node.attributes.get("type") == "application/ld+json":
            continue
        for child in list(node.iter(include_text=True)):
            child.decompose()
    return _COMMENT.sub("", tree.html or "")  # a serialized comment never holds "-->"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12))
def test_the_parser_builds_the_same_tree_from_the_emptied_page(pieces: list[str]) -> None:
    page = "".join(pieces).encode()
    assert _comparable(empty_raw_text(page)) == _comparable(page)


def test_plain_style_sheets_and_scripts_are_emptied() -> None:
    page = b'<head><style type="text/css">p{color:red}</style><script>var a = 1;</script></head>'
    assert empty_raw_text(page) == b'<head><style type="text/css"></style><script></script></head>'


def test_what_may_be_text_of_something_else_is_left_as_it_is() -> None:
    for piece in (
        JSON_LD,
        '<p title="<style>q</style>">t</p>',
        "<!-- <style>x --> y</style>",
        "<!-- <b>b</b> <style>x --!> y</style>",
        "<title>Using <style>b</style></title>",
        "<style>x < y</style>",
        "<style>a</styles>b",
        "<STYLE>upper</STYLE>",
        "<style title='a'b='c'>g</style>",
    ):
        assert empty_raw_text(piece.encode()) == piece.encode(), piece


def test_the_record_is_the_same_with_the_style_sheets_emptied() -> None:
    body = "<p>The council approved the budget on Tuesday, after a debate that lasted the night.</p>" * 3
    page = (
        f"<html><head><title>Budget</title><style>.a{{b:c}}</style>{JSON_LD}</head>"
        f"<body><article><style>p{{x:y}}</style>{body}<script>track()</script></article></body></html>"
    )
    record = extract(page, "https://news.example/a")
    assert "council approved" in record.text
    assert "{" not in record.text and "track" not in record.text and "<style" not in record.html
