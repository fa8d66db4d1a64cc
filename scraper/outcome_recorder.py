"""The one recorder of archive outcomes, for `once`, the daemon and the backfill alike.

Each outcome is written if this node's claim on its article still stands (else discarded: another node has
the article now), a batch per transaction (scraper.recorder's group commit), with the row's new values
decided by scraper.outcomes; an archived article's post name is reserved in the same transaction and its
post written right after, by this node, and marked written once the outcomes pause (or with the writer's
next batch of marks, whichever comes first). Observers (`on_outcome`, the metrics) see every outcome recorded.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError

from scraper.archive import ArchiveOutcome, ArticleJob
from scraper.errors import PostNameTakenError, storable_text
from scraper.export.writer import PostWriter, ReservedPost, new_post
from scraper.logs import logging_about
from scraper.outcomes import ArticleState, RetryPolicy, Verdict, article_after_outcome
from scraper.recorder import GroupRecorder
from scraper.store import articles as article_rows
from scraper.store.leases import Leases
from scraper.store.models import Article, ArticleStatus
from scraper.summary import RunSummary

log = logging.getLogger(__name__)

RAW_PAGE_COMPRESSION = 6  # zlib level of the raw pages kept
# Seconds a batch of outcomes waits for more before its transaction (scraper.recorder). A transaction costs
# the same for one outcome as for a dozen (its round trips, its commit, the post names' checks), so a batch
# gathers what the node finishes in a quarter of a second: a dozen articles at 50 a second, not the two or
# three of one page's answer time. Waiting holds no request slot: only a place in the node's window of
# claimed articles (scraper.work_loop.archive_window), and the post is written that much later.
OUTCOME_LINGER = 0.25

# What an outcome's transaction reads of its article (locking it).
ROW_COLUMNS = (
    Article.id,
    Article.attempts,
    Article.canonical_url,
    Article.discovered_at,
    Article.archived_at,
    Article.final_url,
    Article.post_path,
)

OutcomeHook = Callable[[ArticleJob, ArchiveOutcome], None]


class OutcomeRecorder:
    def __init__(
        self,
        leases: Leases,
        writer: PostWriter,
        retry_policy: RetryPolicy,
        *,
        clock: Callable[[], datetime],
        on_outcome: Sequence[OutcomeHook] = (),
        linger: float = OUTCOME_LINGER,
    ) -> None:
        self.leases = leases
        self.writer = writer
        self.retry_policy = retry_policy
        self.clock = clock
        self.on_outcome = list(on_outcome)
        self.group: GroupRecorder[tuple[ArticleJob, ArchiveOutcome], RunSummary] = GroupRecorder(
            self.store_many, RunSummary, linger=linger, on_idle=self.mark_written
        )

    async def record(self, job: ArticleJob, outcome: ArchiveOutcome) -> RunSummary:
        """Queue the outcome for the next batch; its own summary once written (see GroupRecorder)."""
        return await self.group.record((job, outcome))

    @property
    def busy(self) -> bool:
        return self.group.busy

    async def wait(self) -> None:
        await self.group.wait()

    def store_many(
        self, items: Sequence[tuple[ArticleJob, ArchiveOutcome]], summaries: Sequence[RunSummary]
    ) -> None:
        """Record these outcomes in one transaction (each counted in its own summary), then write the
        posts of those archived."""
        posts = self.record_outcomes(items, summaries)
        for post, summary in zip(posts, summaries, strict=True):
            if post is not None:
                summary.posts_written += self.writer.write_reserved(self.leases, post)

    def mark_written(self) -> None:
        """The posts written since the last mark are marked so, their leases released: run when the
        outcomes pause (the writer marks them a few dozen at a time otherwise), so that the last posts
        of a burst of work are not left unmarked, their leases held, until the next export job."""
        try:
            self.writer.flush(self.leases)
        except SQLAlchemyError as exc:  # their leases expire, and the posts are written again then
            log.warning("posts written but not marked so: %s", exc)

    def record_outcome(
        self, job: ArticleJob, outcome: ArchiveOutcome, summary: RunSummary
    ) -> ReservedPost | None:
        """`record_outcomes` of one."""
        return self.record_outcomes([(job, outcome)], [summary])[0]

    def record_outcomes(
        self, items: Sequence[tuple[ArticleJob, ArchiveOutcome]], summaries: Sequence[RunSummary]
    ) -> list[ReservedPost | None]:
        """Write each outcome if our claim on its article still stands (else discard it: another node has
        the article now). The claim is released with it; or, when the article was archived, kept for its
        post, whose file name is reserved in the same transaction: the posts to write are returned.

        One transaction for them all (a daemon records what finished while the last batch was written):
        the rows still ours are locked and read in one statement, then updated, and the raw pages
        inserted, a statement per kind of change. A post name another article took meanwhile fails the
        unique index: the batch is then recorded one by one, each with the next free name."""
        if not items:
            return []
        now = self.clock()
        written = self._write_with_free_names(items, now)
        posts: list[ReservedPost | None] = []
        for (job, outcome), summary, result in zip(items, summaries, written, strict=True):
            if result is None:
                summary.lost += 1
                self.leases.discard("article", job.article_id, f"article {job.url}")
                posts.append(None)
                continue
            verdict, post = result
            with logging_about(feed=job.feed_name, article=job.url, article_id=job.article_id):
                self._count(job, outcome, verdict, summary)
            if post is None:
                self.leases.forget("article", [job.article_id])
            posts.append(post)
        for job, outcome in items:
            for observe in self.on_outcome:
                observe(job, outcome)
        return posts

    def _write_with_free_names(
        self, items: Sequence[tuple[ArticleJob, ArchiveOutcome]], now: datetime
    ) -> list[tuple[Verdict, ReservedPost | None] | None]:
        taken: set[str] = set()
        while True:
            try:
                return self._write_outcomes(items, now, taken)
            except PostNameTakenError as exc:
                if len(items) > 1:  # which name it was is not known: one by one
                    return [self._write_with_free_names([item], now)[0] for item in items]
                taken.add(exc.name)
            except (OperationalError, InterfaceError):  # the database itself: nothing to blame an item for
                raise
            except Exception as exc:  # one outcome the database refuses must not fail its batch-mates
                if len(items) > 1:
                    log.warning("%d outcomes not stored together (%s): one by one", len(items), exc)
                    return [self._write_with_free_names([item], now)[0] for item in items]
                return [self._write_unstorable(items[0], exc)]

    def _write_unstorable(
        self, item: tuple[ArticleJob, ArchiveOutcome], error: Exception
    ) -> tuple[Verdict, ReservedPost | None] | None:
        """An outcome that cannot be stored as it is: its article is failed with the reason (an attempt
        counted, so it is not tried forever), its lease released; None if the lease was lost."""
        job, _ = item
        reason = storable_text(f"outcome not storable: {type(error).__name__}: {error}")
        with self.leases.writes.begin() as connection:
            failed = article_rows.fail_unstorable(connection, job.article_id, self.leases.node_id, reason)
        if not failed:
            return None
        return Verdict(ArticleStatus.FAILED, "failed", error=reason), None

    def _write_outcomes(
        self, items: Sequence[tuple[ArticleJob, ArchiveOutcome]], now: datetime, taken: set[str]
    ) -> list[tuple[Verdict, ReservedPost | None] | None]:
        """One try at the transaction: per item its verdict and post, or None if the lease was lost."""
        results: list[tuple[Verdict, ReservedPost | None] | None] = []
        changes: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # one UPDATE per set of columns
        kept_pages: list[dict[str, Any]] = []
        chosen: set[str] = set()
        with self.leases.writes.begin() as connection:
            ids = [job.article_id for job, _ in items]
            rows = article_rows.lock_mine(connection, ids, self.leases.node_id, ROW_COLUMNS)
            for job, outcome in items:
                row = rows.pop(job.article_id, None)  # an article twice in one batch: the first outcome
                if row is None:
                    results.append(None)
                    continue
                verdict, values = article_after_outcome(
                    job,
                    ArticleState(row.attempts, row.archived_at, row.final_url),
                    outcome,
                    now,
                    self.retry_policy,
                )
                post = None
                if verdict.status == ArticleStatus.ARCHIVED:
                    post = self._reserve_post(job, row, values, taken | chosen, outcome)
                    if row.post_path is None:  # a name kept from before is the row's own already
                        chosen.add(post.path)
                    values["post_path"] = post.path
                params = {f"new_{name}": value for name, value in values.items()}
                changes.setdefault(tuple(sorted(values)), []).append({"row_id": job.article_id, **params})
                if outcome.response is not None and outcome.response.content and not outcome.deferred:
                    kept_pages.append(self._raw_page(job.article_id, outcome, now) | {"again": row.attempts})
                results.append((verdict, post))
            try:
                for columns, batch in changes.items():
                    archived = "post_path" in columns  # the lease is kept: this node writes the post next
                    article_rows.update_many(
                        connection,
                        columns,
                        batch,
                        self.leases.node_id if archived else None,
                        self.leases.expiry() if archived else None,
                    )
            except IntegrityError:
                if chosen:  # the unique post_path: another article took a name meanwhile
                    raise PostNameTakenError(next(iter(chosen))) from None
                raise
            again = [page["article_id"] for page in kept_pages if page.pop("again")]
            article_rows.keep_raw_pages(connection, kept_pages, again)  # only a page fetched before had one
        return results

    def _reserve_post(
        self, job: ArticleJob, row: Row[Any], values: dict[str, Any], taken: set[str], outcome: ArchiveOutcome
    ) -> ReservedPost:
        """The archived article's post, rendered, under its kept name or a free one not in `taken`; with
        `[export] front_matter = ["capture"]`, it names the WARC record of the page from its first write."""
        response = outcome.response
        ref = response.capture if response is not None and "capture" in self.writer.front_matter else None
        post = new_post(
            entry_title=job.entry_title,
            title=values["title"],
            canonical_url=row.canonical_url,
            url=job.url,
            feed_name=job.feed_name,
            published=values["published_at"] or job.entry_published,
            discovered_at=row.discovered_at,
            archived_at=values["archived_at"],
            body_html=values["content_html"],
        )
        if ref is not None:
            post = replace(post, capture=(ref.file, ref.offset))
        return self.writer.reserved(post, row.post_path, job.article_id, taken)

    @staticmethod
    def _count(job: ArticleJob, outcome: ArchiveOutcome, verdict: Verdict, summary: RunSummary) -> None:
        """Count and log an outcome once it is written."""
        if verdict.error:
            outcome = ArchiveOutcome(verdict.status, verdict.error)
        if verdict.kind == "deferred":
            summary.deferred += 1
            log.info("article %s: deferred, %s", job.url, outcome.error)
        elif verdict.kind == "archived":
            summary.archived += 1
            log.info("article %s: archived (%s)", job.url, outcome.content_source)
        elif verdict.kind == "retrying":
            summary.retrying += 1
            delay = verdict.delay.total_seconds() if verdict.delay else 0
            log.warning("article %s: %s; retry in %ds", job.url, outcome.error, delay)
        else:
            if verdict.kind == "gone":
                summary.gone += 1
            else:
                summary.failed += 1
            summary.errors.append(f"article {job.url}: {outcome.error}")
            log.warning("article %s: %s (%s)", job.url, verdict.status, outcome.error)

    @staticmethod
    def _raw_page(article_id: int, outcome: ArchiveOutcome, now: datetime) -> dict[str, Any]:
        response = outcome.response
        assert response is not None
        return {
            "article_id": article_id,
            "url": response.final_url,
            "content_type": response.content_type,
            "encoding": outcome.encoding,
            "body_zlib": zlib.compress(response.content, RAW_PAGE_COMPRESSION),
            "fetched_at": now,
            "warc_file": response.capture.file if response.capture else None,
            "warc_offset": response.capture.offset if response.capture else None,
        }
