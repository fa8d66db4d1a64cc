"""Which host a URL belongs to, and a fair order of work over hosts.

Politeness paces requests per host, claims spread pending articles over hosts, the backfill keeps one line
of jobs per host, and a post from no feed is credited to its site: all of them must agree on what "the
host" of a URL is, so it is computed here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

HOST_KEY_LENGTH = 255  # the length of the `articles.host` column (a real host name is at most 253)

Item = TypeVar("Item")


def host_key(url: str) -> str:
    """The host as politeness keys it: lower case, no port, no brackets; "" for a URL without one (or one
    urlsplit refuses, such as an unclosed IPv6 bracket)."""
    try:
        return (urlsplit(url).hostname or "").lower()[:HOST_KEY_LENGTH]
    except ValueError:
        return ""


def site_name(url: str) -> str:
    """A site's name for people: its host without a leading "www."."""
    return host_key(url).removeprefix("www.")


def spread_over_hosts(
    items: Sequence[Item], host_of: Callable[[Item], str], room: Callable[[str], int] | None = None
) -> list[Item]:
    """Round-robin over hosts (first-seen order kept within a host), at most `room(host)` of each:
    a, b, c, a, b, a, ..."""
    by_host: dict[str, list[Item]] = {}
    for item in items:
        host = host_of(item)
        line = by_host.setdefault(host, [])
        if room is None or len(line) < room(host):
            line.append(item)
    ordered: list[Item] = []
    queues = [iter(queue) for queue in by_host.values()]
    while queues:
        still = []
        for queue in queues:
            head = next(queue, None)
            if head is not None:
                ordered.append(head)
                still.append(queue)
        queues = still
    return ordered
