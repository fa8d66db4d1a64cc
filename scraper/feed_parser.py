"""feedparser, with the one pattern of its own that a feed can make quadratic replaced by a linear one.

feedparser looks for an e-mail address in an RSS author (`author`, `managingEditor`, `webMaster`,
`dc:creator`, `dc:publisher`, `itunes:owner`) with a pattern searched from every position of the text:
from each start inside a run of the local part's characters it takes the rest of the run, then backtracks
over it. A run of n letters costs n² steps, in C with the GIL held: a feed whose author was 100 KB of
letters held a poll for minutes, and the daemon's other feeds and /healthz with it.

The same pattern anchored at the start of such a run finds the same address (the leftmost match always
starts there: a later start in the run has the same rest, which the run's start takes in too) in linear
time. It is put in place of feedparser's (a method of its parser class, the only way in) when a feed is
first parsed, never at import.
"""

from __future__ import annotations

import re
from typing import Any

# feedparser 6.0's pattern (mixin._sync_author_detail), behind a look-behind for its first class.
_EMAIL = re.compile(
    r"(?<![a-zA-Z0-9_\-.+])"
    r"(([a-zA-Z0-9_\-.+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"
    r"([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"
)


def parse(data: bytes, **options: Any) -> Any:
    """`feedparser.parse(data, **options)`, its author pattern the linear one."""
    import feedparser

    mixin = feedparser.mixin._FeedParserMixin
    if mixin._sync_author_detail is not _sync_author_detail:
        mixin._sync_author_detail = _sync_author_detail
    return feedparser.parse(data, **options)


def _sync_author_detail(self: Any, key: str = "author") -> None:
    """feedparser 6.0's `_FeedParserMixin._sync_author_detail`, line for line, but for `_EMAIL`."""
    from feedparser import FeedParserDict

    context = self._get_context()
    detail = context.get(f"{key}s", [FeedParserDict()])[-1]
    if detail:
        name, email = detail.get("name"), detail.get("email")
        if name and email:
            context[key] = f"{name} ({email})"
        elif name:
            context[key] = name
        elif email:
            context[key] = email
        return
    author, email = context.get(key), None
    if not author:
        return
    match = _EMAIL.search(author)
    if match:
        email = match.group(0)
        author = author.replace(email, "").replace("()", "").replace("<>", "").replace("&lt;&gt;", "")
        author = author.strip()
        if author and author[0] == "(":
            author = author[1:]
        if author and author[-1] == ")":
            author = author[:-1]
        author = author.strip()
    if author or email:
        context.setdefault(f"{key}_detail", detail)
    if author:
        detail["name"] = author
    if email:
        detail["email"] = email
