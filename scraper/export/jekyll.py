"""The post format of the archives our users keep (../shared/seed-example.md), byte for byte: the export
target `jekyll` (`TARGET`), the default.

Two things those archives got wrong are fixed here without changing a byte of a post that did not suffer
from them: a title that is not valid YAML as written is escaped (the front matter is always parseable), and
text that Jekyll would run as Liquid (`{{`, `{%`) is turned into character references, which the browser
shows as the same characters but Liquid never sees.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

from scraper.export.target import ExportTarget, Post
from scraper.sanitize import storable_text


def render(post: Post) -> str:
    title = storable_text(" ".join(post.title.split())) or ""
    name = yaml_scalar(post.feed_name, in_flow=True)  # also written inside `[ ]`
    return (
        "---\n"
        "layout: post\n"
        f"title: {yaml_quoted(title)}\n"
        f"date: {format_date(post.date)}\n"
        f"author: {name}\n"
        f"from: {yaml_scalar(post.url)}\n"
        f"tags: [ {name} ]\n"
        f"categories: [ {name} ]\n"
        f"{marks(post)}"
        "---\n"
        f"<!--{epoch_ms(post.published)}-->\n"
        f"[{markdown_text(title)}]({markdown_url(post.url)})\n"
        "------\n"
        "\n"
        "<div>\n"
        f"{escape_liquid(storable_text(post.body_html.strip()) or '')}\n"
        "</div>\n"
    )


def marks(post: Post) -> str:
    """The optional `revised:`, `removed:` and `capture:` lines ("" when the post has none). `capture` says
    where the page as first archived is in the WARC files: the file's name and its response record's offset
    (names are `[-a-z0-9.]` only: no quoting needed)."""
    lines = ""
    if post.revised is not None:
        count, last = post.revised
        lines += f"revised: {{ count: {count}, last: {format_date(last)} }}\n"
    if post.removed is not None:
        lines += f"removed: {format_date(post.removed)}\n"
    if post.capture is not None:
        lines += f"capture: {{ warc: {post.capture[0]}, offset: {post.capture[1]} }}\n"
    return lines


def format_date(when: datetime) -> str:
    when = when.astimezone(UTC)
    # The fields formatted one by one: `{when:%H:%M:%S}` goes through strftime, ten times the cost.
    return (
        f"{when.year:04d}-{when.month:02d}-{when.day:02d}"
        f"T{when.hour:02d}:{when.minute:02d}:{when.second:02d}.{when.microsecond // 1000:03d}Z"
    )


def day(when: datetime) -> str:
    """`YYYY-MM-DD` with four digits always (strftime writes year 100 as `100`, which Jekyll skips)."""
    return f"{when.year:04d}-{when.month:02d}-{when.day:02d}"


def epoch_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


# --- file names -------------------------------------------------------------------------------------------

_REFUSED_IN_NAMES = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|#%\u2028\u2029\ufeff\ufffe\uffff]')
TITLE_CHARS_IN_NAME = 50
# Joiners kept inside a name (they join emoji and Persian letters), but never at its ends.
_JOINERS = "\u200c\u200d"
# Non-characters, in every plane: a title may hold them, no file system or terminal shows one.
_NON_CHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
_REFUSED_IN_NAMES = re.compile(f"[{_REFUSED_IN_NAMES.pattern[1:-1]}{_NON_CHARACTERS}]")


def _invisible_in_names(char: str) -> bool:
    """Format characters (Cf) are invisible in a file name, and the bidi ones turn it round on screen
    (`gnp.<U+202E>exe` shows as `gnp.exe` reversed: Trojan Source), so a name drops them, joiners aside."""
    return unicodedata.category(char) == "Cf" and char not in _JOINERS


def _strip_name(stem: str) -> str:
    """No space, dot or joiner at either end, and no combining mark first (it would sit on the date's
    dash), so a name never looks empty or ends in a dot Windows drops."""
    while True:
        cut = stem.strip(" ." + _JOINERS)
        cut = cut[1:] if cut and unicodedata.category(cut[0]).startswith("M") else cut
        if cut == stem:
            return stem
        stem = cut


def filename(post: Post, suffix: int = 1, tag: str = "") -> str:
    """`YYYY-MM-DD-<title>.md` as the old archives name posts; `-2`, `-3`... (or a `tag`) when names
    collide."""
    title = post.title
    if not title.isascii():  # an ASCII title has no format character (Cf): none below U+00AD
        title = "".join(char for char in title if not _invisible_in_names(char))
    stem = _REFUSED_IN_NAMES.sub("-", " ".join(title.split()))[:TITLE_CHARS_IN_NAME]
    stem = _strip_name(storable_text(stem) or "") or "untitled"
    more = f"-{tag}" if tag else f"-{suffix}" if suffix > 1 else ""
    return f"{day(post.date)}-{stem}{more}.md"


# --- YAML ---------------------------------------------------------------------------------------------------

_YAML_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\0": "\\0",
    "\u0085": "\\N",
    "\u00a0": "\\_",
    "\u2028": "\\L",
    "\u2029": "\\P",
}
# Escaped in a double-quoted scalar: the quote and backslash, line breaks and tabs, and every character
# outside YAML's printable set (C0, DEL, C1, surrogates, U+FFFE, U+FFFF), plus the BOM and the
# separators a YAML 1.1 reader takes for line breaks; the rest is written as it is.
_NEEDS_ESCAPE = re.compile('[\\\\"\x00-\x1f\x7f-\x9f\u00a0\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]')
# Plain (unquoted) only where both YAML 1.1 and 1.2 readers take it for the same string: no indicator
# anywhere, no leading digit or sign (numbers, dates, `0x10`, `1_000`, `1:20` in 1.1), no word that
# either reads as a boolean or null.
_PLAIN_SAFE = re.compile(r"^(?![0-9])[\w(][\w .()/'&+~=-]*(?<! )\Z")
_PLAIN_URL_SAFE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[!$%&()*+\-./0-9:;=?@A-Z\\^_a-z~]*(?<!:)\Z")
_YAML_WORDS = re.compile(r"^(?:y|n|yes|no|true|false|on|off|null|~)\Z", re.I)


def yaml_quoted(text: str) -> str:
    """A YAML double-quoted scalar that reads back as `text`, whatever it holds."""
    escaped = _NEEDS_ESCAPE.sub(lambda m: _escape(m.group(0)), text)
    return f'"{escaped}"'


def _escape(char: str) -> str:
    if char in _YAML_ESCAPES:
        return _YAML_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04X}"


def yaml_scalar(text: str, *, in_flow: bool = False) -> str:
    """Plain where plain is safe (`联合早报`, a URL), double-quoted otherwise. `in_flow`: also written
    inside `[ ]`, where a YAML 1.1 reader takes every `:` for an indicator (so a URL is quoted)."""
    url_safe = not in_flow and _PLAIN_URL_SAFE.match(text)
    if (_PLAIN_SAFE.match(text) or url_safe) and not _YAML_WORDS.match(text):
        return text
    return yaml_quoted(text)


# --- markdown and Liquid ------------------------------------------------------------------------------------

_LIQUID_OPENER = re.compile(r"\{(?=[{%])")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]])")


def escape_liquid(text: str) -> str:
    """`{{` and `{%` become `&#123;{` and `&#123;%`: shown as written, never run by Liquid."""
    return _LIQUID_OPENER.sub("&#123;", text)


def markdown_text(text: str) -> str:
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = text.replace("<", "&lt;")
    return escape_liquid(text)


# A URL written as it is in a Markdown link: printable ASCII but for the space and ( ) < > { } \ `.
_PLAIN_IN_LINK = re.compile(r"[!-'*-;=?-\[\]-_a-z|~]*")


def markdown_url(url: str) -> str:
    """The URL as a Markdown link's target: a space, a bracket or a character not printable (or not ASCII)
    percent-encoded as its UTF-8 bytes."""
    if _PLAIN_IN_LINK.fullmatch(url):  # most URLs: nothing to encode
        return url
    return "".join(
        ch if ch not in " ()<>{}\\`" and ch.isprintable() else "".join(f"%{b:02X}" for b in ch.encode())
        for ch in url
    )


TARGET = ExportTarget("jekyll", render, filename)
