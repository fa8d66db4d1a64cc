"""Style sheets and scripts emptied in the page's bytes before the parser reads them.

Nothing the extractor keeps is in a `<style>` or a script other than JSON-LD: the cleaner drops those
elements, the text walks skip them, metadata reads only the JSON-LD (but for an h1's or an svg
title's text, with any style sheet in it: a strict xfail in tests/test_extract_rawtext.py). Yet on a
news page they are half the bytes, and the parser's tokenizer reads them a byte at a time (and
copies them into text nodes): a third of the parse. Emptied first, the parser builds the same
elements without their text, and the nesting check counts fewer bytes.

The scan is fast because it never tokenizes the markup between those elements, so it guesses. It
empties the text of a lowercase `<style` or `<script` start tag of plain attributes (names, quoted or
simple values), not a JSON-LD script, whose text holds no `<` at all, so the first `<` after the tag
is its end tag (`</style` or `</script`, any case, then a space, `/` or `>`), and holds no `-->`,
`--!>` or `]]>` (which would end a comment, an escaped script or a CDATA section the tag is in). It
leaves alone a tag that is likely text of something else: after a `<` no `>` closed (an attribute's
value), right after a title, textarea or script start tag, in a comment opened just before, inside a
JSON-LD script. Other tags that are text fool it: one in a title's (xmp's, plaintext's...) text after
markup-like text (`<title><b>a</b> <style>b</style>`), in an attribute's value after a `>`, in svg's
CDATA, in a JSON-LD script opened in capitals. Following every such context in the scan cost 4% of
the extraction's instructions (a search for their start tags at every `<`).

So `parse_page` checks the tree the parser built instead: each emptied text is replaced by a mark,
and every mark must turn up in a style sheet or a script other than JSON-LD. A mark anywhere else
(a title, an attribute, a comment, a JSON-LD script, a template's content `tags` does not see) means
the scan took text for a tag, and the page's own bytes are parsed again (1 page in 349 of the
benchmark's). A mark in a style sheet's or script's text changed that text alone: the emptied text
holds no `<`, so it cannot have held the element's end, nor a `-->` or `]]>` that would end a state
it was read in. The marks are then taken out, so the tree is the one the scan meant. The check costs
about 1% of the extraction's instructions (listing the style sheets and scripts, and decoding the
texts of those left whole, before the last mark).
"""

from __future__ import annotations

import re
import secrets
from functools import cache

from selectolax.lexbor import LexborDocumentOptions, LexborHTMLParser

from scraper.extract.budget import CHECK_EVERY, Budget, check_nesting

# Either start tag, and the rest of it when it is plain: attributes of a plain name and a quoted or
# simple value, each after white space, then `>` or `/>` (group 2; None for anything else, a quote in
# a name or an attribute glued to a value: parsed by rules not worth following here, not emptied;
# group 2 is read by `end(2)`, -1 then, never copied). One search in C finds the nearer tag and reads
# it (a search per name costs more: `bytes.find` of `<script`, and of `<style` up to that script, scan
# the bytes twice at ~1.7 instructions a byte, the pattern once at ~2.5: +6% in `empty_raw_text`).
# Possessive (`*+`, `++`): what is given back after an attribute, a value or a quoted text is a name
# or value byte, which can neither start one more attribute nor the tag's end (`/>` is reached by the
# whole value too), so backtracking finds nothing more, and keeping no state for it costs 2% less.
_OPENER = re.compile(
    rb"<(style|script)((?:[\t\n\f\r ]+[a-zA-Z_:][-a-zA-Z0-9_:.]*"
    rb"""(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:"[^"]*+"|'[^']*+'|[^\t\n\f\r "'=<>`]++))?)*+"""
    rb"[\t\n\f\r ]*/?>)?"
)
# An end tag of either, in any case: its name then a space, `/` or `>` (`</styles` is text).
_END_TAG = {name: re.compile(rb"</(?i:" + name + rb")[\t\n\f\r />]") for name in (b"style", b"script")}
# Elements whose content is text up to their end tag, markup-looking or not.
_TEXT_ONLY = (b"title", b"textarea", b"xmp", b"iframe", b"noembed", b"noframes", b"plaintext", b"script")
_TEXT_ONLY_FIRST = frozenset(name[0] for name in _TEXT_ONLY)  # most tags before one start otherwise
# What ends a comment, an escaped script or a CDATA section before a `>` (with `--!`).
_ENDS_BEFORE_GT = (b"--", b"]]")
_LAST_BEFORE_GT = frozenset(b"-]!")  # the byte before the `>` of any of them: most `>` have another
# How far before a tag a comment's start is looked for (`<!--[if IE]>` before a script, or a block
# of markup commented out): a mark in a comment costs a second parse (35 pages in 349 without).
_NEAR = 512
# The parser builds the page without its mutation events: what a browser's DOM runs as elements are
# inserted (a `<select>`'s selectedness, a `<selectedcontent>` copying its selected option), asked of
# every element the parse inserts: 3% of the parse. All of that is inside a `<select>`, which the
# extractor drops with what it holds (`clean.DROP_TAGS`) before it reads the body.
PARSER_OPTIONS = int(LexborDocumentOptions.WO_EVENTS)


@cache
def mark() -> str:
    """What an emptied text is replaced by: letters and digits, which every tokenizer state reads as
    text, drawn once a process so that no page can hold it (nor spell it with references)."""
    return "cut" + secrets.token_hex(8)


def parse_page(data: bytes, budget: Budget | None = None) -> LexborHTMLParser:
    """The parser's tree of `data`, built from its bytes with the style sheets and scripts emptied
    when every emptied text turns up in one of them (see the module's docstring), else from `data`.

    Raises ExtractionBudgetError for a page nested too deep (`check_nesting`)."""
    emptied, cuts = empty_raw_text(data, budget)
    check_nesting(emptied)  # the same tags as in `data`, fewer bytes to count
    tree = LexborHTMLParser(emptied, options=PARSER_OPTIONS)
    if cuts and not _unmark(tree, cuts):
        tree = LexborHTMLParser(data, options=PARSER_OPTIONS)
    return tree


def _unmark(tree: LexborHTMLParser, cuts: int) -> bool:
    """Take the marks out of the style sheets and scripts of `tree` (they are left empty, as the
    scan meant), and say whether all `cuts` were there: not in a JSON-LD script metadata reads
    (`metadata._DECLARING`), where a mark is a cut in what is read. On False `tree` is dropped.

    A mark is never copied, so the walk stops at the last one. `tags` is the cheapest query (the
    CSS engine's walk costs twice as much, `:lexbor-contains` copies every text); most of the rest
    is decoding the texts of the scripts left whole."""
    text = mark()
    found = 0
    for name in ("style", "script"):
        for node in tree.tags(name):
            child = node.first_child
            held = child.text_content if child is not None else None
            if child is None or not held or text not in held:
                continue
            if held == text:
                found += 1
                child.decompose()
            elif (node.attributes.get("type") or "").lower() != "application/ld+json":
                found += held.count(text)  # a tag in a script's string (`"<style>..."`) was cut
                child.replace_with(held.replace(text, ""))
            if found == cuts:
                return True
    return False


def empty_raw_text(data: bytes, budget: Budget | None = None) -> tuple[bytes, int]:
    """`data` with the text of its plain `<style>` and non-JSON-LD `<script>` elements replaced by
    `mark()` (see the module's docstring for which), and how many were; `data` itself (and 0) when
    there is none.

    One pass over the page, each search resuming after the text just left out (the texts are most of
    the bytes); a JSON-LD script is passed over whole."""
    cuts: list[tuple[int, int]] = []  # [start, end) of each text left out, in page order
    search = _OPENER.search
    found = search(data)
    tried = 0
    while found is not None:
        tried += 1
        if budget is not None and not tried & CHECK_EVERY:
            budget.check()
        at, resume, begin = found.start(), found.end(1), found.end(2)  # begin -1: not a plain tag
        name = b"script" if resume - at == 7 else b"style"  # (`<script`: 7 bytes; no group copied)
        if begin >= 0:
            # `ld+json` in the attributes, in any case: most have no `+`, so are not copied and lowered
            # (`find`, not `in`: `bytes in bytes` first tries the operand as a number, an exception).
            # Tested here, as the end tag below (not `_closes`): a call costs ~500 instructions a tag.
            plus = name == b"script" and data.find(b"+", resume, begin) >= 0
            if plus and data[resume:begin].lower().find(b"ld+json") >= 0:
                resume = _end_tag(data, begin, name)  # its text may hold a tag (HTML in the JSON)
            else:
                end = data.find(b"<", begin)
                if (
                    begin < end
                    and _END_TAG[name].match(data, end) is not None
                    and _outside_markup(data, at, begin, end)
                ):
                    cuts.append((begin, end))
                    resume = end  # the text holds no `<`: no tag was passed over
        found = search(data, resume)
    if not cuts:
        return data, 0
    view = memoryview(data)  # the pieces are copied once, by the join
    text = mark().encode()
    pieces: list[memoryview | bytes] = []
    start = 0
    for begin, end in cuts:
        pieces += (view[start:begin], text)
        start = end
    pieces.append(view[start:])
    return b"".join(pieces), len(cuts)


def _outside_markup(data: bytes, at: int, begin: int, end: int) -> bool:
    """Whether the tag at `at` (its text `begin`-`end`) is markup of its own, as far as one can tell
    from its neighbourhood: not after a `<` that no `>` closed (inside an attribute's value) nor right
    after an element whose content is text (`<title>Using <style>...</style></title>`), and its
    text does not end a comment, an escaped script or a CDATA section the tag would be in (`-->`,
    `--!>`, `]]>`). Each `>` of the text is looked at (memchr): style sheets hold a few (child
    selectors), `--` is common in them."""
    opened = data.rfind(b"<", 0, at)
    if data.rfind(b">", 0, at) < opened:
        return False
    # Right after a text-only element's start tag? Most tags' first letter is none of theirs: their
    # name is not copied and lowered (`| 0x20` lowers an ASCII capital and makes no other byte a letter).
    first = data[opened + 1] | 0x20
    if first in _TEXT_ONLY_FIRST and data[opened + 1 : opened + 10].lower().startswith(_TEXT_ONLY):
        return False
    near = at - _NEAR if at > _NEAR else 0  # (`max` is a slower call)
    # Most tags have no `!` before them (one memrchr), so no `<!--` to search for (4 bytes, no memchr);
    # else one ends by the last `!` + 3 (not past `at`: `data[at]` is the tag's `<`, no `!` nor `-`).
    bang = data.rfind(b"!", near, at)
    comment = data.rfind(b"<!--", near, bang + 3) if bang >= 0 else -1
    if comment >= 0 and data.find(b"-->", comment + 2, at) < 0:
        return False
    close = data.find(b">", begin, end)
    while close >= 0:
        if data[close - 1] in _LAST_BEFORE_GT and (
            data[close - 2 : close] in _ENDS_BEFORE_GT or data[close - 3 : close] == b"--!"
        ):
            return False
        close = data.find(b">", close + 1, end)
    return True


def _closes(data: bytes, at: int, name: bytes) -> bool:
    """Whether `data` holds the end tag of `name` at `at`."""
    return _END_TAG[name].match(data, at) is not None


def _end_tag(data: bytes, start: int, name: bytes) -> int:
    """Where the first end tag of `name` after `start` begins (the page's end when there is none)."""
    end = data.find(b"</", start)
    while end >= 0 and not _closes(data, end, name):
        end = data.find(b"</", end + 2)
    return end if end >= 0 else len(data)
