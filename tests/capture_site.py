"""A loopback site for the capture tests: a feed and article pages served in the ways that matter to a
WARC (gzip, chunked, a redirect, a charset), remembering the exact bytes of each body it sent."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Response as WResponse

from tests.conftest import write_config


def page(title: str, words: str) -> str:
    paragraphs = "".join(f"<p>{words} {i}: {title} {words}</p>" for i in range(4))
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    )


def rss(base: str, paths: list[str]) -> str:
    items = "".join(
        f"<item><title>t{i}</title><link>{base}{path}</link><guid>g{i}</guid>"
        "<pubDate>Wed, 29 Sep 2021 23:11:00 +0800</pubDate></item>"
        for i, path in enumerate(paths)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


class CaptureSite:
    """`sent[path]`: the body bytes the server sent for `path` (compressed where it compressed)."""

    ARTICLES = ("/a/plain", "/a/gzip", "/a/chunked", "/a/moved", "/a/big5")

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.sent: dict[str, bytes] = {}
        base = server.url_for("").rstrip("/")
        self._serve("/feed.xml", rss(base, list(self.ARTICLES)).encode(), "application/rss+xml")
        self._serve("/a/plain", page("Plain page", "plain words here").encode(), "text/html; charset=utf-8")
        zipped = gzip.compress(page("Zipped page", "compressed words é ü").encode())
        self._serve("/a/gzip", zipped, "text/html; charset=utf-8", {"Content-Encoding": "gzip"})
        chunked = page("Chunked page", "streamed words").encode()
        self.sent["/a/chunked"] = chunked
        server.expect_request("/a/chunked").respond_with_response(
            WResponse(_in_parts(chunked), content_type="text/html; charset=utf-8")
        )
        self.sent["/a/moved"] = b"moved"
        server.expect_request("/a/moved").respond_with_response(
            WResponse(b"moved", status=301, headers={"Location": "/a/new"})
        )
        self._serve("/a/new", page("Moved page", "moved words").encode(), "text/html; charset=utf-8")
        big5 = page("繁體中文頁", "這是一篇繁體中文的新聞文章").encode("big5")
        self._serve("/a/big5", big5, "text/html; charset=big5")

    def _serve(self, path: str, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.sent[path] = body
        self.server.expect_request(path).respond_with_response(
            WResponse(body, content_type=content_type, headers=extra or {})
        )

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    def config(self, folder: Path, **warc: object) -> Path:
        return write_config(
            folder,
            [{"name": "Site", "url": self.url("/feed.xml")}],
            warc={"dir": "warc", **warc},
        )


def _in_parts(body: bytes) -> Iterator[bytes]:
    """A generator body: sent without a Content-Length, to the connection's close."""
    for start in range(0, len(body), 100):
        yield body[start : start + 100]
