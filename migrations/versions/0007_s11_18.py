"""captures of revisits (article_captures), capture failures (capture_failures); archived articles that
predate revisits (no revisit_at) scheduled for one

An article archived before 0006_issue_17 has no revisit time, so it was never revisited. It is made due at
its first archive time: a late revisit, as a stopped daemon leaves one (the run does the step that is due
and skips those already past, scraper.revisit_schedule); an article of a feed whose revisits are off is
unscheduled when claimed, without a fetch (scraper.revisit_work).

Revision ID: 0007_s11_18
Revises: 0006_issue_16
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_s11_18"
down_revision = "0007_s11_16"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "article_captures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("warc_file", sa.String(length=255), nullable=False),
        sa.Column("warc_offset", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_captures_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_captures")),
    )
    op.create_index(op.f("ix_article_captures_article_id"), "article_captures", ["article_id"], unique=False)
    op.create_table(
        "capture_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capture_failures")),
    )
    op.create_index(op.f("ix_capture_failures_at"), "capture_failures", ["at"], unique=False)
    op.execute(
        sa.text(
            "UPDATE articles SET revisit_at = archived_at WHERE status = 'archived' AND revisit_at IS NULL "
            "AND revisits = 0 AND archived_at IS NOT NULL AND content_source IN ('page', 'feed')"
        )
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_capture_failures_at"), table_name="capture_failures")
    op.drop_table("capture_failures")
    op.drop_index(op.f("ix_article_captures_article_id"), table_name="article_captures")
    op.drop_table("article_captures")
