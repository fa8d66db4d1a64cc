"""`tag_ids`: the walks pick elements by the parser's tag numbers where it has them, by name where not."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from scraper.extract.clean import DROP_TAGS, _drop_tags, drop_junk
from scraper.extract.measure import KNOWN_TAG_IDS, tag_ids


def test_known_tags_by_number_unknown_by_name() -> None:
    ids, names = tag_ids(frozenset({"script", "video", "my-widget"}))
    page = LexborHTMLParser("<script></script><video></video><my-widget></my-widget>")
    script, video, widget = (page.css_first(tag) for tag in ("script", "video", "my-widget"))
    assert script is not None and script.tag_id in ids and script.tag_id < KNOWN_TAG_IDS
    assert names == {"video", "my-widget"}  # numbered per document: only their names say what they are
    assert video is not None and video.tag_id >= KNOWN_TAG_IDS
    assert widget is not None and widget.tag_id >= KNOWN_TAG_IDS


def test_drop_junk_drops_every_drop_tag_and_keeps_unknown_elements() -> None:
    inner = "".join(f"<{tag}>x</{tag}>" if tag not in ("input", "source", "track", "embed") else f"<{tag}>"
                    for tag in DROP_TAGS)  # fmt: skip
    page = LexborHTMLParser(f"<html><body><div id=k>{inner}<my-widget>kept</my-widget><p>text</p></div>")
    body = page.body
    assert body is not None
    drop_junk(body)
    left = {node.tag for node in body.traverse()}
    assert left.isdisjoint(DROP_TAGS)
    assert {"my-widget", "p"} <= left


def test_a_dropped_element_goes_with_all_it_holds_and_what_follows_it_stays() -> None:
    # the walk unlinks a dropped element's children as it meets it and goes on past it: nested drop
    # tags and plain elements inside go with it, the siblings after it are still walked and judged
    page = LexborHTMLParser(
        "<body><nav><ul><li><a href='/a'>Home</a><svg><path d='M0'></path></svg></li></ul>menu</nav>"
        "<p>First.</p><aside><footer>f</footer><div>side</div></aside><div><p>Second.</p>"
        "<button><span>b</span></button></div><footer></footer></body>"
    )
    body = page.body
    assert body is not None
    _drop_tags(body)
    assert body.html == "<body><p>First.</p><div><p>Second.</p></div></body>"


def test_a_root_to_drop_is_unlinked_whole() -> None:
    page = LexborHTMLParser("<body><div><nav><p>Menu</p><aside>a</aside></nav></div></body>")
    nav = page.css_first("nav")
    assert nav is not None
    _drop_tags(nav)
    assert page.body is not None and page.body.html == "<body><div></div></body>"
    assert nav.html == "<nav><p>Menu</p></nav>"  # what it held, but the drop tags inside it
