"""backfill documents: sitemaps and feed pages a backfill has read, for resuming

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backfill_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("params", sa.String(length=64), nullable=True),
        sa.Column("lastmod", sa.String(length=64), nullable=True),
        sa.Column("next_url", sa.String(length=2048), nullable=True),
        sa.Column("urls_found", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backfill_documents")),
        sa.UniqueConstraint("url", name=op.f("uq_backfill_documents_url")),
    )


def downgrade() -> None:
    op.drop_table("backfill_documents")
