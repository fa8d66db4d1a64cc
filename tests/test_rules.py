"""Site rules: the built-in set, matching URLs to rules, config rules overriding and extending them,
per-feed refinement, and clear errors for a rule that cannot be used."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.config import Config, load_config
from scraper.extract import RuleBook, RuleError, SiteRule, extract
from scraper.extract.rules import builtin_rules, rule_from_table, user_rules
from scraper.pipeline import Pipeline
from scraper.store.db import make_engine
from tests.conftest import write_config

BUILTIN_NAMES = {
    "zaobao",
    "bbc-zhongwen",
    "rfi-cn",
    "dw-zh",
    "voachinese",
    "rfa-mandarin",
    "cna",
    "udn",
    "nytimes-cn",
    "chinadigitaltimes",
    "solidot",
    "theinitium",
}


def test_builtin_rules_load_and_each_can_find_a_body() -> None:
    rules = builtin_rules()
    assert {rule.name for rule in rules} == BUILTIN_NAMES
    assert len(rules) == len(BUILTIN_NAMES)
    for rule in rules:
        assert rule.domains, rule.name
        assert rule.body, rule.name
        assert all(isinstance(selector, str) and selector for selector in rule.body + rule.remove)


def test_builtin_rule_selectors_are_valid_css() -> None:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser("<html><body><p>x</p></body></html>")
    for rule in builtin_rules():
        for selector in rule.body + rule.remove + rule.title + rule.author + rule.published:
            tree.css(selector)  # raises on a selector lexbor cannot read


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://www.zaobao.com.sg/news/china/story20210929-1198422", "zaobao"),
        ("https://www.zaobao.com/realtime/china/story20210929-1198500", "zaobao"),
        ("https://zaobao.sg/news/world/story20210929-1198600", "zaobao"),
        ("https://www.bbc.com/zhongwen/simp/world-58735612", "bbc-zhongwen"),
        ("https://www.bbc.com/zhongwen/trad/world-58735612", "bbc-zhongwen"),
        ("https://www.bbc.co.uk/zhongwen/simp/chinese-news-58730001", "bbc-zhongwen"),
        ("https://www.rfi.fr/cn/%E5%9B%BD%E9%99%85/20210929-x", "rfi-cn"),
        ("https://www.dw.com/zh/%E5%BE%B7%E5%9B%BD/a-59347251", "dw-zh"),
        ("https://www.voachinese.com/a/congress-20210929/6251234.html", "voachinese"),
        ("https://www.rfa.org/mandarin/yataibaodao/renquanfazhi/henan-09292021103512.html", "rfa-mandarin"),
        ("https://www.cna.com.tw/news/ahel/202109290123.aspx", "cna"),
        ("https://udn.com/news/story/7240/5779321", "udn"),
        ("https://money.udn.com/money/story/5612/5779400", "udn"),
        ("https://cn.nytimes.com/business/20210929/evergrande-china-economy/", "nytimes-cn"),
        ("https://www.nytimes.com/zh-hans/2021/09/29/business/evergrande.html", "nytimes-cn"),
        ("https://chinadigitaltimes.net/chinese/673456.html", "chinadigitaltimes"),
        ("https://www.solidot.org/story?sid=69123", "solidot"),
        ("https://theinitium.com/article/20210929-hongkong-teachers-exodus/", "theinitium"),
        ("HTTPS://WWW.SOLIDOT.ORG/story?sid=1", "solidot"),
    ],
)
def test_rule_for_url(url: str, name: str) -> None:
    rule = RuleBook.load().rule_for(url)
    assert rule is not None and rule.name == name


@pytest.mark.parametrize(
    "url",
    [
        "https://www.bbc.com/news/world-58735612",  # bbc.com outside /zhongwen
        "https://www.bbc.com/zhongwenx/simp/a",  # a path that only starts with the prefix
        "https://www.rfi.fr/fr/international/20210929-x",
        "https://www.dw.com/en/germany/a-59347251",
        "https://www.rfa.org/english/news/china/a.html",
        "https://www.nytimes.com/2021/09/29/business/evergrande.html",
        "https://notudn.com/news/story/1/2",  # a host ending with the domain's name, not a subdomain
        "https://udn.com.evil.example/news/story/1/2",
        "https://example.com/zaobao.com.sg/story20210929-1",
        "not a url",
        "",
    ],
)
def test_no_rule_for_other_urls(url: str) -> None:
    assert RuleBook.load().rule_for(url) is None


def test_path_prefixed_domains() -> None:
    rule = SiteRule(name="bbc", domains=("bbc.com/zhongwen",))
    assert rule.matches("https://www.bbc.com/zhongwen")
    assert rule.matches("https://www.bbc.com/zhongwen/")
    assert rule.matches("https://www.bbc.com/zhongwen/simp/world-1")
    assert not rule.matches("https://www.bbc.com/zhongwen-news/a")
    assert not rule.matches("https://www.bbc.com/")
    assert SiteRule(name="slash", domains=("example.com/news/",)).matches("https://example.com/news/a")


def test_a_config_rule_replaces_the_builtin_of_the_same_name() -> None:
    book = RuleBook.load([{"name": "zaobao", "domains": ["zaobao.com.sg"], "body": "#story-body"}])
    rule = book.rule_for("https://www.zaobao.com.sg/news/china/story20210929-1198422")
    assert rule is not None
    assert rule.body == ("#story-body",)
    assert rule.remove == ()  # replaced as a whole, not merged
    assert [r.name for r in book.rules].count("zaobao") == 1
    assert {r.name for r in book.rules} == BUILTIN_NAMES


def test_a_config_rule_adds_a_site_and_wins_over_builtin_ones() -> None:
    book = RuleBook.load(
        [
            {"name": "example-news", "domains": "news.example.com", "body": [".story"], "timezone": "+09:00"},
            {"name": "udn-money", "domains": ["money.udn.com"], "body": "#article_body"},
        ]
    )
    news = book.rule_for("https://news.example.com/a/1")
    assert news is not None and news.name == "example-news" and news.timezone == "+09:00"
    money = book.rule_for("https://money.udn.com/money/story/5612/5779400")
    assert money is not None and money.name == "udn-money"
    other = book.rule_for("https://udn.com/news/story/7240/5779321")
    assert other is not None and other.name == "udn"
    assert len(book.rules) == len(BUILTIN_NAMES) + 2


def test_rule_values_are_normalised() -> None:
    rule = rule_from_table({"name": " site ", "domains": "example.com", "body": [" .a ", "", ".b"]})
    assert rule.name == "site"
    assert rule.domains == ("example.com",)
    assert rule.body == (".a", ".b")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"name": "x", "domains": ["example.com"], "bdy": ".a"}, "unknown key(s) bdy"),
        ({"name": "x", "selector": ".a", "junk": ".b"}, "unknown key(s) junk, selector"),
        ({"domains": ["example.com"]}, "'name' must be a non-empty string"),
        ({"name": "  "}, "'name' must be a non-empty string"),
        ({"name": "x", "body": 3}, "'body' must be a string or a list of strings"),
        ({"name": "x", "remove": [".a", 1]}, "'remove' must be a string or a list of strings"),
        ({"name": "x", "timezone": 8}, "'timezone' must be a string"),
    ],
)
def test_bad_rules_are_refused_naming_the_rule_and_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError) as caught:
        RuleBook.load([table])
    assert message in str(caught.value)
    assert "[[rules]] #1" in str(caught.value)
    if "name" in table and str(table["name"]).strip():
        assert repr(table["name"]) in str(caught.value)


def test_user_rules_refuse_what_the_book_refuses_without_reading_the_built_in_rules() -> None:
    """The config's check (`user_rules`, before any work) says what RuleBook.load says of a broken
    table, word for word, and gives the rules the book puts first."""
    table = {"name": "x", "body": 3}
    with pytest.raises(RuleError) as checked:
        user_rules([{"name": "ok", "domains": ["example.org"]}, table])
    with pytest.raises(RuleError) as loaded:
        RuleBook.load([{"name": "ok", "domains": ["example.org"]}, table])
    assert str(checked.value) == str(loaded.value) and "[[rules]] #2 'x'" in str(checked.value)
    mine = {"name": "cna", "domains": ["cna.com.tw"], "body": ".article-body"}
    assert RuleBook.of(user_rules([mine])).rules == RuleBook.load([mine]).rules


def test_a_pipeline_refuses_broken_rules_when_made_and_reads_the_built_in_ones_when_first_asked(
    tmp_path: Path,
) -> None:
    """A reload keeps the running pipeline when the new one refuses its [[rules]] (scraper.daemon), so
    the refusal is the constructor's; the built-in rules are read when a page is first extracted, not
    by a run that polls and finds nothing new."""
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with pytest.raises(RuleError, match=r"\[\[rules\]\] #1 'x'"):
        Pipeline(Config(path=None, rules=({"name": "x", "body": 3},)), engine, None)  # type: ignore[arg-type]
    mine = {"name": "mine", "domains": ["example.org"], "body": "main"}
    builtin_rules.cache_clear()
    pipeline = Pipeline(Config(path=None, rules=(mine,)), engine, None)  # type: ignore[arg-type]
    assert builtin_rules.cache_info().currsize == 0
    assert pipeline.rules.rules == RuleBook.load([mine]).rules and pipeline.rules is pipeline.rules
    assert pipeline.rules.rule_for("https://example.org/a") == rule_from_table(mine)
    engine.dispose()


def test_rules_from_a_config_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, [])
    path.write_text(
        path.read_text(encoding="utf-8")
        + '\n[[rules]]\nname = "cna"\ndomains = ["cna.com.tw"]\nbody = ".article-body"\n'
        + '\n[[rules]]\nname = "local"\ndomains = ["local.example.org/news"]\nremove = [".ad"]\n',
        encoding="utf-8",
    )
    config = load_config(path, {})
    book = RuleBook.load(config.rules)
    cna = book.rule_for("https://www.cna.com.tw/news/aipl/202109290001.aspx")
    assert cna is not None and cna.body == (".article-body",)
    local = book.rule_for("https://local.example.org/news/1.html")
    assert local is not None and local.remove == (".ad",)
    assert book.rule_for("https://local.example.org/about") is None


def test_for_url_refines_the_site_rule_for_one_feed() -> None:
    book = RuleBook.load()
    url = "https://udn.com/news/story/7240/5779321"
    base = book.rule_for(url)
    assert base is not None
    assert book.for_url(url) is base
    refined = book.for_url(url, selector="#story_body", remove=[".promo", ".poll"])
    assert refined is not None
    assert refined.name == "udn"
    assert refined.body == ("#story_body",)
    assert refined.remove == (*base.remove, ".promo", ".poll")
    assert refined.title == base.title and refined.timezone == base.timezone
    only_remove = book.for_url(url, remove=[".promo"])
    assert only_remove is not None and only_remove.body == base.body


def test_for_url_without_a_site_rule() -> None:
    book = RuleBook.load()
    assert book.for_url("https://blog.example.com/post/1") is None
    feed_rule = book.for_url("https://blog.example.com/post/1", selector=".post", remove=[".ad"])
    assert feed_rule == SiteRule(name="feed", body=(".post",), remove=(".ad",))


PAGE = """<html><head><title>标题 - 示例</title></head><body>
<div class="nav"><a href="/">首页</a></div>
<div class="story"><h1 class="headline">真正的标题</h1>
<span class="when">2021年9月29日 14:34</span><span class="who">记者 张三</span>
<p>第一段正文，讲述事情的经过和各方的说法，内容足够长，可以被认出是文章的一部分。</p>
<div class="promo">下载本站客户端，阅读更多新闻</div>
<p>第二段正文，补充了事件的背景和后续发展，同样是读者想要保存下来的文字。</p>
</div>
<div class="sidebar"><p>侧栏：热门新闻列表，一条又一条，很多很多的链接和标题文字。</p></div>
</body></html>"""


def test_a_rule_drives_extraction() -> None:
    rule = rule_from_table(
        {
            "name": "example",
            "domains": ["news.example.com"],
            "body": [".missing", ".story"],
            "remove": [".promo", ".when", ".who"],
            "title": ".headline",
            "author": ".who",
            "published": ".when",
            "timezone": "+08:00",
        }
    )
    record = extract(PAGE, "https://news.example.com/a/1", rule)
    assert record.title == "真正的标题"
    assert record.author == "记者 张三"
    assert record.published is not None and record.published.isoformat() == "2021-09-29T06:34:00+00:00"
    assert "第一段正文" in record.text and "第二段正文" in record.text
    assert "下载本站客户端" not in record.text
    assert "侧栏" not in record.text
    assert "真正的标题" not in record.text


def test_an_invalid_selector_in_a_user_rule_falls_through() -> None:
    rule = SiteRule(name="broken", body=("div[[[", ".story"), title=(":::",))
    record = extract(PAGE, "https://news.example.com/a/1", rule)
    assert "第一段正文" in record.text
    assert record.title == "真正的标题"


_HOSTS = st.sampled_from(
    [
        "example.com", "news.example.com", "www.example.com", "example.com.", "", "a.b.example.com",
        "bbc.com", "www.bbc.com", "xbbc.com", "zhongwen.example.org", "example.org", ".example.com",
    ]
)  # fmt: skip
_PATHS = st.sampled_from(["/", "/zhongwen", "/zhongwen/simp/a", "/zhongwenx/a", "/news/1", ""])


@settings(max_examples=300, deadline=None)
@given(
    rules=st.lists(
        st.lists(
            st.tuples(_HOSTS, st.sampled_from(["", "/zhongwen", "/news", "zhongwen/simp"])), max_size=3
        ).map(lambda domains: tuple(host + folder for host, folder in domains)),
        max_size=5,
    ),
    host=_HOSTS,
    path=_PATHS,
)
def test_rule_for_finds_the_first_rule_that_matches(
    rules: list[tuple[str, ...]], host: str, path: str
) -> None:
    # the book looks rules up by host; the answer is the first rule whose `matches` says yes
    book = RuleBook([SiteRule(name=f"r{i}", domains=domains) for i, domains in enumerate(rules)])
    url = f"https://{host}{path}"
    expected = next((rule for rule in book.rules if rule.matches(url)), None)
    assert book.rule_for(url) is expected
