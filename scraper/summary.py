"""What a run did, counted: the line `scraper once` prints, the metrics' source, the exit status's reason."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RunSummary:
    feeds_polled: int = 0
    feeds_not_modified: int = 0
    feeds_failed: int = 0
    new_entries: int = 0
    archived: int = 0
    gone: int = 0
    retrying: int = 0
    failed: int = 0
    posts_written: int = 0
    feeds_deferred: int = 0  # not polled: the host asked everyone to wait (Retry-After)
    deferred: int = 0  # articles not fetched for the same reason
    lost: int = 0  # results discarded: the lease had expired and another node took the work over
    refused: int = 0  # feed entries not queued: no link, or one the archive may not fetch (see errors)
    revisited: int = 0  # archived articles fetched again (scraper.revisit)
    edited: int = 0  # of which a real edit was found
    removed: int = 0  # of which a removal was confirmed
    restored: int = 0  # of which the page came back after a removal
    errors: list[str] = field(default_factory=list)

    def merge(self, other: RunSummary) -> None:
        """Add another summary's counts and errors (one a worker thread kept, so no count is lost)."""
        for name, value in vars(other).items():
            if isinstance(value, int):
                setattr(self, name, getattr(self, name) + value)
        self.errors.extend(other.errors)

    def line(self) -> str:
        feeds_deferred = f", {self.feeds_deferred} deferred" if self.feeds_deferred else ""
        deferred = f", deferred {self.deferred}" if self.deferred else ""
        return (
            f"polled {self.feeds_polled} feeds ({self.feeds_not_modified} not modified, "
            f"{self.feeds_failed} failed{feeds_deferred}); {self.new_entries} new entries; "
            f"archived {self.archived}, gone {self.gone}, retrying {self.retrying}, failed {self.failed}"
            f"{deferred}; wrote {self.posts_written} posts"
            + (f"; {self.lost} results discarded (leases lost)" if self.lost else "")
            + (f"; {self.refused} entries refused" if self.refused else "")
            + (
                f"; revisited {self.revisited} (edited {self.edited}, removed {self.removed}, "
                f"restored {self.restored})"
                if self.revisited
                else ""
            )
        )
