"""Comments named like nothing: a thread of small posts beside the article, wrapped alike.

Sites name their comment sections ("comments", "disqus", "respond"), and `hints` drops those by name;
a thread that is named like nothing (bootstrap's media objects, `<article>` per comment, a plain list)
reads as prose, and its wrapper scores for the article and the posts together. What gives it away is
its shape: a run of blocks wrapped alike, each of one paragraph at most and far shorter than the
article, where an article's own sections hold several paragraphs each.

The shape alone is also a live blog's updates, a Q&A's answers, a recipe's steps, a transcript's turns
and a timeline's events, beside the article's intro: those are the article. A thread stands apart
from an article the page marks as such (`<article>`, schema.org's articleBody: the comments are
outside it), or it is wrapped as the article's block is (a template that wraps every item alike); an
unmarked intro beside short blocks is read as one article.
"""

from __future__ import annotations

from selectolax.lexbor import LexborNode

from scraper.extract.measure import TextStats


def prose(node: LexborNode, stats: TextStats) -> int:
    """A block's text outside links."""
    key = node.mem_id
    return stats.length.get(key, 0) - stats.linked.get(key, 0)


# A thread: at least this many blocks beside the article, wrapped alike, each under this share of it
# and under this many characters, and of at most this many paragraphs (a comment says a paragraph; a
# section of an article says more, and a section a quarter as long as the longest one holds more).
THREAD_POSTS = 3
THREAD_POST_SHARE = 0.25
THREAD_POST_CHARS = 1000
THREAD_POST_PARAGRAPHS = 1
_POST_TAGS = frozenset({"div", "li", "article", "section"})


def post_limit(block: LexborNode, stats: TextStats) -> float:
    """The prose a post of a thread beside `block` holds less of."""
    return min(prose(block, stats) * THREAD_POST_SHARE, THREAD_POST_CHARS)


def beside_a_thread(block: LexborNode, stats: TextStats) -> bool:
    """Whether `block`'s siblings that hold text are mostly a thread (comments, named like nothing),
    or one of them holds one (a list, a section under a "5 responses" heading)."""
    parent = block.parent
    if parent is None:
        return False
    limit = post_limit(block, stats)
    kind = thread_kind(parent.child, block, limit, stats)
    if kind is not None and (kind == (block.tag, block.attributes.get("class")) or marks_article(block)):
        return True
    sibling = parent.child
    while sibling is not None:
        if (
            sibling.mem_id != block.mem_id
            and sibling.tag != "p"
            and stats.length.get(sibling.mem_id)
            and run_of_posts(sibling.child, None, limit, stats)
        ):
            return marks_article(block)  # asked once: the thread is found
        sibling = sibling.next
    return False


def marks_article(block: LexborNode) -> bool:
    """Whether the page marks `block`, or a block in it, as the article: then a thread beside it is
    outside the article, where an unmarked block's short neighbours may be its updates or answers.
    Asked only of a block found beside a run of posts."""
    if block.tag == "article" or "articlebody" in (block.attributes.get("itemprop") or "").lower().split():
        return True
    return block.css_first("article, [itemprop~=articleBody], [itemprop~=articlebody]") is not None


def run_of_posts(first: LexborNode | None, skip: LexborNode | None, limit: float, stats: TextStats) -> bool:
    """Whether `first` and its next siblings (but `skip`) that hold text are mostly a run of posts
    wrapped alike: each a wrapper of one paragraph at most, under `limit` of prose, where the article's
    sections are about as long as one another and hold several paragraphs each."""
    return thread_kind(first, skip, limit, stats) is not None


def thread_kind(
    first: LexborNode | None, skip: LexborNode | None, limit: float, stats: TextStats
) -> tuple[str | None, str | None] | None:
    """How the posts of `run_of_posts`'s run are wrapped (tag and class), None when there is no run."""
    kinds: dict[tuple[str | None, str | None], int] = {}
    texts = 0
    node = first
    while node is not None:
        if (
            node.is_element_node
            and (skip is None or node.mem_id != skip.mem_id)
            and stats.length.get(node.mem_id)
        ):
            texts += 1
            # a post is a wrapper of its own (paragraphs beside the article are more of it)
            if (
                node.tag in _POST_TAGS
                and 0 < prose(node, stats) < limit
                and len(node.css("p")) <= THREAD_POST_PARAGRAPHS
            ):
                wrapped = (node.tag, node.attributes.get("class"))
                kinds[wrapped] = kinds.get(wrapped, 0) + 1
        node = node.next
    if not kinds:
        return None
    kind = max(kinds, key=kinds.__getitem__)
    posts = kinds[kind]
    return kind if posts >= THREAD_POSTS and posts * 2 > texts else None


def without_threads(nodes: list[LexborNode], top: LexborNode, stats: TextStats) -> list[LexborNode]:
    """The joining siblings but the posts of a thread of comments beside `top` (however they are
    wrapped) and the blocks holding one: asked only of siblings that joined."""
    limit = post_limit(top, stats)
    top_key = top.mem_id
    marked: bool | None = None  # asked of the page once, when a thread is found
    posts = [
        node.mem_id
        for node in nodes
        if node.mem_id != top_key and node.tag in _POST_TAGS and prose(node, stats) < limit
    ]
    parent = top.parent
    kind = thread_kind(parent.child, top, limit, stats) if posts and parent is not None else None
    if kind is not None:
        marked = marks_article(top)
        if marked or kind == (top.tag, top.attributes.get("class")):
            gone = set(posts)
            nodes = [node for node in nodes if node.mem_id not in gone]
    kept: list[LexborNode] = []
    for node in nodes:
        if node.mem_id != top_key and node.tag != "p" and run_of_posts(node.child, None, limit, stats):
            if marked is None:
                marked = marks_article(top)
            if marked:
                continue
        kept.append(node)
    return kept
