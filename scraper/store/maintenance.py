"""After a bulk load (an import, the adoption of a posts folder): the planner's statistics, and on
PostgreSQL the visibility map, brought up to date at once.

`scraper status` and the metrics count articles by (feed, status) from an index alone; PostgreSQL answers
from the index only for pages its visibility map marks all-visible, which autovacuum sets some time after
a million rows arrive. Until then each count reads the whole table (0.4 s at 200,000 articles against
0.05 s after). So an import that added many rows vacuums and analyses the table itself.

Not on SQLite: its ANALYZE (or PRAGMA optimize) writes statistics that, taken right after an import where
every row is archived, send the claim of pending articles to a scan of the whole table (10 s at 300,000
rows, measured); without statistics it takes the (status, ...) index, and reads only what is pending.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

BULK_ROWS = 10_000  # fewer new rows than this: autovacuum is soon enough


def after_bulk_load(engine: Engine, rows: int) -> None:
    if rows < BULK_ROWS:
        return
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE) articles"))
