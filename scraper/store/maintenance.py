"""After a bulk load (an import, the adoption of a posts folder): the planner's statistics, and on
PostgreSQL the visibility map, brought up to date at once.

`scraper status` and the metrics count articles by (feed, status) from an index alone; PostgreSQL answers
from the index only for pages its visibility map marks all-visible, which autovacuum sets some time after
a million rows arrive. Until then each count reads the whole table (0.4 s at 200,000 articles against
0.05 s after). So an import that added many rows vacuums and analyses the table itself.
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
    elif engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.execute(text("PRAGMA optimize"))
