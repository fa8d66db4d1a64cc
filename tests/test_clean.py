"""Cleaning a body into safe, semantic HTML: one test (or a small table of them) per cleaning rule."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from scraper.extract import SiteRule, clean_fragment, extract, html_to_text
from scraper.extract.budget import Budget
from scraper.extract.clean import (
    clean_fragment_html,
    drop_junk,
    drop_junk_measured,
    image_source,
    largest_in_srcset,
    safe_url,
    srcset_candidates,
)
from scraper.extract.measure import TextStats, measure

PAGE = "https://news.example.com/world/2021/09/29/story.html"


def clean(fragment: str, **kwargs: object) -> str:
    return clean_fragment(fragment, PAGE, **kwargs)  # type: ignore[arg-type]


def parsed(html: str) -> LexborHTMLParser:
    return LexborHTMLParser(f"<html><body>{html}</body></html>")


# --- allowlist of tags -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fragment",
    [
        "<script>alert(1)</script>",
        "<style>p{color:red}</style>",
        "<noscript><img src='https://t.example.com/p.gif'></noscript>",
        "<template><p>later</p></template>",
        "<iframe src='https://player.example.com/v/1'></iframe>",
        "<object data='movie.swf'><embed src='movie.swf'></object>",
        "<svg><a href='javascript:alert(1)'><text>svg link</text></a></svg>",
        "<video src='v.mp4'>no video</video><audio src='a.mp3'>no audio</audio>",
        "<form action='/subscribe'><input name='email'><button>订阅</button></form>",
        "<nav><a href='/'>首页</a></nav>",
        "<aside><p>侧栏</p></aside>",
        "<footer><p>版权所有</p></footer>",
        "<link rel='stylesheet' href='x.css'><meta name='x' content='y'><base href='https://evil.example/'>",
    ],
)
def test_dangerous_and_furniture_tags_go_with_their_content(fragment: str) -> None:
    assert clean(f"{fragment}<p>正文保留。</p>") == "<p>正文保留。</p>"


def test_form_controls_go_but_text_around_them_stays() -> None:
    html = clean(
        "<div><p>请先阅读说明。</p><form><p>表单里的说明</p><select><option>一</option></select></form></div>"
    )
    assert "请先阅读说明。" in html
    assert "option" not in html and "select" not in html


def test_unknown_tags_are_unwrapped_keeping_their_text() -> None:
    html = clean("<p><span class='x'>记者</span><font color='red'>报道</font><custom-tag>称</custom-tag></p>")
    assert html == "<p>记者报道称</p>"


def test_semantic_blocks_are_kept() -> None:
    html = clean(
        "<h2>小标题</h2><h3>三级标题</h3>"
        "<p>一段<strong>重点</strong>和<em>强调</em>，<sub>下</sub><sup>上</sup>。</p>"
        "<ul><li>第一项</li><li>第二项</li></ul><ol start='3'><li value='3'>第三项</li></ol>"
        "<blockquote cite='https://example.com/q'><p>引用的话。</p></blockquote>"
        "<pre><code>print('hi')</code></pre>"
        "<table><caption>表格说明</caption><thead><tr><th scope='col'>年份</th><th>数字</th></tr></thead>"
        "<tbody><tr><td>2021</td><td colspan='2'>42</td></tr></tbody></table>"
        "<figure><img src='/a.jpg' alt='图'><figcaption>图片说明</figcaption></figure>"
        "<dl><dt>术语</dt><dd>解释</dd></dl>"
    )
    tree = parsed(html)
    for tag in ("h2", "h3", "strong", "em", "sub", "sup", "ul", "ol", "li", "blockquote", "pre", "code"):
        assert tree.css_first(tag) is not None, tag
    for tag in ("table", "caption", "thead", "th", "td", "figure", "img", "figcaption", "dl", "dt", "dd"):
        assert tree.css_first(tag) is not None, tag
    assert tree.css_first("ol").attributes == {"start": "3"}
    assert tree.css_first("li[value]").attributes == {"value": "3"}
    assert tree.css_first("blockquote").attributes == {"cite": "https://example.com/q"}
    assert tree.css_first("td[colspan]").attributes == {"colspan": "2"}
    assert tree.css_first("th[scope]").attributes == {"scope": "col"}
    assert tree.css_first("figcaption").text() == "图片说明"
    text = html_to_text(html)
    for words in ("小标题", "第二项", "引用的话。", "表格说明", "2021", "解释"):
        assert words in text


# --- allowlist of attributes -----------------------------------------------------------------------------


def test_only_allowed_attributes_survive() -> None:
    html = clean(
        "<p id='p1' class='lead' style='color:red' onclick='steal()' data-track='1' dir='ltr' "
        "align='center'>文字<img src='/a.jpg' alt='说明' title='标题' width='640' height='480' "
        "onerror='steal()' onload='steal()' style='border:0' class='lazy' loading='lazy'></p>"
        "<a href='https://example.com/' target='_blank' rel='noopener' title='链接' "
        "onmouseover='x()'>链接</a>"
    )
    tree = parsed(html)
    assert tree.css_first("p").attributes == {}
    assert tree.css_first("img").attributes == {
        "src": "https://news.example.com/a.jpg",
        "alt": "说明",
        "title": "标题",
        "width": "640",
        "height": "480",
    }
    assert tree.css_first("a").attributes == {"href": "https://example.com/", "title": "链接"}


def test_no_event_handler_or_style_anywhere() -> None:
    html = clean(
        "<div onmouseover='x()'><h2 onclick='x()' style='x'>标题</h2><table onload='x()'>"
        "<tr><td onclick='x()' style='color:red'>格</td></tr></table>"
        "<blockquote ONCLICK='x()'>引</blockquote>"
        "<ul><li onfocus='x()'>项</li></ul></div>"
    )
    for node in parsed(html).css("body *"):
        assert not [name for name in node.attributes if name.lower().startswith("on") or name == "style"]


# --- links ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "  javascript:alert(1)",
        "java\nscript:alert(1)",
        "java&#x09;script:alert(1)",
        "java&#10;script:alert(1)",
        "jav&#x0D;ascript:alert(1)",
        "&#106;avascript:alert(1)",
        "javascript&colon;alert(1)",
        "&#x01;javascript:alert(1)",
        "vbscript:msgbox(1)",
        "VBScript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "da\tta:text/html,<script>alert(1)</script>",
        "livescript:alert(1)",
        "file:///etc/passwd",
    ],
)
def test_script_and_data_links_are_unwrapped(href: str) -> None:
    html = clean(f'<p>看<a href="{href}">这里</a>。</p>')
    assert html == "<p>看这里。</p>"


@pytest.mark.parametrize(
    ("href", "absolute"),
    [
        ("/news/2021/09/28/other.html", "https://news.example.com/news/2021/09/28/other.html"),
        ("other.html", "https://news.example.com/world/2021/09/29/other.html"),
        ("../28/other.html", "https://news.example.com/world/2021/09/28/other.html"),
        ("//cdn.example.org/doc.pdf", "https://cdn.example.org/doc.pdf"),
        ("?page=2", "https://news.example.com/world/2021/09/29/story.html?page=2"),
        ("https://other.example.com/a", "https://other.example.com/a"),
        ("mailto:desk@example.com", "mailto:desk@example.com"),
        ("  /spaced.html \n", "https://news.example.com/spaced.html"),
        ("/files/photo 1.jpg", "https://news.example.com/files/photo%201.jpg"),
    ],
)
def test_links_are_made_absolute(href: str, absolute: str) -> None:
    tree = parsed(clean(f'<p>见<a href="{href}">链接</a></p>'))
    assert tree.css_first("a").attributes["href"] == absolute


def test_fragment_and_empty_links_are_unwrapped() -> None:
    assert clean('<p><a href="#top">回到顶部</a>与<a>无链接</a>和<a href="">空</a></p>') == (
        "<p>回到顶部与无链接和空</p>"
    )


def test_safe_url_directly() -> None:
    assert safe_url("java\tscript:alert(1)", PAGE) is None
    assert safe_url("data:image/png;base64,AAAA", PAGE) is None
    assert safe_url("img/a.png", PAGE) == "https://news.example.com/world/2021/09/29/img/a.png"
    assert safe_url("https://x.example.com/a\nb", PAGE) == "https://x.example.com/ab"


# --- lazy images ------------------------------------------------------------------------------------------

GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


@pytest.mark.parametrize(
    ("img", "src"),
    [
        (f'<img src="{GIF}" data-src="/photos/a.jpg">', "https://news.example.com/photos/a.jpg"),
        (f'<img src="{GIF}" data-original="//img.example.net/b.jpg">', "https://img.example.net/b.jpg"),
        ('<img src="/thumb/c.jpg" data-lazy-src="/full/c.jpg">', "https://news.example.com/full/c.jpg"),
        ('<img data-actualsrc="d.jpg">', "https://news.example.com/world/2021/09/29/d.jpg"),
        (
            '<img src="/s.jpg" srcset="/s.jpg 320w, /l.jpg 1024w, /m.jpg 640w">',
            "https://news.example.com/l.jpg",
        ),
        (
            '<img srcset="e.jpg 1x, e@3x.jpg 3x, e@2x.jpg 2x">',
            "https://news.example.com/world/2021/09/29/e@3x.jpg",
        ),
        (
            f'<img src="{GIF}" data-srcset="/f-400.jpg 400w, /f-1200.jpg 1200w">',
            "https://news.example.com/f-1200.jpg",
        ),
        (f'<img src="{GIF}" data-src="{GIF}" data-original="/g.jpg">', "https://news.example.com/g.jpg"),
        ('<img src="https://img.example.com/h.jpg">', "https://img.example.com/h.jpg"),
    ],
)
def test_lazy_images_get_their_real_source(img: str, src: str) -> None:
    tree = parsed(clean(f"<figure>{img}<figcaption>说明文字</figcaption></figure>"))
    assert [node.attributes.get("src") for node in tree.css("img")] == [src]


def test_picture_keeps_the_image_and_drops_the_sources() -> None:
    html = clean(
        '<picture><source type="image/webp" srcset="/a.webp 800w"><img src="/a.jpg" alt="甲"></picture>'
        "<p>正文</p>"
    )
    assert html == '<img src="https://news.example.com/a.jpg" alt="甲"><p>正文</p>'


@pytest.mark.parametrize(
    "img",
    [
        f'<img src="{GIF}">',
        f'<img src="{GIF}" data-src="{GIF}">',
        '<img src="javascript:alert(1)">',
        "<img>",
        '<img src="">',
    ],
)
def test_images_without_a_real_source_are_dropped(img: str) -> None:
    assert clean(f"<p>{img}文字</p>") == "<p>文字</p>"


def test_image_source_and_srcset_helpers() -> None:
    assert image_source({"src": GIF, "data-src": "/x.jpg"}) == "/x.jpg"
    assert image_source({"src": GIF}) is None
    assert largest_in_srcset("a.jpg 200w, b.jpg 900w, c.jpg 500w") == "b.jpg"
    assert largest_in_srcset("a.jpg, b.jpg 2x") == "b.jpg"
    assert largest_in_srcset(f"{GIF} 1x") is None
    assert largest_in_srcset(f"{GIF} 1x, /real.jpg 2x") == "/real.jpg"
    assert largest_in_srcset("https://img.example.com/w_400,h_300/a.jpg 400w, /small.jpg 200w") == (
        "https://img.example.com/w_400,h_300/a.jpg"
    )
    assert largest_in_srcset("") is None


def test_srcset_is_split_as_browsers_split_it() -> None:
    assert srcset_candidates(" /a.jpg 1x ,/b.jpg 2x,, /c.jpg") == [
        ("/a.jpg", "1x"),
        ("/b.jpg", "2x"),
        ("/c.jpg", ""),
    ]
    assert srcset_candidates(f"{GIF}, /d.jpg 640w") == [(GIF, ""), ("/d.jpg", "640w")]


def test_a_data_placeholder_in_srcset_does_not_become_a_broken_image() -> None:
    html = clean(f'<p><img srcset="{GIF} 1x">文字</p><p><img src="{GIF}" srcset="{GIF} 1x, /e.jpg 2x">图</p>')
    assert [img.attributes["src"] for img in parsed(html).css("img")] == ["https://news.example.com/e.jpg"]


# --- tracking pixels --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "img",
    [
        '<img src="https://www.facebook.com/tr?id=123&ev=PageView" width="1" height="1">',
        '<img src="https://ad.doubleclick.net/ddm/activity/src=1;type=a">',
        '<img src="https://sb.scorecardresearch.com/p?c1=2&c2=123">',
        '<img src="https://www.google-analytics.com/collect?v=1">',
        '<img src="https://stats.example.com/pixel.gif?a=1">',
        '<img src="/images/spacer.gif">',
        '<img src="https://cdn.example.com/counter.png" width="1" height="1">',
        '<img src="https://cdn.example.com/dot.png" width="0" height="0">',
        '<img src="https://cdn.example.com/x.png" height="1px">',
    ],
)
def test_tracking_pixels_are_dropped(img: str) -> None:
    assert clean(f"<p>{img}新闻内容。</p>") == "<p>新闻内容。</p>"


def test_small_but_real_images_are_kept() -> None:
    html = clean('<p><img src="/icons/chart.png" width="48" height="48">图表</p>')
    assert parsed(html).css_first("img") is not None


# --- empty wrappers ---------------------------------------------------------------------------------------


def test_empty_wrappers_are_removed() -> None:
    html = clean(
        "<div class='wrap'><section><div><span> </span></div><p></p><p>&nbsp;</p></section>"
        "<div><div><p>唯一的段落。</p></div></div><strong></strong></div>"
    )
    assert html == "<p>唯一的段落。</p>"


def test_blocks_holding_only_an_image_are_not_empty() -> None:
    html = clean("<figure><div><img src='/a.jpg'></div></figure><p>文字</p>")
    tree = parsed(html)
    assert tree.css_first("figure img") is not None


def test_nothing_left_gives_an_empty_body() -> None:
    assert clean("<div><p> </p><span></span></div>") == ""
    assert clean("") == ""


# --- text separated by <br> ---------------------------------------------------------------------------------


def test_br_separated_text_is_kept_line_by_line() -> None:
    html = clean(
        "<div class='content'>　　第一段：记者从市政府获悉。<br><br>　　第二段：新措施下月实施。<br>"
        "　　第三段：市民可通过热线咨询。<br/></div>"
    )
    assert html.count("<br>") >= 3
    lines = [line.strip() for line in html_to_text(html).splitlines() if line.strip()]
    assert lines == ["第一段：记者从市政府获悉。", "第二段：新措施下月实施。", "第三段：市民可通过热线咨询。"]


def test_text_directly_in_a_div_is_not_lost_when_wrappers_unwrap() -> None:
    html = clean("<div><div>外层文字<div><p>内层段落</p></div></div></div>")
    text = html_to_text(html)
    assert "外层文字" in text and "内层段落" in text


# --- furniture blocks by name, hidden blocks, ad slots ---------------------------------------------------


@pytest.mark.parametrize(
    "block",
    [
        '<div id="comments"><p>网友评论：说得好。</p></div>',
        '<section class="comment-list"><p>网友评论：说得好。</p></section>',
        '<div id="disqus_thread"><p>网友评论：说得好。</p></div>',
        '<div class="pinglun"><p>网友评论：说得好。</p></div>',
        '<div class="related-posts"><a href="/a">相关新闻一</a></div>',
        '<div class="xiangguan"><a href="/a">相关新闻一</a></div>',
        '<div class="recommend-list"><a href="/a">推荐阅读</a></div>',
        '<div class="newsletter-signup"><p>订阅我们的电子报</p></div>',
        '<div class="subscribe-box"><p>订阅我们的电子报</p></div>',
        '<div class="paywall"><p>成为会员阅读全文</p></div>',
        '<div class="share-bar"><a href="https://facebook.com/sharer">分享</a></div>',
        '<ul class="social-links"><li><a href="https://twitter.com/x">推特</a></li></ul>',
        '<div class="fenxiang"><a href="https://weibo.com/share">分享到微博</a></div>',
        '<div class="cookie-banner"><p>本站使用cookie</p></div>',
        '<div id="gdpr-consent"><p>本站使用cookie</p></div>',
        '<div class="breadcrumb"><a href="/">首页</a> &gt; <a href="/news">新闻</a></div>',
        '<div class="ad-container"><p>广告</p></div>',
        '<div id="div-gpt-ad-1234"><p>广告</p></div>',
        '<ins class="adsbygoogle" data-ad-slot="123"><p>广告</p></ins>',
        '<div data-ad-slot="top"><p>广告</p></div>',
        "<div hidden><p>隐藏</p></div>",
        '<div style="display: none"><p>隐藏</p></div>',
        '<div style="visibility:hidden"><p>隐藏</p></div>',
        '<p aria-hidden="true">隐藏</p>',
        '<span class="visually-hidden">屏幕阅读器文字</span>',
    ],
)
def test_furniture_blocks_are_dropped(block: str) -> None:
    assert clean(f"<div><p>正文第一段。</p>{block}<p>正文第二段。</p></div>") == (
        "<p>正文第一段。</p><p>正文第二段。</p>"
    )


def test_article_named_blocks_are_not_dropped_for_their_other_names() -> None:
    html = clean(
        "<div class='entry-content share-enabled'><p>文章正文。</p></div>"
        "<div class='l-sidebar-fixed l-article-body'><p>文章栏。</p></div>"
        "<div class='comment-body'><p>一条评论。</p></div>"
    )
    assert "文章正文。" in html and "文章栏。" in html
    assert "一条评论。" not in html


def test_html_comments_are_dropped() -> None:
    assert clean("<p>正文<!-- ad slot: 300x250 --></p><!-- [if IE]><p>ie</p><![endif] -->") == "<p>正文</p>"


def test_a_rules_remove_selectors_are_applied() -> None:
    rule = SiteRule(name="test", remove=(".promo-inline", "p.editor-note"))
    html = clean(
        "<p>正文。</p><div class='promo-inline'>下载客户端</div>"
        "<p class='editor-note'>编者按：转载请注明。</p>",
        rule=rule,
    )
    assert html == "<p>正文。</p>"


# --- the title heading -----------------------------------------------------------------------------------


def test_a_heading_repeating_the_title_is_dropped() -> None:
    html = clean_fragment_html(
        "<h1>台风 “烟花” 登陆浙江</h1><p>正文。</p><h2>台风“烟花”登陆浙江</h2><h2>各地防汛情况</h2>",
        PAGE,
        title="台风“烟花”登陆浙江",
    )
    assert html == "<p>正文。</p><h2>各地防汛情况</h2>"


def test_extract_does_not_repeat_the_title_in_the_body() -> None:
    page = (
        "<html><head><title>台风登陆浙江 | 某某新闻</title>"
        '<meta property="og:title" content="台风登陆浙江"></head><body><article class="article-content">'
        "<h1>台风登陆浙江</h1>"
        "<p>今年第6号台风今天中午在浙江舟山沿海登陆，登陆时中心附近最大风力有13级，各地已启动防汛应急响应。</p>"
        "<p>气象部门预计，台风将继续向西北方向移动，强度逐渐减弱，但沿海地区仍有大暴雨，请市民减少外出。</p>"
        "</article></body></html>"
    )
    record = extract(page, PAGE)
    assert record.title == "台风登陆浙江"
    assert "<h1>" not in record.html
    assert record.text.startswith("今年第6号台风")


def test_an_article_hidden_until_a_script_reveals_it_is_kept() -> None:
    # WeChat articles: #js_content is "visibility: hidden" until the page's script shows it
    paragraphs = [
        "搬家那天，我才发现自己有多少用不上的东西，三台旧手机、十几本没拆封的书，还有一抽屉的数据线。",
        "整理的过程并不轻松，每拿起一件东西都会想，说不定以后用得上，后来我给自己定了一条规矩。",
        "一个周末下来，家里清出了整整十二箱东西，书捐给了社区图书角，衣服放进了旧衣回收箱。",
    ]
    page = (
        "<html><body><div class='rich_media'><h1 class='rich_media_title'>断舍离</h1>"
        "<div class='rich_media_content' id='js_content' style='visibility: hidden; opacity: 0;'>"
        + "".join(f"<p><span style='font-size: 15px'>{text}</span></p>" for text in paragraphs)
        + "<p style='display:none'>隐藏的统计代码说明</p></div>"
        "<div class='qr_code_pc' style='display: none'><p>微信扫一扫，关注该公众号</p></div>"
        "</div></body></html>"
    )
    record = extract(page, "https://mp.weixin.qq.com/s?__biz=MzA5&mid=1&idx=1")
    for text in paragraphs:
        assert text in record.text
    assert "隐藏的统计代码说明" not in record.text
    assert "关注该公众号" not in record.text
    assert "style" not in record.html


def test_a_display_none_copy_of_the_article_is_not_kept() -> None:
    # some pages carry a hidden second copy of the article (a print or share version)
    paragraph = "市政府今天公布新的公交线路调整方案，涉及三条线路的首末班时间，将于下月起正式实施。"
    article = "".join(f"<p>{paragraph}第{n}段。</p>" for n in range(4))
    page = (
        f"<html><body><div class='story'>{article}</div>"
        f"<div style='display: none'><div class='print-copy'>{article}</div></div></body></html>"
    )
    record = extract(page, "https://news.example.com/a/1.html")
    assert record.text.count("第0段") == 1


def test_double_br_separates_paragraphs_in_the_text() -> None:
    from scraper.extract import html_to_text

    assert html_to_text("<div>one<br>two<br><br>three<br>\n<br>four</div>") == "one\ntwo\n\nthree\n\nfour"


def _body(html: str, url: str = "https://news.example/2026/a.html") -> str:
    return clean_fragment(html, url)


def test_a_figure_whose_image_cannot_be_kept_goes_with_a_caption_that_only_labels_it() -> None:
    html = (
        "<p>Text.</p><figure><img src='file:///etc/photo.jpg'>"
        "<figcaption>The fair on Monday. (File photo)</figcaption></figure>"
    )
    assert "figure" not in _body(html) and "The fair" not in _body(html)


def test_a_caption_that_says_something_on_its_own_stays_without_its_image() -> None:
    caption = "Protesters gathered at dawn. By noon the square was full and the police withdrew."
    html = f"<figure><img src='javascript:alert(1)'><figcaption>{caption}</figcaption></figure>"
    assert caption in _body(html)


def test_a_figure_keeps_its_caption_when_its_image_is_kept_or_it_never_had_one() -> None:
    kept = _body("<figure><img src='/a.jpg'><figcaption>The fair.</figcaption></figure>")
    assert "The fair." in kept and "<img" in kept
    quote = _body("<figure><blockquote>To be or not.</blockquote><figcaption>Hamlet.</figcaption></figure>")
    assert "Hamlet." in quote


def test_an_image_link_to_another_sites_subscription_offer_goes() -> None:
    html = (
        "<p>The last paragraph.</p>"
        "<a href='https://subscribe.paper.example/promotions/3-months/?utm_campaign=x'>"
        "<img data-src='https://static.news.example/banner_desktop.png'></a>"
    )
    assert "subscribe" not in _body(html) and "<img" not in _body(html)
    by_picture = "<a href='https://shop.other.example/p/1'><img src='/paywall_desktop.png'></a>"
    assert "<img" not in _body(by_picture)


@pytest.mark.parametrize(
    "html",
    [
        "<a href='/2026/photo-large.jpg'><img src='/2026/photo.jpg'></a>",  # the same site
        "<a href='https://photos.agency.example/fair-2026'><img src='/2026/photo.jpg'></a>",  # not a promo
        "<a href='https://subscribe.paper.example/'>Subscribe to our paper</a>",  # text: judged elsewhere
    ],
)
def test_other_links_around_images_or_to_offers_stay(html: str) -> None:
    body = _body(html)
    assert "<img" in body or "Subscribe to our paper" in body


def test_a_section_anchored_by_a_slug_of_its_heading_is_not_judged_by_the_slugs_words() -> None:
    paragraph = "<p>Say you work on code that must be tested on a remote server, far from your editor.</p>"
    html = (
        "<html><body><div class='content'>"
        f"<div class='section' id='sharing-with-a-single-developer'><h2>Sharing</h2>{paragraph * 4}</div>"
        f"<div class='section' id='comments'>{paragraph}</div>"
        "</div></body></html>"
    )
    record = extract(html, "https://docs.example/evolve")
    assert record.text.count("remote server") == 4  # the section's four sentences; the comments' one goes
    assert "Sharing" in record.text


def test_a_long_paragraph_said_twice_is_kept_twice_and_a_short_repeat_reads_once() -> None:
    long = "The committee met again on Friday, and again the vote was postponed. " * 4
    html = f"<p>{long}</p><p>Advertisement</p><p>Middle paragraph.</p><p>Advertisement</p><p>{long}</p>"
    text = html_to_text(html)
    assert text.count("The committee met again") == 8 and text.count("Advertisement") == 1


def test_a_formula_in_mathml_reads_as_its_text_without_its_tex_source() -> None:
    formula = (
        "<math><semantics><mrow><mi>a</mi><mo>≠</mo><mn>0</mn></mrow>"
        "<annotation encoding='application/x-tex'>a \\ne 0</annotation></semantics></math>"
    )
    body = clean(f"<div><p>When {formula}, there are two solutions.</p></div>")
    assert body == "<p>When a≠0, there are two solutions.</p>"
    # unwrapped, as any element off the allowlist: nothing of MathML (a link in some browsers) is left
    assert clean("<p>See <math><mi href='javascript:alert(1)'>x</mi></math>.</p>") == "<p>See x.</p>"


def test_a_word_of_a_sentence_named_weakly_like_furniture_stays_and_the_block_goes() -> None:
    sentence = "<p>\"Oh, certainly, sir, <a class='popup' href='#'>if you prefer that I should</a>.\"</p>"
    body = clean(f"<div>{sentence}<div class='popup'><p>Sign in</p></div></div>")
    assert "if you prefer that I should" in body and "Sign in" not in body
    # a strong name still goes, in a sentence too
    assert clean("<p>Read this<span class='share-icons'> Share</span>.</p>") == "<p>Read this.</p>"


def test_a_short_block_with_clauses_said_again_is_kept_each_time() -> None:
    # a meal plan, a recipe or a results table says the same line in each of its parts: content, not
    # a label; a label ("Advertisement", a credit) has no clause marks
    plan = "<h3>Lunch</h3><ul><li>Eggs [2 eggs, 1 cup rice, 1 tsp. oil]</li></ul><p>Image copyright AFP</p>"
    text = html_to_text(f"<h2>Plan A</h2>{plan}<h2>Plan B</h2>{plan}")
    assert text.count("Eggs [2 eggs") == 2 and text.count("Image copyright") == 1


@pytest.mark.parametrize(
    "name", ["anzeige-top", "werbung", "pub-slot", "publicidad", "reklama-box", "pubblicita"]
)
def test_ad_slots_named_in_other_languages_are_dropped(name: str) -> None:
    assert (
        clean(f"<div><p>Text eins.</p><div class='{name}'><p>Kaufen!</p></div></div>") == "<p>Text eins.</p>"
    )


@pytest.mark.parametrize("name", ["newsCaption", "imgcaption", "photoCaptions", "image-caption"])
def test_captions_named_in_one_word_go_like_image_caption(name: str) -> None:
    caption = f"<span class='{name}'>照片说明（图片来源：路透社）</span>"
    html = f"<div><p>正文第一段。</p>{caption}<p>正文第二段。</p></div>"
    assert clean(html) == "<p>正文第一段。</p><p>正文第二段。</p>"


def test_junk_inside_junk_goes_with_it_and_later_blocks_are_still_judged() -> None:
    # blocks inside one already dropped are passed over (nothing of them is left to judge); a block
    # after it, and the article, are judged as before
    tree = LexborHTMLParser(
        "<html><body><div class='sidebar'><div class='share-bar'><a href='/s'>Share</a></div>"
        "<div class='widget'><p>Popular today</p></div><div style='display:none'>hidden</div></div>"
        "<div class='related-posts'><a href='/r'>Related story</a></div>"
        "<article class='story'><div class='content'><p>The council met on Monday.</p>"
        "<div class='newsletter-signup'>Sign up</div></div></article></body></html>"
    )
    body = tree.body
    assert body is not None
    drop_junk(body, protect="article")
    text = body.text(separator=" ")
    assert "The council met on Monday." in text
    for gone in ("Share", "Popular today", "hidden", "Related story", "Sign up"):
        assert gone not in text


def _srcset_by_characters(srcset: str) -> list[tuple[str, str]]:
    """The split spelt out a character at a time, as the standard describes it."""
    candidates: list[tuple[str, str]] = []
    position, end = 0, len(srcset)
    while position < end:
        while position < end and (srcset[position].isspace() or srcset[position] == ","):
            position += 1
        start = position
        while position < end and not srcset[position].isspace():
            position += 1
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


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab/,.1wx \t\n\u00a0\u2003\u3000\x1c\x85")), max_size=30))
def test_srcset_split_matches_the_character_by_character_reading(srcset: str) -> None:
    assert srcset_candidates(srcset) == _srcset_by_characters(srcset)


def test_the_page_wide_questions_asked_late_give_the_same_blocks() -> None:
    # whether the page embeds a post, and which blocks hold the article, are asked when the first block
    # needs them, after earlier junk is gone: a tweet in a hidden copy that went first saves no later
    # "social" block; a share bar holding a tweet, and the article's own, stay
    tweet = "<blockquote class='twitter-tweet'><p>The tweet the story quotes.</p></blockquote>"
    tree = LexborHTMLParser(
        f"<html><body><div class='print-copy' style='display:none'>{tweet.replace('quotes', 'hides')}</div>"
        "<div class='social-links' id='follow'><a href='/f'>Follow us</a></div>"
        f"<div class='share-bar'>{tweet.replace('quotes', 'shares')}</div>"
        f"<article><h1>Headline</h1><p>The council met on Monday.</p><div class='social'>{tweet}</div>"
        "</article></body></html>"
    )
    body = tree.body
    assert body is not None
    drop_junk(body, protect="h1, article")
    text = body.text(separator=" ")
    for kept in ("The council met on Monday.", "The tweet the story quotes.", "the story shares"):
        assert kept in text
    assert "Follow us" not in text and "hides" not in text


def test_blocks_after_a_removed_one_are_judged_again_and_those_inside_it_are_not_kept() -> None:
    """Page order keeps a removed block's nodes together: the check stops at the first node past it,
    and the blocks further on are judged as before (junk goes, the article and its parts stay)."""
    body = LexborHTMLParser(
        "<body><div class='sidebar'><div class='share'><p class='x'>a</p></div><span id='n'>b</span></div>"
        "<div class='story'><p class='lead'>The council approved the budget.</p></div>"
        "<div class='share'>c</div><div class='comments'><p class='c'>d</p></div>"
        "<div class='story-part'><p class='more'>It takes effect in May.</p></div></body>"
    ).body
    assert body is not None
    drop_junk(body, protect="h1, article")
    html = body.html or ""
    assert "council" in html and "takes effect" in html
    assert "sidebar" not in html and "share" not in html and "comments" not in html


def _stats_fields(stats: TextStats) -> tuple[object, ...]:
    """The figures of `stats` by position (two parses of a page number their elements differently)."""
    at = {key: index for index, key in enumerate(stats.keys)}
    figures = (stats.length, stats.clauses, stats.linked, stats.direct_length, stats.direct_clauses)
    return (
        stats.tags,
        stats.up,
        {at[key]: at[parent] for key, parent in stats.parent_of.items()},
        [{at[key]: value for key, value in figure.items()} for figure in figures],
        [at[key] for key in stats.node_of],
    )


# A junk-named wrapper holding most of the page's text, asked about after a hidden copy went: the page's text
# it is weighed against is without the copy's (as when the copy is unlinked at once); hidden and
# ad blocks, nested junk, a tweet in a share bar, and a hidden root.
_JUDGED_PAGES = {
    "wrapper after a dropped copy": (
        "<body><div style='display:none'><p>" + "A hidden copy of the week. " * 30 + "</p></div>"
        "<div class='post-meta'><p>" + "The council met on Monday. " * 14 + "</p>"
        "<div class='share'><a href='/s'>Share</a></div></div><div class='footer-links'>x</div></body>"
    ),
    "hidden, ads, nested junk, a tweet": (
        "<body><div hidden><p>Hidden copy</p></div><div data-ad-slot='1'>Ad</div>"
        "<div class='comments'><div class='comment'><span class='share'>s</span></div></div>"
        "<div aria-hidden='true'><span>icon</span></div><div style='visibility:hidden'>v</div>"
        "<div class='share-bar'><blockquote class='twitter-tweet'><p>Quoted.</p></blockquote></div>"
        "<article><p class='lead'>The council approved the budget, again.</p></article></body>"
    ),
    "a hidden root": (
        "<body style='display: none'><div class='share'>s</div><p>Text, of the page.</p></body>"
    ),
}


@pytest.mark.parametrize("page", list(_JUDGED_PAGES.values()), ids=list(_JUDGED_PAGES))
def test_junk_dropped_in_the_measuring_walk_leaves_the_same_tree_and_stats(page: str) -> None:
    # the finder judges each element as `measure` meets it and unlinks the junk after the walk: the
    # same tree and the same figures as dropping the junk first and measuring what is left
    apart = LexborHTMLParser(page).body
    together = LexborHTMLParser(page).body
    assert apart is not None and together is not None
    drop_junk(apart, protect="h1, article")
    expected = measure(apart, Budget())
    stats = drop_junk_measured(together, "h1, article", Budget())
    assert together.html == apart.html
    assert _stats_fields(stats) == _stats_fields(expected)
