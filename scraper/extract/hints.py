"""Class/id hints shared by the content finder and the cleaner.

Pages name their blocks for their own CSS; those names are the cheapest strong signal of what a block is.
The patterns follow the vocabulary of news templates (English and the pinyin/abbreviations of Chinese sites).
"""

from __future__ import annotations

import re
from functools import lru_cache

from selectolax.lexbor import LexborNode

# Blocks that are never the article, whatever else their names say.
_STRONG = r"""
    ad|ads|adv|advert\w*|adsbygoogle|dfp|gpt-ad|innity|outbrain|taboola|sponsor\w*|promo\w*|
    anzeige\w*|werbung|pub|publicite|publicité|publicidad|pubblicita|pubblicità|reklam\w*|koukoku|gwanggo|
    share\w*|social|sharing|sns|toolbar|tool-bar|
    comments?|comment-\w+|disqus|respond|
    related\w*|recommend\w*|more-stories|also-read|trending|popular|most-read|
    newsletter\w*|subscri\w*|signup|sign-up|microtransaction|
    cookie\w*|consent|gdpr|
    breadcrumbs?|pagination|pager|nav|navbar|navigation|menu|sidebar|side-bar|footer|masthead|site-header|
    visually-hidden|sr-only|skip-link|byline|author-bio|author-info|dateline|
    tuijian|xiangguan|pinglun|fenxiang|guanggao|paihang|cmt|cmts|crumbs?
"""
# "Read more" and "paywall": a teaser for another story or a subscription pitch, or the wrapper of the
# rest of this one, shown on a click or to subscribers (its text is in the page): furniture unless it
# holds the article's paragraphs.
_HIDES_REST = r"read-?more|readmore|paywall\w*"
# Blocks that are usually furniture, unless their names also say "article".
_WEAK = r"""
    banner|rail|widget\w*|topbar|header-wrap|membership|
    meta-info|article-meta|post-meta|tags?|tag-list|keywords|
    print|modal|popup|overlay|
    rank|ranking|foot|
    caption|credits?|image-credit|photo-credit|img-credit|image-caption|photo-caption|inline-caption
"""


def _words(alternatives: str, *, anywhere: bool) -> re.Pattern[str]:
    body = "".join(alternatives.split())
    start = r"(?:^|[_-])" if anywhere else "^"
    return re.compile(rf"(?i){start}(?:{body})(?:$|[_-])")


# Strong words count anywhere in a class name ("c-share-bar"), weak ones only at its start ("widget-area",
# not "elementor-widget-container").
JUNK_STRONG = _words(_STRONG, anywhere=True)
JUNK_WEAK = _words(_WEAK, anywhere=False)
HIDES_REST = _words(_HIDES_REST, anywhere=True)

# Captions named in one word ("newsCaption", "imgcaption", "photoCaptions"): weak, like "image-caption".
CAPTION_SUFFIX = re.compile(r"(?i)[a-z]caption(?:s|-?text)?$")

# Names that say "this is the article": they protect a block from the weak junk names.
ARTICLE = re.compile(
    r"(?i)article|post-?(?:body|content|text)|entry|story|main|content|body|text|detail|rawhtml|zhengwen|wenzhang"
)

# Class names that CMSs give the article body itself: a block with one is never dropped for its other names.
ARTICLE_BODY_CLASSES = frozenset(
    {
        "entry-content", "post-content", "post-body", "article-content", "article-body", "articlebody",
        "story-body", "story-content", "article-text", "main-content", "content-body", "body-text",
        "article__body", "article__content", "c-entry-content", "td-post-content", "field-name-body",
    }
)  # fmt: skip

# Ad slots marked by an attribute rather than named (named ones, `dfp-ad-*`, `div-gpt-ad-*`,
# `innity-in-post`, `adsbygoogle`, match the junk words above).
AD_ATTRIBUTE_NAMES = frozenset({"data-ad-slot", "data-google-query-id", "data-ad-unit", "data-dfp"})
AD_ATTRIBUTES = tuple(f"[{name}]" for name in sorted(AD_ATTRIBUTE_NAMES))


NEUTRAL, JUNK, ARTICLE_NAME, STRONG_JUNK, HIDDEN_REST = 0, 1, 2, 3, 5
# What a class or id value holds, as bits: one per token kind, and one for a CMS's article-body class.
_BODY_CLASS_BIT = 1 << 4
_JUNK_BITS = (1 << JUNK) | (1 << STRONG_JUNK)
# junk for `junk_names`, but no weight in the scores: a wrapper of the rest is judged by what it holds
_NAMED_JUNK_BITS = _JUNK_BITS | (1 << HIDDEN_REST)
_ARTICLE_BITS = (1 << ARTICLE_NAME) | _BODY_CLASS_BIT


# Class names repeat across a site's pages (ids less so): judged once per name, not per element.
@lru_cache(maxsize=1 << 16)
def token_kind(token: str) -> int:
    if JUNK_STRONG.search(token):
        return STRONG_JUNK
    if HIDES_REST.search(token):
        return HIDDEN_REST
    article = bool(ARTICLE.search(token))
    if (JUNK_WEAK.search(token) or CAPTION_SUFFIX.search(token)) and not article:
        return JUNK
    return ARTICLE_NAME if article else NEUTRAL


@lru_cache(maxsize=1 << 14)
def _class_bits(classes: str) -> int:
    """The kinds of tokens one class attribute holds; a page repeats its few class values on many
    elements, so each value is read once (a cache keyed by class and id together would miss on every
    element with an id)."""
    bits = 0
    for token in classes.split():
        if token.lower() in ARTICLE_BODY_CLASSES:
            bits |= _BODY_CLASS_BIT
        bits |= 1 << token_kind(token)
    return bits


@lru_cache(maxsize=1 << 14)
def _id_bits(ident: str) -> int:
    """As `_class_bits`, except an id of four words or more: that is an anchor made from a heading's
    text ("sharing-with-a-single-developer"), which says what the section is about, not what it is."""
    parts = _SLUG_PARTS.split(ident)
    if len(parts) >= 4 and all(part.isalpha() for part in parts):  # ad slots number theirs: div-gpt-ad-12
        return 0
    return _class_bits(ident)


_SLUG_PARTS = re.compile(r"[-_]")


def class_weight(node: LexborNode) -> int:
    """Readability's class weight: -25 for a furniture name, +25 for an article name."""
    attributes = node.attributes
    classes, ident = attributes.get("class"), attributes.get("id")
    bits = (_class_bits(classes) if classes else 0) | (_id_bits(ident) if ident else 0)
    weight = -25 if bits & _JUNK_BITS else 0
    return weight + 25 if bits & (1 << ARTICLE_NAME) else weight


# `_class_bits` and `_id_bits` of the values `junk_names` met, by value: a dict's `get` costs half a call
# of the cached functions, and `junk_names` is asked of every element of a page. Bounded as they are.
_CLASS_BITS: dict[str, int] = {}
_ID_BITS: dict[str, int] = {}
_NAMES_KEPT = 1 << 14


def junk_names(classes: str | None, ident: str | None) -> bool:
    """Furniture by name: some name says junk and none says article (asked of most elements of a
    page, so the cached look-ups are made here, not through helpers)."""
    bits = 0
    if classes:
        bits = _CLASS_BITS.get(classes, -1)
        if bits < 0:
            bits = _remembered(_CLASS_BITS, classes, _class_bits(classes))
    if ident:
        more = _ID_BITS.get(ident, -1)
        bits |= more if more >= 0 else _remembered(_ID_BITS, ident, _id_bits(ident))
    return bool(bits & _NAMED_JUNK_BITS) and not bits & _ARTICLE_BITS


def _remembered(known: dict[str, int], value: str, bits: int) -> int:
    """`bits` of `value`, kept in `known` (emptied when full, as a page's names are asked again soon)."""
    if len(known) >= _NAMES_KEPT:
        known.clear()
    known[value] = bits
    return bits


def may_hide_rest(classes: str | None, ident: str | None) -> bool:
    """Named "read more" or "paywall" and nothing else junk: a teaser or a pitch, or the wrapper of
    the rest of the article."""
    bits = (_class_bits(classes) if classes else 0) | (_id_bits(ident) if ident else 0)
    return bits & _NAMED_JUNK_BITS == 1 << HIDDEN_REST


# Posts from elsewhere quoted in the article (a tweet, an Instagram post): the article's content, even
# inside a wrapper named "social" that would otherwise read as a share bar. One compound selector: the
# parser tests the class of a blockquote only (a list of six tests every element six times: three times
# the instructions of the page-wide search for none).
_EMBEDDED_NAMES = ("tweet", "instagram", "tiktok", "facebook", "embed", "mastodon")
EMBEDDED_POST = "blockquote:is(" + ", ".join(f"[class*={name}]" for name in _EMBEDDED_NAMES) + ")"


def holds_embedded_post(node: LexborNode) -> bool:
    return node.css_first(EMBEDDED_POST) is not None


def only_weak_junk(classes: str | None, ident: str | None) -> bool:
    """Named only with the weak junk words ("popup", "tags", "caption"), none of the strong ones."""
    bits = (_class_bits(classes) if classes else 0) | (_id_bits(ident) if ident else 0)
    return bits & _NAMED_JUNK_BITS == 1 << JUNK
