"""How much text, clauses and link text every element holds, from one walk of the tree.

The finder judges blocks by their text (length, clauses, link density). Asking each block for its own
text walks its subtree again, which costs N² on a deeply nested page; summing the text nodes once,
children before parents, costs N.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

from scraper.extract.budget import CHECK_EVERY, Budget

CLAUSE = re.compile(r"[,，、。;；!！?？]")


class TextStats:
    """Per element (by `mem_id`): its text length, clause marks and linked text, deep and direct.

    Lengths count each text node without its surrounding white space, so indentation is not text.
    """

    __slots__ = (
        "clauses", "depths", "direct_clauses", "direct_length", "keys", "length", "linked", "node_of",
        "parent_of", "tags",
    )  # fmt: skip

    def __init__(self) -> None:
        self.length: dict[int, int] = {}
        self.clauses: dict[int, int] = {}
        self.linked: dict[int, int] = {}
        self.direct_length: dict[int, int] = {}
        self.direct_clauses: dict[int, int] = {}
        # in document order: the elements' keys and tags (each asked of the node once: every
        # question builds a Python object in the parser's binding)
        self.keys: list[int] = []
        self.tags: list[str | None] = []
        # depth below the measured root, in the same order: an element's subtree is the run of deeper
        # elements after it, so a later stage walks a block's subtree without the parser
        self.depths: list[int] = []
        self.parent_of: dict[int, int] = {}  # by key, up to the measured root
        self.node_of: dict[int, LexborNode] = {}

    def link_density(self, node: LexborNode) -> float:
        key = node.mem_id
        length = self.length.get(key, 0)
        return min(1.0, self.linked.get(key, 0) / length) if length else 0.0


def measure(root: LexborNode, budget: Budget) -> TextStats:
    stats = TextStats()
    length, clauses, linked = stats.length, stats.clauses, stats.linked
    direct_length, direct_clauses = stats.direct_length, stats.direct_clauses
    order: list[tuple[int, int, bool]] = []  # (element, its parent, is a link), in document order
    root_id = root.mem_id
    keys, tags, parent_of, node_of = stats.keys, stats.tags, stats.parent_of, stats.node_of
    depths = stats.depths
    depth_of: dict[int, int] = {}
    for index, node in enumerate(root.traverse()):  # elements only; their own text read in C
        if not index & CHECK_EVERY:
            budget.check()
        key = node.mem_id
        tag = node.tag
        keys.append(key)
        tags.append(tag)
        node_of[key] = node
        text = node.text(deep=False, strip=True)
        if text:
            direct_length[key] = len(text)
            direct_clauses[key] = len(CLAUSE.findall(text))
        depth = 0
        if key != root_id:
            parent = node.parent
            if parent is not None:
                parent_key = parent_of[key] = parent.mem_id
                order.append((key, parent_key, tag == "a"))
                depth = depth_of[key] = depth_of.get(parent_key, 0) + 1
        depths.append(depth)
    for key, value in direct_length.items():
        length[key] = value
        clauses[key] = direct_clauses[key]
    for key, parent_id, is_link in reversed(order):  # children before their parents
        own = length.get(key, 0)
        if is_link:
            linked[key] = own
        if own:
            length[parent_id] = length.get(parent_id, 0) + own
            clauses[parent_id] = clauses.get(parent_id, 0) + clauses.get(key, 0)
            if linked.get(key):
                linked[parent_id] = linked.get(parent_id, 0) + linked[key]
    return stats


def subtree_range(stats: TextStats, key: int) -> range:
    """The positions in `stats.keys` of the element `key` and its descendants (document order keeps a
    subtree in one run); an empty range for an element that was not measured."""
    try:
        start = stats.keys.index(key)
    except ValueError:
        return range(0)
    depths = stats.depths
    top, end, count = depths[start], start + 1, len(depths)
    while end < count and depths[end] > top:
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
