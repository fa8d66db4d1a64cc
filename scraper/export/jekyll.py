"""The post format of the archives our users keep (../shared/seed-example.md), byte for byte.

Two things those archives got wrong are fixed here without changing a byte of a post that did not suffer
from them: a title that is not valid YAML as written is escaped (the front matter is always parseable), and
text that Jekyll would run as Liquid (`{{`, `{%`) is turned into character references, which the browser
shows as the same characters but Liquid never sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Post:
    title: str
    url: str
    feed_name: str
    published: datetime  # aware; the comment line keeps it as the source said
    archived_at: datetime  # the front-matter date is never later than this (the source clock may run fast)
    body_html: str
    # Optional front-matter keys (`[export] front_matter`), None unless asked: the seed format stays as is.
    revised: tuple[int, datetime] | None = None  # edits found by revisits, and the last one's time
    removed: datetime | None = None  # when the page was seen gone (a removal confirmed on a later visit)

    @property
    def date(self) -> datetime:
        return min(self.published, self.archived_at).astimezone(UTC)


def render(post: Post) -> str:
    title = " ".join(post.title.split())
    name = yaml_scalar(post.feed_name)
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
        f"{escape_liquid(post.body_html.strip())}\n"
        "</div>\n"
    )


def marks(post: Post) -> str:
    """The optional `revised:` and `removed:` lines ("" when the post has neither)."""
    lines = ""
    if post.revised is not None:
        count, last = post.revised
        lines += f"revised: {{ count: {count}, last: {format_date(last)} }}\n"
    if post.removed is not None:
        lines += f"removed: {format_date(post.removed)}\n"
    return lines


def format_date(when: datetime) -> str:
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def epoch_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


# --- file names -------------------------------------------------------------------------------------------

_REFUSED_IN_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|#%\u2028\u2029\ufeff]')
TITLE_CHARS_IN_NAME = 50


def filename(post: Post, suffix: int = 1) -> str:
    """`YYYY-MM-DD-<title>.md` as the old archives name posts; `-2`, `-3`... when names collide."""
    stem = _REFUSED_IN_NAMES.sub("-", " ".join(post.title.split()))[:TITLE_CHARS_IN_NAME]
    stem = stem.strip(" .") or "untitled"
    more = f"-{suffix}" if suffix > 1 else ""
    return f"{post.date:%Y-%m-%d}-{stem}{more}.md"


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
    "\ufeff": "\\uFEFF",
}
_NEEDS_ESCAPE = re.compile('[\\\\"\x00-\x1f\x7f-\x9f\u00a0\u2028\u2029\ufeff]')
_PLAIN_SAFE = re.compile(r"^[\w(][\w .()/'&+~=-]*(?<! )$")
_PLAIN_URL_SAFE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s\[\]{},#\"'`|>]*$")
_YAML_WORDS = re.compile(
    r"^(?:y|n|yes|no|true|false|on|off|null|~|[-+]?[\d.]+(?:e[-+]?\d+)?|\.inf|\.nan)$", re.I
)


def yaml_quoted(text: str) -> str:
    """A YAML double-quoted scalar that reads back as `text`, whatever it holds."""
    escaped = _NEEDS_ESCAPE.sub(lambda m: _YAML_ESCAPES.get(m.group(0), f"\\x{ord(m.group(0)):02x}"), text)
    return f'"{escaped}"'


def yaml_scalar(text: str) -> str:
    """Plain where plain is safe (`联合早报`, a URL), double-quoted otherwise."""
    if (_PLAIN_SAFE.match(text) or _PLAIN_URL_SAFE.match(text)) and not _YAML_WORDS.match(text):
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


def markdown_url(url: str) -> str:
    return "".join(
        ch if ch not in " ()<>{}\\`" and ch.isprintable() else "".join(f"%{b:02X}" for b in ch.encode())
        for ch in url
    )
