"""Turn the bytes of a page or feed into text.

Chinese, Japanese and Korean sources often serve GBK, Big5 or Shift_JIS without saying so, or say the
wrong thing. The order of trust: the HTTP header, then a byte-order mark, then what the document declares
(`<meta charset>`, `http-equiv`, the XML declaration), then charset-normalizer's guess. A declared charset
that does not decode the bytes cleanly is passed over, so a mislabelled page still comes out right.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

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

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]+encoding\s*=\s*[\"']([\w.:-]+)[\"']", re.I)

# How far into the document a declaration is looked for (the HTML spec says 1024; real pages are sloppier).
_SNIFF_BYTES = 4096


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
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1) if match else None


def declared_charset(body: bytes) -> str | None:
    """The charset the document itself declares in its first bytes."""
    head = body[:_SNIFF_BYTES]
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii", "replace") if match else None


def _try(body: bytes, label: str | None) -> str | None:
    codec = normalise_label(label)
    if codec is None:
        return None
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def detect_charset(body: bytes, content_type: str | None = None) -> str:
    """The codec that decodes `body`, by the order of trust above."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec
    for label in (charset_from_content_type(content_type), declared_charset(body)):
        if label and _try(body, label) is not None:
            return normalise_label(label) or "utf-8"
    if _try(body, "utf-8") is not None:
        return "utf-8"
    best = from_bytes(body[:200_000]).best()
    if best is not None:
        return normalise_label(best.encoding) or best.encoding
    return "utf-8"


def decode(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode a document; returns the text and the codec used. Never raises on bad bytes."""
    codec = detect_charset(body, content_type)
    text = body.decode(codec, errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, codec
