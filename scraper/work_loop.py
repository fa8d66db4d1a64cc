"""The archive stage: the one per-host work loop, for `once` and the backfill; its claim step
(`claim_more`) and its unit of work (`archive`: fetch, extract, record) are what the daemon's archive job
and tasks run too.

The loop claims a window of due articles at a time (scraper.claims, spread over hosts and never more of
one host than its request slots can use), runs each as a task, and claims again as tasks end. The fetcher
does the pacing (scraper.politeness: per host and in all), and a task takes a request slot only once its
host's turn has come, so a task waiting on a busy host holds nothing another host could use. Every
outcome goes through the one recorder (scraper.outcome_recorder).

One rule for a unit that raises instead of giving an outcome (a bug in an extractor, say): the article is
recorded as failed, with the exception as its reason, and counted; it is neither left pending to be
fetched again forever nor silently dropped. Interrupted (Ctrl-C, a stop), the loop cancels what runs,
records what was already fetched, and gives the claims of the rest back at once.

The daemon does not run `archive_due` (which ends once what was due at its start is done): its archive job
runs the same claim step on every tick or wake, and each claimed job as a task of its own task pool
(scraper.task_pool: the cool-down of a unit that raised, the grace period on stopping, the in-flight count
its health shows), which runs `archive`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from scraper.archive import ArchiveOutcome, ArticleJob, archive_article
from scraper.claims import ArticleClaims
from scraper.extract import RuleBook
from scraper.fetch import Fetcher
from scraper.hosts import host_key, spread_over_hosts
from scraper.inline_batch import InlineBatch
from scraper.logs import logging_about
from scraper.outcome_recorder import OutcomeRecorder
from scraper.store.leases import Leases
from scraper.store.models import ArticleStatus
from scraper.summary import RunSummary

if TYPE_CHECKING:
    from scraper.revisit_work import RevisitWork

log = logging.getLogger(__name__)

TASKS_PER_SLOT = 8  # archive tasks alive per global request slot (the rest wait their turn unstarted)
MIN_WINDOW = 64


def archive_window(concurrency: int) -> int:
    """How many claimed articles a node holds at once, on every path (`once`, the daemon, the backfill).

    Sized by what the node can hold, not by its request slots alone: a claimed job waiting for its host's
    turn costs a small object and holds no slot (scraper.politeness), and each claim, lease renewal and
    outcome batch is a transaction whatever its size, so a window of a few dozen spreads those over many
    articles even at `http.concurrency = 4`. The per-host share (scraper.claims) still bounds what one
    node takes of a host, so the rest stays with the other nodes."""
    return max(MIN_WINDOW, concurrency * TASKS_PER_SLOT)


RecordedHook = Callable[[ArticleJob, RunSummary], None]


async def archive_one(
    job: ArticleJob, fetcher: Fetcher, rules: RuleBook, pages: InlineBatch | None = None
) -> ArchiveOutcome:
    """The article's outcome; an exception (a bug) is a failed outcome with its reason, never a raise."""
    try:
        with logging_about(feed=job.feed_name, article=job.url, article_id=job.article_id):
            return await archive_article(job, fetcher, rules, pages)
    except Exception as exc:
        log.exception("article %s: unexpected error", job.url)
        return ArchiveOutcome(ArticleStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}")


def job_host(job: ArticleJob) -> str:
    return host_key(job.url)


def interleave_by_host(jobs: Sequence[ArticleJob]) -> list[ArticleJob]:
    """Round-robin over hosts (first-seen order kept within a host): a, b, c, a, b, a, ..."""
    return spread_over_hosts(jobs, job_host, None)


class ArchiveStage:
    def __init__(
        self,
        claims: ArticleClaims,
        recorder: OutcomeRecorder,
        fetcher: Fetcher,
        rules: RuleBook,
        leases: Leases,
        *,
        concurrency: int,
        clock: Callable[[], datetime],
        revisits: RevisitWork | None = None,
    ) -> None:
        self.claims = claims
        self.recorder = recorder
        self.fetcher = fetcher
        self.rules = rules
        self.leases = leases
        self.window = archive_window(concurrency)
        self.clock = clock
        self.revisits = revisits
        self.pages = InlineBatch()  # small pages extracted a few at a time (scraper.inline_batch)

    async def archive(
        self, job: ArticleJob, summary: RunSummary, on_recorded: RecordedHook | None = None
    ) -> None:
        """Fetch, extract and record one claimed article, counting it in `summary`."""
        outcome = await archive_one(job, self.fetcher, self.rules, self.pages)
        own = await self.recorder.record(job, outcome)
        summary.merge(own)
        if on_recorded is not None:
            on_recorded(job, own)

    async def archive_jobs(self, summary: RunSummary, jobs: Iterable[ArticleJob]) -> None:
        """These claimed jobs (the daemon's tasks), interleaved by host."""
        await asyncio.gather(*(self.archive(job, summary) for job in interleave_by_host(list(jobs))))

    def _start_revisits(
        self,
        room: int,
        cutoff: datetime,
        per_host: int,
        by_host: Counter[str],
        running: dict[asyncio.Task[None], tuple[str, int]],
        revisiting: set[asyncio.Task[None]],
        summary: RunSummary,
    ) -> int:
        """Claim and start revisits in the room new work left (new work is claimed first): while new work
        runs, up to their share of the window; when there is none, the room. Returns how many."""
        work = self.revisits
        if work is None or room <= 0:
            return 0
        free = room
        if len(running) > len(revisiting):  # new work in hand: revisits keep to their share
            free = min(room, self._revisit_slots() - len(revisiting))
        if revisiting and free < self._revisit_batch():  # a claim is a transaction: claim in batches
            return 0
        jobs = work.claim(free, due_before=cutoff, per_host=per_host, held=by_host)
        for job in jobs:
            host = host_key(job.url)
            by_host[host] += 1
            task = asyncio.create_task(work.run(job, summary))
            running[task] = (host, job.article_id)
            revisiting.add(task)
        return len(jobs)

    def _revisit_slots(self) -> int:
        return max(1, int(self.window * self.revisits.share)) if self.revisits is not None else 0

    def _revisit_batch(self) -> int:
        return max(1, self._revisit_slots() // 4)

    async def archive_due(
        self, summary: RunSummary, on_recorded: RecordedHook | None = None, *, revisit: bool = False
    ) -> None:
        """Every article due when this starts, claimed a window at a time as tasks end; with `revisit`,
        the revisits due too, in what room new work leaves (scraper.revisit_work)."""
        cutoff = self.clock()  # what falls due again during the run (a retry, a deferral) waits for the next
        running: dict[asyncio.Task[None], tuple[str, int]] = {}
        revisiting: set[asyncio.Task[None]] = set()
        by_host: Counter[str] = Counter()
        per_host = self.claims.claims_per_host()
        # The last claim found less than it could take (the queue is short, or its hosts are full): claim
        # again once half a host's share has ended (a claim reads the queue: not one per finished fetch).
        dry, ended = False, 0
        try:
            while True:
                room = self.window - len(running)
                if not dry and room >= max(1, self.window // 4):
                    per_host = self.claims.claims_per_host()
                    hosts = {article_id: host for host, article_id in running.values()}
                    claimed = self.claim_more(
                        hosts, self.window, batch=room, due_before=cutoff, per_host=per_host
                    )
                    for job in claimed:
                        host = job_host(job)
                        by_host[host] += 1
                        task = asyncio.create_task(self.archive(job, summary, on_recorded))
                        running[task] = (host, job.article_id)
                    again = 0
                    if revisit:
                        again = self._start_revisits(
                            room - len(claimed), cutoff, per_host, by_host, running, revisiting, summary
                        )
                    dry, ended = len(claimed) + again < room, 0
                if not running:
                    if dry:
                        break
                    continue
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    by_host[running.pop(task)[0]] -= 1
                    revisiting.discard(task)
                    task.result()
                ended += len(done)
                regroup = max(per_host // 2, self._revisit_batch() if revisiting else 1, 1)
                dry = dry and ended < regroup and bool(running)
        finally:  # interrupted: what was not recorded is given back at once, not at expiry
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await self.recorder.wait()  # what was fetched is recorded, not fetched again
            if self.revisits is not None:
                await self.revisits.recorder.wait()
            self.leases.release("article", [article_id for _, article_id in running.values()])

    def claim_more(
        self,
        running: Mapping[int, str],
        capacity: int,
        *,
        batch: int,
        due_before: datetime | None = None,
        per_host: int | None = None,
        exclude_ids: Collection[int] = (),
    ) -> list[ArticleJob]:
        """The loop's claim step: once at least `batch` of the caller's `capacity` is free (`running`: the
        article id and host of each job it runs), claim that room of articles due by `due_before` (default
        now), spread over hosts, never more of one host than its share (`per_host`, default
        `claims.claims_per_host`: what the live nodes leave it) counting those it runs. `exclude_ids`: jobs
        the caller will not run yet (the daemon's cooling ones). Each claim is a lease (scraper.claims)."""
        room = capacity - len(running)
        if room < max(1, batch):
            return []
        return self.claims.claim_jobs(
            room,
            due_before=due_before,
            per_host=self.claims.claims_per_host() if per_host is None else per_host,
            held=Counter(running.values()),
            exclude_ids=exclude_ids,
        )
