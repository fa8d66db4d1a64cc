"""Publication dates: the formats pages write, the day in a URL, and choosing between page, feed and URL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.extract.dates import date_from_url, parse_date, parse_offset, plausible, reconcile

TAIPEI = timezone(timedelta(hours=8))
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # ISO 8601
        ("2021-09-29T14:34:41+08:00", utc(2021, 9, 29, 6, 34, 41)),
        ("2021-09-29T06:34:41Z", utc(2021, 9, 29, 6, 34, 41)),
        ("2021-09-29T06:34:41.881Z", datetime(2021, 9, 29, 6, 34, 41, 881000, tzinfo=UTC)),
        ("2021-09-29T14:34:41+0800", utc(2021, 9, 29, 6, 34, 41)),
        ("2021-09-28T22:34:41-08:00", utc(2021, 9, 29, 6, 34, 41)),
        ("  2021-09-29T06:34:41Z\n", utc(2021, 9, 29, 6, 34, 41)),
        # RFC 2822, as feeds and some meta tags write it
        ("Wed, 29 Sep 2021 14:34:41 +0800", utc(2021, 9, 29, 6, 34, 41)),
        ("Wed, 29 Sep 2021 06:34:41 GMT", utc(2021, 9, 29, 6, 34, 41)),
        ("29 Sep 2021 06:34:41 +0000", utc(2021, 9, 29, 6, 34, 41)),
        # Chinese-style dates, with the site's zone when they carry none
        ("2021年9月29日 14:34", utc(2021, 9, 29, 6, 34)),
        ("2021年09月29日 14时34分 星期三", utc(2021, 9, 29, 6, 34)),
        ("2021年9月29日 14時34分", utc(2021, 9, 29, 6, 34)),
        ("2021年9月29日 下午2:34", utc(2021, 9, 29, 6, 34)),
        ("2021年9月29日 上午10时05分", utc(2021, 9, 29, 2, 5)),
        ("2021年9月29日 下午12:30", utc(2021, 9, 29, 4, 30)),
        ("2021/09/29 14:34", utc(2021, 9, 29, 6, 34)),
        ("2021.09.29 14:34:05", utc(2021, 9, 29, 6, 34, 5)),
        ("发布 / 2021年9月29日 14:34", utc(2021, 9, 29, 6, 34)),
        ("更新时间：2021-09-29 14:34:05", utc(2021, 9, 29, 6, 34, 5)),
        ("2021年9月29日 14:34 GMT+8", utc(2021, 9, 29, 6, 34)),
        ("2021年9月29日 14:34 UTC-04:00", utc(2021, 9, 29, 18, 34)),
        ("2021年9月29日", utc(2021, 9, 28, 16, 0)),
    ],
)
def test_parse_date(value: str, expected: datetime) -> None:
    parsed = parse_date(value, TAIPEI)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo == UTC


def test_naive_dates_take_the_default_zone_utc_unless_told() -> None:
    assert parse_date("2021-09-29 14:34") == utc(2021, 9, 29, 14, 34)
    assert parse_date("2021-09-29 14:34", TAIPEI) == utc(2021, 9, 29, 6, 34)
    # an explicit offset wins over the default zone
    assert parse_date("2021-09-29T14:34:00+00:00", TAIPEI) == utc(2021, 9, 29, 14, 34)


@pytest.mark.parametrize(
    "value", [None, "", "   ", "not a date", "昨天", "2021年13月40日", "2021-02-30", "9月29日 14:34", "NaN"]
)
def test_unreadable_dates_give_none(value: str | None) -> None:
    assert parse_date(value, TAIPEI) is None


@pytest.mark.parametrize(
    ("value", "offset"),
    [
        ("+08:00", 8 * 60), ("-05:00", -5 * 60), ("+0530", 5 * 60 + 30), ("UTC+8", 8 * 60), (None, 0),
        ("x", 0), ("+45:00", 0), ("-24", 0),
    ],
)  # fmt: skip
def test_parse_offset(value: str | None, offset: int) -> None:
    assert parse_offset(value).utcoffset(None) == timedelta(minutes=offset)


def test_a_number_after_a_date_that_cannot_be_an_offset_leaves_the_date_in_the_default_zone() -> None:
    assert parse_date("2021-09-29-45", TAIPEI) == utc(2021, 9, 28, 16)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789-+: T.Z年月日时分秒UTCGM下午", max_size=40))
def test_any_date_like_text_is_a_date_or_none(value: str) -> None:
    parsed = parse_date(value, TAIPEI)
    assert parsed is None or parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("url", "day"),
    [
        ("https://www.zaobao.com.sg/news/china/story20210929-1198422", date(2021, 9, 29)),
        ("https://www.zaobao.com/realtime/world/story20210929-1198501", date(2021, 9, 29)),
        ("https://blog.example.com/2021/09/29/a-title/", date(2021, 9, 29)),
        ("https://news.example.com/2021/9/29/a-title", date(2021, 9, 29)),
        ("https://news.example.com/news/2021-09-29/123.html", date(2021, 9, 29)),
        ("https://news.example.com/2021/0929/c1004-3226.html", date(2021, 9, 29)),
        ("https://cn.nytimes.com/business/20210929/evergrande-china-economy/", date(2021, 9, 29)),
        ("https://theinitium.com/article/20210929-hongkong-teachers-exodus/", date(2021, 9, 29)),
        ("https://news.example.com/a_20210929.html", date(2021, 9, 29)),
        ("https://www.cna.com.tw/news/acn/202109290123.aspx", date(2021, 9, 29)),
        ("https://www.rfa.org/mandarin/yataibaodao/gangtai/hk-09292021123456.html", date(2021, 9, 29)),
        ("https://www.voachinese.com/a/6251234.html", None),
        ("https://udn.com/news/story/7240/5779321", None),
        ("https://news.example.com/article?date=20210929", None),
        ("https://news.example.com/2021/13/45/a", None),
        ("https://20210929.example.com/a", None),
        ("https://news.example.com/p/12345678901", None),
    ],
)
def test_date_from_url(url: str, day: date | None) -> None:
    assert date_from_url(url) == day


def test_plausible() -> None:
    assert plausible(utc(2021, 9, 29), NOW)
    assert not plausible(None, NOW)
    assert not plausible(utc(1970, 1, 1), NOW)
    assert not plausible(datetime(1, 1, 1, tzinfo=UTC), NOW)
    assert not plausible(NOW + timedelta(days=30), NOW)


URL = "https://www.zaobao.com.sg/news/china/story20210929-1198422"
PAGE_DATE = utc(2021, 9, 29, 6, 34, 41)


def test_reconcile_prefers_the_page_when_it_agrees_with_the_url() -> None:
    assert reconcile(utc(2021, 9, 29, 7, 0), PAGE_DATE, URL, NOW) == PAGE_DATE


@pytest.mark.parametrize(
    "feed_date",
    [
        utc(1970, 1, 1),
        utc(1999, 12, 31),
        utc(2001, 9, 29, 6, 34),
        utc(2031, 9, 29),
        NOW - timedelta(days=900),
    ],
)
def test_reconcile_rejects_a_feed_date_decades_off(feed_date: datetime) -> None:
    # no date on the page: the URL's day is kept rather than the feed's wrong one
    assert reconcile(feed_date, None, URL, NOW) == utc(2021, 9, 29)
    # with a page date, the page wins
    assert reconcile(feed_date, PAGE_DATE, URL, NOW) == PAGE_DATE


def test_reconcile_uses_the_feed_when_the_page_is_wrong() -> None:
    feed_date = utc(2021, 9, 29, 6, 0)
    assert reconcile(feed_date, utc(2019, 1, 1), URL, NOW) == feed_date
    assert reconcile(feed_date, utc(1970, 1, 1), URL, NOW) == feed_date
    assert reconcile(feed_date, None, URL, NOW) == feed_date


def test_reconcile_allows_two_days_of_drift_from_the_url() -> None:
    late_feed = utc(2021, 10, 1, 23, 0)
    assert reconcile(late_feed, None, URL, NOW) == late_feed
    assert reconcile(utc(2021, 10, 2, 1, 0), None, URL, NOW) == utc(2021, 9, 29)


def test_reconcile_without_a_url_date() -> None:
    url = "https://www.voachinese.com/a/6251234.html"
    assert reconcile(utc(2021, 9, 29), None, url, NOW) == utc(2021, 9, 29)
    assert reconcile(utc(1970, 1, 1), None, url, NOW) is None
    assert reconcile(None, None, url, NOW) is None
    assert reconcile(NOW + timedelta(days=365), PAGE_DATE, url, NOW) == PAGE_DATE


def test_reconcile_does_not_date_a_post_in_the_future_from_its_url() -> None:
    assert reconcile(None, None, "https://example.com/2099/01/01/a", NOW) is None
