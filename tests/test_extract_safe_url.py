"""Tabs and line breaks vanish from a URL wherever they are, as browsers read it (WHATWG URL)."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.extract.clean import safe_url

PAGE = "https://news.example.com/world/story.html"


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://x.example.com/a\r\nb", "https://x.example.com/ab"),
        ("\thttps://x.example.com/a\tb ", "https://x.example.com/ab"),
        ("java\rscript:alert(1)", None),
        ("https://x.example.com/photo 1.jpg", "https://x.example.com/photo%201.jpg"),
    ],
)
def test_tabs_and_line_breaks_vanish_anywhere(link: str, expected: str | None) -> None:
    assert safe_url(link, PAGE) == expected


def _joined_by_urljoin(link: str, base: str) -> str | None:
    """What safe_url gives a link that is not plainly absolute: urljoin's result, if its scheme is safe."""
    try:
        absolute = urljoin(base, link)
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError:
        return None
    return absolute if scheme in ("http", "https", "mailto", "ftp", "") else None


_BASES = [
    PAGE,
    "HTTPS://News.Example.COM:8443/a/b/?q=1#f",
    "http://user:pw@example.org",
    "http://[::1]:8080/x;p?q",
    "ftp://files.example/x/",
    "file:///tmp/page.html",
    "https://[bad/x",
    "about:blank",
]
_PATH_PIECES = [
    "/",
    "//",
    "a",
    "B9",
    ".",
    "..",
    "%20",
    ";p",
    "?",
    "?q=1",
    "#",
    "#f",
    ":",
    "@",
    "~",
    "é",
    "-_",
    "'()*+,=!$&",
]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_BASES), st.lists(st.sampled_from(_PATH_PIECES), min_size=1, max_size=8))
def test_a_path_from_the_root_is_joined_as_urljoin_joins_it(base: str, pieces: list[str]) -> None:
    """Rooted paths (`/wiki/Title`) are joined without urljoin: the base's scheme and host before the
    path, which is what urljoin gives for a path with no `//` start, dot segment, params, query or
    fragment; any other link still goes through urljoin."""
    link = "/" + "".join(pieces)
    assert safe_url(link, base) == _joined_by_urljoin(link, base)


@pytest.mark.parametrize(
    "link",
    [
        "/wiki/Title",
        "/",
        "/a//b",
        "/a/./b",
        "/a/../b",
        "/a/.",
        "/.well-known/x",
        "//cdn.example/x",
        "/a?",
        "/a#",
    ],
)
def test_rooted_paths_against_a_page_read_as_urljoin_reads_them(link: str) -> None:
    assert safe_url(link, PAGE) == _joined_by_urljoin(link, PAGE)
