"""Where a page's links go: to the page's own site (its other stories), elsewhere, or to a spot on the page.

Teasers point at the site's own stories; a listicle's items, a shop's products and citations point
elsewhere, and a table of contents or footnotes point into the page itself. The finder asks this of
linked headings, so that a list of them is judged by where it leads as well as by its shape.
"""

from __future__ import annotations

from enum import Enum
from urllib.parse import urlsplit


class Leads(Enum):
    OWN = "own"  # another page of the page's own site
    ELSEWHERE = "elsewhere"  # another site
    HERE = "here"  # a spot on this page (a fragment)
    UNKNOWN = "unknown"  # no page address to judge by, or an href that is not a web address


# Second-level labels that country registries hand out under their two-letter domains (co.uk, com.br,
# ne.jp, gov.au, ac.kr): under one of them the site is one label further left. A length rule instead
# ("three letters or fewer") took short site names for registries: orf.at, srf.ch, nos.nl, svt.se, taz.de.
_REGISTRY_LABELS = frozenset(
    {"ac", "co", "com", "ed", "edu", "go", "gob", "gov", "gv", "lg", "ltd", "mil", "ne", "net", "nom", "or",
     "org", "plc", "sch"}
)  # fmt: skip


def site_key(host: str) -> str:
    """The part of a host that names the site (`news.bbc.co.uk` and `www.bbc.co.uk` give `bbc.co.uk`):
    its sections and mirrors live on subdomains, and their links are the site's own."""
    labels = host.lower().rstrip(".").split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _REGISTRY_LABELS:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


class Site:
    """The site a page belongs to, by the page's address and the one it declares (its canonical URL: a
    page fetched through a mirror or a proxy still names its own site there)."""

    __slots__ = ("_keys",)

    def __init__(self, *urls: str | None) -> None:
        self._keys = frozenset(site_key(host) for host in (_host(url) for url in urls if url) if host)

    def leads(self, href: str | None) -> Leads:
        href = (href or "").strip()
        if href.startswith("#"):
            return Leads.HERE
        if not self._keys or not href:
            return Leads.UNKNOWN
        try:
            parts = urlsplit(href)
        except ValueError:
            return Leads.UNKNOWN
        if parts.scheme and parts.scheme not in ("http", "https"):
            return Leads.UNKNOWN  # mailto:, javascript: ...: not a page of any site
        if not parts.netloc:
            return Leads.OWN  # a relative address stays on the site
        host = parts.hostname
        return Leads.OWN if host and site_key(host) in self._keys else Leads.ELSEWHERE

    def owns(self, host: str) -> bool:
        """Whether `host` (a written-out address's host or an e-mail's domain) is this site's."""
        return bool(host) and site_key(host) in self._keys


def _host(url: str) -> str | None:
    try:
        return urlsplit(url.strip()).hostname
    except ValueError:
        return None
