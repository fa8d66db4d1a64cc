"""Hostile markup (break-a): no attribute the cleaner keeps carries a script, data or file URL out.

The cleaner already unwraps `javascript:` links and drops such images; `cite` (on blockquote and q) is
a URL attribute too, and came through as written: `<blockquote cite="javascript:...">`.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from scraper.extract import clean_fragment
from scraper.extract.clean import ALLOWED

URL = "http://site.test/a/b.html"
URL_ATTRIBUTES = {"cite", "href", "src", "srcset"}
SCHEMES = [
    "javascript:alert(1)",
    " JaVa\tScRiPt:alert(1)",
    "data:text/html,x",
    "vbscript:x",
    "file:///etc/passwd",
]
attribute_values = st.one_of(st.sampled_from(SCHEMES), st.text(max_size=20))


@pytest.mark.parametrize("tag", sorted(ALLOWED))
@settings(max_examples=25)
@given(
    attributes=st.fixed_dictionaries(
        {name: attribute_values for name in ("cite", "href", "src", "srcset", "title")}
    ),
)
def test_no_kept_attribute_holds_a_script_data_or_file_url(tag: str, attributes: dict[str, str]) -> None:
    written = " ".join(f'{name}="{value.replace(chr(34), "")}"' for name, value in attributes.items())
    fragment = f"<p>words before <{tag} {written}>words inside</{tag}> words after</p>"
    cleaned = clean_fragment(fragment, URL)
    for node in LexborHTMLParser(cleaned).css("*"):
        for name, value in node.attributes.items():
            if name not in URL_ATTRIBUTES:  # a title or alt is text: "javascript:" there is only words
                continue
            compact = re.sub(r"[\x00-\x20]", "", value or "").lower()
            assert not compact.startswith(("javascript:", "data:", "vbscript:", "file:")), (name, value)


def test_a_quotes_cite_is_made_absolute_or_dropped() -> None:
    cleaned = clean_fragment('<blockquote cite="javascript:alert(1)">a</blockquote><q cite="/src">b</q>', URL)
    assert "javascript" not in cleaned
    assert 'cite="http://site.test/src"' in cleaned
