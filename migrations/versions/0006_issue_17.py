"""revisits: article versions and changes, the revisit schedule, page validators, removal state

Revision ID: 0006_issue_17
Revises: 0006_issue_18
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_issue_17"
down_revision = "0006_issue_18"
branch_labels = None
depends_on = None


def _article_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("revisit_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revisits", sa.Integer(), server_default="0", nullable=False),
        sa.Column("page_etag", sa.String(length=1024), nullable=True),
        sa.Column("page_last_modified", sa.String(length=128), nullable=True),
        sa.Column("page_digest", sa.String(length=64), nullable=True),
        sa.Column("edits", sa.Integer(), server_default="0", nullable=False),
        sa.Column("revised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removal_suspected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removal_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        for column in _article_columns():
            batch_op.add_column(column)
        batch_op.create_index("ix_articles_status_revisit_at", ["status", "revisit_at"], unique=False)
    op.create_table(
        "article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("content_html", sa.Text(), nullable=True),
        sa.Column("content_text", sa.Text(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("content_type", sa.String(length=256), nullable=True),
        sa.Column("encoding", sa.String(length=64), nullable=True),
        sa.Column("body_zlib", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_versions_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_versions")),
        sa.UniqueConstraint("article_id", "number", name="uq_article_versions_article_id_number"),
    )
    op.create_table(
        "article_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_changes_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_changes")),
    )
    with op.batch_alter_table("article_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_article_changes_article_id"), ["article_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_article_changes_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("article_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_changes_at"))
        batch_op.drop_index(batch_op.f("ix_article_changes_article_id"))
    op.drop_table("article_changes")
    op.drop_table("article_versions")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index("ix_articles_status_revisit_at")
        for column in reversed(_article_columns()):
            batch_op.drop_column(column.name)
