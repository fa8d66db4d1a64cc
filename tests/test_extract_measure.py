"""The text stats of `measure`: clause marks counted the same way whatever the text's characters."""

from __future__ import annotations

from html import escape

from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from scraper.extract.budget import Budget
from scraper.extract.measure import CLAUSE, measure

# ASCII text (counted by deleting the marks) and text with CJK marks or other letters (by the pattern).
MARKS = "ab ,;!?.:-\u00e9\u4e2d\uff0c\u3001\u3002\uff1b\uff01\uff1f\u0628\u060c\u061b\u061f"
TEXT = st.text(alphabet=st.sampled_from(list(MARKS)), min_size=1)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_an_elements_clause_marks_are_those_of_the_pattern(text: str) -> None:
    body = LexborHTMLParser(f"<body><p>{escape(text)}</p></body>").body
    assert body is not None
    paragraph = body.css_first("p")
    assert paragraph is not None
    stats = measure(body, Budget())
    own = text.strip()
    assert stats.direct_clauses.get(paragraph.mem_id, 0) == (len(CLAUSE.findall(own)) if own else 0)
    assert stats.clauses[body.mem_id] == stats.clauses[paragraph.mem_id]


def test_arabic_scripts_commas_semicolons_and_question_marks_are_clause_marks() -> None:
    # Arabic, Persian and Urdu prose has clauses as Latin and CJK prose has; counted as none, a one-paragraph
    # Arabic article scored below any box with two commas beside it
    sentence = "قال المسؤولون، بعد أشهر من المحادثات، إن الخطة جاهزة؛ فهل تنفذ العام المقبل؟"
    body = LexborHTMLParser(f"<body><p>{sentence}</p></body>").body
    assert body is not None
    assert measure(body, Budget()).clauses[body.mem_id] == 4


def test_the_lists_by_position_agree_with_the_figures_by_key() -> None:
    body = LexborHTMLParser(
        "<body><div id='a'>Lead, here.<p>One, two; three.</p><p><a href='/x'>Link</a> text</p></div>"
        "<section><span>Tail!</span></section></body>"
    ).body
    assert body is not None
    stats = measure(body, Budget())
    for at, node in enumerate(body.traverse()):
        key = node.mem_id
        assert stats.keys[at] == key and stats.node(key).mem_id == key
        assert stats.nodes[at].mem_id == key
        assert stats.deep_length[at] == stats.length[key]
        assert stats.clauses_of(key) == stats.deep_clauses[at] == stats.clauses[key]
        own = node.text(False, "", True, True)
        assert stats.own_length[at] == len(own)
        parent = None if at == 0 else node.parent.mem_id  # type: ignore[union-attr]
        assert stats.parent_key(key) == parent
    assert stats.clauses_of(12345) == 0 and stats.parent_key(12345) is None
