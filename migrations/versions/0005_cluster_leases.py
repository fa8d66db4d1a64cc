"""several nodes: the nodes table, articles.host (claims spread over hosts), articles.post_written_at,
leases on backfill documents

Revision ID: 0005
Revises: 0003
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

BATCH = 1000


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()[:255]
    except ValueError:
        return ""


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("command", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nodes")),
    )
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nodes_last_seen_at"), ["last_seen_at"], unique=False)

    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("post_written_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_articles_lease_owner", ["lease_owner"], unique=False)
        batch_op.create_index(
            "ix_articles_status_post_written_at", ["status", "post_written_at"], unique=False
        )
    # A post with a path was written by the versions before (they chose the path as they wrote the file).
    written = "COALESCE(archived_at, discovered_at)"
    op.execute(f"UPDATE articles SET post_written_at = {written} WHERE post_path IS NOT NULL")

    with op.batch_alter_table("backfill_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column("done_at", existing_type=sa.DateTime(timezone=True), nullable=True)

    # Pending articles get their host now (claims are spread over hosts by it); new rows get it on insert.
    articles = sa.table("articles", sa.column("id", sa.Integer), sa.column("url"), sa.column("host"))
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(articles.c.id, articles.c.url)
            .where(articles.c.id > last)
            .where(sa.text("status = 'pending'"))
            .order_by(articles.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            sa.update(articles).where(articles.c.id == sa.bindparam("row_id")).values(host=sa.bindparam("h")),
            [{"row_id": row_id, "h": _host(url)} for row_id, url in rows],
        )
        last = rows[-1][0]


def downgrade() -> None:
    op.execute("DELETE FROM backfill_documents WHERE done_at IS NULL")  # claimed, never read
    with op.batch_alter_table("backfill_documents", schema=None) as batch_op:
        batch_op.alter_column("done_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("lease_owner")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index("ix_articles_status_post_written_at")
        batch_op.drop_index("ix_articles_lease_owner")
        batch_op.drop_column("post_written_at")
        batch_op.drop_column("host")
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nodes_last_seen_at"))
    op.drop_table("nodes")
