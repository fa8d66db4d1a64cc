"""The generic main-content finder: which blocks of a page are the article, with no site rule.

Readability's idea, tuned for news pages and CJK text: every paragraph-like block gives points to its
parent and grandparent (more for longer text and more clauses), blocks named like articles gain, blocks
named like furniture lose, and link-heavy blocks are discounted. The best block and those of its siblings
that look like article text are the body: siblings that score well, paragraphs, blocks of dense prose,
and, when the best block sits alone in its wrappers, the wrappers' siblings wrapped the same way (the
other sections of the article). `<br>`-separated text in a `<div>` (common on Chinese and Korean sites)
counts as paragraphs, the way a reader sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import compress

from selectolax.lexbor import LexborNode

from scraper.extract.budget import CHECK_EVERY, Budget
from scraper.extract.cited import heads_a_part, names_source, shows_address
from scraper.extract.clean import drop_junk_measured, reads_as_teasers, teaser_counts
from scraper.extract.hints import class_weight, holds_embedded_post
from scraper.extract.lead import with_lead
from scraper.extract.measure import TextStats, subtree_range
from scraper.extract.site import Site
from scraper.extract.threads import beside_a_thread, without_threads

# Blocks whose own text is a paragraph.
PARAGRAPH_TAGS = frozenset({"p", "pre", "td"})
# Wrappers that hold text directly on some sites (`<div>line<br>line</div>`).
TEXT_WRAPPER_TAGS = frozenset({"div", "section", "article", "main", "span", "font", "center", "td"})
TAG_WEIGHT = {
    "div": 5,
    "article": 10,
    "main": 5,
    "section": 3,
    "pre": 3,
    "td": 3,
    "blockquote": 3,
    "address": -3,
    "ol": -3,
    "ul": -3,
    "dl": -3,
    "dd": -3,
    "dt": -3,
    "li": -3,
    "form": -3,
    "h1": -5,
    "h2": -5,
    "h3": -5,
    "h4": -5,
    "h5": -5,
    "h6": -5,
    "th": -5,
}
MIN_PARAGRAPH_CHARS = 25
# Nodes that protect an ancestor from removal by name: it holds the article.
_HOLDS_ARTICLE = "h1, article, main, [itemprop=articleBody]"


@dataclass
class _Candidate:
    node: LexborNode
    score: float
    children: list[int] = field(default_factory=list)


def find_main_content(
    body: LexborNode, budget: Budget | None = None, expected_length: int = 0, site: Site | None = None
) -> list[LexborNode]:
    """The article's blocks, in page order; `[body]` when nothing stands out. `expected_length`: how
    long the page says the article is (its JSON-LD articleBody), 0 when it does not say. `site`: the
    page's site, when known: headlines leading to its other stories are teasers, others are not."""
    budget = budget or Budget()
    stats = drop_junk_measured(body, _HOLDS_ARTICLE, budget)
    stats.site = site
    candidates = _score_paragraphs(stats)
    if not candidates:
        return [body]
    ranked = _without_notices(sorted(candidates.values(), key=lambda c: c.score, reverse=True), stats)
    if not ranked:
        return [body]
    top = (
        _common_ancestor(ranked, candidates)
        or _shared_ancestor(ranked, candidates)
        or _prefer_enclosing(ranked[0], candidates, stats)
    )
    top = _whole_table(_out_of_thread(top, candidates, stats), candidates, stats)
    top = _declared_body(top, candidates) or _widened(top, candidates, stats)
    if expected_length:
        top = _as_long_as_declared(top, candidates, stats, expected_length)
    wrapper = _outermost_wrapper(top, candidates, stats)
    if wrapper is top:
        nodes = _with_siblings(top, candidates, stats)
    else:  # the wrapper adds no text: the best block stands for it (exempt from the cleaning below)
        siblings = _with_siblings(wrapper, candidates, stats, alike_only=True)
        nodes = [top.node if node.mem_id == wrapper.node.mem_id else node for node in siblings]
    nodes = with_lead(nodes, stats, _is_stub)
    for node in nodes:
        clean_conditionally(node, stats, budget)
    return nodes


# The tags `_score_paragraphs` reads a paragraph in.
_SCORED_TAGS = PARAGRAPH_TAGS | TEXT_WRAPPER_TAGS
# What a paragraph gives its parent and grandparent, against what it gives its own block.
_LEVEL_SHARES = (1, 2, 6)


def _score_paragraphs(stats: TextStats) -> dict[int, _Candidate]:
    """Every paragraph (a `<p>`'s whole text, a wrapper's own lines) gives points to three levels of
    blocks over it, and each block's points are then discounted by its link density. Read by position
    from measure's lists, only at the positions of paragraph tags (picked in C): most elements are not
    asked anything."""
    candidates: dict[int, _Candidate] = {}
    keys, tags, up, nodes = stats.keys, stats.tags, stats.up, stats.nodes
    deep_length, deep_clauses = stats.deep_length, stats.deep_clauses
    own_length, own_clauses = stats.own_length, stats.own_clauses
    for position in compress(range(len(keys)), map(_SCORED_TAGS.__contains__, tags)):
        tag = tags[position]
        ancestor: int | None
        if tag in PARAGRAPH_TAGS:
            length, clauses = deep_length[position], deep_clauses[position]
            ancestor = up[position] if position else None  # the measured root (the page's body) is the top
        else:
            length, clauses = own_length[position], own_clauses[position]
            ancestor = position
        if length < MIN_PARAGRAPH_CHARS:
            continue
        points = 1 + clauses + min(length // 100, 3)
        for share in _LEVEL_SHARES:
            if ancestor is None:
                break
            key = keys[ancestor]
            candidate = candidates.get(key)
            if candidate is None:
                node = nodes[ancestor]
                score = TAG_WEIGHT.get(tags[ancestor] or "", 0) + class_weight(node)  # `_initial_score`
                candidate = candidates[key] = _Candidate(node, score)
            candidate.score += points / share
            ancestor = up[ancestor] if ancestor else None
    lengths, linked = stats.length, stats.linked
    for key, candidate in candidates.items():  # link-heavy blocks discounted (`link_density` by key)
        if key in linked:  # else no link text: the score stays
            candidate.score *= 1 - min(1.0, linked[key] / lengths[key])
    return candidates


def _without_notices(ranked: list[_Candidate], stats: TextStats) -> list[_Candidate]:
    """`ranked` without the best blocks that are a cookie notice, a pitch or a stub: beside an article
    of one short paragraph, an unnamed notice outscores it (its wrapper a `<div>`, the article's a
    `<section>`), and the cleaning then drops all the body holds. Only short blocks at the top are asked."""
    start = 0
    while start < len(ranked):
        node = ranked[start].node
        if not _is_stub(node, stats.length.get(node.mem_id, 0)):
            break
        start += 1
    return ranked[start:] if start else ranked


def _initial_score(node: LexborNode) -> float:
    return TAG_WEIGHT.get(node.tag or "", 0) + class_weight(node)


def _common_ancestor(ranked: list[_Candidate], candidates: dict[int, _Candidate]) -> _Candidate | None:
    """An article cut into chunks (ads between them) scores as several blocks of the same kind: the
    lowest ancestor holding them all is the article. Same tag and class, so a sidebar never joins."""
    top = ranked[0]
    kind = (top.node.tag, top.node.attributes.get("class"))
    chunks = {
        c.node.mem_id
        for c in ranked[1:10]
        if c.score >= top.score * 0.5 and (c.node.tag, c.node.attributes.get("class")) == kind and kind[1]
    }
    if not chunks:
        return None
    # every ancestor of a chunk counts the chunks under it: depth x chunks, not a walk per ancestor
    held: dict[int, int] = {}
    for candidate in ranked[1:10]:
        if candidate.node.mem_id not in chunks:
            continue
        ancestor = candidate.node.parent
        while ancestor is not None:
            held[ancestor.mem_id] = held.get(ancestor.mem_id, 0) + 1
            ancestor = ancestor.parent
    ancestor = top.node.parent
    while ancestor is not None and ancestor.tag not in (None, "body", "html"):
        if held.get(ancestor.mem_id, 0) == len(chunks):
            return candidates.get(ancestor.mem_id) or _Candidate(ancestor, top.score)
        ancestor = ancestor.parent
    return None


# Readability's rule: when this many of the next best blocks score nearly as well as the best and
# sit under one ancestor with it, the article is that ancestor (sections in sibling wrappers).
MIN_ALTERNATIVES = 3
ALTERNATIVE_SHARE = 0.75


def _shared_ancestor(ranked: list[_Candidate], candidates: dict[int, _Candidate]) -> _Candidate | None:
    top = ranked[0]
    alternatives = [c for c in ranked[1:5] if c.score >= top.score * ALTERNATIVE_SHARE]
    if len(alternatives) < MIN_ALTERNATIVES:
        return None
    held: dict[int, int] = {}
    for candidate in alternatives:
        ancestor = candidate.node.parent
        while ancestor is not None:
            held[ancestor.mem_id] = held.get(ancestor.mem_id, 0) + 1
            ancestor = ancestor.parent
    ancestor = top.node.parent
    while ancestor is not None and ancestor.tag not in (None, "body", "html"):
        if held.get(ancestor.mem_id, 0) >= MIN_ALTERNATIVES:
            return candidates.get(ancestor.mem_id) or _Candidate(ancestor, top.score)
        ancestor = ancestor.parent
    return None


# A parent is the article rather than the chosen block when it adds this much prose...
WIDER_TEXT_RATIO = 1.5
# ... and at least this many characters of it (a teaser's deck is not the rest of the article).
WIDER_MIN_ADDED = 400
# ... and stays prose: its link density at most this much above the block's, and never past the cap.
WIDER_DENSITY_SLACK = 0.05
WIDER_DENSITY_CAP = 0.15


def _declared_body(top: _Candidate, candidates: dict[int, _Candidate]) -> _Candidate | None:
    """The block the page marks as the article's body (schema.org `itemprop="articleBody"`) around the
    best block: the page says where the article starts and ends, the scores only found a part of it."""
    ancestor = top.node.parent
    while ancestor is not None and ancestor.tag not in (None, "body", "html"):
        if "articlebody" in (ancestor.attributes.get("itemprop") or "").lower().split():
            return candidates.get(ancestor.mem_id) or _Candidate(ancestor, top.score)
        ancestor = ancestor.parent
    return None


def _widened(top: _Candidate, candidates: dict[int, _Candidate], stats: TextStats) -> _Candidate:
    """The chosen block looks incomplete when a parent holds much more prose than it: an intro block
    scored best, the rest of the article in a sibling without paragraphs of its own (a "read more"
    wrapper, a div of text runs). Climb while the parent adds prose and not links (CETD's view: the
    article is where text is dense and links are sparse)."""
    node = top.node
    prose = _prose(node, stats)
    density = stats.link_density(node)
    below, ancestor = node, node.parent
    # wrappers that add nothing are passed through: the step that adds the rest may be a few levels up
    while ancestor is not None and ancestor.tag not in (None, "body", "html"):
        ancestor_density = stats.link_density(ancestor)
        if ancestor_density > min(WIDER_DENSITY_CAP, density + WIDER_DENSITY_SLACK):
            break
        ancestor_prose = _prose(ancestor, stats)
        if ancestor_prose >= prose * WIDER_TEXT_RATIO and ancestor_prose - prose >= WIDER_MIN_ADDED:
            if beside_a_thread(below, stats):
                break  # what the parent adds is comments, not the rest
            node, prose, density = ancestor, ancestor_prose, ancestor_density
        below, ancestor = ancestor, ancestor.parent
    if node is top.node or _adds_teasers(node, top.node, stats):
        return top
    return candidates.get(node.mem_id) or _Candidate(node, top.score)


def _adds_teasers(wider: LexborNode, node: LexborNode, stats: TextStats) -> bool:
    """Whether what `wider` holds beside `node` is a list of teasers (a grid of cards with summaries,
    other stories' decks): prose with few links, which is not the rest of the article. Asked once per
    page, of the block the climb ended at."""
    wide_headlines, wide_prose = teaser_counts(wider, site=stats.site)
    headlines, prose = teaser_counts(node, site=stats.site)
    added = _prose(wider, stats) - _prose(node, stats)
    return reads_as_teasers(wide_headlines - headlines, wide_prose - prose, added)


# The best block is short against the declared article below this share of it; an ancestor that reaches
# the second share (and stays prose) is taken instead.
DECLARED_SHORT = 0.6
DECLARED_REACHED = 0.8
DECLARED_DENSITY_CAP = 0.3


def _as_long_as_declared(
    top: _Candidate, candidates: dict[int, _Candidate], stats: TextStats, expected: int
) -> _Candidate:
    """The page's JSON-LD says how long the article is: a best block well short of that is a part of
    it, and the lowest ancestor that holds about that much prose is the article."""
    if _prose(top.node, stats) >= expected * DECLARED_SHORT:
        return top
    ancestor = top.node.parent
    while ancestor is not None and ancestor.tag not in (None, "body", "html"):
        if stats.link_density(ancestor) > DECLARED_DENSITY_CAP:
            break
        if _prose(ancestor, stats) >= expected * DECLARED_REACHED:
            return candidates.get(ancestor.mem_id) or _Candidate(ancestor, top.score)
        ancestor = ancestor.parent
    return top


def _prose(node: LexborNode, stats: TextStats) -> int:
    key = node.mem_id
    return stats.length.get(key, 0) - stats.linked.get(key, 0)


def _prefer_enclosing(top: _Candidate, candidates: dict[int, _Candidate], stats: TextStats) -> _Candidate:
    """Climb to a parent that scores nearly as well: the article often spans several scored blocks;
    but not to one that scores for a thread of small blocks beside the article (comments)."""
    node = top.node.parent
    best = top
    child = top.node
    while node is not None and node.tag not in (None, "body", "html"):
        candidate = candidates.get(node.mem_id)
        if candidate is None:
            break
        if candidate.score >= best.score * 0.9:
            if beside_a_thread(child, stats):
                break
            best = candidate
        child, node = node, node.parent
    return best


_TABLE_PARTS = frozenset({"tbody", "thead", "tfoot", "tr"})


def _whole_table(top: _Candidate, candidates: dict[int, _Candidate], stats: TextStats) -> _Candidate:
    """A data table's rows score for its body (three levels up from the cells), but the table is the unit:
    its caption and header are part of it, and the prose around it (a list article's intro) is its
    sibling. A layout table (no caption, no header cells, or one cell holding most of the text: the
    article, beside the menu and the footer's cells) is the page's grid: it is left as it is."""
    node = top.node
    if node.tag not in _TABLE_PARTS:
        return top
    table = node.parent
    while table is not None and table.tag in _TABLE_PARTS:
        table = table.parent
    if table is None or table.tag != "table" or table.css_first("caption, thead, th") is None:
        return top
    most = max((stats.length.get(cell.mem_id, 0) for cell in table.css("td")), default=0)
    if most * 2 > stats.length.get(table.mem_id, 0):
        return top
    return candidates.get(table.mem_id) or _Candidate(table, top.score)


def _out_of_thread(top: _Candidate, candidates: dict[int, _Candidate], stats: TextStats) -> _Candidate:
    """The best block may be a wrapper that scored for the article and, with it, a thread of comments
    wrapped as small blocks beside it: then the article is the child holding most of the prose."""
    prose = _prose(top.node, stats)
    # the article's block scored too: the children of `top` among the candidates, not all its children
    key, parent_key = top.node.mem_id, stats.parent_key
    largest, most = None, 0
    for candidate in candidates.values():
        if parent_key(candidate.node.mem_id) == key:
            held = _prose(candidate.node, stats)
            if held > most:
                largest, most = candidate, held
    if largest is None or most * 2 < prose or not beside_a_thread(largest.node, stats):
        return top
    return largest


def _outermost_wrapper(top: _Candidate, candidates: dict[int, _Candidate], stats: TextStats) -> _Candidate:
    """The outermost of the wrappers that hold the best block and no other text (Readability's "the
    only child: use the parent"): the article's other parts are siblings of a wrapper, not of the block
    (a page that wraps each section of an article in its own few divs)."""
    node, length = top.node, stats.length.get(top.node.mem_id, 0)
    parent = node.parent
    while parent is not None and parent.tag not in (None, "body", "html"):
        if stats.length.get(parent.mem_id, 0) != length:
            break
        node, parent = parent, parent.parent
    if node is top.node:
        return top
    return candidates.get(node.mem_id) or _Candidate(node, top.score)


def _marked_article(node: LexborNode) -> bool:
    """The page marks `node` as the article (`<article>`, schema.org's articleBody): it ends where
    the page says, and a block of prose after it, named like nothing (an author's bio, an "about us"
    box), is not more of it."""
    return node.tag == "article" or "articlebody" in (node.attributes.get("itemprop") or "").lower().split()


def _says_article(node: LexborNode) -> bool:
    """A block after the marked article that still says it is the article's: by its name ("bottom-of-
    article", "post-body-sig-line": the bio and the notes a site prints as part of it), or marked too."""
    return class_weight(node) > 0 or _marked_article(node)


def _with_siblings(
    top: _Candidate, candidates: dict[int, _Candidate], stats: TextStats, alike_only: bool = False
) -> list[LexborNode]:
    """`top` and those of its siblings that are article text; with `alike_only`, only the siblings
    wrapped as `top` is (same tag and class: the other parts of an article cut into sections) and the
    paragraphs beside it, never a dateline, a deck or a captioned picture in a wrapper of its own."""
    parent = top.node.parent
    if parent is None or parent.tag in (None, "html"):
        return [top.node]
    kind = (top.node.tag, top.node.attributes.get("class"))  # read once, not per sibling
    nodes: list[LexborNode] = []
    ended = False  # past a block the page marks as the article: what follows is not more of it
    sibling = parent.child
    while sibling is not None:
        if sibling.mem_id == top.node.mem_id:
            nodes.append(sibling)
            ended = _marked_article(sibling)
        elif sibling.is_element_node:
            after = ended and not _says_article(sibling)
            if _joins(sibling, top, kind, candidates, stats, alike_only or after) or (
                after and not alike_only and _continues(sibling, top.node, stats)
            ):
                nodes.append(sibling)
        sibling = sibling.next
    return without_threads(nodes, top.node, stats) if len(nodes) > 1 else nodes


def _joins(
    sibling: LexborNode,
    top: _Candidate,
    kind: tuple[str | None, str | None],
    candidates: dict[int, _Candidate],
    stats: TextStats,
    alike_only: bool,
) -> bool:
    """Whether a sibling of the best block (or, `alike_only`, of its outermost wrapper) is article
    text. Beside the wrapper, only parts wrapped alike, paragraphs, and prose that scores at least as
    the best block does (the article's lead beside a `<br>`-run wrapper): a deck, a dateline or an
    author's bio is prose too, but scores lower."""
    threshold = max(10.0, top.score * 0.2)
    prose = _holds_prose(sibling, stats)
    if not (
        prose
        or _sibling_belongs(sibling, candidates, threshold, kind[1], stats)
        or _alike_prose(sibling, kind, stats)
    ):
        return False
    if _is_stub(sibling, stats.length.get(sibling.mem_id, 0)):
        return False  # a pitch or a notice beside the body: joined, it is a root the cleaning keeps whole
    if sibling.tag == "p":
        return True
    if reads_as_teasers(*teaser_counts(sibling, site=stats.site), _prose(sibling, stats)):
        return False  # each summary under its own linked headline: other stories, not this one
    if not alike_only or _alike_part(sibling, kind, stats):
        return True
    candidate = candidates.get(sibling.mem_id)
    return prose and candidate is not None and candidate.score >= top.score


def _alike_prose(sibling: LexborNode, kind: tuple[str | None, str | None], stats: TextStats) -> bool:
    """A section wrapped as the best block is, of paragraphs with hardly a link: a part of the article
    in plain sentences (fewer commas than `_holds_prose` asks). Not a layout column wrapped alike (its
    text in headings, lists and links, not paragraphs)."""
    return (
        _alike_part(sibling, kind, stats)
        and stats.link_density(sibling) <= SIBLING_PROSE_DENSITY
        and _in_paragraphs(sibling, stats)
    )


# After the marked article, an unnamed block of prose at least this share of the article's is more of it
# (a body split around an ad), where a bio or a publisher's blurb is a paragraph or two.
CONTINUED_SHARE = 1 / 3


def _continues(sibling: LexborNode, article: LexborNode, stats: TextStats) -> bool:
    """Whether a block after the marked article, named like nothing, is the rest of its body: sites
    split a body around an ad and leave the second half outside the `<article>` or the articleBody
    block; that half is prose, not teasers, and a good share of the first."""
    return (
        _holds_prose(sibling, stats)
        and _prose(sibling, stats) >= _prose(article, stats) * CONTINUED_SHARE
        and not reads_as_teasers(*teaser_counts(sibling, flat=True, site=stats.site), _prose(sibling, stats))
    )


# A part of an article holds a couple of sentences at least: a row with the title and the byline, or a
# "you may also like" heading, is wrapped as the article's sections are on some templates.
PART_MIN_PROSE = 140


# ... or this many clause marks: Chinese and Japanese say two sentences in fewer characters.
PART_MIN_CLAUSES = 6


def _alike_part(sibling: LexborNode, kind: tuple[str | None, str | None], stats: TextStats) -> bool:
    if (sibling.tag, sibling.attributes.get("class")) != kind:
        return False
    return _prose(sibling, stats) >= PART_MIN_PROSE or stats.clauses_of(sibling.mem_id) >= PART_MIN_CLAUSES


# A sibling that holds this much prose (a couple of sentences, several clauses, hardly a link) is text
# of the article however deep its paragraphs sit (its score counts only three levels of them).
SIBLING_PROSE_CHARS = 200
SIBLING_PROSE_CLAUSES = 4
SIBLING_PROSE_DENSITY = 0.1


def _holds_prose(sibling: LexborNode, stats: TextStats) -> bool:
    """CETD's view of a sibling: dense text with few links, and not named like furniture. Links that
    are words of its paragraphs' sentences (a review's opening naming the products it links) may be
    more, as readability allows a paragraph."""
    if (
        _prose(sibling, stats) < SIBLING_PROSE_CHARS
        or stats.clauses_of(sibling.mem_id) < SIBLING_PROSE_CLAUSES
        or class_weight(sibling) < 0
    ):
        return False
    density = stats.link_density(sibling)
    return density <= SIBLING_PROSE_DENSITY or (
        density < PARAGRAPH_LINK_DENSITY and _in_paragraphs(sibling, stats)
    )


# A paragraph's links may be this share of its text (readability's rule for a `<p>` beside the body).
PARAGRAPH_LINK_DENSITY = 0.25
# ... when the paragraphs hold this share of a block's text: the links are in sentences, not a list.
IN_PARAGRAPHS_SHARE = 0.9


def _in_paragraphs(node: LexborNode, stats: TextStats) -> bool:
    length = stats.length
    held = sum(length.get(paragraph.mem_id, 0) for paragraph in node.css("p"))
    return held >= length.get(node.mem_id, 0) * IN_PARAGRAPHS_SHARE


def _sibling_belongs(
    sibling: LexborNode,
    candidates: dict[int, _Candidate],
    threshold: float,
    top_class: str | None,
    stats: TextStats,
) -> bool:
    candidate = candidates.get(sibling.mem_id)
    if candidate is not None:
        same_class = bool(top_class) and sibling.attributes.get("class") == top_class
        if candidate.score + (threshold if same_class else 0) >= threshold:
            return True
    wrapped = sibling.tag != "p"
    # a wrapper named otherwise than the best block is a box of its own (an "error-report" line)
    named = wrapped and (
        sibling.attributes.get("id") or sibling.attributes.get("class") not in (None, top_class)
    )
    paragraph = None if named else _sole_paragraph(sibling, stats) if wrapped else sibling
    if paragraph is None:
        return False
    text = (paragraph.text() or "").strip()  # a <p>: no block nests in it
    density = stats.link_density(paragraph)
    if wrapped:
        # a sentence or two, not a label in a box of its own (a copyright line, a credit); and no link:
        # a box's one paragraph that links is a teaser, a bio or a notice pointing to its story, its
        # author's page, its settings (the article's own sections hold more than one paragraph)
        clauses = stats.clauses_of(paragraph.mem_id)
        return (
            density == 0
            and (len(text) > 80 or clauses >= SOLE_PARAGRAPH_CLAUSES)
            and not _RIGHTS_RESERVED.search(text)
        )
    if len(text) > 80:
        return density < 0.25
    return bool(text) and density == 0 and bool(re.search(r"[.。!！?？]\s*$|[.。]\s", text))


_SECTION_TAGS = frozenset({"div", "section"})
# A copyright line, in the languages users archive: with its commas it is a sentence long, its words say
# what it is.
_RIGHTS_RESERVED = re.compile(
    r"(?i)©|\bcopyright\b|\ball rights reserved\b|\brechte vorbehalten\b|\bdroits réservés\b|"
    r"\bderechos reservados\b|\bdiritti riservati\b|\bdireitos reservados\b|\bwszelkie prawa\b|"
    r"\bвсе права защищены\b|版权所有|版權所有|著作権|無断転載|저작권|الحقوق محفوظة"
)
_SECTION_PARTS = "p, h2, h3, h4, h5, h6"
# A short paragraph alone in its section is the article's with this many clause marks (Chinese and
# Japanese say a sentence in fifty characters).
SOLE_PARAGRAPH_CLAUSES = 3


def _sole_paragraph(wrapper: LexborNode, stats: TextStats) -> LexborNode | None:
    """The paragraph a `<div>` or `<section>` holds and no other text but its heading (an article cut
    into sections, one of them a single paragraph, a picture or a pitch beside it or not): judged as
    that paragraph is."""
    if wrapper.tag not in _SECTION_TAGS:
        return None
    length = stats.length.get(wrapper.mem_id, 0)
    if not length:
        return None
    # all its text in paragraphs, and one of them not a pitch or a stub (which the cleaning drops); a
    # picture's or a banner's own <p> says nothing
    held, said = 0, []
    for block in wrapper.css(_SECTION_PARTS):
        own = stats.length.get(block.mem_id, 0)
        held += own
        if block.tag != "p":  # the section's own heading, never a linked headline (a teaser's card)
            if stats.linked.get(block.mem_id, 0):
                return None
        elif own and not _is_stub(block, own):
            said.append(block)
    return said[0] if len(said) == 1 and held == length else None


def clean_conditionally(root: LexborNode, stats: TextStats, budget: Budget | None = None) -> None:
    """Drop blocks inside the body that read like lists of links, image galleries or widgets, headings
    named like furniture or made of links, and "READ MORE: <link>" lines between paragraphs.

    One pass over what `measure` recorded of `root`'s subtree, children before parents: each block is
    judged on what its kept children hold (as readability judges innermost first), from figures summed on
    the way up, never by reading a subtree again or asking the parser to walk it; only the blocks judged
    are asked of the parser. The figures are kept by position, packed in one integer each (`_Counts`'s
    fields), with no object per element.
    """
    budget = budget or Budget()
    span = subtree_range(stats, root.mem_id)
    start, count = span.start, len(span)
    tags, up, nodes, site = stats.tags, stats.up, stats.nodes, stats.site
    own, own_clauses = stats.own_length, stats.own_clauses
    width = max(stats.length.get(root.mem_id, 0), count).bit_length()  # no sum passes the text or count
    weights: dict[str | None, int] = {tag: 1 << field * width for tag, field in _COUNTED.items()}
    mask = (1 << width) - 1
    clauses_at, linked_at, lines_at = _CLAUSES * width, _LINKED * width, _LINES * width
    # by position from `start`: the figures summed so far, and the text length of a block below whose
    # words make no stub (`_judge_stub`)
    held, plain = [0] * count, [0] * count
    doomed: list[LexborNode] = []
    notices: list[LexborNode] = []
    for position in range(start + count - 1, start, -1):  # the root itself is kept whatever it holds
        if not position & CHECK_EVERY:
            budget.check()
        tag = tags[position]
        mine = held[position - start] + weights.get(tag, 0)
        length = own[position]
        if length:
            mine += length + (own_clauses[position] << clauses_at)
            if length >= PROSE_LINE_CHARS and tag in TEXT_WRAPPER_TAGS:
                mine += length << lines_at
        if tag in _RULED_TAGS:
            verdict = _judge(nodes[position], tag, mine, width, doomed, site)
            if verdict == _REMOVED:
                continue  # removed: its parent is judged without it
            asked = verdict == _KEPT and tag in _STUB_TAGS
        else:
            asked = tag in _STUB_TAGS
            if tag == "a":  # all of a link's text is link text
                mine += ((mine & mask) - ((mine >> linked_at) & mask)) << linked_at
        length = mine & mask
        index = position - start
        if (
            asked
            and 0 < length <= PITCH_MAX_CHARS
            and plain[index] != length  # its text is a block's below, whose words make no stub
            and _judge_stub(nodes[position], length, doomed, notices)
        ):
            plain[index] = length
        if mine:
            parent = up[position] - start
            held[parent] += mine
            if plain[index] == length:  # its text is that block's: no stub either
                plain[parent] = length
    _drop_doomed(root, doomed, notices)


def _drop_doomed(root: LexborNode, doomed: list[LexborNode], notices: list[LexborNode]) -> None:
    """After the pass: the stubs and "read more" lines, and the cookie notices unless the article under
    `root` speaks of cookies itself."""
    if notices and not _speaks_of_cookies(root, notices):
        doomed.extend(notices)
    for node in doomed:
        node.remove(recursive=False)


# What `_judge` did with a block: kept it (it may still be a stub), removed it, or doomed it.
_KEPT, _REMOVED, _DOOMED = 0, 1, 2


def _judge(
    node: LexborNode, tag: str, held: int, width: int, doomed: list[LexborNode], site: Site | None
) -> int:
    """_REMOVED when `node` is furniture and removed now; _DOOMED for a heading of links or a "read more"
    line, added to `doomed` (removed after the pass, still counted in its parent); else _KEPT. `held`: its
    figures, packed in fields of `width` bits."""
    if tag in _JUDGED_TAGS and _looks_like_furniture(node, _Counts(held, width)):
        node.remove(recursive=False)
        return _REMOVED
    if tag == "p" or tag in _HEADINGS:
        mask = (1 << width) - 1
        length, linked = held & mask, (held >> _LINKED * width) & mask
        density = min(1.0, linked / length) if length else 0.0
        if tag == "p":
            links = (held >> _LINKS * width) & mask
            if (
                links
                and ((length < 200 and density > 0.6) or (links > 1 and density > 0.8))
                and not shows_address(node, site)
                and not names_source(node, site)
            ):
                doomed.append(node)
                return _DOOMED
        elif class_weight(node) < 0 or (density > 0.33 and not heads_a_part(node, site)):
            doomed.append(node)
            return _DOOMED
    return _KEPT


def _judge_stub(node: LexborNode, length: int, doomed: list[LexborNode], notices: list[LexborNode]) -> bool:
    """A stub or a pitch goes after the pass; a cookie notice goes unless the article is about cookies.
    True when the block's words make no stub (a block of the same text is none either)."""
    words = words_kind((node.text() or "").strip(), length)
    if words == NOT_STUB:
        return True
    kind = _kind_of_block(node, words)
    if kind == STUB:
        doomed.append(node)
    elif kind == CONSENT:
        notices.append(node)
    return False


_STUB_TAGS = frozenset({"p", "div", "span", "a", "li", "strong", "b", "em"})
# "Continue reading" and "subscribe to read" stubs, alone in their block, in the languages users archive.
_STUB_PHRASES = (
    r"^\W*(?:continue reading|keep reading|read more|read the full (?:story|article)|"
    r"(?:subscribe|sign in|log in|register) (?:now )?to (?:continue reading|read|unlock)(?: (?:the|this) "
    r"(?:full )?(?:story|article))?|weiterlesen|mehr lesen|lire la suite|la suite|leer más|seguir leyendo|"
    r"continua a leggere|leggi (?:tutto|di più)|leia mais|continue lendo|czytaj (?:więcej|dalej)|"
    r"阅读全文|继续阅读|閱讀全文|繼續閱讀|查看全文|展开全文|続きを読む|もっと読む|더 ?보기|계속 읽기|"
    r"this (?:\w+ )?requires javascript\.?|(?:please )?enable javascript(?: to [\w ]+)?\.?)\W*$"
)
_STUB = re.compile("(?i)" + _STUB_PHRASES)
# The same phrases for lowered ASCII text, where ignoring case is lowering: a third of the instructions
# (ignoring case folds every character it compares; most short blocks are asked).
_STUB_LOWERED = re.compile(_STUB_PHRASES)
STUB_MAX_CHARS = 80
# A newsletter pitch: asks to subscribe or sign up, and names the newsletter or the inbox.
# In the languages users archive: "abonnieren"/"abonnez-vous", "inscrivez-vous", "suscríbete",
# "iscriviti", "assine", "подпишитесь"; Chinese, Japanese and Korean words have no word boundary.
_PITCH_ASK = re.compile(
    r"(?i)\b(?:subscribe|sign up|signup|sign-up|register|abonniere\w*|abonnez|abonne-toi|inscrivez|"
    r"suscr[ií]b\w*|iscriviti|assine|подпиш\w*)\b|订阅|訂閱|購読|登録|구독"
)
_PITCH_WHAT = re.compile(
    r"(?i)\b(?:newsletters?|inbox|daily email|e-mail alerts?|email alerts?|bolet[ií]n|boletim|"
    r"lettre d'information|рассылк\w*)\b|新闻邮件|電子報|电子报|メールマガジン|メルマガ|뉴스레터"
)
# The same words for ASCII text, searched in its lowered form: for ASCII, ignoring case is lowering, and
# a word starts with one of these letters (the look-ahead skips every other position): a third of the
# instructions of the patterns above, which a short block of plain English reaches whenever it says
# "sign" or "design".
_PITCH_ASK_ASCII = re.compile(
    r"\b(?=[sria])(?:subscribe|sign up|signup|sign-up|register|abonniere\w*|abonnez|abonne-toi|inscrivez|"
    r"suscrib\w*|iscriviti|assine)\b",
    re.ASCII,
)
_PITCH_WHAT_ASCII = re.compile(
    r"\b(?=[nidebl])(?:newsletters?|inbox|daily email|e-mail alerts?|email alerts?|boletin|boletim|"
    r"lettre d'information)\b",
    re.ASCII,
)
PITCH_MAX_CHARS = 200
# A cookie notice, in the languages users archive: the site says it uses cookies, or asks to accept them,
# or names its cookie policy. Not "cookie" alone: a recipe says "use a cookie cutter".
_CONSENT = re.compile(
    r"(?i)\b(?:we|this (?:web ?)?site|our (?:web ?)?site|the site|it) (?:also )?uses? cookies\b|"
    r"\buse of cookies\b|\bcookies?(?:-| )(?:policy|settings|preferences|consent|notice|banner)\b|"
    r"\baccept (?:all )?(?:the )?cookies\b|"
    r"\bcookies,? (?:and similar (?:tools|technologies),? )?to (?:improve|enhance|give|ensure|provide|"
    r"personali[sz]e|analy[sz]e|offer|deliver|make|measure|remember)\b|"
    r"\b(?:verwenden|verwendet|nutzen|nutzt|setzen|setzt) (?:\w+ )?cookies\b|cookie-richtlinie|"
    r"\b(?:utilisons|utilise) (?:des )?cookies\b|\b(?:utilizamos|utiliza|usamos|usa) (?:\w+ )?cookies\b|"
    r"\b(?:utilizziamo|utilizza|usiamo) (?:i )?cookie|\bu[zż]ywa(?:my)? (?:plik[oó]w )?cookie|"
    # in Chinese, Japanese and Korean the site or "we" says it: "该网站使用cookie追踪读者" reports
    r"(?:我们|我們|本站|本网站|本網站|此网站|此網站)[^。！？]{0,12}使用\s*cookie|"
    r"(?:当|本|この)(?:ウェブ)?サイト[^。]{0,20}(?:cookie|クッキー)\s*を使用|(?:当社|弊社)[^。]{0,20}"
    r"(?:cookie|クッキー)\s*を使用|(?:당사|저희|(?:본|이) ?(?:웹)?사이트)[^.]{0,20}쿠키를 사용"
)


# What `stub_kind` finds a short block to be.
NOT_STUB, STUB, CONSENT = 0, 1, 2
_COOKIE_WORDS = ("cookie", "クッキー", "쿠키")
# How many wrappers up a cookie notice's paragraph is looked for in another notice.
NOTICE_NESTING = 3


def _is_stub(node: LexborNode, length: int) -> bool:
    """Whether a block is a stub, a pitch or a cookie notice (`stub_kind`): never the article's lead."""
    return stub_kind(node, length) != NOT_STUB


def stub_kind(node: LexborNode, length: int) -> int:
    """STUB for a block that only says "continue reading" (the rest is behind a click or a paywall),
    that the page needs JavaScript, or that pitches a newsletter ("Get the latest in your inbox.
    Subscribe."); CONSENT for one that asks for consent to cookies (a notice the page may say twice,
    named like nothing), or that reads like one: an article about cookie law says "the site uses
    cookies to track readers" too, and the caller asks the rest of the article before removing it."""
    if not 0 < length <= PITCH_MAX_CHARS:
        return NOT_STUB
    return _kind_of_block(node, words_kind((node.text() or "").strip(), length))


# What a block's words alone make of it (`words_kind`): a pitch is a stub when it holds no other prose.
_PITCH = 3


# The first two letters of each stub phrase that lowered ASCII text can hold (`_STUB_PHRASES` after its
# `^\W*`), and what `\W` is among ASCII characters: a lowered ASCII text whose first word starts
# otherwise is no stub, and most short blocks (a menu's links) are answered without the pattern.
_STUB_HEADS = frozenset(
    {"co", "ke", "re", "su", "si", "lo", "we", "me", "li", "la", "le", "se", "cz", "th", "pl", "en"}
)
# The fewest characters of ASCII text any look below can match: a stub phrase has eight ("la suite"),
# a cookie notice names "cookie", a pitch asks with a word of six ("assine", "signup") or more.
_SHORTEST_WORDS = 6
_ASCII_NOT_WORD = "".join(chr(code) for code in range(128) if not (chr(code).isalnum() or chr(code) == "_"))


def words_kind(text: str, length: int) -> int:
    """STUB, CONSENT, _PITCH or NOT_STUB by a block's stripped text alone (`length`: its measured
    length): the same for two blocks of one text. ASCII text, most blocks, is looked at lowered, with
    the cheap necessary conditions inline (a function each cost as much as its look: a fifteenth of a
    link-heavy page's instructions went to these looks)."""
    if text.isascii():  # folding is lowering
        if len(text) < _SHORTEST_WORDS:
            return NOT_STUB  # a code listing's tokens, a menu's arrows: nothing to look at
        probe = text.lower()
        if length <= STUB_MAX_CHARS:
            start = probe if probe[:1].isalnum() else probe.lstrip(_ASCII_NOT_WORD)
            if start[:2] in _STUB_HEADS and _STUB_LOWERED.match(probe):
                return STUB
        if "cookie" in probe and _CONSENT.search(text):
            return CONSENT
        # `_names_sign_up`'s words: "scr" is in subscribe, inscri-, suscr- and iscriv-
        if (
            "sign" in probe or "scr" in probe or "register" in probe or "abonn" in probe or "assine" in probe
        ) and _reads_as_pitch(text, probe):
            return _PITCH
        return NOT_STUB
    probe = _folded(text)  # lowered once for the cheap looks below
    if length <= STUB_MAX_CHARS and _STUB.match(text):
        return STUB
    if _mentions_cookies(probe) and _CONSENT.search(text):
        return CONSENT
    if _names_sign_up(probe) and _reads_as_pitch(text, probe):
        return _PITCH
    return NOT_STUB


def _kind_of_block(node: LexborNode, kind: int) -> int:
    """`stub_kind` of a block its words make `kind`: a notice or a pitch beside other prose is not one."""
    if kind in (CONSENT, _PITCH):
        if _holds_other_prose(node):
            return NOT_STUB
        return CONSENT if kind == CONSENT else STUB
    return kind


def _mentions_cookies(probe: str) -> bool:
    """A cheap necessary condition of `_CONSENT` on lowered text (whose other words are ASCII-free
    only in the scripts the last two are in)."""
    return "cookie" in probe or (not probe.isascii() and ("クッキー" in probe or "쿠키" in probe))


def _reads_as_pitch(text: str, probe: str) -> bool:
    """Whether `text` (lowered: `probe`) asks to sign up and names a newsletter or the inbox."""
    if text.isascii():
        return bool(_PITCH_ASK_ASCII.search(probe) and _PITCH_WHAT_ASCII.search(probe))
    return bool(_PITCH_ASK.search(text) and _PITCH_WHAT.search(text))


def _holds_other_prose(node: LexborNode) -> bool:
    """Whether a block that reads as a pitch or a notice holds a paragraph that does not: a short
    article's paragraph beside the pitch in one wrapper. Its paragraphs are then judged each, and only
    the pitch goes. Asked only of a block already found to pitch (a few a page)."""
    if node.tag == "p":
        return False
    for paragraph in node.css("p"):
        length = len((paragraph.text() or "").strip())
        if length >= MIN_PARAGRAPH_CHARS and stub_kind(paragraph, length) == NOT_STUB:
            return True
    return False


def _cookie_mentions(probe: str) -> int:
    """How many times lowered text names cookies, in the languages `_CONSENT` reads."""
    return sum(probe.count(word) for word in _COOKIE_WORDS)


def _speaks_of_cookies(root: LexborNode, notices: list[LexborNode]) -> bool:
    """Whether the article names cookies outside the blocks that read as cookie notices: then it is
    about cookies (a law, a browser's change), and its sentences that sound like a notice are its own.
    A notice is unrelated to the article around it. Asked once per body, only when a notice was found:
    one more read of the body's text."""
    ids = {node.mem_id for node in notices}
    said = 0
    for node in notices:
        # the outermost notices: a notice's paragraph is judged as well as its block. A few levels up,
        # not to the root (thousands of notices in deep wrappers): one deeper counts twice, and the
        # notices go, as they would without this look.
        ancestor, level = node.parent, 0
        while ancestor is not None and ancestor.mem_id not in ids and level < NOTICE_NESTING:
            ancestor, level = ancestor.parent, level + 1
        if ancestor is None or ancestor.mem_id not in ids:
            said += _cookie_mentions(_folded(node.text() or ""))
    return _cookie_mentions(_folded(root.text() or "")) > said


def _asks_to_sign_up(text: str) -> bool:
    """A cheap necessary condition of `_PITCH_ASK`: one of its words is in the lowered text. Most
    short blocks are asked this; a case-insensitive search at every position costs ten times more."""
    return _names_sign_up(_folded(text))


def _names_sign_up(probe: str) -> bool:
    if "sign" in probe or "subscribe" in probe or "register" in probe:
        return True
    if "abonn" in probe or "inscri" in probe or "suscr" in probe or "iscriv" in probe or "assine" in probe:
        return True
    if probe.isascii():
        return False
    return (
        "подпиш" in probe
        or "订阅" in probe
        or "訂閱" in probe
        or "購読" in probe
        or "登録" in probe
        or ("구독" in probe)
    )


def _folded(text: str) -> str:
    """`text` lowered for a look before a case-insensitive pattern. Such a pattern also matches
    "\u017f" (long s) for "s", and "\u0131" and "\u0130" for "i" (whose full lowercase, str.lower's,
    is "i" and a combining dot): those are folded too."""
    probe = text.lower()
    if not text.isascii():
        probe = probe.replace("\u017f", "s").replace("\u0131", "i").replace("\u0307", "")
    return probe


# The figures `clean_conditionally` sums for a block, a field each of one integer (`_packed`): text
# length, clause marks, link text, prose lines written in wrappers (`<div><span>a sentence</span>`), and
# elements by kind. A field is wide enough for the page's text and its count of elements, so a child's
# figures join its parent's in one addition, with no object per element.
_LENGTH, _CLAUSES, _LINKED, _LINES = range(4)
_LINKS, _PARAGRAPHS, _IMAGES, _ITEMS, _INPUTS, _EMBEDS, _FIGURES = range(4, 11)


class _Counts:
    """What a block holds, unpacked from its figures for the rules that read many of them."""

    __slots__ = (
        "clauses", "embeds", "figures", "images", "inputs", "items", "length", "lines", "linked", "links",
        "paragraphs",
    )  # fmt: skip

    def __init__(self, held: int = 0, width: int = 1) -> None:
        mask = (1 << width) - 1
        self.length = held & mask
        self.clauses = (held := held >> width) & mask
        self.linked = (held := held >> width) & mask
        self.lines = (held := held >> width) & mask
        self.links = (held := held >> width) & mask
        self.paragraphs = (held := held >> width) & mask
        self.images = (held := held >> width) & mask
        self.items = (held := held >> width) & mask
        self.inputs = (held := held >> width) & mask
        self.embeds = (held := held >> width) & mask
        self.figures = held >> width

    def density(self) -> float:
        return min(1.0, self.linked / self.length) if self.length else 0.0


_JUDGED_TAGS = frozenset({"div", "section", "ul", "ol", "dl", "table", "form", "aside"})
# A line of a wrapper's own text this long is a sentence, not a caption or a headline; a block with this
# much of such lines between its pictures is a post written in `<div>` lines (editors do that), not a
# gallery, however few `<p>` it holds.
PROSE_LINE_CHARS = 80
GALLERY_MIN_LINES = 200
LINES_MAX_DENSITY = 0.05
CARDS_ALIKE = 3
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# The blocks with a rule of their own; the other asked tags are only asked whether they are a stub.
_RULED_TAGS = _JUDGED_TAGS | _HEADINGS | {"p"}
# The elements counted by kind: the field each adds one to.
_COUNTED = {
    "a": _LINKS,
    "p": _PARAGRAPHS,
    "img": _IMAGES,
    "li": _ITEMS,
    **dict.fromkeys(("input", "select", "textarea", "button"), _INPUTS),
    **dict.fromkeys(("iframe", "embed", "object", "video"), _EMBEDS),
    **dict.fromkeys(("figure", "figcaption"), _FIGURES),
}


def _looks_like_furniture(node: LexborNode, held: _Counts) -> bool:
    weight = class_weight(node)
    if weight < 0:
        return not holds_embedded_post(node)
    if held.clauses >= 10:
        return False
    paragraphs, images, length = held.paragraphs, held.images, held.length
    items = held.items - 100
    embeds = held.embeds
    density = held.density()
    tag = node.tag
    in_figure = held.figures > 0 or tag == "figure"
    return (
        (images > 1 and paragraphs / images < 0.5 and not in_figure and not _written_in_lines(node, held))
        or (items > paragraphs and tag not in ("ul", "ol"))
        or held.inputs > paragraphs / 3
        or (
            length < MIN_PARAGRAPH_CHARS
            and (images == 0 or images > 2)
            and not in_figure
            and not _in_cell(node)
        )
        or (weight < 25 and density > 0.2 and length < 2000 and not _items_of_prose(tag, held))
        or (weight >= 25 and density > 0.5)
        or ((embeds == 1 and length < 75) or embeds > 1)
    )


# A list whose items say this much each outside their links, on average, is a list of sentences that
# link a word or two (a changelog, a digest: "X fixed the crash (bug 123)"), not a list of links.
ITEM_OWN_CHARS = 30
ITEMS_MAX_DENSITY = 0.6


def _items_of_prose(tag: str | None, held: _Counts) -> bool:
    items = held.items
    return (
        tag in ("ul", "ol")
        and items >= 2
        and held.length - held.linked >= ITEM_OWN_CHARS * items
        and held.linked <= held.length * ITEMS_MAX_DENSITY
    )


def _written_in_lines(node: LexborNode, held: _Counts) -> bool:
    """Prose written in wrapper lines between pictures (a post, not a gallery): sentences' worth of lines,
    hardly a linked word, and not a grid of cards (teasers: a picture and a summary each), wrapped alike
    or each holding a picture, a line and a link (a post's photo linking to its full size holds no line)."""
    if held.lines < GALLERY_MIN_LINES or held.linked > held.length * LINES_MAX_DENSITY:
        return False
    named: dict[str, int] = {}
    children = cards = 0
    for child in node.iter():
        children += 1
        name = child.attributes.get("class")
        if name:
            named[name] = named.get(name, 0) + 1
        if (
            child.css_first("img") is not None
            and child.css_first("a[href]") is not None
            and len(child.text() or "") >= PROSE_LINE_CHARS
        ):
            cards += 1  # a picture, a summary and a link to the story: a card, however it is named
    most = max(*named.values(), cards, 0)
    return not (most >= CARDS_ALIKE and most * 2 >= children)


def _in_cell(node: LexborNode) -> bool:
    """A table cell's content: a figure of a table is short, and is the article's when the table is.
    A table of one row lays out a box ("Get our newsletter" | "Sign up"), not figures."""
    parent = node.parent
    if parent is None or parent.tag not in ("td", "th"):
        return False
    row = parent.parent
    return row is not None and (_next_row(row.prev, backwards=True) or _next_row(row.next, backwards=False))


def _next_row(node: LexborNode | None, *, backwards: bool) -> bool:
    """Whether a row sits this way of a row, past text between them (a few nodes, not a walk)."""
    while node is not None and not node.is_element_node:
        node = node.prev if backwards else node.next
    return node is not None and node.tag == "tr"


def link_density(node: LexborNode, text: str | None = None) -> float:
    """The share of a block's text that is link text (for one block; walks use `TextStats`)."""
    if text is None:
        text = (node.text() or "").strip()
    if not text:
        return 0.0
    linked = sum(len((a.text() or "").strip()) for a in node.css("a"))
    return min(1.0, linked / len(text))


def direct_text(node: LexborNode) -> str:
    """The text of `node`'s own text children: what a `<br>`-separated block says itself."""
    parts: list[str] = []
    child = node.child
    while child is not None:
        if child.is_text_node:
            parts.append(child.text_content or "")
        child = child.next
    return "".join(parts)
