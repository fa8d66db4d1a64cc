"""feed schedule and health: adaptive interval, the feed's ttl and skip hours/days, failing since

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("poll_interval", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ttl_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("skip_hours", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("skip_days", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("skip_days")
        batch_op.drop_column("skip_hours")
        batch_op.drop_column("ttl_minutes")
        batch_op.drop_column("poll_interval")
        batch_op.drop_column("failing_since")
