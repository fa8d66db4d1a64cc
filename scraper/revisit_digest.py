"""Fingerprints of a page's bytes, so that an unchanged page is known without extracting it again.

Extraction is most of what a revisit of a page served again in full costs (a site without validators), so
a revisit first compares fingerprints of the raw bytes:

- `page_digest`: the bytes themselves. Equal: the very page seen last time.
- `stable_digest`: the bytes with their moving counters masked ("1,204 views", "评论 (12)", "3 hours ago"),
  looked for where a counter word is near a digit (a few `bytes.find`s over the lower-cased page), in the
  line of text around it as the extraction will lay it out (scraper.revisit_lines), by the very rule the
  comparison of texts applies (scraper.revisit_counters: only in a short element that is not a sentence).
  Equal: the page differs from the last one at most in counters that the comparison would leave out anyway,
  so it is unchanged without an extraction. A counter whose line cannot be read for sure from the bytes (a
  character reference, a table cell, another encoding) leaves the fingerprints different, and the page is
  extracted and compared as before: the fingerprint masks a subset of what the comparison leaves out, so it
  can only spare work, never hide an edit.

A page's stored digest (`articles.page_digest`) is the first, or both side by side once a revisit computed
the second (24 + 24 hex digits), followed by hints: where in the masked bytes each line of counters starts
(8 digits each, for pages with at most 2 such lines). A revisit of such a page first reads just those
lines (`hinted_digest`: ~0.15 ms on a 180 KB page, against ~0.8 for a search of the whole page); only if
that fingerprint differs is the page searched for counters everywhere.
"""

from __future__ import annotations

import hashlib
import re

from scraper.revisit_lines import line_at

HEX = 24  # digits of one fingerprint (12 bytes); a stored digest is two, and the hints (64 at most)
HINTS = 2  # lines of counters whose places are kept with the digest
HINT_HEX = 8  # digits of one hint
# Where a counter may be (lower-case stems found with bytes.find, a digit near): only there is a line read.
# Each stem is a scan of the whole page (a 180 KB page: 80 us each), so there are few: the counter words
# that pages show; a counter of another word is not masked here, and its page is extracted and compared.
_STEMS = (b"view", b"read", b"comment", b"share", b"like", b"repl", b"ago")
# Chinese and Japanese stems (UTF-8), and the first byte of each: a page without that byte (one memchr, a
# few microseconds) is not scanned for the stem.
_CJK_STEMS = tuple(
    (stem.encode()[:1], stem.encode())
    for stem in ("阅读", "浏览", "评论", "赞", "分享", "转发", "回复", "前", "看过", "コメント", "閲覧")
)
_DIGIT = re.compile(rb"\d")
_REACH = 40  # bytes either side of a stem looked at for a digit
MASK = b"\x00"


def page_digest(body: bytes) -> str:
    """The bytes' fingerprint: the same bytes again need no extraction to be called unchanged. SHA-256
    (cut to 96 bits: two versions of one article, not a collection): where the CPU has SHA instructions,
    as here, half blake2b's time on a 180 KB page (0.12 ms against 0.24)."""
    return hashlib.sha256(body).hexdigest()[:HEX]


def stable_digest(body: bytes) -> str:
    """The fingerprint of the bytes with their counters masked (each run of bytes by one mask byte, so a
    counter that moved elsewhere in the page still makes another fingerprint)."""
    return stable_fingerprint(body)[0]


def stable_fingerprint(body: bytes) -> tuple[str, str]:
    """The counters-masked fingerprint, and the hints to its lines for `hinted_digest` ("" if the page
    has more than HINTS lines of counters)."""
    lines = counter_lines(body.lower())
    hints, removed = [], 0
    for ranges in lines:
        hints.append(ranges[0][0] - removed)  # where the line's first mask is in the masked bytes
        removed += sum(end - start - 1 for start, end in ranges)
    text = "".join(f"{hint:0{HINT_HEX}x}" for hint in hints) if len(hints) <= HINTS else ""
    return _masked_digest(body, [span for ranges in lines for span in ranges]), text


def hinted_digest(body: bytes, hints: tuple[int, ...]) -> str | None:
    """The counters-masked fingerprint as the last page's hints say it is made: the lines at the hinted
    places read (each checked to be a line of counters whose first mask is there), without looking for
    counters anywhere else, which is most of `stable_fingerprint`'s time. None if a hint does not hold.
    Equal to the last page's: the page differs from it at most in those lines' counters."""
    low = body.lower()
    spans: list[tuple[int, int]] = []
    shift, done = 0, 0
    for hint in hints:
        at = hint + shift
        line = line_at(low, at) if done <= at < len(low) else None
        if line is None or not line[1] or line[1][0][0] != at:
            return None
        done, ranges = line
        spans += ranges
        shift += sum(end - start - 1 for start, end in ranges)
    return _masked_digest(body, spans)


def _masked_digest(body: bytes, spans: list[tuple[int, int]]) -> str:
    parts, last = [], 0
    for start, end in spans:
        parts += [body[last:start], MASK]
        last = end
    parts.append(body[last:])
    return page_digest(b"".join(parts))


def counter_spans(low: bytes) -> list[tuple[int, int]]:
    """The (start, end) of each masked piece in the lower-cased page, in order."""
    return [span for ranges in counter_lines(low) for span in ranges]


def counter_lines(low: bytes) -> list[list[tuple[int, int]]]:
    """The masked pieces of each line that has any, in order: the counters, clocks and "updated" that
    scraper.revisit_counters finds in the segments of the lines where a counter word is near a digit,
    in lines whose text is read exactly here (scraper.revisit_lines)."""
    lines: list[list[tuple[int, int]]] = []
    done = -1  # the end of the last line read: a line is read once, whatever number of counters it has
    for at in sorted(_candidates(low)):
        if at < done:
            continue
        line = line_at(low, at)
        if line is not None:
            done, ranges = line
            if ranges:
                lines.append(ranges)
    return lines


def _candidates(low: bytes) -> list[int]:
    """Where a counter word is with a digit near it."""
    found = []
    leads = {lead for lead, _ in _CJK_STEMS if lead in low}
    stems = [*_STEMS, *(stem for lead, stem in _CJK_STEMS if lead in leads)]
    for stem in stems:
        at = low.find(stem)
        while at != -1:
            if _DIGIT.search(low, max(0, at - _REACH), at + len(stem) + _REACH) is not None:
                found.append(at)
            at = low.find(stem, at + len(stem))
    return found


def split(stored: str | None) -> tuple[str | None, str | None, tuple[int, ...]]:
    """A stored digest as (bytes' fingerprint, counters-masked fingerprint or None, hints to its lines).
    A digest stored before the hints (32 + 32 digits) reads as a fingerprint that matches no page's and
    hints that do not hold: the page is extracted once, and its digest stored anew."""
    if not stored:
        return None, None, ()
    tail = stored[2 * HEX :]
    try:
        hints = tuple(int(tail[at : at + HINT_HEX], 16) for at in range(0, len(tail), HINT_HEX))
    except ValueError:
        hints = ()
    return stored[:HEX], stored[HEX : 2 * HEX] or None, hints
