"""The HTTP layer every stage shares: one httpx.AsyncClient, guarded against hostile servers.

A feed is input from strangers. So redirects are followed by hand (each hop is checked against the
private-network guard and for loops), the body is read as a stream and cut at a size cap (which also stops a
decompression bomb, since the cap counts decoded bytes), and the whole request runs under one deadline (a
server that drips a byte a second never trips a read timeout). Status codes are returned, not raised: what a
404 means is the caller's business; only failures to get an answer at all raise FetchError.

`file://` URLs are read from disk, for the bundled sample and feeds made by other tools. They are allowed
only where the caller says so (a feed the operator configured as a local file, and that feed's own links),
never for a link that came from a remote feed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import mimetypes
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from scraper import __version__
from scraper.charset import decode
from scraper.config import HttpConfig


class FetchError(Exception):
    """No usable answer. `transient` says whether trying again later may help."""

    transient = True

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{reason} ({url})")
        self.url = url
        self.reason = reason


class BlockedAddressError(FetchError):
    transient = False


class BodyTooLargeError(FetchError):
    transient = False


class RedirectError(FetchError):
    transient = False


class UnsupportedURLError(FetchError):
    transient = False


@dataclass(frozen=True)
class Response:
    url: str
    final_url: str
    status: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def text(self) -> tuple[str, str]:
        """The body decoded (header, BOM, declaration, then detection); returns (text, codec)."""
        return decode(self.content, self.content_type)


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class Fetcher:
    """Shared client for feed polls and page fetches. Use as `async with Fetcher(config) as fetcher`."""

    def __init__(self, config: HttpConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.user_agent = config.user_agent.replace("{version}", __version__)
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
            limits=httpx.Limits(
                max_connections=max(config.concurrency * 2, 10), max_keepalive_connections=20
            ),
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
            follow_redirects=False,
            trust_env=True,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(
        self, url: str, headers: Mapping[str, str] | None = None, *, allow_file: bool = False
    ) -> Response:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "file":
            if not allow_file:
                raise UnsupportedURLError(url, "file URL refused: only local feeds may link to local files")
            return await asyncio.to_thread(_read_file, url, (headers or {}).get("If-Modified-Since"))
        if scheme not in ("http", "https"):
            raise UnsupportedURLError(url, f"unsupported URL scheme {scheme!r}")
        try:
            async with asyncio.timeout(self.config.timeout):
                return await self._get_following_redirects(url, headers or {})
        except TimeoutError:
            raise FetchError(url, f"timed out after {self.config.timeout:g} s") from None
        except httpx.TimeoutException as exc:
            raise FetchError(url, f"timed out ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise FetchError(url, f"{type(exc).__name__}: {exc or 'connection failed'}") from None

    async def _get_following_redirects(self, url: str, headers: Mapping[str, str]) -> Response:
        seen: set[str] = set()
        current = url
        for _ in range(self.config.max_redirects + 1):
            await self._check_address(current)
            seen.add(current)
            request = self._client.build_request("GET", current, headers=headers)
            response = await self._client.send(request, stream=True)
            try:
                if response.is_redirect and "location" in response.headers:
                    target = urljoin(current, response.headers["location"])
                    if urlsplit(target).scheme.lower() not in ("http", "https"):
                        raise RedirectError(url, f"redirect to a non-HTTP URL {target!r}")
                    if target in seen:
                        raise RedirectError(url, f"redirect loop at {target}")
                    current = target
                    continue
                body = await self._read_capped(current, response)
                return Response(url, current, response.status_code, body, dict(response.headers))
            finally:
                await response.aclose()
        raise RedirectError(url, f"more than {self.config.max_redirects} redirects")

    async def _read_capped(self, url: str, response: httpx.Response) -> bytes:
        cap = self.config.max_body_bytes
        declared = response.headers.get("content-length")
        if (
            declared
            and declared.isdigit()
            and int(declared) > cap
            and "content-encoding" not in response.headers
        ):
            raise BodyTooLargeError(url, f"body of {int(declared)} bytes is over the {cap}-byte cap")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise BodyTooLargeError(url, f"body over the {cap}-byte cap (decoded)")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _check_address(self, url: str) -> None:
        if self.config.allow_private_networks:
            return
        parts = urlsplit(url)
        host = parts.hostname
        if not host:
            raise UnsupportedURLError(url, "URL without a host")
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
            )
        except socket.gaierror as exc:
            raise FetchError(url, f"cannot resolve {host}: {exc.strerror}") from None
        for info in infos:
            address = str(info[4][0])
            if not _is_public(address):
                raise BlockedAddressError(
                    url,
                    f"{host} resolves to the non-public address {address}; "
                    "set http.allow_private_networks = true to allow it",
                )


def _read_file(url: str, if_modified_since: str | None = None) -> Response:
    """A local file as an HTTP-like answer; its mtime serves as Last-Modified, so polls are conditional."""
    path = Path(unquote(urlsplit(url).path))
    try:
        last_modified = formatdate(path.stat().st_mtime, usegmt=True)
        if if_modified_since == last_modified:
            return Response(url, url, 304, b"", {"last-modified": last_modified})
        body = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return Response(url, url, 404, b"")
    except PermissionError:
        return Response(url, url, 403, b"")
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Response(url, url, 200, body, {"content-type": content_type, "last-modified": last_modified})
