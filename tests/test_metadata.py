"""Article metadata from the page: JSON-LD (with @graph), OpenGraph, `<meta>`, `<time>`, lang, canonical."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urljoin

import pytest
from selectolax.lexbor import LexborHTMLParser

from scraper.extract.metadata import Metadata, read_metadata

URL = "https://news.example.com/world/2021/09/29/story.html"
TAIPEI = timezone(timedelta(hours=8))


def page(head: str = "", body: str = "", html_attributes: str = "") -> LexborHTMLParser:
    return LexborHTMLParser(
        f"<!DOCTYPE html><html {html_attributes}><head>{head}</head><body>{body}</body></html>"
    )


def ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'


def meta(tree: LexborHTMLParser, default_tz: timezone = UTC) -> Metadata:
    return read_metadata(tree, URL, default_tz)


# --- JSON-LD ---------------------------------------------------------------------------------------------


def test_json_ld_news_article() -> None:
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "台风“烟花”登陆浙江",
        "datePublished": "2021-07-25T12:30:00+08:00",
        "author": {"@type": "Person", "name": "王小明"},
        "image": {"@type": "ImageObject", "url": "/images/typhoon.jpg"},
    }
    result = meta(page(ld(data) + "<title>别的标题 | 某报</title>"))
    assert result.title == "台风“烟花”登陆浙江"
    assert result.published == datetime(2021, 7, 25, 4, 30, tzinfo=UTC)
    assert result.author == "王小明"
    assert result.image == "https://news.example.com/images/typhoon.jpg"


def test_json_ld_several_authors_and_image_list() -> None:
    data = {
        "@type": ["Article", "ReportageNewsArticle"],
        "headline": "标题",
        "author": [{"@type": "Person", "name": "甲"}, {"@type": "Person", "name": "乙"}, "丙"],
        "image": ["https://img.example.com/a.jpg", "https://img.example.com/b.jpg"],
    }
    result = meta(page(ld(data)))
    assert result.author == "甲, 乙, 丙"
    assert result.image == "https://img.example.com/a.jpg"


def test_json_ld_graph_prefers_the_article_and_resolves_author_references() -> None:
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "@id": "https://blog.example.com/#website", "name": "博客"},
            {
                "@type": "WebPage",
                "@id": "https://blog.example.com/p/1#webpage",
                "name": "网页名 - 博客",
                "datePublished": "2021-09-29T17:30:12+00:00",
            },
            {
                "@type": "Article",
                "@id": "https://blog.example.com/p/1#article",
                "headline": "文章标题",
                "datePublished": "2021-09-29T17:30:12+00:00",
                "author": {"@id": "https://blog.example.com/#/schema/person/1"},
            },
            {"@type": "Person", "@id": "https://blog.example.com/#/schema/person/1", "name": "雷九"},
        ],
    }
    result = meta(page(ld(graph)))
    assert result.title == "文章标题"
    assert result.author == "雷九"
    assert result.published == datetime(2021, 9, 29, 17, 30, 12, tzinfo=UTC)


def test_json_ld_web_page_is_used_when_there_is_no_article() -> None:
    data = {"@graph": [{"@type": "WebPage", "headline": "网页标题", "datePublished": "2021-09-29"}]}
    result = meta(page(ld(data)))
    assert result.title == "网页标题"
    assert result.published == datetime(2021, 9, 29, tzinfo=UTC)


def test_json_ld_top_level_list_and_main_entity() -> None:
    listed = [
        {"@type": "BreadcrumbList", "itemListElement": []},
        {"@type": "NewsArticle", "headline": "列表里的文章", "datePublished": "2021-09-29T14:34:00+08:00"},
    ]
    assert meta(page(ld(listed))).title == "列表里的文章"
    wrapped = {"@type": "ItemPage", "mainEntity": {"@type": "BlogPosting", "headline": "主体文章"}}
    assert meta(page(ld(wrapped))).title == "主体文章"


def test_broken_json_ld_is_skipped() -> None:
    head = '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "坏的",</script>' + ld(
        {"@type": "NewsArticle", "headline": "好的", "datePublished": "2021-09-29T00:00:00Z"}
    )
    result = meta(page(head))
    assert result.title == "好的"
    assert result.published == datetime(2021, 9, 29, tzinfo=UTC)


def test_json_ld_without_an_article_is_ignored() -> None:
    head = ld({"@type": "Organization", "name": "某报"}) + '<meta property="og:title" content="开放图谱标题">'
    result = meta(page(head))
    assert result.title == "开放图谱标题"
    assert result.author is None


# --- OpenGraph and <meta> ----------------------------------------------------------------------------------


def test_open_graph() -> None:
    head = (
        '<meta property="og:title" content="  开放图谱\n标题 ">'
        '<meta property="og:description" content="摘要文字">'
        '<meta property="og:image" content="/img/cover.jpg">'
        '<meta property="og:url" content="https://news.example.com/story">'
        '<meta property="og:locale" content="zh_TW">'
        '<meta property="article:published_time" content="2021-09-29T14:34:41+08:00">'
    )
    result = meta(page(head))
    assert result.title == "开放图谱 标题"
    assert result.description == "摘要文字"
    assert result.image == "https://news.example.com/img/cover.jpg"
    assert result.canonical_url == "https://news.example.com/story"
    assert result.lang == "zh-TW"
    assert result.published == datetime(2021, 9, 29, 6, 34, 41, tzinfo=UTC)


def test_meta_names() -> None:
    head = (
        '<meta name="description" content="描述">'
        '<meta name="author" content="记者 李四">'
        '<meta name="pubdate" content="2021/09/29 14:34">'
        '<meta name="twitter:image" content="https://img.example.com/t.jpg">'
    )
    result = meta(page(head), TAIPEI)
    assert result.description == "描述"
    assert result.author == "记者 李四"
    assert result.published == datetime(2021, 9, 29, 6, 34, tzinfo=UTC)
    assert result.image == "https://img.example.com/t.jpg"


def test_dublin_core_and_itemprop_meta() -> None:
    head = '<meta name="DC.date.issued" content="2021-09-29"><meta name="DC.creator" content="刘峰">'
    result = meta(page(head))
    assert result.published == datetime(2021, 9, 29, tzinfo=UTC)
    assert result.author == "刘峰"
    itemprop = meta(page(body='<meta itemprop="datePublished" content="2021-09-28T10:00:00Z"><p>x</p>'))
    assert itemprop.published == datetime(2021, 9, 28, 10, tzinfo=UTC)


def test_an_author_that_is_a_profile_url_is_skipped() -> None:
    head = (
        '<meta property="article:author" content="https://www.facebook.com/somepaper">'
        '<meta name="byl" content="By Keith Bradsher">'
    )
    assert meta(page(head)).author == "Keith Bradsher"  # "By" introduces the byline, it is no name


def test_the_first_meta_of_a_name_wins() -> None:
    head = '<meta property="og:title" content="第一个"><meta property="og:title" content="第二个">'
    assert meta(page(head)).title == "第一个"


def test_json_ld_wins_over_open_graph_and_meta() -> None:
    head = (
        '<meta property="og:title" content="开放图谱标题">'
        '<meta property="article:published_time" content="2021-09-30T00:00:00Z">'
        '<meta name="author" content="meta 作者">'
        + ld({"@type": "NewsArticle", "headline": "LD 标题", "datePublished": "2021-09-29T00:00:00Z",
              "author": {"name": "LD 作者"}})
    )  # fmt: skip
    result = meta(page(head))
    assert (result.title, result.author) == ("LD 标题", "LD 作者")
    assert result.published == datetime(2021, 9, 29, tzinfo=UTC)


# --- <time> and placeholders -----------------------------------------------------------------------------


def test_time_elements() -> None:
    body = (
        '<header><time datetime="2020-01-01T00:00:00Z">旧的</time></header>'
        '<article><h1>标题</h1><time datetime="2021-09-29T10:15:00+08:00">2021年9月29日</time></article>'
    )
    assert meta(page(body=body)).published == datetime(2021, 9, 29, 2, 15, tzinfo=UTC)
    pubdate = '<span><time pubdate datetime="2021-09-29 10:15" class="x">x</time></span>'
    assert meta(page(body=pubdate), TAIPEI).published == datetime(2021, 9, 29, 2, 15, tzinfo=UTC)
    itemprop = (
        '<time datetime="2020-01-01">x</time><span itemprop="datePublished" content="2021-09-29">y</span>'
    )
    assert meta(page(body=itemprop)).published == datetime(2021, 9, 29, tzinfo=UTC)


def test_a_page_without_date_or_byline_elements_has_neither() -> None:
    found = meta(page(body="<article><p class='lede'>Text of the article, 2021-09-29.</p></article>"))
    assert found.published is None and found.author is None


def test_placeholder_dates_are_passed_over() -> None:
    head = (
        ld({"@type": "NewsArticle", "headline": "标题", "datePublished": "0001-01-01T00:00:00Z"})
        + '<meta property="article:published_time" content="1970-01-01T00:00:00Z">'
        + '<meta name="pubdate" content="2021-09-29T06:00:00Z">'
    )
    assert meta(page(head)).published == datetime(2021, 9, 29, 6, tzinfo=UTC)


def test_no_date_anywhere() -> None:
    assert meta(page("<title>t</title>", "<p>2021年9月29日 是正文里的日期</p>")).published is None


# --- lang, canonical, title fallbacks ----------------------------------------------------------------------


def test_lang() -> None:
    assert meta(page(html_attributes='lang="zh-Hant-TW"')).lang == "zh-Hant-TW"
    assert meta(page('<meta http-equiv="content-language" content="zh-CN">')).lang == "zh-CN"
    assert meta(page('<meta property="og:locale" content="ko_KR">')).lang == "ko-KR"
    assert meta(page(html_attributes='lang=" "')).lang is None
    assert meta(page()).lang is None


def test_canonical() -> None:
    head = '<link rel="canonical" href="/world/story.html"><meta property="og:url" content="https://x.example/og">'
    assert meta(page(head)).canonical_url == "https://news.example.com/world/story.html"
    assert meta(page('<meta property="og:url" content="//m.example.com/a">')).canonical_url == (
        "https://m.example.com/a"
    )
    assert meta(page('<link rel="canonical" href="javascript:alert(1)">')).canonical_url is None
    assert meta(page()).canonical_url is None


def test_title_falls_back_to_the_title_element_then_h1() -> None:
    with_h1 = meta(page("<title>台风登陆浙江沿海 | 某报</title>", "<h1> 正文 标题 </h1>"))
    assert with_h1.title == "台风登陆浙江沿海"
    assert meta(page("", "<div><h1> 正文 标题 </h1></div>")).title == "正文 标题"
    assert meta(page()).title is None


def test_json_ld_inside_a_cdata_or_comment_wrapper_is_read() -> None:
    data = json.dumps({"@type": "NewsArticle", "headline": "Wrapped", "datePublished": "2024-06-25"})
    for wrapped in (f"<![CDATA[{data}]]>", f"//<![CDATA[\n{data}\n//]]>", f"<!--{data}-->"):
        result = meta(page(f'<script type="application/ld+json">\n  {wrapped}\n</script>'))
        assert result.title == "Wrapped"
        assert result.published == datetime(2024, 6, 25, tzinfo=UTC)


def test_a_meta_naming_several_properties_counts_for_each() -> None:
    head = (
        '<meta property="og:title twitter:title" content="Shared title">'
        '<meta property="x dc:creator" content="Ann">'
    )
    result = meta(page(head))
    assert result.title == "Shared title" and result.author == "Ann"


def test_dublin_core_title_and_creator_come_before_open_graph_and_author() -> None:
    head = (
        '<meta property="og:title" content="OG"><meta property="dc:title" content="DC">'
        '<meta name="author" content="Meta"><meta property="dc:creator" content="Creator">'
    )
    result = meta(page(head))
    assert (result.title, result.author) == ("DC", "Creator")


@pytest.mark.parametrize(
    ("document_title", "headline"),
    [
        (
            "Council approves the new budget after a long night | The Daily Example",
            "Council approves the new budget after a long night",
        ),
        (
            "Council approves the new budget – Example News – Politics",
            "Council approves the new budget – Example News",
        ),
        ("Example News | Council approves the new budget", "Council approves the new budget"),
        ("About us | Example", "About us | Example"),  # too short once cut: the whole title
        ("A title without a separator", "A title without a separator"),
    ],
)
def test_without_a_declared_title_the_documents_title_loses_the_sites_name(
    document_title: str, headline: str
) -> None:
    result = meta(page(f"<title>{document_title}</title>", "<h1>Site logo</h1><h1>Other</h1>"))
    assert result.title == headline


def test_json_ld_name_wins_over_a_headline_that_describes_it() -> None:
    data = {"@type": "Article", "name": "New Zealand", "headline": "country in Oceania"}
    assert meta(page(ld(data) + "<title>New Zealand - Wikipedia</title>")).title == "New Zealand"


@pytest.mark.parametrize(
    "body",
    [
        '<p class="byline">By Jane Roe</p>',
        '<span itemprop="author" itemscope><span itemprop="name">Jane Roe</span></span>',
        '<a rel="author" href="/staff/jane">Jane Roe</a>',
        '<div class="author">Jane Roe</div>',
        # each kind the one walk that looks for any of them must also see
        '<div id="story-byline">Jane Roe</div>',
        '<span class="the-author-name">Jane Roe</span>',
        '<span class="authorname">Jane Roe</span>',
        '<span class="x article-author-box">Jane Roe</span>',
    ],
)
def test_a_byline_in_the_body_names_the_author_when_the_head_does_not(body: str) -> None:
    assert meta(page(body=f"<article>{body}<p>Text of the article.</p></article>")).author == "Jane Roe"


@pytest.mark.parametrize(
    ("body", "author"),
    [
        # the strongest kind wins wherever it stands: an author item's name, then the item itself ...
        (
            '<p class="byline">By Ann Lee</p>'
            '<div itemprop="author"><b itemprop="name">Jane Roe</b> (staff)</div>',
            "Jane Roe",
        ),
        (
            '<div class="author">Ann Lee</div><a rel="author">Bob Ray</a><i itemprop="author">Jane Roe</i>',
            "Jane Roe",
        ),
        # ... then a link marked as the author's (`rel` in any case), then a byline, then an author class
        (
            '<div class="author">Ann Lee</div><p class="byline">Bob Ray</p><a REL="Author">Jane Roe</a>',
            "Jane Roe",
        ),
        ('<div class="author">Ann Lee</div><p class="story-byline">Jane Roe</p>', "Jane Roe"),
        # the page itself as the author item: every name in it is the author's
        ('<p class="byline">Ann Lee</p><span itemprop="name">Jane Roe</span>', "Jane Roe"),
    ],
)
def test_the_strongest_kind_of_byline_wins_over_an_earlier_weaker_one(body: str, author: str) -> None:
    attributes = 'itemscope itemprop="author"' if "Jane Roe</span>" in body else ""
    assert meta(page(body=body, html_attributes=attributes)).author == author


@pytest.mark.parametrize(
    "body",
    [
        '<div class="comment-author">Jane Roe</div>',  # "author" inside a class word is no byline
        '<div class="Byline">Jane Roe</div>',  # class values are compared as written
        '<div class="x\u00a0author">Jane Roe</div>',  # a no-break space does not separate class words
    ],
)
def test_an_element_only_like_a_byline_names_no_author(body: str) -> None:
    assert meta(page(body=body)).author is None


def test_an_author_page_with_only_elements_like_a_byline_names_no_author() -> None:
    # the page as the author item is searched for names only when some element of the body is a byline
    # (as the selectors' first walk found one): "comment-author" is none
    body = '<span itemprop="name">Jane Roe</span><div class="comment-author">Ann Lee</div>'
    assert meta(page(body=body, html_attributes='itemscope itemprop="author"')).author is None


@pytest.mark.parametrize(
    ("body", "author"),
    [
        # an svg or MathML element's `rel` is compared as written: "AUTHOR" there is no author link, so
        # the earlier byline wins over the author class the element also has
        (
            '<p class="byline">Bob Ray</p><svg><a rel="AUTHOR" class="author">Jane Roe</a></svg>',
            "Bob Ray",
        ),
        (
            '<p class="byline">Bob Ray</p><math><mi rel="Author" class="author">Jane Roe</mi></math>',
            "Bob Ray",
        ),
        # ... even when an HTML element inside it is one (which is)
        (
            '<p class="byline">Bob Ray</p><svg><a rel="AUTHOR" class="author"><text>Ann Lee</text>'
            '<foreignObject><a rel="author" class="x">Jane Roe</a></foreignObject></a></svg>',
            "Jane Roe",
        ),
        (
            '<p class="byline">Bob Ray</p><svg><a rel="author" class="author">Jane Roe</a></svg>',
            "Jane Roe",
        ),
        ('<p class="byline">Bob Ray</p><a rel="AUTHOR" class="author">Jane Roe</a>', "Jane Roe"),
    ],
)
def test_rel_is_compared_in_any_case_only_on_html_elements(body: str, author: str) -> None:
    assert meta(page(body=body)).author == author


def test_a_long_author_box_is_not_a_byline() -> None:
    bio = (
        "Jane Roe has covered city hall for twenty years; "
        "she writes about budgets, transit, housing, schools."
    )
    assert meta(page(body=f"<div class='author'>{bio}</div>")).author is None


def test_an_h1_that_says_the_titles_headline_in_full_is_the_title() -> None:
    result = meta(page("<title>Budget - Example</title>", "<h1>Council passes the budget at 3am</h1>"))
    assert result.title == "Council passes the budget at 3am"
    unrelated = meta(page("<title>Council passes the budget</title>", "<h1>Example News</h1>"))
    assert unrelated.title == "Council passes the budget"


def test_a_malformed_declared_address_is_left_out_and_the_rest_is_read() -> None:
    result = meta(
        page(
            '<meta property="og:title" content="Storm">'
            '<meta property="og:image" content="http://[broken/cover.jpg">'
            '<link rel="canonical" href="https://news.example.com/a/../story?id=1#top">'
        )
    )
    assert result.title == "Storm"
    assert result.image is None
    assert result.canonical_url == "https://news.example.com/a/../story?id=1#top"


@pytest.mark.parametrize(
    "href",
    [
        "https://news.example.com/story?id=1",
        "//cdn.example.com/x",
        "../other.html",
        "https://e.com/p;v=1?q=a b",
    ],
)
def test_declared_addresses_resolve_as_urljoin_resolves_them(href: str) -> None:
    result = meta(page(f'<link rel="canonical" href="{href}">'))
    assert result.canonical_url == urljoin(URL, href)


def test_the_first_title_h1_and_canonical_in_page_order_are_read_wherever_they_are() -> None:
    # one walk finds every declaring element; each kind is still taken first in page order
    tree = page(
        "<title>Budget - Site</title>",
        "<h1>The budget plan, in full</h1><h1>A second heading</h1>"
        '<link rel="canonical" href="/a"><link rel="canonical" href="/b">'
        '<meta property="og:description" content="Said in the body">',
    )
    found = meta(tree)
    assert found.title == "The budget plan, in full"
    assert found.canonical_url == urljoin(URL, "/a")
    assert found.description == "Said in the body"


# --- text of elements holding code ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "body", "field", "expected"),
    [
        ("", "<svg><title>Budget talks<style>p{}</style> resume in Brussels</title></svg>", "title",
         "Budget talks resume in Brussels"),
        ("", "<h1>Budget<style>h1{}</style> talks</h1>", "title", "Budget talks"),
        ("<title>News</title>", "<h1>Budget<script>x()</script> talks resume</h1>", "title",
         "Budget talks resume"),
        ("", '<p class="byline">By Jane<script>track()</script> Doe</p>', "author", "Jane Doe"),
        ("", '<span itemprop="datePublished"><script>built = "2019-01-01"</script> 2021-09-29</span>',
         "published", datetime(2021, 9, 29, tzinfo=UTC)),
    ],
    ids=["svg-title", "h1-as-title", "h1-in-place-of-a-short-title", "byline", "date-text"],
)  # fmt: skip
def test_style_sheets_and_scripts_inside_an_element_are_not_its_text(
    head: str, body: str, field: str, expected: object
) -> None:
    assert getattr(meta(page(head, body)), field) == expected
