"""Captures as `scraper status` shows them: how many could not be written, and the last reasons."""

from __future__ import annotations

from scraper.store.reports import Transaction, capture_failure_rows

SHOWN = 5


def capture_failure_lines(connection: Transaction) -> list[str]:
    """Nothing when every capture was written; else a count and the latest failures (time, URL, reason).
    A Core query (no ORM): `scraper status` asks it."""
    count, latest = capture_failure_rows(connection, SHOWN)
    if not count:
        return []
    lines = [
        f"WARC captures not written: {count} (the pages were archived; the WARC files lack them). Latest:"
    ]
    lines += [f"  {at:%Y-%m-%d %H:%M:%S} UTC  {url}: {reason}" for at, url, reason in latest]
    return lines
