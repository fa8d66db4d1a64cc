"""Comments named like nothing: a thread of small posts beside the article, wrapped alike.

Sites name their comment sections ("comments", "disqus", "respond"), and `hints` drops those by name;
a thread that is named like nothing (bootstrap's media objects, `<article>` per comment, a plain list)
reads as prose, and its wrapper scores for the article and the posts together. What gives it away is
its shape: a run of blocks wrapped alike, each of one paragraph at most and far shorter than the
article, where an article's own sections hold several paragraphs each.
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
    if run_of_posts(parent.child, block, limit, stats):
        return True
    sibling = parent.child
    while sibling is not None:
        if (
            sibling.mem_id != block.mem_id
            and sibling.tag != "p"
            and stats.length.get(sibling.mem_id)
            and run_of_posts(sibling.child, None, limit, stats)
        ):
            return True
        sibling = sibling.next
    return False


def run_of_posts(first: LexborNode | None, skip: LexborNode | None, limit: float, stats: TextStats) -> bool:
    """Whether `first` and its next siblings (but `skip`) that hold text are mostly a run of posts
    wrapped alike: each a wrapper of one paragraph at most, under `limit` of prose, where the article's
    sections are about as long as one another and hold several paragraphs each."""
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
                kind = (node.tag, node.attributes.get("class"))
                kinds[kind] = kinds.get(kind, 0) + 1
        node = node.next
    posts = max(kinds.values(), default=0)
    return posts >= THREAD_POSTS and posts * 2 > texts


def without_threads(nodes: list[LexborNode], top: LexborNode, stats: TextStats) -> list[LexborNode]:
    """The joining siblings but the posts of a thread of comments beside `top` (however they are
    wrapped) and the blocks holding one: asked only of siblings that joined."""
    limit = post_limit(top, stats)
    top_key = top.mem_id
    posts = [
        node.mem_id
        for node in nodes
        if node.mem_id != top_key and node.tag in _POST_TAGS and prose(node, stats) < limit
    ]
    parent = top.parent
    if posts and parent is not None and run_of_posts(parent.child, top, limit, stats):
        gone = set(posts)
        nodes = [node for node in nodes if node.mem_id not in gone]
    return [
        node
        for node in nodes
        if node.mem_id == top_key or node.tag == "p" or not run_of_posts(node.child, None, limit, stats)
    ]
