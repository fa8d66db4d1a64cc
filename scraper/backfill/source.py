"""What a backfill work source is: one `scraper backfill` option, and a way to find URLs into the frontier.

A source (`--sitemap`, `--feed-history`, `--urls`, `--reextract`, or one of your own) is a module exposing
an object of the `WorkSource` shape, registered in the composition root (`scraper.compose.WORK_SOURCES`).
The command line (`scraper backfill`) gets one option per registered source, and the runner
(`backfill/runner.py`) runs each source given, in the order they were registered, then archives the queue
through the one work loop when any of them `queues`. So a new source is its own module and one line in
`compose.py`: neither the runner nor the CLI names a source (Scrapy's feed storages, picked from a table by
URI scheme, are the model).

A source finds; it does not fetch articles. What it finds goes through `frontier.queue_found` into the same
queue the feeds fill (deduplicated there), and the ordinary archive path does the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from scraper.backfill.frontier import Filters, SourceReport

if TYPE_CHECKING:
    from scraper.backfill.feed_history import HistoryFeed
    from scraper.backfill.progress import Progress
    from scraper.pipeline import Pipeline

# What the command line gives a source: on/off for a flag, the values (in order) for an option that repeats.
SourceValue = bool | tuple[str, ...]


@dataclass(frozen=True)
class SourceOption:
    """A source's option of `scraper backfill`: `--flag VALUE` (repeatable) when `metavar` is set, else an
    on/off `--flag`. Its `key` names the source in the registry and in `BackfillOptions.sources`."""

    flag: str
    help: str
    metavar: str | None = None

    @property
    def key(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


class Reported(Protocol):
    """A line for the backfill's summary, and the errors that make its exit status 1."""

    errors: list[str]

    def line(self) -> str: ...


class WorkSource(Protocol):
    """A backfill source. `queues`: it queues article URLs, to archive after the sources have run (False for
    one that works on the archive itself, as `--reextract` does)."""

    @property
    def option(self) -> SourceOption: ...

    @property
    def queues(self) -> bool: ...

    async def run(self, given: SourceValue, run: SourceRun) -> None:
        """Do the work for what the command line gave (never called with nothing given), adding a report
        per document or part (`run.start`, `run.add`) and noting each when it is done (`run.note`)."""
        ...


def given_values(given: SourceValue) -> tuple[str, ...]:
    """The values of a repeatable option (none for a flag)."""
    return given if isinstance(given, tuple) else ()


@dataclass
class SourceRun:
    """What a source works with in one backfill: the node's stages (fetcher, sessions, leases, config), the
    options every source shares, and where its reports go."""

    pipeline: Pipeline
    filters: Filters
    feed_id: int | None  # --feed's row: the articles found go under it (None: under no feed)
    feeds: Sequence[HistoryFeed]  # --feed's, else every enabled configured feed
    progress: Progress
    stdin: Callable[[], Iterable[str]]  # standard input, opened only when a source reads it ("-")
    rescan: bool = False
    max_pages: int = 1000
    reports: list[Reported] = field(default_factory=list)

    def start(self, name: str) -> SourceReport:
        """A new report of queued URLs, in the summary even if the source stops half way."""
        report = SourceReport(name)
        self.reports.append(report)
        return report

    def add(self, report: Reported) -> None:
        self.reports.append(report)

    def note(self, report: Reported) -> None:
        self.progress.note(report.line())
