"""Clean HTML to plain text: paragraphs separated by blank lines, `<br>` as a line break.

The text is what search indexes, the benchmark scores and the "auto" content source compares; it must
hold the article's prose once and nothing else. Figure captions stay in the HTML but not in the text:
they describe a picture, not the story, and they repeat (galleries, lightboxes).
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.extract.budget import CHECK_EVERY, Budget
from scraper.extract.measure import CLAUSE as _CLAUSE
from scraper.extract.measure import KNOWN_TAG_IDS, tag_names

BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "blockquote", "pre",
        "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "caption", "figure",
        "figcaption", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "address", "details", "summary", "center",
        "form", "fieldset", "legend", "body", "html",
    }
)  # fmt: skip
REPEATABLE_CHARS = 200
_CELL_TAGS = frozenset({"td", "th"})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title", "figcaption"})


def html_to_text(html: str | None) -> str:
    if not html or not html.strip():
        return ""
    tree = LexborHTMLParser(html)
    root = tree.body or tree.root
    return node_text(root) if root is not None else ""


class TextLayout:
    """Paragraphs laid out line by line as the walk enters and leaves nodes."""

    def __init__(self) -> None:
        self.paragraphs: list[str] = []
        self.line: list[str] = []
        self.lines: list[str] = []
        self.seen: set[str] = set()

    def end_line(self) -> None:
        line = self.line
        if not line:
            return
        text = "".join(line).strip()
        line.clear()
        if text:
            self.lines.append(tidy_spaces(text))

    def end_paragraph(self) -> None:
        if self.line:
            self.end_line()
        if self.lines:
            paragraph = "\n".join(self.lines)
            self.lines.clear()
            # a short label repeated (a credit, "Advertisement") reads once; a long paragraph, or a line
            # with clauses (a recipe's step in each of its variants, a list item), is kept each time
            if len(paragraph) >= REPEATABLE_CHARS or paragraph not in self.seen or _CLAUSE.search(paragraph):
                self.seen.add(paragraph)
                self.paragraphs.append(paragraph)

    def line_break(self) -> None:
        if not "".join(self.line).strip():  # <br><br>: the blank line that separates paragraphs
            self.end_paragraph()
        self.end_line()

    def preformatted(self, node: LexborNode) -> None:
        self.end_paragraph()
        text = (node.text() or "").strip("\n")
        if text.strip():
            self.paragraphs.append(text)


def tidy_spaces(text: str) -> str:
    """`text` (stripped) with any run of white space as one space: `" ".join(text.split())`, without the
    split and the join of every word of a line that is already tidy. White space other than the space is
    never printable, so a printable text without two spaces in a row is tidy: two scans in C instead of a
    string made for each word."""
    if text.isprintable() and "  " not in text:
        return text
    return " ".join(text.split())


def node_text(root: LexborNode, budget: Budget | None = None) -> str:
    """The text of `root`, laid out as paragraphs.

    A walk by the tree's own links (first child, next sibling, parent) instead of recursion (pages nest
    deeper than Python's limit) or a stack of children lists: each node is asked for its tag once and
    for its neighbours once.
    """
    budget = budget or Budget()
    out = TextLayout()
    line = out.line
    node = root
    depth = 0  # below `root`: 0 is the root itself (asking each node for its `mem_id` costs more)
    steps = 0
    names = tag_names()  # `node.tag` by number, for half its cost
    while True:
        steps += 1
        if not steps & CHECK_EVERY:
            budget.check()
        number = node.tag_id
        tag = (names[number] if number < KNOWN_TAG_IDS else None) or node.tag or ""
        opened = False  # an element whose children are read, and that is left after them
        if tag == "-text":
            line.append(node.text_content or "")
        elif tag == "br":
            out.line_break()
        elif tag == "pre":
            out.preformatted(node)
        elif not (tag in _SKIP_TAGS or tag == "-comment"):
            if tag in BLOCK_TAGS:
                out.end_paragraph()
            opened = True
            child = node.child
            if child is not None:
                node = child
                depth += 1
                continue
        # `node` is done: leave it, then its ancestors for as long as they have no next child
        while True:
            if opened:
                if tag in BLOCK_TAGS:
                    out.end_paragraph()
                elif tag in _CELL_TAGS:
                    line.append(" ")
            if not depth:
                out.end_paragraph()
                return "\n\n".join(out.paragraphs)
            following = node.next
            if following is not None:
                node = following
                break
            parent = node.parent
            if parent is None:  # detached under the root: cannot happen in a tree, ends the walk
                out.end_paragraph()
                return "\n\n".join(out.paragraphs)
            number = parent.tag_id
            tag = (names[number] if number < KNOWN_TAG_IDS else None) or parent.tag or ""
            node, opened = parent, True
            depth -= 1
