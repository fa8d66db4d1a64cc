"""Tabs and line breaks vanish from a URL wherever they are, as browsers read it (WHATWG URL)."""

from __future__ import annotations

import pytest

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
