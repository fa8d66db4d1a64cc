"""The line of extracted text a place in a page's bytes falls in, read from the bytes themselves.

scraper.revisit_digest masks a page's counters without extracting it; a number is a counter only in a
short element of the text (scraper.revisit_counters), so the fingerprint needs the very line the extracted
text will have around it: the text pieces joined across inline tags (<span>, <a>, <b>...) up to the tags
that break a line in scraper.extract.text's layout (<p>, <div>, <li>, <br>...), Unicode-normalised and
with single spaces as that layout has them. Where that cannot be told for sure from the bytes (another
tag, a character reference, a comment, bytes not UTF-8, a line too long), the line is not read and
nothing in it is masked: the page is then extracted and compared, as it would be without a fingerprint.
"""

from __future__ import annotations

import re
import unicodedata

from scraper.revisit_counters import line_spans

_LINE_REACH = 400  # bytes either side of a counter word looked at for its line
_TAG = re.compile(rb"</?([a-z][a-z0-9]*)(?:[\s/][^<>]*)?>")
# Tags that end a line of the extracted text (some of scraper.extract.text's BLOCK_TAGS, and <br>), and
# tags its layout reads through; any other tag leaves the line unread.
_BREAKS = frozenset(
    b"p div section article main header footer aside nav blockquote ul ol li dl dt dd table thead tbody "
    b"tfoot tr h1 h2 h3 h4 h5 h6 hr address center form body html br".split()
)
_INLINES = frozenset(
    b"span a b strong em i small time abbr font u s mark cite q sup sub bdi label img wbr data".split()
)
_BREAK, _INLINE = object(), object()
_NOT_SPACE = re.compile(r"\S+")


def line_at(low: bytes, at: int) -> tuple[int, list[tuple[int, int]]] | None:
    """The line of text (as scraper.extract.text lays it out) around `at` in the lower-cased page: where it
    ends and the byte ranges to mask in it; None where the line cannot be read for sure here (a tag not
    known to be inline or to break the line, a character reference, a comment, not UTF-8, too long)."""
    lo, hi = max(0, at - _LINE_REACH), min(len(low), at + _LINE_REACH)
    start = low.rfind(b">", lo, at) + 1
    end = low.find(b"<", at, hi)
    if start == 0 or end == -1 or low.find(b"<", start, at) != -1:
        return None
    pieces = [(start, end)]
    if not _walk_left(low, start - 1, lo, pieces):
        return None
    line_end = _walk_right(low, end, hi, pieces)
    masked = _masked(low, pieces) if line_end is not None else None
    return (line_end, masked) if line_end is not None and masked is not None else None


def _walk_left(low: bytes, gt: int, lo: int, pieces: list[tuple[int, int]]) -> bool:
    """Prepend the text before the tag ending at `gt` to the line's pieces, over inline tags, up to a
    tag that breaks the line (True) or one that is neither (False: the line is not read)."""
    while True:
        lt = low.rfind(b"<", lo, gt)
        kind = _tag_kind(low[lt : gt + 1]) if lt != -1 else None
        if kind is not _INLINE:
            return kind is _BREAK
        text_start = low.rfind(b">", lo, lt) + 1
        if text_start == 0 or low.find(b"<", text_start, lt) != -1:
            return False
        pieces.insert(0, (text_start, lt))
        gt = text_start - 1


def _walk_right(low: bytes, lt: int, hi: int, pieces: list[tuple[int, int]]) -> int | None:
    """Append the text after the tag starting at `lt`, as `_walk_left` does; where the line ends."""
    while True:
        gt = low.find(b">", lt, hi)
        kind = _tag_kind(low[lt : gt + 1]) if gt != -1 else None
        if kind is not _INLINE:
            return lt if kind is _BREAK else None
        text_end = low.find(b"<", gt + 1, hi)
        if text_end == -1:
            return None
        pieces.append((gt + 1, text_end))
        lt = text_end


def _tag_kind(tag: bytes) -> object | None:
    """_BREAK, _INLINE or None (another tag, a comment, a doctype, or a tag whose quotes are unbalanced:
    a '<' or '>' inside an attribute makes it something else than it seems)."""
    match = _TAG.fullmatch(tag)
    if match is None or tag.count(b'"') % 2 or tag.count(b"'") % 2:
        return None
    name = match.group(1)
    return _BREAK if name in _BREAKS else _INLINE if name in _INLINES else None


def _masked(low: bytes, pieces: list[tuple[int, int]]) -> list[tuple[int, int]] | None:
    """The byte ranges of the line's counters: the line's text as the extracted text has it (pieces
    joined, NFKC, casefolded, white space single), each char mapped back to its bytes."""
    chars: list[str] = []
    where: list[tuple[int, int]] = []  # each char's bytes
    for start, end in pieces:
        raw = low[start:end]
        if b"&" in raw or b"\x00" in raw:
            return None
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            return None
        chars.append(text)
        if text.isascii():
            where += [(at, at + 1) for at in range(start, end)]
            continue
        for letter in text:
            width = len(letter.encode())
            where.append((start, start + width))
            start += width
    line = unicodedata.normalize("NFKC", "".join(chars)).casefold()
    if len(line) != len(where):
        return None
    words = list(_NOT_SPACE.finditer(line))
    index: list[int] = []  # the char of `line` at each char of the collapsed line
    for word in words:
        if index:
            index.append(word.start() - 1)
        index += range(word.start(), word.end())
    collapsed = " ".join(word.group() for word in words)
    ranges: list[tuple[int, int]] = []
    for span_start, span_end in line_spans(collapsed):
        for char in index[span_start:span_end]:
            first, last = where[char]
            if ranges and ranges[-1][1] == first:
                ranges[-1] = (ranges[-1][0], last)
            else:
                ranges.append((first, last))
    return ranges
