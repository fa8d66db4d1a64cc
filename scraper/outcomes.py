"""What an article's row becomes after an archive outcome: a pure function over plain data.

The fetch stage says what happened (`ArchiveOutcome`); this module says what that means for the row
(archived, retried later, gone, failed, or deferred without counting as an attempt) and returns the
columns to write, so the retry policy is tested without a server or a database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scraper.archive import ArchiveOutcome, ArticleJob
from scraper.extract import Record
from scraper.revisit import page_digest
from scraper.sanitize import MAX_ETAG_CHARS, MAX_LAST_MODIFIED_CHARS, validator
from scraper.schedule import backoff
from scraper.store.models import ArticleStatus

MAX_RETRY_DELAY = 86400.0  # an article's backoff never exceeds a day


@dataclass(frozen=True)
class Verdict:
    """What a written outcome means for the counts and the log."""

    status: str
    kind: str  # archived, deferred, retrying, gone, failed
    delay: timedelta | None = None
    error: str | None = None  # the outcome could not be stored as it was: why (then it is failed)


@dataclass(frozen=True)
class ArticleState:
    """What the row holds before the outcome, of what the outcome changes."""

    attempts: int
    archived_at: datetime | None = None
    final_url: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    retry_base: float


def record_columns(record: Record, entry_author: str | None, published: datetime | None) -> dict[str, Any]:
    """An extracted record as article columns (the fetch's outcome and a re-extraction write the same)."""
    return {
        "title": record.title,
        "author": record.author or entry_author,
        "published_at": published,
        "lang": record.lang,
        "content_html": record.html,
        "content_text": record.text,
    }


def article_after_outcome(
    job: ArticleJob,
    row: ArticleState,
    outcome: ArchiveOutcome,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random | None = None,
) -> tuple[Verdict, dict[str, Any]]:
    """The row's new column values for this outcome, and what it means (counted once written).

    Deferred (the host asked us to wait, no request made): only the next attempt moves, never an attempt
    counted. Archived: the record's columns, the first archive time kept. Transient failure: retried with
    backoff (never sooner than a Retry-After) until `max_attempts`, then failed. Gone or permanent: final.
    """
    if outcome.deferred:
        wait = timedelta(seconds=min(outcome.retry_after or 0, MAX_RETRY_DELAY))
        return Verdict(ArticleStatus.PENDING, "deferred"), {"next_attempt_at": now + wait}
    attempts = row.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "http_status": outcome.http_status,
        "final_url": outcome.final_url or row.final_url,
    }
    if outcome.status == ArticleStatus.ARCHIVED and outcome.record is not None:
        record = outcome.record
        values.update(record_columns(record, job.entry_author, outcome.published))
        values.update(
            status=ArticleStatus.ARCHIVED,
            content_source=outcome.content_source,
            archived_at=row.archived_at or now,
            last_error=outcome.extra.get("page_error"),
            next_attempt_at=None,
        )
        if outcome.response is not None:
            values["fetched_at"] = now
            values["page_etag"] = validator(outcome.response.headers.get("etag"), MAX_ETAG_CHARS)
            values["page_last_modified"] = validator(
                outcome.response.headers.get("last-modified"), MAX_LAST_MODIFIED_CHARS
            )
            values["page_digest"] = page_digest(outcome.response.content)
        watched = outcome.content_source in ("page", "feed")  # a feed's body: its page is watched too
        if row.archived_at is None and watched and job.first_revisit is not None:
            values["revisit_at"] = now + job.first_revisit  # revisits are measured from the first archive
        return Verdict(ArticleStatus.ARCHIVED, "archived"), values
    values["last_error"] = outcome.error
    if outcome.status == ArticleStatus.PENDING and attempts < policy.max_attempts:
        delay = backoff(attempts, policy.retry_base, MAX_RETRY_DELAY, rng)
        if outcome.retry_after:
            delay = max(delay, timedelta(seconds=min(outcome.retry_after, MAX_RETRY_DELAY)))
        values["next_attempt_at"] = now + delay
        return Verdict(ArticleStatus.PENDING, "retrying", delay), values
    status = ArticleStatus.FAILED if outcome.status == ArticleStatus.PENDING else outcome.status
    values.update(status=status, next_attempt_at=None)
    return Verdict(status, "gone" if status == ArticleStatus.GONE else "failed"), values
