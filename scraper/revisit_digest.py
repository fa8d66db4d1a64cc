"""Fingerprints of a page's bytes, so that an unchanged page is known without extracting it again.

Extraction is most of what a revisit of a page served again in full costs (a site without validators), so
a revisit first compares fingerprints of the raw bytes:

- `page_digest`: the bytes themselves. Equal: the very page seen last time.
- `stable_digest`: the bytes with their moving counters masked ("1,204 views", "views: 1,204",
  "3 hours ago"), found where a counter word is (a few `bytes.find`s over the lower-cased page) and matched
  there by the very shapes scraper.revisions takes out of the text before comparing. Equal: the page
  differs from the last one at most in counters that the comparison of texts would ignore anyway, so it is
  unchanged without an extraction. A counter written another way (in another script, split by markup, a
  moving clock) leaves the fingerprints different, and the page is extracted and compared as before: the
  fingerprint can only spare work, never hide an edit. (scraper.revisions also takes counters and clocks
  out of titles, so a counter in a headline is ignored there too.)

A page's stored digest (`articles.page_digest`) is the first, or both side by side once a revisit computed
the second (32 + 32 hex digits).
"""

from __future__ import annotations

import hashlib
import re

HEX = 32  # digits of one fingerprint (16 bytes)
_NOT_WORD = rb"(?![0-9a-z_\x80-\xff])"  # the end of an (ASCII) word, in UTF-8 or any other encoding
_SPACE = rb"[ \t\r\n]{0,3}"  # a little: scraper.revisions looks for a counter's label close to its number
# Where a counter may be (lower-case stems found with bytes.find), and what is masked there: its number
# only, never its words, so that a word changed beside it still makes another fingerprint.
_STEMS = (b"view", b"read", b"comment", b"share", b"like", b"repl", b"visit", b"seen", b"ago")
# "1,204 views", "3 hours ago": the number before the unit...
_UNIT_AT = re.compile(rb"(?:views?|reads?|readers|comments?|shares?|likes?|replies|visits?)" + _NOT_WORD)
_AGO_AT = re.compile(rb"ago" + _NOT_WORD)
_NUMBER = rb"\d[\d,.]*(?:[ \t]?[km])?"
_NUMBER_BEFORE_UNIT = re.compile(rb"(?<![\d,.:])(" + _NUMBER + rb")" + _SPACE + rb"\Z")
_NUMBER_BEFORE_AGO = re.compile(
    rb"(?<![\d,.:])("
    + _NUMBER
    + rb")"
    + _SPACE
    + rb"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?)"
    + _SPACE
    + rb"\Z"
)
# ... or the number after its label: "views: 1,204", "read by 35 people".
_LABELLED_AT = re.compile(
    rb"(?:views?|viewed|reads?|comments?|shares?|shared|likes?|liked|seen)"
    + _SPACE
    + rb"(?:by[ \t]{1,3})?:?"
    + _SPACE
    + rb"(\d[\d,.]*)(?![\d:])"
)
_REACH = 40  # bytes looked at before a unit word for its number
MASK = b"\x00"


def page_digest(body: bytes) -> str:
    """The bytes' fingerprint: the same bytes again need no extraction to be called unchanged. SHA-256
    (cut to 128 bits): where the CPU has SHA instructions, as here, half blake2b's time on a 180 KB page
    (0.12 ms against 0.24)."""
    return hashlib.sha256(body).hexdigest()[:HEX]


def stable_digest(body: bytes) -> str:
    """The fingerprint of the bytes with their counters' numbers masked (each by one mask byte, so a
    counter that moved elsewhere in the page still makes another fingerprint)."""
    spans = counter_spans(body.lower())
    if not spans:
        return page_digest(body)
    parts, last = [], 0
    for start, end in spans:
        if start < last:
            continue
        parts += [body[last:start], MASK]
        last = end
    parts.append(body[last:])
    return page_digest(b"".join(parts))


def counter_spans(low: bytes) -> list[tuple[int, int]]:
    """The (start, end) of each counter's number in the lower-cased page, in order."""
    spans = []
    for stem in _STEMS:
        at = low.find(stem)
        while at != -1:
            span = _number_at(low, at)
            if span is not None:
                spans.append(span)
            at = low.find(stem, at + len(stem))
    return sorted(spans)


def _number_at(low: bytes, at: int) -> tuple[int, int] | None:
    """The counter's number at the word found at `at`, if it is one of the shapes scraper.revisions
    takes out of a text: the number of "1,204 views" or "3 hours ago" (and not of "10:15 views", whose
    clock goes out instead), else that of "views: 1,204" (unless a number stands before its label too:
    "5 views: 1,204" keeps its second number in the text)."""
    window = max(0, at - _REACH)
    if low.startswith(b"ago", at):
        before = _NUMBER_BEFORE_AGO.search(low, window, at) if _AGO_AT.match(low, at) else None
        return before.span(1) if before is not None else None
    before = _NUMBER_BEFORE_UNIT.search(low, window, at) if _UNIT_AT.match(low, at) else None
    if before is not None:
        return before.span(1)
    labelled = _LABELLED_AT.match(low, at)
    if labelled is None or _NUMBER_BEFORE_UNIT.search(low, window, at) is not None:
        return None
    return labelled.span(1)


def split(stored: str | None) -> tuple[str | None, str | None]:
    """A stored digest as (bytes' fingerprint, counters-masked fingerprint or None)."""
    if not stored:
        return None, None
    return stored[:HEX], stored[HEX : 2 * HEX] or None
