"""A real threaded HTTP/1.1 server on a loopback address that misbehaves on purpose, route by route.

pytest-httpserver (werkzeug) answers politely by design; here each route is a function writing raw bytes
to the socket, so a test can drip, never stop, reset the connection, or lie in its headers. Every answer
closes the connection. `hits` counts requests per path, so tests can see retries happen (or not).
"""

from __future__ import annotations

import gzip
import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from scraper.store.db import make_engine, session_factory
from scraper.store.models import Article

Handler = Callable[[socket.socket, "Request"], None]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]  # names in lower case


def _read_request(sock: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    request_line, *lines = head.split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    if "://" in target:  # absolute form: we are being used as a proxy
        target = "/" + target.split("://", 1)[1].split("/", 1)[-1]
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Request(method, target.split("?", 1)[0], headers)


def head(status: int, headers: Mapping[str, str] | None = None, length: int | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", "Connection: close"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(status: int, body: bytes | str = b"", headers: Mapping[str, str] | None = None) -> Handler:
    data = body.encode() if isinstance(body, str) else body

    def handler(sock: socket.socket, request: Request) -> None:
        sock.sendall(head(status, headers, len(data)) + data)

    return handler


def html(body: bytes | str, content_type: str = "text/html; charset=utf-8") -> Handler:
    return respond(200, body, {"Content-Type": content_type})


def drip(body: bytes, every: float, content_type: str = "application/rss+xml") -> Handler:
    """One byte every `every` seconds: never slow enough for a read timeout, never done in time."""

    def handler(sock: socket.socket, request: Request) -> None:
        sock.sendall(head(200, {"Content-Type": content_type}, len(body)))
        for i in range(len(body)):
            sock.sendall(body[i : i + 1])
            time.sleep(every)

    return handler


def endless(content_type: str = "text/html") -> Handler:
    """A body that never ends (no length, no chunk end), as fast as the client takes it."""
    block = b"<p>" + b"more " * 13000 + b"</p>\n"

    def handler(sock: socket.socket, request: Request) -> None:
        sock.sendall(head(200, {"Content-Type": content_type}))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            sock.sendall(block)

    return handler


def gzip_bomb(decoded_bytes: int, content_type: str = "application/rss+xml") -> Handler:
    """A small gzip body that inflates to `decoded_bytes` of zeros."""
    bomb = gzip.compress(b"\0" * decoded_bytes, compresslevel=9)

    def handler(sock: socket.socket, request: Request) -> None:
        headers = {"Content-Type": content_type, "Content-Encoding": "gzip"}
        sock.sendall(head(200, headers, len(bomb)) + bomb)

    return handler


def redirect(location: str, status: int = 302) -> Handler:
    return respond(status, b"", {"Location": location})


def reset() -> Handler:
    """Read the request, then drop the connection with a TCP RST (SO_LINGER 0), answering nothing."""

    def handler(sock: socket.socket, request: Request) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    return handler


def sequence(*handlers: Handler) -> Handler:
    """The n-th request gets the n-th handler; the last one answers every request after that."""
    count = 0
    lock = threading.Lock()

    def handler(sock: socket.socket, request: Request) -> None:
        nonlocal count
        with lock:
            chosen = handlers[min(count, len(handlers) - 1)]
            count += 1
        chosen(sock, request)

    return handler


class HostileServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[Request] = []
        server = self

        class _Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                try:
                    request = _read_request(sock)
                    if request is None:
                        return
                    server.hits[request.path] += 1
                    server.requests.append(request)
                    route = server.routes.get(request.path, respond(404, "no such route"))
                    route(sock, request)
                except OSError:
                    pass  # the client gave up (timeouts, caps): exactly what the tests provoke

        class _Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = _Server((host, 0), _Handler)
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    @contextmanager
    def running(self) -> Iterator[HostileServer]:
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


def articles_of(tmp_path: Path) -> dict[str, Article]:
    """The articles a run left in `tmp_path`'s archive.db, by GUID (the hostile feeds name each item's
    case by its GUID)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    with session_factory(engine)() as session:
        found = {a.guid or "": a for a in session.scalars(select(Article))}
    engine.dispose()
    return found
