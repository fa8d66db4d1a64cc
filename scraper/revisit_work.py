"""Revisits as claimed work for the one work loop (scraper.work_loop): claiming the archived articles due
for a revisit, spread over hosts like new work, and running each (fetch, compare, record).

The work loop asks for revisits only after new work, and for at most `[revisit] share` of its tasks, so a
backlog of revisits never holds back an article not yet archived. A revisit goes through the same fetcher,
so the same politeness per host and in all, and under the same kind of lease as any article.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row

from scraper.config import Config
from scraper.extract import RuleBook
from scraper.fetch import Fetcher, RequestPolicy
from scraper.hosts import spread_over_hosts
from scraper.revisit import OFF, OUTAGE, RevisitJob, RevisitOutcome, revisit_article
from scraper.revisit_recorder import RevisitRecorder
from scraper.store import revisits as revisit_rows
from scraper.store.leases import Leases
from scraper.store.models import Article, Feed
from scraper.summary import RunSummary

log = logging.getLogger(__name__)

CLAIM_SCAN = 4  # due revisits read per one claimed, to find other hosts' among one host's
HOSTS_FOR = timedelta(minutes=1)  # how long the hosts with revisits due are taken as known


class RevisitWork:
    def __init__(
        self,
        config: Config,
        leases: Leases,
        recorder: RevisitRecorder,
        fetcher: Fetcher,
        rules: RuleBook,
        policies: Mapping[str, RequestPolicy],
        feed_rows: Callable[[set[int]], Mapping[int, Feed]],
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.leases = leases
        self.recorder = recorder
        self.fetcher = fetcher
        self.rules = rules
        self.policies = policies
        self.feed_rows = feed_rows
        self.clock = clock
        self.share = config.revisit.share
        self.feeds_by_url = {feed.url: feed for feed in config.feeds}
        self._feeds: dict[int, Feed] = {}  # feed rows by id, for the jobs of claimed revisits
        self._hosts: tuple[datetime, set[str]] | None = None  # hosts with revisits due, and when read

    @property
    def enabled(self) -> bool:
        return self.config.revisit.enabled

    def claim(
        self, limit: int, *, due_before: datetime, per_host: int | None, held: Mapping[str, int]
    ) -> list[RevisitJob]:
        """Up to `limit` archived articles due for a revisit by `due_before`, oldest due first, so that
        the caller holds at most `per_host` of one host."""
        if limit <= 0 or not self.enabled:
            return []
        counts = Counter(held)
        full = sorted(host for host, n in counts.items() if per_host is not None and n >= per_host)
        if per_host is not None:  # no more than the due hosts' room: the claim reads `scan` rows for it
            limit = min(limit, sum(max(0, per_host - counts[host]) for host in self._due_hosts(due_before)))
            if limit <= 0:
                return []

        def pick(rows: list[Any]) -> list[Any]:
            room = None if per_host is None else lambda name: per_host - counts[name]
            return spread_over_hosts(rows, lambda a: a.host or "", room)

        rows = self.leases.claim(
            "article",
            revisit_rows.due(due_before, full),
            order_by=[Article.revisit_at, Article.id],
            limit=limit,
            scan=limit * CLAIM_SCAN,
            pick=pick,
            pick_by=[Article.host],
            columns=revisit_rows.JOB_COLUMNS,
        )
        missing = {row.feed_id for row in rows if row.feed_id is not None and row.feed_id not in self._feeds}
        if missing:  # feed rows change with the config, and a new pipeline comes with a new config
            self._feeds.update(self.feed_rows(missing))
        feeds = self._feeds
        return [self._job(row, feeds.get(row.feed_id or 0)) for row in rows]

    def _due_hosts(self, due_before: datetime) -> set[str]:
        """The hosts with revisits due, read again once a minute: a claim's room is the sum of their
        rooms, so that the claim reads a few rows per revisit it can take, not per free slot of the
        window (with most hosts at their share, a claim takes a few of hundreds it would read). A host
        due for the first time since the last read waits at most that minute."""
        now = self.clock()
        if self._hosts is None or not self._hosts[1] or now - self._hosts[0] >= HOSTS_FOR:
            with self.leases.engine.connect() as connection:
                self._hosts = (now, revisit_rows.due_hosts(connection, due_before))
        return self._hosts[1]

    def _job(self, row: Row[Any], feed: Feed | None) -> RevisitJob:
        feed_config = self.feeds_by_url.get(feed.url) if feed else None
        from_feed = row.content_source == "feed"
        # A feed's body is no version of the page: until a revisit has seen the page (and kept it as the
        # baseline), the validators of the archive's fetch must not let it pass as unchanged.
        known = not from_feed or bool(row.revisits)
        return RevisitJob(
            article_id=row.id,
            url=row.url,
            feed_id=row.feed_id,
            feed_name=feed.name if feed else "",
            feed_url=feed.url if feed else None,
            selector=feed_config.selector if feed_config else None,
            remove=feed_config.remove if feed_config else (),
            etag=row.page_etag if known else None,
            last_modified=row.page_last_modified if known else None,
            digest=row.page_digest if known else None,
            policy=self.policies.get(feed.url) if feed else None,
            from_feed=from_feed,
        )

    async def run(self, job: RevisitJob, summary: RunSummary) -> None:
        """Fetch, compare and record one claimed revisit; a bug in the unit is an outage, never a raise."""
        if not self.recorder.schedule_of(job.feed_url):  # revisits turned off since it was scheduled
            summary.merge(await self.recorder.record(job, RevisitOutcome(OFF)))
            return
        try:
            outcome = await revisit_article(job, self.fetcher, self.rules)
        except Exception as exc:
            log.exception("revisit of %s: unexpected error", job.url)
            outcome = RevisitOutcome(OUTAGE, f"internal error: {type(exc).__name__}: {exc}")
        summary.merge(await self.recorder.record(job, outcome))
