"""feeds.config_fingerprint: a feed whose configuration changed is polled at once; nodes.stopped_at: a
node that stopped cleanly stays in `status` as stopped

Revision ID: 0006_issue_13
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_issue_13"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("config_fingerprint", sa.String(length=64), nullable=True))
    with op.batch_alter_table("nodes") as batch:
        batch.add_column(sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("nodes") as batch:
        batch.drop_column("stopped_at")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("config_fingerprint")
