"""What an export target is: a post rendered to text, and the name of its file.

A target (`jekyll`, or one of your own: Hugo, a JSON file per article, a search index's documents) is a
module exposing an `ExportTarget`, registered in the composition root (`scraper.compose.EXPORT_TARGETS`).
`[export] template` names one; the config is checked against the registry, and `export/writer.py` writes
whatever the chosen target renders, with what every target shares: the name chosen once and reserved in the
database, `-2`, `-3`... on a collision, the atomic write, the unchanged file left alone. So a new target is
its own module and one line in `compose.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from scraper.export.files import post_source_url


@dataclass(frozen=True)
class Post:
    """An article as every target sees it."""

    title: str
    url: str
    feed_name: str
    published: datetime  # aware; the comment line keeps it as the source said
    archived_at: datetime  # the front-matter date is never later than this (the source clock may run fast)
    body_html: str
    # Optional front-matter keys (`[export] front_matter`), None unless asked: the seed format stays as is.
    revised: tuple[int, datetime] | None = None  # edits found by revisits, and the last one's time
    removed: datetime | None = None  # when the page was seen gone (a removal confirmed on a later visit)
    capture: tuple[str, int] | None = None  # the first archive's WARC capture: file name, record offset

    @property
    def date(self) -> datetime:
        return min(self.published, self.archived_at).astimezone(UTC)


class PostNamer(Protocol):
    def __call__(self, post: Post, suffix: int = 1, tag: str = "") -> str:
        """The post's file name (relative to the export folder): `suffix` 2, 3... or a `tag` when names
        collide (the writer asks again until one is free)."""
        ...


@dataclass(frozen=True)
class ExportTarget:
    """`render`: the post's whole text, the same bytes for the same post (an unchanged file is not
    rewritten). `filename`: its name. `source_url`: the article URL a file already on disk holds, or None
    (so a name taken by another article's file, an old archive's, is never overwritten); the default
    reads a front matter's `from:` line."""

    name: str
    render: Callable[[Post], str]
    filename: PostNamer
    source_url: Callable[[Path], str | None] = post_source_url
