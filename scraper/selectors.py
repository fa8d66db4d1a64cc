"""A configured body selector that matched nothing. The extractor then falls back to the generic finder,
which is often right, so the article is kept; but the operator is told (a log line naming the feed and
selector, the article's note in `status`, a metric), since it usually means the site changed its markup.
Whether it matched is the extracted record's `body_selector`: the page is not parsed again to ask."""

from __future__ import annotations


def selector_missed(selector: str) -> str:
    """The note kept on an article archived without its feed's selector."""
    return f"selector {selector!r} matched nothing on the page: the generic finder was used"
