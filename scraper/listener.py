"""The daemon's HTTP listener: `/healthz` for container health checks, `/metrics` for Prometheus.

A WSGI app served from a thread by the standard library's wsgiref (as prometheus-client's own
`start_http_server` does), so a scrape or a health check never waits on the event loop, and a wedged event
loop still shows up: the health check asks the daemon when its jobs last ran, not just whether it exists.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from scraper.config import parse_listen

log = logging.getLogger(__name__)

# (healthy, details): details become the JSON body; when unhealthy it holds "reasons".
HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    """Access lines at debug level, through logging (a Prometheus scrape every 15 s is no news)."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("listener: " + format, *args)


def make_app(registry: CollectorRegistry, health: HealthCheck) -> Callable[..., Iterable[bytes]]:
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


class Listener:
    """Serves the app on `listen` (host:port; port 0 picks a free one) until `stop()`."""

    def __init__(self, listen: str, registry: CollectorRegistry, health: HealthCheck) -> None:
        host, port = parse_listen(listen)
        server_class = _Server6 if ":" in host else _Server
        self._server = make_server(
            host, port, make_app(registry, health), server_class=server_class, handler_class=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="scraper-listener", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
