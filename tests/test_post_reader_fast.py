"""The fast readers of the seed format give what the slow ones gave, whatever the input (property tests):
the front matter read without YAML equals YAML's reading (or is left to YAML), and the body's parts equal
those of the one expression they replace."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scraper.post_reader import _seed_body, parse_simple_yaml, read_post

# The expression the seed body was read with before (lazy to the end: slow on big bodies, but the oracle).
OLD_SEED_BODY = re.compile(
    r"\A\s*(?:<!--\s*(?P<ms>[^-]*?)\s*-->\s*\n)?(?:\[.*\]\((?P<link>[^)\s]+)\)\s*\n-{3,}\s*\n)?"
    r"\s*<div>\n?(?P<html>.*?)\n?</div>\s*\Z",
    re.S,
)

# Pieces that YAML treats specially, mixed with ordinary text.
TRICKY = st.sampled_from(
    [
        "yes", "No", "on", "null", "~", "true", "1", "0x1F", "1:20", ".5", "-", "a: b", "a #b", "#",
        "[", "]", "{", "}", ",", '"', "'", "\\", ":", "a:", "http://x.example/a?b=1&c",
        "2021-09-29T14:34:41.881Z",
        "2021-9-1", "2021-09-29 14:34:41 +08:00", "&a", "*a", "!t", "|", ">", "%", "@", "`", "\t", "\u2028",
        "\x85", "\ufeff", " ", "联合早报", "Story 1", "\u00e9t\u00e9",
    ]
)  # fmt: skip
TEXT = st.lists(st.one_of(TRICKY, st.text(max_size=6)), max_size=5).map("".join)
KEY = st.one_of(
    st.sampled_from(["title", "date", "from", "tags", "on", "y", "null", "a-b"]),
    st.from_regex(r"[a-z_]{1,6}", fullmatch=True),
)
VALUE = st.one_of(
    TEXT,
    TEXT.map(lambda t: f'"{t}"'),
    st.lists(TEXT, max_size=3).map(lambda items: "[ " + ", ".join(items) + " ]"),
)
FRONT_MATTER = st.lists(st.tuples(KEY, VALUE).map(lambda kv: f"{kv[0]}: {kv[1]}"), max_size=6).map("\n".join)


def yaml_reading(raw: str) -> Any:
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return "YAML refuses it"
    if value is None:
        return {}
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else "not a mapping"


@settings(max_examples=400, deadline=None)
@given(FRONT_MATTER)
@example(
    'layout: post\ntitle: "中国拟推动10家"\ndate: 2021-09-29T14:34:41.881Z\n'
    "from: https://a.example/b\ntags: [ 联合早报 ]"
)
def test_front_matter_read_without_yaml_is_what_yaml_reads(raw: str) -> None:
    simple = parse_simple_yaml(raw)
    if simple is not None:
        assert simple == yaml_reading(raw)


BODY_PIECES = st.sampled_from(
    ["<!--1632928260000-->\n", "[t](https://a.example/x)\n", "------\n", "\n", " ", "<div>", "</div>",
     "<p>a</p>", "[", "](", ")", "<!--", "-->", "x", "\n</div>\n", "<div>\n"]
)  # fmt: skip
BODY = st.lists(st.one_of(BODY_PIECES, st.text(max_size=3)), max_size=14).map("".join)


@settings(max_examples=600, deadline=None)
@given(BODY)
@example("<!--1-->\n[t](https://a.example/x)\n------\n\n<div>\n<p>a</p>\n</div>\n")
@example("<div>\n</div>")
def test_seed_body_parts_are_those_of_the_old_expression(body: str) -> None:
    old = OLD_SEED_BODY.match(body)
    new = _seed_body(body)
    if old is None:
        assert new is None
    else:
        assert new == (old.group("link"), old.group("html"))


def test_a_post_with_other_line_ends_reads_as_with_newlines(tmp_path: Path) -> None:
    """The file is read as bytes: its line ends come out as a text file's reader gives them."""
    text = (
        '---\ntitle: "A title"\nfrom: https://news.example/a\ncategories: [ News ]\n---\n'
        "[A title](https://news.example/a)\n------\n\n<div>\n<p>one</p>\n<p>two</p>\n</div>\n"
    )
    posts = []
    for name, ends in (("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")):
        path = tmp_path / f"{name}.md"
        path.write_bytes(text.replace("\n", ends).encode())
        posts.append(read_post(path))
    assert {(p.url, p.title, p.feed_name, p.body_html) for p in posts} == {
        ("https://news.example/a", "A title", "News", "<p>one</p>\n<p>two</p>")
    }
