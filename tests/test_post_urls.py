"""scraper.post_urls: the one-pass answer for a plain URL is the one checked_url, canonical_url and host_key
give, for plain URLs and for URLs just outside the plain class (upper case, ports, queries, odd hosts)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper import post_urls
from scraper.hosts import host_key
from scraper.post_urls import url_keys
from scraper.sanitize import checked_url
from scraper.urls import canonical_url


def slow_keys(url: str) -> tuple[str, str, str] | str:
    """The three functions one after the other (what an import did), or the refusal's reason."""
    try:
        kept = checked_url(url)
        return kept, canonical_url(kept), host_key(kept)
    except ValueError as exc:
        return f"refused: {exc}"


def fast_keys(url: str) -> tuple[str, str, str] | str:
    try:
        return url_keys(url)
    except ValueError as exc:
        return f"refused: {exc}"


LABEL = st.text(alphabet="abcxyz019-", min_size=1, max_size=8) | st.sampled_from(
    ["A", "Ex", "bücher", "a" * 63, "a" * 64, "", "xn--bcher-kva", "_"]
)
HOST = st.lists(LABEL, min_size=1, max_size=4).map(".".join) | st.sampled_from(
    ["[::1]", "127.0.0.1", "host.", "a" * 60 + "." + "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + ".e"]
)
PATH = st.text(alphabet="aZ09-._~!$&'()*+,;=:@/%?# \t^|\"<>é\x00[]\\", max_size=20)
SCHEME = st.sampled_from(["http", "https", "HTTP", "Https", "ftp", "javascript", ""])
PORT = st.sampled_from(["", ":80", ":443", ":8080", ":0", ":99999", ":", ":x"])
USER = st.sampled_from(["", "user@", "user:pw@"])


@st.composite
def urls(draw: st.DrawFn) -> str:
    path = draw(PATH)
    if path and draw(st.booleans()):
        path = "/" + path
    return f"{draw(SCHEME)}://{draw(USER)}{draw(HOST)}{draw(PORT)}{path}"


@settings(max_examples=1500)
@given(urls())
def test_url_keys_agree_with_checked_canonical_and_host_key(url: str) -> None:
    assert fast_keys(url) == slow_keys(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example/story/1",
        "http://news.example",
        "https://a-b.c0.example/x/y;z=1/%7E/",
        "https://" + ".".join(["a" * 63] * 4)[:253] + "/",  # a host of 253 characters at most
        "https://" + ".".join(["a" * 63] * 4) + "/",  # 255: refused by checked_url
        "https://news.example/" + "p" * 2100,  # longer than a URL column: refused
    ],
)
def test_plain_urls_and_their_edges(url: str) -> None:
    assert fast_keys(url) == slow_keys(url)


def test_a_plain_url_takes_the_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of the module: nothing of the three functions runs for a plain URL."""

    def refuse(url: str) -> str:
        raise AssertionError(f"slow path taken for {url}")

    monkeypatch.setattr(post_urls, "checked_url", refuse)
    assert url_keys("https://news.example/story/7") == (
        "https://news.example/story/7",
        "https://news.example/story/7",
        "news.example",
    )
    assert url_keys("http://news.example")[1] == "http://news.example/"
