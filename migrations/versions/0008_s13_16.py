"""status at a million articles: the articles revisited at least once, indexed apart (a partial index), so
the revisit summary `scraper status` and /metrics show sums those rows alone, not every archived one

Revision ID: 0008_s13_16
Revises: 0007_s11_18
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_s13_16"
down_revision = "0007_s11_18"
branch_labels = None
depends_on = None

WHERE = sa.text("revisits > 0")


def upgrade() -> None:
    op.create_index(
        "ix_articles_revisited", "articles", ["feed_id", "status"], sqlite_where=WHERE, postgresql_where=WHERE
    )


def downgrade() -> None:
    op.drop_index("ix_articles_revisited", table_name="articles")
