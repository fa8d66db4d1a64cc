# TEMPORARY shim written by the lead only to exercise the pipeline while helper-1 builds the real extractor.
# helper-1: replace this file wholesale with the real scraper/extract package; nothing here is to be kept.
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser as HTMLParser


@dataclass(frozen=True)
class Record:
    title: str | None
    author: str | None
    published: datetime | None
    lang: str | None
    html: str
    text: str
    canonical_url: str | None = None
    description: str | None = None
    image: str | None = None


@dataclass(frozen=True)
class SiteRule:
    name: str
    domains: tuple[str, ...]
    body: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


class RuleBook:
    @classmethod
    def load(cls, extra: Iterable[Mapping[str, Any]] = ()) -> RuleBook:
        return cls()

    def for_url(self, url: str, selector: str | None = None, remove: Sequence[str] = ()) -> SiteRule | None:
        if selector or remove:
            return SiteRule("feed", (), (selector,) if selector else (), tuple(remove))
        return None


def _clean(node: Any, url: str, remove: Sequence[str]) -> str:
    for sel in ("script", "style", *remove):
        for n in node.css(sel):
            n.decompose()
    for img in node.css("img"):
        src = img.attributes.get("data-src") or img.attributes.get("src") or ""
        img.attrs["src"] = urljoin(url, src)
        for a in ("data-src", "class"):
            if a in img.attributes:
                del img.attrs[a]
    return node.inner_html or ""


def html_to_text(html: str) -> str:
    tree = HTMLParser(html or "<p></p>")
    return "\n\n".join(p.text(strip=True) for p in tree.css("p") if p.text(strip=True))


def clean_fragment(html: str, url: str, rule: SiteRule | None = None) -> str:
    tree = HTMLParser(f"<div>{html}</div>")
    return _clean(tree.css_first("div"), url, ["[id^=dfp-ad-]"])


def extract(html: str | bytes, url: str, rule: SiteRule | None = None) -> Record:
    tree = HTMLParser(html)
    node = None
    if rule and rule.body:
        node = tree.css_first(rule.body[0])
    node = node or tree.body
    body = _clean(node, url, rule.remove if rule else ())
    title = tree.css_first("title")
    return Record(title.text() if title else None, None, None, None, body, html_to_text(body))
