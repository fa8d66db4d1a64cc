"""`--reextract`: run the current extractor again over the stored raw pages, offline, and re-export.

Every article whose body came from its page (and every failed one with a stored page, which a better
extractor may now read) is extracted again from its raw page, with the site rule and feed selector of
today's config. Where the record changed, the row is updated and its post rewritten in place (same path);
unchanged records write nothing. An article the new extractor finds no text in keeps its old record (a
regression must not wipe the archive) and is reported. Posts imported from an old archive, and bodies that
came from the feed, are not touched.

The raw page is read from the database; where the database has none (its body emptied to save room, or
unreadable) it is read from the page's WARC capture (`[warc] dir`, the file and offset kept with it).

No network, no journal: a rerun after a crash extracts again, finds the rows already updated unchanged,
and goes on.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from scraper.backfill.progress import Progress
from scraper.backfill.source import SourceOption, SourceRun, SourceValue
from scraper.capture.reader import read_capture
from scraper.charset import decode_for_parser
from scraper.errors import CaptureReadError
from scraper.export.rewrite import id_windows
from scraper.export.writer import export_articles
from scraper.extract import extract
from scraper.extract.dates import reconcile
from scraper.outcomes import record_columns
from scraper.pipeline import Pipeline
from scraper.store import articles as article_rows
from scraper.store.models import Article, ArticleStatus, Feed, RawPage, utcnow

log = logging.getLogger(__name__)

BATCH = 200


@dataclass
class ReextractReport:
    examined: int = 0
    changed: int = 0
    newly_archived: int = 0  # failed before, read now
    no_text: int = 0
    posts_written: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"re-extracted {self.examined} stored pages: {self.changed} changed "
            f"({self.newly_archived} newly archived), {self.no_text} without text, "
            f"{len(self.errors)} errors; rewrote {self.posts_written} posts"
        )


def reextract(pipeline: Pipeline, progress: Progress, feed_id: int | None = None) -> ReextractReport:
    """Extract every candidate again, showing progress, a batch per transaction; the posts that changed
    are rewritten after each batch. Streamed: the candidates are read a window of ids at a time, so memory
    holds one batch whatever the number of stored pages."""
    report = ReextractReport()
    with pipeline.sessions() as session:
        progress.start("re-extract", article_rows.count_reextract_candidates(session, feed_id))

    def window(session: Session, after: int, limit: int) -> list[int]:
        return article_rows.reextract_candidates(session, feed_id, after=after, limit=limit)

    for ids in id_windows(pipeline.sessions, window, BATCH):
        changed: list[int] = []
        with pipeline.sessions.begin() as session:
            for article in article_rows.with_pages(session, ids):
                ok = _one(pipeline, article, report)
                if ok is True:
                    changed.append(article.id)
                progress.advance(ok is None)
        report.posts_written += export_articles(pipeline.sessions, pipeline.writer, changed)
    progress.finish()
    return report


def _one(pipeline: Pipeline, article: Article, report: ReextractReport) -> bool | None:
    """True: the record changed; False: unchanged; None: could not be extracted."""
    report.examined += 1
    page = article.page
    assert page is not None
    feed: Feed | None = article.feed
    feed_config = pipeline.feeds_by_url.get(feed.url) if feed else None
    try:
        body, content_type = raw_page(pipeline, page)
        data, _ = decode_for_parser(body, content_type)  # UTF-8 bytes stay bytes: the parser reads them
        rule = pipeline.rules.for_url(
            page.url, feed_config.selector if feed_config else None, feed_config.remove if feed_config else ()
        )
        record = extract(data, page.url, rule, charset="utf-8" if isinstance(data, bytes) else None)
    except Exception as exc:  # an extractor bug costs one article, never the run
        report.errors.append(f"article {article.url}: {type(exc).__name__}: {exc}")
        return None
    if not record.text.strip():
        report.no_text += 1
        log.warning("article %s: the extractor finds no text now; the stored record is kept", article.url)
        return None
    published = reconcile(article.entry_published_at, record.published, page.url)
    values = record_columns(record, article.entry_author, published)
    was_failed = article.status != ArticleStatus.ARCHIVED
    if not was_failed and all(getattr(article, key) == value for key, value in values.items()):
        return False
    for key, value in values.items():
        setattr(article, key, value)
    if was_failed:
        report.newly_archived += 1
        article.status = ArticleStatus.ARCHIVED
        article.content_source = "page"
        article.last_error = None
        article.next_attempt_at = None
        article.archived_at = article.archived_at or utcnow()
    report.changed += 1
    return True


def raw_page(pipeline: Pipeline, page: RawPage) -> tuple[bytes, str | None]:
    """The page's body and content type: from the database, else from its WARC capture."""
    if page.body_zlib:
        try:
            return zlib.decompress(page.body_zlib), page.content_type
        except zlib.error as exc:
            problem = f"the stored page is unreadable ({exc})"
    else:
        problem = "the database keeps no raw page"
    capture_dir = pipeline.config.warc.dir
    if page.warc_file is None or page.warc_offset is None or capture_dir is None:
        raise CaptureReadError(f"{problem}, and no WARC capture of it is known ([warc] dir)")
    captured = read_capture(
        capture_dir, page.warc_file, page.warc_offset, page.url, pipeline.config.http.max_body_bytes
    )
    return captured.body, captured.content_type or page.content_type


class ReextractSource:
    """`--reextract`: works on the stored pages, queues nothing (so it alone archives nothing after)."""

    option = SourceOption(
        "--reextract", "Extract the stored raw pages again (offline) and rewrite changed posts."
    )
    queues = False

    async def run(self, given: SourceValue, run: SourceRun) -> None:
        report = reextract(run.pipeline, run.progress, run.feed_id)
        run.add(report)
        run.note(report)


SOURCE = ReextractSource()
