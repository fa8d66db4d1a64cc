"""Canonical URLs: the key that says two links are one article.

Feeds decorate links with campaign parameters and fragments, and the same story reaches several feeds with
different decorations; archiving it twice is a defect. The canonical form drops tracking parameters and the
fragment, lower-cases scheme and host, drops the default port, and keeps everything else as the site wrote
it (paths and real query parameters can be case- and order-sensitive).
"""

from __future__ import annotations

import contextlib
import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "ga_", "hmb_", "pk_", "mtm_", "matomo_", "at_", "vero_", "__hs", "_hs")
_TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "_openstat",
        "wt.mc_id",
        "wt_mc_id",
        "cmpid",
        "ocid",
        "ref_src",
        "spm",
        "share_token",
        "isappinstalled",
        "scene",
        "srcid",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class CheckedURL(str):
    """A URL that scraper.sanitize.checked_url passed, as it returned it, where the URL entered (a feed's
    URL, checked once by the poll stage that polls it again and again): the fetcher, given one, does
    not judge it a second time. Its value is the plain string's; only its type says it was checked."""

    __slots__ = ()


_UNSAFE_PATH_CHARS = re.compile(r"[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]")


def is_tracking_parameter(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The dedupe key of a link. Idempotent: canonical_url(canonical_url(u)) == canonical_url(u).

    Raises ValueError for a link urllib cannot read (a port of 99999, an unclosed `[`): the queue checks
    links first (scraper.sanitize.checked_url), so there it never does."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "file":  # as written: urlunsplit would make `file:////abs` into `file://abs`
        return f"file://{parts.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")
    if scheme not in ("http", "https"):
        return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))
    host = (parts.hostname or "").rstrip(".")
    if host and not host.isascii():
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    host = host.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host
    if parts.port and parts.port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}{':' + parts.password if parts.password else ''}@{netloc}"
    path = _UNSAFE_PATH_CHARS.sub(lambda m: quote(m.group(0)), parts.path) or "/"
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_parameter(k)
    ]
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True, safe="/:@,;!$'()*"), ""))


def unmangled_file_url(url: str) -> str:
    """`file:///abs` as written, where feedparser made it `file://abs` (it strips the slashes after
    `://` of every link it reads). A file URL naming a host other than localhost is read as that path."""
    if url[:7].lower() != "file://":
        return url
    host = url[7:].split("/", 1)[0]
    if host in ("", "localhost"):
        return url
    return f"file:///{url[7:]}"
