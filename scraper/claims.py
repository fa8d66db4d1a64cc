"""Claiming pending articles for this node, spread over hosts, as the jobs the archive stage runs.

The queue is read in id order, a few rows per one wanted, and hosts the caller holds enough of are left
out of the read, so one host's backlog at the head of the queue does not hide the others' work. Each read
is its own short claim transaction (scraper.store.leases).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row

from scraper.archive import ArticleJob
from scraper.config import Config
from scraper.fetch import RequestPolicy
from scraper.hosts import spread_over_hosts
from scraper.revisit import feed_schedules
from scraper.store import articles as article_rows
from scraper.store import feeds as feed_rows
from scraper.store.leases import Leases
from scraper.store.tables import articles

Article = articles.c  # Core columns: claims are read as plain rows, no mapped objects

# Pending articles read per one claimed, to find other hosts' work among one host's backlog. Reading takes
# no row lock (only those claimed are locked, scraper.store.leases), so a claim reads generously: one read
# finds the hosts a node's share of each (two articles of a host, with four nodes) needs.
CLAIM_SCAN = 8
CLAIM_PASSES = 4  # reads past hosts held enough of, in one claim
EMPTY_BEYOND_SECONDS = 1.0  # a read past some hosts that found nothing is not done again for this long
CLAIMS_PER_HOST_SLOT = 2  # articles of one host claimed per per-host request slot (one in flight, one next)

# What a claim reads of an article for its job.
JOB_COLUMNS = (
    Article.id,
    Article.feed_id,
    Article.url,
    Article.host,
    Article.entry_title,
    Article.entry_author,
    Article.entry_published_at,
    Article.entry_content,
)


# What a job takes of its feed: policy, name, local, content source, selector, remove, first revisit.
_FeedFacts = tuple[RequestPolicy | None, str, bool, str, str | None, tuple[str, ...], timedelta | None]


class ArticleClaims:
    def __init__(
        self,
        config: Config,
        leases: Leases,
        policies: Mapping[str, RequestPolicy],
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.leases = leases
        self.policies = policies
        self.clock = clock
        self.feeds_by_url = {feed.url: feed for feed in config.feeds}
        self.revisit_schedules = feed_schedules(config)
        self._feed_rows: dict[int, Row[Any]] = {}  # (id, url, name) by id, for the jobs of claimed articles
        self._feed_facts: dict[int | None, _FeedFacts] = {}  # see _facts_of
        self._empty_beyond: tuple[frozenset[str], float] | None = None  # see _nothing_beyond
        self._postgresql = leases.engine.dialect.name == "postgresql"

    def claim_jobs(
        self,
        limit: int,
        *,
        due_before: datetime | None = None,
        per_host: int | None = None,
        held: Mapping[str, int] | None = None,
        exclude_ids: Collection[int] = (),
    ) -> list[ArticleJob]:
        """Claim up to `limit` pending articles due by `due_before` (default now), interleaved by host,
        so that the caller holds at most `per_host` of one host (`held`: how many it holds already).

        The queue is read in id order, `CLAIM_SCAN` rows per one wanted, and hosts the caller has enough
        of are left out of the read (a read that found only such hosts is done again without them, up to
        `CLAIM_PASSES` times), so one host's backlog at the head of the queue does not hide the others'
        work. Each read is its own short claim transaction.
        """
        counts = Counter(held or {})
        now = due_before or self.clock()
        articles: list[Row[Any]] = []
        for _ in range(CLAIM_PASSES):
            scanned = 0

            def pick(rows: list[Any]) -> list[Any]:
                nonlocal scanned
                scanned = len(rows)
                room = None if per_host is None else lambda name: per_host - counts[name]
                return spread_over_hosts(rows, lambda a: a.host or "", room)

            full = sorted(host for host, n in counts.items() if per_host is not None and n >= per_host)
            if full and self._nothing_beyond(full):
                break
            shape = (bool(full), bool(exclude_ids))
            wanted = limit - len(articles)
            claimed = self.leases.claim(
                "article",
                article_rows.claimable_bound(*shape, self._postgresql),
                order_by=[Article.id],
                limit=wanted,
                scan=wanted * CLAIM_SCAN,
                pick=pick,
                pick_by=[Article.host],
                columns=JOB_COLUMNS,
                params=article_rows.claimable_params(now, full, exclude_ids),
                shape=("claimable", *shape),
            )
            articles += claimed
            counts.update(article.host or "" for article in claimed)
            if full and not scanned:  # the queue holds nothing but these hosts' work: read it again later
                self._empty_beyond = (frozenset(full), time.monotonic() + EMPTY_BEYOND_SECONDS)
            # Again only if the read was cut short by hosts we now hold enough of: it may hide others.
            if len(articles) >= limit or scanned < wanted * CLAIM_SCAN or len(claimed) == scanned:
                break
        articles = spread_over_hosts(articles, lambda a: a.host or "")
        missing = {a.feed_id for a in articles if a.feed_id is not None and a.feed_id not in self._feed_rows}
        if missing:  # feed rows change with the config, and a new pipeline comes with a new config
            with self.leases.engine.connect() as connection:
                for feed in feed_rows.names_by_id(connection, missing):
                    self._feed_rows[feed.id] = feed
        return [self._job(article, self._feed_rows.get(article.feed_id or 0)) for article in articles]

    def _nothing_beyond(self, hosts: Sequence[str]) -> bool:
        """Did a read leaving out these hosts (or fewer) find nothing a moment ago? Then the next would
        not either: it is skipped (such a read goes through the whole backlog of the hosts left out)."""
        if self._empty_beyond is None:
            return False
        left_out, until = self._empty_beyond
        return time.monotonic() < until and left_out <= set(hosts)

    def claims_per_host(self) -> int:
        """How many articles of one host a node claims at a time: enough to keep its share of the host's
        request slots busy (scraper.politeness divides them between the live nodes), and no more, so the
        rest stays free for the other nodes and the other hosts."""
        limits = [self.config.http.per_host_concurrency]
        limits += [feed.per_host_concurrency for feed in self.config.feeds if feed.per_host_concurrency]
        return CLAIMS_PER_HOST_SLOT * max(1, max(limits) // max(1, self.leases.live_nodes))

    def _job(self, article: Any, feed: Row[Any] | None) -> ArticleJob:
        """The job of a claimed article (a named tuple of JOB_COLUMNS) of this feed."""
        facts = self._feed_facts.get(article.feed_id)
        if facts is None:
            facts = self._facts_of(feed)
            if feed is not None or article.feed_id is None:  # a feed row not read (yet): not kept
                self._feed_facts[article.feed_id] = facts
        policy, feed_name, local, content_source, selector, remove, first_revisit = facts
        return ArticleJob(
            policy=policy,
            article_id=article.id,
            url=article.url,
            feed_name=feed_name,
            feed_is_local=local,
            content_source=content_source,
            selector=selector,
            remove=remove,
            entry_title=article.entry_title,
            entry_author=article.entry_author,
            entry_published=article.entry_published_at,
            entry_content=article.entry_content,
            first_revisit=first_revisit,
        )

    def _facts_of(self, feed: Row[Any] | None) -> _FeedFacts:
        """What a job takes of its feed (its row and its config), the same for each of its articles: made
        once per feed (a pipeline's config does not change; a new config comes with new claims)."""
        feed_config = self.feeds_by_url.get(feed.url) if feed else None
        return (
            self.policies.get(feed.url) if feed else None,
            feed.name if feed else "",
            bool(feed and feed.url.startswith("file:")),
            feed_config.content if feed_config else "page",
            feed_config.selector if feed_config else None,
            feed_config.remove if feed_config else (),
            next(iter(self.revisit_schedules(feed.url if feed else None)), None),
        )
