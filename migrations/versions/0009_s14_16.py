"""An import at a million posts: fewer index entries per imported row. The articles' lease, posts-to-write
and revisit indexes become partial (only the rows their queries look for: leased, post not written,
revisit scheduled), and the index on feed_id alone goes (the indexes on (feed_id, status) and
(feed_id, guid) lead with it). An imported post was in all four, a seen URL in three; neither is now but
for the seen URL's entry among the posts to write.

Revision ID: 0009_s14_16
Revises: 0008_s13_16
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_s14_16"
down_revision = "0008_s13_16"
branch_labels = None
depends_on = None

# name, columns, predicate (as in scraper.store.tables, copied: a migration keeps what it made)
PARTIAL = (
    ("ix_articles_lease_owner", ["lease_owner"], "lease_owner IS NOT NULL"),
    ("ix_articles_status_post_written_at", ["status", "post_written_at"], "post_written_at IS NULL"),
    ("ix_articles_status_revisit_at", ["status", "revisit_at"], "revisit_at IS NOT NULL"),
)


def upgrade() -> None:
    op.drop_index("ix_articles_feed_id", table_name="articles")
    for name, columns, where in PARTIAL:
        op.drop_index(name, table_name="articles")
        predicate = sa.text(where)
        op.create_index(name, "articles", columns, sqlite_where=predicate, postgresql_where=predicate)


def downgrade() -> None:
    for name, columns, _ in PARTIAL:
        op.drop_index(name, table_name="articles")
        op.create_index(name, "articles", columns)
    op.create_index("ix_articles_feed_id", "articles", ["feed_id"])
