"""Hostile Set-Cookie answers to a feed that keeps cookies: a cookie bomb must not grow the site's jar (and
the Cookie header sent back) without bound, and a cookie set for another domain must not be kept."""

from __future__ import annotations

import httpx

from scraper.fetch import keep_answer_cookies

URL = "http://127.0.0.1:8000/feed.xml"


def _answer(set_cookies: list[str]) -> httpx.Response:
    return httpx.Response(
        200, headers=[("set-cookie", value) for value in set_cookies], request=httpx.Request("GET", URL)
    )


def _cookie_header(jar: httpx.Cookies) -> str:
    request = httpx.Request("GET", URL)
    jar.set_cookie_header(request)
    return request.headers.get("cookie", "")


def test_cookie_bomb_is_bounded() -> None:
    jar = httpx.Cookies()
    bomb = [f"c{i}={'x' * 4000}; Path=/" for i in range(2000)]  # 8 MB of cookies in one answer
    keep_answer_cookies(jar, _answer(bomb))
    keep_answer_cookies(jar, _answer([f"d{i}=1" for i in range(2000)]))
    assert len(_cookie_header(jar)) <= 64 * 1024
    assert len(list(jar.jar)) <= 200


def test_ordinary_cookies_are_kept_and_sent() -> None:
    jar = httpx.Cookies()
    keep_answer_cookies(jar, _answer(["session=abc; Path=/", "consent=yes"]))
    header = _cookie_header(jar)
    assert "session=abc" in header and "consent=yes" in header


def test_cookie_for_another_domain_is_not_kept() -> None:
    jar = httpx.Cookies()
    keep_answer_cookies(jar, _answer(["evil=1; Domain=example.org; Path=/"]))
    assert list(jar.jar) == []
