"""A post body's plain text without building a tree, for the well-formed HTML an archive's posts hold.

An import or adoption spends most of its CPU on the body's text (scraper.extract's `html_to_text`: an HTML
parse, then a walk of the tree in Python), yet the posts a program wrote (this one, the old script) hold
balanced HTML: paragraphs, lists, headings, links, images. For such HTML the text depends only on the order
of the text and of the block boundaries, which a scan of the tags gives as well as the tree does.

`post_body_text` takes that scan when the HTML is in a class where the tree cannot differ from the tags as
written, and gives exactly what `html_to_text` gives; anything else (an entity, a comment, a table, a
`<pre>`, a script, a stray or misnested tag, a block inside a `<p>`, a tag the scan does not know) goes to
`html_to_text`. What the class excludes, and why each rule is there, is listed beside `_scan`.
tests/test_post_text.py checks the two agree over generated HTML of both kinds.
"""

from __future__ import annotations

import re

from scraper.extract import html_to_text
from scraper.extract.text import REPEATABLE_CHARS, TextLayout

# A start tag with well-formed attributes (quoted values may hold '>' and '<'), or an end tag, or text.
_TOKEN = re.compile(
    r"<([A-Za-z][A-Za-z0-9]*)((?:\s+[^\s\"'=<>/`]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*)\s*(/?)>"
    r"|</([A-Za-z][A-Za-z0-9]*)\s*>"
    r"|([^<&\x00\r\ufeff]+)"
    r"|([<&\x00\r\ufeff])"
)
_START, _END, _TEXT = 3, 4, 5  # which group a token matched last: a start tag, an end tag, text
# Blocks the scan knows: opening or closing one ends a paragraph, and the tree keeps them as written
# (given the rules in _scan).
_BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "blockquote", "ul",
        "ol", "li", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "address", "center", "hr",
    }
)  # fmt: skip
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Inline elements without text of their own rules: nothing for the text, and nothing the parser moves.
_INLINE = frozenset(
    {
        "a", "span", "em", "strong", "b", "i", "u", "s", "small", "sub", "sup", "mark", "cite", "q", "abbr",
        "code", "time", "del", "ins", "kbd", "var", "samp", "dfn", "bdi", "bdo", "data", "img", "wbr", "br",
    }
)  # fmt: skip
_VOID = frozenset({"img", "wbr", "br", "hr"})
# The list-item rule: a new <li> closes an open one unless an element other than these stands between.
_LI_SEE_THROUGH = frozenset({"address", "div", "p"}) | (_INLINE - {"br", "img", "wbr"})


def post_body_text(html: str | None) -> str:
    """The body's plain text, as scraper.extract's `html_to_text` gives it (see the module docstring)."""
    if not html or not html.strip():
        return ""
    text = _paragraphs_only(html)
    if text is None:
        text = _scan(html)
    return html_to_text(html) if text is None else text


# A body of bare paragraphs and nothing else (white space between them), which is what most posts are; the
# characters _TOKEN's text refuses (a CR among them, white space or not) are refused here too, by `in`
# over the whole body (none can be white space between paragraphs): in the expression, a class of five
# characters tested at every character cost three times the rest of the match, `[^<]` a plain scan.
_PARAGRAPHS = re.compile(r"[^\S\r]*(?:<p>[^<]*</p>[^\S\r]*)+")
_PARAGRAPH_TEXT = re.compile(r"<p>([^<]*)</p>")


def _paragraphs_only(html: str) -> str | None:
    """The text of a body of bare `<p>` paragraphs, or None for any other body: what _scan gives for it
    (white space between paragraphs is no text, a paragraph's runs of white space are one space, an empty
    one is dropped, a short one repeated is kept once: TextLayout's rules), without a token at a time."""
    if "&" in html or "\x00" in html or "\r" in html or "\ufeff" in html:
        return None
    if _PARAGRAPHS.fullmatch(html) is None:
        return None
    paragraphs: list[str] = []
    seen: set[str] = set()
    for raw in _PARAGRAPH_TEXT.findall(html):
        paragraph = " ".join(raw.split())
        if paragraph and (len(paragraph) >= REPEATABLE_CHARS or paragraph not in seen):
            seen.add(paragraph)
            paragraphs.append(paragraph)
    return "\n\n".join(paragraphs)


def _scan(html: str) -> str | None:
    """The text by a scan of the tags, or None where the tree could differ from the tags as written.

    Refused (None): any '&' (entities), NUL, CR or BOM in text; a '<' that is not a well-formed tag
    (comments, doctypes, bad attributes); a tag outside _BLOCKS and _INLINE (tables move text, raw-text
    elements hold none, `<pre>` and captions have rules of their own); an end tag that is not the open
    element's (the parser would ignore it or rearrange the elements); `/>` on a non-void element (the
    parser ignores it: the element stays open); a block opened inside a `<p>` (which closes the `<p>`), a
    heading right inside a heading, an `<li>` whose open `<li>` the list-item rule would close, a link
    inside a link; an element left open at the end.
    """
    out = TextLayout()
    line, lines = out.line, out.lines  # the layout's own lists (it clears them in place)
    stack: list[str] = []
    for token in _TOKEN.finditer(html):
        kind = token.lastindex
        if kind == _TEXT:
            line.append(token.group(_TEXT))
        elif kind == _END:
            tag = token.group(_END).lower()
            if not stack or stack.pop() != tag:
                return None
            if tag in _BLOCKS and (line or lines):  # with nothing pending, ending a paragraph does nothing
                out.end_paragraph()
        elif kind == _START:
            tag = token.group(1).lower()
            if not _may_open(tag, stack, token.group(0).endswith("/>")):
                return None
            if tag == "br":
                out.line_break()
            elif tag in _BLOCKS:
                if line or lines:
                    out.end_paragraph()
                if tag != "hr":
                    stack.append(tag)
            elif tag not in _VOID:
                stack.append(tag)
        else:
            return None  # a '<' that is no tag, an entity, a character the parser changes
    if stack:
        return None
    out.end_paragraph()
    return "\n\n".join(out.paragraphs)


def _may_open(tag: str, stack: list[str], self_closing: bool) -> bool:
    """Whether the tree keeps this start tag where it is written (see _scan's refusals)."""
    if tag not in _BLOCKS and tag not in _INLINE:
        return False
    if self_closing and tag not in _VOID:
        return False
    if tag in _BLOCKS and "p" in stack:
        return False
    if tag in _HEADINGS and stack and stack[-1] in _HEADINGS:
        return False
    if tag == "a" and "a" in stack:
        return False
    if tag == "li":
        for open_tag in reversed(stack):
            if open_tag == "li":
                return False
            if open_tag not in _LI_SEE_THROUGH:
                break
    return True
