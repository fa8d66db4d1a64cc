import asyncio
import gzip
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response as WResponse

from scraper.config import HttpConfig
from scraper.fetch import BlockedAddressError, BodyTooLargeError, Fetcher, RedirectError, UnsupportedURLError


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
    # A public-looking start is not possible offline; the check runs on every hop, the first included.
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
