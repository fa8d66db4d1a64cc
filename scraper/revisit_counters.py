"""Counters and clocks in a page's text: the parts that move on every visit without being an edit.

A number beside a counter word is a counter ("1,204 views", "Views: 1,204", "评论 (12)", "3 hours ago")
only in a short element that is not a sentence: a line of the text, or a piece of a line between
separators ("·", "|"), that says little besides its counters. Inside the article's sentences the same
shapes are the text ("the bill was read 3 times in parliament", "shared by 3 heirs"), and a changed figure
there is an edit a reader would note.

scraper.revisions takes what `segment_spans` finds out of every segment before comparing texts;
scraper.revisit_digest masks in a page's bytes what this module finds in a segment whose text it can read
exactly as the extracted text will have it, so the fingerprint masks a subset of what the comparison
ignores (and its "unchanged" can never hide a change of the text). Input is NFKC-normalised and casefolded.
"""

from __future__ import annotations

import re

# Pieces of a line that are separate elements ("Updated 10:32 · 1,204 views | 12 comments").
SEPARATORS = re.compile(r"[·•|｜∙]")
# A segment is a counter element when, its counters and clocks left out, at most this many words remain
# (a Chinese or Japanese character counts half: they are written without spaces) and no sentence ends.
MAX_LEFT_WORDS = 2.0
# Anything a counter, clock or "updated" needs; a segment without it is returned at once.
MAYBE = re.compile(r"\d|updated|just now")

# A clock, a relative time, a number before its unit; each starts with a digit, so the engine skips text.
_NUMBER_FIRST = re.compile(
    r"\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?(?!\w)"  # a clock
    r"|\d[\d,.]*(?:\s?[km])?\s*(?:"
    r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?)\s+ago\b"
    r"|(?:views?|reads?|comments?|shares?|likes?|replies|readers|visits?)\b"
    r"|秒前|分钟前|小时前|天前|次阅读|人阅读|次浏览|人浏览|条评论|人评论|人点赞|次点赞|个赞|次分享|人分享"
    r"|次转发|条回复|人看过|件のコメント)"
)
_NOW = re.compile(r"\b(?:just now|updated)\b")
# A number, and the label before it that makes it a counter ("views: 1,204", "read by 35 people",
# "评论 (12)").
_NUMBER = re.compile(r"\d[\d,.]*(?:\s?[km]\b)?")
_COUNTER_LABEL = re.compile(
    r"(?:(?<![a-z])(?:views?|reads?|comments?|shares?|likes?|read|viewed|seen|liked|shared)"
    r"|(?:阅读|浏览|评论|点赞|分享|转发)(?:量|数|次数)?|閲覧|コメント)"
    r"\s*(?:by\s+)?[:：]?\s*[(（]?\s*$"
)
_COUNTER_UNIT = re.compile(r"\s*(?:(?:people|readers|times|users)\b|次|人|件|条)")
LABEL_REACH = 24  # characters before a number looked at for its label
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]+")
# A sentence's end: a Chinese or Japanese full stop anywhere, a Latin one before a space or the end.
_SENTENCE_END = re.compile(r"[。！？]|[.!?](?=\s|$)")


def line_spans(line: str) -> list[tuple[int, int]]:
    """The (start, end) of each counter, clock and "updated" to leave out of a line of text, in order:
    those of the line's segments that are counter elements."""
    if MAYBE.search(line) is None:
        return []
    spans: list[tuple[int, int]] = []
    start = 0
    for separator in SEPARATORS.finditer(line):
        spans += _shifted(segment_spans(line[start : separator.start()]), start)
        start = separator.end()
    spans += _shifted(segment_spans(line[start:]), start)
    return spans


def without(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with the spans (in order, not overlapping) left out, a space in place of each."""
    if not spans:
        return text
    kept, last = [], 0
    for start, end in spans:
        kept.append(text[last:start])
        last = end
    kept.append(text[last:])
    return " ".join(kept)


def segment_spans(segment: str) -> list[tuple[int, int]]:
    """The volatile parts of one segment, if it is a counter element; [] if it has none or is text."""
    if MAYBE.search(segment) is None:
        return []
    spans = _volatile(segment)
    if not spans:
        return []
    left = without(segment, spans)
    if _words(left) > MAX_LEFT_WORDS or (_words(left) and _SENTENCE_END.search(left)):
        return []
    return spans


def _volatile(segment: str) -> list[tuple[int, int]]:
    """Clocks, relative times, counters with their unit or label, "updated": wherever they are."""
    first = [match.span() for match in _NUMBER_FIRST.finditer(segment)]
    first += [match.span() for match in _NOW.finditer(segment) if not _inside(match.span(), first)]
    first.sort()
    labelled: list[tuple[int, int]] = []
    last = 0
    for number in _NUMBER.finditer(segment):
        start = number.start()
        if start < last or _inside(number.span(), first):
            continue
        before = [end for _, end in first if end <= start]
        reach = max(last, start - LABEL_REACH, max(before, default=0))
        label = _COUNTER_LABEL.search(segment, reach, start)
        if label is None:
            continue
        unit = _COUNTER_UNIT.match(segment, number.end())
        last = unit.end() if unit else number.end()
        labelled.append((label.start(), last))
    return _merged(first + labelled)


def _inside(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(start < span[1] and span[0] < end for start, end in spans)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans in order, overlapping ones made one."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _words(text: str) -> float:
    """Words in a text, a Chinese or Japanese character counting half a word."""
    return len(_WORD.findall(text)) + len(_CJK.findall(text)) / 2


def _shifted(spans: list[tuple[int, int]], by: int) -> list[tuple[int, int]]:
    return [(start + by, end + by) for start, end in spans]
