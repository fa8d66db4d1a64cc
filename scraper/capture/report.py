"""Captures as `scraper status` shows them: how many could not be written, and the last reasons."""

from __future__ import annotations

from sqlalchemy.orm import Session

from scraper.store.captures import failures

SHOWN = 5


def capture_failure_lines(session: Session) -> list[str]:
    """Nothing when every capture was written; else a count and the latest failures (time, URL, reason)."""
    count, latest = failures(session, SHOWN)
    if not count:
        return []
    lines = [
        f"WARC captures not written: {count} (the pages were archived; the WARC files lack them). Latest:"
    ]
    lines += [f"  {at:%Y-%m-%d %H:%M:%S} UTC  {url}: {reason}" for at, url, reason in latest]
    return lines
