"""What the fetcher makes of a URL: its shortcut past httpx's parser gives what httpx.URL gives (or leaves
the URL to httpx), and a URL checked where it entered (CheckedURL) is not judged again."""

import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.config import HttpConfig, parse_config
from scraper.errors import UnsupportedURLError
from scraper.fetch import Fetcher, _build_request, _MergedHeaders, _request_url
from scraper.sanitize import checked_url
from scraper.urls import CheckedURL

PLAIN = [
    "http://feed-1.bench.test:37605/feed/1.xml",
    "https://www.Example.ORG/news/2021/story?id=5&x=a:b@c",
    "http://example.org:80/a",
    "https://example.org:443",
    "https://example.org:0443/",
    "http://example.org:8080",
    "http://example.org/?",
    "http://example.org/a;b,c!$'()*+=~_-",
    "http://xn--fsq.example/",
    "http://127.0.0.1:8080/feed.xml",  # an IPv4 address as ipaddress reads one: httpx keeps it as written
    "http://255.255.255.255/",
    "http://0.0.0.0:80/a",
]
LEFT_TO_HTTPX = [
    "http://999.1.1.1/",  # other IPv4-looking hosts: httpx checks the address
    "http://01.2.3.4/",
    "http://1.2.3/",
    "http://1.2.3.4.5/",
    "http://256.0.0.1/",
    "http://1234/",
    "http://[::1]:8080/",
    "http://example.org/a/./b",  # dot segments: httpx resolves them
    "http://example.org/a/../b",
    "http://example.org/%7Euser",  # percent signs: httpx's quoting decides
    "http://example.org/a b",
    "http://example.org/#top",
    "http://user:pw@example.org/",
    "HTTP://example.org/",
    "http://例え.jp/",
    "http://example.org:99999/",
    "ftp://example.org/",
]


def same(url: str) -> None:
    made = _request_url(url)
    assert isinstance(made, httpx.URL)
    assert made == httpx.URL(url)
    assert made._uri_reference == httpx.URL(url)._uri_reference
    assert made.raw_path == httpx.URL(url).raw_path and made.port == httpx.URL(url).port


@pytest.mark.parametrize("url", PLAIN)
def test_a_plain_url_is_made_as_httpx_parses_it(url: str) -> None:
    same(url)


@pytest.mark.parametrize("url", LEFT_TO_HTTPX)
def test_any_other_url_is_left_to_httpx(url: str) -> None:
    assert _request_url(url) == url


_label = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True)
_piece = st.text("AZaz09-._~!$&'()*+,;=:@/?%#. ", max_size=30)


@given(
    st.sampled_from(["http", "https"]),
    st.lists(_label, min_size=1, max_size=4),
    st.one_of(st.none(), st.integers(0, 99999)),
    _piece,
    st.one_of(st.none(), _piece),
)
def test_any_url_is_made_as_httpx_parses_it_or_left_to_httpx(
    scheme: str, labels: list[str], port: int | None, path: str, query: str | None
) -> None:
    url = f"{scheme}://{'.'.join(labels)}" + (f":{port}" if port is not None else "") + "/" + path
    url += f"?{query}" if query is not None else ""
    made = _request_url(url)
    if isinstance(made, str):
        assert made == url
        return
    assert made._uri_reference == httpx.URL(url)._uri_reference


_octet = st.one_of(st.integers(0, 300).map(str), st.from_regex(r"[0-9]{1,4}", fullmatch=True))


@given(st.lists(_octet, min_size=1, max_size=5), st.sampled_from(["", ":8080", ":80"]))
def test_an_ipv4_looking_host_is_made_as_httpx_parses_it_or_left_to_httpx(
    octets: list[str], port: str
) -> None:
    """Hosts of digits and dots: made directly only when httpx would keep them as written (a valid
    IPv4 address); httpx's own refusal (InvalidURL) or reading stays with httpx."""
    url = f"http://{'.'.join(octets)}{port}/a?b"
    made = _request_url(url)
    if isinstance(made, str):
        assert made == url
        return
    assert made._uri_reference == httpx.URL(url)._uri_reference


EXTRAS = [
    {},
    {"Accept": "application/rss+xml", "If-None-Match": '"v1"', "If-Modified-Since": "Tue, 01 Dec 2026"},
    {"accept": "text/plain, */*;q=0.5"},
    {"Host": "other.example"},  # a Host of the caller's: httpx adds none, nor does _build_request
]


@pytest.mark.parametrize("extra", EXTRAS)
@pytest.mark.parametrize("url", PLAIN + LEFT_TO_HTTPX[:-1] + ["http://[::1/", "http://a..b/"])
def test_a_request_is_built_as_httpx_builds_it(url: str, extra: dict[str, str]) -> None:
    """_build_request's GET against httpx.Request's of the same URL, headers and extensions: the same
    method, URL, headers (Host first), body, and extensions; or the same refusal."""
    client = Fetcher(HttpConfig())._direct
    headers = _MergedHeaders()(client, "bot/1", extra)
    try:
        expected = httpx.Request(
            "GET", url, headers=httpx.Headers(headers), extensions={"timeout": client.timeout.as_dict()}
        )
    except httpx.InvalidURL as exc:
        with pytest.raises(httpx.InvalidURL, match=re.escape(str(exc))):
            _build_request(client, url, headers)
        return
    made = _build_request(client, url, headers)
    assert made.method == expected.method
    assert made.url == expected.url and made.url.raw_path == expected.url.raw_path
    assert made.headers.raw == expected.headers.raw
    assert made.headers.encoding == expected.headers.encoding
    assert b"".join(made.stream) == b"".join(expected.stream) == b""  # type: ignore[arg-type]
    assert made.extensions == expected.extensions


def test_a_checked_url_is_not_judged_again_by_the_fetcher(monkeypatch: pytest.MonkeyPatch) -> None:
    import scraper.fetch as fetch

    judged: list[str] = []

    def counting(url: str, *, allow_file: bool = False) -> str:
        judged.append(url)
        return checked_url(url, allow_file=allow_file)

    monkeypatch.setattr(fetch, "checked_url", counting)
    url = "https://example.org/feed.xml"
    assert fetch._scheme_of(CheckedURL(url)) == "https" and judged == []
    assert fetch._scheme_of(url) == "https" and judged == [url]
    with pytest.raises(UnsupportedURLError, match="port 0"):
        fetch._scheme_of("https://example.org:0/feed.xml")  # a plain string is judged as before


def test_the_poll_stage_marks_a_feed_url_checked_once_and_only_when_the_check_passes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import scraper.poll_stage as poll_stage

    judged: list[str] = []

    def counting(url: str, *, allow_file: bool = False) -> str:
        judged.append(url)
        return checked_url(url, allow_file=allow_file)

    monkeypatch.setattr(poll_stage, "checked_url", counting)
    config = parse_config({"feeds": []}, tmp_path / "scraper.toml", {})
    stage = poll_stage.PollStage(config, None, None, {}, clock=lambda: datetime.now(UTC))  # type: ignore[arg-type]
    good = "https://example.org/feed.xml"
    assert type(stage._checked(good)) is CheckedURL and stage._checked(good) == good
    assert judged == [good]  # the second poll of the feed: not checked again
    for refused in ("https://example.org:0/feed.xml", "https://a..b/feed.xml", "file:///tmp/feed.xml"):
        assert type(stage._checked(refused)) is str  # for the fetcher to refuse (or read), as before
    assert type(stage._checked(" https://example.org/x.xml")) is str  # changed by the check: as it is


_header_name = st.sampled_from(["Accept", "accept", "If-None-Match", "User-Agent", "Accept-Encoding", "X-A"])


@given(
    st.lists(st.dictionaries(_header_name, st.sampled_from(["a", "*/*", '"v1"', ""]), max_size=3), max_size=6)
)
def test_merged_headers_kept_or_not_are_httpxs_merge(extras: list[dict[str, str]]) -> None:
    """_MergedHeaders, asked again and again (its kept merges), gives what httpx's Headers.update makes
    of the client's headers (their User-Agent the policy's) and `extra`."""
    client = Fetcher(HttpConfig())._direct
    merged = _MergedHeaders()
    for extra in [*extras, *extras]:
        expected = httpx.Headers(client.headers)
        expected["User-Agent"] = "bot/1"
        expected.update(extra)
        assert merged(client, "bot/1", extra) == expected.raw
