"""Counters against the article's own figures: a number beside a counter word inside a sentence of the
article ("read 3 times", "shared by 3 heirs", "Shares: 1.5 million sold at the offering") is the text, and a
changed figure there is an edit; the same shapes alone in a short element ("1,234 views", "评论 (12)",
"Shares: 40") are counters, and their moving is not. The page fingerprint (revisit_digest) masks a subset
of what the text comparison (revisions) leaves out, so its "unchanged" never hides a change of the text."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scraper.extract.text import html_to_text
from scraper.revisions import Snapshot, is_real_edit, normalise_text
from scraper.revisit_digest import hinted_digest, page_digest, split, stable_digest, stable_fingerprint

EDITS = [
    ("The bill was read 3 times in parliament.", "The bill was read 30 times in parliament."),
    ("The estate was shared by 3 heirs in 2020.", "The estate was shared by 4 heirs in 2020."),
    ("Shares: 1.5 million sold at the offering.", "Shares: 2.5 million sold at the offering."),
    (
        "The ministry said deaths rose to 40 comments aside.",
        "The ministry said deaths rose to 400 comments aside.",
    ),
    ("It was read 3 times.", "It was read 4 times."),  # short, but a sentence
    ("据统计，该视频已有3000人阅读过原文，引发讨论。", "据统计，该视频已有5000人阅读过原文，引发讨论。"),
    ("这份报告被阅读 3 次后才获得议会通过。", "这份报告被阅读 30 次后才获得议会通过。"),
    ("专家评论 (12) 篇，多数支持该计划。", "专家评论 (15) 篇，多数支持该计划。"),
    (
        "新规已被 shared by 3 部门, and the board read it.",
        "新规已被 shared by 4 部门, and the board read it.",
    ),
    ("Views: 12 of the 40 delegates backed the motion", "Views: 15 of the 40 delegates backed the motion"),
]  # fmt: skip

COUNTER_MOVES = [
    ("1,234 views", "1,240 views"),
    ("Shares: 40", "Shares: 41"),
    ("评论 (12)", "评论 (15)"),
    ("阅读 1,234", "阅读 2,001"),
    ("3000人阅读", "3100人阅读"),
    ("点赞 12 · 分享 3", "点赞 15 · 分享 4"),
    ("阅读量：1,204 | 12 comments", "阅读量：1,377 | 19 comments"),
    ("Posted 3 hours ago · 1,234 views · 评论 (12)", "Posted 4 hours ago · 1,300 views · 评论 (13)"),
    (
        "By <a href='/j'>Jane Doe</a> · <span>1.2k</span> reads",
        "By <a href='/j'>Jane Doe</a> · <span>1.3k</span> reads",
    ),
    ("Read by 1,204 people. 12 comments", "Read by 1,877 people. 15 comments"),
]  # fmt: skip

ARTICLE = [
    "The council voted on Tuesday to close the old river bridge for repairs that engineers say are overdue.",
    "市议会周二投票决定关闭旧桥进行维修，居民表示绕行将使通勤时间增加二十分钟。",
]


def _page(meta: str, sentence: str = "The bill was read 3 times in parliament.") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in [ARTICLE[0], sentence, ARTICLE[1]])
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Bridge</title></head><body><article>"
        f"<h1>Bridge</h1><div class='meta'>{meta}</div>{body}</article></body></html>"
    ).encode()


def _text(page: bytes) -> str:
    return html_to_text(page.decode())


@pytest.mark.parametrize(("before", "after"), EDITS)
def test_changed_figure_in_article_text_is_an_edit(before: str, after: str) -> None:
    assert normalise_text(before) != normalise_text(after)
    assert is_real_edit(Snapshot("T", f"{ARTICLE[0]}\n\n{before}"), Snapshot("T", f"{ARTICLE[0]}\n\n{after}"))


@pytest.mark.parametrize(("before", "after"), EDITS)
def test_changed_figure_in_article_page_changes_the_fingerprint(before: str, after: str) -> None:
    old, new = _page("1,204 views", before), _page("1,515 views", after)  # the counter moved as well
    assert stable_digest(old) != stable_digest(new)
    assert is_real_edit(Snapshot("T", _text(old)), Snapshot("T", _text(new)))


@pytest.mark.parametrize(("before", "after"), COUNTER_MOVES)
def test_a_counter_element_moving_is_no_edit_and_keeps_the_fingerprint(before: str, after: str) -> None:
    old, new = _page(before), _page(after)
    assert page_digest(old) != page_digest(new)
    assert stable_digest(old) == stable_digest(new)
    assert not is_real_edit(Snapshot("T", _text(old)), Snapshot("T", _text(new)))


@pytest.mark.parametrize(("before", "after"), COUNTER_MOVES)
def test_the_hints_find_the_moved_counters_without_a_search(before: str, after: str) -> None:
    """The fingerprint read at the last page's hinted lines only is the last page's; a paragraph added
    before them moves the lines, and the hints no longer hold (the page is searched, and compared)."""
    old, new = _page(before), _page(after)
    stable, hints = stable_fingerprint(old)
    _, _, places = split(page_digest(old) + stable + hints)
    assert places and hinted_digest(new, places) == stable
    moved = new.replace(b"<article>", b"<article><p>A correction was added.</p>")
    assert hinted_digest(moved, places) in (None, stable_digest(moved))
    assert hinted_digest(moved, places) != stable


@pytest.mark.parametrize(("before", "after"), COUNTER_MOVES)
def test_a_counter_element_as_a_line_of_text_is_no_edit(before: str, after: str) -> None:
    text = "\n\n".join(ARTICLE)
    old, new = html_to_text(before), html_to_text(after)
    assert not is_real_edit(Snapshot("T", f"{old}\n\n{text}"), Snapshot("T", f"{new}\n\n{text}"))
    assert is_real_edit(Snapshot("T", f"{old}\n\n{text}"), Snapshot("T", f"{new}\n\n{text[1:]}"))


# --- the fingerprint masks a subset of what the comparison leaves out ----------------------------------

PIECES = [
    "{n} views", "views: {n}", "评论 ({n})", "阅读 {n} 次", "{n}人点赞", "{n} hours ago",
    "updated 10:{n:02d}", "read by {n} people", "Shares: {n}", "{n}k likes", "page {n}", "{n}", " · ", " | ",
    "By Jane", "council",
    "The bill was read {n} times in parliament.", "It was read {n} times.", "共有{n}位专家评论了这份报告。",
    "。", ". ", " ", "residents said", "1,{n}00 readers",
]  # fmt: skip
WRAPS = [
    "{}",
    "<span>{}</span>",
    "<b>{}</b>",
    "<a href='/x'>{}</a>",
    "<br>{}",
    "{}&nbsp;",
    "<i></i>{}",
    "<em>{}",
]
BLOCKS = ["p", "div", "li", "h2", "td", "span"]
NUMBERS = [1, 3, 12]

piece = st.tuples(
    st.sampled_from(PIECES), st.sampled_from(WRAPS), st.sampled_from(NUMBERS), st.sampled_from(NUMBERS)
)
block = st.tuples(st.sampled_from(BLOCKS), st.lists(piece, min_size=1, max_size=6))
pages = st.lists(block, min_size=1, max_size=4)


Blocks = list[tuple[str, list[tuple[str, str, int, int]]]]


def _blocks(blocks: Blocks, side: int) -> list[str]:
    return [
        f"<{tag}>"
        + "".join(wrap.format(text.format(n=pair[side])) for text, wrap, *pair in pieces)
        + f"</{tag}>"
        for tag, pieces in blocks
    ]


def _version(blocks: Blocks, side: int) -> bytes:
    return f"<html><head><title>T</title></head><body>{''.join(_blocks(blocks, side))}</body></html>".encode()


def _repeats(blocks: Blocks, side: int) -> bool:
    """Does a block's text repeat? The layout reads a repeated short block once, so a counter moving in
    one of two copies splits them in two: a change of the text that is no change of the article, which
    the fingerprint does not see (and needs not)."""
    texts = [text for text in map(html_to_text, _blocks(blocks, side)) if text]
    return len(set(texts)) != len(texts)


@settings(max_examples=400, deadline=None)
@given(pages)
def test_an_unchanged_fingerprint_never_hides_a_change_of_the_text(blocks: Blocks) -> None:
    """Two versions of a page made of counters, clocks, sentences with figures, separators and plain
    words in inline and block markup, differing only in their numbers: whenever their counters-masked
    fingerprints are equal (searched for, or read at the first one's hinted lines), their texts compare
    equal."""
    assume(not _repeats(blocks, 0) and not _repeats(blocks, 1))
    old, new = _version(blocks, 0), _version(blocks, 1)
    stable, hints = stable_fingerprint(old)
    _, _, places = split(page_digest(old) + stable + hints)
    if stable_digest(new) == stable or (places and hinted_digest(new, places) == stable):
        assert normalise_text(_text(old)) == normalise_text(_text(new))


@given(st.text(max_size=300), st.text(max_size=300))
def test_normalising_is_total(a: str, b: str) -> None:
    normalise_text(a + b)
    stable_digest((a + b).encode())
    is_real_edit(Snapshot(a, b), Snapshot(b, a))  # never raises, whatever the text


def test_a_digest_stored_before_the_hints_matches_nothing() -> None:
    """A digest of 32 + 32 digits (before the hints): its first 24 are still the bytes' fingerprint (both
    cut from the same SHA-256), the rest matches no page's fingerprint, its "hints" hold nowhere."""
    import hashlib

    page = _page("1,204 views")
    old = hashlib.sha256(page).hexdigest()[:32] + hashlib.sha256(b"masked").hexdigest()[:32]
    known, stable, places = split(old)
    assert known == page_digest(page)
    assert stable != stable_digest(page)
    assert hinted_digest(page, places) != stable


def test_the_fingerprints_tags_agree_with_the_text_layout() -> None:
    """revisit_lines ends a line only at a tag the layout ends one at, and reads through only tags the
    layout reads through: if scraper.extract.text changes its tags, this says the fingerprint must too."""
    from scraper.extract import text
    from scraper.revisit_lines import _BREAKS, _INLINES

    breaks = {tag.decode() for tag in _BREAKS}
    inlines = {tag.decode() for tag in _INLINES}
    assert breaks <= text.BLOCK_TAGS | {"br"}
    assert not inlines & (text.BLOCK_TAGS | text._SKIP_TAGS | text._CELL_TAGS | {"br", "pre"})
