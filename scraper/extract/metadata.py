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

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.extract.clean import PLAIN_ABSOLUTE
from scraper.extract.dates import EARLIEST_PLAUSIBLE, parse_date
from scraper.extract.measure import first_tagged
from scraper.extract.text import tidy_spaces

_ARTICLE_TYPES = re.compile(r"(?i)article|posting|report|news|blog")
_PAGE_TYPES = re.compile(r"(?i)webpage")

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
# Elements that carry the publication time, strongest sign first.
_PUBLISHED_ELEMENTS = (
    "[itemprop=datePublished]",
    "article time[datetime]",
    "time[pubdate]",
    "time[datetime]",
)
# Matched by every element any of those matches: one walk (stopping at the first) tells a page with
# none of them, most pages without a date in their metadata, from those worth the walks above.
_ANY_PUBLISHED_ELEMENT = "[itemprop=datePublished], time"
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
    body_length: int = 0  # characters of the JSON-LD articleBody, when the page gives one


def read_metadata(tree: LexborHTMLParser, url: str, default_tz: timezone = UTC) -> Metadata:
    found = _Declared.scan(tree)
    meta = _meta_values(found.metas)
    ld = _json_ld_article(found.scripts)
    return Metadata(
        title=_title(found, meta, ld),
        author=_author(tree, meta, ld),
        published=_published(tree, meta, ld, default_tz),
        lang=_lang(tree, meta),
        canonical_url=_canonical(found, meta, url),
        description=_first(meta.get("og:description"), meta.get("description")),
        image=_absolute(_first(meta.get("og:image"), meta.get("twitter:image"), _ld_image(ld)), url),
        body_length=_ld_body_length(ld),
    )


_TAG = re.compile(r"<[^>]*>")

# What the page declares besides its `<meta>`, `<title>` and `<h1>` elements (those are gathered by tag
# name, a walk that compares one name per element: a third of a selector's walk of a large page).
_DECLARING = 'script[type="application/ld+json"], link[rel="canonical"][href]'


@dataclass
class _Declared:
    """The elements that declare metadata, each kind in document order."""

    metas: list[LexborNode]
    scripts: list[LexborNode]
    titles: list[LexborNode]
    canonicals: list[LexborNode]
    h1s: list[LexborNode]

    @classmethod
    def scan(cls, tree: LexborHTMLParser) -> _Declared:
        """All of them in four walks of the page: a `<meta>` without content is gathered too
        (`_meta_values` skips it as it skips an empty one)."""
        found = cls(tree.tags("meta"), [], tree.tags("title"), [], tree.tags("h1"))
        for node in tree.css(_DECLARING):  # each selector names another tag: document order per kind
            (found.scripts if node.tag == "script" else found.canonicals).append(node)
        return found


def _ld_body_length(ld: dict[str, Any]) -> int:
    """How long the article says it is: its JSON-LD articleBody as text (some pages put HTML in it)."""
    body = _string(ld.get("articleBody"))
    return len(" ".join(_TAG.sub(" ", body).split())) if body else 0


def _meta_values(metas: list[LexborNode]) -> dict[str, str]:
    """`<meta>` by name, property or itemprop; the first of each wins, as crawlers read them."""
    values: dict[str, str] = {}
    for node in metas:
        attributes = node.attributes
        content = attributes.get("content")
        content = content.strip() if content else None
        if not content:
            continue
        # every name of one element gets its content, so the order of its attributes does not matter
        for key, names in attributes.items():
            if names and key in _META_NAMES:
                for name in names.split():  # property="og:title twitter:title"
                    values.setdefault(name, content)
                    values.setdefault(name.lower(), content)
    return values


# The attributes that name a `<meta>`.
_META_NAMES = frozenset({"property", "name", "itemprop", "http-equiv"})


def _json_ld_article(scripts: list[LexborNode]) -> dict[str, Any]:
    """The JSON-LD object that describes the article; broken JSON is skipped, as browsers do.

    An Article-like type wins over a WebPage (Yoast's @graph lists the WebPage first, with the same
    dates but no headline or author); an author given as an `@id` reference is looked up in the graph.
    """
    objects: list[dict[str, Any]] = []
    for node in scripts:
        try:
            data = json.loads(_unwrapped(node.text(deep=True) or ""))
        except ValueError:
            continue
        objects.extend(_ld_objects(data))
    described = [item for item in objects if item.get("headline") or item.get("datePublished")]
    chosen = next((item for item in described if _ld_type_matches(item, _ARTICLE_TYPES)), None)
    chosen = chosen or next((item for item in described if _ld_type_matches(item, _PAGE_TYPES)), None)
    if chosen is None:
        return {}
    by_id = {item["@id"]: item for item in objects if isinstance(item.get("@id"), str)}
    return {**chosen, "author": _ld_resolve(chosen.get("author"), by_id)}


_OPENERS = ("<![CDATA[", "<!--")
_CLOSERS = ("]]>", "-->")


def _unwrapped(script: str) -> str:
    """The JSON inside a `<![CDATA[ ... ]]>` or `<!-- ... -->` wrapper (XHTML habits kept by many CMSs),
    each marker perhaps behind `//`. Compared at the ends only: a pattern anchored at the end is tried
    at every position of a long script."""
    text = script.strip()
    head = text[2:].lstrip() if text.startswith("//") else text
    for opener in _OPENERS:
        if head.startswith(opener):
            text = head[len(opener) :]
            break
    tail = text.rstrip()
    for closer in _CLOSERS:
        if tail.endswith(closer):
            tail = tail[: -len(closer)].rstrip()
            return tail[:-2] if tail.endswith("//") else tail
    return text


def _ld_type_matches(item: dict[str, Any], pattern: re.Pattern[str]) -> bool:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(isinstance(k, str) and pattern.search(k) for k in kinds)


def _ld_resolve(value: Any, by_id: dict[str, dict[str, Any]]) -> Any:
    if isinstance(value, list):
        return [_ld_resolve(item, by_id) for item in value]
    if isinstance(value, dict) and "name" not in value and isinstance(value.get("@id"), str):
        return by_id.get(value["@id"], value)
    return value


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


def _title(found: _Declared, meta: dict[str, str], ld: dict[str, Any]) -> str | None:
    """The headline as the page declares it, strongest declaration first; else the document's title
    without the site's name."""
    title_node = found.titles[0] if found.titles else None
    document_title = _clean(element_text(title_node)) if title_node else None
    declared = _first(_ld_title(ld, document_title), *(meta.get(name) for name in _TITLE_META))
    if declared or not document_title:
        return declared or _h1(found.h1s)
    h1 = _h1(found.h1s)
    first = _SEPARATED.search(document_title)
    lead = document_title[: first.start()] if first else document_title
    if (
        h1 and lead.casefold() in h1.casefold()
    ):  # the h1 says the title's headline in full ("Budget - Site", h1 "The budget")
        return h1
    return headline_of(document_title, found.h1s)


# Declared titles, most deliberate first (Dublin Core is rare and never a default of a CMS).
_TITLE_META = ("dc:title", "dc.title", "dcterm:title", "dcterms.title", "og:title", "title", "twitter:title")
_AUTHOR_FIRST_META = ("dc:creator", "dc.creator", "dcterm:creator", "dcterms.creator")
# What sites put between the headline and their name in <title>.
_SEPARATED = re.compile(r"\s[|\-–—\\/>»·]\s")
# A word, or one Han/kana/Hangul character (CJK titles have no spaces to count).
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]|[^\W\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]+")


def _ld_title(ld: dict[str, Any], document_title: str | None) -> str | None:
    """JSON-LD `headline` or `name`: when both are there and differ, the one the document's title
    contains (Wikipedia's headline is a description, its name the title)."""
    headline, name = _clean(_string(ld.get("headline"))), _clean(_string(ld.get("name")))
    if headline and name and document_title and name in document_title and headline not in document_title:
        return name
    return headline or name


def headline_of(document_title: str, h1s: list[LexborNode]) -> str:
    """The headline inside `<title>`: the site's name cut off at a separator, unless that leaves too
    little to be a headline (then the whole title is the headline)."""
    parts = _SEPARATED.split(document_title)
    if len(parts) > 1:
        headline = document_title[: _last_separator(document_title)].strip()
        if len(_WORD.findall(headline)) < 3:  # "Home | A long headline here": the site came first
            first = _SEPARATED.search(document_title)
            headline = document_title[first.end() :].strip() if first else headline
        words = len(_WORD.findall(headline))
        whole = len(_WORD.findall(_SEPARATED.sub(" ", document_title)))
        return headline if words > 4 or words >= whole - 1 else document_title
    if (len(document_title) > 150 or len(document_title) < 15) and len(h1s) == 1:
        return _clean(element_text(h1s[0])) or document_title
    return document_title


def _last_separator(text: str) -> int:
    start = 0
    for match in _SEPARATED.finditer(text):
        start = match.start()
    return start


def _h1(h1s: list[LexborNode]) -> str | None:
    """The page's first `<h1>` (the first in the page is also the first of "article h1, main h1, h1")."""
    return _clean(element_text(h1s[0])) if h1s else None


def _author(tree: LexborHTMLParser, meta: dict[str, str], ld: dict[str, Any]) -> str | None:
    names = _ld_names(ld.get("author"))
    if names:
        return without_by(", ".join(names))
    for key in (*_AUTHOR_FIRST_META, *_AUTHOR_META):
        value = meta.get(key)
        if value and not value.startswith(("http://", "https://")):
            return without_by(_clean(value))
    return _byline_in_body(tree)


# Elements that carry the byline in the body, strongest sign first.
_BYLINE_ELEMENTS = (
    '[itemprop~="author"] [itemprop~="name"]',
    '[itemprop~="author"]',
    '[rel="author"]',
    '[class*="byline"], [id*="byline"]',
    '[class~="author"], [class*="author-name"], [class*="authorname"], [class*="article-author"]',
)
# Matched by every element any of those matches (an author's name is inside an author item), and by a
# few more ("comment-author"): one test of a class for "author" costs a walk of the page less than four
# (a substring search each), and `_byline_kind` sets the others aside.
_ANY_BYLINE_ELEMENT = ", ".join(
    ('[itemprop~="author"]', '[rel="author"]', '[class*="byline"]', '[id*="byline"]', '[class*="author"]')
)
# Only words that cannot start a name ("Di Wang", "Von Miller" are names).
_BY = re.compile(r"(?i)^(?:by|par|por)[\s:]+(?=\w)")
BYLINE_MAX_CHARS = 100


def _byline_in_body(tree: LexborHTMLParser) -> str | None:
    """A short element named as the byline; only pages that declare no author pay for the search.

    One walk finds every candidate; each is then ranked by the first of `_BYLINE_ELEMENTS` it matches
    (read from its attributes, as the selectors read them), so the first good one of the strongest kind
    wins as a walk per kind would find it, without four more walks of the body.
    """
    body = tree.body
    if body is None:
        return None
    matches = body.css(_ANY_BYLINE_ELEMENT)
    if not matches:
        return None
    ranked: list[list[LexborNode]] = [[] for _ in _BYLINE_ELEMENTS]  # by kind, in document order
    for node in matches:
        kind = _byline_kind(node)
        if kind is not None:
            ranked[kind].append(node)
    if not any(ranked):  # only elements like a byline ("comment-author"): no search, even on an author page
        return None
    # the strongest kind, an author's name inside an author item: looked for under those items (or the
    # whole body, when the page itself is the author item)
    html = tree.root
    if html is not None and _has_token(html.attributes.get("itemprop"), "author"):
        authors = [body]
    else:
        authors = ranked[1]
    for author in authors:
        for node in author.css(_BYLINE_ELEMENTS[0]):  # a nested author item's names are found here too
            text = _byline_text(node)
            if text:
                return text
    for of_kind in ranked[1:]:
        for node in of_kind:
            text = _byline_text(node)
            if text:
                return text
    return None


def _byline_text(node: LexborNode) -> str | None:
    """The node's text as a byline, or None when it is too long or has no word."""
    text = _clean(element_text(node))
    if text and len(text) < BYLINE_MAX_CHARS and _WORD.search(text):
        return without_by(text)
    return None


def _byline_kind(node: LexborNode) -> int | None:
    """Which of `_BYLINE_ELEMENTS` (after the first) an element found by `_ANY_BYLINE_ELEMENT` matches
    first, by the selectors' own tests of its attributes (values compared case-sensitively, but `rel`);
    None for one that matches none of them."""
    attributes = node.attributes
    if _has_token(attributes.get("itemprop"), "author"):
        return 1
    rel = attributes.get("rel")
    if rel == "author" or (rel and rel.lower() == "author" and _rel_author_in_any_case(node)):
        return 2
    names = attributes.get("class") or ""
    if "byline" in names or "byline" in (attributes.get("id") or ""):
        return 3
    if _has_token(names, "author") or any(part in names for part in _AUTHOR_CLASS_PARTS):
        return 4
    return None


def _rel_author_in_any_case(node: LexborNode) -> bool:
    """Whether `[rel="author"]` matches `node`, whose `rel` is "author" in other letters: an HTML
    element's `rel` is compared in any case, an svg or MathML element's as written (rare: the selector
    asked of the node, which lists the node itself first when it matches)."""
    first = node.css_first('[rel="author"]')
    return first is not None and first.mem_id == node.mem_id


_AUTHOR_CLASS_PARTS = ("author-name", "authorname", "article-author")


# What separates the words of an attribute for a `~=` selector.
_CSS_SPACES = re.compile(r"[ \t\n\r\f]+")


def _has_token(value: str | None, token: str) -> bool:
    """Whether `value` holds `token` as a whole word, as `[attribute~="token"]` tests."""
    return bool(value) and token in _CSS_SPACES.split(value)  # type: ignore[arg-type]


def without_by(name: str | None) -> str | None:
    """ "By Jane Doe" is Jane Doe: the word that introduces a byline is not part of the name."""
    if not name:
        return None
    return _clean(_BY.sub("", name, count=1)) or name


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
        if when is not None and when >= EARLIEST_PLAUSIBLE:  # not a CMS placeholder (epoch, year 1)
            return when
    # only pages without metadata pay for a search of the body; one kind at a time, strongest first
    if tree.css_first(_ANY_PUBLISHED_ELEMENT) is None:
        return None
    for selector in _PUBLISHED_ELEMENTS:
        for node in tree.css(selector):
            attributes = node.attributes
            value = attributes.get("datetime") or attributes.get("content") or element_text(node)
            when = parse_date(value, default_tz)
            if when is not None and when >= EARLIEST_PLAUSIBLE:
                return when
    return None


def _lang(tree: LexborHTMLParser, meta: dict[str, str]) -> str | None:
    root = tree.root  # a parsed document's root is its <html>, whatever the markup says
    html = root if root is not None and root.tag == "html" else tree.css_first("html")
    lang = html.attributes.get("lang") if html else None
    lang = lang or meta.get("content-language") or meta.get("og:locale") or meta.get("language")
    return lang.strip().replace("_", "-") if lang and lang.strip() else None


def _canonical(found: _Declared, meta: dict[str, str], url: str) -> str | None:
    link = found.canonicals[0] if found.canonicals else None
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
    link = link.strip()
    if PLAIN_ABSOLUTE.fullmatch(link):  # most declared links: urljoin would give them back as they are
        return link
    try:
        absolute = urljoin(base, link)
    except ValueError:  # a malformed address ("http://[x"): the page's value, not a reason to fail it
        return None
    return absolute if absolute.startswith(("http://", "https://", "file:")) else None


# Elements whose text is code, never words of the page (as the text layout skips them).
_CODE = "style, script"
_CODE_TAGS = frozenset({"style", "script"})


def element_text(node: LexborNode) -> str:
    """The text of `node` without that of the style sheets and scripts inside it (an h1 or an svg
    title may hold one): it is code, and the byte pre-pass may have emptied it (see rawtext)."""
    if first_tagged(node, _CODE_TAGS, _CODE) is None:  # nearly always: lexbor's own concatenation
        return node.text(deep=True)
    parts: list[str] = []
    todo = [node.child] if node.child is not None else []
    while todo:  # document order without recursion: a node's children before its next sibling
        current = todo.pop()
        if current.next is not None:
            todo.append(current.next)
        tag = current.tag
        if tag == "-text":
            parts.append(current.text_content or "")
        elif tag not in ("style", "script") and current.child is not None:
            todo.append(current.child)
    return "".join(parts)


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _clean(value: str | None) -> str | None:
    """`value` with any run of white space as one space, or None when nothing else is left."""
    if value is None:
        return None
    text = value.strip()
    return tidy_spaces(text) if text else None


def _first(*values: str | None) -> str | None:
    for value in values:
        text = _clean(value)
        if text:
            return text
    return None
