"""The article's lead (standfirst) when it stands between the headline and the body.

Templates print the lead in a block of its own before the body's container: a `<div class="intro">`, a
heading under the headline (`<h2 class="leadText">`), a paragraph of a Drupal field. It scores low (one
paragraph, often bold or in a heading, not in the body's container), so the finder leaves it out; yet it
is the article's first paragraph. The place says what it is: after the page's `<h1>` and before the
body, under the lowest block holding both (the article, not the page), a sentence or two of prose.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from selectolax.lexbor import LexborNode

from scraper.extract.measure import TextStats
from scraper.extract.promo import asks_reader

# A lead is a sentence or two: shorter is a dateline or a byline, longer a block the finder measured.
LEAD_MIN_CHARS = 60
LEAD_MAX_CHARS = 700
# ... or, as Chinese and Japanese say a sentence in thirty characters, this long with this many clause marks.
LEAD_MIN_CLAUSED_CHARS = 20
LEAD_MIN_CLAUSES = 2
# ... with hardly a link (a row of tags or a "read also" line is links).
LEAD_MAX_DENSITY = 0.1
# Blocks that hold something else than the lead between the headline and the body.
_NOT_LEAD = frozenset(
    {"figure", "figcaption", "ul", "ol", "dl", "table", "form", "nav", "aside", "footer", "time", "address",
     "button", "select", "label", "blockquote", "a"}
)  # fmt: skip
# It reads as prose: it ends a sentence (closing quotes and brackets aside).
_SENTENCE_END = re.compile(r"[.!?。！？…](?:[\"'”’»)\]]*)\s*$")


def with_lead(
    nodes: list[LexborNode], stats: TextStats, is_stub: Callable[[LexborNode, int], bool] | None = None
) -> list[LexborNode]:
    """`nodes` (the body's blocks, in page order) with the lead before them when the page has one.
    `is_stub(block, length)`: the finder's judge of notices and pitches (a cookie notice styled as the
    intro is not a lead; the lead joins as a root, which the cleaning keeps whole)."""
    if not nodes:
        return nodes
    keys = stats.keys
    try:
        start = keys.index(nodes[0].mem_id)
    except ValueError:
        return nodes
    heading = _headline_before(stats.tags, start)
    if heading is None:
        return nodes
    holder = _holder(stats, keys[heading], keys[start])
    if holder is None:
        return nodes
    leads = _leads_beside(stats, keys[heading], keys[start], holder)
    if is_stub is not None:
        leads = [lead for lead in leads if not is_stub(lead, stats.length.get(lead.mem_id, 0))]
    return [*leads, *nodes] if leads else nodes


def _headline_before(tags: list[str | None], start: int) -> int | None:
    """The position of the last `<h1>` before the body's first block, if any (searched in C)."""
    if start <= 0:
        return None
    try:
        return start - 1 - tags[start - 1 :: -1].index("h1")
    except ValueError:
        return None


def _holder(stats: TextStats, heading: int, body: int) -> int | None:
    """The lowest block holding the headline and the body, when it is not the page (a page-wide pair is
    a site's title above some block, not an article's headline above its body)."""
    parent_key = stats.parent_key
    above: set[int] = set()
    key: int | None = heading
    while key is not None:
        above.add(key)
        key = parent_key(key)
    key = parent_key(body)
    while key is not None and key not in above:
        key = parent_key(key)
    if key is None or parent_key(key) is None:  # the measured root: the page's body
        return None
    return key


def _leads_beside(stats: TextStats, heading: int, body: int, holder: int) -> list[LexborNode]:
    """The lead blocks beside the body's container: the earlier siblings of the body's first block and of
    its ancestors up to `holder`, after the headline's own block. A block inside the headline's block (a
    header with the title and a deck) is the headline's, not the body's."""
    parent_key, node_of = stats.parent_key, stats.node
    headline_path: set[int] = set()
    key: int | None = heading
    while key is not None and key != holder:
        headline_path.add(key)
        key = parent_key(key)
    levels: list[list[LexborNode]] = []
    child, parent = node_of(body), parent_key(body)
    while parent is not None:
        level: list[LexborNode] = []
        sibling = child.prev
        while sibling is not None and sibling.mem_id not in headline_path:
            if sibling.is_element_node and _is_lead(sibling, stats):
                level.append(sibling)
            sibling = sibling.prev
        levels.append(level[::-1])
        if parent == holder:
            break
        child, parent = node_of(parent), parent_key(parent)
    # an outer level's siblings come before the inner levels' (which are inside its chain block)
    return [lead for level in reversed(levels) for lead in level]


def _is_lead(node: LexborNode, stats: TextStats) -> bool:
    key = node.mem_id
    size = stats.length.get(key, 0)
    long_enough = size >= LEAD_MIN_CHARS or (
        size >= LEAD_MIN_CLAUSED_CHARS and stats.clauses_of(key) >= LEAD_MIN_CLAUSES
    )
    return (
        long_enough
        and size <= LEAD_MAX_CHARS
        and node.tag not in _NOT_LEAD
        and stats.linked.get(key, 0) <= size * LEAD_MAX_DENSITY
        and _reads_as_lead(node)
    )


def _reads_as_lead(node: LexborNode) -> bool:
    """Named as the lead ("intro", "chapo", "standfirst", "articleIntro") and prose: it ends a
    sentence. Unnamed blocks in that place are as often a boxed aside ("Key points", a caption, a
    disclaimer) as a lead. A block so named that asks the reader to subscribe or log in is the site's
    pitch in the lead's place (templates reuse the lead's style for it), not the article's."""
    attributes = node.attributes
    if not (_named_lead(attributes.get("class")) or _named_lead(attributes.get("id"))):
        return False
    text = node.text(deep=True) or ""
    return bool(_SENTENCE_END.search(text)) and not asks_reader(text)


# The words templates name the lead with, in the languages users archive (chapô: French).
_LEAD_WORDS = frozenset(
    {"intro", "introduction", "lead", "lede", "leadtext", "chapo", "chapeau", "standfirst", "summary",
     "abstract", "excerpt", "sapo", "entradilla", "occhiello", "vorspann", "teasertext"}
)  # fmt: skip
# A class token's words: split at dashes, underscores and camel case ("ce_articleIntro", "lead-text").
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


@lru_cache(maxsize=1 << 12)
def _named_lead(value: str | None) -> bool:
    if not value:
        return False
    return any(word.lower() in _LEAD_WORDS for word in _WORD.findall(value))
