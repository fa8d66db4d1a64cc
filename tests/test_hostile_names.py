"""Post file names from hostile titles (break-a): a name shows what it is, in any terminal or file manager.

A title may carry bidi overrides (U+202E turns `txt.exe` round on screen: Trojan Source), invisible
format characters (a title of three U+200F marks made a name that looks empty), and non-characters
(U+FDD0, U+1FFFF): fine inside a title's text, none of them belongs in a file name.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.config import MAX_FEED_NAME_CHARS, ConfigError, load_config
from scraper.export.jekyll import Post, filename
from scraper.extract import Record
from scraper.poll import parse_feed
from scraper.sanitize import storable_record

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


# --- control characters in a title or author ------------------------------------------------------------

controls = st.sampled_from(
    [chr(c) for c in [*range(1, 9), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]]
)
titled = st.lists(st.one_of(st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=5), controls))


@given(titled.map("".join), titled.map("".join))
def test_a_feed_title_or_author_keeps_no_control_character(title: str, author: str) -> None:
    # C1 controls are valid XML 1.0 (&#x9B; is the terminal's CSI); C0 ones reach the loose parser.
    def refs(text: str) -> str:
        return "".join(f"&#{ord(c)};" if unicodedata.category(c) == "Cc" else escape(c) for c in text)

    document = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title><item>'
        f"<title>{refs(title)}</title><author>{refs(author)}</author><link>http://e.test/1</link>"
        "</item></channel></rss>"
    )
    (entry,) = parse_feed(document.encode(), "http://e.test/feed")[0]
    for text in (entry.title, entry.author):
        assert text is None or not any(unicodedata.category(c) == "Cc" for c in text), ascii(text)


def test_a_page_title_keeps_no_control_character() -> None:
    record = Record("a\x1b[31mb\x9b0m", "c\x07d", None, None, html="<p>x</p>", text="x")
    cleaned = storable_record(record)
    assert (cleaned.title, cleaned.author) == ("a[31mb0m", "cd")


# --- a feed's name wider than its column -------------------------------------------------------------------


def test_a_feed_name_wider_than_its_column_is_a_config_error_naming_it(tmp_path: Path) -> None:
    # On PostgreSQL it stopped every feed's run with "cannot use the database ... start PostgreSQL".
    for length, fits in ((MAX_FEED_NAME_CHARS, True), (MAX_FEED_NAME_CHARS + 1, False)):
        path = tmp_path / "scraper.toml"
        path.write_text(
            f'[[feeds]]\nname = "{"名" * length}"\nurl = "https://example.org/rss"\n', encoding="utf-8"
        )
        if fits:
            assert load_config(path, env={}).feeds[0].name == "名" * length
        else:
            with pytest.raises(ConfigError, match=rf"feeds\[0\]\.name: longer than {MAX_FEED_NAME_CHARS}"):
                load_config(path, env={})


def test_a_feed_url_wider_than_its_column_is_a_config_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "scraper.toml"
    url = "https://example.org/" + "汉" * 2100
    path.write_text(f'[[feeds]]\nname = "n"\nurl = "{url}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.url: longer than 2048"):
        load_config(path, env={})


# --- dates that name no day -----------------------------------------------------------------------------

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def real_day(year: int, month: int, day: int) -> datetime | None:
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


@given(st.integers(1990, 2030), st.integers(0, 15), st.integers(0, 40), st.booleans(), st.integers(0, 99))
def test_an_entry_date_is_the_day_it_names_or_none(
    year: int, month: int, day: int, iso: bool, hour: int
) -> None:
    # feedparser rolls what no calendar has over into a day nobody wrote: 2024-02-30 became 1 March,
    # 2021-13-45T99:99 became 2022-01-01, "-0001-01-01" the year 2000.
    if iso:
        written = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:00:00Z"
    else:
        name = MONTHS[month - 1] if 1 <= month <= 12 else "Xyz"
        written = f"{day:02d} {name} {year} {hour:02d}:00:00 GMT"
    document = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>a</title>'
        f"<link>http://e.test/1</link><pubDate>{written}</pubDate></item></channel></rss>"
    )
    (entry,) = parse_feed(document.encode(), "http://e.test/feed")[0]
    named = real_day(year, month, day) if hour <= 23 else None
    if entry.published is not None:
        assert named is not None, (written, entry.published)
        assert entry.published.date() == named.date(), (written, entry.published)


def test_a_year_written_with_a_sign_or_an_offset_past_a_day_is_no_date() -> None:
    for written in ("-0001-01-01T00:00:00Z", "Sat, 01 Jan 2000 00:00:00 +9999"):
        document = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>a</title>'
            f"<link>http://e.test/1</link><pubDate>{written}</pubDate></item></channel></rss>"
        )
        (entry,) = parse_feed(document.encode(), "http://e.test/feed")[0]
        assert entry.published is None, (written, entry.published)
