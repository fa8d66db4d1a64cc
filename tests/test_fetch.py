import asyncio
import gzip
import time
import zlib
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response as WResponse

from scraper import __version__
from scraper.config import FeedConfig, HttpConfig
from scraper.fetch import (
    BlockedAddressError,
    BodyTooLargeError,
    Fetcher,
    FetchError,
    HostBlockedError,
    RedirectError,
    RequestPolicy,
    Response,
    UnsupportedURLError,
)
from tests.local_servers import httpserver_on


def get(url: str, config: HttpConfig | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        async with Fetcher(
            config or HttpConfig(allow_private_networks=True, per_host_delay=0, retry_backoff=0.01)
        ) as fetcher:
            return await fetcher.get(url, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(go())


def test_redirects_are_followed_and_the_final_url_kept(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_response(
        WResponse(status=301, headers={"Location": "/new"})
    )
    httpserver.expect_request("/new").respond_with_data("<p>here</p>", content_type="text/html")
    response = get(httpserver.url_for("/old"))
    assert response.status == 200
    assert response.final_url == httpserver.url_for("/new")
    assert response.content == b"<p>here</p>"


def test_redirect_loop_is_detected(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_response(WResponse(status=302, headers={"Location": "/b"}))
    httpserver.expect_request("/b").respond_with_response(WResponse(status=302, headers={"Location": "/a"}))
    with pytest.raises(RedirectError, match="redirect loop"):
        get(httpserver.url_for("/a"))


def test_status_codes_are_returned_not_raised(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gone").respond_with_data("nope", status=404)
    assert get(httpserver.url_for("/gone")).status == 404


def test_body_cap_stops_a_gzip_bomb(httpserver: HTTPServer) -> None:
    bomb = gzip.compress(b"\0" * 5_000_000)
    httpserver.expect_request("/bomb").respond_with_response(
        WResponse(bomb, headers={"Content-Encoding": "gzip", "Content-Type": "text/html"})
    )
    with pytest.raises(BodyTooLargeError):
        get(httpserver.url_for("/bomb"), HttpConfig(allow_private_networks=True, max_body_bytes=1_000_000))


def test_loopback_is_refused_unless_allowed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("hi")
    with pytest.raises(BlockedAddressError, match=r"non-public address 127\.0\.0\.1"):
        get(httpserver.url_for("/"), HttpConfig(allow_private_networks=False))
    assert get(httpserver.url_for("/")).status == 200


def test_redirect_into_the_private_network_is_refused(httpserver: HTTPServer) -> None:
    # Here the first hop (loopback) is already refused; test_netguard lets the first hop through and
    # shows the redirect refused.
    httpserver.expect_request("/r").respond_with_response(
        WResponse(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    )
    with pytest.raises(BlockedAddressError):
        get(httpserver.url_for("/r"), HttpConfig(allow_private_networks=False))


def test_file_urls_only_when_allowed(tmp_path: Path) -> None:
    page = tmp_path / "a.html"
    page.write_text("<p>local</p>", encoding="utf-8")
    with pytest.raises(UnsupportedURLError, match="file URL refused"):
        get(page.as_uri())
    response = get(page.as_uri(), allow_file=True)
    assert (response.status, response.content, response.content_type) == (200, b"<p>local</p>", "text/html")
    assert get((tmp_path / "missing.html").as_uri(), allow_file=True).status == 404


def test_conditional_headers_and_user_agent_are_sent(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed", headers={"If-None-Match": '"v1"'}).respond_with_data("", status=304)
    response = get(httpserver.url_for("/feed"), headers={"If-None-Match": '"v1"'})
    assert response.status == 304
    request, _ = httpserver.log[0]
    assert request.headers["User-Agent"].startswith("scraper/")


def fast(**kwargs: object) -> HttpConfig:
    return HttpConfig(
        **{"allow_private_networks": True, "per_host_delay": 0, "retry_backoff": 0.01, **kwargs}
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(b"<p>a</p>") + gzip.compress(b"<p>b</p>")),  # two gzip members
        ("deflate", zlib.compress(b"<p>a</p><p>b</p>")),
        ("deflate", zlib.compress(b"<p>a</p><p>b</p>")[2:-4]),  # raw deflate, as some servers send it
        ("identity", b"<p>a</p><p>b</p>"),
    ],
    ids=["gzip-two-members", "zlib-deflate", "raw-deflate", "identity"],  # gzip's bytes hold a timestamp
)
def test_content_encodings_are_undone(httpserver: HTTPServer, encoding: str, body: bytes) -> None:
    httpserver.expect_request("/x").respond_with_response(
        WResponse(body, headers={"Content-Encoding": encoding})
    )
    assert get(httpserver.url_for("/x")).content == b"<p>a</p><p>b</p>"


def test_unknown_content_encoding_is_an_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_response(
        WResponse(b"??", headers={"Content-Encoding": "br"})
    )
    with pytest.raises(FetchError, match="unsupported Content-Encoding 'br'"):
        get(httpserver.url_for("/x"))


def test_declared_length_over_the_cap_is_refused_before_reading(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000)
    with pytest.raises(BodyTooLargeError, match="body of 5000 bytes"):
        get(httpserver.url_for("/big"), fast(max_body_bytes=1000))


def test_too_many_redirects(httpserver: HTTPServer) -> None:
    for i in range(4):
        httpserver.expect_request(f"/{i}").respond_with_response(
            WResponse(status=302, headers={"Location": f"/{i + 1}"})
        )
    with pytest.raises(RedirectError, match="more than 2 redirects"):
        get(httpserver.url_for("/0"), fast(max_redirects=2))


def test_a_5xx_is_retried_at_once_a_bounded_number_of_times(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_data("down", status=502)
    assert get(httpserver.url_for("/x"), fast(retries=2)).status == 502
    assert len(httpserver.log) == 3


def test_short_retry_after_is_waited_out_within_the_call(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/x").respond_with_data(
        "wait", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request("/x").respond_with_data("here")
    began = time.monotonic()
    response = get(httpserver.url_for("/x"), fast())
    assert response.status == 200 and response.content == b"here"
    assert time.monotonic() - began >= 0.9


def test_long_retry_after_blocks_the_host_for_the_next_requests(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_data("later", status=503, headers={"Retry-After": "3600"})

    async def go() -> tuple[Response, BaseException]:
        async with Fetcher(fast(), env={}) as fetcher:
            first = await fetcher.get(httpserver.url_for("/x"))
            with pytest.raises(HostBlockedError) as info:
                await fetcher.get(httpserver.url_for("/other"))
            return first, info.value

    first, blocked = asyncio.run(go())
    assert first.status == 503 and first.retry_after == 3600
    assert isinstance(blocked, HostBlockedError) and 3590 < blocked.retry_after <= 3600
    assert len(httpserver.log) == 1


def test_proxy_from_the_environment_and_no_proxy(httpserver: HTTPServer) -> None:
    # The test server plays the proxy: a request for an unresolvable host reaches it in absolute form.
    httpserver.expect_request("/feed.xml").respond_with_data("via proxy")
    env = {"HTTP_PROXY": httpserver.url_for("/"), "NO_PROXY": "localhost,.internal.test"}

    async def go() -> tuple[Response, BaseException]:
        async with Fetcher(fast(), env=env) as fetcher:
            proxied = await fetcher.get("http://feeds.example.test/feed.xml")
            with pytest.raises(FetchError) as info:  # bypassed: resolved here, and it does not resolve
                await fetcher.get("http://feeds.internal.test/feed.xml")
            return proxied, info.value

    proxied, direct = asyncio.run(go())
    assert proxied.content == b"via proxy"
    assert httpserver.log[0][0].headers["Host"] == "feeds.example.test"
    assert "cannot resolve feeds.internal.test" in str(direct)


def test_configured_proxy_and_trust_env_off(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("via proxy")
    config = fast(proxy=httpserver.url_for("/"), trust_env=False)
    response = asyncio.run(
        _get_with(config, "http://feeds.example.test/feed.xml", {"HTTP_PROXY": "http://x:1"})
    )
    assert response.content == b"via proxy"


def test_feed_policy_sets_the_user_agent(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_data("ok")
    config = fast(user_agent="archive-bot/{version} (+https://archive.example/contact)")
    policy = RequestPolicy.from_config(
        config, FeedConfig(name="f", url="https://f.example", user_agent="Other/1")
    )
    asyncio.run(_get_with(config, httpserver.url_for("/x"), {}, policy=policy))
    asyncio.run(_get_with(config, httpserver.url_for("/x"), {}))
    agents = [r.headers["User-Agent"] for r, _ in httpserver.log]
    assert agents == ["Other/1", f"archive-bot/{__version__} (+https://archive.example/contact)"]


def test_each_request_of_one_fetcher_carries_its_own_agent_and_headers_only(httpserver: HTTPServer) -> None:
    """The merged headers are made once per client and agent and reused: a request's own headers (a
    poll's validators) and another feed's agent never leak into the requests after it."""
    httpserver.expect_request("/x").respond_with_data("ok")
    config = fast()
    other = RequestPolicy.from_config(
        config, FeedConfig(name="f", url="https://f.example", user_agent="Other/1")
    )
    url = httpserver.url_for("/x")

    async def main() -> None:
        async with Fetcher(config) as fetcher:
            await fetcher.get(url)
            await fetcher.get(url, {"If-None-Match": '"v1"', "user-agent": "Mine/2"})
            await fetcher.get(url, policy=other)
            await fetcher.get(url, {"If-Modified-Since": "Wed, 01 May 2024 08:00:00 GMT"}, policy=other)
            await fetcher.get(url)

    asyncio.run(main())
    sent = [
        (r.headers["User-Agent"], r.headers.get("If-None-Match"), r.headers.get("If-Modified-Since"))
        for r, _ in httpserver.log
    ]
    ours = sent[0][0]
    assert ours.startswith("scraper/")
    assert sent == [
        (ours, None, None),
        ("Mine/2", '"v1"', None),  # a header given with the request wins, as httpx merges them
        ("Other/1", None, None),
        ("Other/1", None, "Wed, 01 May 2024 08:00:00 GMT"),
        (ours, None, None),
    ]
    assert all(r.headers["Accept-Encoding"] == "gzip, deflate" for r, _ in httpserver.log)


async def _get_with(
    config: HttpConfig, url: str, env: dict[str, str], policy: RequestPolicy | None = None
) -> Response:
    async with Fetcher(config, env=env) as fetcher:
        return await fetcher.get(url, policy=policy)


def test_the_suite_itself_cannot_reach_beyond_loopback() -> None:
    import socket

    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match="tests stay on loopback"):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: refused by tests/conftest.py before any packet


def _cookie_site(server: HTTPServer, seen: list[str | None]) -> None:
    """/set sets a cookie; /check records the Cookie header it was sent (None: none)."""
    from werkzeug import Request

    def check(request: Request) -> WResponse:
        seen.append(request.headers.get("Cookie"))
        return WResponse("ok")

    server.expect_request("/set").respond_with_response(
        WResponse("set", headers={"Set-Cookie": "session=abc; Path=/"})
    )
    server.expect_request("/check").respond_with_handler(check)


def test_no_cookie_is_kept_or_sent_unless_the_feed_asks(httpserver: HTTPServer) -> None:
    seen: list[str | None] = []
    _cookie_site(httpserver, seen)
    config = HttpConfig(allow_private_networks=True, per_host_delay=0, retry_backoff=0.01)

    async def go() -> None:
        async with Fetcher(config) as fetcher:
            await fetcher.get(httpserver.url_for("/set"))
            await fetcher.get(httpserver.url_for("/check"))
            assert not fetcher._direct.cookies  # the shared client's jar holds nothing

    asyncio.run(go())
    assert seen == [None]


def test_a_feed_that_asks_keeps_cookies_per_site_and_only_for_its_own_requests(
    httpserver: HTTPServer,
) -> None:
    with httpserver_on("127.0.0.2", threaded=False) as other:
        seen: list[str | None] = []
        seen_other: list[str | None] = []
        _cookie_site(httpserver, seen)
        _cookie_site(other, seen_other)
        config = HttpConfig(allow_private_networks=True, per_host_delay=0, retry_backoff=0.01)
        keeping = RequestPolicy.from_config(config, FeedConfig("k", "http://x/f", cookies=True))
        plain = RequestPolicy.from_config(config, FeedConfig("p", "http://x/g"))
        assert keeping.keep_cookies and not plain.keep_cookies

        async def go() -> None:
            async with Fetcher(config) as fetcher:
                await fetcher.get(httpserver.url_for("/set"), policy=keeping)
                await fetcher.get(httpserver.url_for("/check"), policy=keeping)  # sent back
                await fetcher.get(httpserver.url_for("/check"), policy=plain)  # another feed: not
                await fetcher.get(other.url_for("/check"), policy=keeping)  # another site: not

        asyncio.run(go())
        assert seen == ["session=abc", None]
        assert seen_other == [None]


def test_the_feed_key_cookies_is_off_by_default_and_must_be_a_boolean(tmp_path: Path) -> None:
    from scraper.config import load_config
    from scraper.errors import ConfigError

    def feeds(extra: str, name: str = "a") -> str:
        return f'[[feeds]]\nname = "{name}"\nurl = "https://{name}.example/rss"\n{extra}\n'

    path = tmp_path / "scraper.toml"
    path.write_text(feeds("") + feeds("cookies = true", "b"), encoding="utf-8")
    first, second = load_config(path, {}).feeds
    assert (first.cookies, second.cookies) == (False, True)
    path.write_text(feeds('cookies = "yes"'), encoding="utf-8")
    with pytest.raises(ConfigError, match="cookies: expected true or false"):
        load_config(path, {})


def test_a_requests_headers_are_the_clients_with_its_own_over_them() -> None:
    from scraper.fetch import _MergedHeaders

    fetcher = Fetcher(HttpConfig())
    client = fetcher._direct
    extra = {"accept": "application/rss+xml", "If-None-Match": '"v1"'}
    merged = httpx.Headers(_MergedHeaders()(client, "bot/1", extra))
    expected = httpx.Headers(client.headers)
    expected["User-Agent"] = "bot/1"
    expected.update(extra)
    assert merged.raw == expected.raw
    assert merged["accept"] == "application/rss+xml" and merged.get_list("accept") == ["application/rss+xml"]
    assert httpx.Headers(_MergedHeaders()(client, "bot/1", {}))["User-Agent"] == "bot/1"


def test_an_answers_headers_are_read_once_each_repeated_ones_joined() -> None:
    """The fetcher takes an answer's headers as `dict(headers.items())`: what `dict(headers)` gives (a
    name once, lower case, its repeated values joined by ", "), in one walk of the list."""
    raw = [
        (b"ETag", b'"v1"'),
        (b"Set-Cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
        (b"Content-Type", b"application/rss+xml; charset=utf-8"),
        (b"X-Caf\xe9", b"caf\xe9"),
        (b"x-a", b""),
    ]
    ascii_only = [item for item in raw if item[0].isascii() and item[1].isascii()]
    for headers in (httpx.Headers(ascii_only), httpx.Headers(raw)):  # the second decoded as Latin-1
        assert dict(headers.items()) == dict(headers)
    assert dict(httpx.Headers(raw).items())["set-cookie"] == "a=1, b=2"


def test_a_feed_url_checked_where_it_entered_gives_its_scheme_as_urlsplit_does() -> None:
    from scraper.fetch import _scheme_of
    from scraper.urls import CheckedURL

    for url in ("http://a.example/x", "HTTPS://a.example:8443/x?y=1", "Http://a.example"):
        assert _scheme_of(CheckedURL(url)) == _scheme_of(url) == url.split(":", 1)[0].lower()
