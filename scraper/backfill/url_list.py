"""`--urls FILE`: article URLs, one per line (`-` reads standard input).

Blank lines and `#` comments are skipped; a line that is not an http(s) URL is skipped with a warning
naming the line (the rest of the list goes on), never dropped without a word. `--match` and the
date in the URL (for `--since`/`--until`) filter them. Resuming needs no journal: the URLs are queued in
batches, and the queue knows each one already queued or archived.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session, sessionmaker

from scraper.backfill.frontier import Filters, Found, SourceReport, queue_found
from scraper.backfill.source import SourceOption, SourceRun, SourceValue, given_values
from scraper.post_reader import UrlLines

BATCH = 1000


def backfill_urls(
    sessions: sessionmaker[Session],
    lines: Iterable[str],
    filters: Filters,
    feed_id: int | None,
    report: SourceReport,
) -> None:
    batch: list[Found] = []
    report.documents_read += 1
    listed = UrlLines(report.name)
    for url in listed.urls(lines):
        batch.append(Found(url))
        if len(batch) >= BATCH:
            with sessions.begin() as session:
                queue_found(session, feed_id, batch, filters, report)
            batch = []
    if batch:
        with sessions.begin() as session:
            queue_found(session, feed_id, batch, filters, report)
    listed.finish()


class UrlListSource:
    """`--urls FILE` (repeatable; `-` is standard input): each list read in turn, a report each. A file that
    cannot be read is an error of its report; the other lists go on."""

    option = SourceOption("--urls", "One URL per line; - reads standard input.", metavar="FILE")
    queues = True

    async def run(self, given: SourceValue, run: SourceRun) -> None:
        sessions = run.pipeline.sessions
        for name in given_values(given):
            report = run.start(f"URLs from {'standard input' if name == '-' else name}")
            try:
                if name == "-":
                    backfill_urls(sessions, run.stdin(), run.filters, run.feed_id, report)
                else:
                    with open(name, encoding="utf-8", errors="replace") as lines:
                        backfill_urls(sessions, lines, run.filters, run.feed_id, report)
            except OSError as exc:
                report.errors.append(f"{name}: {exc}")
            run.note(report)


SOURCE = UrlListSource()
