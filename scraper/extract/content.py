"""The generic main-content finder: which blocks of a page are the article, with no site rule.

Readability's idea, tuned for news pages and CJK text: every paragraph-like block gives points to its
parent and grandparent (more for longer text and more clauses), blocks named like articles gain, blocks
named like furniture lose, and link-heavy blocks are discounted. The best block and those of its siblings
that look like article text are the body. `<br>`-separated text in a `<div>` (common on Chinese and
Korean sites) counts as paragraphs, the way a reader sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from selectolax.lexbor import LexborNode

from scraper.extract.clean import drop_junk
from scraper.extract.hints import class_weight

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
_CLAUSE = re.compile(r"[,，、。;；!！?？]")
# Blocks inside the chosen body that are judged again on their own (readability's conditional cleaning).
_JUDGED = "div, section, ul, ol, dl, table, form, aside"
# Nodes that protect an ancestor from removal by name: it holds the article.
_HOLDS_ARTICLE = "h1, article, main, [itemprop=articleBody]"


@dataclass
class _Candidate:
    node: LexborNode
    score: float
    children: list[int] = field(default_factory=list)


def find_main_content(body: LexborNode) -> list[LexborNode]:
    """The article's blocks, in page order; `[body]` when nothing stands out."""
    drop_junk(body, protect=_HOLDS_ARTICLE)
    candidates = _score_paragraphs(body)
    if not candidates:
        return [body]
    for candidate in candidates.values():
        candidate.score *= 1 - link_density(candidate.node)
    ranked = sorted(candidates.values(), key=lambda c: c.score, reverse=True)
    top = _common_ancestor(ranked, candidates) or _prefer_enclosing(ranked[0], candidates)
    nodes = _with_siblings(top, candidates)
    for node in nodes:
        clean_conditionally(node)
    return nodes


def _score_paragraphs(body: LexborNode) -> dict[int, _Candidate]:
    candidates: dict[int, _Candidate] = {}
    for node in body.traverse():
        tag = node.tag
        if tag in PARAGRAPH_TAGS:
            text = node.text(deep=True) or ""
        elif tag in TEXT_WRAPPER_TAGS:
            text = direct_text(node)
        else:
            continue
        length = len(text.strip())
        if length < MIN_PARAGRAPH_CHARS:
            continue
        points = 1 + len(_CLAUSE.findall(text)) + min(length // 100, 3)
        ancestor = node.parent if tag in PARAGRAPH_TAGS else node
        for level in range(3):
            if ancestor is None or ancestor.tag in (None, "html", "#document"):
                break
            key = ancestor.mem_id
            candidate = candidates.get(key)
            if candidate is None:
                candidate = candidates[key] = _Candidate(ancestor, _initial_score(ancestor))
            candidate.score += points / (1 if level == 0 else level * 2 if level == 1 else level * 3)
            ancestor = ancestor.parent
    return candidates


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
    ancestor = top.node.parent
    while ancestor is not None and ancestor.tag not in (None, "body", "html"):
        held = sum(1 for node in ancestor.traverse() if node.mem_id in chunks)
        if held == len(chunks):
            return candidates.get(ancestor.mem_id) or _Candidate(ancestor, top.score)
        ancestor = ancestor.parent
    return None


def _prefer_enclosing(top: _Candidate, candidates: dict[int, _Candidate]) -> _Candidate:
    """Climb to a parent that scores nearly as well: the article often spans several scored blocks."""
    node = top.node.parent
    best = top
    while node is not None and node.tag not in (None, "body", "html"):
        candidate = candidates.get(node.mem_id)
        if candidate is None:
            break
        if candidate.score >= best.score * 0.9:
            best = candidate
        node = node.parent
    return best


def _with_siblings(top: _Candidate, candidates: dict[int, _Candidate]) -> list[LexborNode]:
    parent = top.node.parent
    if parent is None or parent.tag in (None, "html"):
        return [top.node]
    threshold = max(10.0, top.score * 0.2)
    top_class = top.node.attributes.get("class")
    nodes: list[LexborNode] = []
    sibling = parent.child
    while sibling is not None:
        if sibling.mem_id == top.node.mem_id or (
            sibling.is_element_node and _sibling_belongs(sibling, candidates, threshold, top_class)
        ):
            nodes.append(sibling)
        sibling = sibling.next
    return nodes


def _sibling_belongs(
    sibling: LexborNode, candidates: dict[int, _Candidate], threshold: float, top_class: str | None
) -> bool:
    candidate = candidates.get(sibling.mem_id)
    if candidate is not None:
        same_class = bool(top_class) and sibling.attributes.get("class") == top_class
        if candidate.score + (threshold if same_class else 0) >= threshold:
            return True
    if sibling.tag != "p":
        return False
    text = (sibling.text(deep=True) or "").strip()
    density = link_density(sibling)
    if len(text) > 80:
        return density < 0.25
    return bool(text) and density == 0 and bool(re.search(r"[.。!！?？]\s*$|[.。]\s", text))


def clean_conditionally(root: LexborNode) -> None:
    """Drop blocks inside the body that read like lists of links, image galleries or widgets."""
    for node in reversed(root.css(_JUDGED)):
        if node.mem_id == root.mem_id:
            continue
        if _looks_like_furniture(node):
            node.remove()
    for heading in root.css("h1, h2, h3, h4, h5, h6"):
        if class_weight(heading) < 0 or link_density(heading) > 0.33:
            heading.remove()
    # "READ MORE: <link>" lines between paragraphs: short, and mostly a link
    for paragraph in root.css("p"):
        text = (paragraph.text(deep=True) or "").strip()
        if len(text) < 200 and paragraph.css_first("a") is not None and link_density(paragraph, text) > 0.6:
            paragraph.remove()


def _looks_like_furniture(node: LexborNode) -> bool:
    weight = class_weight(node)
    if weight < 0:
        return True
    text = (node.text(deep=True) or "").strip()
    if len(_CLAUSE.findall(text)) >= 10:
        return False
    paragraphs = len(node.css("p"))
    images = len(node.css("img"))
    items = len(node.css("li")) - 100
    inputs = len(node.css("input, select, textarea, button"))
    embeds = len(node.css("iframe, embed, object, video"))
    density = link_density(node, text)
    tag = node.tag
    in_figure = node.css_first("figure, figcaption") is not None or tag == "figure"
    return (
        (images > 1 and paragraphs / images < 0.5 and not in_figure)
        or (items > paragraphs and tag not in ("ul", "ol"))
        or inputs > paragraphs / 3
        or (len(text) < MIN_PARAGRAPH_CHARS and (images == 0 or images > 2) and not in_figure)
        or (weight < 25 and density > 0.2 and len(text) < 2000)
        or (weight >= 25 and density > 0.5)
        or ((embeds == 1 and len(text) < 75) or embeds > 1)
    )


def link_density(node: LexborNode, text: str | None = None) -> float:
    if text is None:
        text = (node.text(deep=True) or "").strip()
    if not text:
        return 0.0
    linked = sum(len((a.text(deep=True) or "").strip()) for a in node.css("a"))
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
