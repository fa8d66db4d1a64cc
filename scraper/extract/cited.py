"""A paragraph that shows an address: the article cites a web page or a mailbox, written out.

The finder drops a paragraph that is mostly a link ("READ MORE: <other story>"): its link text is a
headline of another page. A link whose text is the address itself (`http://www.example.org/petition`,
`info@example.org`) is different: the author shows the reader where to go or whom to write, which is
what the sentence before it is about ("sign this petition:"), and a teaser never reads like that.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

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
