"""Promotions inside an article body, found without a site rule.

A site rule can name its own promo box; the generic finder must also catch the common shape: an image
that is the whole of a link to another site's subscribe/offer page ("3 months for 99 cents", a paywall
banner). It says nothing as text, so the text-based judges keep it; its destination and its picture name
give it away. A photo linking to its full-size version, or to a page on the same site, is left alone.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from selectolax.lexbor import LexborNode

from scraper.extract.measure import first_tagged

# Where promotions lead and what their banners are called, in the languages of the sites users archive.
_PROMO_WORDS = re.compile(
    r"(?i)(?:^|[^a-z])(?:subscri\w*|promo\w*|offers?|paywall|freemium|membership|signup|sign-up|"
    r"newsletter|checkout|abo|abonn\w*|suscri\w*|assinatura|abbonam\w*|dingyue)(?:$|[^a-z])|utm_campaign="
)
# A sentence that asks the reader to pay, buy, sign up or advertise, in the words site furniture opens with:
# an article reports such things ("millions subscribe to ..."), the site's own box asks them.
_ASKS = re.compile(
    r"(?i)(?:^|[.!?:]\s)\W*(?:subscribe|sign (?:up|in)|log ?in|register (?:now|today|here)|advertise|"
    r"become a (?:member|subscriber)|get (?:unlimited|full) access|download (?:our|the) app|"
    r"buy (?:it |now |one )?(?:on|at|from)|shop now|"
    r"abonnieren|abonnez|suscr[ií]bete)\b"
)
# Two-letter second-level labels of country domains (example.co.uk, example.com.sg): the site is one
# label further left.
_IMAGE = frozenset({"img"})
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go"})


def site_of(url: str) -> str:
    """The registrable part of a URL's host, near enough: the last two labels, three under co.uk-like."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""
    labels = host.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def is_promo_link(link: LexborNode, href: str, page_url: str) -> bool:
    """An image-only link to another site whose address or picture reads like a promotion."""
    if (link.text() or "").strip():
        return False
    image = first_tagged(link, _IMAGE, "img")
    if image is None:
        return False
    target = site_of(href)
    if not target or target == site_of(page_url):
        return False
    picture = " ".join(value or "" for value in image.attributes.values())
    return reads_as_promo(href) or reads_as_promo(picture)


# The words of `_PROMO_WORDS` as they must appear, lowered, in an ASCII text it matches.
_PROMO_STEMS = (
    "subscri", "promo", "offer", "paywall", "freemium", "membership", "signup", "sign-up", "newsletter",
    "checkout", "abo", "suscri", "assinatura", "abbonam", "dingyue", "utm_campaign=",
)  # fmt: skip


def reads_as_promo(text: str) -> bool:
    """Whether an address or an image's attributes name a promotion (`_PROMO_WORDS`). The pattern,
    case-insensitive, tries each of its words at every character (a long srcset costs 200k
    instructions); an ASCII text holding none of them, lowered, cannot match and is not asked it.
    Other texts are (the pattern folds some non-ASCII letters to ASCII ones: "\u017f" is "s")."""
    if text.isascii():
        lowered = text.lower()
        if not any(stem in lowered for stem in _PROMO_STEMS):
            return False
    return bool(_PROMO_WORDS.search(text))


def asks_reader(text: str) -> bool:
    """Whether `text` has a sentence that opens by asking the reader to subscribe, buy, sign up, log in
    or advertise: the site's own pitch, not words of an article (which reports such things)."""
    return bool(_ASKS.search(text))
