"""Values from strangers, checked where they enter: one bad value costs its entry, never the run.

A feed, a sitemap or a page can hold anything: a NUL (PostgreSQL refuses it in text), a lone surrogate
(no UTF-8 encoder takes it), a port of 99999, a `javascript:` link, a `<ttl>` of twenty digits, a date in
year 100. Left alone, each fails far from where it came in: in the database driver, in the whole batch it
was written with, on every later run. So every value from a remote document passes through here before it
is queued or stored: text is made storable, URLs are refused with a reason, integers are clamped, and
implausible dates are dropped.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import idna

from scraper import errors
from scraper.errors import RefusedValueError

if TYPE_CHECKING:
    from scraper.extract.record import Record

MAX_URL_CHARS = 2048  # the URL columns' width
MAX_GUID_CHARS = 2048
MAX_GUID_BYTES = 2048  # in UTF-8: PostgreSQL's B-tree entries stop at 2,704 bytes
MAX_LANG_CHARS = 32
MAX_ETAG_CHARS = 1024  # the validator columns' widths (feeds.etag, articles.page_etag)
MAX_LAST_MODIFIED_CHARS = 128
WEB_SCHEMES = ("http", "https")

# Characters no URL holds as written: controls, spaces, DEL, and what only a hostile document puts there.
_NOT_IN_URL = re.compile("[\x00-\x20\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff\u2028\u2029]")
_URL_WHITESPACE = re.compile("[\t\n\r]")
# httpx's test for a host it reads as an IPv4 address (httpx._urlparse.IPv4_STYLE_HOSTNAME), which it
# then refuses (InvalidURL) unless ipaddress takes it: 0177.0.0.1, 127.000.000.001, 256.1.1.1.
_HTTPX_IPV4_STYLE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")

# The patterns only a document's values need (its text, references, numbers, dates) are compiled when first
# used, by the cached getters below: the fetcher and the poller import this module, and a run whose feeds
# all answer 304 reads no document.


@cache
def _char_ref() -> re.Pattern[str]:
    """A numeric character reference in XML/HTML text, with or without its semicolon."""
    return re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));?")


def storable_text(text: str | None) -> str | None:
    """`text` as every database and encoder takes it (scraper.errors.storable_text), None kept."""
    return None if text is None else errors.storable_text(text)


def one_line(text: str | None) -> str | None:
    """A title or an author as one line of text: whitespace runs made one space, and control characters
    (C0, DEL, C1) dropped, since no title means one and some act on a terminal or a page (`&#x9B;`,
    the CSI, is valid XML); None when nothing is left. Storable too."""
    if text is None:
        return None
    text = " ".join(_controls().sub("", storable_text(text) or "").split())
    return text or None


@cache
def _controls() -> re.Pattern[str]:
    return re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tabs and line breaks are spaces


def valid_code_point(value: int) -> bool:
    """A character XML may reference: not NUL, not a surrogate, not beyond Unicode."""
    return 0 < value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF


def defuse_char_refs(text: str) -> str:
    """Numeric references to no character (`&#0;`, `&#xD800;`, `&#x110000;`, twenty digits) become
    U+FFFD's reference: feedparser turns them into characters it then fails to encode."""

    def one(match: re.Match[str]) -> str:
        digits = match.group(1) or match.group(2)
        if len(digits) > 8:
            return "&#xFFFD;"
        value = int(digits, 16 if match.group(1) else 10)
        return match.group(0) if valid_code_point(value) else "&#xFFFD;"

    return _char_ref().sub(one, text)


def defuse_char_ref_bytes(data: bytes) -> bytes:
    """defuse_char_refs on an XML document still in bytes (a sitemap, parsed from bytes so its own
    declaration names its encoding): one `&#0;` stopped the parser, and every entry after it was lost.
    Only ASCII-compatible encodings hold the references as these bytes; the rest parse as before."""

    def one(match: re.Match[bytes]) -> bytes:
        return defuse_char_refs(match.group(0).decode("ascii")).encode("ascii")

    return _char_ref_bytes().sub(one, data)


@cache
def _char_ref_bytes() -> re.Pattern[bytes]:
    return re.compile(rb"&#(?:[xX][0-9a-fA-F]+|[0-9]+);?")


MAX_LASTMOD_CHARS = 64  # the document journal's lastmod column


def journal_lastmod(lastmod: str | None) -> str | None:
    """A sitemap child's `<lastmod>` as the journal keeps it to tell a changed child: as written when it
    fits its column and is storable, else a digest of it (still equal only to itself); 200 characters
    made the row unstorable on PostgreSQL and stopped the whole backfill."""
    if not lastmod:
        return None
    if len(lastmod) <= MAX_LASTMOD_CHARS and storable_text(lastmod) == lastmod:
        return lastmod
    return hashlib.sha256(lastmod.encode("utf-8", "surrogatepass")).hexdigest()[:MAX_LASTMOD_CHARS]


def checked_url(url: str, *, allow_file: bool = False) -> str:
    """The URL, stripped, if the archive may fetch and link it; else RefusedValueError saying why.

    Only http(s) enters the queue (a `javascript:` or `data:` link would become a clickable link in the
    post), and `file:` only where the document that gave it is a local file the config names.
    """
    # As browsers read a link: tabs and line breaks inside it dropped, a space written as %20.
    url = _URL_WHITESPACE.sub("", url.strip()).replace(" ", "%20")
    if not url:
        raise RefusedValueError("empty URL")
    if len(url) > MAX_URL_CHARS:
        raise RefusedValueError(f"URL longer than {MAX_URL_CHARS} characters")
    bad = _NOT_IN_URL.search(url)
    if bad:
        raise RefusedValueError(f"URL holds the character U+{ord(bad.group(0)):04X}: {_shown(url)}")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on 99999, -1, full-width digits
    except ValueError as exc:
        raise RefusedValueError(f"unusable URL ({exc}): {_shown(url)}") from None
    scheme = parts.scheme.lower()
    if scheme == "file":
        if not allow_file:
            raise RefusedValueError(
                f"file URL refused: only a local feed the config names may give one: {_shown(url)}"
            )
        if parts.netloc not in ("", "localhost"):
            raise RefusedValueError(f"file URL of another host: {_shown(url)}")
        return url
    if scheme not in WEB_SCHEMES:
        raise RefusedValueError(
            f"URL scheme {scheme or 'none'!r} refused (only http and https): {_shown(url)}"
        )
    host = parts.hostname or ""
    if not host:
        raise RefusedValueError(f"URL without a host: {_shown(url)}")
    if port == 0:
        raise RefusedValueError(f"URL with port 0: {_shown(url)}")
    if _HTTPX_IPV4_STYLE.fullmatch(host) and not _ipv4(host):  # httpx: InvalidURL, which is no FetchError
        raise RefusedValueError(f"URL host is not a valid IPv4 address: {_shown(url)}")
    if not _resolvable(host):
        raise RefusedValueError(f"URL host is not a valid domain name: {_shown(url)}")
    return url


def _ipv4(host: str) -> bool:
    """Whether ipaddress reads the host as an IPv4 address (four decimal octets, no leading zero)."""
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def _resolvable(host: str) -> bool:
    """Whether every layer of a fetch takes the host: an IP literal, or a name whose ASCII form httpx
    builds (IDNA 2008 for a non-ASCII name; a leading `xn--` label must decode, as httpx reads it back),
    with labels of 1 to 63 octets and 253 in all (RFC 1035), which the resolver's codec checks too.
    Past that, httpx or getaddrinfo raise on the name (an "internal error" each run), or every try
    fails "cannot resolve" and is retried eight times: the entry is refused at once instead."""
    if ":" in host:  # an IPv6 literal; urlsplit has checked its brackets
        return True
    try:
        if host.isascii():
            name = host.encode("ascii")
            if host.lower().startswith("xn--"):
                idna.decode(host)
        else:
            name = idna.encode(host.lower())
    except UnicodeError:  # idna.IDNAError is one
        return False
    labels = name.removesuffix(b".").split(b".")
    return len(name.removesuffix(b".")) <= 253 and all(0 < len(label) <= 63 for label in labels)


def validator(value: str | None, limit: int) -> str | None:
    """An ETag or Last-Modified a server sent, if it can be stored and sent back as it came (If-None-Match,
    If-Modified-Since: printable ASCII, as httpx encodes a header), else None. A byte past ASCII (Latin-1
    as httpx decodes it) was stored, then failed every later request of its feed or page as an internal
    error; a value wider than its column failed its page's outcome on PostgreSQL."""
    if value is None or not (value.isascii() and value.isprintable()):
        return None
    return fitting_text(value, limit)


def fitting_text(value: str | None, limit: int) -> str | None:
    """A short value a server sent (a validator header) if it fits its column and is storable, else None:
    a cut ETag would only be a wrong one."""
    if value is None or len(value) > limit or storable_text(value) != value:
        return None
    return value


def media_type(value: str | None) -> str | None:
    """A Content-Type header as the archive reads and keeps it: `type/subtype`, and its charset if it
    names one, in lower case; None if the header is no media type. The header is the server's to write:
    400 characters of parameters, a charset of 300 letters or a C1 control made the page's row
    unstorable (raw_pages.content_type holds 256), and a reason quoted it whole."""
    if not value:
        return None
    media, *params = value.split(";")
    media = media.strip().lower()
    if not _MEDIA_TYPE.match(media):
        return None
    for param in params:
        name, _, label = param.partition("=")
        label = label.strip().strip("\"'").lower()
        if name.strip().lower() == "charset" and _CHARSET_LABEL.match(label):
            return f"{media}; charset={label}"
    return media


_TOKEN = r"[!#$%&'*+.^_`|~0-9a-z-]"
_MEDIA_TYPE = re.compile(rf"^{_TOKEN}{{1,100}}/{_TOKEN}{{1,100}}\Z")  # 201 + "; charset=" + 40 <= 256
_CHARSET_LABEL = re.compile(rf"^{_TOKEN}{{1,40}}\Z")


def clamped_int(value: object, low: int, high: int) -> int | None:
    """An integer a server sent (a ttl, a count), within [low, high]; None if it is not one."""
    text = str(value).strip() if value is not None else ""
    if not _integer().match(text):
        return None
    if len(text.lstrip("+-")) > 18:  # past any bound we use, and int() of thousands of digits is refused
        return low if text.startswith("-") else high
    return min(high, max(low, int(text)))


@cache
def _integer() -> re.Pattern[str]:
    return re.compile(r"^[+-]?[0-9]+$")


def plausible_date(when: datetime | None, now: datetime | None = None) -> datetime | None:
    """`when` if a news archive can believe it (scraper.extract.dates.plausible: not before 1990, not
    tomorrow or later), else None: the article then takes the date it was found."""
    if when is None:
        return None
    # Imported here: the fetcher and the poller import this module, and a run with nothing new parses no
    # date (the date parser's patterns are compiled at its import).
    from scraper.extract.dates import plausible

    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when if plausible(when, now) else None


def names_that_day(written: str | None, parsed: datetime) -> bool:
    """Whether a feed's date as written (ISO 8601 `YYYY-MM-DD`, or RFC 822 `DD Mon YYYY`) names a real
    day and time, within a day of what the parser made of it (a zone moves the day by one at most).
    feedparser rolls what no calendar has over: 2024-02-30 became 1 March, 2021-13-45T99:99 the next
    year, `-0001` the year 2000, an offset of +9999 five days back. Other formats are the parser's."""
    if not written:
        return True
    iso, rfc = _iso_day().search(written), _rfc_day().search(written)
    if iso:
        sign, year, month, day, hour, minute = iso.groups()
    elif rfc:
        day, name, sign, year, hour, minute = rfc.groups()
        month = str(_MONTHS.index(name.lower()) + 1) if name.lower() in _MONTHS else "0"
    else:
        return True
    if sign or int(hour or 0) > 23 or int(minute or 0) > 59:
        return False
    try:
        named = datetime(int(year), int(month), int(day), tzinfo=UTC)
    except ValueError:
        return False
    return abs((parsed.astimezone(UTC).date() - named.date()).days) <= 1


@cache
def _iso_day() -> re.Pattern[str]:
    return re.compile(r"(?<![\d])(-?)(\d{4,})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{1,2}))?")


@cache
def _rfc_day() -> re.Pattern[str]:
    return re.compile(r"\b(\d{1,2})\s+([A-Za-z]{3})[A-Za-z]*\.?\s+(-?)(\d{4,})(?:\s+(\d{1,2}):(\d{1,2}))?")


_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


def fitting_guid(guid: str | None) -> str | None:
    """A GUID that fits its column and its index; a longer one keeps its head and a hash of the whole, so
    two long GUIDs sharing a head stay two.

    By characters (the column's width) and by UTF-8 bytes: PostgreSQL refuses a B-tree entry over 2,704
    bytes, and 2,000 CJK characters are 6,000 (the INSERT then failed the whole poll, every time). An
    ASCII GUID is as before; a longer non-ASCII one is still found by its link, so it is not queued twice."""
    guid = storable_text(guid)
    if guid is None or (
        len(guid) <= MAX_GUID_CHARS and (guid.isascii() or len(guid.encode("utf-8")) <= MAX_GUID_BYTES)
    ):
        return guid
    encoded = guid.encode("utf-8")
    digest = hashlib.sha256(encoded).hexdigest()
    room = min(MAX_GUID_CHARS, MAX_GUID_BYTES) - len(digest) - 1
    head = encoded[:room].decode("utf-8", "ignore")[:room]  # whole characters only
    return f"{head}#{digest}"


def storable_record(record: Record) -> Record:
    """The extracted record as the database takes it (a page's JSON-LD can hold a lone surrogate)."""
    return replace(
        record,
        title=one_line(record.title),
        author=one_line(record.author),
        lang=(storable_text(record.lang) or "")[:MAX_LANG_CHARS] or None,
        html=storable_text(record.html) or "",
        text=storable_text(record.text) or "",
        canonical_url=storable_text(record.canonical_url),
        description=storable_text(record.description),
        image=storable_text(record.image),
        published=plausible_date(record.published),
    )


def _shown(url: str, limit: int = 200) -> str:
    """The URL as an error message shows it: escaped, and cut."""
    shown = url.encode("unicode_escape").decode("ascii")
    return shown if len(shown) <= limit else shown[:limit] + "…"
