"""Article metadata from the page head: JSON-LD, OpenGraph, `<meta>`, `<time>` and the title.

Read before the body is cleaned: JSON-LD lives in `<script>` elements the cleaner drops.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from scraper.extract.dates import parse_date

_ARTICLE_TYPES = re.compile(r"(?i)article|posting|report|news|blog|webpage")
_SPACES = re.compile(r"\s+")

# Meta names, most specific first.
_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "datePublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "PublishDate",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "DC.date.issued",
    "dcterms.created",
    "date",
    "article.published",
    "cXenseParse:recs:publishtime",
)
_AUTHOR_META = ("author", "article:author", "byl", "parsely-author", "sailthru.author", "dc.creator")


@dataclass(frozen=True)
class Metadata:
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    lang: str | None = None
    canonical_url: str | None = None
    description: str | None = None
    image: str | None = None


def read_metadata(tree: LexborHTMLParser, url: str, default_tz: timezone = UTC) -> Metadata:
    meta = _meta_values(tree)
    ld = _json_ld_article(tree)
    return Metadata(
        title=_title(tree, meta, ld),
        author=_author(meta, ld),
        published=_published(tree, meta, ld, default_tz),
        lang=_lang(tree, meta),
        canonical_url=_canonical(tree, meta, url),
        description=_first(meta.get("og:description"), meta.get("description")),
        image=_absolute(_first(meta.get("og:image"), meta.get("twitter:image"), _ld_image(ld)), url),
    )


def _meta_values(tree: LexborHTMLParser) -> dict[str, str]:
    """`<meta>` by name, property or itemprop; the first of each wins, as crawlers read them."""
    values: dict[str, str] = {}
    for node in tree.css("meta[content]"):
        attributes = node.attributes
        content = (attributes.get("content") or "").strip()
        if not content:
            continue
        for key in ("property", "name", "itemprop", "http-equiv"):
            name = attributes.get(key)
            if name:
                values.setdefault(name.strip(), content)
                values.setdefault(name.strip().lower(), content)
    return values


def _json_ld_article(tree: LexborHTMLParser) -> dict[str, Any]:
    """The first JSON-LD object that describes an article; broken JSON is skipped, as browsers do."""
    for node in tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(node.text(deep=True) or "")
        except ValueError:
            continue
        for item in _ld_objects(data):
            kind = item.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if any(isinstance(k, str) and _ARTICLE_TYPES.search(k) for k in kinds) and (
                item.get("headline") or item.get("datePublished")
            ):
                return item
    return {}


def _ld_objects(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _ld_objects(item)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _ld_objects(data["@graph"])
        if isinstance(data.get("mainEntity"), dict):
            yield data["mainEntity"]


def _title(tree: LexborHTMLParser, meta: dict[str, str], ld: dict[str, Any]) -> str | None:
    h1 = tree.css_first("article h1, main h1, h1")
    h1_text = _clean(h1.text(deep=True)) if h1 else None
    title_node = tree.css_first("title")
    return _first(
        _string(ld.get("headline")),
        meta.get("og:title"),
        meta.get("twitter:title"),
        h1_text,
        _clean(title_node.text(deep=True)) if title_node else None,
    )


def _author(meta: dict[str, str], ld: dict[str, Any]) -> str | None:
    names = _ld_names(ld.get("author"))
    if names:
        return ", ".join(names)
    for key in _AUTHOR_META:
        value = meta.get(key)
        if value and not value.startswith(("http://", "https://")):
            return _clean(value)
    return None


def _ld_names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, dict):
        return _ld_names(value.get("name"))
    if isinstance(value, list):
        return [name for item in value for name in _ld_names(item)]
    return []


def _published(
    tree: LexborHTMLParser, meta: dict[str, str], ld: dict[str, Any], default_tz: timezone
) -> datetime | None:
    candidates: list[str | None] = [_string(ld.get("datePublished")), _string(ld.get("dateCreated"))]
    candidates += [meta.get(name) for name in _PUBLISHED_META]
    for value in candidates:
        when = parse_date(value, default_tz)
        if when is not None:
            return when
    # only pages without metadata pay for a search of the body
    for node in tree.css("[itemprop=datePublished], time[pubdate], time[datetime]"):
        attributes = node.attributes
        when = parse_date(attributes.get("datetime") or attributes.get("content") or node.text(), default_tz)
        if when is not None:
            return when
    return None


def _lang(tree: LexborHTMLParser, meta: dict[str, str]) -> str | None:
    html = tree.css_first("html")
    lang = html.attributes.get("lang") if html else None
    lang = lang or meta.get("content-language") or meta.get("og:locale") or meta.get("language")
    return lang.strip().replace("_", "-") if lang and lang.strip() else None


def _canonical(tree: LexborHTMLParser, meta: dict[str, str], url: str) -> str | None:
    link = tree.css_first('link[rel="canonical"][href]')
    href = link.attributes.get("href") if link else None
    return _absolute(_first(href, meta.get("og:url")), url)


def _ld_image(ld: dict[str, Any]) -> str | None:
    image = ld.get("image")
    if isinstance(image, list):
        image = image[0] if image else None
    if isinstance(image, dict):
        image = image.get("url")
    return image if isinstance(image, str) else None


def _absolute(link: str | None, base: str) -> str | None:
    if not link:
        return None
    absolute = urljoin(base, link.strip())
    return absolute if absolute.startswith(("http://", "https://", "file:")) else None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = _SPACES.sub(" ", value).strip()
    return text or None


def _first(*values: str | None) -> str | None:
    for value in values:
        text = _clean(value)
        if text:
            return text
    return None
