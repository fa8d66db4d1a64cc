"""status at a million articles: the articles with an error, indexed apart (a partial index), so the
commonest reasons `scraper status` shows read those rows alone, not every archived one

Revision ID: 0007_s11_16
Revises: 0006_issue_16
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_s11_16"
down_revision = "0006_issue_16"
branch_labels = None
depends_on = None

WHERE = sa.text("last_error IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_articles_errors", "articles", ["feed_id", "status"], sqlite_where=WHERE, postgresql_where=WHERE
    )


def downgrade() -> None:
    op.drop_index("ix_articles_errors", table_name="articles")
