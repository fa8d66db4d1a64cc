"""Style sheets and scripts emptied before the parse: the parser builds the same tree without their text."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from scraper.extract import SiteRule, extract, rawtext
from scraper.extract.rawtext import empty_raw_text, mark, parse_page
from scraper.extract.record import Record

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
    assert _comparable(empty_raw_text(page)[0]) == _comparable(page)


def test_plain_style_sheets_and_scripts_are_emptied() -> None:
    page = b'<head><style type="text/css">p{color:red}</style><script>var a = 1;</script></head>'
    cut = mark()
    expected = f'<head><style type="text/css">{cut}</style><script>{cut}</script></head>'.encode()
    assert empty_raw_text(page) == (expected, 2)


def test_a_page_whose_marks_are_all_in_style_sheets_and_scripts_is_parsed_emptied() -> None:
    page = b"<head><title>T</title><style>p{color:red}</style></head><body><p>x</p><script>a()</script>"
    tree = parse_page(page)
    assert [node.text() for node in tree.css("style, script")] == ["", ""]
    assert tree.css_first("title").text() == "T"


def test_a_page_with_a_mark_anywhere_else_is_parsed_as_it_is() -> None:
    page = b"<head><title><b>a</b> <style>b</style> T</title><style>p{color:red}</style></head>"
    tree = parse_page(page)
    assert tree.css_first("title").text() == "<b>a</b> <style>b</style> T"
    assert tree.css_first("style").text() == "p{color:red}"


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
        assert empty_raw_text(piece.encode()) == (piece.encode(), 0), piece


def test_a_script_is_json_ld_by_its_attributes_in_any_case_plus_or_not() -> None:
    """Attributes with no `+` are not read for `ld+json`; a `+` elsewhere in them changes nothing."""
    cut = mark()
    for attributes in ("", ' src="a+b.js"', " data-x=C++", " type=module"):
        page = f"<script{attributes}>x()</script>".encode()
        assert empty_raw_text(page) == (f"<script{attributes}>{cut}</script>".encode(), 1), attributes
    for attributes in (' type="application/ld+json"', " TYPE=APPLICATION/LD+JSON", " type='Ld+Json' async"):
        page = f'<script{attributes}>{{"a": 1}}</script>'.encode()
        assert empty_raw_text(page) == (page, 0), attributes


def test_a_comment_open_before_a_tag_is_found_by_its_exclamation_mark() -> None:
    cut = mark()
    for before, emptied in (
        ("<p>No comment!</p>", True),  # a `!`, no `<!--`
        ("<p>none</p>", True),  # no `!` at all: no search for a comment
        ("<!-- <p>Open, then more! and more!</p> ", False),  # the `<!--` before the last `!`
        ("<!-- closed! --> <p>then!</p>", True),
        ("<!--", False),  # its `!` three bytes before the tag
    ):
        page = f"{before}<style>s</style>".encode()
        expected = f"{before}<style>{cut}</style>".encode() if emptied else page
        assert empty_raw_text(page) == (expected, int(emptied)), before


def test_a_tag_right_after_a_text_only_start_tag_in_any_case_or_after_another_is_judged_alike() -> None:
    cut = mark()
    for before in (
        "<TITLE>",
        "<Textarea a=b>",
        "<xMp>",
        "<IFRAME>",
        "<noEmbed>",
        "<NOFRAMES>",
        "<PlainText>",
    ):
        page = f"{before}<style>s</style>".encode()
        assert empty_raw_text(page) == (page, 0), before
    for before in ("<TIME>", "<table>", "<Section>", "<P>", "<nav>", "<i>", "<x-title>", "<b>"):
        page = f"{before}<style>s</style>".encode()
        assert empty_raw_text(page) == (f"{before}<style>{cut}</style>".encode(), 1), before


def test_only_a_comment_or_cdata_ending_before_a_gt_in_the_text_leaves_it() -> None:
    cut = mark()
    for text in ("a > b", "a -> b", "a ]> b", "a !> b", "a -!> b", "a->b]>c!>d"):
        page = f"<style>{text}</style>".encode()
        assert empty_raw_text(page) == (f"<style>{cut}</style>".encode(), 1), text
    for text in ("a --> b", "a ]]> b", "a --!> b", "x > y --> z"):
        page = f"<style>{text}</style>".encode()
        assert empty_raw_text(page) == (page, 0), text


# The start tag pattern as it was before its quantifiers were made possessive.
_BACKTRACKING_OPENER = re.compile(
    rb"<(style|script)((?:[\t\n\f\r ]+[a-zA-Z_:][-a-zA-Z0-9_:.]*"
    rb"""(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:"[^"]*"|'[^']*'|[^\t\n\f\r "'=<>`]+))?)*"""
    rb"[\t\n\f\r ]*/?>)?"
)
_TAG_BITS = [
    " ",
    "\t",
    "\n",
    "a",
    "b:",
    "-",
    ".",
    "_",
    "1",
    "=",
    " = ",
    "/",
    '"',
    "'",
    '"x"',
    "'y'",
    "`",
    ">",
    "/>",
    "<",
]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(["<script", "<style"]), st.lists(st.sampled_from(_TAG_BITS), max_size=16))
def test_the_possessive_start_tag_pattern_reads_what_backtracking_reads(name: str, bits: list[str]) -> None:
    tag = (name + "".join(bits)).encode()
    possessive, backtracking = rawtext._OPENER.match(tag), _BACKTRACKING_OPENER.match(tag)
    assert possessive is not None and backtracking is not None
    assert (possessive.span(), possessive.span(2)) == (backtracking.span(), backtracking.span(2))


def test_the_record_is_the_same_with_the_style_sheets_emptied() -> None:
    body = "<p>The council approved the budget on Tuesday, after a debate that lasted the night.</p>" * 3
    page = (
        f"<html><head><title>Budget</title><style>.a{{b:c}}</style>{JSON_LD}</head>"
        f"<body><article><style>p{{x:y}}</style>{body}<script>track()</script></article></body></html>"
    )
    record = extract(page, "https://news.example/a")
    assert "council approved" in record.text
    assert "{" not in record.text and "track" not in record.text and "<style" not in record.html


ARTICLE = "<p>The council approved the budget on Tuesday, after a debate that lasted all night.</p>"
# Hostile pieces: where a `<style`/`<script` is text of something else, or where the parser reads bytes
# in a way the pre-pass does not follow. Each must give the same record with and without the pre-pass.
HOSTILE = {
    "markup before a style in a textarea": "<textarea>code <b>x</b> <style>css</style> done</textarea>",
    "markup before a style in an iframe": "<iframe><b>x</b> <style>b</style> iframe text</iframe>",
    "an iframe in a script's string": "<script>w('<iframe>')</script><title>T</title><style>b</style>",
    "a style in a noscript": "<noscript><p>Enable JS <style>n</style> please and read this.</p></noscript>",
    "scripts and styles in an svg": "<svg><script>a</script><style>s</style><text>svg text</text></svg>",
    "a script in an iframe's srcdoc": "<iframe srcdoc='<p>x</p><script>a</script>'></iframe>",
    "a template script": "<script type=text/template>Article template text without markup</script>",
    "CDATA": "<svg><style><![CDATA[ a ]]></style></svg><script>//<![CDATA[\nx\n//]]></script>",
    "an end tag in a JS string": '<script>var s = "</script>"; more()</script>',
    "a capitals JSON-LD": JSON_LD.replace("script", "SCRIPT"),
    "a style in an attribute": "<p data-x='1 > 0 <style>s</style>'>x</p>",
}
# A tag that is text of something else, after markup-like text or a `>` the scan cannot see past:
# the scan cuts it, the check finds the mark out of place and the page's own bytes are parsed.
TEXT_OF_SOMETHING_ELSE = {
    "markup before a style in a title": "<title><b>a</b> <style>b</style> Title</title>",
    "markup before a style in a plaintext": "<plaintext>plain <p>x <style>css</style> the end",
    "markup before a style in an xmp": "<xmp>code <b>x</b> <style>css</style> done</xmp>",
    "markup before a style in a noembed": "<noembed><b>x</b> <style>b</style> noembed text</noembed>",
    "markup before a style in noframes": "<noframes><p>n <style>b</style></noframes>",
    "an uppercase title": "<TITLE><b>a</b> <style>b</style> Title</TITLE>",
    "a style in a meta content after a `>`": "<meta name=description content='a > <style>b</style> c'>",
    "a script in an og:title after a `>`": "<meta property='og:title' content='x > <script>y</script> z'>",
    "a style in an alt after a `>`": '<img alt="1 > 0 <style>p</style>" src="i.png">',
    "a tag in a tag after a quoted `>`": '<p b=">" <style>text of the paragraph</style>',
    "a style in svg's CDATA": "<svg><![CDATA[ <b>x</b> <style>y</style> ]]></svg>",
    "CDATA ended in a style's text": "<svg><style><![CDATA[ <b> <style>a ]]> b</style></style></svg>",
    "a style in a JSON-LD opened in capitals": JSON_LD.replace("script", "SCRIPT"),
    "a style in a comment far from its start": "<!--" + "<p>commented out</p>" * 40 + "<style>x</style> -->",
    "a style in a textarea after markup": "<textarea><b>x</b> <style>css</style> done</textarea>",
    "a script in a select's option": "<select><option label='a > <script>b</script>'>c</option></select>",
}


@pytest.mark.parametrize("piece", list(TEXT_OF_SOMETHING_ELSE.values()), ids=list(TEXT_OF_SOMETHING_ELSE))
def test_a_tag_that_is_text_of_something_else_is_not_cut(piece: str) -> None:
    for page in (_page([piece]), _page([], head=piece)):
        with_pass, without = _records(page)
        assert with_pass == without


def _records(page: bytes, rule: SiteRule | None = None) -> tuple[Record, Record]:
    """The record of `page` with the pre-pass, and without it."""
    with_pass = extract(page, "https://news.example/a", rule)
    with mock.patch.object(rawtext, "empty_raw_text", lambda data, budget=None: (data, 0)):
        without = extract(page, "https://news.example/a", rule)
    return with_pass, without


def _page(pieces: list[str], head: str = "") -> bytes:
    body = "".join(pieces)
    return (
        f"<html><head>{head}<style>a{{b:c}}</style></head>"
        f"<body><article>{ARTICLE * 3}{body}</article></body></html>"
    ).encode()


@pytest.mark.parametrize("piece", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_hostile_piece_gives_the_same_record_with_and_without_the_pre_pass(piece: str) -> None:
    for page in (_page([piece]), _page([], head=piece)):
        with_pass, without = _records(page)
        assert with_pass == without


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PIECES + list(HOSTILE.values())), max_size=8), st.booleans())
def test_the_record_is_the_same_with_and_without_the_pre_pass(pieces: list[str], in_head: bool) -> None:
    page = _page([], head="".join(pieces)) if in_head else _page(pieces)
    with_pass, without = _records(page)
    assert with_pass == without


def test_bytes_the_page_arrives_in_give_the_same_record() -> None:
    text = _page(["<style>x</style>"]).decode()
    for page in (
        b"\xef\xbb\xbf" + text.encode(),
        text.encode("utf-16"),
        text.encode() + b"<style>\xff\xfe</style>",
    ):
        with_pass, without = _records(page)
        assert with_pass == without


# Pieces of every context a `<style`/`<script` tag may be text in (per the HTML standard: RCDATA,
# RAWTEXT, script data and its escapes, PLAINTEXT, comments, CDATA in svg/math, attribute values
# quoted or not, a tag left open), opened and closed apart so that hypothesis nests them.
CONTEXTS = [
    "<title>", "</title>", "<TITLE>", "</TiTlE >", "<textarea>", "</textarea>", "<xmp>", "</xmp>",
    "<iframe>", "</iframe>", "<noembed>", "</noembed>", "<noframes>", "</noframes>", "<noscript>",
    "</noscript>", "<plaintext>", "<svg>", "</svg>", "<math>", "</math>", "<![CDATA[", "]]>", "<!--",
    "-->", "--!>", "<!-->", "<select>", "<template>", "</template>", "<table>", "<frameset>",
    "<p title='a > ", '<p title="a > ', "'>", '">', '<p b=">" ', "<p a=x", ">", "<!x ", "<? ",
    "<script><!--", "<script><!-- <script>", "<b>x</b>", " words ", "<style>css{}</style>",
    "<script>js()</script>", "<style>a</style ", "<style>a</style/>", "<script>a</script", "<script>a",
    "<SCRIPT>a</SCRIPT>", "<Style>s</sTyle>", "<style media=print>m</style>", "<style>a --> b</style>",
    "<style>a ]]> b</style>", "<script>a<b</script>", '<script>"<style>s</style>"</script>',
    '<script type=application/ld+json>{"a": "<p>b</p><style>c</style>"}</script>',
    '<SCRIPT type=application/ld+json>{"articleBody": "<p>b</p> <style>c</style> body"}</SCRIPT>',
]  # fmt: skip


def _sheets_emptied(tree: LexborHTMLParser) -> str:
    """`tree` serialized without the texts of its style sheets and non-JSON-LD scripts."""
    for node in tree.css("style, script"):
        if node.attributes.get("type") != "application/ld+json":
            for child in list(node.iter(include_text=True)):
                child.decompose()
    return tree.html or ""


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(CONTEXTS), max_size=10), st.booleans())
def test_the_tree_is_the_pages_but_for_the_emptied_texts(pieces: list[str], in_head: bool) -> None:
    page = _page([], head="".join(pieces)) if in_head else _page(pieces)
    assert _sheets_emptied(parse_page(page)) == _sheets_emptied(LexborHTMLParser(page))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(CONTEXTS), max_size=10), st.booleans())
def test_any_nesting_of_contexts_gives_the_same_record(pieces: list[str], in_head: bool) -> None:
    page = _page([], head="".join(pieces)) if in_head else _page(pieces)
    with_pass, without = _records(page)
    assert with_pass == without


# Metadata reads the text of an h1 or an svg title without the style sheets in it (they are emptied).
@pytest.mark.parametrize("piece", ["<h1>Budget<style>p{}</style></h1>", "<svg><title>T<style>p{}</style>"])
def test_a_style_sheet_in_an_element_metadata_reads_gives_the_same_record(piece: str) -> None:
    with_pass, without = _records(_page([], head=piece))
    assert with_pass == without


def test_a_site_rules_elements_are_read_without_the_style_sheets_and_scripts_in_them() -> None:
    rule = SiteRule(name="site", title=("h2",), author=(".who",), published=(".when",))
    piece = (
        "<h2>Budget<style>h2{}</style> talks</h2><p class=who>Jane<script>track()</script> Doe</p>"
        '<span class=when><script>built = "2019-01-01"</script>2021-09-29</span>'
    )
    with_pass, without = _records(_page([piece]), rule)
    assert with_pass == without
    assert (without.title, without.author, str(without.published)) == (
        "Budget talks",
        "Jane Doe",
        "2021-09-29 00:00:00+00:00",
    )


# Pieces of pages where the parser's mutation events build something: selects, their options and a
# `<selectedcontent>` copying the selected one, inside and outside a select, beside the article's text.
_EVENT_PIECES = [
    "<select>",
    "</select>",
    "<select><button><selectedcontent></selectedcontent></button>",
    "<option>a choice</option>",
    "<option selected>the chosen one, with a clause.</option>",
    "<optgroup label=g>",
    "<selectedcontent>",
    "</selectedcontent>",
    "<h1>Headline of the story</h1>",
    "<p>A paragraph of the article, long enough to be read as prose, with clauses, and more words.</p>",
    '<div class="content" style="color: red">',
    "</div>",
    "<p>",
    "<datalist><option>d</option></datalist>",
    "<input list=d>",
]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(_EVENT_PIECES), max_size=14))
def test_the_record_is_the_same_with_the_parsers_mutation_events(pieces: list[str]) -> None:
    page = f"<html><head><title>T</title></head><body>{''.join(pieces)}</body></html>".encode()
    rule = SiteRule("test", body=("div.content",))
    for used in (None, rule):
        without = extract(page, "https://news.example/a", used)
        with mock.patch.object(rawtext, "PARSER_OPTIONS", 0):
            evented = extract(page, "https://news.example/a", used)
        assert without == evented
