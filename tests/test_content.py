"""The generic finder on small pages, one behaviour each (no site rule)."""

from __future__ import annotations

from scraper.extract import extract

URL = "https://blog.example/2026/how-to"


def _paragraphs(topic: str, count: int = 2) -> str:
    sentence = f"The {topic} step needs care, patience and a plan, and it takes an afternoon at most."
    return "".join(f"<p>{sentence} Part {n}, with more words.</p>" for n in range(count))


def test_an_article_in_sections_of_sibling_wrappers_is_kept_whole() -> None:
    steps = "".join(
        f"<div class='step'><div class='stepContent'><div class='content{' lead' if n == 0 else ''}'>"
        f"{_paragraphs(f'step-{n}')}</div></div></div>"
        for n in range(5)
    )
    html = (
        "<html><body><nav><a href='/'>Home</a></nav>"
        f"<article><h1>How to</h1>{steps}</article>"
        "<div class='sidebar'><a href='/x'>Other story</a></div></body></html>"
    )
    text = extract(html, URL).text
    assert all(f"step-{n} step" in text for n in range(5))
    assert "Other story" not in text and "Home" not in text
