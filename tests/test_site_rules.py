"""Every built-in site rule against a page written in that site's markup.

The page is the rule's first page in the Chinese labelled set (benchmarks/cjk/<rule>-1.html), so one file
serves the benchmark and the test. `tests/fixtures/sites/<rule>.json` gives the page URL, the title and
publication time the extraction must give, texts of the article that must be in the body, captions of the
body's figures (kept in the HTML; the text leaves captions out), and texts of the page's furniture
(navigation, ads, share bars, related links, promos, footer) that must not be in either.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from selectolax.lexbor import LexborHTMLParser

from scraper.extract import Record, RuleBook, extract
from scraper.extract.rules import builtin_rules

FIXTURES = Path(__file__).parent / "fixtures" / "sites"
PAGES = Path(__file__).parent.parent / "benchmarks" / "cjk"
NAMES = sorted(path.stem for path in FIXTURES.glob("*.json"))
# Elements and attributes no cleaned body may carry.
UNSAFE_TAGS = "script, style, iframe, noscript, object, embed, form, input, button, svg, link, meta"


@cache
def expected(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@cache
def extracted(name: str) -> Record:
    url = expected(name)["url"]
    html = (PAGES / f"{name}-1.html").read_text(encoding="utf-8")
    return extract(html, url, RuleBook.load().rule_for(url))


def test_every_builtin_rule_has_a_fixture() -> None:
    assert sorted(rule.name for rule in builtin_rules()) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_the_site_rule_is_chosen_by_url(name: str) -> None:
    rule = RuleBook.load().rule_for(expected(name)["url"])
    assert rule is not None
    assert rule.name == name


@pytest.mark.parametrize("name", NAMES)
def test_metadata(name: str) -> None:
    record, want = extracted(name), expected(name)
    assert record.title == want["title"]
    assert record.published == datetime.fromisoformat(want["published"])
    assert record.published is not None and record.published.utcoffset() is not None
    if "author" in want:
        assert record.author == want["author"]


@pytest.mark.parametrize("name", NAMES)
def test_body_holds_the_article(name: str) -> None:
    text = extracted(name).text
    missing = [snippet for snippet in expected(name)["body"] if snippet not in text]
    assert not missing, f"missing from the body: {missing}\n---\n{text}"


@pytest.mark.parametrize("name", NAMES)
def test_figures_in_the_body_keep_their_captions(name: str) -> None:
    root = LexborHTMLParser(extracted(name).html).body
    assert root is not None
    captions = [" ".join((node.text(deep=True) or "").split()) for node in root.css("figure figcaption")]
    for caption in expected(name)["captions"]:
        assert any(caption in found for found in captions), captions


@pytest.mark.parametrize("name", NAMES)
def test_body_holds_none_of_the_furniture(name: str) -> None:
    record = extracted(name)
    found = [junk for junk in expected(name)["junk"] if junk in record.text or junk in record.html]
    assert not found, f"junk in the body: {found}\n---\n{record.text}"


@pytest.mark.parametrize("name", NAMES)
def test_body_does_not_repeat_the_title(name: str) -> None:
    record = extracted(name)
    assert record.title
    assert not record.text.startswith(record.title)
    assert record.title not in record.text.split("\n\n")


@pytest.mark.parametrize("name", NAMES)
def test_body_is_safe_html(name: str) -> None:
    root = LexborHTMLParser(extracted(name).html).body
    assert root is not None
    assert [node.tag for node in root.css(UNSAFE_TAGS)] == []
    for node in root.css("*"):
        for attribute in node.attributes:
            assert not attribute.lower().startswith("on"), node.html
            assert attribute.lower() not in ("style", "class", "id"), node.html
    for link in root.css("a"):
        assert urlsplit(link.attributes.get("href") or "").scheme in ("http", "https", "mailto"), link.html


@pytest.mark.parametrize("name", NAMES)
def test_images_have_absolute_sources(name: str) -> None:
    root = LexborHTMLParser(extracted(name).html).body
    assert root is not None
    sources = [img.attributes.get("src") or "" for img in root.css("img")]
    assert all(urlsplit(src).scheme in ("http", "https") and urlsplit(src).netloc for src in sources), sources
    for image in expected(name)["images"]:
        assert image in sources
