"""The daemon's metrics when nothing can read them: `[daemon] listen = ""` turns the listener off, and with
it /metrics, the only reader of the counters (scraper.metrics). The daemon then counts nothing: every
worker of a cluster run without a listener skips importing prometheus_client at start-up (and the
listener, the database collectors and their modules), and each request, poll and article skips the
counters' locks and the fetcher's timing hook.

`MetricsOff` has the attributes and methods the daemon and its task pool call on `Metrics`, each doing
nothing; `Series` is what both give for a counter, gauge or histogram (tests/test_run_start.py holds the
two in step, and that `run` without a listener does not import prometheus_client).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from scraper.archive import ArchiveOutcome, ArticleJob
    from scraper.fetch import RequestHook
    from scraper.store.leases import Leases
    from scraper.summary import RunSummary


class Series(Protocol):
    """A metric with labels, as the daemon uses it (prometheus_client's Counter, Gauge and Histogram)."""

    def labels(self, *labelvalues: Any, **labelkwargs: Any) -> Any: ...


class _Nothing:
    """A series that keeps nothing: each label set is itself, each change is dropped."""

    def labels(self, *_values: Any, **_kwargs: Any) -> _Nothing:
        return self

    def inc(self, _amount: float = 1) -> None:
        pass

    def dec(self, _amount: float = 1) -> None:
        pass

    def observe(self, _value: float) -> None:
        pass


class MetricsOff:
    """`Metrics` for a daemon without a listener: the same calls, nothing counted, nothing imported."""

    def __init__(self) -> None:
        nothing = _Nothing()
        self.polls = self.entries_queued = self.fetches = self.archived = nothing
        self.extraction_failures = self.posts_written = self.selector_misses = self.requests = nothing
        self.latency = self.in_flight = self.unexpected_errors = self.config_reloads = nothing

    def count_poll(self, feed: str, summary: RunSummary) -> None:
        pass

    def count_article(self, feed: str, summary: RunSummary) -> None:
        pass

    def count_outcome(self, job: ArticleJob, outcome: ArchiveOutcome) -> None:
        pass

    def request_hook(self, feed_urls: Callable[[], Collection[str]]) -> RequestHook | None:
        """None: the fetcher then neither times nor reports its requests."""
        return None

    def add_database(self, engine: Engine) -> None:
        pass

    def add_leases(self, leases: Leases) -> None:
        pass
