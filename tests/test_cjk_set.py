"""The Chinese labelled set (benchmarks/cjk/) is well formed: every page has its label and URL, every
labelled line is text of its page, and the set exercises both the site rules and the generic finder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from scraper.extract import RuleBook

CJK = Path(__file__).resolve().parent.parent / "benchmarks" / "cjk"
URLS: dict[str, str] = json.loads((CJK / "urls.json").read_text(encoding="utf-8"))
_SPACE = re.compile(r"\s+")


def test_every_page_has_html_label_and_url() -> None:
    assert len(URLS) >= 30
    assert {path.stem for path in CJK.glob("*.html")} == set(URLS)
    assert {path.stem for path in CJK.glob("*.txt")} == set(URLS)
    for url in URLS.values():
        assert url.startswith(("http://", "https://"))


def test_the_set_covers_every_site_rule_and_pages_without_one() -> None:
    book = RuleBook.load()
    rules = [book.rule_for(url) for url in URLS.values()]
    assert {rule.name for rule in rules if rule} == {rule.name for rule in book.rules}
    assert sum(rule is None for rule in rules) >= 10


@pytest.mark.parametrize("name", sorted(URLS))
def test_every_labelled_line_is_text_of_the_page(name: str) -> None:
    tree = LexborHTMLParser((CJK / f"{name}.html").read_text(encoding="utf-8"))
    for node in tree.css("script, style, title"):
        node.decompose()
    assert tree.body is not None
    page = _SPACE.sub("", tree.body.text(separator=" "))
    label = (CJK / f"{name}.txt").read_text(encoding="utf-8")
    assert label.strip()
    missing = [line for line in label.splitlines() if line.strip() and _SPACE.sub("", line) not in page]
    assert not missing
