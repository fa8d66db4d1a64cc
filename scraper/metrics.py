"""Prometheus metrics of one daemon, in a registry of its own (no module-level state: tests start several).

Counters and histograms are fed as work happens. What the database knows (the queue of pending articles,
each feed's last success) is read from it at scrape time by `DatabaseCollector`, so the numbers are those of
the archive, whichever process (daemon, cron run, another node) did the work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from datetime import datetime
from functools import partial

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from scraper.archive import ArchiveOutcome, ArticleJob
from scraper.fetch import RequestHook, Response
from scraper.pipeline import RunSummary
from scraper.revisit_report import RevisitCollector
from scraper.store.leases import Leases
from scraper.store.posts import posts_waiting
from scraper.store.reports import archive_gauges
from scraper.store.tables import ArticleStatus, utcnow

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter(
            "scraper_polls",
            "Feed polls by feed and outcome (ok, not_modified, failed).",
            ["feed", "outcome"],
            registry=r,
        )
        self.entries_queued = Counter(
            "scraper_entries_queued", "New feed entries queued as articles.", ["feed"], registry=r
        )
        self.fetches = Counter(
            "scraper_fetches",
            "Article fetch attempts by outcome (archived, gone, retrying, failed).",
            ["outcome"],
            registry=r,
        )
        self.archived = Counter("scraper_articles_archived", "Articles archived.", ["feed"], registry=r)
        self.extraction_failures = Counter(
            "scraper_extraction_failures",
            "Pages fetched fine that gave no article (an extractor error, or no text found).",
            ["feed"],
            registry=r,
        )
        self.posts_written = Counter("scraper_posts_written", "Post files written or rewritten.", registry=r)
        self.selector_misses = Counter(
            "scraper_selector_misses",
            "Pages on which the feed's selector matched nothing (the generic finder was used).",
            ["feed"],
            registry=r,
        )
        self.requests = Counter(
            "scraper_http_requests",
            "HTTP requests by kind (feed, page) and result (2xx, 3xx, 4xx, 5xx, error).",
            ["kind", "result"],
            registry=r,
        )
        self.latency = Histogram(
            "scraper_http_request_duration_seconds",
            "Time to a whole answer (redirects and body included), by kind (feed, page).",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "scraper_in_flight", "Feed polls and article fetches under way.", ["kind"], registry=r
        )
        self.unexpected_errors = Counter(
            "scraper_unexpected_errors",
            "Work items that raised instead of giving an outcome (a bug or a database error).",
            ["kind"],
            registry=r,
        )
        self.config_reloads = Counter(
            "scraper_config_reloads", "Config reloads by result (ok, failed).", ["result"], registry=r
        )
        self._label_defaults()

    def _label_defaults(self) -> None:
        """The series shown at 0 from the start, so a dashboard's rate() has a base before the first."""
        for kind in ("feed", "page"):
            self.in_flight.labels(kind)
        for outcome in ("archived", "gone", "retrying", "failed"):
            self.fetches.labels(outcome)

    def count_poll(self, feed: str, summary: RunSummary) -> None:
        """`summary` is the one poll's own: which counter moved says the outcome."""
        if summary.feeds_failed:
            self.polls.labels(feed, "failed").inc()
        elif summary.feeds_not_modified:
            self.polls.labels(feed, "not_modified").inc()
        elif summary.feeds_polled:
            self.polls.labels(feed, "ok").inc()
        if summary.new_entries:
            self.entries_queued.labels(feed).inc(summary.new_entries)

    def count_article(self, feed: str, summary: RunSummary) -> None:
        """`summary` is the one article's own."""
        for outcome in ("archived", "gone", "retrying", "failed"):
            if getattr(summary, outcome):
                self.fetches.labels(outcome).inc()
        if summary.archived:
            self.archived.labels(feed).inc()

    def count_outcome(self, job: ArticleJob, outcome: ArchiveOutcome) -> None:
        """The recorder's `on_outcome` hook: a page that came but gave no article is an extraction failure."""
        page_came = outcome.response is not None and outcome.response.ok
        if outcome.record is None and page_came:
            self.extraction_failures.labels(job.feed_name).inc()
        if outcome.extra.get("selector_missed"):
            self.selector_misses.labels(job.feed_name).inc()

    def request_hook(self, feed_urls: Callable[[], Collection[str]]) -> RequestHook:
        """The fetcher's `on_request` hook: every request timed and counted by kind (a feed poll when its
        URL is a configured feed's, else a page) and result."""

        def observe(url: str, response: Response | None, seconds: float) -> None:
            kind = "feed" if url in feed_urls() else "page"
            result = "error" if response is None else f"{response.status // 100}xx"
            self.requests.labels(kind, result).inc()
            self.latency.labels(kind).observe(seconds)

        return observe

    def add_database(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.registry.register(DatabaseCollector(engine, clock))
        self.registry.register(RevisitCollector(engine))

    def add_leases(self, leases: Leases) -> None:
        """This node's share of a cluster: leases held now, results discarded for a lost lease, live nodes."""
        held = Gauge(
            "scraper_leases_held",
            "Units of work this node holds a lease on.",
            ["kind"],
            registry=self.registry,
        )
        for kind in ("feed", "article", "document"):
            held.labels(kind).set_function(partial(_count_held, leases, kind))
        Gauge(
            "scraper_leases_lost",
            "Results discarded: the lease had gone to another node.",
            registry=self.registry,
        ).set_function(lambda: leases.lost)
        Gauge(
            "scraper_cluster_nodes", "Nodes whose heartbeat is within the lease time.", registry=self.registry
        ).set_function(lambda: leases.live_nodes)


class DatabaseCollector(Collector):
    """Queue depth and per-feed health, read from the database at each scrape."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def describe(self) -> list[Metric]:
        return []  # nothing to check for clashes, and no query at registration time

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("scraper_database_up", "1 when the database answered this scrape.")
        try:
            metrics = self._read()
        except Exception as exc:
            log.warning("metrics: the database did not answer: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _read(self) -> list[Metric]:
        now = self.clock()
        queue = GaugeMetricFamily(
            "scraper_queue_depth",
            "Pending articles: due (to fetch now) or waiting (a retry later).",
            labels=["state"],
        )
        articles = GaugeMetricFamily(
            "scraper_articles", "Articles in the archive by status.", labels=["status"]
        )
        since = GaugeMetricFamily(
            "scraper_feed_seconds_since_success",
            "Seconds since the feed last answered a poll (since it was added, if it never has).",
            labels=["feed"],
        )
        failures = GaugeMetricFamily(
            "scraper_feed_failures_in_row", "Polls failed in a row, per feed.", labels=["feed"]
        )
        unwritten = GaugeMetricFamily(
            "scraper_posts_unwritten",
            "Archived articles whose post is not on disk yet (stays above 0 while export.dir is unwritable).",
        )
        with self.engine.connect() as connection:
            gauges = archive_gauges(connection, now)
            unwritten.add_metric([], posts_waiting(connection))
        by_status, due, feeds = gauges.by_status, gauges.due, gauges.feeds
        pending = by_status.get(ArticleStatus.PENDING, 0)
        queue.add_metric(["due"], due or 0)
        queue.add_metric(["waiting"], pending - (due or 0))
        for status in ArticleStatus.ALL:
            articles.add_metric([status], by_status.get(status, 0))
        for name, last_success, created, failures_in_row in feeds:
            since.add_metric([name], _seconds_since(now, last_success or created))
            failures.add_metric([name], failures_in_row or 0)
        return [queue, articles, since, failures, unwritten]


def _count_held(leases: Leases, kind: str) -> float:
    return len(leases.held(kind))


def _seconds_since(now: datetime, then: datetime | None) -> float:
    if then is None:
        return float("inf")
    if then.tzinfo is None:  # a row written by raw SQL on SQLite; the models keep UTC
        then = then.replace(tzinfo=now.tzinfo)
    return max((now - then).total_seconds(), 0.0)
