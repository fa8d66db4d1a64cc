"""Post file names from hostile titles (break-a): a name shows what it is, in any terminal or file manager.

A title may carry bidi overrides (U+202E turns `txt.exe` round on screen: Trojan Source), invisible
format characters (a title of three U+200F marks made a name that looks empty), and non-characters
(U+FDD0, U+1FFFF): fine inside a title's text, none of them belongs in a file name.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from scraper.export.jekyll import Post, filename

WHEN = datetime(2021, 9, 29, 14, 34, 41, tzinfo=UTC)
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
INVISIBLE = "\u00ad\u180e\u200b\u2060\u2061\u2062\u2063\u2064\ufeff" + BIDI


def name_of(title: str) -> str:
    post = Post(
        title=title, url="http://e.test/a", feed_name="n", published=WHEN, archived_at=WHEN, body_html=""
    )
    return filename(post)


def is_nonchar(char: str) -> bool:
    point = ord(char)
    return 0xFDD0 <= point <= 0xFDEF or point & 0xFFFE == 0xFFFE


hostile_titles = st.lists(
    st.one_of(
        st.text(max_size=8),
        st.sampled_from([*INVISIBLE, "\ufdd0", "\U0001ffff", "\U0010ffff", "\u0301", "\u200d", "\u200c"]),
    ),
    max_size=12,
).map("".join)


@given(hostile_titles)
def test_a_file_name_holds_no_bidi_control_invisible_mark_or_non_character(title: str) -> None:
    name = name_of(title)
    stem = name[len("2021-09-29-") : -len(".md")]
    assert not any(char in INVISIBLE or is_nonchar(char) for char in name), ascii(name)
    assert stem and not unicodedata.category(stem[0]).startswith("M"), ascii(name)  # nothing to attach to


def test_spoofing_and_invisible_titles_get_plain_names() -> None:
    assert name_of("gnp.\u202eexe") == "2021-09-29-gnp.exe.md"
    assert name_of("\u200f\u200f\u200f") == "2021-09-29-untitled.md"
    assert name_of("a\ufdd0b\U0001ffffc") == "2021-09-29-a-b-c.md"
    assert name_of("👨\u200d👩\u200d👧") == "2021-09-29-👨\u200d👩\u200d👧.md"  # ZWJ joins emoji: kept
    assert name_of("\u0301\u0301x") == "2021-09-29-x.md"
