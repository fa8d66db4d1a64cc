"""`--urls FILE`: article URLs, one per line (`-` reads standard input).

Blank lines and `#` comments are skipped, and so is anything that is not an http(s) URL. `--match` and the
date in the URL (for `--since`/`--until`) filter them. Resuming needs no journal: the URLs are queued in
batches, and the queue knows each one already queued or archived.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session, sessionmaker

from scraper.backfill.frontier import Filters, Found, SourceReport, queue_found
from scraper.post_reader import read_url_list

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
    for url in read_url_list(lines):
        batch.append(Found(url))
        if len(batch) >= BATCH:
            with sessions.begin() as session:
                queue_found(session, feed_id, batch, filters, report)
            batch = []
    if batch:
        with sessions.begin() as session:
            queue_found(session, feed_id, batch, filters, report)
