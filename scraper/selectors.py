"""Does a configured body selector find anything on a page? A selector that matches nothing makes the
extractor fall back to the generic finder, which is often right, so the article is kept; but the operator
is told (a log line naming the feed and selector, the article's note in `status`, a metric), since it
usually means the site changed its markup."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, SelectolaxError


def selector_matches(page: str | bytes, selector: str) -> bool:
    """True when the selector matches at least one element (an invalid one matches nothing)."""
    try:
        return LexborHTMLParser(page).css_first(selector) is not None
    except (SelectolaxError, ValueError):
        return False


def selector_missed(selector: str) -> str:
    """The note kept on an article archived without its feed's selector."""
    return f"selector {selector!r} matched nothing on the page: the generic finder was used"
