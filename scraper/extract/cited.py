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

from selectolax.lexbor import LexborNode

from scraper.extract.site import Leads, Site

# An address as a reader sees it: a URL with its scheme or its "www.", or an e-mail address.
_ADDRESS = re.compile(
    r"(?i)^(?:(?:https?|ftp)://[^\s/]+\S*|www\.[\w-]+\.[^\s]+|(?:mailto:)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+)$"
)


def shows_address(paragraph: LexborNode) -> bool:
    """Whether every link of `paragraph` (one at least) reads as an address: the paragraph cites."""
    links = paragraph.css("a")
    if not links:
        return False
    return all(_ADDRESS.match((link.text(deep=True) or "").strip()) for link in links)


def names_source(paragraph: LexborNode, site: Site | None = None) -> bool:
    """Whether `paragraph` comes right after a quote and its links lead to another site (when the page's
    site is known): they are where the quoted words are from, not a button to the site's own offer."""
    before = paragraph.prev
    while before is not None and not before.is_element_node:
        if (before.text_content or "").strip():
            return False  # words between them: the paragraph follows them, not the quote
        before = before.prev
    if before is None or before.tag != "blockquote":
        return False
    if site is None:
        return True
    return all(site.leads(link.attributes.get("href")) is not Leads.OWN for link in paragraph.css("a"))


def heads_a_part(heading: LexborNode, site: Site | None) -> bool:
    """Whether a heading made of links heads a part of this article: its links lead to another site (a
    listicle's item titled with a link to the thing it reviews) or into the page (a section's anchor),
    where a heading linking to the site's own pages is another story's ("Related: ...")."""
    if site is None:
        return False
    return all(
        site.leads(link.attributes.get("href")) in (Leads.ELSEWHERE, Leads.HERE) for link in heading.css("a")
    )
