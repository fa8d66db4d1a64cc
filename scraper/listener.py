"""The daemon's HTTP listener: `/healthz` for container health checks, `/metrics` for Prometheus.

Served from its own thread, so a scrape or a health check never waits on the daemon's event loop, and a
wedged event loop still shows up: the health check asks the daemon when its jobs last ran, not just
whether it exists.

Bounded whatever clients do (a port scanner, a thousand idle connections, a client that sends one byte a
minute): one asyncio loop holds every connection (no thread per connection); a client has
`request_timeout` seconds to send its request and `write_timeout` to take the answer, then it is cut off;
at most `max_connections` are open at once, and when a new one comes the oldest that has not sent its
request yet is closed to make room (so idle connections can never lock out the health check). One request
per connection (`Connection: close`). The app (the health check may ask the database) runs in a small
pool of threads, never on the listener's loop.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prometheus_client import CollectorRegistry, make_wsgi_app

from scraper.config import parse_listen

log = logging.getLogger(__name__)

# (healthy, details): details become the JSON body; when unhealthy it holds "reasons".
HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]
WsgiApp = Callable[..., Iterable[bytes]]

MAX_CONNECTIONS = 64
REQUEST_TIMEOUT = 5.0
WRITE_TIMEOUT = 10.0
MAX_REQUEST_HEAD = 16 * 1024
APP_THREADS = 2


def make_app(registry: CollectorRegistry, health: HealthCheck) -> WsgiApp:
    metrics_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics_app(environ, start_response)
        if path == "/healthz":
            try:
                healthy, details = health()
            except Exception as exc:  # the check itself broke: that is unhealthy, and says why
                healthy, details = False, {"reasons": [f"health check failed: {type(exc).__name__}: {exc}"]}
            body = json.dumps({"status": "ok" if healthy else "unhealthy", **details}).encode()
            status = "200 OK" if healthy else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        body = b"not found: try /healthz or /metrics\n"
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def _environ(head: bytes, server: tuple[str, int]) -> dict[str, Any] | None:
    """The WSGI environ of a request head, or None if it is not HTTP/1.x."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None
    method, target, version = parts
    path, _, query = target.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": version,
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep and name.strip():
            environ["HTTP_" + name.strip().upper().replace("-", "_")] = value.strip()
    return environ


def _call(app: WsgiApp, environ: dict[str, Any]) -> bytes:
    """Run the app; the whole answer as bytes (closed after one request)."""
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], _exc_info: Any = None) -> None:
        answer["status"], answer["headers"] = status, headers

    body = b"".join(app(environ, start_response))
    headers = [(k, v) for k, v in answer["headers"] if k.lower() not in ("content-length", "connection")]
    headers += [("Content-Length", str(len(body))), ("Connection", "close")]
    head = f"HTTP/1.1 {answer['status']}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("latin-1") + (b"" if environ["REQUEST_METHOD"] == "HEAD" else body)


class Listener:
    """Serves the app on `listen` (host:port; port 0 picks a free one) until `stop()`. The address is
    bound at once, so a taken one fails here, before the daemon starts its work."""

    def __init__(
        self,
        listen: str,
        registry: CollectorRegistry,
        health: HealthCheck,
        *,
        max_connections: int = MAX_CONNECTIONS,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        host, port = parse_listen(listen)
        self._app = make_app(registry, health)
        self._max = max_connections
        self._request_timeout = request_timeout
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind((host, port))
            self._socket.listen(128)
            self._socket.setblocking(False)
        except OSError:
            self._socket.close()
            raise
        self._loop = asyncio.new_event_loop()
        self._pool = ThreadPoolExecutor(APP_THREADS, thread_name_prefix="scraper-listener-app")
        # Open connections in arrival order; True once the request is in (no longer evictable).
        self._connections: dict[asyncio.StreamWriter, bool] = {}
        self._server: asyncio.Server | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scraper-listener", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()
        self._started.wait(5)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._socket.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, sock=self._socket, limit=MAX_REQUEST_HEAD)
            )
            self._started.set()
            self._loop.run_forever()
        finally:
            self._started.set()
            for writer in list(self._connections):
                writer.transport.abort()
            if self._server is not None:
                self._server.close()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    def _admit(self, writer: asyncio.StreamWriter) -> bool:
        """Make room for a new connection: close the oldest still waiting for its request."""
        if len(self._connections) >= self._max:
            idle = next((w for w, busy in self._connections.items() if not busy), None)
            if idle is None:
                return False  # every slot is answering a request: the newcomer waits for none
            self._connections.pop(idle)
            idle.transport.abort()
        self._connections[writer] = False
        return True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._admit(writer):
            writer.transport.abort()
            return
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self._request_timeout)
            environ = _environ(head, self.address)
            if environ is None:
                return
            self._connections[writer] = True
            answer = await self._loop.run_in_executor(self._pool, _call, self._app, environ)
            writer.write(answer)
            await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)
            log.debug("listener: %s %s", environ["REQUEST_METHOD"], environ["PATH_INFO"])
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # too slow, too big, or gone: cut off
        except ValueError:  # a head over the limit (StreamReader raises it for readuntil)
            pass
        finally:
            self._connections.pop(writer, None)
            writer.close()
