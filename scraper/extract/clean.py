"""Cleaning a chosen article body into safe, semantic HTML.

An allowlist, not a blocklist: a post is published on the user's own site, so nothing that can run code,
track the reader or restyle the page survives. Lazy-loaded images get a real `src` (the old archives kept
1-pixel placeholders), links become absolute (the post no longer lives on the source's host).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.extract.budget import CHECK_EVERY, Budget
from scraper.extract.hints import (
    AD_ATTRIBUTE_NAMES,
    AD_ATTRIBUTES,
    holds_embedded_post,
    junk_names,
    may_hide_rest,
    only_weak_junk,
)
from scraper.extract.measure import (
    CLAUSE,
    KNOWN_TAG_IDS,
    TextStats,
    climb_answer,
    first_tagged,
    measure,
    tag_ids,
    tag_names,
)
from scraper.extract.promo import is_promo_link
from scraper.extract.site import Leads, Site

# Elements dropped with everything inside them.
DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "annotation",  # a formula's source (TeX) beside its MathML, which reads as its text
    "annotation-xml",
    "canvas",
    "video",
    "audio",
    "source",
    "track",
    "map",
    "link",
    "meta",
    "base",
    "input",
    "button",
    "select",
    "textarea",
    "label",
    "dialog",
    "nav",
    "aside",
    "footer",
)

_DROP_TAG_SET = frozenset(DROP_TAGS)
# Blocks judged by their attributes: names (class, id), hiding, ad-slot markers. One `:is()` rather than
# a list: the parser then tries the alternatives of a node only until one matches, and yields each node
# once (a list tries all nine on every node, and yields a node with a class and an id twice): half the
# instructions of the query.
_JUDGED_BY_ATTRIBUTES = (
    ":is(" + ", ".join(("[class]", "[id]", "[hidden]", "[style]", "[aria-hidden]", *AD_ATTRIBUTES)) + ")"
)
# The attributes besides the names that can make a block junk: a block named like no furniture and
# carrying none of them stays, whatever else it carries (a link's href, data-* of scripts).
_JUDGING = frozenset({"style", "hidden", "aria-hidden", *AD_ATTRIBUTE_NAMES})

# Elements kept, with the attributes each may carry.
ALLOWED: dict[str, frozenset[str]] = {
    **{
        tag: frozenset()
        for tag in ("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "dl", "dt", "dd")
    },
    **{tag: frozenset() for tag in ("em", "strong", "b", "i", "u", "s", "sub", "sup", "small", "mark")},
    **{tag: frozenset() for tag in ("pre", "code", "kbd", "samp", "var", "figure", "figcaption", "div")},
    **{tag: frozenset() for tag in ("table", "thead", "tbody", "tfoot", "tr", "caption", "del", "ins")},
    "li": frozenset({"value"}),
    "ol": frozenset({"start", "reversed", "type"}),
    "blockquote": frozenset({"cite"}),
    "q": frozenset({"cite"}),
    "cite": frozenset(),
    "abbr": frozenset({"title"}),
    "time": frozenset({"datetime"}),
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan", "scope"}),
}

# Where lazy-loading scripts keep the real image, best first.
LAZY_SRC_ATTRIBUTES = (
    "data-src",
    "data-original",
    "data-lazy-src",
    "data-lazyload",
    "data-actualsrc",
    "data-original-src",
    "data-hi-res-src",
    "data-url",
    "data-echo",
)
LAZY_SRCSET_ATTRIBUTES = ("data-srcset", "data-lazy-srcset", "srcset")

_SAFE_SCHEMES = frozenset({"http", "https", "mailto", "ftp", ""})
_URL_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_C0_OR_SPACE = "".join(chr(code) for code in range(0x21))
# An http(s) URL that urljoin returns unchanged: a plain host, a path without `;params`, a query and a
# fragment that are not empty.
PLAIN_ABSOLUTE = re.compile(r"https?://[^\s/?#\[\]@;\\]+(?:/[^\s?#;\[\]\\]*)?(?:\?[^\s#\\]+)?(?:#[^\s\\]+)?")
_TRACKER = re.compile(
    r"(?i)doubleclick\.net|google-analytics|googletagmanager|scorecardresearch|quantserve|/pixel|"
    r"/beacon|/track(?:ing)?/|/1x1\.|spacer\.gif|blank\.gif|facebook\.com/tr|/b\.gif|/p\.gif"
)
# `_TRACKER`'s words, for an ASCII address: lowered, it holds one of them exactly when the pattern
# matches (the case-insensitive pattern tries fifteen words at every character: 100k instructions for
# a long image address, a substring search each is a fortieth of that).
_TRACKER_WORDS = (
    "doubleclick.net", "google-analytics", "googletagmanager", "scorecardresearch", "quantserve", "/pixel",
    "/beacon", "/track/", "/tracking/", "/1x1.", "spacer.gif", "blank.gif", "facebook.com/tr", "/b.gif",
    "/p.gif",
)  # fmt: skip
_IMAGE = frozenset({"img"})
# Empty elements that are still content.
_VOID_CONTENT = frozenset({"img", "br", "hr", "td", "th"})
# Empty elements that make their ancestors content.
_KEEPS_ITS_PARENT = frozenset({"img", "hr"})


def clean_body(
    tree: LexborHTMLParser,
    nodes: Iterable[LexborNode],
    url: str,
    remove: Iterable[str] = (),
    title: str | None = None,
    *,
    junk_dropped: bool = False,
    budget: Budget | None = None,
) -> LexborNode:
    """A wrapper holding the clean copies of the given body nodes of `tree`, in document order, without a
    heading repeating `title`. Copied within the same document: no second parse; the caller takes both
    the HTML and the text from it."""
    root = tree.create_node("div")
    for node in nodes:
        root.insert_child(node)
    _clean_root(root, url, () if junk_dropped else remove, title, budget or Budget(), drop=not junk_dropped)
    return root


def clean_fragment_html(fragment: str, url: str, remove: Iterable[str] = (), title: str | None = None) -> str:
    """Clean HTML from elsewhere (a feed's content) the same way as a page body."""
    tree = LexborHTMLParser(f"<html><body><div id='scraper-root'>{fragment}</div></body></html>")
    root = tree.css_first("#scraper-root")
    if root is None:
        return ""
    _clean_root(root, url, remove, title, Budget())
    return (root.inner_html or "").strip()


def _clean_root(
    root: LexborNode, url: str, remove: Iterable[str], title: str | None, budget: Budget, drop: bool = True
) -> None:
    if drop:
        for block in root.iter():  # the chosen blocks are the article, even if a script is to reveal them
            if _hidden_style(block.attributes.get("style")):
                del block.attrs["style"]
        drop_junk(root, remove, budget=budget)
    if title:
        drop_title_heading(root, title)
    root_id = root.mem_id
    lost: list[LexborNode] = []  # figures whose image could not be kept
    names = tag_names()  # `node.tag` by number, for half its cost
    for index, node in enumerate(list(root.traverse())):
        if not index & CHECK_EVERY:
            budget.check()
        if not index:
            continue  # the root (the walk's first node) is the wrapper, not content
        number = node.tag_id
        tag = (names[number] if number < KNOWN_TAG_IDS else None) or node.tag
        figure = _figure_of(node, root_id) if tag == "img" else None
        if _clean_element(node, url, tag) and figure is not None:
            lost.append(figure)
    for figure in lost:
        if figure.css_first("img") is None and not caption_speaks(figure):
            figure.remove(recursive=False)
    _remove_empty(root, budget)
    root.merge_text_nodes()


def drop_junk(
    root: LexborNode,
    remove: Iterable[str] = (),
    protect: str | None = None,
    budget: Budget | None = None,
) -> None:
    """Detach script, furniture, ad slots, hidden blocks and the caller's own selectors.

    `remove(recursive=False)`: the node is unlinked from its parent in one step, its subtree stays with
    it; the default unlinks every node of the subtree one by one (selectolax's `remove` is `decompose`).
    Unlinking a node whose ancestor is already unlinked is safe.
    """
    budget = budget or Budget()
    _drop_tags(root)
    budget.check()
    drop_selected(root, remove)
    judge = _Judge(root, protect, budget, at_once=True)
    gone = _Detached(root)
    for index, node in enumerate(root.css(_JUDGED_BY_ATTRIBUTES)):
        if not index & CHECK_EVERY:
            budget.check()
        if gone.pending and gone.inside(node):
            continue  # inside a block already gone: nothing left to change
        if judge.drops(node):
            gone.add(node)


def drop_junk_measured(root: LexborNode, protect: str, budget: Budget) -> TextStats:
    """`drop_junk` (without the caller's selectors) and `measure` of what is left, in one walk: each
    element is judged as the walk meets it (no query for the judged elements, no climb to a removed
    ancestor). A dropped element is emptied at once, so the walk never enters it and the blocks judged
    later see the page without what it held, as if it were gone; the element itself is unlinked after
    the walk (unlinked under the walk, it would end it)."""
    _drop_tags(root)
    budget.check()
    judge = _Judge(root, protect, budget, at_once=False)
    stats = measure(root, budget, judge.drops)
    for node in judge.dropped:
        node.remove(recursive=False)
    return stats


class _Judge:
    """Whether an element goes, asked in page order of every element not inside one gone before.

    `at_once`: the element is unlinked as soon as it is judged junk; otherwise it is emptied (but the
    root, the page itself) and kept in `dropped` for the caller to unlink."""

    __slots__ = ("_budget", "_now", "_page", "_protect", "_root_key", "_wrappers", "dropped")

    def __init__(self, root: LexborNode, protect: str | None, budget: Budget, *, at_once: bool) -> None:
        self._protect, self._budget, self._now = protect, budget, at_once
        self._root_key = root.mem_id
        self.dropped: list[LexborNode] = []
        self._page = _AskedOnce(root, protect)
        self._wrappers = _PageWrappers(root)

    def drops(self, node: LexborNode) -> bool:
        attributes = node.attributes
        if not attributes or (
            not junk_names(attributes.get("class"), attributes.get("id")) and _JUDGING.isdisjoint(attributes)
        ):
            return False  # most elements: bare, or named like no furniture with nothing else to judge
        if not self._is_junk(node, attributes):
            return False
        if self._now:
            node.remove(recursive=False)
        else:
            self.dropped.append(node)
            if node.mem_id != self._root_key:
                _empty(node)
        return True

    def _is_junk(self, node: LexborNode, attributes: dict[str, str | None]) -> bool:
        """Named like furniture, hidden, or an ad slot."""
        protect, page = self._protect, self._page
        junk = junk_by_name(node, attributes.get("class"), attributes.get("id"), self._budget)
        style = attributes.get("style")
        display_none = invisible = False
        if style:
            compact = style.replace(" ", "").lower()
            display_none = "display:none" in compact
            invisible = display_none or "visibility:hidden" in compact
        return (
            display_none
            or "hidden" in attributes
            or not AD_ATTRIBUTE_NAMES.isdisjoint(attributes)
            or (attributes.get("aria-hidden") == "true" and first_tagged(node, _IMAGE, "img") is None)
            # an invisible block that holds the article is shown by script (WeChat's #js_content);
            # a display:none one is a copy (print version, template) and goes
            or (
                (invisible or (junk and not (page.has_posts() and holds_embedded_post(node))))
                and not (protect and (node.mem_id in page.holders() or self._wrappers.holds_text(node)))
            )
        )


# The wrapper of the rest of an article holds this many paragraphs of prose, at least this long each; a
# teaser holds a linked headline over its line or two (one more paragraph is then needed per headline),
# and a subscription pitch asks the reader. One is enough: the rest of a short article is one paragraph.
REST_PARAGRAPHS = 1
REST_PARAGRAPH_CHARS = 80
# ... or this many clause marks: Chinese and Japanese say a sentence or two in fewer characters.
REST_PARAGRAPH_CLAUSES = 3
# A paragraph that asks the reader to subscribe or log in is the pitch's, however long it is.
_ASKS_READER = re.compile(
    r"(?i)\b(?:subscribe|subscriber|subscription|sign in|sign up|log in|already a member)\b"
)


def holds_rest(node: LexborNode, budget: Budget | None = None) -> bool:
    """A block named "read more" or "paywall" that holds the rest of the article (paragraphs of prose,
    not of links) rather than teasers or a pitch: a click or a subscription shows it, and its text is in
    the page, the archive keeps it. Teasers with long summaries are paragraphs of prose too, each under
    a linked headline: the rest of an article has more paragraphs than linked headings."""
    needed = max(REST_PARAGRAPHS, len(node.css(_LINKED_HEADINGS)) + 1)
    found = 0
    for index, paragraph in enumerate(node.css("p")):
        if budget is not None and not index & CHECK_EVERY:
            budget.check()  # nested wrappers of many short paragraphs: each asks of all of them
        text = paragraph.text(True, "", True)  # deep, stripped: positional, no keywords to parse
        if (
            (len(text) >= REST_PARAGRAPH_CHARS or len(CLAUSE.findall(text)) >= REST_PARAGRAPH_CLAUSES)
            and link_text_length(paragraph) * 2 < len(text)
            and not _ASKS_READER.search(text)
        ):
            found += 1
            # read no further: nested wrappers each ask, a walk each would be N x depth; but one paragraph
            # beside a link of its own (a button, an offer) is a promotion's unless a second one follows
            if found >= needed and (found > 1 or not _links_beside_paragraphs(node)):
                return True
    return False


def _links_beside_paragraphs(node: LexborNode) -> bool:
    """Whether `node` holds a link outside its paragraphs and outside furniture (a share bar goes anyway):
    a promotion's button or offer. Asked only of a "read more" box of one paragraph."""
    for link in node.css("a"):
        parent = link.parent
        while parent is not None and parent.mem_id != node.mem_id:
            attributes = parent.attributes
            if parent.tag == "p" or junk_names(attributes.get("class"), attributes.get("id")):
                break
            parent = parent.parent
        else:
            return True
    return False


_LINKED_HEADINGS = ", ".join(f"h{level} a" for level in range(1, 7))
# A teaser's headline is a link standing on its own (in a heading, a card's div), not words of a sentence.
_SENTENCE_TAGS = frozenset({"p", "li", "td", "dd", "blockquote", "figcaption"}) | frozenset(
    {"a", "span", "em", "strong", "b", "i", "font", "small", "sup", "sub", "u", "mark", "cite", "q"}
)
# A list of teasers has at least this many headlines, and a summary of a paragraph or two under each: at
# most this many characters of prose (outside links) per headline.
TEASER_HEADLINES = 2
TEASER_CHARS = 400
HEADLINE_WORDS = 3
HEADLINE_UNSPACED_CHARS = 8


_HEADING_TAGS = frozenset(f"h{level}" for level in range(1, 7))


def teaser_counts(node: LexborNode, flat: bool = False, site: Site | None = None) -> tuple[int, int]:
    """How many headline links (a link that is not words of a sentence) and paragraphs of prose a
    block holds: one walk of its links and one of its paragraphs. A teaser is wrapped on its own (a
    card, an item): a linked heading standing in the block's own flow, between its paragraphs, heads a
    section of it (a listicle's "1. The first thing", a briefing's items), and is not counted unless
    `flat` (after the block the page marks as its article, where there is no more of it to head).
    Where the page's `site` is known, where a headline leads decides instead of its wrapping: a teaser
    leads to another story of the same site; one leading elsewhere (a listicle's product, a cited
    source) or to a spot on the page (a table of contents) heads a part of this one."""
    headlines = 0
    key = node.mem_id
    for link in node.css("a[href]"):
        parent = link.parent
        if parent is None or parent.tag in _SENTENCE_TAGS or not _reads_as_headline(link.text()):
            continue
        leads = site.leads(link.attributes.get("href")) if site is not None else Leads.UNKNOWN
        if leads is not Leads.UNKNOWN:
            headlines += leads is Leads.OWN
            continue
        holder = parent.parent if parent.tag in _HEADING_TAGS else parent
        if flat or (holder is not None and holder.mem_id != key):
            headlines += 1
    prose = 0
    for paragraph in node.css("p"):
        text = paragraph.text(True, "", True)  # deep, stripped: positional, no keywords to parse
        if len(text) >= REST_PARAGRAPH_CHARS and link_text_length(paragraph) * 2 < len(text):
            prose += 1
    return headlines, prose


def _reads_as_headline(text: str | None) -> bool:
    """A headline says something: a few words ("Other story", not "Facebook" or "10 Reviews"), or, in a
    script written without spaces, a few characters more than a label."""
    words = (text or "").split()
    if len(words) >= HEADLINE_WORDS:
        return True
    return len(words) == 1 and len(words[0]) >= HEADLINE_UNSPACED_CHARS and not words[0].isascii()


def reads_as_teasers(headlines: int, paragraphs: int, prose: int) -> bool:
    """Teasers (cards, a "read more" box, a grid of other stories) put a short summary under each
    linked headline; the rest of an article has more paragraphs than linked headings (as `holds_rest`
    judges a "read more" box) or more text than summaries, and a sentence's links are inside its
    paragraph. `prose`: the block's text outside links."""
    return headlines >= TEASER_HEADLINES and paragraphs <= headlines and prose <= headlines * TEASER_CHARS


def link_text_length(node: LexborNode) -> int:
    return sum(len(link.text(True, "", True)) for link in node.css("a"))


# Elements that are words of a sentence when they sit in a paragraph.
_INLINE = frozenset({"a", "span", "em", "strong", "b", "i", "font"})


def junk_by_name(
    node: LexborNode, classes: str | None, ident: str | None, budget: Budget | None = None
) -> bool:
    """Furniture by its names, but for the rest of the article in a "read more" or "paywall" wrapper,
    and for words of a sentence (a link, an emphasis in a paragraph) named only weakly ("popup",
    "tag"): the sentence would lose them."""
    if not junk_names(classes, ident):
        return False
    if may_hide_rest(classes, ident):
        return not holds_rest(node, budget)
    if node.tag in _INLINE and only_weak_junk(classes, ident):
        parent = node.parent
        return parent is None or parent.tag != "p"
    return True


class _AskedOnce:
    """What `drop_junk` asks of the whole page only once a block is to be judged by it, and once: each
    is a walk of the page. Asked late, after some blocks are gone, the answers change nothing: a block
    judged later is never an ancestor of one gone before (ancestors come first in page order), so what
    was inside those blocks was never inside it."""

    def __init__(self, root: LexborNode, protect: str | None) -> None:
        self._root, self._protect = root, protect
        self._holders: set[int] | None = None
        self._posts: bool | None = None

    def holders(self) -> set[int]:
        """The blocks holding a protected element (the article's heading, `<article>`...)."""
        if self._holders is None:
            self._holders = _ancestors_of(self._root.css(self._protect)) if self._protect else set()
        return self._holders

    def has_posts(self) -> bool:
        """Whether the page embeds a post (a tweet): looked for in each junk block only then."""
        if self._posts is None:
            self._posts = holds_embedded_post(self._root)
        return self._posts


class _Detached:
    """Which nodes, met in page order, are inside one already removed. Those inside a removed block
    follow it in page order, up to the first node that is not: only the nodes from a removal to that
    one are climbed (to the nearest known answer, which every node climbed through learns too, so the
    climbs together cost the tree's size at most); the others are answered without a question."""

    def __init__(self, root: LexborNode) -> None:
        self._answer: dict[int, bool] = {root.mem_id: False}
        self.pending = False  # whether the nodes met now may be inside the last one removed

    def add(self, node: LexborNode) -> None:
        self._answer[node.mem_id] = True
        self.pending = True

    def inside(self, node: LexborNode) -> bool:
        """Whether `node` (met after the nodes asked before) is inside a removed block; asked only
        while `pending` (the others are not)."""
        # climbed out of the tree without meeting the root: detached
        if climb_answer(node, self._answer, default=True):
            return True
        self.pending = False  # past the removed block: so are the nodes after this one
        return False


def drop_selected(root: LexborNode, selectors: Iterable[str]) -> None:
    """Detach what the caller's selectors match: one query for them all when each is plain (`_joined`),
    else a query each, in turn (each query has a fixed cost of ~16k instructions: a site's rule lists
    five or six)."""
    selectors = tuple(selectors)
    joined = _joined(selectors) if len(selectors) > 1 else None
    if joined is not None:
        try:
            nodes = root.css(joined)
        except Exception:  # one of them invalid after all: each alone below
            pass
        else:
            for node in nodes:
                node.remove(recursive=False)
            return
    for selector in selectors:
        try:
            nodes = root.css(selector)
        except Exception:  # an invalid selector in a user's rule costs that selector only
            continue
        for node in nodes:
            node.remove(recursive=False)


# A plain selector: type, class, id and attribute selectors, joined by descendant or child combinators,
# no pseudo-class (`:first-child`, `:has()`) and no sibling combinator. Whether it matches an element
# depends on the element and its ancestors alone, which removing other matches does not change (a
# match inside a removed one is detached either way): one query for a list of them finds what the
# queries in turn would, and removing each finds the same tree.
_IDENT = r"-?[_a-zA-Z][-_a-zA-Z0-9]*"
_ATTRIBUTE = rf"""\[\s*{_IDENT}\s*(?:[~|^$*]?=\s*(?:{_IDENT}|"[^"\\]*"|'[^'\\]*')\s*(?:[iIsS]\s*)?)?\]"""
_SIMPLE = rf"(?:\.{_IDENT}|#{_IDENT}|{_ATTRIBUTE})"
_COMPOUND = rf"(?:(?:{_IDENT}|\*){_SIMPLE}*|{_SIMPLE}+)"
_PLAIN_SELECTOR = re.compile(rf"\s*{_COMPOUND}(?:(?:\s*>\s*|\s+){_COMPOUND})*\s*")


@lru_cache(maxsize=256)
def _joined(selectors: tuple[str, ...]) -> str | None:
    """`selectors` as one selector list when there are several and each is plain; else None."""
    if len(selectors) < 2 or not all(_PLAIN_SELECTOR.fullmatch(selector) for selector in selectors):
        return None
    return ", ".join(selectors)


def _drop_tags(root: LexborNode) -> None:
    """Detach every element of DROP_TAGS: one walk asking each element its tag number (beats a CSS
    pass, and a third of asking its name); a tag the parser does not number is compared by name.

    The walk passes over what a dropped element holds: its children are unlinked when the walk meets
    it (they go with it, and the walk goes on past it), the element itself after the walk (unlinked
    under the walk, it would end it). A root to drop is unlinked whole, as it was."""
    ids, names = tag_ids(_DROP_TAG_SET)
    root_key = root.mem_id
    dropped = []
    for node in root.traverse():
        if (number := node.tag_id) in ids or (number >= KNOWN_TAG_IDS and node.tag in names):
            dropped.append(node)
            if node.mem_id != root_key:
                _empty(node)
    for node in dropped:
        node.remove(recursive=False)


def _empty(node: LexborNode) -> None:
    """Unlink the children of `node`, the subtree of each with it: a walk met at `node` goes on past it
    without entering it (while `node` itself, unlinked under the walk, would end it)."""
    child = node.first_child
    while child is not None:
        child.remove(recursive=False)
        child = node.first_child


def _ancestors_of(nodes: list[LexborNode]) -> set[int]:
    held: set[int] = set()
    for node in nodes:
        ancestor: LexborNode | None = node
        while ancestor is not None and ancestor.mem_id not in held:
            held.add(ancestor.mem_id)
            ancestor = ancestor.parent
    return held


class _PageWrappers:
    """A furniture-named block that wraps most of the page's text is the page's wrapper, not furniture.

    Measuring text is the costly part, and a block without a paragraph holds no article: the blocks
    holding a paragraph are found once per page (one selector pass and one climb per ancestor), and
    the page's text is measured once, the first time a block is asked about."""

    def __init__(self, root: LexborNode) -> None:
        self._root = root
        self._with_paragraphs: set[int] | None = None
        self._whole = 0

    def holds_text(self, node: LexborNode) -> bool:
        if self._with_paragraphs is None:
            self._with_paragraphs = _ancestors_of(self._root.css("p"))
            self._whole = len(self._root.text() or "")
        if node.mem_id not in self._with_paragraphs:
            return False
        return len(node.text() or "") > 0.4 * self._whole


def drop_title_heading(root: LexborNode, title: str) -> None:
    """The title is the post's own heading; the body repeating it reads twice."""
    wanted = _normal(title)
    for heading in root.css("h1, h2"):
        if _normal(heading.text()) == wanted:
            heading.remove(recursive=False)


def _normal(text: str | None) -> str:
    return "".join((text or "").split()).lower()


def _hidden_style(style: str | None, display_only: bool = False) -> bool:
    if not style:
        return False
    compact = style.replace(" ", "").lower()
    return "display:none" in compact or (not display_only and "visibility:hidden" in compact)


def _clean_element(node: LexborNode, url: str, tag: str | None) -> bool:
    """Clean one node (whose tag is `tag`) in place; True when it was removed."""
    if tag is None or tag.startswith("-"):  # text and comments
        if tag == "_comment" or node.is_comment_node:
            node.remove(recursive=False)
            return True
        return False
    if tag == "img":
        return _clean_image(node, url)
    if tag == "a":
        _clean_link(node, url)
        return False
    allowed = ALLOWED.get(tag)
    if allowed is None:
        node.unwrap()
        return False
    _keep_attributes(node, allowed)
    for name in _URL_ATTRIBUTES.get(tag, ()):
        _clean_url_attribute(node, name, url)
    return False


# Kept attributes (besides a link's href and an image's src) that hold a URL: `cite` on quotes.
_URL_ATTRIBUTES = {
    tag: urls for tag, urls in ((tag, allowed & {"cite"}) for tag, allowed in ALLOWED.items()) if urls
}


def _clean_url_attribute(node: LexborNode, name: str, url: str) -> None:
    """A URL attribute made absolute as a link's href is, or dropped when its scheme is unsafe: a
    `<blockquote cite="javascript:...">` came through as written."""
    value = node.attributes.get(name)
    if value is None:
        return
    absolute = safe_url(value, url)
    if absolute is None:
        del node.attrs[name]
    else:
        node.attrs[name] = absolute


def _figure_of(image: LexborNode, root_id: int) -> LexborNode | None:
    """The figure an image illustrates: `<figure>` a few wrappers up (a link, a picture, a div)."""
    ancestor = image.parent
    for _ in range(4):
        if ancestor is None or ancestor.mem_id == root_id:
            return None
        if ancestor.tag == "figure":
            return ancestor
        ancestor = ancestor.parent
    return None


_SENTENCE_END = re.compile(r"[.!?。！？](?:\s|$)|[。！？]")
_ASIDE = re.compile(r"\([^)]*\)|（[^）]*）|\[[^\]]*\]|【[^】]*】")


def caption_speaks(figure: LexborNode) -> bool:
    """A caption that says something without its picture: two sentences or more once the credits in
    brackets are set aside ("Scene at the fair. (File photo)" only labels a photo that is gone)."""
    caption = figure.css_first("figcaption")
    text = _ASIDE.sub("", caption.text() or "").strip() if caption is not None else ""
    return len(_SENTENCE_END.findall(text)) >= 2


def _keep_attributes(node: LexborNode, allowed: frozenset[str]) -> None:
    names = node.attributes.keys()
    if names and not names <= allowed:
        attrs = node.attrs
        for name in list(names - allowed):
            del attrs[name]


def _clean_link(node: LexborNode, url: str) -> None:
    href = (node.attributes.get("href") or "").strip()
    absolute = safe_url(href, url) if href and not href.startswith("#") else None
    if absolute is None:
        node.unwrap()
        return
    if is_promo_link(node, absolute, url):
        node.remove(recursive=False)
        return
    _keep_attributes(node, ALLOWED["a"])
    node.attrs["href"] = absolute


def _clean_image(node: LexborNode, url: str) -> bool:
    attributes = node.attributes
    source = image_source(attributes)
    absolute = safe_url(source, url) if source else None
    if absolute is None or _is_tracker(absolute, attributes):
        node.remove(recursive=False)
        return True
    _keep_attributes(node, ALLOWED["img"])
    node.attrs["src"] = absolute
    return False


def image_source(attributes: dict[str, str | None]) -> str | None:
    """The real image behind a lazy-loading placeholder: data-* first, then the largest srcset entry."""
    for name in LAZY_SRC_ATTRIBUTES:
        value = (attributes.get(name) or "").strip()
        if value and not value.startswith("data:"):
            return value
    for name in LAZY_SRCSET_ATTRIBUTES:
        best = largest_in_srcset(attributes.get(name) or "")
        if best:
            return best
    src = (attributes.get("src") or "").strip()
    return src if src and not src.startswith("data:") else None


def largest_in_srcset(srcset: str) -> str | None:
    best: tuple[float, str] | None = None
    for link, descriptor in srcset_candidates(srcset):
        if link.startswith("data:"):
            continue
        try:
            size = float(descriptor.split()[0].rstrip("wxWX")) if descriptor.strip() else 1.0
        except ValueError:
            size = 1.0
        if best is None or size > best[0]:
            best = (size, link)
    return best[1] if best else None


def srcset_candidates(srcset: str) -> list[tuple[str, str]]:
    """(URL, descriptor) pairs, split as the HTML standard does: a URL runs to whitespace, so commas
    inside it stay ("data:image/gif;base64,R0l...", "/w_100,h_80/a.jpg"); trailing commas end it."""
    candidates: list[tuple[str, str]] = []
    position, end = 0, len(srcset)
    while position < end:
        # the runs are matched in C (`\s` is str.isspace's white space): a loop per character in
        # Python cost more than the rest of an image's cleaning
        start = position = _SRCSET_GAP.match(srcset, position).end()  # type: ignore[union-attr]
        position = _SRCSET_URL.match(srcset, position).end()  # type: ignore[union-attr]
        link, descriptor = srcset[start:position], ""
        if link.endswith(","):
            link = link.rstrip(",")
        else:
            comma = srcset.find(",", position)
            comma = end if comma < 0 else comma
            descriptor, position = srcset[position:comma].strip(), comma + 1
        if link:
            candidates.append((link, descriptor))
    return candidates


_SRCSET_GAP = re.compile(r"[\s,]*")
_SRCSET_URL = re.compile(r"\S*")


def safe_url(link: str, base: str) -> str | None:
    """`link` made absolute against `base`, or None for a script, data or other unsafe scheme."""
    # As browsers do (WHATWG URL): tabs and newlines vanish anywhere ("java\nscript:" is javascript:),
    # control characters and spaces go at the ends; a space inside is part of the path ("photo 1.jpg").
    if "\n" in link or "\t" in link or "\r" in link:  # rare: three scans in C cost less than the pattern's
        link = _URL_TAB_OR_NEWLINE.sub("", link)
    link = link.strip(_C0_OR_SPACE).replace(" ", "%20")
    if PLAIN_ABSOLUTE.fullmatch(link):  # most links: urljoin would give them back as they are
        return link
    if link[:1] == "/" and _ROOTED_PATH.fullmatch(link) and "/." not in link:
        origin = _origin(base)  # (a rooted path: the base's scheme and host before it, as urljoin puts it)
        if origin is not None:
            return origin + link
    try:
        absolute = urljoin(base, link)
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError:
        return None
    return absolute if scheme in _SAFE_SCHEMES else None


# A path from the site's root that urljoin only puts after the base's scheme and host (the most common
# relative link, `/wiki/Title`): not `//` (another host), ASCII, no `;params`, query or fragment (urljoin
# drops an empty one), and no dot segment (`/.` is looked for apart: `/./`, `/../`, a final `/.`).
_ROOTED_PATH = re.compile(r"/(?!/)[A-Za-z0-9\-._~!$&'()*+,=:@%/]*")


@lru_cache(maxsize=64)
def _origin(base: str) -> str | None:
    """`scheme://host` of an http(s) `base`, as urljoin writes it before a rooted path (the scheme
    lowered, the host as written); None for any other base, which urljoin joins itself."""
    try:
        parts = urlsplit(base)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _is_tracker(src: str, attributes: dict[str, str | None]) -> bool:
    if src.isascii():  # (?i) folds non-ASCII letters too ("\u017f" is "s"): those are asked the pattern
        probe = src.lower()
        if any(word in probe for word in _TRACKER_WORDS):
            return True
    elif _TRACKER.search(src):
        return True
    return _tiny(attributes.get("width")) or _tiny(attributes.get("height"))


def _tiny(size: str | None) -> bool:
    if not size:
        return False
    digits = size.strip().removesuffix("px")
    return digits.isdigit() and int(digits) <= 2


def _remove_empty(root: LexborNode, budget: Budget) -> None:
    """Drop wrappers left without text or image, so nested empties go too.

    One walk, children before parents, each element learning from its children whether it holds
    anything: asking every element for its text and images instead costs N² on a deep page.
    """
    holds: set[int] = set()  # elements with text, an image or a rule somewhere inside
    order: list[tuple[LexborNode, int, int, str]] = []
    names = tag_names()  # `node.tag` by number, for half its cost
    for index, node in enumerate(root.traverse()):  # elements, the root first
        if not index & CHECK_EVERY:
            budget.check()
        if not index:
            continue  # the root stays, whatever it holds
        parent = node.parent  # never None below the root
        key = node.mem_id  # asked once: each question of the parser builds a Python object
        number = node.tag_id
        tag = (names[number] if number < KNOWN_TAG_IDS else None) or node.tag or ""
        order.append((node, key, parent.mem_id, tag))  # type: ignore[union-attr]
    kept_divs: list[LexborNode] = []  # in reverse document order
    for node, key, parent_id, tag in reversed(order):
        # its own text is read only when nothing inside it holds any (a wrapper's children answer first)
        if tag in _KEEPS_ITS_PARENT or key in holds or node.text(False, "", True, True):
            holds.add(parent_id)
            if tag == "div":
                kept_divs.append(node)
        elif tag not in _VOID_CONTENT:
            node.remove(recursive=False)
    # unwrap divs that only wrap one block, so the body is not a tower of wrappers (the kept ones, in
    # document order, as a search of the tree after the removals would give them)
    budget.check()
    for div in reversed(kept_divs):
        if not _has_direct_text(div):
            div.unwrap()


def _has_direct_text(node: LexborNode) -> bool:
    child = node.child
    while child is not None:
        if child.is_text_node and (child.text_content or "").strip():
            return True
        child = child.next
    return False
