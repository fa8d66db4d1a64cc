"""The recorder of revisit outcomes: a batch per transaction, each written only while this node's claim
on its article stands (as scraper.outcome_recorder does for first archives).

For each outcome the article is locked and read with its newest version; scraper.revisit_outcomes says
what the visit means; then the row is updated (the claim given back with it), and the versions and changes
inserted, a statement per kind. Version 1 (the page as first archived) is copied from the row in the same
transaction as the first edit, so an article that never changes costs no copy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from scraper.recorder import GroupRecorder
from scraper.revisit import RevisitJob, RevisitOutcome
from scraper.revisit_outcomes import RevisitState, RevisitVerdict, article_after_revisit
from scraper.store import articles as article_rows
from scraper.store import captures as capture_rows
from scraper.store import revisits as revisit_rows
from scraper.store.leases import Leases
from scraper.summary import RunSummary

log = logging.getLogger(__name__)

RevisitHook = Callable[[RevisitJob, RevisitVerdict], None]
# Seconds a batch of revisit outcomes waits for more before its transaction (scraper.recorder): without it
# a run of unchanged revisits (a 304 answers in a millisecond) wrote ~5 rows per transaction, and the
# transaction's round trips and commit were a tenth of a revisit's CPU.
REVISIT_LINGER = 0.05


class RevisitRecorder:
    def __init__(
        self,
        leases: Leases,
        schedule_of: Callable[[str | None], tuple[timedelta, ...]],
        *,
        clock: Callable[[], datetime],
        keep_latest: bool = False,
        marks: bool = False,
        on_revisit: Sequence[RevisitHook] = (),
        linger: float = REVISIT_LINGER,
    ) -> None:
        self.leases = leases
        self.schedule_of = schedule_of
        self.clock = clock
        self.keep_latest = keep_latest
        self.marks = marks
        self.on_revisit = list(on_revisit)
        self.group: GroupRecorder[tuple[RevisitJob, RevisitOutcome], RunSummary] = GroupRecorder(
            self.store_many, RunSummary, linger=linger
        )

    async def record(self, job: RevisitJob, outcome: RevisitOutcome) -> RunSummary:
        return await self.group.record((job, outcome))

    async def wait(self) -> None:
        await self.group.wait()

    def store_many(
        self, items: Sequence[tuple[RevisitJob, RevisitOutcome]], summaries: Sequence[RunSummary]
    ) -> None:
        now = self.clock()
        verdicts = self._write(items, now)
        for (job, _), summary, verdict in zip(items, summaries, verdicts, strict=True):
            if verdict is None:
                summary.lost += 1
                self.leases.discard("article", job.article_id, f"revisit of {job.url}")
                continue
            self.leases.forget("article", [job.article_id])
            _count(job, verdict, summary)
            for observe in self.on_revisit:
                observe(job, verdict)

    def _write(
        self, items: Sequence[tuple[RevisitJob, RevisitOutcome]], now: datetime
    ) -> list[RevisitVerdict | None]:
        verdicts: list[RevisitVerdict | None] = []
        changes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        versions: list[dict[str, Any]] = []
        recorded: list[dict[str, Any]] = []
        captured: list[dict[str, Any]] = []
        first: list[int] = []
        with self.leases.writes.begin() as connection:
            ids = [job.article_id for job, _ in items]
            rows = article_rows.lock_mine(connection, ids, self.leases.node_id, revisit_rows.ROW_COLUMNS)
            # Only those can have versions: edited, or a feed's body (its page's baseline is a version).
            edited = [row_id for row_id, row in rows.items() if row.edits or row.content_source == "feed"]
            last = revisit_rows.last_versions(connection, edited) if edited else {}
            for job, outcome in items:
                row = rows.pop(job.article_id, None)
                if row is None:
                    verdicts.append(None)
                    continue
                newest = last.get(job.article_id)
                state = RevisitState(
                    title=newest.title if newest else row.title,
                    text=newest.text if newest else row.content_text,
                    archived_at=row.archived_at or now,
                    revisits=row.revisits or 0,
                    edits=row.edits or 0,
                    suspected_at=row.removal_suspected_at,
                    confirmed_at=row.removal_confirmed_at,
                    last_version=newest.number if newest else 0,
                )
                verdict = article_after_revisit(
                    job,
                    state,
                    outcome,
                    now,
                    self.schedule_of(job.feed_url),
                    keep_latest=self.keep_latest,
                    marks=self.marks,
                )
                values = dict(verdict.values)
                if verdict.post_stale:
                    values["post_written_at"] = None
                params = {f"new_{name}": value for name, value in values.items()}
                changes.setdefault(tuple(sorted(values)), []).append({"row_id": job.article_id, **params})
                if verdict.first_version:
                    first.append(job.article_id)
                if verdict.version is not None:
                    versions.append({"article_id": job.article_id, **verdict.version})
                if verdict.change is not None:
                    recorded.append({"article_id": job.article_id, **verdict.change})
                captured += _capture_rows(job.article_id, outcome, now)
                verdicts.append(verdict)
            revisit_rows.insert_first_versions(connection, first)  # before the row takes the latest text
            for columns, batch in changes.items():
                article_rows.update_many(connection, columns, batch, None, None)
            revisit_rows.insert_versions(connection, versions)
            revisit_rows.insert_changes(connection, recorded)
            capture_rows.insert_captures(connection, captured)
        return verdicts


def _capture_rows(article_id: int, outcome: RevisitOutcome, now: datetime) -> list[dict[str, Any]]:
    """Where this visit's answer was captured ([warc]), for `scraper history` (none: not captured)."""
    if outcome.response is None or outcome.response.capture is None:
        return []
    capture = outcome.response.capture
    return [
        {
            "article_id": article_id,
            "fetched_at": now,
            "http_status": outcome.response.status,
            "warc_file": capture.file,
            "warc_offset": capture.offset,
        }
    ]


def _count(job: RevisitJob, verdict: RevisitVerdict, summary: RunSummary) -> None:
    if verdict.kind == "deferred":
        summary.deferred += 1
        return
    if verdict.kind == "off":  # unscheduled without a fetch: not a revisit
        log.info("article %s: revisits are off for its feed; unscheduled", job.url)
        return
    summary.revisited += 1
    if verdict.kind == "edited":
        summary.edited += 1
        log.info("article %s: edited (version %s)", job.url, (verdict.version or {}).get("number"))
    elif verdict.kind == "removed":
        summary.removed += 1
        log.warning("article %s: removed (%s)", job.url, verdict.reason)
    elif verdict.kind == "restored":
        summary.restored += 1
        log.info("article %s: restored", job.url)
    elif verdict.kind == "suspected":
        log.info("article %s: removal suspected (%s); to be confirmed", job.url, verdict.reason)
    elif verdict.kind == "outage":
        log.info("article %s: revisit saw nothing (%s)", job.url, verdict.reason)
