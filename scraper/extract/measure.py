"""How much text, clauses and link text every element holds, from one walk of the tree.

The finder judges blocks by their text (length, clauses, link density). Asking each block for its own
text walks its subtree again, which costs N² on a deeply nested page; summing the text nodes once,
children before parents, costs N.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import cache
from itertools import compress

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.extract.budget import CHECK_EVERY, Budget
from scraper.extract.site import Site

# Clause marks: Latin, CJK (full width, ideographic) and Arabic script's own comma, semicolon and question
# mark (Arabic, Persian, Urdu prose scored as if it had no clauses).
CLAUSE = re.compile(r"[,，、。;；!！?？،؛؟]")
ASCII_CLAUSE = b",;!?"  # the marks of CLAUSE in ASCII


class TextStats:
    """Per element (by `mem_id`): its text length, clause marks and linked text, deep and direct.

    Lengths count each text node without its surrounding white space, so indentation is not text.
    """

    __slots__ = (
        "deep_clauses", "deep_length", "keys", "length", "linked", "nodes", "own_clauses", "own_length",
        "position", "site", "tags", "up",
    )  # fmt: skip

    def __init__(self) -> None:
        self.length: dict[int, int] = {}
        self.linked: dict[int, int] = {}
        # by position, as `keys`: each element's own text (its text children's) length and clause marks,
        # read by the passes that walk the positions (no key looked up per element)
        self.own_length: list[int] = []
        self.own_clauses: list[int] = []
        # ... and its whole text's (`length` and `clauses` by position)
        self.deep_length: list[int] = []
        self.deep_clauses: list[int] = []
        self.position: dict[int, int] = {}  # by key: the element's position in the lists
        # in document order: the elements' keys and tags (each asked of the node once: every
        # question builds a Python object in the parser's binding)
        self.keys: list[int] = []
        self.tags: list[str | None] = []
        # the parent's position, in the same order (the root's is its own, 0): an element's subtree is
        # the run of elements after it whose parents are in it, so a later stage walks a block's subtree
        # without the parser
        self.up: list[int] = []
        self.nodes: list[LexborNode] = []  # by position
        # the page's site, where the finder knows it: where a linked heading leads tells a teaser
        self.site: Site | None = None

    def parent_key(self, key: int) -> int | None:
        """The key of the element `key`'s parent, None for the measured root and an element not measured
        (read from the lists: a climb asks a few blocks, no dict of every element's is needed)."""
        at = self.position.get(key)
        return self.keys[self.up[at]] if at else None

    @property
    def node_of(self) -> dict[int, LexborNode]:
        """The measured elements by key (`nodes` by position)."""
        return dict(zip(self.keys, self.nodes, strict=True))

    def node(self, key: int) -> LexborNode:
        """The measured element `key` (a KeyError for one not measured)."""
        return self.nodes[self.position[key]]

    @property
    def parent_of(self) -> dict[int, int]:
        """`parent_key` of every measured element but the root, by key."""
        keys = self.keys
        return dict(zip(keys[1:], map(keys.__getitem__, self.up[1:]), strict=True))

    def clauses_of(self, key: int) -> int:
        """The clause marks of the element `key` (0 for one not measured): read from the list, as the
        few blocks asked need no dict of every element's."""
        at = self.position.get(key)
        return 0 if at is None else self.deep_clauses[at]

    @property
    def clauses(self) -> dict[int, int]:
        """`deep_clauses` by key, every measured element's."""
        return dict(zip(self.keys, self.deep_clauses, strict=True))

    @property
    def direct_length(self) -> dict[int, int]:
        """`own_length` by key, for the elements with text of their own."""
        return dict(compress(zip(self.keys, self.own_length, strict=True), self.own_length))

    @property
    def direct_clauses(self) -> dict[int, int]:
        """`own_clauses` by key, for the elements with text of their own (0 marks included)."""
        return dict(compress(zip(self.keys, self.own_clauses, strict=True), self.own_length))

    def link_density(self, node: LexborNode) -> float:
        key = node.mem_id
        length = self.length.get(key, 0)
        return min(1.0, self.linked.get(key, 0) / length) if length else 0.0


def measure(root: LexborNode, budget: Budget, drops: Callable[[LexborNode], bool] | None = None) -> TextStats:
    """One walk in document order records each element; the sums then run over positions in a list
    (children come after their parent, so walking the positions backwards sums children first).

    `drops`: asked of each element the walk meets (but those inside one it dropped), whether to leave
    it and everything inside it out, as if it were not in the tree (the caller unlinks it after the
    walk, which cannot go on past a node unlinked under it). The root dropped is measured whole."""
    stats = TextStats()
    keys, tags, up = stats.keys, stats.tags, stats.up
    position: dict[int, int] = {}
    lengths: list[int] = []
    clause_counts: list[int] = []
    find_clauses = CLAUSE.findall
    # bound once: the loop runs for every element of the page
    add_key, add_tag, add_up, add_node = keys.append, tags.append, up.append, stats.nodes.append
    add_length, add_clauses = lengths.append, clause_counts.append
    count = 0  # elements recorded: the next one's position
    names = tag_names()
    for index, node in enumerate(root.traverse()):  # elements only, the root first; their text read in C
        if not index & CHECK_EVERY:
            budget.check()
        key = node.mem_id
        if index:
            parent_key = node.parent.mem_id  # type: ignore[union-attr]  # never None below the root
            parent = position.get(parent_key)
            if parent is None or (drops is not None and drops(node)):
                continue  # inside a dropped element, or dropped
        else:
            parent = 0
            if drops is not None and drops(node):
                drops = None  # nothing inside it is judged again: all of it is gone with it
        add_up(parent)
        add_key(key)
        number = node.tag_id  # (`tag_names`: half the cost of `node.tag`)
        add_tag((names[number] if number < KNOWN_TAG_IDS else None) or node.tag)
        add_node(node)
        position[key] = count
        count += 1
        text = node.text(False, "", True, True)  # deep=False, strip, skip_empty: no keywords to parse
        if text:
            length = len(text)
            if text.isascii():  # (known without a read) the ASCII marks deleted in C, no match objects
                clauses = length - len(text.encode().translate(None, ASCII_CLAUSE))
            else:
                clauses = len(find_clauses(text))
        else:
            length = clauses = 0
        add_length(length)
        add_clauses(clauses)
    stats.own_length, stats.own_clauses = lengths[:], clause_counts[:]  # summed in place below
    _sum_up(stats, up, lengths, clause_counts, position)
    stats.deep_length, stats.deep_clauses, stats.position = lengths, clause_counts, position
    return stats


def _sum_up(
    stats: TextStats, up: list[int], lengths: list[int], clause_counts: list[int], position: dict[int, int]
) -> None:
    """Deep text length, clause marks and linked text of every element, from their own, summed from the
    last position back to the first: a child is always summed into its parent before the parent is."""
    tags = stats.tags
    linked = [0] * len(lengths)
    for index in range(len(lengths) - 1, 0, -1):
        own = lengths[index]
        if own:
            parent = up[index]
            lengths[parent] += own
            clause_counts[parent] += clause_counts[index]
            if tags[index] == "a":
                linked[index] = own
            if linked[index]:
                linked[parent] += linked[index]
    # readers ask `.get(key, 0)`. Length: every element gets its entry, into a copy of `position` (the
    # same keys: no resizing as the dict grows, a fifth of building it anew); linked text: only the
    # links and their ancestors, the few with any. Clause marks, asked of a few blocks, are read from
    # their list (`clauses_of`)
    keys = stats.keys
    stats.length = position.copy()
    stats.length.update(zip(keys, lengths, strict=True))
    stats.linked = dict(compress(zip(keys, linked, strict=True), linked))


def subtree_range(stats: TextStats, key: int) -> range:
    """The positions in `stats.keys` of the element `key` and its descendants (document order keeps a
    subtree in one run); an empty range for an element that was not measured."""
    try:
        start = stats.keys.index(key)
    except ValueError:
        return range(0)
    # the first element after the subtree hangs from an ancestor of the root, which comes before it
    up = stats.up
    end, count = start + 1, len(up)
    while end < count and up[end] >= start:
        end += 1
    return range(start, end)


def climb_answer(node: LexborNode, answers: dict[int, bool], default: bool) -> bool:
    """The answer of `node`'s nearest ancestor in `answers` (`default` past the top), learnt by every
    ancestor climbed through: asked of every node of a page, the climbs together cost the page's size,
    not its size times its depth (pages nest 30,000 deep)."""
    path: list[int] = []
    ancestor = node.parent
    answer = default
    while ancestor is not None:
        known = answers.get(ancestor.mem_id)
        if known is not None:
            answer = known
            break
        path.append(ancestor.mem_id)
        ancestor = ancestor.parent
    for key in path:
        answers[key] = answer
    return answer


# Lexbor numbers the tags it knows below this; a tag it does not know gets a number of its own in each
# document (an address), never below it.
KNOWN_TAG_IDS = 0xC4


@cache
def tag_ids(names: frozenset[str]) -> tuple[frozenset[int], frozenset[str]]:
    """The parser's numbers for the tags it knows among `names`, and the names it does not know.

    `node.tag_id in ids` costs a third of `node.tag in names` (no string is made): for a walk over
    every element of a page. A name the parser does not know has no fixed number: it is compared by
    name (`node.tag`), so the answer is the same either way."""
    maker = LexborHTMLParser("")
    numbered = {name: maker.create_node(name).tag_id for name in names}
    known = frozenset(number for number in numbered.values() if number < KNOWN_TAG_IDS)
    return known, frozenset(name for name, number in numbered.items() if number >= KNOWN_TAG_IDS)


# HTML's element names (and some obsolete ones pages still hold): the names `tag_names` looks up.
_HTML_NAMES = (
    "a", "abbr", "acronym", "address", "applet", "area", "article", "aside", "audio", "b", "base",
    "basefont", "bdi", "bdo", "bgsound", "big", "blink", "blockquote", "body", "br", "button", "canvas",
    "caption", "center", "cite", "code", "col", "colgroup", "data", "datalist", "dd", "del", "details",
    "dfn", "dialog", "dir", "div", "dl", "dt", "em", "embed", "fieldset", "figcaption", "figure", "font",
    "footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hgroup",
    "hr", "html", "i", "iframe", "img", "input", "ins", "kbd", "label", "legend", "li", "link", "listing",
    "main", "map", "mark", "marquee", "menu", "meta", "meter", "nav", "nobr", "noembed", "noframes",
    "noscript", "object", "ol", "optgroup", "option", "output", "p", "param", "picture", "plaintext",
    "pre", "progress", "q", "rp", "rt", "ruby", "s", "samp", "script", "section", "select", "small",
    "source", "span", "strike", "strong", "style", "sub", "summary", "sup", "table", "tbody", "td",
    "template", "textarea", "tfoot", "th", "thead", "time", "title", "tr", "track", "tt", "u", "ul",
    "var", "video", "wbr", "xmp",
)  # fmt: skip


@cache
def tag_names() -> tuple[str | None, ...]:
    """`node.tag` by `node.tag_id`, for the numbers below KNOWN_TAG_IDS whose name is the same in every
    element: HTML's names (which no namespace spells otherwise: SVG's camel-case names, `clipPath`, are
    none of them) and the text, comment and document nodes' names; None for the others, whose
    name is asked of the node. A number and an index cost half of `node.tag`, which makes a string each
    time: for the walks that ask every node's tag."""
    names: list[str | None] = [None] * KNOWN_TAG_IDS
    maker = LexborHTMLParser("<p>text<!-- comment --></p>")
    paragraph = maker.css_first("p")
    document = maker.root.parent if maker.root is not None else None
    for node in (document, *(paragraph.traverse(include_text=True) if paragraph is not None else ())):
        tag = node.tag if node is not None else None
        if node is not None and tag is not None and tag.startswith("-"):
            names[node.tag_id] = tag
    for name in _HTML_NAMES:
        number = maker.create_node(name).tag_id
        if number < KNOWN_TAG_IDS:
            names[number] = sys.intern(name)
    return tuple(names)


# Elements a walk asks for their tag number before it hands the question to the CSS engine: a query has a
# fixed cost (~16k instructions, parsing the selector and setting up its memory), about as much as asking
# ten elements, but then walks a large subtree in C.
FIRST_WALK = 12


def first_tagged(node: LexborNode, names: frozenset[str], selector: str) -> LexborNode | None:
    """`node.css_first(selector)` for a `selector` that matches the elements named `names` (`node`
    itself included), in document order: found by walking the first few elements of a small subtree
    (a heading, a link), by the query past them or for a name the parser does not number."""
    ids, unnumbered = tag_ids(names)
    if not unnumbered:
        for index, below in enumerate(node.traverse()):  # elements (and comments), `node` first
            if below.tag_id in ids:
                return below
            if index == FIRST_WALK:
                break
        else:
            return None
    return node.css_first(selector)
