"""What an article's row becomes after a revisit: a pure function over plain data, as scraper.outcomes is
for a first archive.

It reads what the visit saw (scraper.revisit) against the last version, with scraper.revisions deciding
what is an edit and what is a removal, and returns the row's new columns, the version and the change to
record (if any), and when to come back (scraper.revisit_schedule).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scraper import revisions
from scraper.revisions import RemovalState, Snapshot, judge_visit, redirect_away, still_holds_article
from scraper.revisit import ABSENT, DEFERRED, NOT_MODIFIED, OFF, OUTAGE, PAGE, RevisitJob, RevisitOutcome
from scraper.revisit_schedule import next_revisit

RAW_PAGE_COMPRESSION = 6
NO_LONGER_HOLDS = "the page no longer holds the article"
MAX_DEFER = timedelta(days=1)


@dataclass(frozen=True)
class RevisitState:
    """What the row holds before the revisit, of what the revisit reads or changes."""

    title: str | None
    text: str | None
    archived_at: datetime
    revisits: int = 0
    edits: int = 0
    suspected_at: datetime | None = None
    confirmed_at: datetime | None = None
    last_version: int = 0  # the newest stored version; 0: none yet (the row is version 1)


@dataclass(frozen=True)
class RevisitVerdict:
    kind: str  # unchanged, edited, suspected, removed, restored, outage, deferred, off
    values: dict[str, Any]  # the article row's new columns
    version: dict[str, Any] | None = None  # a new version's columns (without article_id)
    change: dict[str, Any] | None = None  # a change's columns (without article_id)
    first_version: bool = False  # version 1 must be copied from the row first
    reason: str | None = None
    post_stale: bool = False  # the post shows what changed (the latest text, or the marks)


def what_was_seen(job: RevisitJob, outcome: RevisitOutcome, before: Snapshot) -> tuple[str, str | None]:
    """The visit as scraper.revisions reads it: unchanged, edited, absent, or an outage."""
    if outcome.seen == NOT_MODIFIED:
        return revisions.UNCHANGED, None
    if outcome.seen in (OUTAGE, DEFERRED):
        return revisions.OUTAGE, outcome.reason
    final_url = outcome.response.final_url if outcome.response is not None else None
    away = redirect_away(job.url, final_url)
    if away is not None:
        return revisions.ABSENT, away
    if outcome.seen == ABSENT or outcome.record is None:
        return revisions.ABSENT, outcome.reason or "no article on the page"
    after = Snapshot(outcome.record.title, outcome.record.text)
    if not revisions.is_real_edit(before, after):
        return revisions.UNCHANGED, None
    if not still_holds_article(before, after):
        return revisions.ABSENT, NO_LONGER_HOLDS
    return revisions.EDITED, None


def article_after_revisit(
    job: RevisitJob,
    row: RevisitState,
    outcome: RevisitOutcome,
    now: datetime,
    schedule: tuple[timedelta, ...],
    *,
    keep_latest: bool = False,
    marks: bool = False,
) -> RevisitVerdict:
    """The row's new values after this revisit, and the version and change to record.

    `keep_latest`: the post shows the latest version (`[export] revisions = "latest"`), so an edit also
    rewrites the row's record; `marks`: the post carries `revised:`/`removed:` keys, so any change makes
    it stale. A deferred visit (no request made) only moves the next revisit."""
    if outcome.seen == DEFERRED:
        wait = min(timedelta(seconds=outcome.retry_after or 0), MAX_DEFER)
        return RevisitVerdict("deferred", {"revisit_at": now + max(wait, timedelta(minutes=1))})
    if outcome.seen == OFF:
        return RevisitVerdict("off", {"revisit_at": None})
    seen, reason = what_was_seen(job, outcome, Snapshot(row.title, row.text or ""))
    # The first page seen of an article whose body came from the feed: its baseline, never an edit of the
    # feed's text (nor, for a summary, a page that "no longer holds" it).
    baseline = job.from_feed and not row.last_version and outcome.seen == PAGE and outcome.record is not None
    if baseline and (seen == revisions.EDITED or reason == NO_LONGER_HOLDS):
        seen, reason = revisions.UNCHANGED, None
    baseline = baseline and seen == revisions.UNCHANGED
    judgement = judge_visit(seen, RemovalState(row.suspected_at, row.confirmed_at), now)
    state = judgement.state
    values = _visit_values(row, outcome, state, now, schedule)
    change = judgement.change or ""
    version = None
    if "restored" in change:
        values["restored_at"] = now
    if baseline:
        version = _version(1, outcome, now)
    if seen == revisions.EDITED and outcome.record is not None:
        version = _version(row.last_version + 1 if row.last_version else 2, outcome, now)
        values.update(edits=row.edits + 1, revised_at=now)
        if keep_latest:
            values.update(_latest(row, outcome.record.title, outcome.record.html, outcome.record.text, now))
    kind = _kind(seen, change, state)
    recorded = None
    if change:
        recorded = {
            "kind": "edited" if change == "edited" else change.split("+")[0],
            "at": now,
            "version": version["number"] if version else None,
            "detail": reason,
        }
    stale = (keep_latest and version is not None) or (marks and bool(change))
    return RevisitVerdict(
        kind,
        values,
        version,
        recorded,
        bool(version) and not baseline and not row.last_version,
        reason,
        stale,
    )


def _latest(row: RevisitState, title: str | None, html: str, text: str, now: datetime) -> dict[str, Any]:
    """The row's record after an edit when the post shows the latest version. A post is titled by its
    feed entry's title first (scraper.export.writer.new_post): when the page's title changed, the entry's
    title is the old headline, so it gives way to the new one."""
    values: dict[str, Any] = {"content_html": html, "content_text": text, "fetched_at": now}
    if title and title != row.title:
        values.update(title=title, entry_title=title)
    return values


def _visit_values(
    row: RevisitState,
    outcome: RevisitOutcome,
    state: RemovalState,
    now: datetime,
    schedule: tuple[timedelta, ...],
) -> dict[str, Any]:
    """What every visit writes: the count, the removal state, the next visit, the validators."""
    values: dict[str, Any] = {
        "revisits": row.revisits + 1,
        "removal_suspected_at": state.suspected_at,
        "removal_confirmed_at": state.confirmed_at,
        "revisit_at": next_revisit(
            row.archived_at,
            schedule,
            now,
            removal_suspected=state.suspected_at is not None and not state.confirmed_at,
        ),
    }
    etag, last_modified = outcome.validators
    if etag or last_modified:
        values.update(page_etag=etag, page_last_modified=last_modified)
    if outcome.digest and state.suspected_at is None:  # a page seen absent is not the one to match
        values["page_digest"] = outcome.digest
    return values


def _kind(seen: str, change: str, state: RemovalState) -> str:
    if change:
        return change.split("+")[0]
    if seen == revisions.OUTAGE:
        return "outage"
    if state.suspected_at is not None and state.confirmed_at is None:
        return "suspected"
    return "unchanged"


def _version(number: int, outcome: RevisitOutcome, now: datetime) -> dict[str, Any]:
    record, response = outcome.record, outcome.response
    assert record is not None and response is not None
    return {
        "number": number,
        "title": record.title,
        "content_html": record.html,
        "content_text": record.text,
        "fetched_at": now,
        "url": response.final_url,
        "content_type": response.content_type,
        "encoding": outcome.encoding,
        "body_zlib": zlib.compress(response.content, RAW_PAGE_COMPRESSION),
    }
