"""Local HTTP servers for tests, on loopback addresses only: tests never reach the internet.

Two kinds, each stopped when its block ends, whatever the block raised: a pytest-httpserver (werkzeug)
answering the requests a test expects, per path; and the standard library's ThreadingHTTPServer with a
handler class, for answers werkzeug would not write (or a TLS socket). Their threads poll for the stop
every 0.05 s (the library's default is 0.5 s, added to each test that stops one).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

from pytest_httpserver import HTTPServer


@contextmanager
def httpserver_on(host: str = "127.0.0.1", *, threaded: bool = True) -> Iterator[HTTPServer]:
    """A started pytest-httpserver on `host` (127.0.0.2 for a second host) and a free port, cleared
    and stopped at the end. Threaded by default: a slow answer must not hold up the others."""
    server = HTTPServer(host=host, port=0, threaded=threaded)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


@contextmanager
def handler_server(
    handler: type[BaseHTTPRequestHandler], wrap: Callable[[socket.socket], socket.socket] | None = None
) -> Iterator[ThreadingHTTPServer]:
    """`handler` answering on 127.0.0.1 and a free port (`server_address[1]`) in a daemon thread;
    `wrap` replaces the listening socket first (an SSL context's `wrap_socket`)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if wrap is not None:
        server.socket = wrap(server.socket)
    Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
