"""A paragraph that shows an address: the article cites a web page or a mailbox, written out.

The finder drops a paragraph that is mostly a link ("READ MORE: <other story>"): its link text is a
headline of another page. A link whose text is the address itself (`http://www.example.org/petition`,
`info@example.org`) is different: the author shows the reader where to go or whom to write, which is
what the sentence before it is about ("sign this petition:"), and a teaser never reads like that.
A link standing alone right under a quote is the same: it names the quote's source ("[Engadget]" under a
review roundup's excerpt), where a "read more" line follows a paragraph of the article's own.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from selectolax.lexbor import LexborNode

from scraper.extract.promo import asks_reader
from scraper.extract.site import Leads, Site

# An address as a reader sees it: a URL with its scheme or its "www.", or an e-mail address.
_ADDRESS = re.compile(
    r"(?i)^(?:(?:https?|ftp)://[^\s/]+\S*|www\.[\w-]+\.[^\s]+|(?:mailto:)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+)$"
)


def shows_address(paragraph: LexborNode, site: Site | None = None) -> bool:
    """Whether every link of `paragraph` (one at least) reads as an address, none a page or a mailbox
    of the page's own site (when it is known), and its own words ask nothing: the paragraph cites. The
    site's own offer page, its advertising desk, a row of its sections, or a pitch around an address
    ("Subscribe at www...") are the site's furniture, which the "read more" rule is there to drop.
    The site's bare name ("www.<site>" under a post) is how a blog signs: it is kept."""
    links = paragraph.css("a")
    if not links:
        return False
    for link in links:
        shown = _ADDRESS.match((link.text(deep=True) or "").strip())
        if shown is None or (site is not None and _own_page(shown.group(), site)):
            return False
    return not asks_reader(paragraph.text(deep=True) or "")


def _own_page(address: str, site: Site) -> bool:
    """Whether an address as written out is a mailbox or a page (a path past the host) of `site`."""
    if "@" in address and "/" not in address:
        return site.owns(address.rpartition("@")[2])
    if "://" not in address:
        address = "//" + address
    try:
        parts = urlsplit(address)
        host = parts.hostname or ""
    except ValueError:
        return False
    return parts.path.strip("/") != "" and site.owns(host)


def names_source(paragraph: LexborNode, site: Site | None = None) -> bool:
    """Whether `paragraph` comes right after a quote and its links lead to another site (when the page's
    site is known): they are where the quoted words are from, not a button to the site's own offer."""
    before = paragraph.prev
    while before is not None and not before.is_element_node:
        if (before.text_content or "").strip():
            return False  # words between them: the paragraph follows them, not the quote
        before = before.prev
    if before is None or before.tag != "blockquote" or asks_reader(paragraph.text(deep=True) or ""):
        return False  # ("Buy it on <shop>" under a quote is a button, not its source)
    if site is None:
        return True
    return all(site.leads(link.attributes.get("href")) is not Leads.OWN for link in paragraph.css("a"))


def heads_a_part(heading: LexborNode, site: Site | None) -> bool:
    """Whether a heading made of links heads a part of this article: its links lead to another site (a
    listicle's item titled with a link to the thing it reviews) or into the page (a section's anchor),
    where a heading linking to the site's own pages is another story's ("Related: ..."). A part has
    words under its heading: a row of bare links out in headings ("From around the web", a sponsored
    widget) is a list of links, whatever it leads to."""
    if site is None:
        return False
    links = heading.css("a")
    leads = [site.leads(link.attributes.get("href")) for link in links]
    if not all(lead in (Leads.ELSEWHERE, Leads.HERE) for lead in leads):
        return False
    if Leads.ELSEWHERE not in leads:
        return True  # a section's own anchor
    own_words = len((heading.text() or "").strip()) - sum(len((link.text() or "").strip()) for link in links)
    return own_words > OWN_WORDS_CHARS or _words_follow(heading)


# A heading with this many characters outside its links says something itself ("Prepared by <a>").
OWN_WORDS_CHARS = 3
# Under a part's heading, a sentence at least (not "Sponsored by X"), past its pictures.
PART_MIN_CHARS = 80
_PICTURES = frozenset({"figure", "picture", "img", "video", "iframe"})


def _words_follow(heading: LexborNode) -> bool:
    after = heading.next
    while after is not None:
        if after.is_element_node:
            if after.tag in _HEADINGS:
                return False
            if after.tag not in _PICTURES:
                return len((after.text() or "").strip()) >= PART_MIN_CHARS
        elif (after.text_content or "").strip():
            return True  # the part's words follow the heading as text of the parent
        after = after.next
    return False


_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
