"""`client.send(request, stream=True)` for the fetcher's httpx clients, without the layers its requests
never use.

httpx sends every request through an auth flow (an async generator, even with no auth), a redirect loop
(a coroutine, even when redirects are not followed), a request context (a context manager) and the
transport call (a coroutine): four frames and a generator around the one call that does the work, and
an INFO log line whose arguments are built before the logger finds INFO off. The fetcher's clients have
no auth, no request hooks and follow no redirects (scraper.fetch follows them by hand), so for a URL
without credentials in it `send` does here what httpx's does, in one frame: the same transport, the
same response (its request, its stream bound to it, its cookies handed to the client's jar, its default
encoding), the same response hooks (scraper.fetch's Location check), and for a redirect the next request
built as httpx builds it (whose refusals, an unusable Location, stay the same). Anything else (a client
with auth or request hooks, credentials in the URL, a client following redirects) goes to httpx's own
send. tests/test_client_send.py holds the two equal.
"""

from __future__ import annotations

import logging
import time

import httpx
from httpx._client import BoundAsyncStream, ClientState
from httpx._client import logger as httpx_logger

from scraper.pools import HostBody


def plain(client: httpx.AsyncClient, request: httpx.Request) -> bool:
    """Whether httpx's send would add nothing to this request: no auth of the client's or of the URL's
    (httpx makes a Basic auth of a URL's user and password), no request hook, no redirect followed."""
    return (
        client._auth is None
        and not client.follow_redirects
        and not client._event_hooks["request"]
        and not request.url.userinfo
    )


async def send(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """The answer's head, its body left to stream: httpx's `client.send(request, stream=True)`."""
    if not plain(client, request):
        return await client.send(request, stream=True)
    if client._state == ClientState.CLOSED:
        raise RuntimeError("Cannot send a request, as the client has been closed.")
    client._state = ClientState.OPENED
    client._set_timeout(request)
    if not isinstance(request.stream, httpx.AsyncByteStream):
        raise RuntimeError("Attempted to send an sync request with an AsyncClient instance.")
    transport = client._transport_for_url(request.url)
    start = time.perf_counter()
    try:
        response = await transport.handle_async_request(request)
    except httpx.RequestError as exc:  # as httpx's request_context: the error names its request
        exc.request = request
        raise
    response.request = request
    stream = response.stream
    if type(stream) is HostBody:  # the transport's stream, bound itself (one stream less per chunk)
        stream.bind(response, start)
    else:
        response.stream = BoundAsyncStream(stream, response=response, start=start)  # type: ignore[arg-type]
    client.cookies.extract_cookies(response)
    response.default_encoding = client._default_encoding
    if httpx_logger.isEnabledFor(logging.INFO):
        httpx_logger.info(
            'HTTP Request: %s %s "%s %d %s"',
            request.method,
            request.url,
            response.http_version,
            response.status_code,
            response.reason_phrase,
        )
    try:
        for hook in client._event_hooks["response"]:
            await hook(response)
        response.history = []
        if response.has_redirect_location:  # not followed: built for its refusals, as httpx does
            response.next_request = client._build_redirect_request(request, response)
    except BaseException:
        await response.aclose()
        raise
    return response
