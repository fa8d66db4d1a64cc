"""a big archive: articles indexed by (feed_id, status) for the status counts; folder_stamps, so a run
adopts the export folder's posts only when the folder changed; imported posts marked written (their file
is on disk), so the posts still to write are a short range of (status, post_written_at)

Revision ID: 0006_issue_16
Revises: 0006_issue_17
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_issue_16"
down_revision = "0006_issue_17"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_articles_feed_id_status", "articles", ["feed_id", "status"])
    op.create_table(
        "folder_stamps",
        sa.Column("folder", sa.String(length=1024), nullable=False),
        sa.Column("directories", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("folder", name=op.f("pk_folder_stamps")),
    )
    op.execute(
        sa.text(
            "UPDATE articles SET post_written_at = COALESCE(archived_at, discovered_at) "
            "WHERE content_source = 'import' AND post_written_at IS NULL"
        )
    )


def downgrade() -> None:
    op.drop_table("folder_stamps")
    op.drop_index("ix_articles_feed_id_status", table_name="articles")
