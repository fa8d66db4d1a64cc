"""A CPU budget per page, checked cooperatively by the walks over its tree.

A hostile page (30,000 nested lists) must cost one article a few seconds, not stall a worker. The HTML
parser is C and cannot be interrupted, and building a tree nested N deep costs it N² (the standard's
"element in scope" checks walk the stack of open elements), so the nesting is measured before parsing,
in one linear scan, and a page nested deeper than a browser would build is refused outright. After the
parse every walk checks the budget (this thread's CPU time) every few hundred nodes.
"""

from __future__ import annotations

import re
import time

from scraper.errors import ExtractionBudgetError

DEFAULT_SECONDS = 5.0
# Blink stops nesting at 512 and real articles stay far below it; past this the parse alone turns quadratic.
MAX_NESTING = 1024
# Pages with at most this many tags are parsed without the scan: nested all the way down, they still
# parse in about half a second on this machine (the quadratic cost is small at that size).
SCAN_ABOVE_TAGS = 20_000
# Walks read the clock when `index & CHECK_EVERY == 0`: every 256 nodes (a power of two, minus one).
CHECK_EVERY = 255

# Elements that never nest in a parsed tree: void ones, and those a new sibling closes implicitly.
_FLAT = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
        "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "rp", "rt",
        "script", "style", "title", "textarea",
    }
)  # fmt: skip
_TAG = re.compile(rb"<(/?)([a-zA-Z][a-zA-Z0-9-]*)")
_FLAT_BYTES = frozenset(name.encode() for name in _FLAT)
# Counts `more_tags_than` makes before counting the rest whole (the benchmark's pages need 1-6, most 2-3).
_COUNT_ROUNDS = 8


class Budget:
    """Seconds of CPU one page may take; every walk over nodes calls `check()` every few hundred.

    Reading a thread's CPU clock is a system call (about 10 us on a VM, as long as extracting a small
    page's paragraph): a thread cannot have used more CPU than the wall time since it started, so the
    CPU clock is read only once the wall clock, read in user space, has passed the budget.
    """

    __slots__ = ("_deadline", "_wall_deadline", "seconds")

    def __init__(self, seconds: float = DEFAULT_SECONDS) -> None:
        self.seconds = seconds
        self._wall_deadline = time.perf_counter() + seconds
        self._deadline = time.thread_time() + seconds

    def check(self) -> None:
        if time.perf_counter() <= self._wall_deadline:
            return
        if time.thread_time() > self._deadline:
            raise ExtractionBudgetError(f"the page took more than {self.seconds:g} s of CPU to extract")


def check_nesting(html: str | bytes, limit: int = MAX_NESTING, scan_above: int = SCAN_ABOVE_TAGS) -> None:
    """Refuse a page whose elements nest deeper than `limit`, before the parser spends N² on it.

    The parser's stack of open elements, simulated on the tags alone: a close tag pops back to its
    element (closing what was left open inside it), a stray one is ignored. A page with at most
    `scan_above` tags parses in half a second at most however it nests (and cannot nest past the
    limit if it has fewer tags than that), so one count skips the scan for nearly every page.

    Read as the UTF-8 bytes the parser is given: counting a byte is a `memchr` loop, counting a
    character of a str holding any non-Latin-1 character (curly quotes) is several times slower.
    """
    data = html.encode("utf-8", "ignore") if isinstance(html, str) else html
    if not more_tags_than(data, max(limit, scan_above)):
        return
    stack: list[bytes] = []
    open_count: dict[bytes, int] = {}
    for closing, name in _TAG.findall(data):
        name = name.lower()
        if name in _FLAT_BYTES:
            continue
        if not closing:
            stack.append(name)
            open_count[name] = open_count.get(name, 0) + 1
            if len(stack) > limit:
                raise ExtractionBudgetError(
                    f"the page nests elements more than {limit} deep (a browser stops at 512)"
                )
        elif open_count.get(name):
            while True:
                popped = stack.pop()
                open_count[popped] -= 1
                if popped == name:
                    break


def more_tags_than(data: bytes, bound: int) -> bool:
    """Whether `data` holds more than `bound` `<`, as `data.count(b"<") > bound` says, counting fewer
    bytes: a `<` is a byte, so once the bytes counted leave room for every byte left to be one, those
    are not counted. A page has a few thousand tags, well under the bound: its last ~15,000 bytes (a
    sixth of a page) need no count, and a page of fewer bytes than the bound none. `bytes.count` of
    one byte is a byte loop, about 5 instructions a byte.

    Each round counts up to where the rest could hold no more than the room left; it ends the count
    unless it found a `<` (which takes that much room). After `_COUNT_ROUNDS` the rest is counted."""
    counted, start, end = 0, 0, len(data)
    for _ in range(_COUNT_ROUNDS):
        room = bound - counted
        if end - start <= room:
            return False
        stop = end - room
        counted += data.count(b"<", start, stop)
        if counted > bound:
            return True
        start = stop
    return counted + data.count(b"<", start) > bound
