"""scraper.client_send.send against httpx's own `client.send(request, stream=True)`: for every answer (a
body, none, a redirect whose Location is fine, relative, odd or unusable, a failed connection, a closed
client, credentials in the URL) the same response or the same error."""

import asyncio
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from scraper import client_send
from scraper.config import HttpConfig
from scraper.fetch import Fetcher, _new_client
from scraper.pools import HostBody, byte_headers

STATUSES = [200, 204, 301, 302, 303, 304, 307, 308, 404, 429, 500]
LOCATIONS = [
    None,
    "/new",
    "new?x=1",
    "http://other.example/x",
    "//other.example/p",
    "https://example.org:8443/",
    "http://[::1",
    "ftp://example.org/",
    "http://example.org:99999/",
    "a b",
    "http://ex ample.org/",
    "",
    "http://example.org/\u00e9",
]


def _handler(status: int, location: str | None, seen: list[httpx.Request]) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if status == 599:
            raise httpx.ConnectError("refused")
        headers = {"Content-Type": "text/plain", "X-Twice": "a"}
        if location is not None:
            headers["Location"] = location
        return httpx.Response(status, headers=[*headers.items(), ("X-Twice", "b")], content=b"body")

    return handle


async def _outcome(send: Any, client: httpx.AsyncClient, url: str, seen: list[httpx.Request]) -> tuple:
    """What a send gives, as comparable values: the error, or the answer and what was sent."""
    request = client.build_request("GET", url, headers={"Accept": "*/*"})
    try:
        response = await send(client, request)
    except Exception as exc:
        attached = getattr(exc, "_request", None)
        return ("raised", type(exc), str(exc), attached is request if attached is not None else None)
    assert response.request is request
    body = await response.aread()  # (MockTransport hands over an answer already read)
    await response.aclose()
    following = response.next_request
    return (
        "answered",
        response.status_code,
        response.headers.raw,
        response.http_version,
        response.reason_phrase,
        response.history,
        response.default_encoding,
        response.is_closed,
        body,
        hasattr(response, "_elapsed"),  # set when closed, if its stream was still open
        None
        if following is None
        else (following.method, str(following.url), following.headers.raw, following.extensions),
        [(str(sent.url), sent.headers.raw) for sent in seen],
    )


def _both(status: int, location: str | None, url: str = "http://example.org/a") -> tuple[tuple, tuple]:
    async def run(send: Any) -> tuple:
        seen: list[httpx.Request] = []
        client = _new_client(HttpConfig(), "bot/1", httpx.MockTransport(_handler(status, location, seen)))
        async with client:
            return await _outcome(send, client, url, seen)

    async def httpx_send(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
        return await client.send(request, stream=True)

    return asyncio.run(run(httpx_send)), asyncio.run(run(client_send.send))


@settings(max_examples=80, deadline=None)
@given(st.sampled_from([*STATUSES, 599]), st.sampled_from(LOCATIONS))
def test_every_answer_is_what_httpx_send_gives(status: int, location: str | None) -> None:
    expected, made = _both(status, location)
    assert made == expected


@pytest.mark.parametrize("url", ["http://user:pw@example.org/a", "http://user@example.org/a"])
def test_credentials_in_the_url_are_sent_as_httpx_sends_them(url: str) -> None:
    """httpx makes a Basic auth of a URL's user and password: such a request is httpx's own send."""
    expected, made = _both(200, None, url)
    assert made == expected
    assert any(name == b"Authorization" for name, _ in made[-1][0][1])


def test_a_closed_client_refuses_as_httpx_does() -> None:
    async def run() -> tuple[str, str]:
        client = _new_client(HttpConfig(), "bot/1", httpx.MockTransport(_handler(200, None, [])))
        await client.aclose()
        request = client.build_request("GET", "http://example.org/")
        errors = []
        for send in (lambda: client.send(request, stream=True), lambda: client_send.send(client, request)):
            with pytest.raises(RuntimeError) as caught:
                await send()
            errors.append(str(caught.value))
        return errors[0], errors[1]

    expected, made = asyncio.run(run())
    assert made == expected


def test_the_fetchers_own_transport_answers_as_through_httpx_send(httpserver: HTTPServer) -> None:
    """Through the guarded client (HostTransport, its HostBody bound to the response, not wrapped):
    the same answers as httpx's send over the same client, one connection reused for all."""
    httpserver.expect_request("/page").respond_with_data("<p>hi</p>", content_type="text/html")
    httpserver.expect_request("/moved").respond_with_data("", status=301, headers={"Location": "/page"})

    async def run() -> list[tuple]:
        async with Fetcher(HttpConfig(allow_private_networks=True)) as fetcher:
            client = fetcher._direct
            outcomes = []
            for path in ("/page", "/moved", "/page"):
                for send in (client_send.send, None):
                    request = client.build_request("GET", httpserver.url_for(path))
                    if send is None:
                        response = await client.send(request, stream=True)
                    else:
                        response = await send(client, request)
                        assert type(response.stream) is HostBody
                    body = await response.aread()
                    await response.aclose()
                    outcomes.append(
                        (
                            response.status_code,
                            response.headers.get("location"),
                            body,
                            hasattr(response, "_elapsed"),  # set when closed, if its stream was still open
                            None if response.next_request is None else str(response.next_request.url),
                        )
                    )
            return outcomes

    outcomes = asyncio.run(run())
    assert outcomes[0::2] == outcomes[1::2]
    assert outcomes[0][2] == b"<p>hi</p>"
    assert outcomes[2][4] == httpserver.url_for("/page")


_header_bytes = st.binary(max_size=10)


@given(
    st.lists(
        st.one_of(
            st.tuples(_header_bytes, _header_bytes),
            st.tuples(st.text(max_size=5), _header_bytes),  # not bytes: left to httpx.Headers
        ),
        max_size=6,
    )
)
def test_byte_headers_are_what_httpx_headers_makes(pairs: list[tuple[Any, bytes]]) -> None:
    try:
        expected = httpx.Headers(pairs)
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            byte_headers(pairs)
        return
    made = byte_headers(pairs)
    assert made._list == expected._list
    assert made.raw == expected.raw and made.encoding == expected.encoding
    assert dict(made.items()) == dict(expected.items())
