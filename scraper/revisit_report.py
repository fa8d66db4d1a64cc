"""Revisits as /metrics shows them, per feed: revisits done, edits found, articles removed now (`scraper
status` shows the same counts, scraper.status; both read scraper.store.reports' Core query)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from scraper.store.reports import RevisitCounts, feed_names, revisit_counts

log = logging.getLogger(__name__)


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
