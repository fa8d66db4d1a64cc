"""`--urls FILE`: article URLs, one per line (`-` reads standard input).

Blank lines and `#` comments are skipped; a line that is not an http(s) URL is skipped with a warning
naming the line (the rest of the list goes on), never dropped without a word. `--match` and the
date in the URL (for `--since`/`--until`) filter them. Resuming needs no journal: the URLs are queued in
batches, and the queue knows each one already queued or archived.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy.orm import Session, sessionmaker

from scraper.backfill.frontier import Filters, Found, SourceReport, queue_found
from scraper.post_reader import read_url_list

log = logging.getLogger(__name__)

MAX_NAMED = 20  # bad lines named one by one; the rest counted
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
    bad = 0
    for number, line in enumerate(lines, 1):
        url = next(read_url_list([line]), None)
        if url is None:
            text = line.strip().lstrip("\ufeff")
            if text and not text.startswith("#"):
                bad += 1
                if bad <= MAX_NAMED:
                    log.warning(
                        "%s, line %d: not an http(s) URL, skipped: %r", report.name, number, text[:200]
                    )
            continue
        batch.append(Found(url))
        if len(batch) >= BATCH:
            with sessions.begin() as session:
                queue_found(session, feed_id, batch, filters, report)
            batch = []
    if batch:
        with sessions.begin() as session:
            queue_found(session, feed_id, batch, filters, report)
    if bad > MAX_NAMED:
        log.warning("%s: %d more lines that are not http(s) URLs, skipped", report.name, bad - MAX_NAMED)
