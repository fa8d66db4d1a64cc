"""scraper.post_text: the scan of a post body gives exactly what html_to_text gives, or steps aside."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.extract import html_to_text
from scraper.extract.text import BLOCK_TAGS
from scraper.post_reader import read_post
from scraper.post_text import _BLOCKS, _paragraphs_only, _scan, post_body_text

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed-example.md"

WORDS = ["river", "bank", " ", "  ", "\n", "\t", "vote", "a > b", "中文", "x" * 210, "Advertisement"]
TAGS = [
    "p", "div", "section", "ul", "ol", "li", "h2", "h3", "blockquote", "a", "span", "em", "b", "figure",
    "table", "td", "pre", "script", "figcaption", "dl", "dd", "button", "hr", "center",
]  # fmt: skip
PIECES = [
    "<br>", "<br/>", "</br>", "<img src=\"a>b.png\" alt=x>", "<hr>", "&amp;", "&nbsp;", "<!-- c -->", "<",
    "<div/>", "<p class='x' data-y=\"1\">", "</P>", "\r\n", "<wbr>", "</div>", "</p>",
]  # fmt: skip


def random_html(rng: random.Random) -> str:
    """Nested HTML, mostly balanced, with now and then what the scan must refuse."""
    out: list[str] = []
    stack: list[str] = []
    for _ in range(rng.randint(1, 40)):
        roll = rng.random()
        if roll < 0.35:
            out.append(rng.choice(WORDS))
        elif roll < 0.6:
            tag = rng.choice(TAGS)
            out.append(f"<{tag}>")
            stack.append(tag)
        elif roll < 0.85 and stack:
            out.append(f"</{stack.pop()}>")
        else:
            out.append(rng.choice(PIECES))
    while stack and rng.random() < 0.9:
        out.append(f"</{stack.pop()}>")
    return "".join(out)


def test_the_scan_knows_only_blocks_the_text_layout_knows() -> None:
    assert _BLOCKS <= BLOCK_TAGS


@pytest.mark.parametrize("seed", range(20))
def test_the_scan_agrees_with_html_to_text_where_it_answers(seed: int) -> None:
    rng = random.Random(seed)
    answered = 0
    for _ in range(250):
        html = random_html(rng)
        fast = _scan(html)
        if fast is not None:
            answered += 1
            assert fast == html_to_text(html), html
        assert post_body_text(html) == html_to_text(html), html
    assert answered  # the generator gives the scan's class too, not only refusals


@pytest.mark.parametrize(
    "html",
    [
        "<p>one</p><p>two</p>",
        "<p>a<br>b</p><br><br><p>c</p>",
        "<div><p>x <a href='/a?b=1&c=2'>link</a> y</p><ul><li>1</li><li>2<ul><li>3</li></ul></li></ul></div>",
        "<h2>Title</h2><p>Advertisement</p><p>Advertisement</p>",
        "text before <p>and in</p> after",
    ],
)
def test_balanced_post_bodies_take_the_scan(html: str) -> None:
    assert _scan(html) is not None
    assert _scan(html) == html_to_text(html)


@pytest.mark.parametrize(
    "html",
    [
        "<p>a &amp; b</p>",  # an entity
        "<p>a<div>b</div></p>",  # a block inside a <p>: the parser closes the <p>
        "<p>a</div>b</p>",  # a stray end tag: ignored by the parser
        "<b><p>x</b></p>",  # misnested: the parser rearranges
        "<div/>after",  # self-closing a non-void element: it stays open
        "<table><tr><td>a</td></tr></table>",  # tables move text
        "<li>a<span><li>b</li></span></li>",  # the list-item rule closes the first <li>
        "<p>a < b</p>",  # a '<' that is no tag
        "<p>open",  # left open
        "<!-- c --><p>x</p>",
    ],
)
def test_what_the_tree_could_change_goes_to_html_to_text(html: str) -> None:
    assert _scan(html) is None
    assert post_body_text(html) == html_to_text(html)


def test_the_seed_post_takes_the_scan() -> None:
    if not SEED.exists():
        pytest.skip("no seed example beside the repository")
    body = read_post(SEED).body_html
    assert _scan(body) is not None
    assert post_body_text(body) == html_to_text(body)


PARAGRAPH_TEXT = st.lists(
    st.sampled_from(
        ["river", "bank", " ", "\n", "\t", "\xa0", "\x85", "\u2028", "\x1c", "\r", "&", "&amp;", "中文",
         "\ufeff", "x" * 120, "Advertisement", "a > b", "\x00"]
    ),
    max_size=6,
).map("".join)  # fmt: skip
BETWEEN = st.sampled_from(["", " ", "\n", "\n\n", "\t", "\xa0", "\u2028", "\r\n", "x", "<br>", "<p>"])


@settings(max_examples=800)
@given(st.lists(st.tuples(BETWEEN, PARAGRAPH_TEXT), min_size=1, max_size=6), BETWEEN)
def test_a_body_of_bare_paragraphs_reads_as_html_to_text_reads_it(
    paragraphs: list[tuple[str, str]], tail: str
) -> None:
    html = "".join(f"{before}<p>{text}</p>" for before, text in paragraphs) + tail
    if not html.strip():
        return
    fast = _paragraphs_only(html)
    if fast is not None:
        assert fast == _scan(html) == html_to_text(html), html
    assert post_body_text(html) == html_to_text(html), html


def test_bare_paragraphs_take_the_one_expression() -> None:
    html = "<p>one</p>\n<p> two  words </p><p>one</p><p></p>"
    assert _paragraphs_only(html) == "one\n\ntwo words"
    assert _paragraphs_only("<p>one</p>\r\n<p>two</p>") is None  # a CR: the parser's own rules
    assert _paragraphs_only('<p class="x">one</p>') is None  # attributes: the token scan
    for refused in ("&amp;", "\x00", "\ufeff"):  # checked apart from the expression: still refused
        assert _paragraphs_only(f"<p>one</p><p>a {refused} b</p>") is None
