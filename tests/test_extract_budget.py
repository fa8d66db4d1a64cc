"""Hostile nesting costs one article a bounded amount of CPU: linear walks, a nesting limit, a budget."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from scraper.extract import ExtractError, ExtractionBudgetError, extract
from scraper.extract.budget import MAX_NESTING, Budget, check_nesting, more_tags_than
from scraper.store.db import make_engine, session_factory
from scraper.store.models import Article
from tests.conftest import run_cli, write_config

URL = "https://news.example/2026/story"
LEAD = "<p>The council approved the budget on Tuesday, after a debate that lasted most of the night.</p>"

# One level of each kind of nesting hostile pages use.
LEVELS = {
    "ul": "<ul><li>item, more ",
    "div": "<div>",
    "table": "<table><tr><td>cell, text ",
    "span": "<span>word ",
    "blockquote": "<blockquote><p>quoted, words ",
    "mixed": "<div><ul><li><p>a, b <span><blockquote>",
}


def _page(inner: str) -> str:
    return f"<html><body><article>{LEAD}{inner}</article></body></html>"


@pytest.mark.parametrize("kind", sorted(LEVELS))
@pytest.mark.parametrize("depth", [MAX_NESTING // 2, 4_000, 30_000])
def test_deeply_nested_pages_extract_or_fail_with_the_budget_error(kind: str, depth: int) -> None:
    levels = depth // LEVELS[kind].count("<") if kind == "mixed" else depth
    try:
        record = extract(_page(LEVELS[kind] * levels), URL)
    except ExtractionBudgetError as exc:
        assert "deep" in str(exc) or "CPU" in str(exc)
    else:
        assert record.text.strip()


def test_a_page_nested_past_the_limit_is_refused_before_parsing() -> None:
    with pytest.raises(ExtractionBudgetError, match="deep"):
        check_nesting("<div>" * (MAX_NESTING + 1), scan_above=0)
    check_nesting("<div>" * MAX_NESTING, scan_above=0)  # at the limit: read
    check_nesting("<div>" * 5_000)  # few tags: parsed quickly however deep, so not scanned


def test_close_tags_bring_the_depth_back_and_stray_ones_do_not_count() -> None:
    check_nesting("<div><span></div>" * (3 * MAX_NESTING), scan_above=0)  # </div> closes the open span
    with pytest.raises(ExtractionBudgetError):
        check_nesting("<div></span>" * (MAX_NESTING + 1), scan_above=0)  # a close tag closing nothing


def test_paragraphs_and_items_left_open_are_not_nesting() -> None:
    check_nesting("<ul>" + "<li>item<p>text" * (3 * MAX_NESTING) + "</ul>", scan_above=0)


def test_an_exhausted_budget_raises_the_error_extraction_raises_for_an_unreadable_page() -> None:
    body = "".join(f"<p>Paragraph {n}, with words enough to count as text.</p>" for n in range(2000))
    with pytest.raises(ExtractError, match="CPU"):
        extract(f"<html><body><article>{body}</article></body></html>", URL, budget_seconds=0)
    assert issubclass(ExtractionBudgetError, ExtractError)


def test_a_spent_budget_raises_and_a_fresh_one_does_not() -> None:
    Budget(60).check()
    with pytest.raises(ExtractionBudgetError, match="CPU"):
        Budget(-1).check()


_TAGS = ["div", "ul", "li", "table", "tr", "td", "span", "blockquote", "p", "section", "a", "figure", "b"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(_TAGS), st.booleans(), st.text(max_size=12)),
        min_size=1,
        max_size=400,
    ),
    st.integers(min_value=1, max_value=40),
)
def test_random_nesting_extracts_or_fails_with_the_budget_error(
    steps: list[tuple[str, bool, str]], repeat: int
) -> None:
    """Any mix of open and close tags and text, repeated deep: a record or the budget error, nothing else."""
    inner = "".join(f"{'</' if close else '<'}{tag}>{text}" for tag, close, text in steps) * repeat
    try:
        record = extract(_page(inner), URL)
    except ExtractionBudgetError:
        return
    assert isinstance(record.text, str)


def test_scraper_once_records_a_page_over_the_budget_as_failed_with_the_reason(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """The archive path needs nothing new: the budget error is an extraction error, one article fails."""
    base = httpserver.url_for("").rstrip("/")
    items = "".join(
        f"<item><title>{name}</title><link>{base}/news/{name}</link><guid>{name}</guid></item>"
        for name in ("deep", "fine")
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    httpserver.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
    deep = _page(LEVELS["ul"] * 30_000)
    httpserver.expect_request("/news/deep").respond_with_data(deep, content_type="text/html")
    httpserver.expect_request("/news/fine").respond_with_data(_page(""), content_type="text/html")
    config = write_config(tmp_path, [{"name": "Hostile", "url": httpserver.url_for("/feed.xml")}])

    run_cli("once", "--config", str(config))

    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    with session_factory(engine)() as session:
        articles = {a.url.rsplit("/", 1)[-1]: a for a in session.scalars(select(Article))}
    assert articles["fine"].status == "archived"
    assert articles["deep"].status == "failed"
    assert "ExtractionBudgetError" in (articles["deep"].last_error or "")
    assert "deep" in (articles["deep"].last_error or "")


def test_the_nesting_check_reads_text_and_its_utf8_bytes_alike() -> None:
    deep = "<div>“quoted” 中文" * (MAX_NESTING + 1)
    for page in (deep, deep.encode("utf-8")):
        with pytest.raises(ExtractionBudgetError, match="deep"):
            check_nesting(page, scan_above=0)
    shallow = "<div>“quoted” 中文</div>" * (3 * MAX_NESTING)
    check_nesting(shallow, scan_above=0)
    check_nesting(shallow.encode("utf-8"), scan_above=0)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([b"<", b"<<<<", b"a", b"<p>", b"text, more text "]), max_size=60),
    st.integers(min_value=0, max_value=40),
)
def test_counting_fewer_bytes_decides_as_the_whole_count(pieces: list[bytes], bound: int) -> None:
    """Every branch: fewer bytes than the bound, past it in the first round or a later one, the rest
    left uncounted, and the rest counted whole after the last round."""
    data = b"".join(pieces)
    assert more_tags_than(data, bound) == (data.count(b"<") > bound)


def test_the_last_bytes_are_counted_only_when_they_could_pass_the_bound() -> None:
    assert not more_tags_than(b"<" * 10, 10)  # no more bytes than the bound: nothing counted
    assert not more_tags_than(b"a" * 5 + b"<" * 10, 10)  # none in the head: the rest is not counted
    assert more_tags_than(b"<" * 11 + b"a" * 10, 10)  # past the bound in the first round
    assert more_tags_than(b"<" * 5 + b"a" * 100 + b"<" * 6, 10)  # in the third
    assert not more_tags_than(b"<" * 10 + b"a", 10)  # a `<` in every round: the rest counted whole
    assert more_tags_than(b"<" * 11, 10)
