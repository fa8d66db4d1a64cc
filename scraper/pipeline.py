"""The pipeline: the stages of one node over one archive, built together, and the `scraper once` run.

The stages are joined here and nowhere else; each writes its result to the database before the next one
starts, so a crash between any two leaves work the next run finds (pending rows, archived rows without a
post):

- poll (scraper.poll_stage): claim the feeds to poll, poll them, queue their new entries;
- archive (scraper.work_loop): claim pending articles spread over hosts (scraper.claims), fetch and
  extract each, record the outcome and write the post (scraper.outcome_recorder);
- export (scraper.export.writer): write the posts not written yet (their node died first, say).

Every unit of work is claimed before it is done, and its result written only while the claim stands
(scraper.store.leases). With one node on SQLite the claims always succeed; with several on PostgreSQL they
are what keeps two nodes from doing the same work, and a dead node's work from being lost. An article is
archived and its post written by the same node, under one lease.

`Pipeline` itself holds no logic of its own: it builds the stages from their collaborators (scraper.compose
builds it, for `once`, `run` and `backfill`) and passes calls through, so callers and tests keep one handle.

The poll stage is built with the pipeline; the archive, revisit and export stages (and the ORM sessions
they use) when first used. A `once` whose feeds brought nothing new, with no article, revisit or post due
(scraper.store.work_due.nothing_due), ends after the poll round without building them: its statements are
Core, and it never imports `sqlalchemy.orm`, the extractor or the post writer (issue 15;
tests/test_quiet_once.py holds this by the modules such a run loads).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from scraper.config import Config, FeedConfig
from scraper.due import config_fingerprint, plain_settings
from scraper.errors import ScraperError
from scraper.extract.rules import RuleBook, user_rules
from scraper.fetch import Fetcher, RequestPolicy
from scraper.folder_stamps import nothing_to_adopt, restamp_export_folder
from scraper.poll import PollResult
from scraper.poll_stage import FeedState, PollStage
from scraper.store import feeds as feed_rows
from scraper.store.leases import Leases
from scraper.store.tables import utcnow
from scraper.store.work_due import nothing_due
from scraper.summary import RunSummary

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from scraper.archive import ArchiveOutcome, ArticleJob
    from scraper.claims import ArticleClaims
    from scraper.export.writer import PostWriter, ReservedPost
    from scraper.outcome_recorder import OutcomeHook, OutcomeRecorder
    from scraper.revisit_work import RevisitWork
    from scraper.store.models import Feed
    from scraper.work_loop import ArchiveStage, RecordedHook

__all__ = ["FeedState", "Pipeline", "RunSummary"]

T = TypeVar("T")


class _Stage(Generic[T]):
    """A pipeline attribute built on first use, once, whichever thread asks first (the daemon's and the
    backfill's work runs in several; functools.cached_property no longer locks from Python 3.12). Assigning
    the attribute (a writer given to the constructor) sets it instead."""

    def __init__(self, build: Callable[[Pipeline], T]) -> None:
        self.build = build
        self.name = build.__name__

    @overload
    def __get__(self, pipeline: None, owner: Any = None) -> _Stage[T]: ...
    @overload
    def __get__(self, pipeline: Pipeline, owner: Any = None) -> T: ...
    def __get__(self, pipeline: Pipeline | None, owner: Any = None) -> T | _Stage[T]:
        if pipeline is None:
            return self
        built = pipeline.__dict__
        if self.name not in built:
            with pipeline._building:  # re-entrant: the archive stage builds the claims, which build sessions
                if self.name not in built:
                    built[self.name] = self.build(pipeline)
        return built[self.name]

    def __set__(self, pipeline: Pipeline, value: T) -> None:
        pipeline.__dict__[self.name] = value


class Pipeline:
    def __init__(
        self,
        config: Config,
        engine: Engine,
        fetcher: Fetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
        leases: Leases | None = None,
        on_outcome: Sequence[OutcomeHook] = (),
        writer: PostWriter | None = None,
    ) -> None:
        self.config = config
        self.engine = engine
        # On SQLite every transaction of the pipeline takes the write lock first (BEGIN IMMEDIATE): its work
        # runs in several threads, and a transaction that read, then writes after another thread's commit
        # would fail at once instead of waiting its turn (scraper.store.db).
        self.writes = engine.execution_options(sqlite_begin="IMMEDIATE")
        self._building = threading.RLock()  # the stages built on first use (_Stage)
        self.fetcher = fetcher
        # A broken [[rules]] table is refused here (a reload keeps the running pipeline); the book, with the
        # built-in rules read from the package, is made when a page is first extracted (`rules`).
        self._user_rules = user_rules(config.rules)
        if writer is not None:
            self.writer = writer
        self.clock = clock
        self.on_outcome = on_outcome
        self.feeds_by_url = {feed.url: feed for feed in config.feeds}
        self._shared_settings = plain_settings(config.http, config.schedule)  # in every feed's fingerprint
        self.leases = leases or Leases(
            engine, ttl=config.cluster.lease_seconds, heartbeat=config.cluster.heartbeat
        )
        self.policies: Mapping[str, RequestPolicy] = {
            feed.url: RequestPolicy.from_config(config.http, feed) for feed in config.feeds
        }
        self.polls = PollStage(config, self.leases, fetcher, self.policies, clock=clock)
        self._changes_feed_at: int | None = -1  # the newest change in the changes feed written

    # --- the stages built when first used (the ORM and the extractor with them) ---------------------------

    @_Stage
    def sessions(self) -> sessionmaker[Session]:
        from scraper.store.db import session_factory

        return session_factory(self.writes)

    @_Stage
    def rules(self) -> RuleBook:
        return RuleBook.of(self._user_rules)

    @_Stage
    def writer(self) -> PostWriter:
        return _writer_for(self.config)

    @_Stage
    def claims(self) -> ArticleClaims:
        from scraper.claims import ArticleClaims

        return ArticleClaims(self.config, self.leases, self.policies, clock=self.clock)

    @_Stage
    def recorder(self) -> OutcomeRecorder:
        from scraper.outcome_recorder import OutcomeRecorder
        from scraper.outcomes import RetryPolicy

        fetch = self.config.fetch
        return OutcomeRecorder(
            self.leases,
            self.writer,
            RetryPolicy(fetch.max_attempts, fetch.retry_base_seconds),
            clock=self.clock,
            on_outcome=self.on_outcome,
        )

    @_Stage
    def revisits(self) -> RevisitWork | None:
        """The revisits' claims and runs; None when `[revisit]` is off (then nothing claims a revisit, and
        their modules, the recorder's and the verdicts', are never imported: tests/test_run_start.py)."""
        if not self.config.revisit.enabled:
            return None
        return self._revisit_work(self.policies)

    @_Stage
    def archiving(self) -> ArchiveStage:
        from scraper.work_loop import ArchiveStage

        return ArchiveStage(
            self.claims,
            self.recorder,
            self.fetcher,
            self.rules,
            self.leases,
            concurrency=self.config.http.concurrency,
            clock=self.clock,
            revisits=self.revisits,
        )

    @property
    def export_failure(self) -> str | None:
        """Why posts could not be written this run, if the writer was built and failed (None otherwise)."""
        writer = self.__dict__.get("writer")
        return writer.failure if writer is not None else None

    def _revisit_work(self, policies: Mapping[str, RequestPolicy]) -> RevisitWork:
        from scraper.revisit import feed_schedules
        from scraper.revisit_recorder import RevisitRecorder
        from scraper.revisit_work import RevisitWork

        config = self.config
        recorder = RevisitRecorder(
            self.leases,
            feed_schedules(config),
            clock=self.clock,
            keep_latest=config.export.revisions == "latest",
            marks=bool(config.export.front_matter),
        )
        return RevisitWork(
            config,
            self.leases,
            recorder,
            self.fetcher,
            self.rules,
            policies,
            self._feeds_by_id,
            clock=self.clock,
        )

    def _feeds_by_id(self, ids: set[int]) -> dict[int, Feed]:
        with self.sessions() as session:
            return {feed.id: feed for feed in feed_rows.rows_by_id(session, ids)}

    # --- the whole run -----------------------------------------------------------------------------------

    async def run_once(
        self, *, due_only: bool = False, force: bool = False, synced: bool = False
    ) -> RunSummary:
        """Everything due, once. `synced`: the caller brought the feed rows in line with the config just
        before (the CLI does, to say what this run skips), so they are not synced a second time."""
        summary = RunSummary()
        if not synced:
            self.sync_feeds()
        self.adopt_existing_posts()
        await self.poll_feeds(self.feeds_to_poll(due_only=due_only, force=force), summary)
        if self.nothing_more_due():
            return summary  # no post was written: the folder's stamp stands as it is
        await self.archive_pending(summary, revisit=True)
        self.export_unwritten(summary)
        restamp_export_folder(self.sessions, self.config.export.dir)  # its own posts are known
        return summary

    def nothing_more_due(self) -> bool:
        """After the poll round: whether the archive, revisit and export steps would find nothing to do (no
        article, revisit or post due, scraper.store.work_due) and no changes feed is to be written, so the
        run can end without building those stages."""
        if self.config.export.changes_feed:  # written by the first export of each process
            return False
        with self.engine.connect() as connection:
            return nothing_due(connection, self.clock())

    def sync_feeds(self) -> None:
        """Bring the feed rows in line with the config: new feeds added, removed ones disabled (kept).

        Nodes starting together add the same feeds: the one that loses the race reads the rows again.
        """
        try:
            self._sync_feeds()
        except IntegrityError:
            self._sync_feeds()

    def _sync_feeds(self) -> None:
        with self.writes.begin() as connection:
            feed_rows.sync_feed_rows(connection, self.config.feeds, self._fingerprint)

    def _fingerprint(self, feed: FeedConfig) -> str:
        return config_fingerprint(feed, *self._shared_settings)

    def adopt_existing_posts(self) -> int:
        """Import the export folder's posts the database does not know, before any poll (post_import).
        Nodes sharing the folder may adopt the same post at once: the one that loses reads again.
        A folder unchanged since it was last adopted costs a few stats and one query (folder_stamps)."""
        folder, feeds = self.config.export.dir, self.config.feeds
        with self.engine.connect() as connection:
            if nothing_to_adopt(connection, folder):
                return 0
        from scraper.post_adopt import adopt_export_folder

        try:
            found = adopt_export_folder(self.sessions, folder, feeds, self.clock())
        except IntegrityError:
            found = adopt_export_folder(self.sessions, folder, feeds, self.clock())
        return found.posts

    # --- poll --------------------------------------------------------------------------------------------

    def feeds_to_poll(
        self,
        *,
        due_only: bool,
        limit: int | None = None,
        exclude_ids: Collection[int] = (),
        force: bool = False,
    ) -> list[FeedState]:
        return self.polls.feeds_to_poll(due_only=due_only, limit=limit, exclude_ids=exclude_ids, force=force)

    async def poll_feeds(self, feeds: Sequence[FeedState], summary: RunSummary) -> None:
        await self.polls.poll_feeds(feeds, summary)

    def record_poll(self, feed: FeedState, result: PollResult | ScraperError, summary: RunSummary) -> None:
        self.polls.record_poll(feed, result, summary)

    # --- archive -----------------------------------------------------------------------------------------

    def claim_jobs(
        self,
        limit: int,
        *,
        due_before: datetime | None = None,
        per_host: int | None = None,
        held: Mapping[str, int] | None = None,
        exclude_ids: Collection[int] = (),
    ) -> list[ArticleJob]:
        return self.claims.claim_jobs(
            limit, due_before=due_before, per_host=per_host, held=held, exclude_ids=exclude_ids
        )

    def claims_per_host(self) -> int:
        return self.claims.claims_per_host()

    async def archive_pending(
        self,
        summary: RunSummary,
        jobs: Iterable[ArticleJob] | None = None,
        *,
        on_recorded: RecordedHook | None = None,
        revisit: bool = False,
    ) -> None:
        """The given `jobs` (claimed by the caller), or every article due when this starts (work_loop),
        with the revisits due if `revisit`."""
        if jobs is not None:
            await self.archiving.archive_jobs(summary, jobs)
        else:
            await self.archiving.archive_due(summary, on_recorded, revisit=revisit)

    def store_many(
        self, items: Sequence[tuple[ArticleJob, ArchiveOutcome]], summaries: Sequence[RunSummary]
    ) -> None:
        self.recorder.store_many(items, summaries)

    def record_outcome(
        self, job: ArticleJob, outcome: ArchiveOutcome, summary: RunSummary
    ) -> ReservedPost | None:
        return self.recorder.record_outcome(job, outcome, summary)

    def record_outcomes(
        self, items: Sequence[tuple[ArticleJob, ArchiveOutcome]], summaries: Sequence[RunSummary]
    ) -> list[ReservedPost | None]:
        return self.recorder.record_outcomes(items, summaries)

    # --- export ------------------------------------------------------------------------------------------

    def write_changes_feed(self) -> bool:
        """The Atom feed of edits and removals, if `[export] changes_feed` asks for one and a change was
        recorded since it was last written (by this process: the first call writes it)."""
        if not self.config.export.changes_feed:
            return False
        from scraper.export.changes_feed import write_changes_feed
        from scraper.store import revisits as revisit_rows

        with self.sessions() as session:
            newest = revisit_rows.newest_change_id(session)
            if newest == self._changes_feed_at:
                return False
            written = write_changes_feed(session, self.config.export.dir, self.config.export.changes_feed)
        self._changes_feed_at = newest
        return written

    def export_unwritten(self, summary: RunSummary, *, limit: int | None = None, mine: bool = True) -> None:
        """Write the posts of the articles this node archived (unless not `mine`), and of those whose node
        died before writing them (scraper.export.writer.export_unwritten); at most `limit` this call."""
        from scraper.export.writer import export_unwritten

        summary.posts_written += export_unwritten(self.leases, self.writer, limit=limit, mine=mine)
        self.write_changes_feed()


def _writer_for(config: Config) -> PostWriter:
    """The writer of a pipeline built by hand (tests, benchmarks) rather than by the composition root: the
    same one `compose.new_writer` gives. Imported here, not at the top: compose imports this module."""
    from scraper.compose import new_writer

    return new_writer(config)
