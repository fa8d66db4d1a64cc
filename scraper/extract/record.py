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
    # The rule's body selector that found the body; None when the generic finder did (a feed's
    # `selector` that matched nothing is told by this, without parsing the page again).
    body_selector: str | None = None
