"""Revisits as `scraper status` and /metrics show them, per feed: revisits done, edits found, articles
removed now, removals suspected (to be confirmed by the next visit)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from scraper.store.revisits import RevisitCounts, feed_names, revisit_counts

log = logging.getLogger(__name__)


def revisits_table(session: Session) -> Table | None:
    """A table of revisits per feed; None before any revisit."""
    counts = revisit_counts(session)
    if not counts:
        return None
    names = feed_names(session)
    table = Table(title="revisits", title_justify="left")
    for column in ("feed", "revisits", "edits", "removed", "removal suspected"):
        table.add_column(column, overflow="fold")
    for feed_id, count in sorted(counts.items(), key=lambda item: names.get(item[0], "?")):
        table.add_row(
            names.get(feed_id, "?"),
            str(count.revisits),
            str(count.edits),
            str(count.removed),
            str(count.suspected),
        )
    return table


class RevisitCollector(Collector):
    """`scraper_revisits`, `scraper_edits`, `scraper_removed` per feed, read from the database at each
    scrape (totals over the archive, so they survive restarts and agree between nodes)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # no query at registration time

    def collect(self) -> list[GaugeMetricFamily]:
        families = {
            "revisits": GaugeMetricFamily(
                "scraper_revisits", "Revisits of archived articles, per feed.", labels=["feed"]
            ),
            "edits": GaugeMetricFamily(
                "scraper_edits", "Real edits found by revisits, per feed.", labels=["feed"]
            ),
            "removed": GaugeMetricFamily(
                "scraper_removed", "Articles whose removal is confirmed, per feed.", labels=["feed"]
            ),
        }
        try:
            with self.engine.connect() as connection:
                counts: Mapping[int | None, RevisitCounts] = revisit_counts(connection)
                names = feed_names(connection) if counts else {}
        except Exception as exc:  # scraper_database_up says the database is down; nothing to add here
            log.warning("metrics: revisit counts not read: %s", exc)
            return []
        for feed_id, count in counts.items():
            name = names.get(feed_id, "?")
            families["revisits"].add_metric([name], count.revisits)
            families["edits"].add_metric([name], count.edits)
            families["removed"].add_metric([name], count.removed)
        return list(families.values())
