"""Page to record: metadata, the body (by site rule or by the generic finder), cleaning, text.

A pure function of the page and its URL, so `scraper backfill --reextract` can run it again over the raw
pages kept in the database, offline.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from datetime import datetime, timezone

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.charset import decode, normalise_label
from scraper.extract.budget import DEFAULT_SECONDS, Budget
from scraper.extract.clean import clean_body, clean_fragment_html, drop_selected
from scraper.extract.content import find_main_content
from scraper.extract.dates import parse_date, parse_offset
from scraper.extract.measure import climb_answer
from scraper.extract.metadata import element_text, read_metadata
from scraper.extract.rawtext import parse_page
from scraper.extract.record import Record
from scraper.extract.rules import SiteRule
from scraper.extract.site import Site
from scraper.extract.text import html_to_text, node_text

_SPACES = re.compile(r"\s+")


def extract(
    html: str | bytes,
    url: str,
    rule: SiteRule | None = None,
    *,
    budget_seconds: float = DEFAULT_SECONDS,
    feed_summary: str | None = None,
    charset: str | None = None,
) -> Record:
    """The record of one article page; `rule` is the site rule for `url`, if any (see RuleBook.for_url).

    `feed_summary`: the feed entry's content or description (HTML or text), when there is one. It only
    says how long the article is at least: a feed that carries the whole article shows that a best
    block much shorter than it is a part of the article (as the page's JSON-LD `articleBody` does).

    `charset`: what the page's bytes are in, when the caller knows (the fetcher's decoding found it):
    UTF-8 bytes then go to the parser as they are, with no decoding and encoding back (5-10% of the
    work on a large page). Without it, bytes are decoded by `scraper.charset`.

    Raises ExtractionBudgetError (an ExtractError) for a page that would take more than
    `budget_seconds` of CPU: that article fails with the reason, the run goes on.
    """
    budget = Budget(budget_seconds)
    tree = parse_page(_utf8(html, charset), budget)  # style sheets and scripts emptied, nesting checked
    tz = parse_offset(rule.timezone if rule else None)
    meta = read_metadata(tree, url, tz)
    title = _rule_text(tree, rule.title if rule else ()) or meta.title
    author = _rule_text(tree, rule.author if rule else ()) or meta.author
    published = meta.published or _rule_date(tree, rule.published if rule else (), tz)

    body_nodes, body_selector = _select_body(tree, rule.body) if rule and rule.body else ([], None)
    remove = rule.remove if rule else ()
    page_body = tree.body
    generic = not body_nodes and page_body is not None
    if generic and page_body is not None:
        drop_selected(page_body, remove)
        expected = max(meta.body_length, summary_length(feed_summary))
        site = Site(url, meta.canonical_url)
        body_nodes = find_main_content(page_body, budget, expected, site)  # drops the junk itself
    body_root = clean_body(tree, body_nodes, url, remove, title=title, junk_dropped=generic, budget=budget)
    return Record(
        title=title,
        author=author,
        published=published,
        lang=meta.lang,
        html=(body_root.inner_html or "").strip(),
        text=node_text(body_root, budget),
        canonical_url=meta.canonical_url,
        description=meta.description,
        image=meta.image,
        body_selector=body_selector,
    )


def _utf8(html: str | bytes, charset: str | None = None) -> bytes:
    """The page as UTF-8 bytes, the parser's input. Text is encoded once here, as the parser would
    (dropping lone surrogates). Bytes in a known charset are decoded with it, UTF-8 ones not at all (the
    parser reads a byte it cannot decode as U+FFFD, as the decoder would); bytes in an unknown charset
    are decoded by `scraper.charset` (a GBK page must read as GBK), and those that decode as UTF-8
    without a replacement are handed over as they are, saving the encoding back of a copy."""
    if isinstance(html, str):
        return html.encode("utf-8", "ignore")
    codec = normalise_label(charset)
    if codec == "utf-8":
        return html.removeprefix(codecs.BOM_UTF8)
    if codec is not None:
        return html.decode(codec, "replace").removeprefix("\ufeff").encode("utf-8", "ignore")
    text, codec = decode(html)
    if codec == "utf-8" and "\ufffd" not in text:
        return html
    return text.encode("utf-8", "ignore")


# A feed entry's content longer than this is not read for its length (the cap of what a feed parser
# keeps of an entry is far above any article; a larger one is not what the entry says about the page).
SUMMARY_MAX_CHARS = 1_000_000


def summary_length(summary: str | None) -> int:
    """Characters of a feed entry's content as text, white space collapsed as the JSON-LD length is;
    0 for none, and for something that is not a string or is too large to be an entry."""
    if not isinstance(summary, str) or not summary.strip() or len(summary) > SUMMARY_MAX_CHARS:
        return 0
    text = html_to_text(summary) if "<" in summary else summary
    return len(" ".join(text.split()))


def clean_fragment(html: str, url: str, rule: SiteRule | None = None) -> str:
    """A feed's own HTML content, cleaned like a page body."""
    return clean_fragment_html(html or "", url, rule.remove if rule else ())


def select_body(tree: LexborHTMLParser, selectors: Sequence[str]) -> list[LexborNode]:
    """All matches of the first body selector that matches anything, outermost only, in page order."""
    return _select_body(tree, selectors)[0]


def _select_body(tree: LexborHTMLParser, selectors: Sequence[str]) -> tuple[list[LexborNode], str | None]:
    """`select_body`, and the selector that matched (None when none did)."""
    for selector in selectors:
        try:
            nodes = tree.css(selector)
        except Exception:  # an invalid selector in a user's rule: try the next one
            continue
        if nodes:
            return _outermost(nodes), selector
    return [], None


def _outermost(nodes: list[LexborNode]) -> list[LexborNode]:
    """The matches not inside another match; each climb stops at an ancestor already answered, so a
    selector matching every level of a deep page costs the page's size, not N x depth."""
    inside: dict[int, bool] = {node.mem_id: True for node in nodes}  # "is or is under a match"
    kept: list[LexborNode] = []
    for node in nodes:
        if not climb_answer(node, inside, default=False):
            kept.append(node)
    return kept


def _rule_text(tree: LexborHTMLParser, selectors: Sequence[str]) -> str | None:
    for selector in selectors:
        node = _first(tree, selector)
        if node is not None:
            text = _SPACES.sub(" ", element_text(node)).strip()
            if text:
                return text
    return None


def _rule_date(tree: LexborHTMLParser, selectors: Sequence[str], tz: timezone) -> datetime | None:
    for selector in selectors:
        node = _first(tree, selector)
        if node is None:
            continue
        attributes = node.attributes
        for value in (attributes.get("datetime"), attributes.get("content"), element_text(node)):
            when = parse_date(value, tz)
            if when is not None:
                return when
    return None


def _first(tree: LexborHTMLParser, selector: str) -> LexborNode | None:
    try:
        return tree.css_first(selector)
    except Exception:  # an invalid selector in a user's rule
        return None
