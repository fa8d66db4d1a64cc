"""Style sheets and scripts emptied in the page's bytes before the parser reads them.

Nothing the extractor keeps is in a `<style>` or a script other than JSON-LD: the cleaner drops those
elements, the text walks skip them, metadata reads only the JSON-LD. Yet on a news page they are half
the bytes, and the parser's tokenizer reads them a byte at a time (and copies them into text nodes):
a third of the parse. Emptied first, the parser builds the same elements without their text, and the
nesting check counts fewer bytes.

Only an element the tokenizer is sure to read the same way is emptied: a lowercase `<style` or
`<script` start tag of plain attributes (names, quoted or simple values), not a JSON-LD script, whose
text holds no `<` at all, so the first `<` after the tag is its end tag (`</style` or `</script`, any
case, then a space, `/` or `>`). Such text is one text node wherever the tag is markup. A tag that may
be text of something else is left alone: after a `<` no `>` closed (an attribute's value), right after
a title, textarea or script start tag, inside a JSON-LD script (HTML in its article body), or when its
text would end a comment the tag is in (`-->`). What is not followed: a tag inside a comment or a
script's text further on (the cut changes only that comment's or script's text, which nothing reads),
the text of a JSON-LD script opened in capitals (`<SCRIPT`), searched as the page is, and a tag in a
title's (xmp's, noembed's, noframes', plaintext's) text after markup-like text
(`<title><b>a</b> <style>b</style>`) or in an attribute's value after a `>` (`content="a > <style>b
</style>"`): no page was seen to write either; each would change that title or value (strict xfails in
tests/test_extract_rawtext.py). Finding those elements' start tags at every `<` cost 4% of the
extraction's instructions. A tag that
fails a test is left to the parser as it is: the tests decide only how much is saved.
"""

from __future__ import annotations

import re

from scraper.extract.budget import CHECK_EVERY, Budget

# Either start tag, and the rest of it when it is plain: attributes of a plain name and a quoted or
# simple value, each after white space, then `>` or `/>` (group 2; None for anything else, a quote in
# a name or an attribute glued to a value: parsed by rules not worth following here, not emptied). One
# search in C finds the nearer tag and reads it (a search per tag costs twice as much).
_OPENER = re.compile(
    rb"<(style|script)((?:[\t\n\f\r ]+[a-zA-Z_:][-a-zA-Z0-9_:.]*"
    rb"""(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:"[^"]*"|'[^']*'|[^\t\n\f\r "'=<>`]+))?)*"""
    rb"[\t\n\f\r ]*/?>)?"
)
# An end tag of either, in any case: its name then a space, `/` or `>` (`</styles` is text).
_END_TAG = {name: re.compile(rb"</(?i:" + name + rb")[\t\n\f\r />]") for name in (b"style", b"script")}
# Elements whose content is text up to their end tag, markup-looking or not.
_TEXT_ONLY = (b"title", b"textarea", b"xmp", b"iframe", b"noembed", b"noframes", b"plaintext", b"script")


def empty_raw_text(data: bytes, budget: Budget | None = None) -> bytes:
    """`data` with the text of its plain `<style>` and non-JSON-LD `<script>` elements left out (see
    the module's docstring for which); `data` itself when there is none.

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
        at, name = found.start(), found.group(1)
        resume = found.end(1)
        if found.group(2) is not None:
            begin = found.end(2)
            # (`find`, not `in`: `bytes in bytes` first tries the operand as a number, an exception)
            if name == b"script" and data[resume:begin].lower().find(b"ld+json") >= 0:
                resume = _end_tag(data, begin, name)  # its text may hold a tag (HTML in the JSON)
            else:
                end = data.find(b"<", begin)
                if begin < end and _closes(data, end, name) and _outside_markup(data, at, begin, end):
                    cuts.append((begin, end))
                    resume = end  # the text holds no `<`: no tag was passed over
        found = search(data, resume)
    if not cuts:
        return data
    view = memoryview(data)  # the pieces are copied once, by the join
    pieces: list[memoryview] = []
    start = 0
    for begin, end in cuts:
        pieces.append(view[start:begin])
        start = end
    pieces.append(view[start:])
    return b"".join(pieces)


def _outside_markup(data: bytes, at: int, begin: int, end: int) -> bool:
    """Whether the tag at `at` (its text `begin`-`end`) is markup of its own, as far as one can tell
    from its neighbourhood: not after a `<` that no `>` closed (inside an attribute's value) nor right
    after an element whose content is text (`<title>Using <style>...</style></title>`), and its
    text does not end a comment (`-->`, `--!>`) the tag would be in. Each `>` of the text is looked
    at (memchr): style sheets hold a few (child selectors), `--` is common in them."""
    opened = data.rfind(b"<", 0, at)
    if data.rfind(b">", 0, at) < opened or data[opened + 1 : opened + 10].lower().startswith(_TEXT_ONLY):
        return False
    close = data.find(b">", begin, end)
    while close >= 0:
        if data[close - 2 : close] == b"--" or data[close - 3 : close] == b"--!":
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
