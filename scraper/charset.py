"""Turn the bytes of a page or feed into text.

Chinese, Japanese and Korean sources often serve GBK, Big5 or Shift_JIS without saying so, or say the
wrong thing: most often "iso-8859-1" (a server default) on a GBK page, or a `<meta>` copied from another
site. The order of trust:

1. a byte-order mark, or the NULs of UTF-16 or UTF-32 without one;
2. valid UTF-8 with non-ASCII in it, whatever the labels say (that never happens by accident);
3. the HTTP header, then what the document declares (`<meta charset>`, `http-equiv`, the XML
   declaration), each only if it decodes the bytes cleanly *and* charset-normalizer finds the result
   plausible text (a single-byte label decodes any bytes, and EUC-KR decodes cleanly as EUC-JP: the
   plausibility check is what catches those);
4. charset-normalizer's guess; among equally good Western guesses, windows-1252 (the web's default).

The check in 3 costs a detector pass, so it runs only for non-UTF-8 labels on non-ASCII bodies.
"""

from __future__ import annotations

import codecs
import re
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from charset_normalizer import CharsetMatches

# Labels that name a subset of what sites actually send: decode with the superset.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
}

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


# The patterns read a body's labels: compiled when a body is first decoded (a run of 304s decodes none).
@cache
def _header_charset() -> re.Pattern[str]:
    return re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)


@cache
def _declarations() -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """An XML declaration's encoding, and an HTML `<meta>` charset."""
    return (
        re.compile(rb"^\s*<\?xml[^>]+encoding\s*=\s*[\"']([\w.:-]+)[\"']", re.I),
        re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I),
    )


# How far into the document a declaration is looked for (the HTML spec says 1024; real pages are sloppier).
_SNIFF_BYTES = 4096
# How much of a body charset-normalizer reads (enough for any page; it is the costly step).
_DETECT_BYTES = 64 * 1024


def normalise_label(label: str | None) -> str | None:
    """The Python codec to use for a charset label, or None if Python does not know it."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _SUPERSETS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _header_charset().search(content_type)
    return match.group(1) if match else None


def declared_charset(body: bytes) -> str | None:
    """The charset the document itself declares in its first bytes."""
    head = body[:_SNIFF_BYTES]
    xml_encoding, meta_charset = _declarations()
    match = xml_encoding.search(head) or meta_charset.search(head)
    return match.group(1).decode("ascii", "replace") if match else None


def _try(body: bytes, label: str | None) -> str | None:
    codec = normalise_label(label)
    if codec is None:
        return None
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _detect(body: bytes, **options: Any) -> CharsetMatches:
    """charset-normalizer over the start of `body`. Imported here, when a body needs it: a cron run whose
    feeds answer 304 decodes nothing and does not load the detector (issue 15)."""
    from charset_normalizer import from_bytes

    return from_bytes(body[:_DETECT_BYTES], **options)


def _plausible(body: bytes, codec: str) -> bool:
    """Is `body` read as `codec` text rather than mojibake, by charset-normalizer's measure of mess?

    Rejected outright, or messier than what the detector finds on its own: not plausible.
    """
    match = _detect(body, cp_isolation=[codec]).best()
    if match is None:
        return False
    if match.chaos == 0:
        return True
    best = _detect(body).best()
    return best is None or best.chaos >= match.chaos


def _guess(body: bytes) -> str | None:
    results = list(_detect(body))
    if not results:
        return None
    best = results[0]
    ties = {
        normalise_label(r.encoding)
        for r in results
        if r.chaos == best.chaos and r.coherence == best.coherence
    }
    if "cp1252" in ties:
        return "cp1252"
    return normalise_label(best.encoding) or best.encoding


def detect_charset(body: bytes, content_type: str | None = None) -> str:
    """The codec that decodes `body`, by the order of trust above."""
    return _sniff(body, content_type)[0]


def _sniff(body: bytes, content_type: str | None) -> tuple[str, bool]:
    """`detect_charset`, and whether the body's bytes (after a UTF-8 BOM) read as UTF-8 are already the
    text that codec gives: valid UTF-8 decoded as UTF-8, or ASCII under a codec that keeps ASCII as is."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec, codec == "utf-8-sig" and _valid_utf8(body[len(bom) :])
    wide = _wide_without_bom(body)
    if wide is not None:
        return wide, False
    labels = [charset_from_content_type(content_type), declared_charset(body)]
    if body.isascii():
        found = next(
            (normalise_label(label) for label in labels if label and _try(body, label) is not None), None
        )
        codec = found or "utf-8"
        return codec, codec in ASCII_SUPERSETS
    if _try(body, "utf-8") is not None:
        return "utf-8", True
    for label in labels:
        normalised = normalise_label(label)
        if (
            normalised
            and normalised != "utf-8"
            and _try(body, normalised) is not None
            and _plausible(body, normalised)
        ):
            return normalised, False
    return _guess(body) or "utf-8", False  # a guess of UTF-8 here means bytes that do not decode cleanly


def _wide_without_bom(body: bytes) -> str | None:
    """UTF-32 or UTF-16 without a byte order mark, told by where its NULs stand, as XML's appendix F does.

    Markup is ASCII, so such a page is mostly a NUL beside (UTF-16) or three beside (UTF-32) each ASCII
    byte: all ASCII to `bytes.isascii`, it read as UTF-8 and its markup became the article's text. A label
    cannot settle it ("utf-16" names no byte order), the bytes can: UTF-32's top byte is always NUL, and
    its next one but in the astral planes; UTF-16's high byte is NUL for most characters of a page, its low
    byte seldom. A body with no NUL in its head (almost every page) costs one scan of 4 KB."""
    head = body[: _SNIFF_BYTES - _SNIFF_BYTES % 4]
    if b"\x00" not in head or len(head) < 4:
        return None
    units = len(head) // 4
    head = head[: units * 4]
    nuls = [head[i::4].count(0) for i in range(4)]
    for codec, top, next_, low in (("utf-32-le", 3, 2, 0), ("utf-32-be", 0, 1, 3)):
        if nuls[top] == units and nuls[next_] >= 0.9 * units and nuls[low] < units:
            return codec if _try(body, codec) is not None else None
    pairs = units * 2
    even, odd = nuls[0] + nuls[2], nuls[1] + nuls[3]
    for codec, high, low in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if high >= 0.5 * pairs and low <= 0.1 * pairs:
            return codec if _try(body, codec) is not None else None
    return None


# Codecs that read every ASCII byte as itself wherever it stands (no escape sequences, as ISO-2022, HZ
# and UTF-7 have): an ASCII body is the same text in each of them as in UTF-8.
ASCII_SUPERSETS = frozenset(
    {
        "utf-8", "ascii", "cp1252", "iso8859-1", "iso8859-2", "iso8859-15", "cp1250", "cp1251", "koi8-r",
        "gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp932", "shift_jis", "euc_jp", "cp949", "euc_kr",
    }
)  # fmt: skip


def _valid_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode a document; returns the text and the codec used. Never raises on bad bytes."""
    codec = detect_charset(body, content_type)
    return _decoded(body, codec), codec


def _decoded(body: bytes, codec: str) -> str:
    text = body.decode(codec, errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def decode_for_parser(body: bytes, content_type: str | None = None) -> tuple[str | bytes, str]:
    """`decode`'s text, or the same text left as UTF-8 bytes when the body already is them; and the codec.

    For a parser that reads UTF-8 (`scraper.extract.extract(data, url, charset="utf-8")`): decoding
    the page and encoding it back is 5-10% of extracting it. The bytes are the body after a UTF-8 BOM;
    they may start with a second one, which `decode` strips from its text as the extractor does from
    bytes. A body that does not decode cleanly (invalid UTF-8, a guess, any other charset) is decoded:
    the text holds a U+FFFD where `decode` put one, and nothing depends on how a parser reads bad bytes.
    """
    codec, as_is = _sniff(body, content_type)
    if as_is:
        return body.removeprefix(codecs.BOM_UTF8), codec
    return _decoded(body, codec), codec
