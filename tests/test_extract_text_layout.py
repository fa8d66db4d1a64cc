"""The text layout's white space: any run of it inside a line is one space, as `str.split` reads it."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.extract import html_to_text
from scraper.extract.text import tidy_spaces

# Spaces of every kind, and characters that only look like one (zero-width space, soft hyphen).
_CHARACTERS = list("ab. \t\n\r\x0b\x0c\x1c\x85\xa0\u1680\u2003\u2028\u3000\u200b\xad")


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(_CHARACTERS), max_size=40))
def test_tidy_spaces_is_the_split_and_join_it_saves(text: str) -> None:
    assert tidy_spaces(text.strip()) == " ".join(text.split())


def test_a_line_with_unusual_spaces_reads_with_single_spaces() -> None:
    html = "<p>  one\u00a0\u00a0two \u3000three\n four </p><p>five\u200bsix</p>"
    assert html_to_text(html) == "one two three four\n\nfive\u200bsix"


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(_CHARACTERS), max_size=40))
def test_metadata_values_lose_their_runs_of_white_space_as_the_pattern_did(text: str) -> None:
    from scraper.extract.metadata import _clean

    assert _clean(text) == (re.sub(r"\s+", " ", text).strip() or None)
