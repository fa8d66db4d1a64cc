"""The extracted record: what the archive keeps of an article page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Record:
    title: str | None
    author: str | None
    published: datetime | None  # aware, UTC
    lang: str | None
    html: str  # the clean body
    text: str  # the body as plain text, paragraphs separated by blank lines
    canonical_url: str | None = None
    description: str | None = None
    image: str | None = None
