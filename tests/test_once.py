"""End to end: `scraper once` against a local server, asserting on post files and database rows."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request
from werkzeug import Response as WResponse

from scraper.store.db import make_engine, session_factory
from scraper.store.models import Article, Feed, RawPage
from tests.conftest import run_cli, write_config

AD_JUNK = (
    '<section id="imu"><div id="dfp-ad-imu1">  </div></section>'
    '<div id="innity-in-post"></div>'
    '<a href="https://subscribe.sph.com.sg/promotions/zbpe?utm_campaign=zbpe399"><img class="lazyload"'
    ' data-src="https://static.zaobao.com/paywall_desktop.png"></a>'
    '<div class="overlay-microtransaction"><p>订阅联合早报，每月只需0.99元。</p></div>'
)
PARAGRAPHS = [
    "中国工业和信息化部、中央网络安全和信息化委员会办公室等八部门周三联合发布物联网新型基础设施建设三年行动计划，"
    "提出推动10家物联网企业成长为产值过百亿、能带动中小企业融通发展的龙头企业。",
    "据中国工业和信息化部官网消息，中国计划到2023年底，在国内主要城市初步建成物联网新型基础设施，"
    "突破一批制约物联网发展的关键共性技术。",
    "重点任务包括突破关键核心技术。贯通“云、网、端”，围绕信息感知、信息传输、信息处理等产业链关键环节，"
    "体系化部署创新链。",
]


def article_page(title: str, paragraphs: list[str], charset_meta: str = '<meta charset="utf-8">') -> str:
    body = (
        "".join(f"<p>{p}</p>" for p in paragraphs[:1])
        + AD_JUNK
        + "".join(f"<p>{p}</p>" for p in paragraphs[1:])
    )
    return f"""<!DOCTYPE html><html lang="zh"><head>{charset_meta}<title>{title} | 联合早报</title>
<meta property="article:published_time" content="2021-09-29T23:11:00+08:00">
<script>var tracking = "{{{{ nope }}}}";</script><style>p {{ color: red }}</style></head>
<body><nav><a href="/">首页</a><a href="/china">中国</a></nav>
<div class="share-bar"><a href="https://facebook.example/share">分享</a></div>
<article><h1>{title}</h1><div class="article-content-rawhtml">{body}
<figure><img class="lazyload" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/img/a.jpg">
<figcaption>图说</figcaption></figure></div></article>
<aside class="related"><a href="/x">相关新闻一</a></aside><footer>版权所有</footer>
<img src="https://pixel.example/t.gif" width="1" height="1"></body></html>"""


def rss(items: list[tuple[str, str, str]], base: str) -> str:
    xml_items = "".join(
        f'<item><title>{title}</title><link>{base}{path}</link><guid isPermaLink="false">{guid}</guid>'
        "<pubDate>Wed, 29 Sep 2021 23:11:00 +0800</pubDate><description>摘要</description></item>"
        for title, path, guid in items
    )
    head = '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0">'
    return f"{head}<channel><title>t</title>{xml_items}</channel></rss>"


def serve_feed(server: HTTPServer, path: str, body: str, etag: str) -> None:
    def handler(request: Request) -> WResponse:
        if request.headers.get("If-None-Match") == etag:
            return WResponse(status=304, headers={"ETag": etag})
        return WResponse(body, content_type="application/rss+xml; charset=utf-8", headers={"ETag": etag})

    server.expect_request(path).respond_with_handler(handler)


QUOTED_TITLE = '他说"是的"：{{ 内卷 }} 与 {% 躺平 %}'


@pytest.fixture
def site(httpserver: HTTPServer) -> HTTPServer:
    base = httpserver.url_for("")
    main_items = [
        ("中国拟推动10家物联网成百亿龙头", "/news/iot?utm_source=rss&utm_medium=feed", "g-iot"),
        ("繁忙的编码", "/news/gbk", "g-gbk"),
        ("搬家了", "/news/old", "g-old"),
        ("不见了", "/news/missing", "g-missing"),
        (QUOTED_TITLE.replace("&", "&amp;").replace("<", "&lt;"), "/news/quoted", "g-quoted"),
        ("中国拟推动10家物联网成百亿龙头（重复）", "/news/iot?fbclid=abc", "g-iot-again"),
        ("暂时不可用", "/news/flaky", "g-flaky"),
    ]
    serve_feed(httpserver, "/main.xml", rss(main_items, base.rstrip("/")), '"main-v1"')
    serve_feed(
        httpserver, "/other.xml", rss([("同一篇", "/news/iot", "other-1")], base.rstrip("/")), '"other-v1"'
    )
    httpserver.expect_request("/feeds/broken.xml").respond_with_data(
        "<html>not a feed</html>", content_type="text/html"
    )

    httpserver.expect_request("/news/iot").respond_with_data(
        article_page("中国拟推动10家物联网成百亿龙头", PARAGRAPHS), content_type="text/html; charset=utf-8"
    )
    gbk = article_page(
        "繁忙的编码",
        ["这是一篇用GBK编码但没有声明字符集的中文新闻文章，用来检验字符集的检测。" * 3, *PARAGRAPHS[1:]],
        "",
    )
    httpserver.expect_request("/news/gbk").respond_with_data(gbk.encode("gbk"), content_type="text/html")
    httpserver.expect_request("/news/old").respond_with_response(
        WResponse(status=301, headers={"Location": "/news/new"})
    )
    httpserver.expect_request("/news/new").respond_with_data(
        article_page(
            "搬家了",
            ["这篇文章已经搬到了新的地址，但内容依旧完整地保存在这里，供读者阅读。" * 2, *PARAGRAPHS[1:]],
        ),
        content_type="text/html; charset=utf-8",
    )
    httpserver.expect_request("/news/missing").respond_with_data("not found", status=404)
    httpserver.expect_request("/news/quoted").respond_with_data(
        article_page(
            QUOTED_TITLE,
            [
                "模板语法 {{ page.title }} 和 {% include x.html %} 在这里只是普通的文字而已。" * 2,
                *PARAGRAPHS[1:],
            ],
        ),
        content_type="text/html; charset=utf-8",
    )
    httpserver.expect_request("/news/flaky").respond_with_data("busy", status=503)
    return httpserver


def configure(folder: Path, server: HTTPServer) -> Path:
    rule = {
        "selector": ".article-content-rawhtml",
        "remove": ["[id^=dfp-ad-]", "#innity-in-post", ".overlay-microtransaction", "a[href*='subscribe.']"],
    }
    return write_config(
        folder,
        [
            {"name": "联合早报", "url": server.url_for("/main.xml"), **rule},
            {"name": "Other", "url": server.url_for("/other.xml"), **rule},
            {"name": "Broken", "url": server.url_for("/feeds/broken.xml")},
        ],
    )


def articles(folder: Path) -> dict[str, Article]:
    engine = make_engine(f"sqlite:///{folder / 'archive.db'}")
    with session_factory(engine)() as session:
        rows = {a.guid or "": a for a in session.scalars(select(Article))}
    engine.dispose()
    return rows


def posts(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted((folder / "_posts").glob("*.md"))}


def test_once_archives_every_new_article(site: HTTPServer, tmp_path: Path) -> None:
    result = run_cli("once", "--config", str(configure(tmp_path, site)))
    assert result.exit_code == 1, result.output  # the broken feed failed; the others went on
    assert "polled 2 feeds" in result.output and "1 failed" in result.output
    assert "archived 4, gone 1, retrying 1" in result.output

    rows = articles(tmp_path)
    assert set(rows) == {
        "g-iot",
        "g-gbk",
        "g-old",
        "g-missing",
        "g-quoted",
        "g-flaky",
    }  # duplicates queued once
    assert {guid: a.status for guid, a in rows.items()} == {
        "g-iot": "archived",
        "g-gbk": "archived",
        "g-old": "archived",
        "g-quoted": "archived",
        "g-missing": "gone",
        "g-flaky": "pending",
    }
    assert rows["g-iot"].canonical_url == site.url_for("/news/iot")
    assert rows["g-old"].final_url == site.url_for("/news/new")
    assert rows["g-flaky"].last_error == "HTTP 503" and rows["g-flaky"].next_attempt_at is not None
    assert "这是一篇用GBK编码但没有声明字符集的中文新闻文章" in (rows["g-gbk"].content_text or "")

    files = posts(tmp_path)
    assert len(files) == 4
    for name, text in files.items():
        meta = yaml.safe_load(text.split("---\n", 2)[1])
        assert meta["layout"] == "post" and meta["author"] == "联合早报"
        assert meta["tags"] == ["联合早报"] == meta["categories"]
        assert name.startswith("2021-09-29-") and text.endswith("</div>\n")
        for junk in (
            "dfp-ad",
            "innity",
            "subscribe.",
            "<script",
            "<style",
            "pixel.example",
            "分享",
            "相关新闻",
            "版权所有",
            "订阅联合早报",
            "data:image",
        ):
            assert junk not in text, (name, junk)
    iot = files["2021-09-29-中国拟推动10家物联网成百亿龙头.md"]
    assert PARAGRAPHS[0] in iot and PARAGRAPHS[2] in iot
    assert f'src="{site.url_for("/img/a.jpg")}"' in iot
    assert f"from: {site.url_for('/news/iot')}\n" in iot
    quoted = next(text for name, text in files.items() if "内卷" in name)
    assert yaml.safe_load(quoted.split("---\n", 2)[1])["title"] == QUOTED_TITLE
    assert "{{" not in quoted.split("---\n", 2)[2] and "{%" not in quoted.split("---\n", 2)[2]

    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    with session_factory(engine)() as session:
        assert session.scalar(select(RawPage).where(RawPage.article_id == rows["g-iot"].id)) is not None
        feeds = {f.name: f for f in session.scalars(select(Feed))}
    engine.dispose()
    assert feeds["联合早报"].etag == '"main-v1"'
    assert feeds["Broken"].failures_in_row == 1 and "HTML page" in (feeds["Broken"].last_error or "")


def test_second_run_writes_nothing_and_polls_conditionally(site: HTTPServer, tmp_path: Path) -> None:
    config = configure(tmp_path, site)
    run_cli("once", "--config", str(config))
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "_posts").iterdir()}
    site.clear_log()

    result = run_cli("once", "--config", str(config))
    assert "0 new entries" in result.output and "wrote 0 posts" in result.output
    assert "2 not modified" in result.output
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "_posts").iterdir()} == before
    feed_requests = [r for r, _ in site.log if r.path == "/main.xml"]
    assert feed_requests and feed_requests[0].headers.get("If-None-Match") == '"main-v1"'


def test_export_rewrites_nothing_when_unchanged_and_restores_deleted_posts(
    site: HTTPServer, tmp_path: Path
) -> None:
    config = configure(tmp_path, site)
    run_cli("once", "--config", str(config))
    victim = next((tmp_path / "_posts").iterdir())
    content = victim.read_bytes()
    victim.unlink()
    result = run_cli("export", "--config", str(config))
    assert result.exit_code == 0 and "rewrote 1 posts" in result.output
    assert victim.read_bytes() == content


def test_status_reports_each_feed(site: HTTPServer, tmp_path: Path) -> None:
    config = configure(tmp_path, site)
    run_cli("once", "--config", str(config))
    result = run_cli("status", "--config", str(config))
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if "联合早报" in line)
    assert " 4 " in line and " 1 " in line  # archived, pending/gone counts
    assert "HTML page" in result.output  # the broken feed's error
    assert "HTTP 404" in result.output and "HTTP 503" in result.output  # reasons


def test_bad_config_exits_2(tmp_path: Path) -> None:
    (tmp_path / "scraper.toml").write_text("[[feeds]]\nname = 'x'\n", encoding="utf-8")
    result = run_cli("once", "--config", str(tmp_path / "scraper.toml"))
    assert result.exit_code == 2
    assert "feeds[0].url: required" in result.output


def test_feed_content_source_needs_no_page(httpserver: HTTPServer, tmp_path: Path) -> None:
    item = (
        "<item><title>Full text</title><link>{base}/never-fetched</link><guid>f-1</guid>"
        "<pubDate>Wed, 29 Sep 2021 23:11:00 +0800</pubDate>"
        "<content:encoded><![CDATA[<p>The feed's own full text, long enough to be the body.</p>"
        '<div id="dfp-ad-x">ad</div><script>alert(1)</script>]]></content:encoded></item>'
    ).format(base=httpserver.url_for("").rstrip("/"))
    feed = (
        '<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>t</title>{item}</channel></rss>"
    )
    httpserver.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
    config = write_config(
        tmp_path, [{"name": "F", "url": httpserver.url_for("/feed.xml"), "content": "feed"}]
    )
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 0 and "archived 1" in result.output
    assert all(r.path != "/never-fetched" for r, _ in httpserver.log)
    (text,) = posts(tmp_path).values()
    assert "The feed's own full text" in text and "<script" not in text and "alert" not in text
    assert articles(tmp_path)["f-1"].content_source == "feed"


def test_auto_falls_back_to_the_feed_when_the_page_fails(httpserver: HTTPServer, tmp_path: Path) -> None:
    base = httpserver.url_for("").rstrip("/")
    feed = (
        '<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>t</title><item><title>A</title><link>{base}/gone</link><guid>a-1</guid>"
        "<content:encoded><![CDATA[<p>Saved from the feed although the page is gone.</p>]]></content:encoded>"
        "</item></channel></rss>"
    )
    httpserver.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
    httpserver.expect_request("/gone").respond_with_data("", status=410)
    config = write_config(
        tmp_path, [{"name": "F", "url": httpserver.url_for("/feed.xml"), "content": "auto"}]
    )
    result = run_cli("once", "--config", str(config))
    assert "archived 1" in result.output
    row = articles(tmp_path)["a-1"]
    assert row.status == "archived" and row.content_source == "feed" and row.last_error == "HTTP 410"
